"""Rich renderables for --explain: one step of the cell with its real numbers (rnnstate.explain
computes them; this only draws)."""

import numpy as np
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from rnnstate.explain import Comparison, DotProduct, Explanation, Gate, Term
from rnnstate.render.table import format_value
from rnnstate.result import ENGINE_TOLERANCE
from rnnstate.vocab import StepTokens

SHOWN_PRODUCTS = 8  # a longer dot product shows its largest terms and sums up the rest


def ordinal(count: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    if 10 <= count % 100 <= 20:
        return f"{count}th"
    return f"{count}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(count % 10, 'th') }"


def vector(values: np.ndarray) -> str:
    """[ 0.1234 -0.5678 ] as the tables show numbers."""
    return "[" + " ".join(format_value(float(v)) for v in values) + " ]"


def heading(explanation: Explanation, tokens: StepTokens | None = None) -> Text:
    """Which step (and its token, with `tokens`), of which sequence and direction, and where it
    falls in the layer's reading."""
    e = explanation
    side = {"": "", "fw": ", forward half", "bw": ", backward half"}[e.direction]
    order = "it reads the input from its last step, so " if e.reads_backwards else ""
    token = "" if tokens is None else f" (token {tokens.token(e.sequence, e.step)!r})"
    text = Text(f"\nStep t={e.step}{token} explained: sequence n={e.sequence}{side}",
                style="bold underline")  # fmt: skip
    text.append(f"\n{order}t={e.step} is the {ordinal(e.position + 1)} step it read", style="none")
    return text


def inputs(explanation: Explanation) -> Text:
    """x_t, h_{t-1} (and c_{t-1}) with where they come from."""
    e = explanation
    lines = [
        f"x = x_t      = {vector(e.x_t)}",
        f"h = h_{{t-1}}  = {vector(e.h_prev)}  {e.previous}",
    ]
    if e.c_prev is not None:
        lines.append(f"    c_{{t-1}}  = {vector(e.c_prev)}")
    return Text("\n".join(lines))


def terms_table(terms: tuple[Term, ...], extra: list[tuple[str, np.ndarray]]) -> Table:
    """One row per unit, one column per term, then the `extra` columns (sum, value)."""
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("unit", justify="right", style="dim")
    columns = [*((term.label, term.values) for term in terms), *extra]
    for label, _ in columns:
        table.add_column(label, justify="right")
    for m in range(len(columns[0][1])):
        table.add_row(f"u{m}", *(format_value(float(values[m])) for _, values in columns))
    return table


def gate_block(gate: Gate) -> Group:
    """A gate's formula with its meaning, then its terms, argument and value per unit."""
    extra = [("= sum", gate.pre_activation), (f"{gate.activation}(sum)", gate.value)]
    return Group(
        Text(f"{gate.formula}    {gate.meaning}", style="bold"), terms_table(gate.terms, extra)
    )


def dot_line(product: DotProduct) -> Text:
    """One dot product term by term; a long one shows its largest terms and sums the rest."""
    terms = product.products
    order = np.argsort(-np.abs(terms), kind="stable")
    shown = sorted(order[:SHOWN_PRODUCTS])
    parts = [f"({format_value(product.left[k]).strip()})({format_value(product.right[k]).strip()})"
             for k in shown]  # fmt: skip
    rest = len(terms) - len(shown)
    if rest:
        others = float(terms[order[SHOWN_PRODUCTS:]].sum())
        parts.append(f"{rest} smaller terms summing to {format_value(others).strip()}")
    return Text(
        f"{product.label} = Σ {product.left_label}·{product.right_label} = "
        f"{' + '.join(parts)} = {format_value(product.total).strip()}"
    )


def comparison_line(comparison: Comparison, h_t: np.ndarray) -> Text:
    """✓ when the recomputed h_t lands on the run's value within --check's tolerance."""
    scale = max(1.0, float(np.max(np.abs(h_t))))
    ok = comparison.max_abs_diff / scale <= ENGINE_TOLERANCE
    line = Text(
        f"{'✓' if ok else '✗'} h_t recomputed here {'equals' if ok else 'does NOT equal'} "
        f"{comparison.label}: largest difference {comparison.max_abs_diff:.3g}"
    )
    line.stylize("green" if ok else "bold red", 0, 1)
    return line


def render(explanations: list[Explanation], tokens: StepTokens | None = None) -> Group:
    """Every explanation of the step, one direction after the other; the step named by its
    token with `tokens` (--vocab)."""
    parts: list = []
    for e in explanations:
        parts += [heading(e, tokens), inputs(e)]
        if e.masked:
            carried = "h_t = h_{t-1}" + (" and c_t = c_{t-1}" if e.c_prev is not None else "")
            parts.append(
                Text(f"t={e.step} is masked: the layer skipped it, so {carried}", style="bold")
            )
        for gate in e.gates:
            parts.append(gate_block(gate))
        for formula, terms in e.update:
            parts += [Text(formula, style="bold"), terms_table(terms, [])]
        if e.unit is not None and e.dot_products:
            parts.append(Text(f"unit u{e.unit}, term by term", style="bold"))
            parts += [dot_line(product) for product in e.dot_products]
        parts += [comparison_line(c, e.h_t) for c in e.comparisons]
    return Group(*parts)
