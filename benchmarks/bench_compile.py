"""What the numpy engine's compiled recurrence costs before it runs, against what it saves:
per cell, the seconds numba takes to compile its kernel on a cold cache, to load it from a warm
one, and the seconds a step of the numpy loop and of the kernel take at M=16 and M=256.

    python benchmarks/bench_compile.py            # LSTM, GRU and SimpleRNN (a few minutes)
    python benchmarks/bench_compile.py --quick    # SimpleRNN, few steps: checks the script runs

Each compile and load is a fresh process with NUMBA_CACHE_DIR in a new temporary folder (cold,
then warm); the steps are timed in this process, with the kernel loaded, as the medians of 3.
Compiled with RNNSTATE_COMPILED=always, so the kernel's signature is the engine's own.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from rnnstate import budget
from rnnstate.engines import numpy as numpy_engine
from rnnstate.spec import Spec
from rnnstate.weights import initial_weights

# One short run through the engine, in a fresh process: prints the seconds of the run (the
# kernel's compile or load, numba's import included) and of importing numba alone.
FIRST_RUN = """
import sys, time
start = time.perf_counter()
import numba
imported = time.perf_counter() - start
import numpy as np
from rnnstate.engines import numpy as numpy_engine
from rnnstate.spec import Spec
from rnnstate.weights import initial_weights
spec = Spec(sys.argv[1], steps=4, features=8, units=4)
weights = initial_weights(spec, np.random.default_rng(0))
x = np.zeros((1, 4, 8), np.float32)
start = time.perf_counter()
numpy_engine.run(spec, x, weights)
print(time.perf_counter() - start, imported)
"""


def first_run(cell: str, cache_dir: str) -> tuple[float, float]:
    """(seconds of the first compiled run of `cell` with this cache folder, of numba's import)."""
    environment = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "RNNSTATE_COMPILED": "always"}
    result = subprocess.run([sys.executable, "-c", FIRST_RUN, cell], capture_output=True,
                            text=True, check=True, env=environment)  # fmt: skip
    run, imported = map(float, result.stdout.split())
    return run, imported


def seconds_a_step(cell: str, M: int, steps: int, choice: str) -> float:
    """Median of 3 seconds a step of `cell` at D=8, N=1, units M, run `choice`."""
    spec = Spec(cell, steps=steps, features=8, units=M)
    weights = initial_weights(spec, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((1, steps, 8)).astype(np.float32)
    os.environ["RNNSTATE_COMPILED"] = choice
    numpy_engine.run(spec, x[:, :10], weights)  # the kernel compiled or loaded, not timed
    times = []
    for _ in range(3):
        start = time.perf_counter()
        numpy_engine.run(spec, x, weights)
        times.append(time.perf_counter() - start)
    del os.environ["RNNSTATE_COMPILED"]
    return statistics.median(times) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="SimpleRNN, few steps")
    quick = parser.parse_args().quick
    cells = ["rnn"] if quick else ["lstm", "gru", "rnn"]
    loop_steps, kernel_steps = (200, 2_000) if quick else (2_000, 20_000)
    print(f"load average {os.getloadavg()[0]:.1f}, contention {budget.contention():.1f}")
    print(
        "| cell | compile, cold (s) | load, warm (s) | numba import (s) | M | loop a step (µs) "
        "| kernel a step (µs) | steps where the loop costs the compile |"
    )
    print("|---|---|---|---|---|---|---|---|")
    shared = tempfile.TemporaryDirectory()
    os.environ["NUMBA_CACHE_DIR"] = shared.name  # this process's, read when numba is imported
    for cell in cells:
        with tempfile.TemporaryDirectory() as cache_dir:  # a cell's own: its callees cold too
            cold, imported = first_run(cell, cache_dir)
            warm, _ = first_run(cell, cache_dir)
        for M in (16, 256):
            loop = seconds_a_step(cell, M, loop_steps, "never")
            kernel = seconds_a_step(cell, M, kernel_steps, "always")
            even = cold / max(loop - kernel, 1e-9)
            print(f"| {cell} | {cold:.1f} | {warm:.2f} | {imported:.2f} | {M} | "
                  f"{loop * 1e6:.1f} | {kernel * 1e6:.2f} | {even:,.0f} |", flush=True)  # fmt: skip
    shared.cleanup()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
