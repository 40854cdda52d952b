"""A prototype, measured and not taken: the compiled LSTM recurrence on two threads.

Each thread runs every step for half of the units: it owns the four gate columns of its units
(U_part (M, 4H), H = M/2, contiguous: about half of U, which at M=256 fits one core's 1 MB L2
where the whole U does not) and computes h_t for them; the two exchange h through a buffer
double-buffered by step parity, hs (2, N, M), and a progress counter each (an acquire load and
a release store, LLVM atomics). A thread starts step t only once the other has finished step
t - 1 (so the other's half of h_{t-1} is written and h_{t-2}, whose buffer step t overwrites, is
no longer read): neither runs two steps ahead. A waiting thread spins SPINS counter reads, then
gives its core away (sched_yield); flags[ABORT], set when a thread ends (normally or not),
stops a wait for it. Each unit's sums are taken in the order of rnnstate.engines.kernels.lstm,
so results equal the one-thread kernel's bit for bit (checked below, trace included).

Printed per M, in microseconds a step (N=1, D=8, best of --repeat runs of --steps steps):
    one thread   rnnstate.engines.kernels.lstm, as the numpy engine runs it
    two threads  lstm_part on this thread and one more (its thread's start included)
    half units   lstm_part on one thread for half of the units, never waiting: the work each of
                 the two threads does a step, i.e. the best the two could do on two free cores

    PYTHONPATH=. python benchmarks/bench_two_threads.py [--steps 20000] [--repeat 3]
        [--units 64 128 256 512]

Measured on the project's 2-core VM, shared (load average ~9; the CPUs-busy column said this
process got ~0.4 CPU): two threads 0.41x / 0.74x / 0.81x / 0.76x of one thread at M = 64 /
128 / 256 / 512 (T=20000), since a thread waits each step for the other whenever either is
descheduled. In the short windows where both CPUs were free (--steps 200 --repeat 400, CPUs
busy ~1.8) the exchange cost ~1.5-3 us a step: two threads 3.6 vs 2.2 us at M=64, 6.8 vs 6.1
at M=128; half units at M=256 took 10.6-12.6 us against one thread's 21-24, so two free cores
might reach ~1.5x there, never measured. Not clearly faster, and slower on a busy machine: not
taken into the engine.
"""

import argparse
import os
import threading
import time

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from rnnstate.engines import kernels
from rnnstate.engines.kernels import apply, jit, project, recurrent_sum

LINE = 8  # int64s a cache line: each counter on its own line
ABORT = 2 * LINE  # flags[ABORT] != 0: stop waiting
SPINS = 1000  # counter reads before yielding the core


@intrinsic
def load_acquire(typingctx, flags, index):
    """flags[index] (int64), read with acquire ordering."""

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, signature.args[0], array, [args[1]])
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(flags, types.intp), codegen


@intrinsic
def store_release(typingctx, flags, index, value):
    """flags[index] <- value (int64), written with release ordering."""

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, signature.args[0], array, [args[1]])
        builder.store_atomic(args[2], pointer, "release", 8)
        return context.get_dummy_value()

    return types.none(flags, types.intp, types.int64), codegen


@intrinsic
def sched_yield(typingctx):
    """libc's sched_yield(): give the core to another runnable thread."""

    def codegen(context, builder, signature, args):
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield"
        )
        builder.call(function, [])
        return context.get_dummy_value()

    return types.none(), codegen


@jit
def wait_for(flags, other, steps):
    """Wait until thread `other` has finished `steps` steps; False if it ended before."""
    spins = 0
    while load_acquire(flags, other * LINE) < steps:
        if load_acquire(flags, ABORT) != 0:  # set after the other's last counter store
            return load_acquire(flags, other * LINE) >= steps
        spins += 1
        if spins >= SPINS:
            sched_yield()
            spins = 0
    return True


@jit
def lstm_part(x, W, b, U, hs, c, out, keep, o, trace, act, rec, zero_masked, K, flags, me,
              lo):  # fmt: skip
    """The LSTM steps of a chunk for units lo..lo+H (H = U.shape[1] // 4), as thread `me`
    (0 or 1) of two. W (D, 4H), b (4H,), U (M, 4H): the columns of these units in each gate
    block i f c o; hs (2, N, M): h before the chunk in hs[0], h after step t written to
    hs[(t + 1) % 2]; c (N, M): this thread updates its units' columns; flags (ABORT + 1,)
    int64: flags[me * LINE] <- steps done. The other arguments as in kernels.lstm (their
    columns lo..lo+H)."""
    C, N, _ = x.shape
    G = U.shape[1]
    H = G // 4
    gates = np.empty((N, G), dtype=U.dtype)  # z, then the gates i f g o
    xw = np.empty((N, G), dtype=U.dtype)
    new = np.empty((2, H), dtype=U.dtype)  # h_t, c_t
    for t in range(C):
        if t > 0 and not wait_for(flags, 1 - me, t):
            return
        h = hs[t % 2]
        h_next = hs[(t + 1) % 2]
        recurrent_sum(h, U, gates)
        project(x, t, W, b, xw)
        for n in range(N):
            z = gates[n]
            for j in range(G):
                z[j] += xw[n, j]
            apply(rec, z, 0, 2 * H, K)  # i, f
            apply(act, z, 2 * H, 3 * H, K)  # g
            apply(rec, z, 3 * H, G, K)  # o
            for m in range(H):
                new[1, m] = z[H + m] * c[n, lo + m] + z[m] * z[2 * H + m]  # c_t = f c + i g
                new[0, m] = new[1, m]
            apply(act, new[0], 0, H, K)
            for m in range(H):
                new[0, m] *= z[3 * H + m]  # h_t = o act(c_t)
            if keep.shape[0] == 0 or keep[t, n]:
                for m in range(H):
                    c[n, lo + m] = new[1, m]
                    h_next[n, lo + m] = new[0, m]
                    out[n, lo + m] = new[0, m]
            else:
                for m in range(H):
                    h_next[n, lo + m] = h[n, lo + m]
                if zero_masked:
                    for m in range(H):
                        out[n, lo + m] = K[0]
            if o.shape[0] > 0:
                for m in range(H):
                    o[t, n, lo + m] = out[n, lo + m]
            if trace.shape[0] > 0:
                for k in range(4):
                    for m in range(H):
                        trace[t, k, n, lo + m] = z[k * H + m]
                for m in range(H):
                    trace[t, 4, n, lo + m] = c[n, lo + m]
                    trace[t, 5, n, lo + m] = h_next[n, lo + m]
        store_release(flags, me * LINE, t + 1)


def part_columns(M: int, lo: int, hi: int) -> np.ndarray:
    """Indices of the columns of units lo..hi in each of the 4 gate blocks of width M."""
    return np.concatenate([np.arange(k * M + lo, k * M + hi) for k in range(4)])


def inputs(T, D, M, seed=0):
    """x (T, 1, D), W (D, 4M), b (4M,), U (M, 4M): float32, scaled so the gates stay moderate."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, 1, D)).astype(np.float32)
    W = (rng.standard_normal((D, 4 * M)) / np.sqrt(D)).astype(np.float32)
    b = (0.1 * rng.standard_normal(4 * M)).astype(np.float32)
    U = (rng.standard_normal((M, 4 * M)) / np.sqrt(M)).astype(np.float32)
    return x, W, b, U


def one_thread(x, W, b, U, trace):
    """h_T, c_T and the trace (T, 6, 1, M) from kernels.lstm."""
    T, N, _ = x.shape
    M = U.shape[0]
    states = np.zeros((2, N, M), np.float32)
    out = np.zeros((N, M), np.float32)
    recorded = np.zeros((T if trace else 0, 6, N, M), np.float32)
    K = np.array(kernels.CONSTANTS, np.float32)
    no = np.zeros((0, 0), bool)
    o = np.zeros((0, N, M), np.float32)
    kernels.lstm(x, W, b, U, states, out, no, o, recorded, 0, 1, False, K)
    return states[0], states[1], recorded


def split_units(W, b, U):
    """[(W_part, b_part, U_part, lo)] for units 0..M/2 and M/2..M: each part's columns of the
    four gate blocks, contiguous (done once for a run, so not timed)."""
    M = U.shape[0]
    parts = []
    for lo, hi in ((0, M // 2), (M // 2, M)):
        cols = part_columns(M, lo, hi)
        parts.append((np.ascontiguousarray(W[:, cols]), np.ascontiguousarray(b[cols]),
                      np.ascontiguousarray(U[:, cols]), lo))  # fmt: skip
    return parts


def two_threads(x, parts, trace, alone=False):
    """The same from lstm_part on this thread and one more, given split_units' parts; with
    `alone`, this thread's half only, the other's counter set so that it never waits (h, c and
    trace then mean nothing)."""
    T, N, _ = x.shape
    M = parts[0][2].shape[0]
    hs = np.zeros((2, N, M), np.float32)
    c = np.zeros((N, M), np.float32)
    out = np.zeros((N, M), np.float32)
    recorded = np.zeros((T if trace else 0, 6, N, M), np.float32)
    K = np.array(kernels.CONSTANTS, np.float32)
    no = np.zeros((0, 0), bool)
    o = np.zeros((0, N, M), np.float32)
    flags = np.zeros(ABORT + 1, np.int64)

    def run(me):
        W_p, b_p, U_p, lo = parts[me]
        try:
            lstm_part(x, W_p, b_p, U_p, hs, c, out, no, o, recorded, 0, 1, False, K, flags, me,
                      lo)  # fmt: skip
        finally:
            flags[ABORT] = 1  # whichever way this thread ends, the other never waits for it

    if alone:
        flags[LINE] = 1 << 62
        run(0)
        return hs[T % 2], c, recorded
    other = threading.Thread(target=run, args=(1,), daemon=True)
    other.start()
    run(0)
    other.join()
    return hs[T % 2], c, recorded


def best_times(repeat, runs):
    """{name: (seconds, CPU seconds / seconds)} of the fastest of `repeat` calls of each
    function of runs {name: (function, arguments)}, interleaved so each sees the same machine."""
    best = dict.fromkeys(runs, (float("inf"), 0.0))
    for _ in range(repeat):
        for name, (function, arguments) in runs.items():
            start, cpu = time.perf_counter(), time.process_time()
            function(*arguments)
            seconds = time.perf_counter() - start
            if seconds < best[name][0]:
                best[name] = (seconds, (time.process_time() - cpu) / seconds)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--units", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    T = args.steps
    print(f"CPUs {len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.1f};"
          f" T={T}, N=1, D=8; us a step (CPUs busy), best of {args.repeat}")  # fmt: skip
    for M in args.units:
        x, W, b, U = inputs(T, 8, M)
        h1, c1, tr1 = one_thread(x[:50], W, b, U, True)  # compiles, and checks the trace too
        parts = split_units(W, b, U)
        h2, c2, tr2 = two_threads(x[:50], parts, True)
        same = np.array_equal(h1, h2) and np.array_equal(c1, c2) and np.array_equal(tr1, tr2)
        h1, c1, _ = one_thread(x, W, b, U, False)
        h2, c2, _ = two_threads(x, parts, False)
        same = same and np.array_equal(h1, h2) and np.array_equal(c1, c2)
        best = best_times(args.repeat, {
            "one thread": (one_thread, (x, W, b, U, False)),
            "two threads": (two_threads, (x, parts, False)),
            "half units": (two_threads, (x, parts, False, True)),
        })  # fmt: skip
        figures = "  ".join(f"{name} {seconds / T * 1e6:6.2f} ({cpus:.2f})"
                            for name, (seconds, cpus) in best.items())  # fmt: skip
        speed_up = best["one thread"][0] / best["two threads"][0]
        print(f"M={M:4d}  {figures}  speed-up {speed_up:4.2f}x  bit-identical {same}")


if __name__ == "__main__":
    main()
