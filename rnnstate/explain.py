"""One step of the cell worked out with the run's own numbers, as data: what goes in, every term of
every gate, the state update, and how the result compares with the run's o and h.

Everything is recomputed here in float64 from the run's weights, its input and its trace (which
gives the state before the step), so a reader can redo each sum by hand and see it land on the
number the layer gave. The renderers (render/explain.py, render/json.py) only draw it.
"""

from dataclasses import dataclass

import numpy as np

from rnnstate.activations import canonical
from rnnstate.engines.activations import FUNCTIONS
from rnnstate.result import Result
from rnnstate.weights import BidirectionalWeights, Weights

DIRECTION_WORDS = {"": "", "fw": "forward half", "bw": "backward half"}


@dataclass(frozen=True)
class Term:
    """One named term of a sum, per unit: (M,)."""

    label: str  # "x·W_i", "h·U_i", "b_i", ... (x stands for x_t, h for h_{t-1})
    values: np.ndarray  # (M,) float64


@dataclass(frozen=True)
class Gate:
    """One gate (or candidate) of the step: its terms, their combination and its value."""

    name: str  # "i", "f", "g", "og" (LSTM); "z", "r", "h_hat" (GRU); "h_t" (SimpleRNN)
    meaning: str  # "input gate", ...
    formula: str  # how the terms combine: "i = sigmoid(x·W_i + h·U_i + b_i)"
    activation: str  # the function applied: "sigmoid", "relu", ...
    terms: tuple[Term, ...]  # in the order the formula names them
    pre_activation: np.ndarray  # (M,) the argument of the activation
    value: np.ndarray  # (M,) activation(pre_activation)


@dataclass(frozen=True)
class DotProduct:
    """One dot product of one unit written out: sum over k of left[k] * right[k]."""

    label: str  # "x·W_i[:, 2]"
    left_label: str  # "x[d]" or "h[m]"
    right_label: str  # "W[d, 2]" or "U[m, 2]"
    left: np.ndarray  # (K,)
    right: np.ndarray  # (K,)

    @property
    def products(self) -> np.ndarray:
        """Each term left[k] * right[k], (K,)."""
        return self.left * self.right

    @property
    def total(self) -> float:
        """The dot product."""
        return float(self.products.sum())


@dataclass(frozen=True)
class Comparison:
    """The recomputed h_t against an array of the run that holds it."""

    label: str  # "o[t=3]", "h", "h_t in the trace"
    max_abs_diff: float  # largest |recomputed - the run's value|


@dataclass(frozen=True)
class Explanation:
    """Step `step` of sequence `sequence`, for one direction of the layer."""

    cell: str
    direction: str  # "" for a unidirectional layer, "fw" or "bw" for a half
    sequence: int  # n
    step: int  # the input step t
    position: int  # how many steps this layer read before this one (0: the first)
    reads_backwards: bool  # whether this layer reads the input from its last step
    masked: bool  # the step was skipped: the states carried over
    x_t: np.ndarray  # (D,)
    h_prev: np.ndarray  # (M,) the hidden state going in
    c_prev: np.ndarray | None  # (M,) the LSTM's cell state going in
    previous: str  # where h_prev comes from, in words
    gates: tuple[Gate, ...]  # empty at a masked step
    update: tuple[tuple[str, tuple[Term, ...]], ...]  # each update's formula, factors, result
    h_t: np.ndarray  # (M,) recomputed
    c_t: np.ndarray | None  # (M,) recomputed (LSTM)
    comparisons: tuple[Comparison, ...]  # h_t against o's row, h, and the trace
    unit: int | None  # the unit written out term by term, if asked
    dot_products: tuple[DotProduct, ...]  # that unit's dot products, gate by gate


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """Keras's element-wise activation `name` in float64."""
    return np.asarray(FUNCTIONS[canonical(name)](z), dtype=np.float64)


def explain(result: Result, sequence: int = 0) -> list[Explanation]:
    """The explanation of step spec.explain of `sequence`: one per direction asked for (both
    halves of a bidirectional layer unless spec.direction picks one). Needs the run's trace."""
    spec = result.spec
    if not spec.bidirectional:
        return [explain_direction(result, sequence, "", result.weights)]
    assert isinstance(result.weights, BidirectionalWeights)
    halves = {"fw": result.weights.forward, "bw": result.weights.backward}
    sides = [spec.direction] if spec.direction else ["fw", "bw"]
    return [explain_direction(result, sequence, side, halves[side]) for side in sides]


def explain_direction(result: Result, n: int, side: str, w: Weights) -> Explanation:
    """Step spec.explain of sequence n for the layer (or half `side`) with weights `w`."""
    spec = result.spec
    T, M, t = spec.steps, spec.units, spec.explain
    suffix = f"_{side}" if side else ""
    reads_backwards = spec.backwards or side == "bw"
    row_of = (lambda step: T - 1 - step) if spec.backwards else (lambda step: step)
    trace = {
        name.removesuffix(suffix): v[n] for name, v in result.gates.items() if name.endswith(suffix)
    }
    previous_step = t + 1 if reads_backwards else t - 1
    position = T - 1 - t if reads_backwards else t
    if 0 <= previous_step < T:
        h_prev = trace["h_t"][row_of(previous_step)].astype(np.float64)
        c_prev = trace["c_t"][row_of(previous_step)].astype(np.float64) if "c_t" in trace else None
        previous = f"the state after t={previous_step}, the step before in reading order"
    else:
        names = ("h", "c") if spec.cell == "lstm" else ("h",)
        if result.initial_state is not None:
            h_prev, *rest = (
                result.initial_state[name + suffix][n].astype(np.float64) for name in names
            )
            previous = "the initial state given with --initial-state (this is the first step read)"
        else:
            h_prev, *rest = (np.zeros(M) for _ in names)
            previous = "zeros: this is the first step the layer read"
        c_prev = rest[0] if rest else None
    x_t = result.x[n, t].astype(np.float64)
    masked = result.mask is not None and not bool(result.mask[n, t])
    if masked:
        gates, update, h_t, c_t = (), (), h_prev, c_prev
        dots: tuple[DotProduct, ...] = ()
    else:
        compute = {"lstm": lstm_step, "gru": gru_step, "rnn": rnn_step}[spec.cell]
        gates, update, h_t, c_t = compute(result, w, x_t, h_prev, c_prev)
        dots = dot_products(result, w, x_t, h_prev, gates) if spec.unit is not None else ()
    return Explanation(
        spec.cell, side, n, t, position, reads_backwards, masked, x_t, h_prev, c_prev, previous,
        gates, update, h_t, c_t,
        comparisons(result, n, side, t, h_t, trace["h_t"][row_of(t)], masked),
        spec.unit, dots,
    )  # fmt: skip


def blocks(w: Weights, k: int, M: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Block k's columns of kernel (D, M), recurrent kernel (M, M) and bias, in float64."""
    columns = slice(k * M, (k + 1) * M)
    bias = None if w.bias is None else np.asarray(w.bias, np.float64)[..., columns]
    return (
        w.kernel[:, columns].astype(np.float64),
        w.recurrent_kernel[:, columns].astype(np.float64),
        bias,
    )


def plain_gate(name, meaning, function, block, symbol, x_t, h_prev, w, M) -> Gate:
    """A gate whose argument is x·W + h_{t-1}·U + b: LSTM gates, SimpleRNN."""
    W, U, b = blocks(w, block, M)
    terms = [Term(f"x·W{symbol}", x_t @ W), Term(f"h·U{symbol}", h_prev @ U)]
    if b is not None:
        terms.append(Term(f"b{symbol}", b))
    pre = sum(term.values for term in terms)
    formula = f"{name} = {function}({' + '.join(term.label for term in terms)})"
    return Gate(name, meaning, formula, function, tuple(terms), pre, activate(function, pre))


def lstm_step(result, w, x_t, h_prev, c_prev):
    """The LSTM's gates i f g og (og: the output gate), then c_t = f c_{t-1} + i g and
    h_t = og act(c_t)."""
    spec, M = result.spec, result.spec.units
    act, rec = spec.activation, spec.recurrent_activation
    i, f, g, og = (
        plain_gate(name, meaning, function, k, subscript, x_t, h_prev, w, M)
        for k, (name, meaning, function, subscript) in enumerate(
            [
                ("i", "input gate", rec, "_i"),
                ("f", "forget gate", rec, "_f"),
                ("g", "candidate", act, "_c"),
                ("og", "output gate", rec, "_og"),
            ]
        )
    )
    c_t = f.value * c_prev + i.value * g.value
    act_c = activate(act, c_t)
    h_t = og.value * act_c
    update = (
        ("c_t = f ⊙ c_{t-1} + i ⊙ g", (
            Term("f", f.value), Term("c_{t-1}", c_prev), Term("i", i.value), Term("g", g.value),
            Term("c_t", c_t),
        )),
        (f"h_t = og ⊙ {act}(c_t)", (
            Term("og", og.value), Term(f"{act}(c_t)", act_c), Term("h_t", h_t),
        )),
    )  # fmt: skip
    return (i, f, g, og), update, h_t, c_t


def gru_step(result, w, x_t, h_prev, _c_prev):
    """The GRU's z and r, the candidate ĥ as the variant computes it, then the update."""
    spec, M = result.spec, result.spec.units
    act, rec = spec.activation, spec.recurrent_activation
    reset_after, with_bias = spec.reset_after, w.bias is not None
    gates = []
    for k, (name, meaning) in enumerate([("z", "update gate"), ("r", "reset gate")]):
        W, U, b = blocks(w, k, M)
        terms = [Term(f"x·W_{name}", x_t @ W)]
        if with_bias:
            terms.append(Term(f"b_{name}", b[0] if reset_after else b))
        terms.append(Term(f"h·U_{name}", h_prev @ U))
        if with_bias and reset_after:
            terms.append(Term(f"b'_{name}", b[1]))
        pre = sum(term.values for term in terms)
        formula = f"{name} = {rec}({' + '.join(term.label for term in terms)})"
        gates.append(Gate(name, meaning, formula, rec, tuple(terms), pre, activate(rec, pre)))
    z, r = gates
    W, U, b = blocks(w, 2, M)
    terms = [Term("x·W_h", x_t @ W)]
    if with_bias:
        terms.append(Term("b_h", b[0] if reset_after else b))
    outer = " + ".join(term.label for term in terms)
    if reset_after:
        inner = [Term("h·U_h", h_prev @ U)] + ([Term("b'_h", b[1])] if with_bias else [])
        recurrent = sum(term.values for term in inner)
        terms += [Term("r", r.value), *inner]
        formula = f"ĥ = {act}({outer} + r ⊙ ({' + '.join(t.label for t in inner)}))"
        pre = (
            sum(term.values for term in terms[: len(terms) - len(inner) - 1]) + r.value * recurrent
        )
    else:
        terms.append(Term("(r ⊙ h)·U_h", (r.value * h_prev) @ U))
        formula = f"ĥ = {act}({outer} + (r ⊙ h)·U_h)"
        pre = sum(term.values for term in terms)
    h_hat = Gate("h_hat", "candidate ĥ", formula, act, tuple(terms), pre, activate(act, pre))
    h_t = z.value * h_prev + (1 - z.value) * h_hat.value
    update = (
        ("h_t = z ⊙ h_{t-1} + (1 - z) ⊙ ĥ", (
            Term("z", z.value), Term("h_{t-1}", h_prev), Term("1 - z", 1 - z.value),
            Term("ĥ", h_hat.value), Term("h_t", h_t),
        )),
    )  # fmt: skip
    return (z, r, h_hat), update, h_t, None


def rnn_step(result, w, x_t, h_prev, _c_prev):
    """The SimpleRNN's one line: h_t = act(x·W + h_{t-1}·U + b)."""
    spec = result.spec
    gate = plain_gate("h_t", "the new state", spec.activation, 0, "", x_t, h_prev, w, spec.units)
    return (gate,), (), gate.value, None


def dot_products(result, w, x_t, h_prev, gates) -> tuple[DotProduct, ...]:
    """For spec.unit, each gate's x·W and recurrent product written out term by term."""
    spec, M, unit = result.spec, result.spec.units, result.spec.unit
    products = []
    for k, gate in enumerate(gates):
        column = k * M + unit
        kernel = w.kernel[:, column].astype(np.float64)
        recurrent = w.recurrent_kernel[:, column].astype(np.float64)
        blocks = {"lstm": ("i", "f", "c", "og"), "gru": ("z", "r", "h")}  # as the gates' terms
        symbol = "" if spec.cell == "rnn" else "_" + blocks[spec.cell][k]
        products.append(
            DotProduct(f"x·W{symbol}[:, {unit}]", "x[d]", f"W[d, {column}]", x_t, kernel)
        )
        left, label = h_prev, "h[m]"
        if spec.cell == "gru" and gate.name == "h_hat" and not spec.reset_after:
            left, label = gates[1].value * h_prev, "(r ⊙ h)[m]"
        products.append(
            DotProduct(f"{label.split('[')[0]}·U{symbol}[:, {unit}]", label, f"U[m, {column}]",
                       left, recurrent)
        )  # fmt: skip
    return tuple(products)


def comparisons(result, n, side, t, h_t, traced, masked) -> tuple[Comparison, ...]:
    """The recomputed h_t against the trace's h_t, o's row for step t (with return_sequences,
    when o shows this layer's state there) and h (when t is the last step the layer read)."""
    spec = result.spec
    state = "h" + (f"_{side}" if side else "")
    found = [Comparison("h_t in the trace", largest(h_t, traced))]
    if spec.return_sequences and not masked and spec.merge not in ("sum", "mul", "ave"):
        name, part, _ = result.output_part(state, n, t)
        found.append(Comparison(name, largest(h_t, part)))
    if result.last_step_read(n, state) == t:
        found.append(Comparison(state, largest(h_t, result.states[state][n])))
    return tuple(found)


def largest(recomputed: np.ndarray, run: np.ndarray) -> float:
    """Largest |recomputed - run| over the units."""
    return float(np.max(np.abs(recomputed - run.astype(np.float64))))
