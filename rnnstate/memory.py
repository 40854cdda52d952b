"""How far back the final states remember: the influence of every input step on them, exactly.

The influence of input step t on a final state s (h or c; h_fw ... for a bidirectional layer) is
the Frobenius norm of the Jacobian ‖∂s/∂x_t‖ (over the state's M units and the input's D
features), one number per sequence and step. It is computed by backpropagation through time in
float64 from the exact engine's trace (the states at every step), carrying the full Jacobian of
s with respect to the states backwards, so no unit of s is summed away before the norm. A masked
step is skipped by the layer (its states carry over), so its influence is exactly zero.

With a unit U, the influence on one unit of the state instead: ‖∂s[U]/∂x_t‖, the norm over the
input's features only. The connectivity map of a layer returning sequences is ‖∂o_t/∂x_s‖ for
every output step t and input step s (Madsen's figures): o_t is the output the layer gave on
reading input step t (for a bidirectional layer each half's own output, o_fw and o_bw, before
the merge), so the map is lower triangular for a forward layer and upper for a backward one.

The memory horizon of a sequence (horizon): the fewest most recent steps, counted in the order
the layer read them and among the steps it did not skip (masked ones), whose influences sum to at
least HORIZON_SHARE of the sequence's total; 0 when no step has any influence.
"""

from dataclasses import dataclass

import numpy as np

from rnnstate.activations import canonical
from rnnstate.budget import TRACE_COPIES, TRACED, available_bytes, human_bytes
from rnnstate.engines import exact
from rnnstate.engines.activations import FUNCTIONS
from rnnstate.engines.derivatives import DERIVATIVES, derivative, differentiated
from rnnstate.engines.numpy import weights_in
from rnnstate.errors import SpecError
from rnnstate.spec import GATE_BLOCKS, Spec
from rnnstate.weights import BidirectionalWeights, LayerWeights, Weights

HORIZON_SHARE = 0.9
DEFINITION = (
    "influence of input step t on final state s: the Frobenius norm of the Jacobian ds/dx_t over "
    "the state's units and the input's features (exact, float64); horizon: the fewest most recent "
    f"unmasked steps, in the order the layer read them, holding {HORIZON_SHARE:.0%} of the total "
    "influence (0 when there is none)"
)


@dataclass(frozen=True)
class Memory:
    """The influence of every input step on every final state, and the horizons.

    influence: state name -> (N, T) float64, column t for input step t (whatever the order the
    layer read the steps in); horizon: state name -> (N,) int; reach: state name -> (N,) int, the
    earliest input step inside the horizon (-1 when the horizon is 0).
    """

    influence: dict[str, np.ndarray]
    horizon: dict[str, np.ndarray]
    reach: dict[str, np.ndarray]
    unit: int | None = None  # the influence on this unit of each state only
    connectivity: dict[str, np.ndarray] | None = None  # "o" (o_fw, o_bw) -> (N, T, T): [n, t, s]


def problem(spec: Spec) -> str | None:
    """Why the influence of `spec`'s layer cannot be computed here, or None when it can."""
    used = [spec.activation] + ([] if spec.cell == "rnn" else [spec.recurrent_activation])
    for name in used:
        if not differentiated(name):
            known = ", ".join(DERIVATIVES)
            return f"cannot differentiate the activation {name!r}; it differentiates {known}"
    return None


FLOAT64_BYTES = 8
# The parts below miss the exact engine's outputs and input-projection chunks: their peak,
# measured with tracemalloc (tests/test_memory_cli.py), came to 0.84 to 1.6 times the parts.
MARGIN = 1.5


def needed_bytes(spec: Spec) -> int:
    """Bytes --memory adds to a run, estimated: the exact engine's trace and copies of x, the
    Jacobians the backward pass carries (N, P, kM and more) and the answer, with a margin."""
    N, T, D, M = spec.batch, spec.steps, spec.features, spec.units
    directions = 2 if spec.bidirectional else 1
    states = 2 if spec.cell == "lstm" else 1
    P, kM = states * M, len(GATE_BLOCKS[spec.cell]) * M
    trace = directions * TRACED[spec.cell] * TRACE_COPIES * N * T * M
    inputs = 4 * N * T * D  # x in float64, masked, flipped, the engine's copy
    backward = 3 * N * P * (2 * M + 2 * kM + D)  # adjoints, gate Jacobians, concatenations
    answer = 3 * directions * states * N * T
    return int(MARGIN * FLOAT64_BYTES * (trace + inputs + backward + answer))


def connectivity_bytes(spec: Spec, unit: int | None = None, saved: bool = False) -> int:
    """Bytes the connectivity map adds, estimated: the adjoints of every output step carried
    at once (N, T rows per unit, ...), the (N, T, T) answer per direction and its copy in input
    order, and two more copies when `saved` in an .npz built in memory (--output)."""
    N, T, D, M = spec.batch, spec.steps, spec.features, spec.units
    directions = 2 if spec.bidirectional else 1
    rows = T * (M if unit is None else 1)
    kM = len(GATE_BLOCKS[spec.cell]) * M
    backward = N * rows * (3 * M + 2 * kM + D)  # adjoints, gate Jacobians, the step's dx
    answer = directions * N * T * T * (4 if saved else 2)
    return int(MARGIN * FLOAT64_BYTES * (backward + answer))


def ensure_fits(
    spec: Spec,
    run_bytes: int,
    unit: int | None = None,
    connectivity: bool = False,
    saved: bool = False,
) -> None:
    """SpecError (exit 2) when the run (`run_bytes`) and --memory's needs (with the
    connectivity map when asked; `saved` in an --output file) exceed the memory available."""
    needed = run_bytes + needed_bytes(spec)
    if connectivity:
        needed += connectivity_bytes(spec, unit, saved)
    available = available_bytes()
    if needed > available:
        what = " and --sequences (the T x T connectivity map)" if connectivity else ""
        raise SpecError(
            "--memory",
            f"-T {spec.steps} -N {spec.batch} -M {spec.units} with --memory{what} needs about "
            f"{human_bytes(needed)} of memory; {human_bytes(available)} are available",
        )


def check_unit(spec: Spec, unit: int | None) -> None:
    """SpecError (exit 2) when --unit names no unit of the layer's states."""
    if unit is not None and not 0 <= unit < spec.units:
        raise SpecError(
            "--unit", f"unit {unit} is not in the layer: M={spec.units} (0 to {spec.units - 1})"
        )


def memory(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None = None,
    mask: np.ndarray | None = None,
    unit: int | None = None,
    connectivity: bool = False,
) -> Memory:
    """The influence of each step of x (N, T, D) on the layer's final states, and the horizons.

    initial_state and mask (N, T, True where a step counts) as for the engines; `unit`: the
    influence on that unit of each state only; `connectivity`: also the connectivity map of the
    outputs. Runs the exact engine with its trace, then the backward pass; raises SpecError for
    an activation it cannot differentiate or a unit out of range.
    """
    why = problem(spec)
    if why is not None:
        raise SpecError("--memory", why)
    check_unit(spec, unit)
    traced = exact.run(spec, x, weights, initial_state, mask, trace=True)
    x = np.asarray(x, np.float64)
    N, T, _ = x.shape
    counts = np.ones((N, T), bool) if mask is None else np.asarray(mask, bool)
    given = initial_state or {}
    influence: dict[str, np.ndarray] = {}
    maps: dict[str, np.ndarray] = {}
    halves = (
        [("_fw", weights.forward, False), ("_bw", weights.backward, True)]
        if isinstance(weights, BidirectionalWeights)
        else [("", weights, spec.backwards)]
    )
    for suffix, w, backwards in halves:
        order = slice(None, None, -1) if backwards else slice(None)
        gates = traced.gates  # in reading order, but a bidirectional layer's are in input order
        traced_order = order if suffix else slice(None)
        h_trace = gates["h_t" + suffix][:, traced_order]
        c_trace = gates["c_t" + suffix][:, traced_order] if spec.cell == "lstm" else None
        names = ("h", "c") if spec.cell == "lstm" else ("h",)
        start = [
            np.asarray(given[n + suffix], np.float64) if n + suffix in given
            else np.zeros((N, w.units)) for n in names
        ]  # fmt: skip
        args = (spec, x[:, order], w, start, h_trace, c_trace, counts[:, order])
        for name, values in backward_pass(*args, unit).items():
            influence[name + suffix] = np.ascontiguousarray(values[:, order])
        if connectivity:  # a Bidirectional layer returning sequences zeroes its masked outputs
            read = connectivity_pass(*args, unit, zero_masked=bool(suffix))
            maps["o" + suffix] = np.ascontiguousarray(read[:, order][:, :, order])
    horizons, reaches = {}, {}
    for name, values in influence.items():
        backwards = name.endswith("_bw") or (spec.backwards and not spec.bidirectional)
        order = slice(None, None, -1) if backwards else slice(None)
        pairs = [horizon(v[order], c[order]) for v, c in zip(values, counts, strict=True)]
        horizons[name] = np.array([k for k, _ in pairs], dtype=np.int64)
        reaches[name] = np.array(
            [-1 if r < 0 else (T - 1 - r if backwards else r) for _, r in pairs], dtype=np.int64
        )
    return Memory(influence, horizons, reaches, unit, maps if connectivity else None)


def horizon(read: np.ndarray, counts: np.ndarray, share: float = HORIZON_SHARE) -> tuple[int, int]:
    """The memory horizon of one sequence: the fewest most recent counted steps of `read` (T,),
    the influences in the order the layer read them, whose sum is at least `share` of the total.

    counts (T,): True where a step counts (not masked). Returns (steps, position): the number of
    counted steps, and the reading position of the earliest of them; (0, -1) when the total is 0.
    """
    positions = np.flatnonzero(counts)[::-1]  # most recent first
    values = read[positions]
    total = values.sum()
    if not total > 0:
        return 0, -1
    held = np.cumsum(values)
    steps = int(np.argmax(held >= share * total)) + 1
    return steps, int(positions[steps - 1])


def backward_pass(
    spec: Spec,
    x: np.ndarray,
    w: Weights,
    start: list[np.ndarray],
    h_trace: np.ndarray,
    c_trace: np.ndarray | None,
    counts: np.ndarray,
    unit: int | None = None,
) -> dict[str, np.ndarray]:
    """‖∂s/∂x_k‖ for each final state s of one direction (‖∂s[unit]/∂x_k‖ with a unit),
    everything in reading order.

    x (N, T, D); start: the initial states (N, M); h_trace, c_trace (N, T, M): the states after
    each step; counts (N, T). Returns state name -> (N, T). The adjoint carried backwards is the
    Jacobian of every final state's units (P rows: M for h, then M for c; one row each with a
    unit) by h_k (and c_k).

    The steps are taken a block of at most M steps (2M for an LSTM) at a time, last block
    first: the gates of a block are computed again from the trace in one vectorised pass (steps
    first, so a step's factors are contiguous), then each step backwards is element-wise
    products and one matrix product of the (N·P, kM) gate adjoints by the stacked recurrent
    kernel and kernel. (connectivity_pass, whose rows grow at every step, takes the steps one
    by one with STEPS.)
    """
    N, T, _ = x.shape
    M = w.units
    names = ("h", "c") if spec.cell == "lstm" else ("h",)
    kept_units = np.arange(M) if unit is None else np.array([unit])
    seed = np.eye(M * len(names))[[j * M + u for j in range(len(names)) for u in kept_units]]
    P = len(seed)  # rows: the units kept of each state in turn
    w = weights_in(w, np.float64)
    kernel, U, bias = w.kernel, w.recurrent_kernel, w.bias
    cell = CELLS[spec.cell](spec, kernel, U, bias, N, P)
    adjoint_h = np.broadcast_to(seed[:, :M], (N, P, M)).copy()
    adjoint_c = None
    if spec.cell == "lstm":
        adjoint_c = np.broadcast_to(seed[:, M:], (N, P, M)).copy()
    per_state = len(kept_units)
    every_step_counts = bool(counts.all())
    out = np.zeros((N, T, len(names)))
    block = M * len(names)  # steps a block: its gates take about the Jacobians' room
    for first in range(((T - 1) // block) * block, -1, -block):  # the last block first
        last = min(T, first + block)
        h_prev = _previous(h_trace, start[0], first, last)
        c_prev = None if c_trace is None else _previous(c_trace, start[1], first, last)
        factors = cell.factors(x[:, first:last], h_prev, c_prev)
        for k in range(last - 1, first - 1, -1):
            kept = None if every_step_counts else counts[:, k]
            if kept is not None and not kept.any():
                continue  # every sequence skips step k: no influence, the adjoints carry
            step = [f[k - first] for f in factors]
            dx, new_h, new_c = cell.step(step, adjoint_h, adjoint_c)
            if kept is not None and not kept.all():  # those skipping step k: as above
                dx, new_h, new_c = _skip_masked(kept, dx, new_h, new_c, adjoint_h, adjoint_c)
            adjoint_h, adjoint_c = new_h, new_c
            squares = np.einsum("npd,npd->np", dx, dx).reshape(N, len(names), per_state)
            out[:, k] = np.sqrt(squares.sum(axis=2))
    return {name: np.ascontiguousarray(out[:, :, j]) for j, name in enumerate(names)}


def connectivity_pass(
    spec: Spec,
    x: np.ndarray,
    w: Weights,
    start: list[np.ndarray],
    h_trace: np.ndarray,
    c_trace: np.ndarray | None,
    counts: np.ndarray,
    unit: int | None = None,
    zero_masked: bool = False,
) -> np.ndarray:
    """‖∂o_j/∂x_k‖ (‖∂o_j[unit]/∂x_k‖ with a unit) for every output position j and input
    position k of one direction, in reading order: (N, T, T), [n, j, k], zero for k > j.

    Arguments as for backward_pass; zero_masked: a masked step's output is zeros (else it
    repeats the last output, whose gradient is that of h_j: the states carry over). One
    backward sweep carries the adjoints of every output read after k at once: rows grow by the
    output's units at each step, oldest output first.
    """
    N, T, _ = x.shape
    M = w.units
    seed = np.eye(M) if unit is None else np.eye(M)[[unit]]  # o_j = h_j
    rows = len(seed)
    w = weights_in(w, np.float64)
    kernel, U, bias = w.kernel, w.recurrent_kernel, w.bias
    adjoint_h = np.zeros((N, 0, M))
    adjoint_c = np.zeros((N, 0, M)) if spec.cell == "lstm" else None
    step = STEPS[spec.cell]
    out = np.zeros((N, T, T))
    for k in range(T - 1, -1, -1):
        new = np.broadcast_to(seed, (N, rows, M))
        if zero_masked:
            new = new * counts[:, k][:, None, None]
        adjoint_h = np.concatenate([adjoint_h, new], axis=1)
        if adjoint_c is not None:
            adjoint_c = np.concatenate([adjoint_c, np.zeros((N, rows, M))], axis=1)
        h_prev = h_trace[:, k - 1] if k > 0 else start[0]
        c_prev = None
        if spec.cell == "lstm":
            c_prev = c_trace[:, k - 1] if k > 0 else start[1]
        dx, new_h, new_c = step(
            spec, x[:, k], kernel, U, bias, h_prev, c_prev, adjoint_h, adjoint_c
        )
        dx, adjoint_h, adjoint_c = _skip_masked(
            counts[:, k], dx, new_h, new_c, adjoint_h, adjoint_c
        )
        norms = np.sqrt((dx.reshape(N, T - k, -1) ** 2).sum(axis=2))  # outputs T-1 .. k
        out[:, k:, k] = norms[:, ::-1]
    return out


def lstm_step(spec, x_k, kernel, U, bias, h_prev, c_prev, adjoint_h, adjoint_c):
    """One LSTM step backwards: (∂/∂x_k (N, P, D), ∂/∂h_{k-1}, ∂/∂c_{k-1} (N, P, M))."""
    M = U.shape[0]
    act, rec = spec.activation, spec.recurrent_activation
    z = x_k @ kernel + h_prev @ U + (0 if bias is None else bias)  # (N, 4M)
    z_i, z_f, z_g, z_o = (z[:, j * M : (j + 1) * M] for j in range(4))
    i, f, g, o = _apply(rec, z_i), _apply(rec, z_f), _apply(act, z_g), _apply(rec, z_o)
    c = f * c_prev + i * g
    a_c = _apply(act, c)
    d_c = adjoint_c + adjoint_h * (o * derivative(act)(c))[:, None]
    d_z = np.concatenate(
        [
            d_c * (g * derivative(rec)(z_i))[:, None],
            d_c * (c_prev * derivative(rec)(z_f))[:, None],
            d_c * (i * derivative(act)(z_g))[:, None],
            adjoint_h * (a_c * derivative(rec)(z_o))[:, None],
        ],
        axis=2,
    )  # (N, P, 4M)
    return d_z @ kernel.T, d_z @ U.T, d_c * f[:, None]


def gru_step(spec, x_k, kernel, U, bias, h_prev, c_prev, adjoint_h, adjoint_c):
    """One GRU step backwards (either reset_after): (∂/∂x_k, ∂/∂h_{k-1}, None)."""
    M = U.shape[0]
    act, rec = spec.activation, spec.recurrent_activation
    input_bias, recurrent_bias = _gru_biases(spec, bias, M)
    xw = x_k @ kernel + input_bias  # (N, 3M)
    if spec.reset_after:
        inner = h_prev @ U + recurrent_bias
        pre_zr = xw[:, : 2 * M] + inner[:, : 2 * M]
        r = _apply(rec, pre_zr[:, M:])
        pre_h = xw[:, 2 * M :] + r * inner[:, 2 * M :]
    else:
        pre_zr = xw[:, : 2 * M] + h_prev @ U[:, : 2 * M]
        r = _apply(rec, pre_zr[:, M:])
        pre_h = xw[:, 2 * M :] + (r * h_prev) @ U[:, 2 * M :]
    z = _apply(rec, pre_zr[:, :M])
    h_hat = _apply(act, pre_h)
    d_pre_z = adjoint_h * ((h_prev - h_hat) * derivative(rec)(pre_zr[:, :M]))[:, None]
    d_pre_h = adjoint_h * ((1 - z) * derivative(act)(pre_h))[:, None]
    d_h = adjoint_h * z[:, None]
    if spec.reset_after:
        d_pre_r = d_pre_h * (inner[:, 2 * M :] * derivative(rec)(pre_zr[:, M:]))[:, None]
        d_inner = np.concatenate([d_pre_z, d_pre_r, d_pre_h * r[:, None]], axis=2)
        d_h = d_h + d_inner @ U.T
    else:
        d_rh = d_pre_h @ U[:, 2 * M :].T  # ∂/∂(r * h_{k-1})
        d_pre_r = d_rh * (h_prev * derivative(rec)(pre_zr[:, M:]))[:, None]
        d_h = d_h + d_rh * r[:, None] + np.concatenate([d_pre_z, d_pre_r], axis=2) @ U[:, : 2 * M].T
    d_x = np.concatenate([d_pre_z, d_pre_r, d_pre_h], axis=2) @ kernel.T
    return d_x, d_h, None


def rnn_step(spec, x_k, kernel, U, bias, h_prev, c_prev, adjoint_h, adjoint_c):
    """One SimpleRNN step backwards: (∂/∂x_k, ∂/∂h_{k-1}, None)."""
    pre = x_k @ kernel + h_prev @ U + (0 if bias is None else bias)
    d_pre = adjoint_h * derivative(spec.activation)(pre)[:, None]
    return d_pre @ kernel.T, d_pre @ U.T, None


STEPS = {"lstm": lstm_step, "gru": gru_step, "rnn": rnn_step}


def _skip_masked(
    kept: np.ndarray,
    dx: np.ndarray,
    new_h: np.ndarray,
    new_c: np.ndarray | None,
    adjoint_h: np.ndarray,
    adjoint_c: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A step backwards as the sequences that skip it (kept (N,) False) take it: no influence
    (dx (N, P, D) zero), the adjoints (N, P, M) carried over unchanged (the states carry
    over); the step's own dx, new_h and new_c (None with no c) where kept."""
    kept = kept[:, None, None]
    dx = np.where(kept, dx, 0.0)
    new_h = np.where(kept, new_h, adjoint_h)
    new_c = None if new_c is None else np.where(kept, new_c, adjoint_c)
    return dx, new_h, new_c


def _gru_biases(
    spec: Spec, bias: np.ndarray | None, M: int
) -> tuple[np.ndarray | float, np.ndarray]:
    """A GRU's bias as (input_bias, recurrent_bias): input_bias (3M,) is added to x @ kernel
    (0.0 without a bias), recurrent_bias (3M,) to h @ recurrent_kernel (zeros unless
    reset_after with a bias)."""
    if bias is None:
        return 0.0, np.zeros(3 * M)
    if spec.reset_after:
        return bias[0], bias[1]
    return bias, np.zeros(3 * M)


def _previous(trace: np.ndarray, start: np.ndarray, first: int, last: int) -> np.ndarray:
    """The states before steps first..last-1 (N, last - first, M): the trace shifted by one step,
    the initial state before step 0."""
    if first > 0:
        return trace[:, first - 1 : last - 1]
    return np.concatenate([start[:, None], trace[:, : last - 1]], axis=1)


def _steps_first(*arrays: np.ndarray) -> list[np.ndarray]:
    """(N, B, K) arrays as contiguous (B, N, K): a step's slice is contiguous."""
    return [np.ascontiguousarray(a.transpose(1, 0, 2)) for a in arrays]


class _Lstm:
    """An LSTM's steps backwards. factors: per step, the element-wise factors of the chain rule;
    step: (∂/∂x_k (N, P, D), ∂/∂h_{k-1}, ∂/∂c_{k-1} (N, P, M))."""

    def __init__(self, spec, kernel, U, bias, N, P):
        self.spec, self.kernel, self.U, self.bias = spec, kernel, U, bias
        self.M, self.D = U.shape[0], kernel.shape[0]
        self.stacked = np.concatenate([U, kernel]).T  # (4M, M + D): h's rows, then x's
        self.d_z = np.empty((N, P, 4 * self.M))  # the gate adjoints, written in place

    def factors(self, x, h_prev, c_prev):
        M, act, rec = self.M, self.spec.activation, self.spec.recurrent_activation
        z = x @ self.kernel + h_prev @ self.U + (0 if self.bias is None else self.bias)
        z_i, z_f, z_g, z_o = (z[..., j * M : (j + 1) * M] for j in range(4))
        i, f, g, o = _apply(rec, z_i), _apply(rec, z_f), _apply(act, z_g), _apply(rec, z_o)
        c = f * c_prev + i * g
        gates = np.stack(  # (N, B, 3, M): ∂c/∂z_i, ∂c/∂z_f, ∂c/∂z_g
            [g * derivative(rec)(z_i), c_prev * derivative(rec)(z_f), i * derivative(act)(z_g)],
            axis=2,
        )
        steps = _steps_first(o * derivative(act)(c), _apply(act, c) * derivative(rec)(z_o), f)
        return [*steps, np.ascontiguousarray(gates.transpose(1, 0, 2, 3))]

    def step(self, factors, adjoint_h, adjoint_c):
        to_c, to_o, f, gates = factors  # (N, M) each; gates (N, 3, M)
        N, P, M = adjoint_h.shape
        d_c = adjoint_c + adjoint_h * to_c[:, None]
        d_z = self.d_z.reshape(N, P, 4, M)
        np.multiply(d_c[:, :, None], gates[:, None], out=d_z[:, :, :3])
        np.multiply(adjoint_h, to_o[:, None], out=d_z[:, :, 3])
        both = (self.d_z.reshape(N * P, 4 * M) @ self.stacked).reshape(N, P, M + self.D)
        return both[:, :, M:], both[:, :, :M], d_c * f[:, None]


class _Gru:
    """A GRU's steps backwards (either reset_after): as _Lstm's, with no c."""

    def __init__(self, spec, kernel, U, bias, N, P):
        self.spec, self.kernel, self.U = spec, kernel, U
        M = self.M = U.shape[0]
        self.input_bias, self.recurrent_bias = _gru_biases(spec, bias, M)
        self.d_pre = np.empty((N, P, 3 * M))  # ∂/∂ of z's, r's and h_hat's pre-activations
        self.kernel_t, self.U_t = kernel.T, U.T
        self.U_zr_t, self.U_h_t = U[:, : 2 * M].T, U[:, 2 * M :].T

    def factors(self, x, h_prev, c_prev):
        M, act, rec = self.M, self.spec.activation, self.spec.recurrent_activation
        xw = x @ self.kernel + self.input_bias  # (N, B, 3M)
        if self.spec.reset_after:
            inner = h_prev @ self.U + self.recurrent_bias
            pre_zr = xw[..., : 2 * M] + inner[..., : 2 * M]
            r = _apply(rec, pre_zr[..., M:])
            pre_h = xw[..., 2 * M :] + r * inner[..., 2 * M :]
            to_r = inner[..., 2 * M :] * derivative(rec)(pre_zr[..., M:])  # through d_pre_h
        else:
            pre_zr = xw[..., : 2 * M] + h_prev @ self.U[:, : 2 * M]
            r = _apply(rec, pre_zr[..., M:])
            pre_h = xw[..., 2 * M :] + (r * h_prev) @ self.U[:, 2 * M :]
            to_r = h_prev * derivative(rec)(pre_zr[..., M:])  # through ∂/∂(r * h_{k-1})
        z = _apply(rec, pre_zr[..., :M])
        h_hat = _apply(act, pre_h)
        to_z = (h_prev - h_hat) * derivative(rec)(pre_zr[..., :M])
        to_h = (1 - z) * derivative(act)(pre_h)
        return _steps_first(to_z, to_h, z, r, to_r)

    def step(self, factors, adjoint_h, adjoint_c):
        to_z, to_h, z, r, to_r = factors  # (N, M) each
        N, P, M = adjoint_h.shape
        d = self.d_pre.reshape(N * P, 3 * M)
        d_pre = self.d_pre.reshape(N, P, 3, M)
        np.multiply(adjoint_h, to_z[:, None], out=d_pre[:, :, 0])
        np.multiply(adjoint_h, to_h[:, None], out=d_pre[:, :, 2])
        d_h = adjoint_h * z[:, None]
        if self.spec.reset_after:
            np.multiply(d_pre[:, :, 2], to_r[:, None], out=d_pre[:, :, 1])
            d_x = (d @ self.kernel_t).reshape(N, P, -1)
            d_pre[:, :, 2] *= r[:, None]  # now ∂/∂ of the recurrent kernel's h_hat part
            d_h += (d @ self.U_t).reshape(N, P, M)
        else:
            d_rh = (d[:, 2 * M :] @ self.U_h_t).reshape(N, P, M)  # ∂/∂(r * h_{k-1})
            np.multiply(d_rh, to_r[:, None], out=d_pre[:, :, 1])
            d_x = (d @ self.kernel_t).reshape(N, P, -1)
            d_h += d_rh * r[:, None] + (d[:, : 2 * M] @ self.U_zr_t).reshape(N, P, M)
        return d_x, d_h, None


class _Rnn:
    """A SimpleRNN's steps backwards: as _Lstm's, with no c."""

    def __init__(self, spec, kernel, U, bias, N, P):
        self.spec, self.kernel, self.U, self.bias = spec, kernel, U, bias
        self.D = kernel.shape[0]
        self.stacked = np.concatenate([U, kernel]).T  # (M, M + D)

    def factors(self, x, h_prev, c_prev):
        pre = x @ self.kernel + h_prev @ self.U + (0 if self.bias is None else self.bias)
        return _steps_first(derivative(self.spec.activation)(pre))

    def step(self, factors, adjoint_h, adjoint_c):
        (to_pre,) = factors
        N, P, M = adjoint_h.shape
        d_pre = (adjoint_h * to_pre[:, None]).reshape(N * P, M)
        both = (d_pre @ self.stacked).reshape(N, P, M + self.D)
        return both[:, :, M:], both[:, :, :M], None


CELLS = {"lstm": _Lstm, "gru": _Gru, "rnn": _Rnn}


def _apply(name: str, z: np.ndarray) -> np.ndarray:
    """activation(z) in float64."""
    return np.asarray(FUNCTIONS[canonical(name)](z), np.float64)
