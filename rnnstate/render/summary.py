"""A Summary (rnnstate.summary) as rich tables, one per traced quantity with the units as rows,
and as the --json document's "summary" object."""

from collections.abc import Iterator

import numpy as np
import orjson
from rich.console import Group
from rich.table import Table
from rich.text import Text

from rnnstate.errors import shown_name
from rnnstate.render.table import format_value
from rnnstate.summary import Summary, TopPlaces, UnitStats
from rnnstate.unit_views import UnitRows
from rnnstate.vocab import StepTokens

# What each traced name is, for the table titles.
MEANINGS = {
    "h_t": "hidden state", "c_t": "cell state", "i": "input gate", "f": "forget gate",
    "g": "candidate", "og": "output gate", "z": "update gate", "r": "reset gate",
    "h_hat": "candidate", "pre_activation": "before the activation",
}  # fmt: skip
TOP_TOKEN_WIDTH = 8  # a token under a value in the --top table: as wide as the value


def header(summary: Summary) -> Text:
    """The layer, engine and sizes; where the sequences came from; the steps counted (and
    masked); the saturation thresholds when the cell has gates."""
    spec = summary.spec
    layer = f"Bidirectional({spec.keras_layer})" if spec.bidirectional else spec.keras_layer
    lines = [f"{layer} on the {spec.engine} engine  T={spec.steps} D={spec.features} "
             f"M={spec.units} N={summary.sequences}"]  # fmt: skip
    given = spec.sources.input
    source = f"input {shown_name(given)}" if given else f"drawn from seed {spec.seed}"
    if spec.model is not None:
        lines.append(f"layer {shown_name(spec.model.layer)} of {shown_name(spec.model.path)}; "
                     f"input: {shown_name(spec.model.input_from)}")  # fmt: skip
    lines.append(f"{counts(summary.sequences, 'sequence')} ({source}) in batches of "
                 f"{summary.batch_size}")  # fmt: skip
    counted = f"{counts(summary.steps, 'step')} counted"
    if spec.mask_value is not None:
        counted += f", {summary.masked} masked (mask_value={spec.mask_value:g}) left out"
    elif spec.model is not None and spec.model.mask_from is not None:
        counted += f", {summary.masked} masked by {shown_name(spec.model.mask_from)} left out"
    lines.append(counted)
    if summary.steps == 0:
        lines.append(f"{nothing_counted(summary)}: no statistic can be taken (n/a)")
    if any(stats.gate for stats in summary.stats.values()):
        low, high = summary.thresholds.low, summary.thresholds.high
        lines.append(f"a gate is left-saturated below {low:g}, right-saturated above {high:g}")
    return Text("\n".join(lines))


def nothing_counted(summary: Summary) -> str:
    """Why a summary of no counted step has no numbers: "no step was counted (all 15 steps,
    3 sequences x T=5, are masked)"."""
    T = summary.spec.steps
    return (f"no step was counted (all {counts(summary.sequences * T, 'step')}, "
            f"{counts(summary.sequences, 'sequence')} x T={T}, are masked)")  # fmt: skip


def counts(count: int, noun: str) -> str:
    """"1 step", "2 steps"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def percent(fraction: float) -> str:
    """A fraction of steps as a percentage with one decimal; "<0.1%" for a few steps that would
    round to 0, ">99.9%" for all but a few; "n/a" with no step counted."""
    if not np.isfinite(fraction):
        return "n/a"
    if 0 < fraction < 0.0005:
        return "<0.1%"
    if 0.9995 <= fraction < 1:
        return ">99.9%"
    return f"{100 * fraction:.1f}%"


def number(value: float) -> str:
    """A statistic as the run tables show a value; "n/a" (NaN) when no step was counted."""
    return "n/a" if np.isnan(value) else format_value(value)


def flags(stats: UnitStats, unit: int) -> str:
    """"dead" (exactly 0 at every step), "saturated" (a gate saturated at every step), or ""."""
    words = ["dead"] if stats.dead[unit] else []
    if stats.saturated is not None and stats.saturated[unit]:
        words.append("saturated")
    return ", ".join(words)


def order(stats: UnitStats, sort: str) -> list[int]:
    """The units in the order the table lists them: by `sort`, largest first (stable), or by
    unit number for "unit" and for a column this quantity has not (left and right off gates)."""
    values = stats.column(sort)
    if sort == "unit" or values is None:
        return list(range(len(stats.mean)))
    return [int(u) for u in np.argsort(-values, kind="stable")]


def quantity_table(stats: UnitStats, sort: str) -> Table:
    """One quantity's table: a row per unit with mean, std, min, max, the share of steps at
    exactly 0, for a gate the shares left- and right-saturated, and the flags."""
    meaning = MEANINGS.get(stats.name.removesuffix("_fw").removesuffix("_bw"), "")
    table = Table(title=f"{stats.name}: {meaning}" if meaning else stats.name, title_justify="left")
    columns = ["unit", "mean", "std", "min", "max", "zeros"]
    if stats.gate:
        columns += ["left", "right"]
    for column in [*columns, "flags"]:
        table.add_column(column, justify="left" if column == "flags" else "right")
    for unit in order(stats, sort):
        row = [str(unit)] + [number(float(a[unit])) for a in
                             (stats.mean, stats.std, stats.minimum, stats.maximum)]  # fmt: skip
        row.append(percent(stats.zeros[unit]))
        if stats.gate:
            row += [percent(stats.left[unit]), percent(stats.right[unit])]
        table.add_row(*row, flags(stats, unit))
    return table


def top_table(top: TopPlaces, tokens: StepTokens | None = None) -> Table | Text:
    """The K places where the unit is largest, largest first: the sequence, the input step t,
    the value, and the values at the counted steps around it (t-2 to t+2; blank where the
    sequence ends or the step is masked). With `tokens` (--vocab), a dim row under each place
    gives the token of each of those steps, under its value. With no step counted (every step
    masked), a line that says so."""
    if not top.places:
        return Text(f"{top.name} of unit {top.unit}: no step counted, so no place to rank")
    table = Table(title=f"{top.name} of unit {top.unit}: the {len(top.places)} largest",
                  title_justify="left")  # fmt: skip
    offsets = range(-top.AROUND, top.AROUND + 1)
    for column in ["rank", "sequence", "t", *(f"t{o:+d}" if o else "at t" for o in offsets)]:
        table.add_column(column, justify="right")
    for rank, place in enumerate(top.places, 1):
        around = [place.around.get(place.step + o) for o in offsets]
        table.add_row(str(rank), str(place.sequence), str(place.step),
                      *("" if v is None else format_value(v) for v in around))  # fmt: skip
        if tokens is not None:
            T = tokens.ids.shape[1]
            words = [tokens.token(place.sequence, place.step + o, TOP_TOKEN_WIDTH)
                     if 0 <= place.step + o < T else "" for o in offsets]  # fmt: skip
            table.add_row("", "", "", *(Text(w) for w in words), style="dim")
    return table


def render(summary: Summary, sort: str = "unit", tokens: StepTokens | None = None) -> Group:
    """The header, a table per traced quantity in the trace's order, then the top places (their
    steps labelled by `tokens`, --vocab, if given)."""
    tables = [quantity_table(s, sort) for s in summary.stats.values()]
    if summary.top is not None:
        tables.append(top_table(summary.top, tokens))
    return Group(header(summary), *tables)


def summary_document(summary: Summary, tokens: StepTokens | None = None) -> dict:
    """The "summary" object of the --json document (docs/json.md): float64 statistics per
    quantity, each a list over the M units; the top places and the unit across sequences when
    kept; with `tokens` (--vocab) the tokens of their steps."""
    quantities = {}
    for name, stats in summary.stats.items():
        entry = {
            "gate": stats.gate, "mean": stats.mean, "std": stats.std, "min": stats.minimum,
            "max": stats.maximum, "zeros": stats.zeros, "dead": stats.dead,
        }  # fmt: skip
        if stats.gate:
            entry |= {"left": stats.left, "right": stats.right, "saturated": stats.saturated}
        quantities[name] = entry
    document = {
        "sequences": summary.sequences,
        "steps_counted": summary.steps,
        "steps_masked": summary.masked,
        "batch_size": summary.batch_size,
        "thresholds": {
            "left_below": summary.thresholds.low,
            "right_above": summary.thresholds.high,
        },
        "units": quantities,
    }
    if summary.top is not None:
        top = summary.top
        document["top"] = {"quantity": top.name, "unit": top.unit, "places": [
            {"sequence": p.sequence, "step": p.step, "value": p.value,
             "around": {str(t): v for t, v in p.around.items()}} for p in top.places]}  # fmt: skip
        if tokens is not None:
            for place, entry in zip(top.places, document["top"]["places"], strict=True):
                entry["tokens"] = place_tokens(tokens, place, top.AROUND)
    if summary.across is not None:
        document["across"] = across_document(summary.across, tokens)
    return document


def across_document(rows: UnitRows, tokens: StepTokens | None = None) -> dict:
    """The "across" object: unit U's values in the first K sequences by traced name, each
    (K, T) in input order, NaN (null in the JSON) at masked steps; with `tokens` (--vocab) the
    whole token at each of those steps, (K, T)."""
    both = len(rows.names) > 1  # a bidirectional layer's two halves
    entry = {
        "unit": rows.unit,
        "quantity": rows.names[0].removesuffix("_fw") if both else rows.names[0],
        "sequences": list(range(rows.kept)),
        "values": {name: rows.values(name) for name in rows.names},
    }
    if tokens is not None:
        entry["tokens"] = [[tokens.tokens[int(i)] for i in tokens.ids[n]] for n in range(rows.kept)]
    return entry


def place_tokens(tokens: StepTokens, place, around: int) -> dict[str, str]:
    """The tokens, whole, of the steps from t-around to t+around of a top place's sequence
    (the sequence's steps only), keyed by step number as a string."""
    T = tokens.ids.shape[1]
    steps = range(max(0, place.step - around), min(T, place.step + around + 1))
    return {str(t): tokens.tokens[int(tokens.ids[place.sequence, t])] for t in steps}


def document(summary: Summary, tokens: StepTokens | None = None) -> dict:
    """The whole --json document of a --summary run (the top places' tokens with `tokens`)."""
    from rnnstate.render.json import SCHEMA, versions

    spec = summary.spec
    return {
        "schema": SCHEMA,
        "cell": spec.cell,
        "engine": spec.engine,
        "config": spec.config(),
        "versions": versions(spec.engine),
        "summary": summary_document(summary, tokens),
    }


def pieces(summary: Summary, tokens: StepTokens | None = None) -> Iterator[bytes]:
    """The --json document as bytes, with a final newline (NaN, for no step counted: null);
    the top places' tokens with `tokens` (--vocab)."""
    options = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
    yield orjson.dumps(document(summary, tokens), option=options)
