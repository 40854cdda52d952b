"""Where a run that overflowed first stopped being finite, and what made it overflow: the
activation that did (named as the option that set it), or the sums of a state that grew."""

import numpy as np

from rnnstate.engines import numpy as numpy_engine
from rnnstate.spec import Spec
from rnnstate.weights import LayerWeights

# What made each traced quantity, by cell: "act" (the activation), "rec" (the recurrent
# activation), or None (a sum or product of finite parts that grew too large).
PRODUCERS: dict[str, dict[str, str | None]] = {
    "lstm": {"i": "rec", "f": "rec", "g": "act", "o": "rec", "c_t": None, "h_t": "act"},
    "gru": {"z": "rec", "r": "rec", "h_hat": "act", "h_t": None},
    "rnn": {"pre_activation": None, "h_t": "act"},
}
# The activations that overflow on a finite argument: exponential beyond 88.7, squareplus (whose
# z * z does) beyond 1.8e19. Any other gives a value beyond float32 only from one already there.
OVERFLOWING = frozenset({"exponential", "squareplus"})
FORMULAS = {
    "c_t": "c_t = f * c_{t-1} + i * g",
    "h_t": "h_t = z * h_{t-1} + (1 - z) * h_hat",
    "pre_activation": "x_t W + h_{t-1} U + b",
}


def first_overflow(spec: Spec, gates: dict[str, np.ndarray]) -> tuple[str, int] | None:
    """The traced quantity (its name in TRACE_NAMES) and input step where one sequence's trace
    (each (1, T, M)) first stops being finite, in the order the layer computed them."""
    T = spec.steps
    order = numpy_engine.TRACE_NAMES[spec.cell]
    found = []
    for name, values in gates.items():
        rows = np.flatnonzero(~np.all(np.isfinite(values[0]), axis=-1))
        if not len(rows):
            continue
        base, side = (name[:-3], name[-2:]) if spec.bidirectional else (name, "")
        if spec.bidirectional:  # input order: the backward half computed t=T-1 first
            step = int(rows[-1]) if side == "bw" else int(rows[0])
            done = T - 1 - step if side == "bw" else step
        else:  # processing order
            done = int(rows[0])
            step = T - 1 - done if spec.backwards else done
        found.append((done, order.index(base), base, step))
    if not found:
        return None
    _, _, base, step = min(found)
    return base, step


def cause(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None,
    mask: np.ndarray | None,
) -> str | None:
    """In words, what overflowed first in one sequence x (1, T, D) (initial states (1, M) by
    name, mask (1, T)), traced by the numpy engine in float32; None if its trace stays finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        run = numpy_engine.run_directions(
            spec, x, weights, initial_state, mask, True, None, np.float32
        )
    found = first_overflow(spec, run.gates)
    if found is None:
        return None
    base, step = found
    producer = PRODUCERS[spec.cell][base]
    if producer is None:
        return (
            f"{FORMULAS[base]} overflowed at step t={step}: the state grew beyond float32 "
            f"with {settings(spec)}; smaller weights or inputs keep it finite"
        )
    option, name = (
        ("recurrent_activation", spec.recurrent_activation)
        if producer == "rec"
        else ("activation", spec.activation)
    )
    if name not in OVERFLOWING:  # a finite argument gives a finite value: the argument did not
        return (
            f"{base} overflowed at step t={step}: its argument, a sum of weights times inputs "
            f"and states, went beyond float32 with {settings(spec)}; smaller weights or inputs "
            "keep it finite"
        )
    return (
        f"{base} overflowed at step t={step}: {option}={name} gave a value beyond float32; a "
        f"bounded {option}, or smaller weights or inputs, keep it finite"
    )


def settings(spec: Spec) -> str:
    """The cell's activations as key=value."""
    if spec.cell == "rnn":
        return f"activation={spec.activation}"
    return f"activation={spec.activation}, recurrent_activation={spec.recurrent_activation}"
