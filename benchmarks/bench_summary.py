"""What --summary costs on top of the bare numpy engine, and its peak memory as N grows.

    python benchmarks/bench_summary.py            # N=100,000 T=50 D=8 M=64 (a few minutes)
    python benchmarks/bench_summary.py --quick    # tiny sizes: checks the script runs
    python benchmarks/bench_summary.py --sizes 1000000,50,8,64 --memory-only

The input is written once as an .npy in a temporary folder and read memory-mapped, batch by
batch, by every way of running:
  bare     the numpy engine over each batch, no trace (the floor);
  traced   the same with the trace on (what the statistics need);
  summary  rnnstate.summary.summarize: the traced run plus the float64 statistics.
Prints sequences per second of each and its ratio to the floor measured in the same run, then the
peak resident memory of the whole command `rnnstate lstm --summary --input FILE` (a process of
its own, its maximum RSS from the kernel).
"""

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rnnstate.data import open_dataset
from rnnstate.engines import run_layer
from rnnstate.spec import Spec
from rnnstate.summary import summarize
from rnnstate.weights import initial_weights

BATCH = 1024


def write_input(folder: Path, N: int, T: int, D: int) -> Path:
    """A standard normal input (N, T, D) as an .npy, written a block of sequences at a time."""
    path = folder / "x.npy"
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(N, T, D))
    rng = np.random.default_rng(0)
    for start in range(0, N, 65536):
        stop = min(N, start + 65536)
        array[start:stop] = rng.standard_normal((stop - start, T, D), dtype=np.float32)
    array.flush()
    del array
    return path


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def engine_only(spec: Spec, path: Path, weights, trace: bool) -> None:
    """The numpy engine over every batch of the file, nothing kept."""
    from dataclasses import replace

    for x in open_dataset(str(path)).batches(BATCH):
        run_layer(replace(spec, batch=len(x)), x, weights, "numpy", None, None, trace, None)


def peak_memory(path: Path, M: int) -> int:
    """Peak RSS in bytes of `rnnstate lstm --summary --input path -M M` as a process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    command = [sys.executable, "-m", "rnnstate", "lstm", "--summary", "--input", str(path),
               "-M", str(M), "--seed", "0", "--batch-size", str(BATCH), "--json"]  # fmt: skip
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(before, after) * 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="100000,50,8,64", help="N,T,D,M")
    parser.add_argument("--memory-only", action="store_true")
    options = parser.parse_args()
    N, T, D, M = (2000, 10, 4, 8) if options.quick else map(int, options.sizes.split(","))
    with tempfile.TemporaryDirectory() as folder:
        path = write_input(Path(folder), N, T, D)
        print(f"N={N} T={T} D={D} M={M}, batches of {BATCH}, lstm, numpy engine")
        if not options.memory_only:
            spec = Spec("lstm", steps=T, features=D, units=M, batch=N, engine="numpy")
            weights = initial_weights(spec, np.random.default_rng(0))
            runs = {
                "bare": lambda: engine_only(spec, path, weights, False),
                "traced": lambda: engine_only(spec, path, weights, True),
                "summary": lambda: summarize(
                    spec, open_dataset(str(path)).batches(BATCH), weights, BATCH
                ),
            }
            seconds = {name: timed(work) for name, work in runs.items()}
            for name, taken in seconds.items():
                print(f"{name:8} {N / taken:10.0f} sequences/s  {taken:8.2f} s  "
                      f"{taken / seconds['bare']:.2f}x the bare engine")  # fmt: skip
        size = path.stat().st_size
        peak = peak_memory(path, M)
        print(f"peak RSS of rnnstate lstm --summary: {peak / 1e6:.0f} MB "
              f"(the input file: {size / 1e6:.0f} MB)")  # fmt: skip


if __name__ == "__main__":
    main()
