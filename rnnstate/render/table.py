"""Rich renderables for a Result: a header, one table per array, and the h == o check.

Rows are time steps t, columns are units (or features for x). The row of o that h equals and
h itself share one highlight and a "= h" / "= o[t]" mark, so the match reads in plain text too.
Long arrays show their head and tail around an ellipsis row.
"""

from collections import Counter
from collections.abc import Sequence

import numpy as np
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from rnnstate.activations import SATURATION, UNBOUNDED, Saturation
from rnnstate.errors import shown_name
from rnnstate.result import ENGINE_ORDER, ENGINE_TOLERANCE, REACH_SAFETY, Result, StateCheck
from rnnstate.vocab import StepTokens

MATCH_STYLE = "bold black on bright_yellow"
CURSOR_MARK, CURSOR_STYLE = "▶", "bold reverse"  # rnnstate explore's step cursor, on t
SATURATED_STYLE = "bold magenta"
SATURATED_MARK = "*"  # after a saturated value, so it stands out without colour too
LARGE = 1e5  # values this large or larger are shown in scientific notation
HEAD_ROWS = 8  # rows shown before the ellipsis when T is long; as many after it
ELLIPSIS = "⋮"
FULL_WIDTH = 100_000  # cells a --full table may take: any table rnnstate can hold in memory


def shown_indices(count: int, head: int) -> list[int | None]:
    """Indices 0..count-1 to show, with None where the ellipsis goes: all if count <= 2*head + 1."""
    if count <= 2 * head + 1:
        return list(range(count))
    return [*range(head), None, *range(count - head, count)]


def format_value(value: float) -> str:
    """A float as the tables show it: sign, four decimals; scientific from 1e5 on, so a state
    that grew large (relu, linear) is shown faithfully in a narrow column."""
    if abs(value) >= LARGE or not np.isfinite(value):
        return f"{value: .4e}"
    return f"{value: .4f}"


def cell_width(cell: str | Text) -> int:
    """The cells a table cell takes on screen."""
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


class ArrayTable:
    """A titled table of `rows` (R, K): one row per step label in `steps`, columns prefix0...

    `marks` maps a row position to a note: that row is highlighted and the note shown beside it;
    `notes` adds a note without the highlight.
    `saturation` marks the values it counts as saturated with SATURATED_MARK and a colour.
    `cursor` (a step label, set by rnnstate explore): that row is shown even where the rows
    are elided, its t marked with CURSOR_MARK.
    The title is a line of its own, so a narrow table does not wrap it. Columns that do not fit
    the console's width are elided around an ellipsis column, decided when the table is drawn,
    and long tables show their head and tail rows; `full` shows every column and row instead.
    `hint`, when set, is said under a table that hides some (how to see them).
    """

    full = False  # every column and every row, however wide and long
    hint: str | None = None  # how to see what an elided table hides, said under it

    def __init__(
        self,
        title: str,
        rows: np.ndarray,
        steps: Sequence[int],
        column_prefix: str,
        marks: dict[int, str] | None = None,
        saturation: Saturation | None = None,
        notes: dict[int, str] | None = None,
    ) -> None:
        self.title = title
        self.rows = rows
        self.steps = steps
        self.column_prefix = column_prefix
        self.marks = marks or {}
        self.saturation = saturation  # which values are marked saturated
        self.notes = notes or {}  # row -> a dim note, without the highlight (masked steps)
        self.cursor: int | None = None  # the step label explore's step cursor is at
        self.step_names: dict[int, str] = {}  # input step -> its token (--vocab), in its label

    def shown_columns(self, width: int) -> list[int | None]:
        """Columns that fit in `width` cells beside the t and mark columns; None is the ellipsis."""
        count = self.rows.shape[1]
        if self.full:
            return list(range(count))
        widest = max(len(format_value(v)) for v in (self.rows.min(), self.rows.max()))
        cell = 3 + widest + (len(SATURATED_MARK) if self.saturation else 0)
        marks = max((len(self.note(r)) + 3 for r in {*self.marks, *self.notes}), default=0)
        label = len(str(self.steps[-1]))
        if self.step_names:  # "3 not": the widest token and its space
            label += 1 + max(cell_len(name) for name in self.step_names.values())
        available = width - label - 4 - marks - 2 * (self.cursor is not None)
        if count * cell <= available:
            return list(range(count))
        return shown_indices(count, head=max(1, (available - 4) // (2 * cell)))

    def table(self, width: int) -> Table:
        """The rich Table for a console `width` cells wide. Every column's width is given, so
        rich does not measure each cell again (the explorer draws these on every change)."""
        columns = self.shown_columns(width)
        noted = bool(self.marks or self.notes)
        rows = []  # (cells, style)
        for r in self.shown_rows():
            if r is None:
                ellipses = [ELLIPSIS, *(ELLIPSIS for _ in columns)]
                rows.append(([*ellipses, *([""] if noted else [])], None))
                continue
            cells = ["…" if k is None else self.cell(self.rows[r, k]) for k in columns]
            note = [Text(self.note(r), style="" if r in self.marks else "dim")] if noted else []
            style = MATCH_STYLE if r in self.marks else None
            rows.append(([self.step_label(r), *cells, *note], style))
        headers = ["t", *(ELLIPSIS if k is None else f"{self.column_prefix}{k}" for k in columns)]
        table = Table(header_style="bold")
        for i, header in enumerate([*headers, *([""] if noted else [])]):
            widest = max(cell_width(header), *(cell_width(cells[i]) for cells, _ in rows))
            justify = "left" if noted and i == len(headers) else "right"
            table.add_column(header, justify=justify, style="dim" if i == 0 else "",
                             no_wrap=True, width=widest)  # fmt: skip
        for cells, style in rows:
            table.add_row(*cells, style=style)
        return table

    def shown_rows(self) -> list[int | None]:
        """The rows drawn, None where an ellipsis goes: every row when `full`; else the head and
        the tail of a long table, and the cursor's row with the rows around it when it falls
        between them."""
        count = self.rows.shape[0]
        if self.full:
            return list(range(count))
        rows = shown_indices(count, HEAD_ROWS)
        if self.cursor is None or self.cursor not in self.steps or None not in rows:
            return rows
        r = self.steps.index(self.cursor)
        if r in rows:
            return rows
        gap = rows.index(None)
        near = [row for row in range(r - 1, r + 2) if rows[gap - 1] < row < rows[gap + 1]]
        before = [None] if near[0] > rows[gap - 1] + 1 else []
        after = [None] if near[-1] < rows[gap + 1] - 1 else []
        return [*rows[:gap], *before, *near, *after, *rows[gap + 1 :]]

    def step_label(self, row: int) -> str | Text:
        """The t of a row: the step label ("3 not" with --vocab), marked when the cursor is on
        it. A Text: a token is never read as rich markup."""
        step = self.steps[row]
        label = f"{step} {self.step_names[step]}" if step in self.step_names else str(step)
        if self.cursor is None:
            return Text(label)
        if step == self.cursor and len(self.steps) > 1:
            return Text(f"{CURSOR_MARK} {label}", style=CURSOR_STYLE)
        return Text(f"  {label}")

    def hidden_words(self, width: int) -> str | None:
        """What the table hides at `width`, in words ("24 of 32 units, 84 of 100 steps"), or
        None when it shows everything."""
        R, K = self.rows.shape
        rows = sum(r is not None for r in self.shown_rows())
        columns = sum(k is not None for k in self.shown_columns(width))
        what = "features" if self.column_prefix == "d" else "units"
        parts = [f"{K - columns} of {K} {what}"] if columns < K else []
        parts += [f"{R - rows} of {R} steps"] if rows < R else []
        return ", ".join(parts) or None

    def note(self, row: int) -> str:
        """The text beside a row: its mark and its note, if any."""
        return " ".join(part for part in (self.marks.get(row), self.notes.get(row)) if part)

    def cell(self, value: float) -> Text:
        """One value as text; a saturated one marked and coloured."""
        if self.saturation and self.saturation.marks(float(value)):
            return Text(format_value(value) + SATURATED_MARK, style=SATURATED_STYLE)
        return Text(format_value(value))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(self.title, style="bold")
        if self.full:  # every column at its width, however wide: the terminal wraps, less -S not
            yield from console.render(self.table(FULL_WIDTH), options.update(max_width=FULL_WIDTH))
            return
        yield self.table(options.max_width)
        if self.hint and (hidden := self.hidden_words(options.max_width)):
            yield Text(f"{ELLIPSIS} {hidden} hidden: {self.hint}", style="dim")


def header(result: Result) -> Text:
    """Three lines: the layer, engine, sizes and seed (when something was drawn from it, so the
    run can be repeated); the Keras options around the cell; the cell's functions
    (activations). A first line says where the numbers came from: which layer of which model
    file and where its input came from, or the input, weights (and their layout) and
    initial-state files."""
    spec = result.spec
    layer = f"Bidirectional({spec.keras_layer})" if spec.bidirectional else spec.keras_layer
    options = [f"return_sequences={spec.return_sequences}"]
    if spec.cell == "gru":
        options.append(f"reset_after={spec.reset_after}")
    options.append(f"use_bias={spec.use_bias}")
    if spec.backwards:
        options.append("go_backwards=True")
    if spec.bidirectional:
        options.append(f"merge_mode={spec.merge}")
    if spec.mask_value is not None:
        options.append(f"mask_value={spec.mask_value:g}")
    if spec.initial_state:
        options.append("initial_state=given")
    functions = [f"activation={spec.activation}"]
    if spec.cell != "rnn":
        functions.append(f"recurrent_activation={spec.recurrent_activation}")
    if spec.cell == "lstm" and not spec.unit_forget_bias:
        functions.append("unit_forget_bias=False")
    if spec.cell == "rnn" and spec.sources.layout == "torch":
        functions.append("(PyTorch's state dict does not record nn.RNN's nonlinearity: "
                         "--activation says it)")  # fmt: skip
    source = ""
    if spec.model is not None:
        model = spec.model
        states = spec.sources.initial_state
        states = f"; initial state {shown_name(states)}" if states else ""
        source = (f"layer {model.layer!r} of {shown_name(model.path)}; "
                  f"input: {shown_name(model.input_from)}{states}\n")  # fmt: skip
    elif files := spec.sources.words():
        source = f"{files}\n"
    seed = "" if spec.seed is None else f"  seed={spec.seed}"
    return Text(
        f"{source}{layer} on the {spec.engine} engine  T={spec.steps} D={spec.features} "
        f"M={spec.units} N={spec.batch}{seed}\n{'  '.join(options)}\n"
        f"{'  '.join(functions)}",
        style="bold",
    )


VERDICTS_PER_SEQUENCE = 4  # up to this batch size, each sequence gets its own verdict lines
TABLE_SEQUENCES = 8  # without --only, the tables (and heatmaps) show this many sequences at most
SHOWN_SEQUENCES = 5  # sequences named in a summary line before it says how many more


def verdict_line(check: StateCheck, label: bool) -> Text:
    """One sentence on one state of one sequence: the part of o it equals and the largest
    difference, or why no part does. `label` names the sequence (in a batch)."""
    where = f"n={check.sequence}: " if label else ""
    if check.equal:
        claim = (
            f"o equals {check.state}"
            if check.output == "o"
            else f"{check.state} equals {check.output}"
        )
        line = Text(f"✓ {where}{claim}; ")
        line.append(f"largest |{check.state} - {check.output}| = {check.max_abs_diff:g}")
        if check.note:
            line.append(f" ({check.note})")
        line.stylize("green", 0, 1)
        return line
    mismatch = check.max_abs_diff is not None
    line = Text(f"{'✗' if mismatch else '·'} {where}{check.state} equals no part of o: ")
    line.append(check.reason or "")
    if mismatch:
        line.stylize("bold red", 0, 1)
    return line


def summary_lines(checks: list[StateCheck]) -> list[Text]:
    """For a large batch: per state, how many sequences it equals which part of o in, and how
    many it equals none in, and why."""
    lines = []
    for state in dict.fromkeys(check.state for check in checks):
        mine = [check for check in checks if check.state == state]
        equal = Counter(check.output for check in mine if check.equal)
        unequal: dict[str, list[int]] = {}
        for check in mine:
            if not check.equal:
                unequal.setdefault(check.reason or "", []).append(check.sequence)
        mismatch = any(not c.equal and c.max_abs_diff is not None for c in mine)
        parts = [f"{output} in {count}" for output, count in equal.most_common()]
        parts += [f"none in {len(ns)} ({sequence_list(ns)}): {why}" for why, ns in unequal.items()]
        line = Text(f"{'✗' if mismatch else '✓'} {state} equals {'; '.join(parts)}")
        line.stylize("bold red" if mismatch else "green", 0, 1)
        lines.append(line)
    return lines


def sequence_list(sequences: list[int]) -> str:
    """n=1, 4, 9 (and the count of the rest beyond SHOWN_SEQUENCES)."""
    shown = ", ".join(str(n) for n in sequences[:SHOWN_SEQUENCES])
    more = len(sequences) - SHOWN_SEQUENCES
    return f"n={shown}" + (f" and {more} more" if more > 0 else "")


def note_lines(result: Result, only: int | None = None) -> list[Text]:
    """What holds in words where o does not show it: merge modes, growth, direction, masks
    (the steps skipped in sequence `only`, or in the first few), a model's unused settings."""
    spec, lines = result.spec, []
    if spec.bidirectional and spec.merge in ("sum", "mul", "ave"):
        operation = {"sum": "o_fw + o_bw", "mul": "o_fw * o_bw", "ave": "(o_fw + o_bw) / 2"}
        lines.append(
            Text(
                f"merge_mode={spec.merge}: o = {operation[spec.merge]}; h_fw is the forward "
                f"layer's state after t={spec.steps - 1}, h_bw the backward layer's after t=0"
            )
        )
    lines.extend(growth_lines(result))
    if spec.backwards:
        lines.append(
            Text(
                "go_backwards: the layer reads t from last to first and returns o in that order, "
                "so o's last row belongs to t=0"
            )
        )
    if spec.masked:
        if spec.bidirectional and spec.return_sequences:
            outputs = "o is zeros there (Bidirectional sets zero_output_for_mask)"
        else:
            outputs = "o repeats the output before them (zeros before the first)"
        which = (
            f"masked steps (every feature = {spec.mask_value:g})"
            if spec.model is None
            else f"steps masked by {spec.model.mask_from}"
        )
        lines.append(
            Text(
                f"{which} are skipped: the states carry over and {outputs}; each state equals "
                "the output of the last step its layer read without a mask"
            )
        )
        lines.extend(masked_step_lines(result, only))
    if spec.model is not None:
        lines.extend(Text(f"not applied: {note}") for note in spec.model.unused)
    return lines


def masked_step_lines(result: Result, only: int | None) -> list[Text]:
    """Per sequence (`only`, or the first few), the steps its mask skipped, as ranges."""
    lines = []
    shown = range(min(result.spec.batch, VERDICTS_PER_SEQUENCE)) if only is None else [only]
    for n in shown:
        skipped = np.flatnonzero(~result.mask[n])
        if len(skipped):
            label = f"n={n}: " if result.spec.batch > 1 else ""
            lines.append(Text(f"  {label}masked t = {step_ranges(skipped)}", style="dim"))
    return lines


def step_ranges(steps: np.ndarray) -> str:
    """Sorted steps as ranges: [0 1 2 5 7 8] -> "0..2, 5, 7..8"."""
    ranges, start = [], steps[0]
    for previous, step in zip(steps, [*steps[1:], None], strict=True):
        if step is None or step != previous + 1:
            ranges.append(f"{start}" if start == previous else f"{start}..{previous}")
            start = step
    return ", ".join(ranges)


def growth_lines(result: Result) -> list[Text]:
    """A note when an unbounded activation let the states leave tanh's range [-1, 1]."""
    activation = result.spec.activation
    name, largest = result.largest_state()
    if activation not in UNBOUNDED or largest <= 1:
        return []
    return [
        Text(
            f"{activation} does not bound the states: |{name}| reaches {largest:.4g} "
            "(tanh would keep h within ±1); over a long sequence they can keep growing"
        )
    ]


def masked_steps(result: Result, n: int) -> set[int]:
    """The input steps of sequence n that the mask skips."""
    return set() if result.mask is None else set(np.flatnonzero(~result.mask[n]).tolist())


def row_marks(checks: list[StateCheck], state: str) -> dict[int, str]:
    """{row: "= state"} for the row of o that `state` equals, if it equals one; else {}."""
    return {
        check.row: f"= {state}"
        for check in checks
        if check.state == state and check.equal and check.row is not None
    }


def last_output_mark(checks: list[StateCheck]) -> dict[int, str]:
    """The mark on the one row of o without return_sequences: the states it equals."""
    equal = {check.state for check in checks if check.equal}
    if equal == {"h"}:
        return {0: "= h"}
    if equal == {"h_fw", "h_bw"}:
        return {0: "= [h_fw, h_bw]"}
    if equal:
        (state,) = equal
        return {0: f"{'[:M]' if state == 'h_fw' else '[M:]'} = {state}"}
    return {}


def output_tables(result: Result, n: int, checks: list[StateCheck]) -> list[ArrayTable]:
    """The output of sequence n: o, or its forward and backward halves apart, rows labelled by
    the input step they belong to; the rows the states equal exactly (`checks`) are marked."""
    spec, T, M = result.spec, result.spec.steps, result.spec.units
    masked = masked_steps(result, n)

    def last_read(state: str) -> int:
        """The step whose output o holds without return_sequences, as the state's table
        names it: the last one its layer read (the last one it would have, all masked)."""
        step = result.last_step_read(n, state)
        fallback = 0 if state.endswith("_bw") else result.step_of_row(T - 1)
        return fallback if step is None else step

    if not spec.return_sequences:
        shape = f"(M',) = ({spec.output_units},)" if spec.bidirectional else f"(M,) = ({M},)"
        what = "output after the last step only (return_sequences=False)"
        if spec.merge == "none" and spec.bidirectional:
            return [
                ArrayTable(
                    f"{name}  {side} half of the {what}, (M,) = ({M},)",
                    result.outputs[name][n][None],
                    [last_read(f"h_{name[-2:]}")],
                    "u",
                    last_output_mark([c for c in checks if c.state == f"h_{name[-2:]}"]),
                )
                for name, side in (("o_fw", "forward"), ("o_bw", "backward"))
            ]
        last = last_read("h_fw" if spec.bidirectional else "h")
        mark = last_output_mark(checks)
        return [ArrayTable(f"o  {what}, {shape}", result.o[n][None], [last], "u", mark)]
    labels = result.steps_of_rows()
    notes = {labels.index(t): "masked" for t in masked}
    order = " (rows in the order the layer read them)" if spec.backwards else ""
    if not spec.bidirectional:
        title = f"o  output at every step{order}, (T, M) = ({T}, {M})"
        return [ArrayTable(title, result.o[n], labels, "u", row_marks(checks, "h"), notes=notes)]
    if spec.merge == "concat":
        halves = [("o[:, :M]", result.o[n][:, :M]), ("o[:, M:]", result.o[n][:, M:])]
    elif spec.merge == "none":
        halves = [("o_fw", result.outputs["o_fw"][n]), ("o_bw", result.outputs["o_bw"][n])]
    else:
        title = f"o  = merge_mode {spec.merge} of both halves at every step, (T, M) = ({T}, {M})"
        return [ArrayTable(title, result.o[n], labels, "u", notes=notes)]
    (fw_name, fw), (bw_name, bw) = halves
    return [
        ArrayTable(
            f"{fw_name}  forward half of o, (T, M) = ({T}, {M})",
            fw,
            labels,
            "u",
            row_marks(checks, "h_fw"),
            notes=notes,
        ),
        ArrayTable(
            f"{bw_name}  backward half of o, back in input order, (T, M) = ({T}, {M})",
            bw,
            labels,
            "u",
            row_marks(checks, "h_bw"),
            notes=notes,
        ),
    ]


STATE_TITLES = {
    "h": "final hidden state",
    "c": "final cell state (the LSTM's carry, not part of o)",
    "h_fw": "the forward layer's final hidden state (after the last step)",
    "c_fw": "the forward layer's final cell state",
    "h_bw": "the backward layer's final hidden state (it reads t=0 last)",
    "c_bw": "the backward layer's final cell state",
}


def state_tables(result: Result, n: int, checks: list[StateCheck]) -> list[ArrayTable]:
    """One single-row table per state of sequence n, in Keras's order, labelled by the input
    step the layer read last (without a mask); a state that equals a row of o says which (from
    `checks`)."""
    spec, M = result.spec, result.spec.units
    equals = {check.state: check.output for check in checks if check.equal}
    last_step = {"fw": spec.steps - 1, "bw": 0, "": result.step_of_row(spec.steps - 1)}
    tables = []
    for name, values in result.states.items():
        step = result.last_step_read(n, name)
        if step is None:  # nothing read: the step the layer would have read last
            step = last_step[name[-2:] if spec.bidirectional else ""]
        mark = {0: f"= {equals[name]}"} if name in equals else {}
        title = f"{name}  {STATE_TITLES[name]}, (M,) = ({M},)"
        tables.append(ArrayTable(title, values[n][None], [step], "u", mark))
    return tables


def sequence_tables(result: Result, n: int, checks: list[StateCheck]) -> list[ArrayTable]:
    """The tables of sequence n of the batch: x, the output, then the states."""
    spec = result.spec
    T = spec.steps
    masked = {t: "masked" for t in masked_steps(result, n)}
    x_table = ArrayTable(
        f"x  input, (T, D) = ({T}, {spec.features})",
        result.x[n],
        range(T),
        "d",
        notes=masked,
    )
    return [x_table, *output_tables(result, n, checks), *state_tables(result, n, checks)]


# What each traced quantity is ({act}: the activation, {rec}: the recurrent activation), and
# which of the two produced it, for its saturation marks.
TRACE_LEGEND: dict[str, tuple[str, str | None]] = {
    "i": ("input gate, {rec}: how much of g enters c", "rec"),
    "f": ("forget gate, {rec}: near 1 keeps c, near 0 forgets it", "rec"),
    "g": ("candidate, {act}: what may be written into c", "act"),
    "og": ("output gate, {rec}: how much of {act}(c_t) shows in h_t", "rec"),
    "c_t": ("cell state after step t: c_t = f * c_{{t-1}} + i * g", None),
    "z": ("update gate, {rec}: near 1 keeps h, near 0 takes h_hat", "rec"),
    "r": ("reset gate, {rec}: how much of h_{{t-1}} the candidate sees", "rec"),
    "h_hat": ("candidate ĥ, {act}", "act"),
    "pre_activation": ("x_t W + h_{{t-1}} U + b, before {act}", None),
    "h_t": ("hidden state after step t: the output o at t", "act"),
}
# h_t is the activation's output only in a SimpleRNN; an LSTM's and a GRU's h_t are not, so the
# activation's saturation rule does not mark them. What they are, for the trace's heading:
UNMARKED_STATE = {
    "lstm": "h_t = o * {act}(c_t) is a product, not {act}'s output: not marked",
    "gru": "h_t = z * h_{{t-1}} + (1 - z) * h_hat is a mix, not {act}'s output: not marked",
}


def trace_legend(result: Result, base: str) -> tuple[str, Saturation | None]:
    """What a traced quantity is, named with the run's activations, and its saturation rule."""
    spec = result.spec
    names = {"act": spec.activation, "rec": spec.recurrent_activation}
    meaning, producer = TRACE_LEGEND[base]
    if base == "h_t" and spec.cell in UNMARKED_STATE:
        producer = None
    saturation = SATURATION.get(names[producer]) if producer else None
    return meaning.format(**names), saturation


def trace_tables(result: Result, n: int) -> list[ArrayTable]:
    """One table per traced quantity of sequence n, rows in the order of o's (labelled by input
    step), columns units, saturation marked; the rows that are the final states say so: "= h"
    when equal exactly, "≈ h" when the state came from Keras and differs in the last bits
    (within --check's tolerance)."""
    spec, T = result.spec, result.spec.steps
    bidirectional = spec.bidirectional
    labels = range(T) if bidirectional else result.steps_of_rows()
    notes = {labels.index(t): "masked" for t in masked_steps(result, n)}
    tables = []
    for name, values in (result.gates or {}).items():
        base, side = (name[:-3], name[-2:]) if bidirectional else (name, "")
        final_row = 0 if side == "bw" else T - 1
        suffix = f"_{side}" if side else ""
        relation = result.trace_final_relation(name, n) if base in ("h_t", "c_t") else None
        final = {final_row: f"{relation} {base[0]}{suffix}"} if relation else None
        meaning, saturation = trace_legend(result, base)
        tables.append(
            ArrayTable(f"{name}  {meaning}", values[n], labels, "u", final, saturation, notes)
        )
    return tables


def trace_heading(result: Result) -> Text:
    """Says where the trace comes from and how it was checked."""
    text = Text("\nInside the cell, step by step", style="bold underline")
    engine = result.spec.engine
    if engine != "numpy" and result.cross_check is not None:
        pair = tuple(sorted((engine, "numpy"), key=ENGINE_ORDER.index))  # (numpy, torch)
        check = result.cross_check.pair(pair)
        largest, agree = check.largest.max_scaled_diff, check.agree
        text.append("\ntraced by the numpy engine on the same weights and input;", style="none")
        text.append(
            f"\n{'✓' if agree else '✗'} its outputs and states are within {largest:.3g} of "
            f"the {engine} engine's",
            style="green" if agree else "bold red",
        )
    text.append(f"\n{saturation_words(result)}", style="none")
    return text


def saturation_words(result: Result) -> str:
    """What the trace's saturation mark means for this run's activations."""
    spec = result.spec
    used = [spec.activation] if spec.cell == "rnn" else [spec.recurrent_activation, spec.activation]
    said = [SATURATION[name].words for name in dict.fromkeys(used) if name in SATURATION]
    unmarked = [name for name in dict.fromkeys(used) if name not in SATURATION]
    words = f"{SATURATED_MARK} saturated: {'; '.join(said)}" if said else ""
    if unmarked:
        never = f"{' and '.join(unmarked)} {'has' if len(unmarked) == 1 else 'have'} no flat part"
        words += f"{'; ' if words else ''}{never}: no marks there"
    if spec.cell in UNMARKED_STATE:
        words += f"; {UNMARKED_STATE[spec.cell].format(act=spec.activation)}"
    return words


def cross_check_table(result: Result) -> Group:
    """The engines against the exact answer (with --check), or pair by pair (a trace beside
    another engine), array by array, then the verdict."""
    check = result.cross_check
    if check.exact:
        return exact_check_table(check)
    table = diff_table(check.diffs, check.tolerance, "engines")
    engines = sorted({engine for pair in check.pairs for engine in pair}, key=ENGINE_ORDER.index)
    named = and_list(engines)
    if check.agree:
        verdict = Text(f"✓ {named} agree within {check.tolerance:g}", style="green")
    else:
        worst = check.largest
        verdict = Text(
            f"✗ {' and '.join(worst.engines)} differ: {worst.name}{list(worst.where)} differs "
            f"by {worst.max_scaled_diff:.3g} (scaled), beyond {check.tolerance:g}",
            style="bold red",
        )
    scale = Text("scaled: |difference| / max(1, |first engine's value|): absolute within ±1, "
                 "relative beyond")  # fmt: skip
    return Group(
        Text(f"\n{named} on the same weights and input", style="bold"), table, scale, verdict
    )


def and_list(names: list[str]) -> str:
    """a, b and c."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def diff_table(diffs, tolerance: float, first: str) -> Table:
    """One row per ArrayDiff: the engines (or the engine, `first` = "engine"), the array, its
    largest difference, scaled, where, and whether within `tolerance`."""
    table = Table(header_style="bold")
    within = f"within {tolerance:.3g}"
    for column in (first, "array", "largest |difference|", "scaled", "at index", within):
        table.add_column(column, justify="left" if column in (first, "array") else "right")
    for diff in diffs:
        ok = diff.max_scaled_diff <= tolerance
        table.add_row(
            diff.engines[1] if first == "engine" else " vs ".join(diff.engines),
            diff.name,
            f"{diff.max_abs_diff:.3g}",
            f"{diff.max_scaled_diff:.3g}",
            str(list(diff.where)),
            Text("yes" if ok else "NO", style="green" if ok else "bold red"),
        )
    return table


NO_DIGITS = 0.1  # a tolerance this large leaves float32 no digit to judge an engine by


def exact_check_table(check) -> Group:
    """--check: each engine's distance to the exact answer, what float32 reaches here, and the
    verdict naming the engines beyond it."""
    reach, tolerance = check.reach, check.tolerance
    engines = check.judged
    table = diff_table(check.exact, tolerance, "engine")
    amplification = f"×{float(f'{reach.amplification:.2g}'):g}"  # noqa: RUF001 (a times sign)
    lines = [
        Text("scaled: |difference| / max(1, |exact value|): absolute within ±1, relative "
             "beyond"),
        Text(f"float32's reach here: {reach.max_scaled_diff:.3g}, the farthest from the exact "
             f"answer of {reach.runs} float32 runs of the same equations from the input and "
             "weights moved by one rounding (the layer magnifies one rounding "
             f"{amplification}); tolerance: {REACH_SAFETY} times that, at least "
             f"{ENGINE_TOLERANCE:g}"),
    ]  # fmt: skip
    if check.agree:
        verdict = f"✓ {and_list(engines)} agree with the exact answer within {tolerance:.3g}"
        if tolerance > ENGINE_TOLERANCE:
            verdict += (
                f": this layer amplifies float32 rounding by about {amplification} on this "
                f"input, so no float32 engine can come closer than about "
                f"{reach.max_scaled_diff:.2g}"
            )
        if tolerance >= NO_DIGITS:
            verdict += "; float32 keeps no reliable digit here, so the check cannot tell a " \
                "wrong formula from rounding on this input"  # fmt: skip
        lines.append(Text(verdict, style="green"))
    else:
        parts = []
        for engine in check.differing:
            worst = check.to_exact(engine)
            parts.append(f"{worst.name}{list(worst.where)} by {worst.max_scaled_diff:.3g}")
        within = [engine for engine in engines if check.within(engine)]
        verdict = (
            f"✗ {and_list(check.differing)} {'differs' if len(check.differing) == 1 else 'differ'}"
            f" from the exact answer: {', '.join(parts)} (scaled), beyond {tolerance:.3g}, "
            "what float32 can reach here"
        )
        if within:
            verdict += f"; {and_list(within)} {'is' if len(within) == 1 else 'are'} within it"
        lines.append(Text(verdict, style="bold red"))
    title = f"\n{and_list(engines)} against the exact answer (the same equations in float64), " \
        "on the same weights and input"  # fmt: skip
    return Group(Text(title, style="bold"), table, *lines)


def shown_sequences(N: int, only: int | None) -> list[int]:
    """The sequences of a batch of N that tables and heatmaps show: `only`, or the first
    TABLE_SEQUENCES (a batch of thousands would print for minutes)."""
    return list(range(min(N, TABLE_SEQUENCES))) if only is None else [only]


def more_sequences(N: int, only: int | None) -> list[Text]:
    """A line saying which sequences shown_sequences left out, and how to see them."""
    if only is not None or N <= TABLE_SEQUENCES:
        return []
    more = N - TABLE_SEQUENCES
    which = f"{more} more sequences, n={TABLE_SEQUENCES} to {N - 1}" if more > 1 else \
        f"1 more sequence, n={TABLE_SEQUENCES}"  # fmt: skip
    return [Text(f"\n... {which}, not drawn: --only I draws sequence I; --json and --output "
                 "hold them all", style="dim")]  # fmt: skip


FULL_HINT = "--full shows all"


def render(
    result: Result,
    only: int | None = None,
    full: bool = False,
    cursor: int | None = None,
    tokens: StepTokens | None = None,
) -> Group:
    """Everything the terminal shows for a Result, as one rich renderable; `only` shows one
    sequence of the batch; `full` every unit and step of its tables (else a line under a table
    that hides some says how to see them); `cursor`: rnnstate explore's step cursor, marked on
    the row of that input step in every table of steps; `tokens` (--vocab): each step labelled
    by its token."""
    parts: list = [header(result)]
    checks = result.checks()  # measured once, for the marks and the lines under the tables
    N = result.spec.batch
    each = only is not None or N <= VERDICTS_PER_SEQUENCE  # verdicts per sequence shown
    for n in shown_sequences(N, only):
        if N > 1:
            parts.append(Text(f"\nsequence n={n} of N={N}", style="bold underline"))
        mine = [check for check in checks if check.sequence == n]
        tables = sequence_tables(result, n, mine)
        parts.extend(tables)
        if result.spec.gates:
            parts.append(trace_heading(result))
            traces = trace_tables(result, n)
            parts.extend(traces)
            tables += traces
        for table in tables:
            table.full, table.hint = full, FULL_HINT
            table.step_names = {} if tokens is None else tokens.of_sequence(n)
        if each:
            parts.extend(verdict_line(check, label=N > 1) for check in mine)
    parts.extend(more_sequences(N, only))
    if not each:
        parts.append(Text(f"\nthe states of all {N} sequences:", style="bold"))
        parts.extend(summary_lines(checks))
    parts.extend(note_lines(result, only))
    if result.spec.check:
        parts.append(cross_check_table(result))
    for part in parts:
        if isinstance(part, ArrayTable):
            part.cursor = cursor
    return Group(*parts)
