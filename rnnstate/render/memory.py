"""--memory's view: per final state, a table of the influence of every input step t (with a bar
scaled to the largest), and the memory horizon line; for one sequence. With --unit, on that unit
of each state; with --sequences, a line saying where the connectivity map is shown.

Rows are input steps t in input order; a long sequence shows its most recently read steps (those
the horizon counts from) unless --full, and says what the steps not shown hold.
"""

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from rnnstate.memory import HORIZON_SHARE, Memory
from rnnstate.vocab import StepTokens

BAR_WIDTH = 24
PARTIAL_BLOCKS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")  # 0 to 7 eighths
SHOWN_STEPS = 40  # most recently read steps shown when T is longer (all with --full)


def bar(value: float, largest: float) -> str:
    """A bar of block characters, BAR_WIDTH long at `largest`, eighths for the remainder."""
    if not largest > 0:
        return ""
    eighths = round(float(value) / largest * BAR_WIDTH * 8)
    whole, rest = divmod(eighths, 8)
    return "█" * whole + PARTIAL_BLOCKS[rest]


def state_label(name: str, unit: int | None) -> str:
    """'h', or 'h[3]' for unit 3 of h."""
    return name if unit is None else f"{name}[{unit}]"


def connectivity_formula(output: str, unit: int | None) -> str:
    """'‖∂o_t/∂x_s‖', or '‖∂o_t[3]/∂x_s‖' for unit 3."""
    return f"‖∂{output}_t{'' if unit is None else f'[{unit}]'}/∂x_s‖"


def read_backwards(name: str, backwards: bool, bidirectional: bool) -> bool:
    """Whether the state's layer (half) read the steps last to first."""
    return name.endswith("_bw") or (backwards and not bidirectional)


def horizon_line(
    name: str, memory: Memory, n: int, backwards: bool, mask: np.ndarray | None = None
) -> Text:
    """'horizon of h: the last 6 steps read (t=14..19) hold 90% of it' (masked steps not
    counted, and the span ends at the last step read that counts: mask (T,) or None; 'of h[3]'
    with a unit)."""
    steps, reach = int(memory.horizon[name][n]), int(memory.reach[name][n])
    label = state_label(name, memory.unit)
    if steps == 0:
        return Text(f"horizon of {label}: 0 steps: no step has any influence on it")
    counted = np.flatnonzero(np.ones(memory.influence[name].shape[1], bool) if mask is None
                             else mask)  # fmt: skip
    span = f"t={reach}..{counted[-1]}" if not backwards else f"t={counted[0]}..{reach}"
    plural = "step" if steps == 1 else "steps"
    share = f"{HORIZON_SHARE:.0%}"
    return Text(f"horizon of {label}: the last {steps} {plural} read ({span}) hold {share} of it")


def state_table(
    name: str,
    values: np.ndarray,
    mask: np.ndarray | None,
    backwards: bool,
    full: bool,
    step_names: dict[int, str] | None = None,
):
    """The table of one state's influence for one sequence: values (T,), mask (T,) or None;
    name: the state's label (h, or h[3] for a unit); step_names (--vocab): input step -> its
    token, shown after the step ("3 not")."""
    names = step_names or {}

    def step(t: int) -> str:
        return f"{t} {names[t]}" if t in names else str(t)

    T = len(values)
    order = list(range(T - 1, -1, -1)) if backwards else list(range(T))  # reading order
    shown = order if full or T <= SHOWN_STEPS else order[-SHOWN_STEPS:]
    hidden = sorted(set(order) - set(shown))
    largest = float(values.max()) if T else 0.0
    total = float(values.sum())
    table = Table(title=f"influence on {name}: ‖∂{name}/∂x_t‖", title_justify="left")
    table.add_column("t", justify="right")
    table.add_column("influence", justify="right")
    table.add_column("share", justify="right")
    table.add_column("", no_wrap=True)
    if hidden:
        held = float(values[hidden].sum())
        share = f"{held / total:.1%}" if total > 0 else "-"
        span = f"{hidden[0]}..{hidden[-1]}"
        table.add_row(span, f"{len(hidden)} steps", share, "read earlier; --full shows each")
    for t in sorted(shown):
        if mask is not None and not mask[t]:
            table.add_row(step(t), "0", "-", "masked: skipped, no influence")
            continue
        share = f"{values[t] / total:.1%}" if total > 0 else "-"
        table.add_row(step(t), f"{values[t]:.4g}", share, bar(values[t], largest))
    return table


def render(
    memory: Memory,
    mask: np.ndarray | None,
    n: int,
    backwards: bool,
    bidirectional: bool,
    full: bool,
    embedding: tuple[str, int] | None = None,
    tokens: StepTokens | None = None,
) -> Group:
    """Every state's influence table and horizon line for sequence n; mask (N, T) or None;
    `embedding`: the name and dimensions of the Embedding whose vectors the layer reads;
    `tokens` (--vocab): each step named by its token."""
    what = "input step" if embedding is None else "token"
    parts: list = [
        Text(
            f"memory of sequence {n}: influence of each {what} (exact, float64)",
            style="bold",
        )
    ]
    if embedding is not None:
        name, dimensions = embedding
        parts.append(
            Text(f"x_t: the vector the Embedding {name!r} gives the token at position t; its "
                 f"influence is the norm over its {dimensions} dimensions")
        )  # fmt: skip
    for name, values in memory.influence.items():
        reads_back = read_backwards(name, backwards, bidirectional)
        row_mask = None if mask is None else mask[n]
        label = state_label(name, memory.unit)
        names = None if tokens is None else tokens.of_sequence(n)
        parts.append(state_table(label, values[n], row_mask, reads_back, full, names))
        parts.append(horizon_line(name, memory, n, reads_back, row_mask))
    if memory.connectivity is not None:
        formula = connectivity_formula(", ".join(memory.connectivity), memory.unit)
        parts.append(Text(f"connectivity map {formula}: --heatmap, --plot and --json show it",
                          style="dim"))  # fmt: skip
    return Group(*parts)
