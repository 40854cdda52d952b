"""The run as one matplotlib figure (--plot, Result.plot()): x, o with the step each state equals
marked, the gates with --gates, the final states (h and c each on its own scale), and a few units
through time.

matplotlib is imported here and only here, and pyplot never: the figure is a Figure of its own
(no global state, the user's backend untouched), drawn by Agg, and it shows itself in Jupyter as
a PNG. Saved .svg and .pdf files carry no dates or random ids, so the same run gives the same
bytes; SVG text stays text. A run longer than a heatmap is wide is binned (rnnstate.bins): each
column shows the value of its steps furthest from the centre of its scale.
"""

import functools
import io
import textwrap
from dataclasses import dataclass, field

import numpy as np

from rnnstate.bins import extreme_bins, scale_centre, unit_scale
from rnnstate.render.table import header, trace_legend
from rnnstate.result import Result, StateCheck
from rnnstate.vocab import StepTokens

LINES_SHOWN = 4  # units drawn through time unless units_shown says which
LEGEND_BESIDE = 6  # the legend of this many lines fits beside them; of more, over them
DPI = 100  # figures are drawn at this many dots per inch
# The layout, in inches: every text has a fixed size, so each gets its own room, drawn the same
# whatever the run (no layout engine to run at every draw).
FIGURE_WIDTH = 10.0
LEFT = 0.8  # y tick labels and the y label
RIGHT = 1.0  # the colour bar (COLOUR_BAR wide, PAST_AXES from the axes), its ticks and label
COLOUR_BAR, PAST_AXES = 0.12, 0.08
TOP, BOTTOM = 0.12, 0.1
TITLE_LINE = 0.19  # a line of the figure's title
ABOVE = 0.3  # a panel's title
BELOW = 0.25  # a panel's x tick labels
X_LABEL = 0.2  # a panel's x label
HEATMAP_HEIGHT = 1.0  # a heatmap's axes
STATES_HEIGHT, STATE_ROW_HEIGHT = 0.25, 0.2  # the final states of a kind: + a row per state
LINES_HEIGHT = 1.1  # the lines through time
MAX_COLUMNS = 500  # a heatmap is 820 dots wide: with a bin per column every bin is seen
MAX_ROWS = 100  # a heatmap is 100 dots high: more units than this are binned
EVERY_STEP_TICKS = 60  # with --vocab, runs this short label every step by its token
TOKEN_CHARACTER = 0.055  # inches a character of a vertical tick label takes, at its font size
TITLE_WIDTH = 125  # characters per line of the figure's title at its font size
# A "$" in a file's name or a token is a dollar sign: matplotlib's mathtext would typeset "a$x$b"
# as a formula and raise on "$\frac{$".
PLAIN_TEXT = {"text.parse_math": False}
SAVE_SETTINGS = {
    **PLAIN_TEXT,  # the tick labels matplotlib makes only when it draws
    "svg.hashsalt": "rnnstate",  # fixed ids in SVG, not random ones
    "svg.fonttype": "none",  # text stays text in SVG: searchable, editable
    "pdf.fonttype": 42,  # TrueType in PDF: text stays text there too
}
STATE_KINDS = {"h": "final hidden state", "c": "final cell state"}


@dataclass
class Panel:
    """One heatmap: name (its colour bar's label), title, values (rows, T), whether it is on
    the 0..1 scale, the input step of each column, which states equal one of its columns, and
    the columns masked."""

    name: str
    title: str
    values: np.ndarray
    sequential: bool
    steps: list[int]
    row_label: str = "unit"
    marked: tuple[str, ...] = ()
    masked: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # input step -> its token (--vocab)


def panels(result: Result, n: int) -> list[Panel]:
    """The heatmaps of sequence n: x, o or its halves, then the traced quantities with
    --gates. x and a bidirectional layer's arrays are in input order; the rest, in reading
    order (rows of o run backwards with --backwards)."""
    spec, M, T = result.spec, result.spec.units, result.spec.steps
    inputs = list(range(T))
    reading = [result.step_of_row(r) for r in range(T)]
    masked = [] if result.mask is None else [int(t) for t in np.flatnonzero(~result.mask[n])]
    found = [Panel("x", "x  input", result.x[n].T, False, inputs, "feature d")]
    if spec.return_sequences:
        if spec.bidirectional and spec.merge == "concat":
            found.append(Panel("o[:, :M]", "o[:, :M]  forward half of o", result.o[n][:, :M].T,
                               False, inputs, marked=("h_fw",)))  # fmt: skip
            found.append(Panel("o[:, M:]", "o[:, M:]  backward half of o", result.o[n][:, M:].T,
                               False, inputs, marked=("h_bw",)))  # fmt: skip
        elif spec.bidirectional and spec.merge == "none":
            for name, state in (("o_fw", "h_fw"), ("o_bw", "h_bw")):
                found.append(Panel(name, f"{name}  {state[-2:]} half of o",
                                   result.outputs[name][n].T, False, inputs,
                                   marked=(state,)))  # fmt: skip
        elif spec.bidirectional:
            found.append(Panel("o", f"o  merge_mode {spec.merge} of both halves",
                               result.o[n].T, False, inputs))  # fmt: skip
        else:
            order = " (in reading order: go_backwards)" if spec.backwards else ""
            found.append(Panel("o", f"o  output at every step{order}", result.o[n].T, False,
                               reading, marked=("h",)))  # fmt: skip
    if spec.gates and result.gates:
        for name, values in result.gates.items():
            base = name[:-3] if spec.bidirectional else name
            meaning, _ = trace_legend(result, base)
            steps = inputs if spec.bidirectional else reading
            found.append(Panel(name, f"{name}  {meaning}", values[n].T, unit_scale(result, base),
                               steps))  # fmt: skip
    for panel in found:
        panel.masked = [panel.steps.index(t) for t in masked]
    return found


@functools.cache
def figure_class():
    """A matplotlib Figure that shows itself as a PNG in Jupyter (a Figure made without pyplot
    has no display of its own there), drawn by Agg whatever the user's backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    class RunFigure(Figure):
        """The figure of one run."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            FigureCanvasAgg(self)

        def _repr_png_(self) -> bytes:
            return image_bytes(self, ".png")

    return RunFigure


def plain_text(build):
    """`build` (a function making a figure) with mathtext off for every text it makes."""

    @functools.wraps(build)
    def built(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(PLAIN_TEXT):
            return build(*args, **kwargs)

    return built


@plain_text
def figure(
    result: Result,
    n: int | None = None,
    units_shown: list[int] | None = None,
    tokens: StepTokens | None = None,
):
    """The figure of sequence n (--only; the first by default, said in the title for a
    batch): a matplotlib Figure FIGURE_WIDTH inches wide, as high as its panels need. With
    `tokens` (--vocab) the heatmaps' steps are labelled "t token", upright."""
    spec = result.spec
    n = 0 if n is None else n
    maps = panels(result, n)
    if tokens is not None:
        for panel in maps:
            panel.names = tokens.of_sequence(n)
    lines = line_values(result, n)
    kinds = [kind for kind in STATE_KINDS if any(name[0] == kind for name in result.states)]
    rows = {kind: sum(name[0] == kind for name in result.states) for kind in kinds}
    heights = [HEATMAP_HEIGHT] * len(maps)
    heights += [STATES_HEIGHT + STATE_ROW_HEIGHT * rows[kind] for kind in kinds]
    heights += [LINES_HEIGHT] if lines is not None else []
    labelled = len(heights) - 1 if lines is not None else len(maps) - 1  # has the x label
    below = [BELOW + token_room(panel) for panel in maps] + [BELOW] * (len(heights) - len(maps))
    room = [ABOVE + h + below[k] + (X_LABEL if k == labelled else 0)
            for k, h in enumerate(heights)]  # fmt: skip
    fig, axes = stacked_axes(title_text(result, n, maps), heights, room)
    checks = [c for c in result.checks() if c.sequence == n]
    for axis, panel in zip(axes, maps, strict=False):
        draw_heatmap(fig, axis, panel, checks)
    for axis, kind in zip(axes[len(maps) :], kinds, strict=False):
        draw_states(fig, axis, result, n, kind, checks)
    if lines is not None:
        draw_lines(axes[-1], lines, units_shown)
    reading = lines is not None and spec.backwards
    axes[labelled].set_xlabel("row of o (reading order)" if reading else "t (input step)",
                              fontsize=8)  # fmt: skip
    return fig


def stacked_axes(title: str, heights: list[float], room: list[float]):
    """A Figure FIGURE_WIDTH inches wide, `title` at its top, then one axes a panel, stacked:
    panel k takes room[k] inches (ABOVE for its title, its axes heights[k] inches high, the
    rest for what goes under them). Returns (fig, axes), axes top to bottom."""
    title_height = TOP + TITLE_LINE * (title.count("\n") + 1)
    fig = figure_class()(figsize=(FIGURE_WIDTH, title_height + sum(room) + BOTTOM), dpi=DPI)
    width, height = fig.get_size_inches()
    fig.suptitle(title, x=0.1 / width, y=1 - TOP / height, ha="left", va="top", fontsize=9,
                 linespacing=1.3)  # fmt: skip
    axes, top = [], title_height
    for k, axes_height in enumerate(heights):
        top += ABOVE
        box = (LEFT / width, 1 - (top + axes_height) / height, (width - LEFT - RIGHT) / width,
               axes_height / height)  # fmt: skip
        axes.append(fig.add_axes(box))
        top += room[k] - ABOVE
    return fig, axes


def colour_bar(fig, axis, image, label: str, ticks: int | None = None):
    """A colour bar beside `axis`, as high as it, labelled."""
    from matplotlib.ticker import MaxNLocator

    width = fig.get_size_inches()[0]
    box = axis.get_position()
    place = (box.x1 + PAST_AXES / width, box.y0, COLOUR_BAR / width, box.height)
    bar = fig.colorbar(image, cax=fig.add_axes(place, label="<colorbar>"))  # as matplotlib does
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    if ticks is not None:
        bar.ax.yaxis.set_major_locator(MaxNLocator(nbins=ticks))
    return bar


def title_text(result: Result, n: int, maps: list[Panel]) -> str:
    """The run's description as the header of the tables says it (rnnstate.render.table),
    the sequence drawn for a batch, and how long runs were binned; wrapped to the figure."""
    spec = result.spec
    lines = header(result).plain.splitlines()
    if spec.batch > 1:
        lines.append(f"sequence n={n} of N={spec.batch} drawn")
    per_column = bin_size(spec.steps, MAX_COLUMNS)
    per_row = max(bin_size(panel.values.shape[0], MAX_ROWS) for panel in maps)
    if per_column > 1 or per_row > 1:
        cells = [f"{per_column} steps per column"] if per_column > 1 else []
        cells += [f"up to {per_row} units per row"] if per_row > 1 else []
        lines.append(f"binned, {' and '.join(cells)}: each cell shows the value furthest from "
                     "its scale's centre (0, or 0.5 for a gate in 0..1)")  # fmt: skip
    return "\n".join(
        wrapped for line in lines for wrapped in textwrap.wrap(line, TITLE_WIDTH) or [""]
    )


def bin_size(length: int, count: int) -> int:
    """How many of `length` steps (or units) share a bin when at most `count` bins are drawn."""
    return max(1, -(-length // count))


def step_locator():
    """Where the ticks of an axis of steps go: round numbers, about ten of them."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=10, integer=True, steps=[1, 2, 2.5, 5, 10])


def round_ticks(labels: list[int]) -> tuple[list[int], list[str]]:
    """Round step numbers (0, 250, 500, ...) among `labels` (the input step of each column, any
    order) and the columns that hold them: (positions, texts)."""
    low, high = min(labels), max(labels)
    values = [int(v) for v in step_locator().tick_values(low, high) if low <= v <= high]
    column = {step: c for c, step in enumerate(labels)}
    return [column[v] for v in values], [str(v) for v in values]


def token_ticks(panel: Panel) -> tuple[list[int], list[str]]:
    """--vocab: ticks "t token" at every column of a short run (EVERY_STEP_TICKS steps or
    fewer), else at round_ticks' round steps: (positions, texts)."""
    if len(panel.steps) <= EVERY_STEP_TICKS:
        positions = list(range(len(panel.steps)))
    else:
        positions, _ = round_ticks(panel.steps)
    return positions, [f"{panel.steps[c]} {panel.names[panel.steps[c]]}" for c in positions]


def token_room(panel: Panel) -> float:
    """The inches a heatmap's upright "t token" tick labels need beyond a row of numbers."""
    if not panel.names:
        return 0.0
    longest = max(len(text) for text in token_ticks(panel)[1])
    return max(0.0, longest * TOKEN_CHARACTER - BELOW + 0.1)


def draw_heatmap(fig, axis, panel: Panel, checks: list[StateCheck]) -> None:
    """One (rows, T) heatmap with its own labelled colour bar: a 0..1 scale for gates in
    [0, 1], else a scale symmetric around 0. Long runs are binned (rnnstate.bins); the columns
    that states equal are marked with a ▼ and named in the title; masked steps hatched."""
    from matplotlib.ticker import MaxNLocator

    rows, T = panel.values.shape
    centre = scale_centre(panel.sequential)
    binned, per_column = extreme_bins(panel.values, MAX_COLUMNS, 1, centre)
    binned, per_row = extreme_bins(binned, MAX_ROWS, 0, centre)
    # float64: matplotlib scales by subtracting the lower limit, which overflows float32 near
    # its largest values (±3.4e38)
    binned = binned.astype(np.float64)
    extent = (-0.5, binned.shape[1] * per_column - 0.5, binned.shape[0] * per_row - 0.5, -0.5)
    if panel.sequential:
        scale = {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}
    else:
        limit = float(np.max(np.abs(panel.values))) or 1.0
        scale = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
    image = axis.imshow(binned, aspect="auto", interpolation="nearest", extent=extent, **scale)
    axis.set_xlim(-0.5, T - 0.5)
    axis.set_ylim(rows - 0.5, -0.5)
    marks = [c for c in checks if c.state in panel.marked and c.equal and c.row is not None]
    named = "".join(f"   ▼ {c.state} = {c.output}" for c in marks)
    axis.set_title(f"{panel.title}{named}", loc="left", fontsize=9)
    for check in marks:
        axis.plot([check.row], [-0.5], marker="v", color="black", markersize=6, clip_on=False)
    axis.set_ylabel(panel.row_label, fontsize=8)
    axis.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, steps=[1, 2, 5, 10]))
    positions, texts = round_ticks(panel.steps)
    if panel.names:
        positions, texts = token_ticks(panel)
        axis.set_xticks(positions, texts, rotation=90)
    else:
        axis.set_xticks(positions, texts)
    axis.tick_params(labelsize=7)
    shade_masked(axis, panel.masked)
    colour_bar(fig, axis, image, f"{panel.name}{' (0 to 1)' if panel.sequential else ''}")


def shade_masked(axis, masked: list[int]) -> None:
    """Grey hatching over the masked columns, one patch per run of neighbouring columns."""
    columns = sorted(masked)
    start = 0
    for k in range(1, len(columns) + 1):
        if k == len(columns) or columns[k] != columns[k - 1] + 1:
            axis.axvspan(columns[start] - 0.5, columns[k - 1] + 0.5, facecolor="none",
                         edgecolor="0.4", hatch="///", lw=0)  # fmt: skip
            start = k


def draw_states(fig, axis, result: Result, n: int, kind: str, checks: list[StateCheck]) -> None:
    """The final states of one kind (h: h or h_fw and h_bw; c likewise) of sequence n, one
    row each, on their own scale; what each equals is said in the title."""
    equals = {c.state: c.output for c in checks if c.equal}
    names = [name for name in result.states if name[0] == kind]
    values = np.stack([result.states[name][n] for name in names]).astype(np.float64)  # (states, M)
    limit = float(np.max(np.abs(values))) or 1.0
    image = axis.imshow(values, aspect="auto", interpolation="nearest", cmap="RdBu_r",
                        vmin=-limit, vmax=limit)  # fmt: skip
    axis.set_yticks(range(len(names)), names)
    axis.xaxis.set_major_locator(step_locator())
    axis.tick_params(labelsize=7)
    named = ", ".join(f"{name} = {equals[name]}" for name in names if name in equals)
    axis.set_title(f"{kind}  {STATE_KINDS[kind]} (columns: units){'   ' if named else ''}{named}",
                   loc="left", fontsize=9)  # fmt: skip
    colour_bar(fig, axis, image, kind, ticks=2)


def line_values(result: Result, n: int) -> tuple[str, np.ndarray, int | None] | None:
    """What the lines through time show: o with return_sequences, else the traced h_t, with
    the units of its forward half (M) where its columns hold both halves of a Bidirectional
    layer (merge_mode concat), else None; None when neither was kept (o holds only the last
    step, and no trace)."""
    spec = result.spec
    if spec.return_sequences and "o" in result.outputs:
        halves = spec.units if spec.bidirectional and spec.merge == "concat" else None
        return "o", result.o[n], halves
    if result.gates is not None and "h_t" in result.gates:
        return "h_t", result.gates["h_t"][n], None
    return None


def draw_lines(axis, lines: tuple[str, np.ndarray, int | None], units_shown: list[int] | None):
    """A few units of o (or of the traced h_t) through time, (T, M) values; of a Bidirectional
    layer's o (concat), as many of each half, each labelled fw or bw."""
    name, values, forward_units = lines
    if forward_units is None:
        units = units_shown or list(range(min(LINES_SHOWN, values.shape[1])))
        labels = [f"u{u}" for u in units]
    else:
        each = list(range(min(LINES_SHOWN // 2, forward_units)))
        units = units_shown or [*each, *(forward_units + u for u in each)]
        labels = [f"fw u{u}" if u < forward_units else f"bw u{u - forward_units}" for u in units]
    for unit, label in zip(units, labels, strict=True):
        axis.plot(range(values.shape[0]), values[:, unit], lw=1, label=label)
    halves = "" if forward_units is None else "  (fw: o[:, :M], bw: o[:, M:])"
    axis.set_title(f"{name} through time, units {', '.join(labels)}{halves}",
                   loc="left", fontsize=9)  # fmt: skip
    if len(units) <= LEGEND_BESIDE:  # beside the lines, where a heatmap has its colour bar
        axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    else:
        axis.legend(fontsize=7, loc="upper right", ncols=min(len(units), 8), framealpha=0.85)
    axis.set_xlim(-0.5, values.shape[0] - 0.5)
    axis.xaxis.set_major_locator(step_locator())
    axis.tick_params(labelsize=7)


def image_bytes(fig, suffix: str) -> bytes:
    """The figure as .png, .svg or .pdf bytes, without dates (stable for .svg and .pdf)."""
    import matplotlib

    metadata = {".png": {"Software": None}, ".svg": {"Date": None}, ".pdf": {"CreationDate": None}}
    buffer = io.BytesIO()
    with matplotlib.rc_context(SAVE_SETTINGS):
        fig.savefig(buffer, format=suffix[1:], metadata=metadata[suffix], dpi=DPI)
    return buffer.getvalue()
