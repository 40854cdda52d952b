"""--heatmap: the run's arrays as heatmaps in the terminal, time along the wide axis.

Rows are units (features for x), columns are steps t. A long sequence is binned to fit the
terminal's width, each cell showing the value among its steps furthest from the centre of its
scale (rnnstate.bins: 0.5 for a gate, else 0), so a gate that shuts for one step still shows; many
units are binned to MAX_ROWS the same way. Colour where the terminal takes it
(rich picks truecolor, 256 or 16 colours); with NO_COLOR or in a pipe, a ramp of characters.
"""

import functools

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from rnnstate.bins import extreme_bins, scale_centre, unit_scale
from rnnstate.render.table import (
    VERDICTS_PER_SEQUENCE,
    header,
    more_sequences,
    note_lines,
    shown_sequences,
    summary_lines,
    trace_legend,
    verdict_line,
)
from rnnstate.result import Result, StateCheck
from rnnstate.vocab import StepTokens

MAX_ROWS = 24  # more units than this are binned
CELL_WIDTH = 3  # characters per step when the run is short enough
LABEL_WIDTH = 6  # "u12   " before each row
DIVERGING_RAMP = "=-.+#"  # most negative ... most positive, without colour
SEQUENTIAL_RAMP = " .:*#"  # 0 ... 1, without colour
BLUE, WHITE, RED = (33, 102, 172), (247, 247, 247), (178, 24, 43)
VIRIDIS = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]


def colours(values: np.ndarray, limit: float, sequential: bool) -> np.ndarray:
    """The RGB colour of every value, (..., 3) integers: viridis over [0, 1], or
    blue-white-red over [-limit, limit] (clipped)."""
    values = np.asarray(values, dtype=np.float64)
    if sequential:
        table = np.array(VIRIDIS, dtype=np.float64)
        position = np.clip(values, 0.0, 1.0) * (len(VIRIDIS) - 1)
        k = np.minimum(position.astype(int), len(VIRIDIS) - 2)
        low, high, weight = table[k], table[k + 1], (position - k)[..., None]
    else:
        weight = (np.minimum(np.abs(values) / limit, 1.0) if limit else 0 * values)[..., None]
        low = np.array(WHITE, dtype=np.float64)
        high = np.where((values > 0)[..., None], np.array(RED), np.array(BLUE))
    return np.rint(low + (high - low) * weight).astype(int)


def colour(value: float, limit: float, sequential: bool) -> tuple[int, int, int]:
    """The RGB colour of one value (see colours)."""
    return tuple(int(c) for c in colours(np.array(value), limit, sequential))


@functools.lru_cache(maxsize=4096)
def background(rgb: tuple[int, int, int]) -> Style:
    """The style of a cell of colour `rgb` (made once per colour: parsing one costs)."""
    return Style(bgcolor=f"rgb({rgb[0]},{rgb[1]},{rgb[2]})")


def shade(value: float, limit: float, sequential: bool) -> str:
    """The character of a value on the plain-text ramp."""
    ramp = SEQUENTIAL_RAMP if sequential else DIVERGING_RAMP
    position = (
        min(max(value, 0.0), 1.0) if sequential else (value / limit + 1) / 2 if limit else 0.5
    )
    return ramp[min(int(position * len(ramp)), len(ramp) - 1)]


class Heatmap:
    """A titled (rows, T) heatmap; `steps` label the columns, `marks` put a note under a column
    (the row of o a state equals), `masked` columns are flagged under the map, and the column
    of input step `cursor` (rnnstate explore's step cursor) is pointed at."""

    def __init__(self, title, values, steps, row_prefix, sequential=False, marks=None, masked=(),
                 cursor=None):  # fmt: skip
        self.title = title
        self.values = values
        self.steps = steps
        self.row_prefix = row_prefix
        self.sequential = sequential
        self.marks = marks or {}
        self.masked = set(masked)
        self.cursor = cursor
        self.step_names: dict[int, str] = {}  # input step -> its token (--vocab)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width - LABEL_WIDTH
        centre = self.bin_centre()
        binned, per_column = extreme_bins(self.values, width, 1, centre)
        binned, per_row = extreme_bins(binned, MAX_ROWS, 0, centre)
        cell = max(1, min(CELL_WIDTH, width // binned.shape[1]))  # short runs: wider cells
        limit = 1.0 if self.sequential else float(np.max(np.abs(self.values))) or 1.0
        plain = console.no_color or console.color_system is None
        yield Text(self.title, style="bold")
        yield Text(self.describe(per_column, per_row, limit, plain), style="dim")
        yield self.axis(binned.shape[1], per_column, cell)
        yield from self.token_lines(binned.shape[1], per_column, cell)
        for r, row in enumerate(binned):  # as segments: a Text of a span per cell renders slowly
            yield Segment(self.row_label(r, per_row).ljust(LABEL_WIDTH))
            if plain:
                yield Segment(
                    "".join(shade(v, limit, self.sequential) * cell for v in row.tolist())
                )
            else:
                for rgb in map(tuple, colours(row, limit, self.sequential).tolist()):
                    yield Segment(" " * cell, background(rgb))
            yield Segment.line()
        yield from self.under(binned.shape[1], per_column, cell)

    def bin_centre(self) -> float:
        """The value a bin's shown value is furthest from (rnnstate.bins)."""
        return scale_centre(self.sequential)

    def row_label(self, r: int, per_row: int) -> str:
        """The label of binned row r: 'u12' for the first unit (feature) in it."""
        return f"{self.row_prefix}{r * per_row}"

    def describe(self, per_column: int, per_row: int, limit: float, plain: bool) -> str:
        """What the rows, columns and shades mean, and the binning."""
        cells = f"{per_column} steps per column" if per_column > 1 else "1 step per column"
        if per_row > 1:
            cells += f", {per_row} {'units' if self.row_prefix == 'u' else 'features'} per row"
        if per_column > 1 or per_row > 1:
            centre = f"{scale_centre(self.sequential):g}"
            cells += f" (each cell: the value furthest from {centre})"
        what = "units" if self.row_prefix == "u" else "features d"
        if self.sequential:
            ends = (SEQUENTIAL_RAMP[0], SEQUENTIAL_RAMP[-1]) if plain else ("purple", "yellow")
            scale = f"0 ({ends[0]!r}) ... 1 ({ends[1]!r})" if plain else "0 (purple) ... 1 (yellow)"
        elif plain:
            ramp = DIVERGING_RAMP
            scale = f"{-limit:.3g} ('{ramp[0]}') ... 0 ('{ramp[2]}') ... {limit:.3g} ('{ramp[-1]}')"
        else:
            scale = f"{-limit:.3g} (blue) ... 0 (white) ... {limit:.3g} (red)"
        return f"rows: {what}; columns: steps t, {cells}; scale {scale}"

    def axis(self, columns: int, per_column: int, cell: int) -> Text:
        """Step labels above the map, about every ten characters."""
        line = [" "] * (columns * cell)
        every = max(1, -(-10 // cell))  # columns between labels
        for c in range(0, columns, every):
            label = str(self.steps[min(c * per_column, len(self.steps) - 1)])
            if c * cell + len(label) > len(line):
                break  # a label that does not fit whole is left out, never cut to another number
            line[c * cell : c * cell + len(label)] = label
        return Text("t".ljust(LABEL_WIDTH) + "".join(line), style="dim")

    def token_lines(self, columns: int, per_column: int, cell: int) -> list[Text]:
        """With --vocab and one step per column: each step's token under the step labels,
        starting at its column, on the first of two lines where it fits whole beside the one
        before (else cut with "…" at the map's edge); a token with no room on either is left
        out. Nothing when columns hold several steps."""
        if not self.step_names or per_column > 1:
            return []
        width = columns * cell
        lines, free = [[" "] * width, [" "] * width], [0, 0]
        for c in range(columns):
            name, start = self.step_names.get(self.steps[c]), c * cell
            for k, line in enumerate(lines):
                if name is None or start < free[k]:
                    continue
                if start + len(name) > width:
                    name = name[: width - start - 1] + "…" if width - start > 1 else ""
                line[start : start + len(name)] = name
                free[k] = start + len(name) + 1
                break
        labels = ["token".ljust(LABEL_WIDTH), " " * LABEL_WIDTH]
        return [Text(label + "".join(line), style="dim") for label, line in
                zip(labels, lines, strict=True) if line.count(" ") < width]  # fmt: skip

    def under(self, columns: int, per_column: int, cell: int) -> RenderResult:
        """The masked columns and the marked ones, each on a line of its own."""
        if self.masked:
            line = [" "] * (columns * cell)
            for t in self.masked:
                start = (t // per_column) * cell
                line[start : start + cell] = "x" * cell
            yield Text("masked".ljust(LABEL_WIDTH) + "".join(line), style="dim")
        for position, note in sorted(self.marks.items()):
            column = (position // per_column) * cell
            yield Text(" " * (LABEL_WIDTH + column) + "^ " + note, style="bold")
        if self.cursor is not None and self.cursor in self.steps:
            column = (self.steps.index(self.cursor) // per_column) * cell
            yield Text("step".ljust(LABEL_WIDTH) + " " * column + "|" * cell + f" t={self.cursor}",
                       style="bold reverse")  # fmt: skip


def maps(
    result: Result, n: int, checks: list[StateCheck], cursor: int | None = None
) -> list[Heatmap]:
    """The heatmaps of sequence n: x, o (or its halves) with the rows its `checks` found equal
    marked, and the trace; input step `cursor` pointed at in each."""
    spec, M = result.spec, result.spec.units
    T = spec.steps
    masked = [] if result.mask is None else [int(t) for t in np.flatnonzero(~result.mask[n])]
    reading = [result.step_of_row(r) for r in range(T)]
    masked_rows = [reading.index(t) for t in masked]
    found = [Heatmap(f"x  input, (T, D) = ({T}, {spec.features})", result.x[n].T,
                     list(range(T)), "d", masked=masked, cursor=cursor)]  # fmt: skip

    def marks(state: str) -> dict[int, str]:
        return {
            c.row: f"{c.state} = {c.output}"
            for c in checks
            if c.state == state and c.equal and c.row is not None
        }

    if spec.return_sequences:
        if not spec.bidirectional:
            found.append(Heatmap(f"o  output at every step, (T, M) = ({T}, {M})", result.o[n].T,
                                 reading, "u", marks=marks("h"), masked=masked_rows,
                                 cursor=cursor))  # fmt: skip
        elif spec.merge in ("concat", "none"):
            halves = (
                [(result.o[n][:, :M], "o[:, :M]"), (result.o[n][:, M:], "o[:, M:]")]
                if spec.merge == "concat"
                else [(result.outputs["o_fw"][n], "o_fw"), (result.outputs["o_bw"][n], "o_bw")]
            )
            for (values, name), state in zip(halves, ("h_fw", "h_bw"), strict=True):
                found.append(Heatmap(f"{name}  {state[-2:]} half of o", values.T, list(range(T)),
                                     "u", marks=marks(state), masked=masked,
                                     cursor=cursor))  # fmt: skip
        else:
            found.append(Heatmap(f"o  merge_mode {spec.merge} of both halves", result.o[n].T,
                                 list(range(T)), "u", masked=masked, cursor=cursor))  # fmt: skip
    if spec.gates and result.gates:
        for name, values in result.gates.items():
            base = name[:-3] if spec.bidirectional else name
            meaning, _ = trace_legend(result, base)
            sequential = unit_scale(result, base)
            labels = list(range(T)) if spec.bidirectional else reading
            rows = masked if spec.bidirectional else masked_rows
            found.append(Heatmap(f"{name}  {meaning}", values[n].T, labels, "u", sequential,
                                 masked=rows, cursor=cursor))  # fmt: skip
    return found


def states_text(result: Result, n: int, sequence_checks: list[StateCheck]) -> Text:
    """The final states as numbers (few enough to read), with what each equals."""
    checks = {c.state: c for c in sequence_checks}
    lines = []
    for name, values in result.states.items():
        check = checks.get(name)
        equals = f"  = {check.output}" if check is not None and check.equal else ""
        shown = " ".join(f"{v: .4f}" for v in values[n][:12]) + (
            " ..." if values.shape[1] > 12 else ""
        )
        lines.append(f"{name}  [{shown} ]{equals}")
    return Text("\n".join(lines))


def render(
    result: Result,
    only: int | None = None,
    cursor: int | None = None,
    tokens: StepTokens | None = None,
) -> Group:
    """Everything --heatmap shows: the header, per sequence its maps and states, the verdicts;
    input step `cursor` pointed at in every map (rnnstate explore); `tokens` (--vocab): each
    step's token under the step labels."""
    parts: list = [header(result)]
    N = result.spec.batch
    checks = result.checks()  # measured once, for the marks and the lines
    each = only is not None or N <= VERDICTS_PER_SEQUENCE
    for n in shown_sequences(N, only):
        if N > 1:
            parts.append(Text(f"\nsequence n={n} of N={N}", style="bold underline"))
        mine = [check for check in checks if check.sequence == n]
        found = maps(result, n, mine, cursor)
        for heatmap in found if tokens is not None else ():
            heatmap.step_names = tokens.of_sequence(n)
        parts.extend(found)
        parts.append(Text("final states", style="bold"))
        parts.append(states_text(result, n, mine))
        if each:
            parts.extend(verdict_line(check, label=N > 1) for check in mine)
    parts.extend(more_sequences(N, only))
    if not each:
        parts.extend(summary_lines(checks))
    parts.extend(note_lines(result, only))
    return Group(*parts)
