"""What --summary costs on top of the bare engine run, and its peak memory as N grows.

    python benchmarks/bench_summary.py            # N=100,000 T=50 D=8 M=64 (about 6 minutes)
    python benchmarks/bench_summary.py --quick    # tiny sizes: checks the script runs
    python benchmarks/bench_summary.py --sizes 1000000,50,8,64 --memory-only

The input is written once as an .npy in a temporary folder and read memory-mapped, batch by
batch (BATCH sequences), by every way of running:
  numpy bare     the numpy engine over each batch, no trace, nothing kept (the floor);
  numpy traced   the same with the trace recorded (what the statistics needed before they
                 were streamed; for comparison);
  numpy summary  rnnstate.summary.summarize: the engine's steps with the float64 statistics
                 added step by step;
  keras bare     the keras engine (the real Keras layer) over each batch, nothing kept;
  keras gates    the least the keras engine would do to have gates without the numpy steps:
                 the Keras layer with return_sequences, then every step's gates at once from
                 its h_{t-1} (two matrix products over all n*T rows and the activations; no
                 c_t, no statistics, in numpy). What it costs over keras bare is what the
                 gates alone would cost that way;
  keras summary  --summary --engine keras: the Keras layer has no trace, so this is the numpy
                 summary run above, its ratio taken to the keras engine's bare run.
Every run is timed --repeat times (5), the runs alternating (the summary right after the bare
run), and the round with the median wall time is shown, after the summary's ratio to the bare
run in each round and the median of those ratios (the steadier figure on a shared machine).
Prints sequences per second of each, wall and CPU seconds (CPU: every thread of the process,
BLAS's included), and the ratio of wall time to the bare run of the same engine, measured in
the same process. Then the peak resident memory of the whole command
`rnnstate lstm --summary --input FILE` (a process of its own, its maximum RSS from the kernel).
"""

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
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


def timed(work) -> tuple[float, float]:
    """Wall and CPU seconds of work()."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def median_run(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The (wall, cpu) of the run with the median wall time."""
    return sorted(runs)[len(runs) // 2]


def engine_only(spec: Spec, path: Path, weights, engine: str, trace: bool) -> None:
    """`engine` over every batch of the file, nothing kept."""
    for x in open_dataset(str(path)).batches(BATCH):
        run_layer(replace(spec, batch=len(x)), x, weights, engine, None, None, trace, None)


def keras_gates(spec: Spec, path: Path, weights) -> None:
    """The Keras layer over every batch with return_sequences, then its LSTM gates i f g o at
    every step from x_t and the h_{t-1} it returned: (n*T, D) W + (n*T, M) U + b, sigmoid and
    tanh in place (numpy, float32). Nothing kept."""
    with_sequences = replace(spec, return_sequences=True)
    kernel, recurrent, bias = weights.kernel, weights.recurrent_kernel, weights.bias
    M = spec.units
    for x in open_dataset(str(path)).batches(BATCH):
        n, D = x.shape[0], x.shape[2]
        o = run_layer(replace(with_sequences, batch=n), x, weights, "keras").outputs["o"]
        h_before = np.zeros_like(o)
        h_before[:, 1:] = o[:, :-1]
        z = x.reshape(-1, D) @ kernel + h_before.reshape(-1, M) @ recurrent + bias  # (n*T, 4M)
        np.tanh(z[:, 2 * M : 3 * M], out=z[:, 2 * M : 3 * M])  # g
        for block in (z[:, : 2 * M], z[:, 3 * M :]):  # i f, o: sigmoid = 0.5 + 0.5 tanh(z / 2)
            block *= 0.5
            np.tanh(block, out=block)
            block *= 0.5
            block += 0.5


# Runs the command given as arguments and prints its peak RSS in kB: a small process of its own,
# so the benchmark's own memory (Keras loaded) is not counted in it through the fork.
MEASURE = """import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"""


def peak_memory(path: Path, M: int) -> int:
    """Peak RSS in bytes of `rnnstate lstm --summary --input path -M M` as a process."""
    command = [sys.executable, "-m", "rnnstate", "lstm", "--summary", "--input", str(path),
               "-M", str(M), "--seed", "0", "--batch-size", str(BATCH), "--json"]  # fmt: skip
    measured = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True,
                              text=True, check=True)  # fmt: skip
    return int(measured.stdout) * 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="100000,50,8,64", help="N,T,D,M")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of every run, alternating")
    options = parser.parse_args()
    N, T, D, M = (2000, 10, 4, 8) if options.quick else map(int, options.sizes.split(","))
    options.repeat = 1 if options.quick else options.repeat
    with tempfile.TemporaryDirectory() as folder:
        path = write_input(Path(folder), N, T, D)
        print(f"N={N} T={T} D={D} M={M}, batches of {BATCH}, lstm")
        if not options.memory_only:
            spec = Spec("lstm", steps=T, features=D, units=M, batch=N, engine="numpy")
            weights = initial_weights(spec, np.random.default_rng(0))
            first = next(open_dataset(str(path)).batches(BATCH))  # loads and compiles, untimed
            summarize(replace(spec, batch=len(first)), [first], weights, BATCH)
            run_layer(replace(spec, batch=len(first)), first, weights, "keras")
            runs = {
                ("numpy", "bare"): lambda: engine_only(spec, path, weights, "numpy", False),
                ("numpy", "summary"): lambda: summarize(
                    spec, open_dataset(str(path)).batches(BATCH), weights, BATCH
                ),  # right after the bare run: the two share the machine's state most
                ("numpy", "traced"): lambda: engine_only(spec, path, weights, "numpy", True),
                ("keras", "bare"): lambda: engine_only(spec, path, weights, "keras", False),
                ("keras", "gates"): lambda: keras_gates(spec, path, weights),
            }
            rounds = [{key: timed(work) for key, work in runs.items()}
                      for _ in range(options.repeat)]  # fmt: skip
            seconds = {key: median_run([one[key] for one in rounds]) for key in runs}
            if options.repeat > 1:
                summary_ratios = [one["numpy", "summary"][0] / one["numpy", "bare"][0]
                                  for one in rounds]  # fmt: skip
                print("numpy summary / bare, each round: "
                      + ", ".join(f"{ratio:.2f}x" for ratio in summary_ratios)
                      + f"; their median: {np.median(summary_ratios):.2f}x")  # fmt: skip
            seconds["keras", "summary"] = seconds["numpy", "summary"]  # the same run
            print("engine run      sequences/s   wall s    cpu s   wall / bare")
            for (engine, name), (wall, cpu) in seconds.items():
                ratio = wall / seconds[engine, "bare"][0]
                print(f"{engine:6} {name:8} {N / wall:11.0f} {wall:8.2f} {cpu:8.2f} "
                      f"{ratio:8.2f}x")  # fmt: skip
        size = path.stat().st_size
        peak = peak_memory(path, M)
        print(f"peak RSS of rnnstate lstm --summary: {peak / 1e6:.0f} MB "
              f"(the input file: {size / 1e6:.0f} MB)")  # fmt: skip


if __name__ == "__main__":
    main()
