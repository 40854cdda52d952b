"""Figures fit for a paper (--plot, Result.plot()): no text over other text or off the page,
round ticks, labelled colour bars, h and c each on its own scale, the run described as the
header describes it (a model's file and layer, no seed it did not use), SVG text kept as text;
long runs binned without hiding a one-step event, in figures and terminal heatmaps."""

import io
import itertools

import matplotlib.text
import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import rnnstate
from rnnstate.bins import extreme_bins
from rnnstate.cli import app
from rnnstate.render import heatmap
from rnnstate.render import plot as plot_render

runner = CliRunner()
MODEL = ["model", "docs/example/sentiment.keras", "--layer", "lstm", "--input",
         "docs/example/reviews.npy"]  # fmt: skip
FIGURES = {  # the figures the issue names, drawn by the command a user types
    "T=8 with gates": ["lstm", "--seed", "0", "-T", "8", "--sequences", "--gates",
                       "--engine", "numpy"],
    "T=2000 bidirectional": ["gru", "--seed", "0", "-T", "2000", "-M", "32", "--sequences",
                             "--bidirectional", "--engine", "numpy"],
    "M=64": ["lstm", "--seed", "0", "-T", "300", "-M", "64", "--sequences", "--engine", "numpy"],
    "a model's layer": [*MODEL, "--gates", "--engine", "numpy"],
}  # fmt: skip


def drawn_figure(monkeypatch, tmp_path, options):
    """The Figure that `rnnstate OPTIONS --plot` draws (and saves)."""
    made = []
    figure = plot_render.figure
    monkeypatch.setattr(plot_render, "figure", lambda *a: made.append(figure(*a)) or made[-1])
    result = runner.invoke(app, [*options, "--plot", str(tmp_path / "run.png")])
    assert result.exit_code == 0, result.output
    return made[0]


def drawn_texts(fig) -> list[tuple[str, object]]:
    """(text, extent in pixels) of every Text artist the renderer actually drew."""
    drawn = []
    draw = matplotlib.text.Text.draw

    def record(self, renderer):
        drawn.append(self)
        return draw(self, renderer)

    matplotlib.text.Text.draw = record
    try:
        fig.canvas.draw()
    finally:
        matplotlib.text.Text.draw = draw
    renderer = fig.canvas.get_renderer()
    return [
        (text.get_text(), text.get_window_extent(renderer))
        for text in dict.fromkeys(drawn)
        if text.get_visible() and text.get_text().strip()
    ]


def overlap(low1: float, high1: float, low2: float, high2: float) -> float:
    """How far two intervals overlap, in pixels (negative when apart)."""
    return min(high1, high2) - max(low1, low2)


@pytest.mark.parametrize("case", list(FIGURES))
def test_no_text_overlaps_other_text_or_leaves_the_figure(monkeypatch, tmp_path, case):
    fig = drawn_figure(monkeypatch, tmp_path, FIGURES[case])
    texts = drawn_texts(fig)
    assert len(texts) > 20  # titles, tick labels, colour bar labels
    width, height = fig.bbox.width, fig.bbox.height
    outside = [s for s, box in texts if box.x0 < 0 or box.y0 < 0 or box.x1 > width
               or box.y1 > height]  # fmt: skip
    assert outside == []
    overlapping = [
        (s1, s2)
        for (s1, b1), (s2, b2) in itertools.combinations(texts, 2)
        if overlap(b1.x0, b1.x1, b2.x0, b2.x1) > 0.5 and overlap(b1.y0, b1.y1, b2.y0, b2.y1) > 0.5
    ]
    assert overlapping == []
    assert not [s for s, _ in texts if "--" in s]  # no command-line advice inside a figure


def test_step_ticks_are_round_numbers(monkeypatch, tmp_path):
    fig = drawn_figure(monkeypatch, tmp_path, FIGURES["T=2000 bidirectional"])
    x_axis = next(a for a in fig.axes if a.get_title(loc="left").startswith("x "))
    labels = [label.get_text() for label in x_axis.get_xticklabels()]
    assert labels == [str(t) for t in range(0, 2000, 200)]


def test_backwards_columns_get_round_step_ticks_at_their_columns():
    result = rnnstate.run("gru", seed=0, steps=30, engine="numpy", return_sequences=True,
                          backwards=True)  # fmt: skip
    fig = result.plot()
    o_axis = next(a for a in fig.axes if a.get_title(loc="left").startswith("o "))
    ticks = dict(zip(o_axis.get_xticks(), (t.get_text() for t in o_axis.get_xticklabels()),
                     strict=True))  # fmt: skip
    assert ticks == {29 - t: str(t) for t in range(0, 30, 5)}  # row r of o is step 29 - r


def test_every_colour_bar_is_labelled_and_h_and_c_have_their_own_scales():
    result = rnnstate.run("lstm", seed=0, engine="numpy", return_sequences=True, gates=True)
    fig = result.plot()
    bars = [axis for axis in fig.axes if axis.get_label() == "<colorbar>"]
    labels = [bar.get_ylabel() for bar in bars]
    assert labels == ["x", "o", "i (0 to 1)", "f (0 to 1)", "g", "og (0 to 1)", "c_t", "h_t",
                      "h", "c"]  # fmt: skip
    states = {a.get_title(loc="left")[0]: a.images[0].norm for a in fig.axes
              if a.get_title(loc="left").startswith(("h  final", "c  final"))}  # fmt: skip
    for name in "hc":
        largest = float(np.abs(result.states[name]).max())
        assert (states[name].vmin, states[name].vmax) == pytest.approx((-largest, largest))
    assert states["h"].vmax != pytest.approx(states["c"].vmax)


def test_a_bidirectional_layers_lines_show_and_name_units_of_both_halves():
    result = rnnstate.run("lstm", seed=0, steps=6, units=4, engine="numpy", bidirectional=True,
                          return_sequences=True)  # fmt: skip
    fig = result.plot()
    axis = next(a for a in fig.axes if a.get_title(loc="left").startswith("o through time"))
    assert axis.get_title(loc="left") == ("o through time, units fw u0, fw u1, bw u0, bw u1  "
                                          "(fw: o[:, :M], bw: o[:, M:])")  # fmt: skip
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["fw u0", "fw u1", "bw u0",
                                                                     "bw u1"]  # fmt: skip
    np.testing.assert_array_equal(axis.lines[2].get_ydata(), result.o[0][:, 4])  # bw unit 0


def test_a_models_figure_names_the_model_and_layer_and_no_seed(monkeypatch, tmp_path):
    fig = drawn_figure(monkeypatch, tmp_path, MODEL)
    title = fig.get_suptitle()
    assert title.startswith("layer 'lstm' of docs/example/sentiment.keras; input: "
                            "docs/example/reviews.npy")  # fmt: skip
    assert "seed" not in title
    assert "sequence n=0 of N=4 drawn" in title


def test_the_title_is_the_headers_description_of_the_run():
    from rnnstate.render.table import header

    result = rnnstate.run("gru", seed=7, steps=5, engine="numpy", reset_after=False)
    assert result.plot().get_suptitle() == header(result).plain


def test_svg_keeps_text_as_text(tmp_path):
    path = tmp_path / "run.svg"
    result = runner.invoke(app, ["lstm", "--seed", "0", "--engine", "numpy", "--plot", str(path)])
    assert result.exit_code == 0, result.output
    svg = path.read_text()
    assert "LSTM on the numpy engine" in svg and "<text" in svg
    assert "DejaVuSans-" not in svg  # no glyphs drawn as paths


def shut_gate_run(steps: int, at: int):
    """An LSTM run whose traced forget gate of unit 1 is set to 0.0001 at step `at` and
    0.73 elsewhere: a gate that shuts for one step."""
    result = rnnstate.run("lstm", seed=0, steps=steps, units=2, engine="numpy",
                          return_sequences=True, gates=True)  # fmt: skip
    f = result.gates["f"]
    f[:] = 0.73
    f[0, at, 1] = 0.0001
    return result


def test_a_gate_shut_for_one_step_of_10000_shows_in_the_figure():
    fig = shut_gate_run(10_000, 6789).plot()
    axis = next(a for a in fig.axes if a.get_title(loc="left").startswith("f "))
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3]  # (height, width, 3), top row first
    to_pixels = axis.transData.transform
    (x0, _), (x1, y) = to_pixels([(0, 1), (9999, 1)])  # unit 1's row, left to right
    left, right = round(x0) + 2, round(x1) - 2  # inside the frame
    row = pixels[round(fig.bbox.height - y), left : right + 1]
    shut = np.rint(np.array(axis.images[0].cmap(0.0001)[:3]) * 255)
    open_ = np.rint(np.array(axis.images[0].cmap(0.73)[:3]) * 255)
    is_shut = np.all(np.abs(row - shut) <= 2, axis=1)
    assert 1 <= is_shut.sum() <= 4  # one bin's width in pixels
    assert np.all(np.abs(row[~is_shut] - open_) <= 2)
    where = left + int(np.flatnonzero(is_shut)[0])
    step = axis.transData.inverted().transform([(where, y)])[0, 0]
    assert abs(step - 6789) <= 10_000 / plot_render.MAX_COLUMNS  # in the bin that holds it
    legend = " ".join(fig.get_suptitle().split())
    assert "binned, 20 steps per column: each cell shows the value furthest from its scale's " \
           "centre (0, or 0.5 for a gate in 0..1)" in legend  # fmt: skip


def test_a_gate_shut_for_one_step_of_400_shows_in_the_terminal():
    result = shut_gate_run(400, 203)
    maps = heatmap.maps(result, 0, result.checks())
    [forget] = [m for m in maps if m.title.startswith("f ")]
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(forget)
    lines = console.file.getvalue().splitlines()
    assert "(each cell: the value furthest from 0.5)" in " ".join(" ".join(lines).split())
    [u1] = [line[heatmap.LABEL_WIDTH :] for line in lines if line.startswith("u1")]
    per_column = -(-400 // (80 - heatmap.LABEL_WIDTH))  # 6 steps per column
    open_, shut = heatmap.shade(0.73, 1.0, True), heatmap.shade(0.0001, 1.0, True)
    assert (open_, shut) == ("*", " ")
    assert u1 == open_ * (203 // per_column) + shut + open_ * (len(u1) - 203 // per_column - 1)


@pytest.mark.parametrize(
    ("values", "centre", "expected"),
    [
        ([0.7, 0.7, 0.0001, 0.7, 0.9, 0.6, 0.5], 0.5, [0.0001, 0.9, 0.5]),  # a gate: from 0.5
        ([0.1, -0.9, 0.2, 0.3, 0.5, -0.4, 0.45], 0.0, [-0.9, 0.5, 0.45]),  # diverging: from 0
    ],
)
def test_each_bin_keeps_the_value_furthest_from_the_scales_centre(values, centre, expected):
    binned, size = extreme_bins(np.array([values]), 3, 1, centre)
    assert size == 3 and binned.tolist() == [expected]


def test_binning_units_keeps_the_extreme_unit_too():
    values = np.full((50, 4), 0.7)
    values[37, 2] = 0.0001
    binned, size = extreme_bins(values, 10, 0, 0.5)
    assert size == 5 and binned[7].tolist() == [0.7, 0.7, 0.0001, 0.7]
    assert np.all(np.delete(binned, 7, axis=0) == 0.7)


def test_log_axes_label_their_powers_of_ten_as_plain_text():
    # the figure's text is not mathtext ($ in a token or a file name is a $): log ticks must
    # not be matplotlib's mathtext "$\mathdefault{10^{-1}}$"
    from rnnstate.memory import memory
    from rnnstate.render.memory_plot import memory_figure

    result = rnnstate.run("rnn", seed=0, steps=24, units=8, engine="numpy", return_sequences=True)
    found = memory(result.spec, result.x, result.weights, connectivity=True)
    fig = memory_figure(result, found)
    fig.canvas.draw()
    curve, bar = fig.axes[0], fig.axes[-1]
    low, high = curve.get_ylim()
    ticks = zip(curve.get_yticks(), curve.get_yticklabels(), strict=True)
    shown = [label.get_text() for tick, label in ticks if low <= tick <= high]
    assert shown == ["1e\u221205", "1e\u221203", "1e\u221201", "10"]  # matplotlib's minus sign
    labels = [t.get_text() for t in bar.get_yticklabels()]
    assert labels and all("$" not in text and text for text in labels)
