"""The units as pictures (--summary --heatmap, --summary --plot, Summary.plot()): the saturation
scatter from hand-made gate fractions, one unit across sequences against Keras's own outputs,
--top over a gate and over one half of a bidirectional layer, and rnnstate.summarize."""

import io
from dataclasses import replace

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import rnnstate
from rnnstate.api import run
from rnnstate.cli import app
from rnnstate.render import summary as summary_render
from rnnstate.render import summary_plot, unit_views
from rnnstate.summary import UnitStats
from rnnstate.unit_views import scatter_cells

runner = CliRunner()
NAN = float("nan")
# Hand-made fractions of 6 units: (left, right) at the corners, on the diagonal, twice in one
# cell, and one unit with no step counted.
LEFT = np.array([0.0, 0.05, 0.95, 1.0, 0.35, NAN])
RIGHT = np.array([1.0, 0.02, 0.0, 0.0, 0.65, NAN])


def gate_stats(name: str, left: np.ndarray, right: np.ndarray) -> UnitStats:
    M = len(left)
    zeros = np.zeros(M)
    return UnitStats(name, True, zeros, zeros, zeros, zeros, zeros, zeros.astype(bool),
                     left, right, zeros.astype(bool))  # fmt: skip


def text_of(renderable, width: int = 100) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


def test_scatter_cells_place_units_by_left_across_and_right_up():
    counts = scatter_cells(LEFT, RIGHT, 10)
    expected = np.zeros((10, 10), dtype=np.int64)
    expected[0, 0] = 1  # left 0, right 1: the top left corner
    expected[9, 0] = 1  # left 0.05, right 0.02
    expected[9, 9] = 2  # left 0.95 and 1 (the last cell), right 0
    expected[3, 3] = 1  # left 0.35, right 0.65: row 9 - 6
    np.testing.assert_array_equal(counts, expected)  # the unit with NaN left out


def test_terminal_scatter_shows_each_cell_and_the_diagonal():
    lines = text_of(unit_views.scatter_panel(gate_stats("f", LEFT, RIGHT))).splitlines()
    assert lines[0].rstrip() == "f  forget gate, 6 units"
    grid = [line[5:45] for line in lines[2:12]]  # the 10 rows after "   1│", 4 characters a cell
    cells = [[row[4 * c : 4 * c + 4].strip() for c in range(10)] for row in grid]
    assert cells[0][0] == "•" and cells[9][0] == "•" and cells[3][3] == "•"
    assert cells[9][9] == "2"
    assert [cells[r][r] for r in range(9) if r != 3 and r != 0] == ["·"] * 7  # the diagonal
    filled = {(r, c) for r in range(10) for c in range(10) if cells[r][c] not in ("", "·")}
    assert filled == {(0, 0), (9, 0), (3, 3), (9, 9)}
    assert lines[2].startswith("   1│") and lines[11].startswith("   0│")
    assert lines[13].split() == ["0", "0.5", "1"] and lines[14].strip() == "left"


def test_terminal_scatter_counts_many_units_in_one_cell():
    left, right = np.zeros(12_345), np.zeros(12_345)
    assert unit_views.count_text(int(scatter_cells(left, right, 10)[9, 0])) == "12k"
    assert [unit_views.count_text(n) for n in (0, 1, 7, 9999)] == ["", "•", "7", "9999"]


@pytest.fixture(scope="module")
def lstm_summary():
    """A small LSTM's summary (M=6) with unit 2 kept across its 7 sequences."""
    return rnnstate.summarize("lstm", seed=3, batch=7, steps=5, units=6, unit=2)


def test_plot_puts_each_unit_at_its_fractions_with_the_diagonal(lstm_summary):
    stats = dict(lstm_summary.stats)
    stats["f"] = gate_stats("f", LEFT, RIGHT)
    figure = summary_plot.figure(replace(lstm_summary, stats=stats))
    panels = {axis.get_title(loc="left"): axis for axis in figure.axes}
    axis = panels["f  forget gate, 6 units"]
    offsets = np.asarray(axis.collections[0].get_offsets())
    np.testing.assert_array_equal(offsets, np.column_stack([LEFT, RIGHT]))
    diagonal = axis.lines[0]
    assert diagonal.get_xdata().tolist() == [0, 1] and diagonal.get_ydata().tolist() == [1, 0]
    assert axis.get_xlim() == (-0.04, 1.04) and axis.get_ylim() == (-0.04, 1.04)
    assert axis.get_xticks().tolist() == [0, 0.5, 1] == axis.get_yticks().tolist()
    assert axis.get_xlabel() == "left-saturated (< 0.1)"
    assert axis.get_ylabel() == "right-saturated (> 0.9)"
    assert {"i  input gate, 6 units", "og  output gate, 6 units"} <= set(panels)
    assert "dashed: left + right = 1" in figure.texts[0].get_text().replace("\n", " ")


def test_plot_draws_each_point_whole_clear_of_the_spines_even_in_the_corners(lstm_summary):
    left, right = np.array([0.0, 1.0, 0.0, 0.5]), np.array([0.0, 0.0, 1.0, 0.5])
    stats = dict(lstm_summary.stats)
    stats["f"] = gate_stats("f", left, right)
    figure = summary_plot.figure(replace(lstm_summary, stats=stats))
    figure.canvas.draw()
    axis = {axis.get_title(loc="left"): axis for axis in figure.axes}["f  forget gate, 4 units"]
    box = axis.get_window_extent()  # pixels; the spines run along its edges
    pixels = figure.dpi / 72  # per point
    radius = np.sqrt(axis.collections[0].get_sizes()[0]) / 2 * pixels
    spine = max(spine.get_linewidth() for spine in axis.spines.values()) / 2 * pixels
    centres = axis.transData.transform(np.column_stack([left, right]))
    clear = radius + spine
    assert (centres[:, 0] - clear > box.x0).all() and (centres[:, 0] + clear < box.x1).all()
    assert (centres[:, 1] - clear > box.y0).all() and (centres[:, 1] + clear < box.y1).all()


def test_plot_texts_do_not_overlap(lstm_summary):
    assert_texts_apart(lstm_summary.plot())


def assert_texts_apart(figure) -> None:
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    texts = [t for t in figure.findobj(lambda a: hasattr(a, "get_text")) if
             getattr(t, "get_text", lambda: "")() and t.get_visible()]  # fmt: skip
    boxes = [t.get_window_extent(renderer) for t in texts]
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            assert not boxes[a].overlaps(boxes[b]), (texts[a].get_text(), texts[b].get_text())


def test_with_every_step_masked_the_scatter_and_tables_say_no_step_was_counted():
    summary = rnnstate.summarize("lstm", x=np.zeros((3, 5, 2), np.float32), mask_value=0.0,
                                 units=4, seed=0)  # fmt: skip
    why = "no step was counted (all 15 steps, 3 sequences x T=5, are masked)"
    figure = summary.plot()
    assert figure.axes == []  # no empty panels
    assert_texts_apart(figure)
    assert figure.texts[1].get_text() == f"No saturation scatter: {why}."
    assert f"{why}: no statistic can be taken (n/a)" in figure.texts[0].get_text()
    assert "a point per unit" not in figure.texts[0].get_text()
    assert text_of(unit_views.scatter(summary), 200).strip() == f"no saturation scatter: {why}"
    tables = text_of(summary_render.render(summary), 200)
    assert f"0 steps counted, 15 masked (mask_value=0) left out\n{why}: no statistic" in tables
    assert tables.count(" n/a ") == 4 * (6 * 5 + 3 * 2)  # 6 quantities' mean ... zeros; 3 gates'


@pytest.fixture(scope="module")
def masked_run():
    """x (9, 6, 2) with steps masked (all features 0) and a backwards GRU's weights."""
    x = np.random.default_rng(5).standard_normal((9, 6, 2)).astype(np.float32)
    x[0, :2] = 0.0
    x[4, 5] = 0.0
    x[7, 1:3] = 0.0
    keras = run("gru", x=x, units=4, seed=2, backwards=True, mask_value=0.0,
                return_sequences=True)  # fmt: skip
    return x, keras


def test_across_rows_are_keras_h_at_each_input_step_blank_where_masked(masked_run):
    x, keras = masked_run
    summary = rnnstate.summarize("gru", x=x, weights=keras.weights, backwards=True,
                                 mask_value=0.0, unit=1, rows=5, batch_size=2)  # fmt: skip
    values = summary.across.values("h_t")
    masked = np.all(x[:5] == 0, axis=-1)
    expected = np.where(masked, np.nan, keras.o[:5, ::-1, 1])  # o's rows run backwards
    np.testing.assert_allclose(values, expected, rtol=0, atol=2e-6)
    assert np.array_equal(np.isnan(values), masked)
    assert (summary.across.kept, summary.sequences) == (5, 9)


def test_terminal_across_map_marks_masked_cells_and_says_how_many_sequences(masked_run):
    x, keras = masked_run
    summary = rnnstate.summarize("gru", x=x, weights=keras.weights, backwards=True,
                                 mask_value=0.0, unit=1, rows=5)  # fmt: skip
    text = text_of(unit_views.render(summary))
    assert "h_t (hidden state) of unit 1 across the first 5 of N=9 sequences" in text
    rows = {line[:6].strip(): line[6:].rstrip() for line in text.splitlines()
            if line[:1] == "n" and line[1:2].isdigit()}  # fmt: skip
    assert list(rows) == ["n0", "n1", "n2", "n3", "n4"]
    for n, row in enumerate(rows.values()):
        cells = [row[3 * t : 3 * t + 3] for t in range(6)]  # 3 characters a step
        assert [cell == "xxx" for cell in cells] == np.all(x[n] == 0, axis=-1).tolist()
    assert "a GRU has no gates" not in text and "z  update gate, 4 units" in text


def test_plot_across_map_holds_keras_values_and_leaves_masked_steps_empty(masked_run):
    x, keras = masked_run
    summary = rnnstate.summarize("gru", x=x, weights=keras.weights, backwards=True,
                                 mask_value=0.0, unit=3)  # fmt: skip
    axis = next(a for a in summary.plot().axes if "across" in a.get_title(loc="left"))
    assert axis.get_title(loc="left") == "h_t (hidden state) of unit 3 across all 9 sequences"
    shown = np.ma.filled(axis.images[0].get_array().astype(np.float64), np.nan)
    masked = np.all(x == 0, axis=-1)
    expected = np.where(masked, np.nan, keras.o[:, ::-1, 3])
    np.testing.assert_allclose(shown, expected, rtol=0, atol=2e-6)


def test_top_over_a_gate_lists_where_it_is_most_open():
    traced = run("lstm", seed=4, batch=6, steps=7, units=3, engine="numpy", gates=True)
    summary = rnnstate.summarize("lstm", seed=4, batch=6, steps=7, units=3, unit=2, top=4,
                                 gate="f", batch_size=4)  # fmt: skip
    f = traced.gates["f"][:, :, 2]  # (N, T) the forget gate of unit 2
    order = np.argsort(-f, axis=None, kind="stable")[:4]
    expected = [divmod(int(k), 7) for k in order]
    assert summary.top.name == "f"
    assert [(p.sequence, p.step) for p in summary.top.places] == expected
    assert [p.value for p in summary.top.places] == [float(f[s, t]) for s, t in expected]


def test_top_on_a_bidirectional_layer_ranks_the_half_asked_for():
    keras = run("gru", seed=6, batch=5, steps=6, units=3, bidirectional=True, merge="none",
                return_sequences=True)  # fmt: skip
    summary = rnnstate.summarize("gru", x=keras.x, weights=keras.weights, bidirectional=True,
                                 unit=0, top=3, direction="bw")  # fmt: skip
    backward = keras.outputs["o_bw"][:, :, 0]  # (N, T), Keras's backward half in input order
    order = np.argsort(-backward, axis=None, kind="stable")[:3]
    assert summary.top.name == "h_t_bw"
    assert [(p.sequence, p.step) for p in summary.top.places] == [divmod(int(k), 6) for k in order]
    largest = np.sort(backward, axis=None)[::-1][:3]
    np.testing.assert_allclose([p.value for p in summary.top.places], largest, rtol=0, atol=2e-6)
    assert summary.across.names == ("h_t_bw",)


def test_summarize_gives_the_statistics_the_command_line_prints():
    summary = rnnstate.summarize("gru", seed=0, batch=40, steps=6, units=3, batch_size=16)
    result = runner.invoke(app, ["gru", "--summary", "--seed", "0", "-N", "40", "-T", "6",
                                 "-M", "3", "--batch-size", "16", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    import json

    units = json.loads(result.stdout)["summary"]["units"]
    for name, stats in summary.stats.items():
        assert units[name]["mean"] == stats.mean.tolist()
        if stats.gate:
            assert units[name]["left"] == stats.left.tolist()
    assert "summarize" in dir(rnnstate)


@pytest.mark.parametrize(
    ("keywords", "parameter", "message"),
    [
        ({"top": 3}, "top", "top says what unit's views show; give unit too"),
        ({"unit": 0, "top": 2, "bidirectional": True}, "direction",
         "top on bidirectional ranks one half: give direction fw or bw"),
        ({"unit": 0, "gate": "f"}, "gate", "gru traces no 'f'; expected a gate (z, r) or "
                                           "h_hat, h_t"),
        ({"left_below": 0.95}, "left_below", "left_below 0.95 must be below right_above 0.9"),
        ({"right_above": 1.5}, "right_above", "right_above 1.5 is outside [0, 1], the values of "
                                              "the layer's sigmoid gates; expected 0 <= "
                                              "left_below < right_above <= 1"),
        ({"engine": "torch"}, "engine", "the summary runs the numpy engine's equations"),
        ({"unit": 0, "top": 0}, "top", "top must be a positive integer, got 0"),
        ({"unit": 0, "top": 10_001}, "top", "top is at most 10,000 places, got 10001"),
    ],
)  # fmt: skip
def test_summarize_refuses_bad_settings_naming_the_parameter(keywords, parameter, message):
    with pytest.raises(rnnstate.SpecError) as raised:
        rnnstate.summarize("gru", seed=0, batch=2, **keywords)
    assert raised.value.option == parameter
    assert message in str(raised.value)


def test_plot_of_a_simple_rnn_without_a_unit_says_there_is_nothing_to_draw():
    with pytest.raises(rnnstate.SpecError, match="a SimpleRNN has no gates to draw"):
        rnnstate.summarize("rnn", seed=0, batch=2).plot()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_heatmap_shows_the_scatter_instead_of_the_tables():
    result = invoke("lstm", "--summary", "--seed", "0", "-N", "30", "-M", "4", "--heatmap")
    assert result.exit_code == 0, result.stderr
    for title in ("i  input gate, 4 units", "f  forget gate, 4 units", "og  output gate, 4 units"):
        assert title in result.stdout
    assert "below 0.1 (left-saturated) and above 0.9 (right-saturated)" in " ".join(
        result.stdout.split()
    )
    assert "┃ unit ┃" not in result.stdout  # no table


def test_heatmap_of_a_simple_rnn_says_it_has_no_gates():
    result = invoke("rnn", "--summary", "--seed", "0", "-N", "3", "--heatmap")
    assert result.exit_code == 0
    assert "a SimpleRNN has no gates: no saturation scatter" in " ".join(result.stdout.split())


def test_plot_writes_the_figure_and_still_prints_the_tables(tmp_path):
    path = tmp_path / "units.png"
    result = invoke("gru", "--summary", "--seed", "0", "-N", "20", "--plot", str(path),
                    "--unit", "1")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in result.stderr and "┃ unit ┃" in result.stdout


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["rnn", "--plot", "{tmp}/a.png"], "'--plot'"),
        (["gru", "--plot", "{tmp}/a.txt"], "'--plot'"),
        (["gru", "--plot", "{tmp}/x.npy", "--input", "{tmp}/x.npy", "--unit", "0"], "'--plot'"),
        (["gru", "--gate", "z"], "'--gate'"),
        (["gru", "--unit", "0"], "'--unit'"),
        (["gru", "--unit", "0", "--heatmap", "--direction", "fw"], "'--direction'"),
        (["gru", "--bidirectional", "--direction", "fw"], "'--direction'"),
        (["gru", "--unit", "0", "--heatmap", "--gate", "f"], "'--gate'"),
        (["gru", "--heatmap", "--sort", "mean"], "'--sort'"),
    ],
)
def test_views_that_do_not_fit_exit_2_and_write_nothing(tmp_path, args, option):
    np.save(tmp_path / "x.npy", np.ones((2, 3, 2), dtype=np.float32))
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke(*(a.format(tmp=tmp_path) for a in args), "--summary", "--seed", "0")
    assert result.exit_code == 2
    assert option in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_plot_to_a_folder_that_does_not_exist_exits_1_before_the_run(tmp_path):
    result = invoke("gru", "--summary", "--seed", "0", "-N", "2", "--plot",
                    str(tmp_path / "missing" / "a.png"))  # fmt: skip
    assert result.exit_code == 1
    assert "a.png" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_svg_of_the_same_summary_is_the_same_bytes(tmp_path):
    paths = [tmp_path / "a.svg", tmp_path / "b.svg"]
    for path in paths:
        assert invoke("lstm", "--summary", "--seed", "1", "-N", "9", "--unit", "0",
                      "--plot", str(path)).exit_code == 0  # fmt: skip
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_bidirectional_heatmap_draws_both_halves_of_the_unit():
    result = invoke("gru", "--summary", "--seed", "0", "-N", "3", "--bidirectional",
                    "--unit", "2", "--heatmap", "--gate", "r")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    for half in ("r_fw", "r_bw"):
        assert f"{half} (reset gate) of unit 2 across all 3 sequences" in text
        assert f"{half} reset gate, 3 units" in text


def test_model_summary_draws_a_unit_across_the_reviews_blank_at_the_padding(tmp_path):
    tokens = np.load("docs/example/reviews.npy")  # (4, 12) ids, 0 = padding (mask_zero)
    path = tmp_path / "units.png"
    result = invoke("model", "docs/example/sentiment.keras", "--layer", "lstm", "--input",
                    "docs/example/reviews.npy", "--summary", "--unit", "1", "--gate", "f",
                    "--heatmap", "--plot", str(path))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = result.stdout
    assert "f (forget gate) of unit 1 across all 4 sequences" in text
    assert "f  forget gate, 8 units" in text
    rows = [line[6:] for line in text.splitlines() if line[:1] == "n" and line[1:2].isdigit()]
    for n, row in enumerate(rows):
        masked = [row[3 * t : 3 * t + 3] == "xxx" for t in range(tokens.shape[1])]
        assert masked == (tokens[n] == 0).tolist()
