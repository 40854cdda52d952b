"""--heatmap with --memory: the influence of every input step on the final states, one row per
state, and with --sequences the connectivity map ‖∂o_t/∂x_s‖ (a row per output step t, a column
per input step s); for one sequence.

Colours are on a log scale, one per map: from the largest value down DECADES decades (or to the
smallest non-zero value, if nearer); smaller values and zeros (masked steps, and steps an output
cannot depend on) take the lowest colour. A bin of steps shows its largest value, so one step
that matters is never hidden by the steps around it. The conventions (labels, binning, ramps
without colour) are the run's heatmap's (rnnstate.render.heatmap).
"""

import numpy as np
from rich.console import Console, ConsoleOptions, Group
from rich.text import Text

from rnnstate.memory import Memory
from rnnstate.render.heatmap import SEQUENTIAL_RAMP, Heatmap
from rnnstate.render.memory import (
    connectivity_formula,
    horizon_line,
    read_backwards,
    state_label,
)
from rnnstate.spec import Spec
from rnnstate.vocab import StepTokens

DECADES = 6  # the colour scale's depth below the largest value


def log_scale(values: np.ndarray) -> tuple[float, float]:
    """(bottom, top) of the colour scale of `values` (>= 0): top the largest, bottom DECADES
    decades below it or the smallest non-zero value if nearer; (1, 1) when all are zero."""
    positive = values[values > 0]
    if positive.size == 0:
        return 1.0, 1.0
    top = float(positive.max())
    return max(float(positive.min()), top * 10.0**-DECADES), top


def log_positions(values: np.ndarray, bottom: float, top: float) -> np.ndarray:
    """Where each value lies on the log scale from bottom (0) to top (1); 0 for a zero."""
    if not top > bottom:
        return np.where(values > 0, 1.0, 0.0)
    logs = np.log10(np.maximum(values, bottom))
    positions = (logs - np.log10(bottom)) / (np.log10(top) - np.log10(bottom))
    return np.where(values > 0, np.clip(positions, 0.0, 1.0), 0.0)


class LogHeatmap(Heatmap):
    """A titled (rows, T) heatmap of values >= 0 on a log colour scale; `labels` name the rows,
    `rows` says what they are, `column` names the columns' step (t or s)."""

    def __init__(self, title, values, labels, rows, column="t", masked=()):  # fmt: skip
        self.bottom, self.top = log_scale(values)
        positions = log_positions(values, self.bottom, self.top)
        super().__init__(title, positions, list(range(values.shape[1])), "", sequential=True,
                         masked=masked)  # fmt: skip
        self.labels, self.rows, self.column = labels, rows, column

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        for part in super().__rich_console__(console, options):
            if isinstance(part, Text) and part.plain.startswith("t "):  # the axis: name the step
                part = Text(self.column + part.plain[1:], style=part.style)
            yield part

    def bin_centre(self) -> float:
        """0: positions are >= 0, so a bin shows its largest."""
        return 0.0

    def row_label(self, r: int, per_row: int) -> str:
        """The label of the first row in binned row r."""
        return self.labels[r * per_row]

    def describe(self, per_column: int, per_row: int, limit: float, plain: bool) -> str:
        """What the rows, columns and colours mean, and the binning."""
        cells = f"{per_column} steps per column" if per_column > 1 else "1 step per column"
        if per_row > 1:
            cells += f", {per_row} rows per row"
        if per_column > 1 or per_row > 1:
            cells += " (each cell: the largest of its values)"
        ramp = (repr(SEQUENTIAL_RAMP[0]), repr(SEQUENTIAL_RAMP[-1]))
        low, high = ramp if plain else ("purple", "yellow")
        scale = f"log scale {self.bottom:.2g} ({low}) ... {self.top:.3g} ({high}), 0: {low}"
        return f"rows: {self.rows}; columns: input steps {self.column}, {cells}; {scale}"


def render(memory: Memory, spec: Spec, mask: np.ndarray | None, n: int,
           tokens: StepTokens | None = None) -> Group:  # fmt: skip
    """Sequence n's influence map, horizon lines and connectivity maps; mask (N, T) or None;
    `tokens` (--vocab): each step's token under the step labels of the influence map."""
    masked = [] if mask is None else [int(t) for t in np.flatnonzero(~mask[n])]
    names = list(memory.influence)
    formula = f"‖∂s{'' if memory.unit is None else f'[{memory.unit}]'}/∂x_t‖"
    rows = "final states" if memory.unit is None else f"unit {memory.unit} of each final state"
    influence = np.stack([memory.influence[name][n] for name in names])
    states = LogHeatmap(f"influence {formula} on each final state s", influence, names, rows,
                        masked=masked)  # fmt: skip
    states.step_names = {} if tokens is None else tokens.of_sequence(n)
    parts: list = [
        Text(f"memory of sequence {n}: influence of each input step (exact, float64)",
             style="bold"),
        states,
    ]  # fmt: skip
    for name in names:
        backwards = read_backwards(name, spec.backwards, spec.bidirectional)
        parts.append(horizon_line(name, memory, n, backwards, None if mask is None else mask[n]))
    for output, values in (memory.connectivity or {}).items():
        label = state_label(output, memory.unit)
        parts.append(LogHeatmap(
            f"connectivity map of {output}: {connectivity_formula(output, memory.unit)}, row t, "
            "column s", values[n], [f"t={t}" if t < 1000 else str(t) for t in range(spec.steps)],
            f"output steps t ({label} given on reading x_t)", "s", masked))  # fmt: skip
    return Group(*parts)
