"""The --json document (schema rnnstate/3, documented in docs/json.md), serialised by orjson.

orjson writes numpy float32 values in their shortest float32 form ("0.1", not "0.10000000149").
Long arrays are written in pieces, so a long run's text is never in memory whole.
"""

from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import orjson

from rnnstate.explain import Explanation
from rnnstate.memory import DEFINITION, HORIZON_SHARE, Memory
from rnnstate.memory_check import RELATIVE, GradientCheck
from rnnstate.result import REACH_SAFETY, CrossCheck, Result

SCHEMA = "rnnstate/3"


def package_version(name: str) -> str | None:
    """The installed version of a distribution, without importing it; None if absent."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def versions(engine: str) -> dict[str, str | None]:
    """Versions of what computed the result: tensorflow and keras on the keras engine (else
    null), and torch on the torch engine."""
    from rnnstate import __version__

    uses_keras = engine == "keras"
    found = {
        "rnnstate": __version__,
        "numpy": np.__version__,
        "tensorflow": package_version("tensorflow") if uses_keras else None,
        "keras": package_version("keras") if uses_keras else None,
    }
    if engine == "torch":
        found["torch"] = package_version("torch")
    return found


def document(result: Result, explanations: list[Explanation] | None = None) -> dict:
    """The JSON document as a dict of plain values and float32 arrays (Keras's shapes), with
    the explained step under "explain" when given."""
    spec = result.spec
    checks = result.checks()
    arrays = {"x": result.x, **result.outputs, **result.states}
    document = {
        "schema": SCHEMA,
        "cell": spec.cell,
        "engine": spec.engine,
        "config": spec.config(),
        "versions": versions(spec.engine),
        **{name: np.ascontiguousarray(a, dtype=written(spec, name)) for name, a in arrays.items()},
        "checks": {
            "all_equal": all(check.equal for check in checks),
            "last_o_step": None if spec.bidirectional else result.step_of_row(spec.steps - 1),
            "states": [
                {
                    "state": c.state,
                    "sequence": c.sequence,
                    "equals": c.output,
                    "step": c.step,
                    "max_abs_diff": c.max_abs_diff,
                    "reason": c.reason,
                }
                for c in checks
            ],
        },
    }
    document["weights"] = {
        name: np.ascontiguousarray(a, dtype=np.float32)
        for name, a in result.weights.named().items()
    }
    if result.mask is not None:
        document["masked_steps"] = ~result.mask
    if result.initial_state is not None:
        document["initial_state"] = {
            name: np.ascontiguousarray(a, dtype=np.float32)
            for name, a in result.initial_state.items()
        }
    if result.spec.gates:
        document["gates"] = {name: np.ascontiguousarray(a) for name, a in result.gates.items()}
    if result.cross_check is not None:
        document["cross_check"] = cross_check_document(result.cross_check)
    if explanations is not None:
        document["explain"] = [explanation_document(e) for e in explanations]
    return document


def explanation_document(e: Explanation) -> dict:
    """One explained step: every term by name, float64 arrays over the units."""
    return {
        "direction": e.direction or None,
        "sequence": e.sequence,
        "step": e.step,
        "position": e.position,
        "masked": e.masked,
        "x_t": e.x_t,
        "h_prev": e.h_prev,
        "c_prev": e.c_prev,
        "previous": e.previous,
        "gates": [
            {
                "name": gate.name,
                "formula": gate.formula,
                "activation": gate.activation,
                "terms": {term.label: term.values for term in gate.terms},
                "argument": gate.pre_activation,
                "value": gate.value,
            }
            for gate in e.gates
        ],
        "update": [
            {"formula": formula, "terms": {term.label: term.values for term in terms}}
            for formula, terms in e.update
        ],
        "h_t": e.h_t,
        "c_t": e.c_t,
        "comparisons": {c.label: c.max_abs_diff for c in e.comparisons},
        "unit": e.unit,
        "dot_products": [
            {
                "label": p.label,
                "left": p.left,
                "right": p.right,
                "products": p.products,
                "total": p.total,
            }
            for p in e.dot_products
        ],
    }


def cross_check_document(check: CrossCheck) -> dict:
    """The engines compared pair by pair: per output and state, the largest difference, the
    largest scaled by max(1, |first engine's value|) (what the tolerance bounds) and its index."""
    pairs = []
    for engines in check.pairs:
        diffs = check.pair(engines).diffs
        pairs.append(
            {
                "engines": list(engines),
                "agree": check.pair(engines).agree,
                "max_abs_diff": {diff.name: diff.max_abs_diff for diff in diffs},
                "max_scaled_diff": {diff.name: diff.max_scaled_diff for diff in diffs},
                "where": {diff.name: list(diff.where) for diff in diffs},
            }
        )
    document = {"tolerance": check.tolerance, "agree": check.agree, "pairs": pairs}
    if check.exact:
        document["exact"] = [
            {
                "engine": engine,
                "agree": check.within(engine),
                "max_abs_diff": {d.name: d.max_abs_diff for d in diffs},
                "max_scaled_diff": {d.name: d.max_scaled_diff for d in diffs},
                "where": {d.name: list(d.where) for d in diffs},
            }
            for engine in check.judged
            for diffs in [[d for d in check.exact if d.engines[1] == engine]]
        ]
        document["differ"] = check.differing
        document["reach"] = {
            "method": "float32 runs of the same equations from the input, weights and initial "
            "states moved by one rounding; the largest scaled distance to the exact answer",
            "runs": check.reach.runs,
            "max_scaled_diff": check.reach.max_scaled_diff,
            "amplification": check.reach.amplification,
            "safety": REACH_SAFETY,
        }
    return document


def written(spec, name: str):
    """The dtype an array is written in: float64 for the exact engine's outputs and states
    (its answer has more digits than float32 holds), else float32."""
    return np.float64 if spec.engine == "exact" and name != "x" else np.float32


# Arrays are written in pieces of about this many bytes of float32, so the JSON text of a long
# run is never held in memory whole.
PIECE_BYTES = 1 << 22


def array_pieces(array: np.ndarray) -> Iterator[bytes]:
    """An array's JSON text in pieces: exactly orjson.dumps(array), but in blocks of rows."""
    if array.nbytes <= PIECE_BYTES or array.ndim == 1:
        yield orjson.dumps(np.ascontiguousarray(array), option=orjson.OPT_SERIALIZE_NUMPY)
        return
    yield b"["
    row_bytes = max(1, array[0].nbytes)
    if row_bytes > PIECE_BYTES:  # one row is itself too large: split it the same way
        for index, row in enumerate(array):
            if index:
                yield b","
            yield from array_pieces(row)
    else:
        rows = PIECE_BYTES // row_bytes
        for start in range(0, len(array), rows):
            block = np.ascontiguousarray(array[start : start + rows])
            text = orjson.dumps(block, option=orjson.OPT_SERIALIZE_NUMPY)
            yield (b"," if start else b"") + text[1:-1]
    yield b"]"


def value_pieces(value) -> Iterator[bytes]:
    """Any document value as JSON text in pieces; arrays, also inside objects, in blocks."""
    if isinstance(value, np.ndarray):
        yield from array_pieces(value)
    elif isinstance(value, dict) and any(isinstance(v, np.ndarray) for v in value.values()):
        yield b"{"
        for index, (key, item) in enumerate(value.items()):
            yield (b"," if index else b"") + orjson.dumps(key) + b":"
            yield from value_pieces(item)
        yield b"}"
    else:
        yield orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def pieces(
    result: Result,
    explanations: list[Explanation] | None = None,
    memory: Memory | None = None,
    gradients: GradientCheck | None = None,
) -> Iterator[bytes]:
    """The whole document as UTF-8 JSON text in pieces, ending in a newline (with --memory's
    influence under "memory" when given, and its check under "cross_check" "memory")."""
    whole = document(result, explanations)
    if memory is not None:
        whole["memory"] = memory_document(memory)
    if gradients is not None:
        whole["cross_check"]["memory"] = gradient_check_document(gradients)
    yield from value_pieces(whole)
    yield b"\n"


def memory_document(memory: Memory) -> dict:
    """--memory under "memory": the definition, the share, and per state the influence (N, T)
    by input step (float64), the horizon (N,) and the earliest input step in it (N,); "unit"
    with --unit, and with --sequences the connectivity map per output (N, T, T)."""
    document = {
        "definition": DEFINITION,
        "share": HORIZON_SHARE,
        "influence": dict(memory.influence),
        "horizon": {name: [int(k) for k in v] for name, v in memory.horizon.items()},
        "reach": {name: [int(t) for t in v] for name, v in memory.reach.items()},
    }
    if memory.unit is not None:
        document["unit"] = memory.unit
    if memory.connectivity is not None:
        document["connectivity"] = dict(memory.connectivity)
    return document


def gradient_check_document(check: GradientCheck) -> dict:
    """--memory --check under cross_check "memory": per way, how it computed the gradients and
    per state its largest relative difference from the exact influence and where (n, t); the
    ways not run and why; the tolerance and the verdict."""
    return {
        "reference": "exact",
        "tolerance": check.tolerance,
        "relative": RELATIVE,
        "agree": check.agree,
        "differ": check.differing,
        "ways": [
            {
                "way": way,
                "method": check.methods[way],
                "agree": check.within(way),
                "max_rel_diff": {d.state: d.max_rel_diff for d in diffs},
                "where": {d.state: list(d.where) for d in diffs},
            }
            for way in check.ways
            for diffs in [[d for d in check.diffs if d.way == way]]
        ],
        "skipped": dict(check.skipped),
    }


def render(result: Result) -> bytes:
    """The whole document as UTF-8 bytes, ending in a newline."""
    return b"".join(pieces(result))
