"""The numpy engine: Keras's equations, step by step, with an optional trace of the gates.

Never imports TensorFlow or Keras. Everything is float32, as in Keras, unless run is given
another dtype (the exact engine runs these equations in float64). The input projection
x @ kernel + bias is computed for a chunk of steps at once (memory bounded whatever T is); each
step does only the recurrent part, in place on buffers made once.

Equations, as Keras implements them, with act = activation (default tanh) and
rec = recurrent_activation (default sigmoid, the logistic 1 / (1 + e^-z)):

    LSTM (blocks i f c o)       i, f, o = rec(x W + h_{t-1} U + b); g = act(...)
                                c_t = f * c_{t-1} + i * g;   h_t = o * act(c_t)
    GRU  (blocks z r h)         z = rec(x_z + h_{t-1} U_z + b_z)
                                r = rec(x_r + h_{t-1} U_r + b_r)
         reset_after=True       h_hat = act(x_h + r * (h_{t-1} U_h + b_rec_h))
         reset_after=False      h_hat = act(x_h + (r * h_{t-1}) U_h)
                                h_t = z * h_{t-1} + (1 - z) * h_hat
    SimpleRNN                   pre = x_t W + h_{t-1} U + b;   h_t = act(pre)

Around the cell, as Keras's RNN layer does: go_backwards reads the steps last to first and
returns o in that (processing) order; at a masked step the states are carried over and the
output repeats the previous output (zeros before the first); Bidirectional runs a forward and
a go_backwards copy, flips the backward o back to input order and merges the two.
"""

from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from rnnstate.engines import STEPS_PER_CHUNK, LayerOutputs, Progress, chunks, projection_steps
from rnnstate.engines.activations import apply
from rnnstate.spec import Spec
from rnnstate.weights import BidirectionalWeights, LayerWeights, Weights

# The per-step quantities --gates traces, per cell, in the order they are computed.
TRACE_NAMES: dict[str, tuple[str, ...]] = {
    "lstm": ("i", "f", "g", "og", "c_t", "h_t"),  # og: the output gate, not the output o
    "gru": ("z", "r", "h_hat", "h_t"),
    "rnn": ("pre_activation", "h_t"),
}


def steps(
    T: int, progress: Progress | None, steps_per_chunk: int = STEPS_PER_CHUNK
) -> Iterator[int]:
    """range(T), reporting progress("numpy", steps done) after each chunk of steps."""
    for start, stop in chunks(T, steps_per_chunk):
        yield from range(start, stop)
        if progress:
            progress("numpy", stop)


class InputProjection:
    """x_t @ kernel (+ bias) for every step, computed a chunk of steps at a time, so memory stays
    bounded (projection_steps x N x kM floats) whatever T and N are. projection[t] is (N, kM)."""

    def __init__(self, x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None) -> None:
        self.x, self.kernel, self.bias = x, kernel, bias  # x (N, T, D)
        self.start, self.block = 0, np.empty((0,), x.dtype)
        float32_steps = projection_steps(x.shape[0], x.shape[2], kernel.shape[1])
        self.steps = max(1, float32_steps * 4 // x.itemsize)  # as many bytes in float64

    def __getitem__(self, t: int) -> np.ndarray:
        if not self.start <= t < self.start + len(self.block):
            N, T, D = self.x.shape
            self.start = t - t % self.steps
            stop = min(T, self.start + self.steps)
            chunk = self.x[:, self.start : stop].transpose(1, 0, 2).reshape(-1, D)  # (C*N, D)
            block = chunk @ self.kernel  # (C*N, kM)
            if self.bias is not None:
                block += self.bias
            self.block = block.reshape(stop - self.start, N, -1)  # (C, N, kM), time-major
        return self.block[t - self.start]


class LSTMStep:
    """One LSTM step in place: gate blocks i f c o, unit forget bias already in the bias.

    With Keras's default activations, all four in one pass, since sigmoid(z) = 0.5 + 0.5 *
    tanh(z / 2): gates = tanh(z * scale) * scale + shift, with (scale, shift) = (1/2, 1/2) on
    the sigmoid blocks i f o and (1, 0) on the tanh block g.
    """

    def __init__(self, x: np.ndarray, w: Weights, states: list[np.ndarray], spec: Spec) -> None:
        M = w.units
        N = x.shape[0]
        self.activation, self.recurrent_activation = spec.activation, spec.recurrent_activation
        self.fused = (self.activation, self.recurrent_activation) == ("tanh", "sigmoid")
        self.xw = InputProjection(x, w.kernel, w.bias)  # [t] -> (N, 4M)
        self.U = w.recurrent_kernel  # (M, 4M)
        is_g = np.arange(4 * M) // M == 2
        self.scale = np.where(is_g, 1.0, 0.5).astype(x.dtype)
        self.shift = np.where(is_g, 0.0, 0.5).astype(x.dtype)
        self.h, self.c = states  # h_{t-1}, c_{t-1}; then h_t, c_t
        self.gates = np.empty((N, 4 * M), dtype=x.dtype)  # z, then the activations
        self.i, self.f, self.g, self.o = (self.gates[:, k * M : (k + 1) * M] for k in range(4))
        self.input_g = np.empty((N, M), dtype=x.dtype)  # i * g

    def __call__(self, t: int) -> None:
        gates = self.gates
        np.matmul(self.h, self.U, out=gates)
        gates += self.xw[t]  # z
        if self.fused:
            gates *= self.scale
            np.tanh(gates, out=gates)
            gates *= self.scale
            gates += self.shift  # i, f, o = sigmoid(z_i, z_f, z_o); g = tanh(z_g)
        else:
            for block in (self.i, self.f, self.o):
                apply(self.recurrent_activation, block)  # i, f, o = rec(z_i, z_f, z_o)
            apply(self.activation, self.g)  # g = act(z_g)
        self.c *= self.f
        np.multiply(self.i, self.g, out=self.input_g)
        self.c += self.input_g  # c_t = f * c_{t-1} + i * g
        apply(self.activation, self.c, out=self.h)
        self.h *= self.o  # h_t = o * act(c_t)

    def trace(self) -> dict[str, np.ndarray]:
        return {"i": self.i, "f": self.f, "g": self.g, "og": self.o, "c_t": self.c, "h_t": self.h}

    def trace_blocks(self) -> list[np.ndarray]:
        """The trace as the arrays that hold it, each (N, kM): i f g og, c_t, h_t."""
        return [self.gates, self.c, self.h]


class GRUStep:
    """One GRU step in place: gate blocks z r h; bias (2, 3M) with reset_after, else (3M,)."""

    def __init__(self, x: np.ndarray, w: Weights, states: list[np.ndarray], spec: Spec) -> None:
        M = w.units
        N = x.shape[0]
        reset_after = spec.reset_after
        self.activation, self.recurrent_activation = spec.activation, spec.recurrent_activation
        zeros = np.zeros(3 * M, dtype=x.dtype)
        if w.bias is None:
            input_bias, self.recurrent_bias = None, zeros
        elif reset_after:
            input_bias, self.recurrent_bias = w.bias[0], w.bias[1]
        else:
            input_bias, self.recurrent_bias = w.bias, zeros
        self.reset_after = reset_after
        self.M = M
        self.xw = InputProjection(x, w.kernel, input_bias)  # [t] -> (N, 3M)
        self.U = w.recurrent_kernel  # (M, 3M)
        self.U_zr, self.U_h = self.U[:, : 2 * M], self.U[:, 2 * M :]
        (self.h,) = states  # h_{t-1}, then h_t
        self.inner = np.empty((N, 3 * M), dtype=x.dtype)  # h_{t-1} U (+ recurrent bias)
        self.zr = np.empty((N, 2 * M), dtype=x.dtype)
        self.z, self.r = self.zr[:, :M], self.zr[:, M:]
        self.h_hat = np.empty((N, M), dtype=x.dtype)
        self.keep = np.empty((N, M), dtype=x.dtype)  # (1 - z) * h_hat

    def __call__(self, t: int) -> None:
        M, x_t, inner, h = self.M, self.xw[t], self.inner, self.h
        if self.reset_after:
            np.matmul(h, self.U, out=inner)
            inner += self.recurrent_bias
            np.add(x_t[:, : 2 * M], inner[:, : 2 * M], out=self.zr)
            apply(self.recurrent_activation, self.zr)  # z, r = rec(x_z + h U_z + b_z), rec(...)
            np.multiply(self.r, inner[:, 2 * M :], out=self.h_hat)
        else:
            np.matmul(h, self.U_zr, out=inner[:, : 2 * M])
            np.add(x_t[:, : 2 * M], inner[:, : 2 * M], out=self.zr)
            apply(self.recurrent_activation, self.zr)  # z, r = rec(x_z + h U_z), rec(x_r + h U_r)
            np.matmul(self.r * h, self.U_h, out=self.h_hat)
        self.h_hat += x_t[:, 2 * M :]
        apply(self.activation, self.h_hat)  # act(x_h + r * (h U_h + b)) or act(x_h + (r h) U_h)
        np.subtract(1, self.z, out=self.keep)
        self.keep *= self.h_hat
        h *= self.z
        h += self.keep  # h_t = z * h_{t-1} + (1 - z) * h_hat

    def trace(self) -> dict[str, np.ndarray]:
        return {"z": self.z, "r": self.r, "h_hat": self.h_hat, "h_t": self.h}

    def trace_blocks(self) -> list[np.ndarray]:
        """The trace as the arrays that hold it, each (N, kM): z r, h_hat, h_t."""
        return [self.zr, self.h_hat, self.h]


class SimpleRNNStep:
    """One SimpleRNN step in place: h_t = act(x_t W + h_{t-1} U + b)."""

    def __init__(self, x: np.ndarray, w: Weights, states: list[np.ndarray], spec: Spec) -> None:
        self.activation = spec.activation
        self.xw = InputProjection(x, w.kernel, w.bias)  # [t] -> (N, M)
        self.U = w.recurrent_kernel  # (M, M)
        (self.h,) = states  # h_{t-1}, then h_t
        self.pre = np.empty_like(self.h)

    def __call__(self, t: int) -> None:
        np.matmul(self.h, self.U, out=self.pre)
        self.pre += self.xw[t]  # pre = x_t W + b + h_{t-1} U
        apply(self.activation, self.pre, out=self.h)  # h_t = act(pre)

    def trace(self) -> dict[str, np.ndarray]:
        return {"pre_activation": self.pre, "h_t": self.h}

    def trace_blocks(self) -> list[np.ndarray]:
        """The trace as the arrays that hold it, each (N, M): pre_activation, h_t."""
        return [self.pre, self.h]


def make_step(spec: Spec, x: np.ndarray, w: Weights, states: list[np.ndarray]):
    """The step function of spec.cell over x (N, T, D), updating `states` in place."""
    step = {"lstm": LSTMStep, "gru": GRUStep, "rnn": SimpleRNNStep}[spec.cell]
    return step(x, w, states, spec)


def masked_step(
    step: Callable[[int], None],
    t: int,
    states: list[np.ndarray],
    skipped: np.ndarray,
    previous: np.ndarray | float,
) -> np.ndarray:
    """Step t (`step`, from make_step) as Keras takes it under a mask: skipped (N, 1) is True
    for the sequences that skip it, whose states (each (N, M), updated in place) carry over
    and whose output is `previous` ((N, M), or 0.0). Returns the step's output (N, M)."""
    before = [state.copy() for state in states]
    step(t)
    for state, kept in zip(states, before, strict=True):
        np.copyto(state, kept, where=skipped)  # masked: the states carry over
    return np.where(skipped, previous, states[0])  # masked: the output repeats


def run_direction(
    spec: Spec,
    x: np.ndarray,
    w: Weights,
    states: list[np.ndarray],
    mask: np.ndarray | None,
    trace: bool,
    progress: Progress | None,
    zero_output_for_mask: bool = False,
) -> tuple[np.ndarray, list[np.ndarray], dict[str, np.ndarray]]:
    """Run the steps of x (N, T, D) in the order given, from `states` (updated in place).

    mask (N, T), True where a step counts; a masked step's output repeats the previous output,
    or is zeros with zero_output_for_mask (as Bidirectional sets it with return_sequences).
    Returns o ((N, T, M) or the last output (N, M)), the final states, and the trace (each
    (N, T, M)) when asked; all in processing order.
    """
    N, T, _ = x.shape
    M = w.units
    step = make_step(spec, x, w, states)
    from rnnstate.engines import compiled  # numpy only; numba only if it runs

    if compiled.pays(spec, T, N, x.dtype.name):  # a long run: the same steps as below, compiled
        args = (states, mask, trace, progress, zero_output_for_mask)
        return compiled.run_direction(spec, step, *args)
    o = np.empty((T, N, M), dtype=x.dtype) if spec.return_sequences else None  # time-major
    recorded = {n: np.empty((T, N, M), x.dtype) for n in TRACE_NAMES[spec.cell]} if trace else {}
    output = states[0]  # the output of the step just done: h_t, unless masked
    if mask is not None:
        masked = ~mask.T[:, :, None]  # (T, N, 1), True where the step is skipped
        output = np.zeros((N, M), dtype=x.dtype)  # Keras: zeros before the first output
    for t in steps(T, progress):
        if mask is None:
            step(t)
        else:
            previous = 0.0 if zero_output_for_mask else output
            output = masked_step(step, t, states, masked[t], previous)
        if o is not None:
            o[t] = output
        for name, value in step.trace().items() if trace else ():
            recorded[name][t] = value
    o_out = output.copy() if o is None else np.ascontiguousarray(o.transpose(1, 0, 2))
    gates = {name: np.ascontiguousarray(v.transpose(1, 0, 2)) for name, v in recorded.items()}
    return o_out, states, gates


def merge(mode: str, forward: np.ndarray, backward: np.ndarray) -> dict[str, np.ndarray]:
    """Keras Bidirectional's merge of the two halves of o (backward already in input order)."""
    if mode == "none":
        return {"o_fw": forward, "o_bw": backward}
    merged = {
        "concat": lambda: np.concatenate([forward, backward], axis=-1),
        "sum": lambda: forward + backward,
        "ave": lambda: (forward + backward) / 2,
        "mul": lambda: forward * backward,
    }[mode]()
    return {"o": merged.astype(forward.dtype)}


def initial_states(
    spec: Spec, N: int, M: int, given: dict[str, np.ndarray] | None, suffix: str, dtype=np.float32
):
    """Fresh state buffers (N, M) of `dtype`: zeros, or copies of the given states named with
    `suffix`."""
    names = ("h", "c") if spec.cell == "lstm" else ("h",)
    if given is None:
        return [np.zeros((N, M), dtype=dtype) for _ in names]
    return [np.array(given[name + suffix], dtype=dtype) for name in names]


def weights_in(weights: LayerWeights, dtype) -> LayerWeights:
    """The weights as arrays of `dtype` (the same object when they already are)."""
    if isinstance(weights, BidirectionalWeights):
        return BidirectionalWeights(
            weights_in(weights.forward, dtype), weights_in(weights.backward, dtype)
        )
    if weights.kernel.dtype == dtype:
        return weights
    arrays = [None if a is None else np.asarray(a, dtype) for a in
              (weights.kernel, weights.recurrent_kernel, weights.bias)]  # fmt: skip
    return replace(weights, kernel=arrays[0], recurrent_kernel=arrays[1], bias=arrays[2])


def run(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None = None,
    mask: np.ndarray | None = None,
    trace: bool = False,
    progress: Progress | None = None,
    dtype: type = np.float32,
) -> LayerOutputs:
    """Run x (N, T, D) through the layer in numpy, as Keras would with return_state=True.

    initial_state: states by name (h, c / h_fw, c_fw, h_bw, c_bw), each (N, M); mask (N, T),
    True where a step counts. With `trace`, LayerOutputs.gates holds TRACE_NAMES[spec.cell]
    (suffixed _fw and _bw when bidirectional), each (N, T, M), in the order of o's rows.
    `dtype`: what every array is computed and returned in (float64 for the exact engine).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by the caller
        return run_directions(spec, x, weights, initial_state, mask, trace, progress, dtype)


def run_directions(
    spec, x, weights, initial_state, mask, trace, progress, dtype=np.float32
) -> LayerOutputs:
    """run, for one direction or both (arguments as there)."""
    x = np.asarray(x, dtype=dtype)
    weights = weights_in(weights, dtype)
    if mask is not None:
        x = x * mask[:, :, None]  # as Keras's Masking layer passes it on
    N = x.shape[0]
    names = spec.state_names
    if not isinstance(weights, BidirectionalWeights):
        M = weights.units
        backwards = spec.backwards
        xs, ms = (x[:, ::-1], None if mask is None else mask[:, ::-1]) if backwards else (x, mask)
        states = initial_states(spec, N, M, initial_state, "", dtype)
        o, states, gates = run_direction(spec, xs, weights, states, ms, trace, progress)
        return LayerOutputs({"o": o}, dict(zip(names, states, strict=True)), gates or None)
    M = weights.units
    forward_states = initial_states(spec, N, M, initial_state, "_fw", dtype)
    backward_states = initial_states(spec, N, M, initial_state, "_bw", dtype)
    reversed_mask = None if mask is None else mask[:, ::-1]
    zeros = spec.return_sequences  # Keras's Bidirectional sets zero_output_for_mask so
    o_fw, forward_states, gates_fw = run_direction(
        spec, x, weights.forward, forward_states, mask, trace, progress, zeros
    )
    o_bw, backward_states, gates_bw = run_direction(
        spec, x[:, ::-1], weights.backward, backward_states, reversed_mask, trace, progress, zeros
    )
    if spec.return_sequences:  # the backward half back in input order, as Keras flips it
        o_bw = np.ascontiguousarray(o_bw[:, ::-1])
    gates_bw = {name: np.ascontiguousarray(v[:, ::-1]) for name, v in gates_bw.items()}
    gates = {f"{n}_fw": v for n, v in gates_fw.items()} | {
        f"{n}_bw": v for n, v in gates_bw.items()
    }
    states = dict(zip(names, [*forward_states, *backward_states], strict=True))
    return LayerOutputs(merge(spec.merge, o_fw, o_bw), states, gates or None)
