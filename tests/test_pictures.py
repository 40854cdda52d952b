"""Pictures: --plot files (valid images, expected panels, stable bytes, whole or nothing),
--heatmap in the terminal (colour scale, shade ramp, binning, marks), and a Result in notebooks."""

import io
import os

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import rnnstate
from rnnstate.cli import app
from rnnstate.render import heatmap
from rnnstate.render.plot import figure, image_bytes

runner = CliRunner()
ESCAPE = "\x1b["


def plot_file(tmp_path, name, *options):
    path = tmp_path / name
    result = runner.invoke(app, [*options, "--plot", str(path)])
    assert result.exit_code == 0, result.stderr
    return path


def test_png_is_a_valid_image_of_the_expected_size(tmp_path):
    import matplotlib.image

    path = plot_file(tmp_path, "run.png", "lstm", "--seed", "0", "--sequences", "--engine", "numpy")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    # inches: the title (0.12 + 3 lines of 0.19); for x and o, h and c (one row each) and the
    # lines, each with 0.3 above it and 0.25 below: 1.0, 1.0, 0.45, 0.45, 1.1; the x label 0.2
    panels = 2 * 1.0 + 2 * 0.45 + 1.1 + 5 * (0.3 + 0.25)
    assert (width, height) == (1000, round((0.12 + 3 * 0.19 + panels + 0.2 + 0.1) * 100))


@pytest.mark.parametrize(
    ("options", "heatmaps", "states", "lines"),
    [
        (["lstm", "--sequences"], 2, 2, 1),  # x, o; h, c; o through time
        (["lstm", "--sequences", "--gates"], 8, 2, 1),  # x, o, i f g o c_t h_t; h, c
        (["gru", "--sequences", "--bidirectional"], 3, 1, 1),  # x, both halves; h_fw and h_bw
        (["rnn"], 1, 1, 0),  # x only, and no lines: o is one step
    ],
)
def test_figure_has_one_panel_per_array_plus_states_and_lines(options, heatmaps, states, lines):
    cell, *rest = options
    settings = {
        "return_sequences": "--sequences" in rest,
        "gates": "--gates" in rest,
        "bidirectional": "--bidirectional" in rest,
    }
    result = rnnstate.run(cell, seed=0, engine="numpy", **settings)
    fig = result.plot()
    panels = [axis for axis in fig.axes if axis.get_label() != "<colorbar>"]
    assert len(panels) == heatmaps + states + lines
    assert len(fig.axes) - len(panels) == heatmaps + states  # a colour bar for each


def test_diverging_scale_is_symmetric_and_gates_run_from_0_to_1():
    result = rnnstate.run("lstm", seed=0, engine="numpy", return_sequences=True, gates=True)
    fig = result.plot()
    titled = {a.get_title(loc="left"): a for a in fig.axes}
    by_title = {
        name: next(a for title, a in titled.items() if title.startswith(start))
        for name, start in (("o", "o  output at every step"), ("f", "f  forget gate"))
    }
    o_norm = by_title["o"].images[0].norm
    largest = float(np.abs(result.o).max())
    assert (o_norm.vmin, o_norm.vmax) == pytest.approx((-largest, largest))
    f_norm = by_title["f"].images[0].norm
    assert (f_norm.vmin, f_norm.vmax) == (0.0, 1.0)
    f_image = by_title["f"].images[0]
    assert f_image.get_cmap().name == "viridis"
    # the colour of a known value: +largest is the reddest end of RdBu_r
    o_image = by_title["o"].images[0]
    assert o_image.to_rgba(np.array([[largest]]))[0, 0].tolist() == pytest.approx(
        list(o_image.get_cmap()(1.0))
    )


def test_svg_and_pdf_bytes_are_stable(tmp_path):
    for suffix in (".svg", ".pdf"):
        first = plot_file(tmp_path, f"a{suffix}", "gru", "--seed", "1", "--sequences").read_bytes()
        second = plot_file(tmp_path, f"b{suffix}", "gru", "--seed", "1", "--sequences").read_bytes()
        assert first == second, suffix
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")


def test_plot_marks_the_step_h_equals_and_shades_masked_steps():
    x = np.ones((1, 5, 2), np.float32)
    x[0, 3:] = 0.0  # trailing padding
    result = rnnstate.run("gru", x=x, seed=0, mask_value=0.0, return_sequences=True)
    fig = result.plot()
    o_axis = next(a for a in fig.axes if a.get_title(loc="left").startswith("o "))
    assert o_axis.get_title(loc="left") == "o  output at every step   ▼ h = o[t=2]"
    [mark] = o_axis.get_lines()
    assert (mark.get_marker(), list(mark.get_xdata()), list(mark.get_ydata())) == ("v", [2], [-0.5])
    [hatched] = o_axis.patches  # t=3 and t=4, one patch
    assert hatched.get_hatch() == "///"
    assert hatched.get_x() == 2.5 and hatched.get_width() == 2.0


def test_unknown_plot_format_exits_2_and_unwritable_path_exits_1(tmp_path):
    result = runner.invoke(app, ["lstm", "--plot", str(tmp_path / "a.gif")])
    assert result.exit_code == 2
    assert "expected a file name ending in .png or .svg or .pdf" in result.stderr
    result = runner.invoke(app, ["lstm", "--plot", str(tmp_path / "no" / "such" / "a.png")])
    assert result.exit_code == 1
    assert result.stderr.startswith("rnnstate: error: ")
    assert os.listdir(tmp_path) == []


def test_units_shown_picks_the_lines(tmp_path):
    result = rnnstate.run("lstm", seed=0, engine="numpy", units=6, return_sequences=True)
    fig = figure(result, units_shown=[1, 5])
    lines_axis = next(a for a in fig.axes if a.get_title(loc="left").startswith("o through"))
    assert [line.get_label() for line in lines_axis.get_lines()] == ["u1", "u5"]
    bad = runner.invoke(app, ["lstm", "-M", "3", "--plot", str(tmp_path / "a.png"),
                              "--units-shown", "0,7"])  # fmt: skip
    assert bad.exit_code == 2
    assert "unit 7 is not in the layer: M=3" in bad.stderr


def test_image_bytes_formats():
    fig = rnnstate.run("rnn", seed=0, engine="numpy").plot()
    assert image_bytes(fig, ".png").startswith(b"\x89PNG")


def heatmap_text(result, color_system=None, width=80, only=None):
    console = Console(file=io.StringIO(), width=width, color_system=color_system,
                      force_terminal=color_system is not None)  # fmt: skip
    console.print(heatmap.render(result, only))
    return console.file.getvalue()


def test_colour_scale_maps_known_values_to_known_colours():
    assert heatmap.colour(0.0, 1.0, sequential=False) == heatmap.WHITE
    assert heatmap.colour(1.0, 1.0, sequential=False) == heatmap.RED
    assert heatmap.colour(-2.0, 1.0, sequential=False) == heatmap.BLUE  # clipped
    assert heatmap.colour(1.0, 1.0, sequential=True) == heatmap.VIRIDIS[-1]
    assert heatmap.colour(0.0, 1.0, sequential=True) == heatmap.VIRIDIS[0]


def test_shade_ramp_in_a_pipe_and_no_escape_codes():
    result = rnnstate.run("lstm", seed=0, engine="numpy", return_sequences=True)
    piped = runner.invoke(app, ["lstm", "--seed", "0", "--sequences", "--heatmap"]).stdout
    assert ESCAPE not in piped
    assert "scale -0.264 ('=') ... 0 ('.') ... 0.264 ('#')" in " ".join(piped.split())
    [u0] = [line for line in piped.splitlines() if line.startswith("u0 ")]
    assert set(u0[6:]) <= set(heatmap.DIVERGING_RAMP)
    coloured = heatmap_text(result, color_system="truecolor")
    assert ESCAPE in coloured and "48;2;" in coloured  # background colours
    assert "(blue)" in coloured and "(white)" in coloured


def test_no_color_gives_plain_text_even_on_a_terminal(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    result = rnnstate.run("gru", seed=0, engine="numpy", return_sequences=True)
    console = Console(file=io.StringIO(), width=80, force_terminal=True)
    console.print(heatmap.render(result))
    text = console.file.getvalue()
    assert "48;2;" not in text and "('=')" in text


def test_long_runs_are_binned_and_say_so():
    result = rnnstate.run("rnn", seed=0, engine="numpy", steps=500, units=40, return_sequences=True)
    text = " ".join(heatmap_text(result, width=60).split())
    assert "columns: steps t, 10 steps per column, 2 units per row (each cell: the value " \
           "furthest from 0)" in text  # fmt: skip
    assert max(len(line) for line in heatmap_text(result, width=60).splitlines()) <= 60


def test_heatmap_marks_the_row_h_equals_and_masked_steps():
    x = np.ones((1, 5, 2), np.float32)
    x[0, 3:] = 0.0
    result = rnnstate.run("gru", x=x, seed=0, mask_value=0.0, return_sequences=True)
    lines = heatmap_text(result).splitlines()
    [mark] = [line for line in lines if "^ h = o[t=2]" in line]
    assert mark.index("^") == heatmap.LABEL_WIDTH + 2 * heatmap.CELL_WIDTH
    assert any(line.startswith("masked") and "xxx" in line for line in lines)
    assert "✓ h equals o[t=2]; largest |h - o[t=2]| = 0" in "\n".join(lines)


def test_heatmap_only_shows_one_sequence():
    result = rnnstate.run("lstm", seed=0, batch=3, engine="numpy", return_sequences=True)
    text = heatmap_text(result, only=2)
    assert "sequence n=2 of N=3" in text and "sequence n=0" not in text


def test_result_shows_itself_in_a_notebook():
    html = rnnstate.run("lstm", seed=0, engine="numpy", return_sequences=True)._repr_html_()
    assert html.lstrip().startswith("<") and "= o[t=7]" in html and "<pre" in html


def test_lstm_output_gate_panel_is_not_marked():
    result = rnnstate.run("lstm", seed=0, engine="numpy", return_sequences=True, gates=True)
    fig = result.plot()
    marked = [a.get_title(loc="left") for a in fig.axes if a.get_lines() and a.images]
    assert marked == ["o  output at every step   ▼ h = o[t=7]"]  # the output o, not the gate o


def load_picture_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "docs" / "make_pictures.py"
    spec = importlib.util.spec_from_file_location("make_pictures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", list(load_picture_script().PICTURES))
def test_committed_pictures_show_what_their_command_draws(tmp_path, name):
    import matplotlib.image

    script = load_picture_script()
    fresh = matplotlib.image.imread(script.draw(name, tmp_path))
    committed = matplotlib.image.imread(script.HERE / name)
    assert fresh.shape == committed.shape
    assert float(np.abs(fresh - committed).mean()) < 0.01  # fonts may differ by a pixel


def test_a_large_batch_draws_the_maps_of_its_first_sequences():
    result = rnnstate.run("gru", seed=0, engine="numpy", batch=9, steps=3)
    text = heatmap_text(result, width=120)
    assert sum(line.startswith("sequence n=") for line in text.splitlines()) == 8
    assert "... 1 more sequence, n=8, not drawn: --only I draws sequence I; --json and " \
        "--output hold them all" in text  # fmt: skip


def test_step_labels_above_a_heatmap_are_whole_numbers_of_its_steps():
    result = rnnstate.run("gru", steps=500, return_sequences=True, seed=0, engine="numpy")
    axes = [line for line in heatmap_text(result).splitlines() if line.startswith("t ")]
    assert axes
    for line in axes:
        labels = [int(label) for label in line[1:].split()]
        assert labels == [0, 70, 140, 210, 280, 350, 420], line  # 490 does not fit: left out
