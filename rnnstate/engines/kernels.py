"""The numpy engine's recurrence compiled with numba: one kernel per cell, run on a chunk of
steps, each step's input projection x_t @ kernel + bias included (numpy's BLAS is slow on a
product whose inner size is D, often under 10, and a chunk of it would be memory to keep).

Imported only by rnnstate.engines.compiled, and only for runs where compiling pays: importing
numba alone takes about half a second. Each kernel is generic over the float type (numba
compiles one version per signature: float32 for the numpy engine, float64 for the exact one)
and cached on disk (cache=True) where a cache folder can be written
(rnnstate.engines.compiled.cache_folder).

The equations are those of rnnstate.engines.numpy, in the same float type; the sums x_t W +
h_{t-1} U are taken in another order than BLAS's and float32 tanh is a rational approximation
(tanh_of_type), so results agree with the numpy loop within float32 rounding, not bit for bit.
Constants reach the kernels as an array of the run's float type (CONSTANTS), because numba
would make float64 of a literal like 0.5.

Arguments shared by the kernels, for a chunk of C steps, N sequences, M units, k gate blocks:
    x      (C, N, D)    the input, time-major
    W, b   (D, kM), (kM,)  the kernel and the input bias (zeros without one)
    U      (M, kM)      the recurrent kernel
    states (S, N, M)    h (and c), updated in place
    out    (N, M)       the output of the last step: h_t, or with a mask what Keras returns
    keep   (C, N) bool  True where a step counts; shape (0, 0) without a mask
    o      (C, N, M)    outputs, written when o.shape[0] > 0
    trace  (C, K, N, M) the gate trace (TRACE_NAMES order), written when trace.shape[0] > 0
    act, rec            activation codes (CODES)
    zero_masked         a masked step outputs zeros (Bidirectional with return_sequences)
    K                   CONSTANTS in the run's float type
"""

import math

import numba
import numpy as np
from numba.extending import overload

from rnnstate.activations import ELEMENTWISE
from rnnstate.engines.activations import (
    LEAKY_SLOPE,
    SELU_ALPHA,
    SELU_SCALE,
    SHRINK_THRESHOLD,
    SQUAREPLUS_B,
)
from rnnstate.engines.compiled import cache_folder

CODES: dict[str, int] = {name: code for code, name in enumerate(ELEMENTWISE)}
(TANH, SIGMOID, HARD_SIGMOID, RELU, RELU6, LEAKY_RELU, LINEAR, ELU, SELU, CELU, SOFTSIGN,
 SOFTPLUS, SILU, GELU, EXPONENTIAL, HARD_SILU, MISH, LOG_SIGMOID, HARD_TANH, SQUAREPLUS,
 SOFT_SHRINK, HARD_SHRINK, SPARSE_PLUS, SPARSE_SIGMOID, TANH_SHRINK) = range(25)  # fmt: skip
assert len(CODES) == 25 and CODES["tanh_shrink"] == TANH_SHRINK and CODES["gelu"] == GELU

# Indices into CONSTANTS.
ZERO, HALF, ONE, THREE, SIX, LEAKY, ALPHA, SCALE, SHRINK, SQUARE_B, QUARTER, SQRT2 = range(12)
CONSTANTS = (0.0, 0.5, 1.0, 3.0, 6.0, LEAKY_SLOPE, SELU_ALPHA, SELU_SCALE, SHRINK_THRESHOLD,
             SQUAREPLUS_B, 0.25, math.sqrt(2))  # fmt: skip


# error_model="numpy": a division by zero gives inf or nan as in numpy (no exception check,
# which would also stop LLVM from vectorizing the loops).
jit = numba.njit(cache=cache_folder() is not None, nogil=True, error_model="numpy")


def tanh(z):
    """tanh of one value in its own float type (compiled through the overload below)."""
    return math.tanh(z)


@overload(tanh)
def tanh_of_type(z):
    """math.tanh for float64; for float32, Eigen's 13/6 rational approximation on [-9, 9]
    (TensorFlow's float32 tanh on CPU), evaluated in float64 and rounded: within 2.1 ulp of
    tanh, never beyond +-1, and vectorized by LLVM where libm's tanhf is a call per value."""
    if z != numba.types.float32:
        return lambda z: math.tanh(z)

    def rational(z):
        x = min(max(float(z), -9.0), 9.0)
        x2 = x * x
        p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
        p = x2 * p - 8.60467152213735e-11
        p = x2 * p + 5.12229709037114e-08
        p = x2 * p + 1.48572235717979e-05
        p = x2 * p + 6.37261928875436e-04
        p = x2 * p + 4.89352455891786e-03
        q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
        q = x2 * q + 2.26843463243900e-03
        q = x2 * q + 4.89352518554385e-03
        return np.float32(x * p / q)

    return rational


@jit
def softplus(z, K):
    """log(1 + e^z) without overflow, as numpy's logaddexp(0, z)."""
    return max(z, K[ZERO]) + math.log1p(math.exp(-abs(z)))


@jit
def hard_sigmoid(z, K):
    """relu6(z + 3) / 6, Keras 3's."""
    return min(max(z + K[THREE], K[ZERO]), K[SIX]) / K[SIX]


@jit
def sigmoid(z, K):
    """0.5 + 0.5 tanh(z / 2), as the numpy engine computes it."""
    return K[HALF] + K[HALF] * tanh(K[HALF] * z)


@jit
def activate(code, z, K):
    """The element-wise activation `code` of one value z, in z's float type."""
    if code == TANH:
        return tanh(z)
    if code == SIGMOID:
        return sigmoid(z, K)
    if code == HARD_SIGMOID:
        return hard_sigmoid(z, K)
    if code == RELU:
        return max(z, K[ZERO])
    if code == RELU6:
        return min(max(z, K[ZERO]), K[SIX])
    if code == LEAKY_RELU:
        return z if z > K[ZERO] else K[LEAKY] * z
    if code == LINEAR:
        return z
    if code == ELU:
        return z if z > K[ZERO] else math.expm1(min(z, K[ZERO]))
    if code == SELU:
        return K[SCALE] * (z if z > K[ZERO] else K[ALPHA] * math.expm1(min(z, K[ZERO])))
    if code == CELU:
        return max(z, K[ZERO]) + math.expm1(min(z, K[ZERO]))
    if code == SOFTSIGN:
        return z / (K[ONE] + abs(z))
    if code == SOFTPLUS:
        return softplus(z, K)
    if code == SILU:
        return z * sigmoid(z, K)
    if code == GELU:  # in z's type (numpy's is float64 rounded to float32: within rounding)
        return K[HALF] * z * (K[ONE] + math.erf(z / K[SQRT2]))
    if code == EXPONENTIAL:
        return math.exp(z)
    if code == HARD_SILU:
        return z * hard_sigmoid(z, K)
    if code == MISH:
        return z * tanh(softplus(z, K))
    if code == LOG_SIGMOID:
        return -softplus(-z, K)
    if code == HARD_TANH:
        return min(max(z, -K[ONE]), K[ONE])
    if code == SQUAREPLUS:
        return (z + math.sqrt(z * z + K[SQUARE_B])) / (K[ONE] + K[ONE])
    if code == SOFT_SHRINK:
        if z > K[SHRINK]:
            return z - K[SHRINK]
        return z + K[SHRINK] if z < -K[SHRINK] else K[ZERO]
    if code == HARD_SHRINK:
        return z if abs(z) > K[SHRINK] else K[ZERO]
    if code == SPARSE_PLUS:
        if z <= -K[ONE]:
            return K[ZERO]
        return K[QUARTER] * (z + K[ONE]) ** 2 if z < K[ONE] else z
    if code == SPARSE_SIGMOID:
        if z <= -K[ONE]:
            return K[ZERO]
        return K[ONE] if z >= K[ONE] else K[HALF] * (z + K[ONE])
    return z - tanh(z)  # TANH_SHRINK


@jit
def apply(code, z, start, stop, K):
    """z[start:stop] <- activation `code` of it, in place: one loop per activation, so each
    loop is vectorized where it can be."""
    if code == TANH:
        for j in range(start, stop):
            z[j] = tanh(z[j])
    elif code == SIGMOID:
        for j in range(start, stop):
            z[j] = sigmoid(z[j], K)
    else:
        for j in range(start, stop):
            z[j] = activate(code, z[j], K)


@jit
def project(x, t, W, b, xw):
    """xw <- x[t] @ W + b: (N, D) @ (D, kM) + (kM,) -> (N, kM)."""
    for n in range(x.shape[1]):
        for j in range(W.shape[1]):
            xw[n, j] = b[j]
        for d in range(x.shape[2]):
            x_d = x[t, n, d]
            for j in range(W.shape[1]):
                xw[n, j] += x_d * W[d, j]


@jit
def recurrent_sum(h, U, acc):
    """acc <- h @ U: (N, M) @ (M, kM) -> (N, kM), row by row of U (each row read once a step)
    and along memory in the inner loop, which LLVM vectorizes."""
    for n in range(acc.shape[0]):
        for j in range(acc.shape[1]):
            acc[n, j] = 0
    for k in range(U.shape[0]):
        for n in range(h.shape[0]):
            h_nk = h[n, k]
            for j in range(U.shape[1]):
                acc[n, j] += h_nk * U[k, j]


@jit
def finish_step(t, n, new, states, out, keep, o, zero_masked, K):
    """Commit step t of sequence n: the states (S, N, M) <- new (S, M) unless the step is
    masked; out[n] <- the step's output (h_t, or for a masked step the previous output or
    zeros); o[t, n] <- out[n] when o is kept."""
    M = out.shape[1]
    if keep.shape[0] == 0 or keep[t, n]:
        for s in range(states.shape[0]):
            for m in range(M):
                states[s, n, m] = new[s, m]
        for m in range(M):
            out[n, m] = new[0, m]
    elif zero_masked:
        for m in range(M):
            out[n, m] = K[ZERO]
    if o.shape[0] > 0:
        for m in range(M):
            o[t, n, m] = out[n, m]


@jit
def record(trace, t, k, n, values, start):
    """trace[t, k, n, :] <- values[start : start + M]: each copy an explicit loop, as every
    copy in these kernels (numba's slice assignment takes seconds to compile, each kind)."""
    for m in range(trace.shape[3]):
        trace[t, k, n, m] = values[start + m]


@jit
def lstm(x, W, b, U, states, out, keep, o, trace, act, rec, zero_masked, K):
    """LSTM steps, gate blocks i f c o: c_t = f c_{t-1} + i g; h_t = o act(c_t).
    states (2, N, M): h, c."""
    C, N, _ = x.shape
    M, G = U.shape
    gates = np.empty((N, G), dtype=U.dtype)  # z, then the gates i f g o
    xw = np.empty((N, G), dtype=U.dtype)
    new = np.empty((2, M), dtype=U.dtype)  # h_t, c_t
    h, c = states[0], states[1]
    for t in range(C):
        recurrent_sum(h, U, gates)
        project(x, t, W, b, xw)
        for n in range(N):
            z = gates[n]
            for j in range(G):
                z[j] += xw[n, j]
            apply(rec, z, 0, 2 * M, K)  # i, f
            apply(act, z, 2 * M, 3 * M, K)  # g
            apply(rec, z, 3 * M, G, K)  # o
            for m in range(M):
                new[1, m] = z[M + m] * c[n, m] + z[m] * z[2 * M + m]  # c_t = f c + i g
                new[0, m] = new[1, m]
            apply(act, new[0], 0, M, K)
            for m in range(M):
                new[0, m] *= z[3 * M + m]  # h_t = o act(c_t)
            finish_step(t, n, new, states, out, keep, o, zero_masked, K)
            if trace.shape[0] > 0:
                for k in range(4):
                    record(trace, t, k, n, z, k * M)
                record(trace, t, 4, n, c[n], 0)
                record(trace, t, 5, n, h[n], 0)


@jit
def gru(x, W, b, U, recurrent_bias, reset_after, states, out, keep, o, trace, act, rec,
        zero_masked, K):  # fmt: skip
    """GRU steps, gate blocks z r h: h_t = z h_{t-1} + (1 - z) h_hat, with h_hat = act(x_h +
    r (h_{t-1} U_h + b_h)) when reset_after, else act(x_h + (r h_{t-1}) U_h).
    states (1, N, M): h; recurrent_bias (3M,): zeros unless reset_after with a bias."""
    C, N, _ = x.shape
    M, G = U.shape[0], U.shape[1]
    xw = np.empty((N, G), dtype=U.dtype)
    inner = np.empty((N, G), dtype=U.dtype)  # h_{t-1} U (+ recurrent bias)
    zr = np.empty(2 * M, dtype=U.dtype)
    h_hat = np.empty(M, dtype=U.dtype)
    r_h = np.empty((1, M), dtype=U.dtype)  # r h_{t-1}, when reset before
    h_hat_2d = h_hat.reshape((1, M))
    new = np.empty((1, M), dtype=U.dtype)
    h = states[0]
    for t in range(C):
        project(x, t, W, b, xw)
        if reset_after:
            recurrent_sum(h, U, inner)
        else:  # h_{t-1} U_z and U_r now; U_h once r is known
            recurrent_sum(h, U[:, : 2 * M], inner[:, : 2 * M])
        for n in range(N):
            if reset_after:
                for j in range(G):
                    inner[n, j] += recurrent_bias[j]
            for j in range(2 * M):
                zr[j] = xw[n, j] + inner[n, j]
            apply(rec, zr, 0, 2 * M, K)  # z, r
            if reset_after:
                for m in range(M):
                    h_hat[m] = zr[M + m] * inner[n, 2 * M + m]
            else:
                for m in range(M):
                    r_h[0, m] = zr[M + m] * h[n, m]
                recurrent_sum(r_h, U[:, 2 * M :], h_hat_2d)
            for m in range(M):
                h_hat[m] += xw[n, 2 * M + m]
            apply(act, h_hat, 0, M, K)
            for m in range(M):
                new[0, m] = zr[m] * h[n, m] + (K[ONE] - zr[m]) * h_hat[m]
            finish_step(t, n, new, states, out, keep, o, zero_masked, K)
            if trace.shape[0] > 0:
                record(trace, t, 0, n, zr, 0)
                record(trace, t, 1, n, zr, M)
                record(trace, t, 2, n, h_hat, 0)
                record(trace, t, 3, n, h[n], 0)


@jit
def simple_rnn(x, W, b, U, states, out, keep, o, trace, act, zero_masked, K):
    """SimpleRNN steps: h_t = act(x_t W + b + h_{t-1} U). states (1, N, M): h."""
    C, N, _ = x.shape
    M = U.shape[0]
    pres = np.empty((N, M), dtype=U.dtype)
    xw = np.empty((N, M), dtype=U.dtype)
    new = np.empty((1, M), dtype=U.dtype)
    h = states[0]
    for t in range(C):
        recurrent_sum(h, U, pres)
        project(x, t, W, b, xw)
        for n in range(N):
            pre = pres[n]
            for m in range(M):
                pre[m] += xw[n, m]
                new[0, m] = pre[m]
            apply(act, new[0], 0, M, K)
            finish_step(t, n, new, states, out, keep, o, zero_masked, K)
            if trace.shape[0] > 0:
                record(trace, t, 0, n, pre, 0)
                record(trace, t, 1, n, h[n], 0)
