"""When the numpy engine's recurrence runs compiled, and the driver that runs it.

The kernels (rnnstate.engines.kernels) are compiled with numba, which costs about half a second
to import and, the first time on a machine, some seconds to compile each kernel (then cached on
disk). So they run only where they pay: a long sequence (at least COMPILED_MIN_STEPS steps a
direction), whose numpy loop would spend several microseconds of Python a step, and a batch small
enough (at most COMPILED_MAX_ROWS sequences) that the kernels' own loops keep up with the BLAS
matrix product numpy calls. Everything else (and T=8, and --help) never imports numba.

RNNSTATE_COMPILED=never or =always in the environment overrides the choice (benchmarks and tests
use it to run both paths on the same input).

The kernels run the steps, the input projection x_t @ kernel + bias included, a bounded number
at a time (WORK_PER_CALL, at most STEPS_PER_CHUNK), so progress is reported and Ctrl-C is seen
between calls. This module imports neither numpy nor numba at load time:
rnnstate.budget asks it which path a run takes.
"""

import os

from rnnstate.activations import canonical

COMPILED_MIN_STEPS = 20_000  # below this, numba's import costs about what it saves
COMPILED_MAX_ROWS = 64  # sequences a step: beyond, numpy's BLAS product beats the kernels' loops
WORK_PER_CALL = 1 << 25  # multiply-adds (x W and h U) per kernel call: some 10-50 ms


def mode() -> str:
    """'auto', or 'always' / 'never' from RNNSTATE_COMPILED."""
    value = os.environ.get("RNNSTATE_COMPILED", "auto").strip().lower()
    return value if value in ("always", "never") else "auto"


def pays(steps: int, batch: int) -> bool:
    """Whether a direction of `steps` steps over `batch` sequences runs compiled."""
    chosen = mode()
    if chosen != "auto":
        return chosen == "always"
    return steps >= COMPILED_MIN_STEPS and batch <= COMPILED_MAX_ROWS


def run_direction(spec, step, states, mask, trace, progress, zero_output_for_mask):
    """rnnstate.engines.numpy.run_direction's work, compiled: the steps of `step` (a numpy
    engine step object, whose input, kernels, biases and states it reads) in the order given.
    mask (N, T) or None; returns o, the final states (the given buffers, updated) and the
    trace, as there."""
    import numpy as np

    from rnnstate.engines import STEPS_PER_CHUNK, kernels
    from rnnstate.engines.numpy import TRACE_NAMES

    xw = step.xw  # the input, kernel and input bias, as the numpy loop would project them
    N, T, D = xw.x.shape
    M = states[0].shape[1]
    dtype = step.U.dtype
    U = np.ascontiguousarray(step.U)
    W = np.ascontiguousarray(xw.kernel, dtype)
    b = np.zeros(U.shape[1], dtype) if xw.bias is None else np.ascontiguousarray(xw.bias, dtype)
    K = np.array(kernels.CONSTANTS, dtype=dtype)
    act = kernels.CODES[canonical(spec.activation)]
    rec = kernels.CODES[canonical(spec.recurrent_activation)]
    names = TRACE_NAMES[spec.cell]
    packed = np.stack(states)  # (S, N, M): h (, c)
    out = np.zeros((N, M), dtype) if mask is not None else states[0].copy()
    keep = np.ascontiguousarray(mask.T) if mask is not None else np.zeros((0, 0), bool)
    o = np.empty((T if spec.return_sequences else 0, N, M), dtype)  # time-major
    recorded = np.empty((T if trace else 0, len(names), N, M), dtype)  # time-major
    per_call = min(STEPS_PER_CHUNK, max(1, WORK_PER_CALL // (N * U.shape[1] * (D + M))))
    for first in range(0, T, per_call):
        last = min(T, first + per_call)
        chunk = slice(first, last)
        x = np.ascontiguousarray(xw.x[:, chunk].transpose(1, 0, 2), dtype)  # (C, N, D)
        keep_chunk = keep[chunk] if mask is not None else keep
        o_chunk = o[chunk] if spec.return_sequences else o
        trace_chunk = recorded[chunk] if trace else recorded
        if spec.cell == "lstm":
            kernels.lstm(x, W, b, U, packed, out, keep_chunk, o_chunk, trace_chunk, act, rec,
                         zero_output_for_mask, K)  # fmt: skip
        elif spec.cell == "gru":
            bias = np.ascontiguousarray(step.recurrent_bias, dtype)
            kernels.gru(x, W, b, U, bias, step.reset_after, packed, out, keep_chunk, o_chunk,
                        trace_chunk, act, rec, zero_output_for_mask, K)  # fmt: skip
        else:
            kernels.simple_rnn(x, W, b, U, packed, out, keep_chunk, o_chunk, trace_chunk, act,
                               zero_output_for_mask, K)  # fmt: skip
        if progress:
            progress("numpy", last)
    for buffer, final in zip(states, packed, strict=True):
        buffer[...] = final
    o_out = out if not spec.return_sequences else np.ascontiguousarray(o.transpose(1, 0, 2))
    gates = {
        name: np.ascontiguousarray(recorded[:, k].transpose(1, 0, 2))
        for k, name in enumerate(names)
        if trace
    }
    return o_out, states, gates
