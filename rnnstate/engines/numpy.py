"""The numpy engine: Keras's equations, step by step, with an optional trace of the gates.

Never imports TensorFlow or Keras. Everything is float32, as in Keras. The input projection
x @ kernel + bias is computed for all steps at once; the loop does only the recurrent part.

Equations, as Keras implements them (sigmoid is the logistic 1 / (1 + e^-z)):

    LSTM (blocks i f c o)       i, f, o = sigmoid(...); g = tanh(...)
                                c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)
    GRU  (blocks z r h)         z = sigmoid(x_z + h_{t-1} U_z + b_z)
                                r = sigmoid(x_r + h_{t-1} U_r + b_r)
         reset_after=True       h_hat = tanh(x_h + r * (h_{t-1} U_h + b_rec_h))
         reset_after=False      h_hat = tanh(x_h + (r * h_{t-1}) U_h)
                                h_t = z * h_{t-1} + (1 - z) * h_hat
    SimpleRNN                   pre = x_t W + h_{t-1} U + b;   h_t = tanh(pre)
"""

from collections.abc import Iterator

import numpy as np

from rnnstate.engines import STEPS_PER_CHUNK, LayerOutputs, Progress, chunks
from rnnstate.spec import Spec
from rnnstate.weights import Weights

# The per-step quantities --gates traces, per cell, in the order they are computed.
TRACE_NAMES: dict[str, tuple[str, ...]] = {
    "lstm": ("i", "f", "g", "o", "c_t", "h_t"),
    "gru": ("z", "r", "h_hat", "h_t"),
    "rnn": ("pre_activation", "h_t"),
}


def input_projection(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """x @ kernel (+ bias) for every step at once, time-major: (N, T, D) -> (T, N, kM)."""
    N, T, D = x.shape
    projected = x.transpose(1, 0, 2).reshape(T * N, D) @ kernel  # (T*N, kM)
    if bias is not None:
        projected += bias
    return projected.reshape(T, N, -1)


def steps(
    T: int, progress: Progress | None, steps_per_chunk: int = STEPS_PER_CHUNK
) -> Iterator[int]:
    """range(T), reporting progress("numpy", steps done) after each chunk of steps."""
    for start, stop in chunks(T, steps_per_chunk):
        yield from range(start, stop)
        if progress:
            progress("numpy", stop)


class Recorder:
    """Collects o (every step, or the last) and, when tracing, each named quantity per step."""

    def __init__(
        self, names: tuple[str, ...], T: int, N: int, M: int, sequences: bool, trace: bool
    ):
        self.o = np.empty((T, N, M), dtype=np.float32) if sequences else None  # time-major
        self.trace = (
            {name: np.empty((T, N, M), dtype=np.float32) for name in names} if trace else {}
        )

    def step(self, t: int, h: np.ndarray, **quantities: np.ndarray) -> None:
        """Record h as o[t] and, when tracing, every quantity at step t."""
        if self.o is not None:
            self.o[t] = h
        for name, value in quantities.items():
            self.trace[name][t] = value

    def outputs(self, h: np.ndarray, c: np.ndarray | None) -> LayerOutputs:
        """o (N, T, M) or (N, M), h, c and the trace, each (N, T, M), batch-major like Keras."""
        o = h.copy() if self.o is None else np.ascontiguousarray(self.o.transpose(1, 0, 2))
        gates = {k: np.ascontiguousarray(v.transpose(1, 0, 2)) for k, v in self.trace.items()}
        return LayerOutputs(o, h, c, gates or None)


def run_lstm(
    x: np.ndarray, w: Weights, record: Recorder, progress: Progress | None
) -> LayerOutputs:
    """LSTM over x (N, T, D): gate blocks i f c o, unit forget bias already in w.bias.

    The loop works in place on buffers made once: per step, z = x_t W + b + h_{t-1} U, then all
    four activations in one pass, since sigmoid(z) = 0.5 + 0.5 * tanh(z / 2):
    gates = tanh(z * scale) * scale + shift, with (scale, shift) = (1/2, 1/2) on the sigmoid
    blocks i f o and (1, 0) on the tanh block g.
    """
    N, T, _ = x.shape
    M = w.units
    xw = input_projection(x, w.kernel, w.bias)  # (T, N, 4M)
    U = w.recurrent_kernel  # (M, 4M)
    is_g = np.arange(4 * M) // M == 2
    scale = np.where(is_g, 1.0, 0.5).astype(np.float32)
    shift = np.where(is_g, 0.0, 0.5).astype(np.float32)
    h = np.zeros((N, M), dtype=np.float32)  # h_{t-1}, then h_t
    c = np.zeros((N, M), dtype=np.float32)  # c_{t-1}, then c_t
    gates = np.empty((N, 4 * M), dtype=np.float32)  # z, then the activations
    i, f, g, o = (gates[:, k * M : (k + 1) * M] for k in range(4))  # views, (N, M) each
    input_gate_g = np.empty((N, M), dtype=np.float32)  # i * g
    tracing = bool(record.trace)
    for t in steps(T, progress):
        np.matmul(h, U, out=gates)
        gates += xw[t]  # z
        gates *= scale
        np.tanh(gates, out=gates)
        gates *= scale
        gates += shift  # i, f, o = sigmoid(z_i, z_f, z_o); g = tanh(z_g)
        c *= f
        np.multiply(i, g, out=input_gate_g)
        c += input_gate_g  # c_t = f * c_{t-1} + i * g
        np.tanh(c, out=h)
        h *= o  # h_t = o * tanh(c_t)
        if tracing:
            record.step(t, h, i=i, f=f, g=g, o=o, c_t=c, h_t=h)
        else:
            record.step(t, h)
    return record.outputs(h, c)


def in_place_sigmoid(z: np.ndarray) -> np.ndarray:
    """z <- sigmoid(z) without new arrays: 0.5 + 0.5 * tanh(z / 2). Returns z."""
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def run_gru(
    x: np.ndarray, w: Weights, record: Recorder, reset_after: bool, progress: Progress | None
) -> LayerOutputs:
    """GRU over x (N, T, D): gate blocks z r h; bias (2, 3M) with reset_after, else (3M,).

    The loop works in place on buffers made once; each line names the equation it completes.
    """
    N, T, _ = x.shape
    M = w.units
    if w.bias is None:
        input_bias, recurrent_bias = None, np.zeros(3 * M, dtype=np.float32)
    elif reset_after:
        input_bias, recurrent_bias = w.bias[0], w.bias[1]
    else:
        input_bias, recurrent_bias = w.bias, np.zeros(3 * M, dtype=np.float32)
    xw = input_projection(x, w.kernel, input_bias)  # (T, N, 3M)
    U = w.recurrent_kernel  # (M, 3M)
    U_zr, U_h = U[:, : 2 * M], U[:, 2 * M :]
    h = np.zeros((N, M), dtype=np.float32)  # h_{t-1}, then h_t
    inner = np.empty((N, 3 * M), dtype=np.float32)  # h_{t-1} U (+ recurrent bias)
    zr = np.empty((N, 2 * M), dtype=np.float32)
    z, r = zr[:, :M], zr[:, M:]  # views, (N, M) each
    h_hat = np.empty((N, M), dtype=np.float32)
    keep = np.empty((N, M), dtype=np.float32)  # (1 - z) * h_hat
    tracing = bool(record.trace)
    for t in steps(T, progress):
        x_t = xw[t]
        if reset_after:
            np.matmul(h, U, out=inner)
            inner += recurrent_bias
            np.add(x_t[:, : 2 * M], inner[:, : 2 * M], out=zr)
            in_place_sigmoid(zr)  # z, r = sigmoid(x_z + h U_z + b_z), sigmoid(x_r + h U_r + b_r)
            np.multiply(r, inner[:, 2 * M :], out=h_hat)
        else:
            np.matmul(h, U_zr, out=inner[:, : 2 * M])
            np.add(x_t[:, : 2 * M], inner[:, : 2 * M], out=zr)
            in_place_sigmoid(zr)  # z, r = sigmoid(x_z + h U_z), sigmoid(x_r + h U_r)
            np.matmul(r * h, U_h, out=h_hat)
        h_hat += x_t[:, 2 * M :]
        np.tanh(h_hat, out=h_hat)  # h_hat = tanh(x_h + r * (h U_h + b)) or tanh(x_h + (r h) U_h)
        np.subtract(1, z, out=keep)
        keep *= h_hat
        h *= z
        h += keep  # h_t = z * h_{t-1} + (1 - z) * h_hat
        if tracing:
            record.step(t, h, z=z, r=r, h_hat=h_hat, h_t=h)
        else:
            record.step(t, h)
    return record.outputs(h, None)


def run_simple_rnn(
    x: np.ndarray, w: Weights, record: Recorder, progress: Progress | None
) -> LayerOutputs:
    """SimpleRNN over x (N, T, D): h_t = tanh(x_t W + h_{t-1} U + b)."""
    N, T, _ = x.shape
    xw = input_projection(x, w.kernel, w.bias)  # (T, N, M)
    U = w.recurrent_kernel  # (M, M)
    h = np.zeros((N, w.units), dtype=np.float32)  # h_{t-1}, then h_t
    pre = np.empty_like(h)
    tracing = bool(record.trace)
    for t in steps(T, progress):
        np.matmul(h, U, out=pre)
        pre += xw[t]  # pre = x_t W + b + h_{t-1} U
        np.tanh(pre, out=h)  # h_t = tanh(pre)
        if tracing:
            record.step(t, h, pre_activation=pre, h_t=h)
        else:
            record.step(t, h)
    return record.outputs(h, None)


def run(
    spec: Spec,
    x: np.ndarray,
    weights: Weights,
    trace: bool = False,
    progress: Progress | None = None,
) -> LayerOutputs:
    """Run x (N, T, D) through the layer in numpy; with `trace`, LayerOutputs.gates holds the
    per-step quantities of TRACE_NAMES[spec.cell], each (N, T, M). `progress` is called after
    each chunk of steps."""
    N, T, _ = x.shape
    record = Recorder(TRACE_NAMES[spec.cell], T, N, weights.units, spec.return_sequences, trace)
    x = np.asarray(x, dtype=np.float32)
    if spec.cell == "lstm":
        return run_lstm(x, weights, record, progress)
    if spec.cell == "gru":
        return run_gru(x, weights, record, spec.reset_after, progress)
    return run_simple_rnn(x, weights, record, progress)
