"""--memory with --check: the influence worked out three ways, as a table of each way's largest
relative difference from the exact backpropagation per state, how each way computed it, the ways
that could not run and why, and the verdict.
"""

from rich.console import Group
from rich.table import Table
from rich.text import Text

from rnnstate.memory_check import RELATIVE, GradientCheck
from rnnstate.render.table import and_list

WAY_NAMES = {"keras": "Keras's GradientTape", "torch": "torch autograd"}


def verdict(check: GradientCheck) -> Text:
    """✓ the ways agree within the tolerance, or ✗ naming each way that differs and where."""
    tolerance = f"{check.tolerance:g}"
    if check.agree:
        ways = and_list(["the exact backpropagation"] + [WAY_NAMES[way] for way in check.ways])
        return Text(f"✓ {ways} agree on the influence within {tolerance} (relative)",
                    style="green")  # fmt: skip
    parts = []
    for way in check.differing:
        worst = max((d for d in check.diffs if d.way == way), key=lambda d: d.max_rel_diff)
        n, t = worst.where
        parts.append(f"{WAY_NAMES[way]} on {worst.state} at n={n}, t={t} by "
                     f"{worst.max_rel_diff:.3g}")  # fmt: skip
    return Text(f"✗ the influence differs from the exact backpropagation: {'; '.join(parts)} "
                f"(relative), beyond {tolerance}", style="bold red")  # fmt: skip


def render(check: GradientCheck) -> Group:
    """The table of every way and state, the ways in words, the ones skipped, the verdict."""
    table = Table(header_style="bold")
    within = f"within {check.tolerance:g}"
    for column in ("way", "state", "largest relative difference", "at", within):
        table.add_column(column, justify="left" if column in ("way", "state") else "right")
    for diff in check.diffs:
        ok = diff.max_rel_diff <= check.tolerance
        n, t = diff.where
        state = diff.state if check.unit is None else f"{diff.state}[{check.unit}]"
        table.add_row(diff.way, state, f"{diff.max_rel_diff:.3g}", f"n={n}, t={t}",
                      Text("yes" if ok else "NO", style="green" if ok else "bold red"))  # fmt: skip
    lines = [f"{way}: {method}" for way, method in check.methods.items()]
    lines += [f"{way}: not run: {why}" for way, why in check.skipped.items()]
    lines.append(f"relative difference: {RELATIVE}")
    title = "\nthe influence checked against the exact backpropagation (float64)"
    return Group(Text(title, style="bold"), table, *(Text(line) for line in lines), verdict(check))
