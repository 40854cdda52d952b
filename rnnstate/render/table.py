"""Rich renderables for a Result: a header, one table per array, and the h == o check.

Rows are time steps t, columns are units (or features for x). The row of o that h equals and
h itself share one highlight and a "= h" / "= o[t]" mark, so the match reads in plain text too.
Long arrays show their head and tail around an ellipsis row.
"""

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from rnnstate.result import Result

MATCH_STYLE = "bold black on bright_yellow"
SATURATED_STYLE = "bold magenta"
SATURATED_MARK = "*"  # after a saturated value, so it stands out without colour too
SIGMOID_SATURATION = (0.05, 0.95)  # a sigmoid below or above these is saturated
TANH_SATURATION = (-0.95, 0.95)
HEAD_ROWS = 8  # rows shown before the ellipsis when T is long; as many after it
ELLIPSIS = "⋮"


def shown_indices(count: int, head: int) -> list[int | None]:
    """Indices 0..count-1 to show, with None where the ellipsis goes: all if count <= 2*head + 1."""
    if count <= 2 * head + 1:
        return list(range(count))
    return [*range(head), None, *range(count - head, count)]


def format_value(value: float) -> str:
    """A float as the tables show it: sign, four decimals."""
    return f"{value: .4f}"


class ArrayTable:
    """A titled table of `rows` (R, K): one row per step label in `steps`, columns prefix0...

    `marks` maps a row position to a note: that row is highlighted and the note shown beside it.
    `saturation` (low, high) marks values outside that range with SATURATED_MARK and a colour.
    The title is a line of its own, so a narrow table does not wrap it. Columns that do not fit
    the console's width are elided around an ellipsis column, decided when the table is drawn.
    """

    def __init__(
        self,
        title: str,
        rows: np.ndarray,
        steps: list[int],
        column_prefix: str,
        marks: dict[int, str] | None = None,
        saturation: tuple[float, float] | None = None,
    ) -> None:
        self.title = title
        self.rows = rows
        self.steps = steps
        self.column_prefix = column_prefix
        self.marks = marks or {}
        self.saturation = saturation  # (low, high): values outside are marked saturated

    def shown_columns(self, width: int) -> list[int | None]:
        """Columns that fit in `width` cells beside the t and mark columns; None is the ellipsis."""
        count = self.rows.shape[1]
        widest = max(len(format_value(v)) for v in (self.rows.min(), self.rows.max()))
        cell = 3 + widest + (len(SATURATED_MARK) if self.saturation else 0)
        marks = max((len(m) + 3 for m in self.marks.values()), default=0)
        available = width - len(str(self.steps[-1])) - 4 - marks
        if count * cell <= available:
            return list(range(count))
        return shown_indices(count, head=max(1, (available - 4) // (2 * cell)))

    def table(self, width: int) -> Table:
        """The rich Table for a console `width` cells wide."""
        table = Table(header_style="bold")
        table.add_column("t", justify="right", style="dim")
        columns = self.shown_columns(width)
        for k in columns:
            table.add_column(ELLIPSIS if k is None else f"{self.column_prefix}{k}", justify="right")
        if self.marks:
            table.add_column("", justify="left", no_wrap=True)
        for r in shown_indices(self.rows.shape[0], HEAD_ROWS):
            if r is None:
                table.add_row(ELLIPSIS, *(ELLIPSIS for _ in columns), *([""] if self.marks else []))
                continue
            cells = ["…" if k is None else self.cell(self.rows[r, k]) for k in columns]
            mark = [Text(self.marks.get(r, ""))] if self.marks else []
            style = MATCH_STYLE if r in self.marks else None
            table.add_row(str(self.steps[r]), *cells, *mark, style=style)
        return table

    def cell(self, value: float) -> Text:
        """One value as text; a saturated one marked and coloured."""
        if self.saturation and not self.saturation[0] <= value <= self.saturation[1]:
            return Text(format_value(value) + SATURATED_MARK, style=SATURATED_STYLE)
        return Text(format_value(value))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(self.title, style="bold")
        yield self.table(options.max_width)


def header(result: Result) -> Text:
    """Two lines: the layer, engine, sizes and seed (so the run can be repeated), then the
    Keras options of the layer."""
    spec = result.spec
    options = [f"return_sequences={spec.return_sequences}"]
    if spec.cell == "gru":
        options.append(f"reset_after={spec.reset_after}")
    options.append(f"use_bias={spec.use_bias}")
    return Text(
        f"{spec.keras_layer} on the {spec.engine} engine  T={spec.steps} D={spec.features} "
        f"M={spec.units} N={spec.batch}  seed={spec.seed}\n{'  '.join(options)}",
        style="bold",
    )


def check_line(result: Result) -> Text:
    """The sentence under the tables: which equality holds and the largest difference measured."""
    check = result.check()
    if result.spec.return_sequences:
        claim, compared = f"h equals o at t={check.step}", f"|h - o[t={check.step}]|"
    else:
        claim, compared = "o equals h", "|h - o|"
    if not check.h_equals_last_o:
        claim = f"h does NOT equal the last output (t={check.step})"
    line = Text(f"{'✓' if check.h_equals_last_o else '✗'} {claim}; ")
    line.append(f"largest {compared} = {check.max_abs_diff:g}")
    line.stylize("green" if check.h_equals_last_o else "bold red", 0, 1)
    return line


def sequence_tables(result: Result, n: int) -> list[ArrayTable]:
    """The tables of sequence n of the batch: x, o, h and (LSTM) c."""
    spec = result.spec
    T, M, last = spec.steps, spec.units, spec.steps - 1
    steps = list(range(T))
    tables = [
        ArrayTable(f"x  input, (T, D) = ({T}, {spec.features})", result.x[n], steps, "d"),
    ]
    if spec.return_sequences:
        o_title = f"o  output at every step (return_sequences=True), (T, M) = ({T}, {M})"
        tables.append(ArrayTable(o_title, result.o[n], steps, "u", {last: "= h"}))
    else:
        o_title = f"o  output at the last step only (return_sequences=False), (M,) = ({M},)"
        tables.append(ArrayTable(o_title, result.o[n][None], [last], "u", {0: "= h"}))
    h_title = f"h  final hidden state, (M,) = ({M},)"
    tables.append(ArrayTable(h_title, result.h[n][None], [last], "u", {0: f"= o[t={last}]"}))
    if result.c is not None:
        c_title = f"c  final cell state (the LSTM's carry, not part of o), (M,) = ({M},)"
        tables.append(ArrayTable(c_title, result.c[n][None], [last], "u"))
    return tables


# What each traced quantity is, and the range outside which it counts as saturated.
TRACE_LEGEND: dict[str, tuple[str, tuple[float, float] | None]] = {
    "i": ("input gate, sigmoid: how much of g enters c", SIGMOID_SATURATION),
    "f": ("forget gate, sigmoid: near 1 keeps c, near 0 forgets it", SIGMOID_SATURATION),
    "g": ("candidate, tanh: what may be written into c", TANH_SATURATION),
    "o": ("output gate, sigmoid: how much of tanh(c_t) shows in h_t", SIGMOID_SATURATION),
    "c_t": ("cell state after step t: c_t = f * c_{t-1} + i * g", None),
    "z": ("update gate, sigmoid: near 1 keeps h, near 0 takes h_hat", SIGMOID_SATURATION),
    "r": ("reset gate, sigmoid: how much of h_{t-1} the candidate sees", SIGMOID_SATURATION),
    "h_hat": ("candidate ĥ, tanh", TANH_SATURATION),
    "pre_activation": ("x_t W + h_{t-1} U + b, before tanh", None),
    "h_t": ("hidden state after step t: the output o at t", TANH_SATURATION),
}


def trace_tables(result: Result, n: int) -> list[ArrayTable]:
    """One table per traced quantity of sequence n: rows t, columns units, saturation marked."""
    steps = list(range(result.spec.steps))
    last = result.spec.steps - 1
    final_state_marks = {"h_t": {last: "= h"}, "c_t": {last: "= c"}}
    return [
        ArrayTable(
            f"{name}  {TRACE_LEGEND[name][0]}",
            values[n],
            steps,
            "u",
            marks=final_state_marks.get(name),
            saturation=TRACE_LEGEND[name][1],
        )
        for name, values in (result.gates or {}).items()
    ]


def trace_heading(result: Result) -> Text:
    """Says where the trace comes from and how it was checked."""
    text = Text("\nInside the cell, step by step", style="bold underline")
    if result.spec.engine == "keras" and result.cross_check is not None:
        largest = result.cross_check.largest.max_abs_diff
        agree = result.cross_check.agree
        text.append("\ntraced by the numpy engine on the same weights and input;", style="none")
        text.append(
            f"\n{'✓' if agree else '✗'} its o, h, c are within {largest:.3g} of Keras's",
            style="green" if agree else "bold red",
        )
    text.append(
        f"\n{SATURATED_MARK} saturated: a sigmoid outside {SIGMOID_SATURATION}, "
        f"a tanh beyond ±{TANH_SATURATION[1]}",
        style="none",
    )
    return text


def cross_check_table(result: Result) -> Group:
    """The engines compared array by array, then the verdict."""
    check = result.cross_check
    table = Table(header_style="bold")
    for column in ("array", "largest |keras - numpy|", "at index", f"within {check.tolerance:g}"):
        table.add_column(column, justify="left" if column == "array" else "right")
    for diff in check.diffs:
        ok = diff.max_abs_diff <= check.tolerance
        table.add_row(
            diff.name,
            f"{diff.max_abs_diff:.3g}",
            str(list(diff.where)),
            Text("yes" if ok else "NO", style="green" if ok else "bold red"),
        )
    if check.agree:
        verdict = Text(f"✓ keras and numpy agree within {check.tolerance:g}", style="green")
    else:
        worst = check.largest
        verdict = Text(
            f"✗ keras and numpy differ: {worst.name}{list(worst.where)} differs by "
            f"{worst.max_abs_diff:.3g}, beyond {check.tolerance:g}",
            style="bold red",
        )
    return Group(
        Text("\nkeras vs numpy on the same weights and input", style="bold"), table, verdict
    )


def render(result: Result, only: int | None = None) -> Group:
    """Everything the terminal shows for a Result, as one rich renderable; `only` shows one
    sequence of the batch."""
    parts: list = [header(result)]
    N = result.spec.batch
    for n in range(N) if only is None else [only]:
        if N > 1:
            parts.append(Text(f"\nsequence n={n} of N={N}", style="bold underline"))
        parts.extend(sequence_tables(result, n))
        if result.gates:
            parts.append(trace_heading(result))
            parts.extend(trace_tables(result, n))
    parts.append(check_line(result))
    if result.spec.check:
        parts.append(cross_check_table(result))
    return Group(*parts)
