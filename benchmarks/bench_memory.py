"""What --memory costs on the numpy engine: time against the forward run, growth with T and M,
and the peak memory of a long run against the memory guard's estimate.

    python benchmarks/bench_memory.py           # T=1000 M=64, growth tables, T=100,000 M=16
    python benchmarks/bench_memory.py --quick   # tiny sizes, one repetition: checks the script runs

Four tables, each with its floor measured in the same run (medians, the two alternated):
  cli      the whole command `rnnstate CELL -T 1000 -M 64 --engine numpy --memory` against the
           same command without --memory (processes of their own: start-up included); the LSTM
           once more with OpenBLAS on one thread (its threads fight over a shared machine);
  compute  rnnstate.memory.memory (the exact engine with its trace, then the backward pass)
           against the forward numpy engine's call on the same layer and input;
  T, M     the compute table's ratio for the LSTM as T and M grow;
  long     `rnnstate lstm -T 100000 -M 16 --memory` as a process: its peak resident memory (the
           kernel's maximum RSS), the same run's without --memory, and the guard's estimate
           (memory.needed_bytes + budget.estimate_bytes, what the run checks before it starts).
The issue's goal: --memory at T=1000 M=64 within 5x the forward run.
"""

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time

import numpy as np

from rnnstate.budget import estimate_bytes
from rnnstate.engines import run_layer
from rnnstate.memory import memory, needed_bytes
from rnnstate.spec import Spec
from rnnstate.weights import initial_weights

CELLS = ("lstm", "gru", "rnn")
FEATURES = 8
GOAL = 5.0


def run_process(command: list[str], threads: str | None = None) -> tuple[float, int]:
    """Run `command` with stdout to /dev/null, OpenBLAS's threads `threads` if given; (seconds,
    peak RSS in bytes)."""
    environment = dict(os.environ, **({"OPENBLAS_NUM_THREADS": threads} if threads else {}))
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=environment)  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = process.stderr.read()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{shlex.join(command)} failed: {stderr[-500:].decode()}")
    return elapsed, usage.ru_maxrss * 1024  # kB on Linux


def command(cell: str, T: int, M: int, with_memory: bool) -> list[str]:
    """The CLI run of `cell` at T, M on the numpy engine, with or without --memory."""
    return [sys.executable, "-m", "rnnstate", cell, "-T", str(T), "-M", str(M), "-D",
            str(FEATURES), "--seed", "0", "--engine", "numpy"] + (["--memory"] if with_memory
                                                                   else [])  # fmt: skip


def alternated(ours, floor, reps: int) -> tuple[float, float]:
    """Medians of seconds of ours() and floor(), run alternately `reps` times each."""
    mine, floors = [], []
    for _ in range(reps):
        floors.append(floor())
        mine.append(ours())
    return statistics.median(mine), statistics.median(floors)


def seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def compute_times(cell: str, T: int, M: int, reps: int) -> tuple[float, float]:
    """Medians of memory.memory and of the forward numpy engine's call, same layer and input."""
    spec = Spec(cell=cell, steps=T, features=FEATURES, units=M, batch=1, engine="numpy")
    weights = initial_weights(spec, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((1, T, FEATURES)).astype(np.float32)
    forward = lambda: run_layer(spec, x, weights, "numpy")  # noqa: E731
    forward()  # warm: the compiled recurrence is loaded
    return alternated(lambda: seconds(lambda: memory(spec, x, weights)),
                      lambda: seconds(forward), reps)  # fmt: skip


def times(ratio: float) -> str:
    """A ratio as '1.3x' or '25x'."""
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition")
    options = parser.parse_args()
    quick = options.quick
    T, M, reps = (50, 8, 1) if quick else (1000, 64, 5)
    print(f"| cell | T | M | CLI --memory (s) | CLI without (s) | ratio | goal |\n|{'---|' * 7}")
    for cell, threads in [(cell, None) for cell in CELLS] + [("lstm", "1")]:
        ours, floor = alternated(
            lambda c=cell, n=threads: run_process(command(c, T, M, True), n)[0],
            lambda c=cell, n=threads: run_process(command(c, T, M, False), n)[0],
            reps,
        )
        name = f"{cell} (OPENBLAS_NUM_THREADS={threads})" if threads else cell
        print(row(name, T, M, f"{ours:.2f}", f"{floor:.2f}", times(ours / floor),
                  f"<= {GOAL:.0f}x"), flush=True)  # fmt: skip
    print(f"\n| cell | T | M | memory() (ms) | forward engine call (ms) | ratio |\n|{'---|' * 6}")
    for cell in CELLS:
        ours, floor = compute_times(cell, T, M, reps)
        print(row(cell, T, M, f"{1000 * ours:.1f}", f"{1000 * floor:.2f}",
                  times(ours / floor)), flush=True)  # fmt: skip
    sizes_T = (25, 50) if quick else (250, 500, 1000, 2000)
    sizes_M = (4, 8) if quick else (16, 32, 64, 128)
    print(f"\n| cell | T | M | memory() (ms) | forward (ms) | ratio | ms per step |\n|{'---|' * 7}")
    for steps, units in [(t, M) for t in sizes_T] + [(T, m) for m in sizes_M if m != M]:
        ours, floor = compute_times("lstm", steps, units, reps)
        print(row("lstm", steps, units, f"{1000 * ours:.1f}", f"{1000 * floor:.2f}",
                  times(ours / floor), f"{1000 * ours / steps:.3f}"), flush=True)  # fmt: skip
    long_T, long_M = (2000, 4) if quick else (100_000, 16)
    spec = Spec(cell="lstm", steps=long_T, features=FEATURES, units=long_M, batch=1,
                engine="numpy")  # fmt: skip
    guard = needed_bytes(spec) + estimate_bytes(spec)
    took, peak = run_process(command("lstm", long_T, long_M, True))
    _, bare = run_process(command("lstm", long_T, long_M, False))
    print(f"\n| run | seconds | peak RSS (MB) | without --memory (MB) | added (MB) | "
          f"guard's estimate (MB) |\n|{'---|' * 6}")  # fmt: skip
    print(row(f"lstm -T {long_T} -M {long_M} --memory", f"{took:.1f}", f"{peak / 1e6:.0f}",
              f"{bare / 1e6:.0f}", f"{(peak - bare) / 1e6:.0f}", f"{guard / 1e6:.0f}"))  # fmt: skip


if __name__ == "__main__":
    main()
