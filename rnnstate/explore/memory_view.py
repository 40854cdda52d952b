"""explore's memory view: the influence of every input step on the final states (rnnstate.memory,
as --memory shows it), a bar per step, following the step cursor: the step under the cursor is
marked, with its influence, its share and whether it is inside the memory horizon.

The influence is always rnnstate.memory's: exact backpropagation in numpy float64 from the exact
engine's trace, whichever engine explore shows the states of. It is computed once per result
(in the thread that draws the view) and kept for the cursor's moves.
"""

import threading

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from rnnstate import memory
from rnnstate.budget import estimate_bytes
from rnnstate.errors import SpecError
from rnnstate.render.memory import bar, horizon_line, read_backwards
from rnnstate.render.table import CURSOR_MARK, CURSOR_STYLE
from rnnstate.result import Result

AROUND = 12  # steps shown on each side of the cursor when T is longer than SHOWN
SHOWN = 2 * AROUND + 1


class Computed:
    """The influence of the latest result drawn (memory.Memory), or why there is none (str)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.result: Result | None = None
        self.found: memory.Memory | str = ""

    def of(self, result: Result) -> memory.Memory | str:
        """The influence of every step of `result` on its final states, or why it cannot be
        computed (an activation not differentiated, more memory than there is)."""
        with self.lock:  # a second drawing of the same result waits for the first's answer
            if self.result is not result:
                self.result, self.found = result, influence(result)
            return self.found


def influence(
    result: Result, connectivity: bool = False, saved: bool = False
) -> memory.Memory | str:
    """memory.memory of the run of `result` (with the connectivity map when asked; `saved`:
    for an --output file), or the reason it is refused, in words."""
    spec = result.spec
    try:
        memory.ensure_fits(spec, estimate_bytes(spec), connectivity=connectivity, saved=saved)
        return memory.memory(spec, result.x, result.weights, result.initial_state, result.mask,
                             connectivity=connectivity)  # fmt: skip
    except SpecError as error:
        return str(error)


COMPUTED = Computed()


def render(result: Result, step: int, sequence: int):
    """The memory view of sequence `sequence` of `result`, the step cursor at input step `step`:
    per final state, the cursor's step in words, a table of every step's influence with a bar
    (the steps around the cursor when T is long), and the horizon line."""
    found = COMPUTED.of(result)
    title = Text(f"memory of sequence n={sequence}: the influence ‖∂s/∂x_t‖ of each input step "
                 "on the final states (exact, numpy float64, whatever the engine)",
                 style="bold")  # fmt: skip
    if isinstance(found, str):
        return Group(title, Text(f"The influence cannot be computed: {found}"))
    mask = None if result.mask is None else np.asarray(result.mask[sequence], bool)
    spec = result.spec
    parts: list = [title]
    for name, values in found.influence.items():
        backwards = read_backwards(name, spec.backwards, spec.bidirectional)
        parts.append(at_cursor(name, values[sequence], found, sequence, step, mask, backwards))
        parts.append(state_table(name, values[sequence], mask, step, found.reach[name][sequence],
                                 backwards))  # fmt: skip
        parts.append(horizon_line(name, found, sequence, backwards, mask))
    return Group(*parts)


def inside(t: int, reach: int, backwards: bool) -> bool:
    """Whether input step t is among the steps a horizon reaching back to `reach` counts."""
    if reach < 0:
        return False
    return t <= reach if backwards else t >= reach


def at_cursor(name: str, values: np.ndarray, found: memory.Memory, n: int, step: int,
              mask: np.ndarray | None, backwards: bool) -> Text:  # fmt: skip
    """The cursor's step on state `name` in words: 'step t=3 on h: 0.0123, 4.5% of the total,
    inside the horizon (the last 6 steps read)'; values (T,), mask (T,) or None."""
    if mask is not None and not mask[step]:
        return Text(f"step t={step} on {name}: masked: skipped, no influence", style="bold")
    total = float(values.sum())
    share = f", {values[step] / total:.1%} of the total" if total > 0 else ""
    where = "inside" if inside(step, int(found.reach[name][n]), backwards) else "outside"
    steps = int(found.horizon[name][n])
    return Text(f"step t={step} on {name}: {values[step]:.4g}{share}, {where} the horizon "
                f"(the last {steps} {'step' if steps == 1 else 'steps'} read)",
                style="bold")  # fmt: skip


def shown_steps(T: int, step: int) -> range:
    """The steps the table shows: all of them up to SHOWN, else SHOWN steps around `step`."""
    if T <= SHOWN:
        return range(T)
    first = min(max(0, step - AROUND), T - SHOWN)
    return range(first, first + SHOWN)


def state_table(name: str, values: np.ndarray, mask: np.ndarray | None, step: int, reach: int,
                backwards: bool) -> Table:  # fmt: skip
    """One state's influence for one sequence, a row per step t shown, the cursor's marked:
    values (T,), mask (T,) or None; `reach`: the earliest step inside the horizon (-1: none)."""
    T = len(values)
    largest, total = float(values.max()), float(values.sum())
    table = Table(title=f"influence on {name}: ‖∂{name}/∂x_t‖", title_justify="left")
    for header, justify in (("t", "right"), ("influence", "right"), ("share", "right"),
                            ("horizon", "center"), ("", "left")):  # fmt: skip
        table.add_column(header, justify=justify, no_wrap=True)
    steps = shown_steps(T, step)
    if steps.start > 0:
        table.add_row(*summary(values, range(steps.start), total))
    for t in steps:
        label = Text(f"{CURSOR_MARK} {t}", style=CURSOR_STYLE) if t == step else f"  {t}"
        if mask is not None and not mask[t]:
            table.add_row(label, "0", "-", "", "masked: skipped, no influence")
            continue
        share = f"{values[t] / total:.1%}" if total > 0 else "-"
        held = "●" if inside(t, reach, backwards) else ""
        style = CURSOR_STYLE if t == step else None
        table.add_row(label, f"{values[t]:.4g}", share, held, bar(values[t], largest),
                      style=style)  # fmt: skip
    if steps.stop < T:
        table.add_row(*summary(values, range(steps.stop, T), total))
    return table


def summary(values: np.ndarray, steps: range, total: float) -> list[str]:
    """The row of the steps not shown on one side of the cursor: their span, count and share."""
    share = f"{values[steps.start : steps.stop].sum() / total:.1%}" if total > 0 else "-"
    return [f"{steps.start}..{steps.stop - 1}", f"{len(steps)} steps", share, "",
            "not shown: move the cursor (←/→)"]  # fmt: skip
