"""--summary --heatmap: the units as pictures in the terminal instead of tables. The saturation
scatter (Karpathy, Johnson and Fei-Fei 2015), one grid per gate: each unit is placed by the
fraction of steps its gate is left-saturated (across) and right-saturated (up), and a cell says
how many units fall in it. With --unit U, unit U's h_t (or --gate's) across the first sequences,
a row per sequence, time along the width, masked steps blank."""

import numpy as np
from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.segment import Segment
from rich.text import Text

from rnnstate.bins import GATE_PRODUCERS, SEQUENTIAL_ACTIVATIONS, extreme_bins, scale_centre
from rnnstate.render.heatmap import (
    CELL_WIDTH,
    DIVERGING_RAMP,
    LABEL_WIDTH,
    SEQUENTIAL_RAMP,
    background,
    colours,
    shade,
)
from rnnstate.render.summary import MEANINGS, header, nothing_counted, top_table
from rnnstate.summary import Summary, UnitStats
from rnnstate.unit_views import UnitRows, scatter_cells
from rnnstate.vocab import StepTokens

CELLS = 10  # the scatter's grid: CELLS x CELLS cells of 0.1 x 0.1
SCATTER_CELL = 4  # characters per cell: a count up to 9999
MASKED_PLAIN = "x"  # a masked step without colour (blank is a value on the 0..1 ramp)


def meaning(name: str) -> str:
    """What a traced name (maybe suffixed _fw or _bw) is: "forget gate", "hidden state", ..."""
    return MEANINGS.get(name.removesuffix("_fw").removesuffix("_bw"), "")


def count_text(count: int) -> str:
    """A cell's count: blank for none, "•" for one unit, else the number (16k for 16,000+)."""
    if count == 0:
        return ""
    if count == 1:
        return "•"
    return str(count) if count < 10_000 else f"{count // 1000}k"


def scatter_panel(stats: UnitStats) -> Text:
    """One gate's saturation scatter as a grid of text: rows the right-saturated fraction (1 at
    the top), columns the left-saturated fraction (0 at the left), the counts in the cells, and
    a dim "·" on the empty cells of the diagonal left + right = 1."""
    counts = scatter_cells(stats.left, stats.right, CELLS)
    units = len(stats.left)
    lines = [Text(f"{stats.name}  {meaning(stats.name)}, {units} units", style="bold"),
             Text("right", style="dim")]  # fmt: skip
    for row in range(CELLS):
        label = {0: "1", CELLS - 1: "0"}.get(row, "")
        line = Text(f"{label:>4}│", style="dim")
        for column in range(CELLS):
            shown = count_text(int(counts[row, column]))
            if shown:
                line.append(f"{shown:^{SCATTER_CELL}}", style="bold")
            elif column == row:  # the cell the diagonal left + right = 1 crosses
                line.append(f"{'·':^{SCATTER_CELL}}", style="dim")
            else:
                line.append(" " * SCATTER_CELL)
        lines.append(line)
    width = CELLS * SCATTER_CELL
    ticks = [" "] * (width + 1)
    for position, label in ((0, "0"), (width // 2, "0.5"), (width, "1")):
        start = min(position, width + 1 - len(label))
        ticks[start : start + len(label)] = label
    lines.append(Text("    └" + "─" * width, style="dim"))
    lines.append(Text("     " + "".join(ticks), style="dim"))
    lines.append(Text("     " + "left".rjust(width), style="dim"))
    return Text("\n").join(lines)


def scatter_legend(summary: Summary) -> Text:
    """What the grids show, the thresholds and the diagonal stated."""
    low, high = summary.thresholds.low, summary.thresholds.high
    return Text(
        f"saturation: each unit at (left, right) = the fractions of the {summary.steps} steps "
        f"counted its gate is below {low:g} (left-saturated) and above {high:g} "
        f"(right-saturated); cells of 0.1 x 0.1, • one unit, a number that many; "
        "· the diagonal left + right = 1 (saturated at every step); nothing lies above it",
        style="dim",
    )


def scatter(summary: Summary) -> Group:
    """The saturation scatter of every gate, side by side as the width allows, or a line
    saying the cell has none, or that no step was counted (every step masked)."""
    gates = [stats for stats in summary.stats.values() if stats.gate]
    if not gates:
        return Group(Text(f"a {summary.spec.keras_layer} has no gates: no saturation scatter "
                          "(--unit U draws a unit across sequences)"))  # fmt: skip
    if summary.steps == 0:
        return Group(Text(f"no saturation scatter: {nothing_counted(summary)}"))
    panels = Columns([scatter_panel(stats) for stats in gates], padding=(1, 3))
    return Group(scatter_legend(summary), panels)


def on_unit_scale(summary: Summary, name: str) -> bool:
    """Whether traced `name` lies in [0, 1]: a gate of a sigmoid-like recurrent activation."""
    base = name.removesuffix("_fw").removesuffix("_bw")
    rec = summary.spec.recurrent_activation in SEQUENTIAL_ACTIVATIONS
    return base in GATE_PRODUCERS and rec


class AcrossMap:
    """One unit's values (K, T), NaN where masked, as a heatmap with a row per sequence."""

    def __init__(self, title: str, values: np.ndarray, sequential: bool) -> None:
        self.title, self.values, self.sequential = title, values, sequential

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows, T = self.values.shape
        centre = scale_centre(self.sequential)
        masked = np.isnan(self.values)
        filled = np.where(masked, centre, self.values)  # the centre is never picked over a value
        binned, per_column = extreme_bins(filled, options.max_width - LABEL_WIDTH, 1, centre)
        # a bin is blank only when every step in it is masked
        all_masked = extreme_bins(masked.astype(np.float64), binned.shape[1], 1, 1.0)[0] == 1.0
        cell = max(1, min(CELL_WIDTH, (options.max_width - LABEL_WIDTH) // max(1, binned.shape[1])))
        known = np.abs(self.values[~masked])
        limit = 1.0 if self.sequential else float(known.max()) if known.size else 1.0
        limit = limit or 1.0
        plain = console.no_color or console.color_system is None
        yield Text(self.title, style="bold")
        yield Text(self.describe(per_column, limit, plain), style="dim")
        yield self.axis(binned.shape[1], per_column, cell, T)
        for r in range(rows):
            yield Segment(f"n{r}".ljust(LABEL_WIDTH))
            row, blank = binned[r].tolist(), all_masked[r].tolist()
            if plain:
                yield Segment("".join((MASKED_PLAIN if b else shade(v, limit, self.sequential))
                                      * cell for v, b in zip(row, blank, strict=True)))  # fmt: skip
            else:
                rgbs = colours(np.asarray(row), limit, self.sequential).tolist()
                for rgb, b in zip(rgbs, blank, strict=True):
                    yield Segment(" " * cell) if b else Segment(" " * cell, background(tuple(rgb)))
            yield Segment.line()

    def describe(self, per_column: int, limit: float, plain: bool) -> str:
        """What the rows, columns, shades and blanks mean."""
        columns = f"{per_column} steps per column" if per_column > 1 else "1 step per column"
        if per_column > 1:
            columns += f" (each cell: the value furthest from {scale_centre(self.sequential):g})"
        if self.sequential:
            ends = f"0 ({SEQUENTIAL_RAMP[0]!r}) ... 1 ({SEQUENTIAL_RAMP[-1]!r})" if plain else \
                "0 (purple) ... 1 (yellow)"  # fmt: skip
        elif plain:
            ramp = DIVERGING_RAMP
            ends = f"{-limit:.3g} ('{ramp[0]}') ... 0 ('{ramp[2]}') ... {limit:.3g} ('{ramp[-1]}')"
        else:
            ends = f"{-limit:.3g} (blue) ... 0 (white) ... {limit:.3g} (red)"
        blank = f"{MASKED_PLAIN!r}" if plain else "blank"
        return f"rows: sequences n; columns: input steps t, {columns}; scale {ends}; " \
               f"{blank}: masked"  # fmt: skip

    def axis(self, columns: int, per_column: int, cell: int, T: int) -> Text:
        """Step labels above the map, about every ten characters."""
        line = [" "] * (columns * cell)
        every = max(1, -(-10 // cell))
        for c in range(0, columns, every):
            label = str(min(c * per_column, T - 1))
            if c * cell + len(label) > len(line):
                break
            line[c * cell : c * cell + len(label)] = label
        return Text("t".ljust(LABEL_WIDTH) + "".join(line), style="dim")


def across_title(summary: Summary, rows: UnitRows, name: str) -> str:
    """The across view's title: the quantity, the unit, and which sequences are shown."""
    kept, N = rows.kept, summary.sequences
    which = f"all {N} sequences" if kept == N else f"the first {kept} of N={N} sequences"
    what = meaning(name)
    return f"{name}{f' ({what})' if what else ''} of unit {rows.unit} across {which}"


def across(summary: Summary) -> list[AcrossMap]:
    """The across-sequences heatmaps (one per half on a bidirectional layer)."""
    rows = summary.across
    return [AcrossMap(across_title(summary, rows, name), rows.values(name),
                      on_unit_scale(summary, name)) for name in rows.names]  # fmt: skip


def render(summary: Summary, tokens: StepTokens | None = None) -> Group:
    """Everything --summary --heatmap shows: the header, the saturation scatter, the unit
    across sequences (with --unit), the top places (with --top; their steps labelled by
    `tokens`, --vocab, if given)."""
    parts: list = [header(summary), scatter(summary)]
    if summary.across is not None:
        parts.extend(across(summary))
    if summary.top is not None:
        parts.append(top_table(summary.top, tokens))
    return Group(*parts)
