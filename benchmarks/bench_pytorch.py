"""The numpy engine against PyTorch's nn.LSTM and against the arithmetic it does, side by side in
one run, on the issue's sizes; then how its time grows with T and with M.

    python benchmarks/bench_pytorch.py            # the comparison (a few minutes)
    python benchmarks/bench_pytorch.py --quick    # tiny sizes, one repetition

Per size, alternating, `reps` times each: the whole rnnstate run (`rnnstate lstm -T T -D 8 -M M
--sequences --seed 0 --engine numpy`, tables to /dev/null, start-up included) with the recurrence
compiled (RNNSTATE_COMPILED=always; the kernel is in numba's cache after the first) and as
numpy's Python loop (=never); PyTorch's forward call alone (bare_torch.py, 2 threads, start-up
excluded) and its whole process.
The arithmetic floor is the run's multiply-adds (2 T 4M (D + M) flops) at the rate this machine
multiplies float32 matrices (numpy, 1024 x 1024, measured in this run). Medians; the targets
are the issue's: T=10^6 M=16 in at most half PyTorch's forward time, T=10^5 M=256 no slower
than it and within 2x of the floor.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PYTHON = sys.executable
HERE = Path(__file__).parent


def whole_run(command: list[str], environment: dict[str, str] | None = None) -> float:
    """Seconds of a whole process, output to /dev/null."""
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env={**os.environ, **(environment or {})})  # fmt: skip
    return time.perf_counter() - start


def torch_forward(T: int, M: int) -> tuple[float, float]:
    """(PyTorch's forward call alone, its whole process), in seconds."""
    start = time.perf_counter()
    output = subprocess.run([PYTHON, str(HERE / "bare_torch.py"), str(T), "8", str(M), "2"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return float(output.stdout.split()[-1]), time.perf_counter() - start


def rnnstate(T: int, M: int, compiled: str) -> float:
    """Seconds of the whole rnnstate run at (T, D=8, M), the recurrence as `compiled` says."""
    command = [PYTHON, "-m", "rnnstate", "lstm", "-T", str(T), "-D", "8", "-M", str(M),
               "--sequences", "--seed", "0", "--engine", "numpy"]  # fmt: skip
    return whole_run(command, {"RNNSTATE_COMPILED": compiled})


def matmul_flops() -> float:
    """Float32 flops a second of a 1024 x 1024 matrix product (numpy's BLAS, all its threads),
    the best of 5."""
    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * 1024**3 / best


def floor_seconds(T: int, M: int, rate: float) -> float:
    """The arithmetic floor of an LSTM run at (T, D=8, M): its flops at `rate`."""
    return 2 * T * 4 * M * (8 + M) / rate


def compare(T: int, M: int, reps: int, rate: float) -> dict[str, float]:
    """Medians of the four timings at (T, M), taken alternately."""
    times: dict[str, list[float]] = {"compiled": [], "loop": [], "forward": [], "torch": []}
    for _ in range(reps):
        times["compiled"].append(rnnstate(T, M, "always"))
        forward, whole = torch_forward(T, M)
        times["forward"].append(forward)
        times["torch"].append(whole)
        times["loop"].append(rnnstate(T, M, "never"))
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["floor"] = floor_seconds(T, M, rate)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per size (default 3)")
    args = parser.parse_args()
    reps = 1 if args.quick else args.reps
    goals = [(1_000, 16), (1_000, 64)] if args.quick else [(1_000_000, 16), (100_000, 256)]
    rate = matmul_flops()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the start; float32 "
          f"matrix product {rate / 1e9:.0f} GFLOP/s")  # fmt: skip
    print(
        "\n| run | GFLOP | rnnstate numpy, compiled (s) | numpy loop (s) | PyTorch forward (s) "
        "| PyTorch process (s) | floor (s) | compiled / forward | compiled / floor |"
    )
    print(f"|{'---|' * 9}")
    for T, M in goals:
        m = compare(T, M, reps, rate)
        gflop = 2 * T * 4 * M * (8 + M) / 1e9
        print(f"| LSTM T={T:,} D=8 M={M} | {gflop:.1f} | {m['compiled']:.2f} | {m['loop']:.2f} | "
              f"{m['forward']:.2f} | {m['torch']:.2f} | {m['floor']:.2f} | "
              f"{m['compiled'] / m['forward']:.2f}x | {m['compiled'] / m['floor']:.1f}x |",
              flush=True)  # fmt: skip
    step_counts = [100, 1_000] if args.quick else [10_000, 100_000, 1_000_000]
    units = [8, 16] if args.quick else [16, 64, 256]
    print("\ntime against T (M=16) and against M (T=10^5 or the largest T), compiled and loop:")
    print(f"\n| T (M=16) | {' | '.join(f'{T:,}' for T in step_counts)} |")
    print(f"|{'---|' * (len(step_counts) + 1)}")
    for compiled, label in (("always", "compiled (s)"), ("never", "numpy loop (s)")):
        seconds = [statistics.median(rnnstate(T, 16, compiled) for _ in range(reps))
                   for T in step_counts]  # fmt: skip
        print(f"| {label} | {' | '.join(f'{s:.2f}' for s in seconds)} |", flush=True)
    steps = step_counts[-2]
    print(f"\n| M (T={steps:,}) | {' | '.join(str(M) for M in units)} |")
    print(f"|{'---|' * (len(units) + 1)}")
    for compiled, label in (("always", "compiled (s)"), ("never", "numpy loop (s)")):
        seconds = [statistics.median(rnnstate(steps, M, compiled) for _ in range(reps))
                   for M in units]  # fmt: skip
        print(f"| {label} | {' | '.join(f'{s:.2f}' for s in seconds)} |", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
