"""How close rnnstate's time estimate (rnnstate.budget.expected_seconds) is to the time runs
take, over a grid of sizes on every engine, and the constants fitted to these runs.

    python benchmarks/bench_estimate.py            # the grid (a few minutes)
    python benchmarks/bench_estimate.py --quick    # tiny sizes: checks the script runs

Each run is a whole process (`rnnstate lstm ... --sequences`, tables to /dev/null), timed as the
user waits for it; the estimate is the one the run itself makes, with the machine probe taken in
this process next to the run, and the contention (load average per core) read just before it.
Prints one row per run with measured / estimated (the target is
within 2x either way), then per way of running the layer the least-squares fit of START_SECONDS,
STEP_SECONDS and MAC_SECONDS and the probe's median, to paste into rnnstate/budget.py.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from rnnstate import budget
from rnnstate.spec import Spec

# (engine, RNNSTATE_COMPILED, cell, T, M, N): the benchmark's sizes and some around them.
GRID = [
    ("numpy", "never", "lstm", 20_000, 16, 1),
    ("numpy", "never", "lstm", 100_000, 16, 1),
    ("numpy", "never", "lstm", 20_000, 256, 1),
    ("numpy", "never", "gru", 50_000, 64, 4),
    ("numpy", "auto", "lstm", 100_000, 16, 1),
    ("numpy", "auto", "lstm", 1_000_000, 16, 1),
    ("numpy", "auto", "lstm", 100_000, 256, 1),
    ("numpy", "auto", "gru", 50_000, 64, 4),
    ("numpy", "always", "lstm", 300_000, 64, 1),
    ("numpy", "always", "lstm", 30_000, 16, 1),
    ("keras", "auto", "lstm", 10_000, 16, 1),
    ("keras", "auto", "lstm", 100_000, 16, 1),
    ("keras", "auto", "lstm", 1_000_000, 16, 1),
    ("keras", "auto", "lstm", 20_000, 256, 1),
    ("keras", "auto", "lstm", 100_000, 256, 1),
    ("torch", "auto", "lstm", 100_000, 16, 1),
    ("torch", "auto", "lstm", 1_000_000, 16, 1),
    ("torch", "auto", "lstm", 100_000, 256, 1),
]
QUICK = [
    ("numpy", "never", "lstm", 500, 8, 1),
    ("numpy", "always", "lstm", 500, 8, 1),
    ("keras", "auto", "lstm", 100, 8, 1),
    ("torch", "auto", "lstm", 500, 8, 1),
]


def timed_run(engine: str, compiled: str, cell: str, T: int, M: int, N: int) -> float:
    """Seconds of one whole run of rnnstate at these sizes (D=8, --sequences, seed 0)."""
    command = [sys.executable, "-m", "rnnstate", cell, "-T", str(T), "-D", "8", "-M", str(M),
               "-N", str(N), "--sequences", "--seed", "0", "--engine", engine]  # fmt: skip
    environment = {**os.environ, "RNNSTATE_COMPILED": compiled}
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env=environment)  # fmt: skip
    return time.perf_counter() - start


def probe_now() -> float:
    """The probe as a run would take it now (not cached)."""
    return budget.probe_seconds.__wrapped__()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition")
    parser.add_argument("--reps", type=int, default=2, help="runs per size (default 2)")
    parser.add_argument("--record", metavar="FILE", help="write the measured runs to FILE "
                        "(JSON; tests/test_time_estimate.py reads benchmarks/estimate_runs.json)")
    args = parser.parse_args()
    grid, reps = (QUICK, 1) if args.quick else (GRID, args.reps)
    print("| engine | path | cell | T | M | N | load | measured (s) | estimated (s) | ratio | 2x |")
    print(f"|{'---|' * 11}")
    rows, probes, ratios, runs = [], [], [], []
    for engine, compiled, cell, T, M, N in grid:
        os.environ["RNNSTATE_COMPILED"] = compiled
        contention = budget.contention()
        spec = Spec(cell, steps=T, features=8, units=M, batch=N, return_sequences=True,
                    engine=engine)  # fmt: skip
        path = budget.time_path(spec, engine)
        times = [timed_run(engine, compiled, cell, T, M, N) for _ in range(reps)]
        measured = statistics.median(times)
        probe = probe_now()
        probes.append(probe)
        estimated = budget.nominal_seconds(spec) * contention
        if estimated >= budget.PROBE_FROM:
            estimated *= min(20.0, max(0.25, probe / budget.PROBE_SECONDS))
        ratio = measured / estimated
        ratios.append(ratio)
        rows.append((path, spec, measured / probe / contention))
        runs.append({"engine": engine, "compiled": compiled, "cell": cell, "T": T, "M": M, "N": N,
                     "path": path, "measured": measured, "load_contention": contention,
                     "probe": probe})  # fmt: skip
        met = "yes" if 0.5 <= ratio <= 2 else "NO"
        print(f"| {engine} | {path} | {cell} | {T:,} | {M} | {N} | {contention:.1f} | "
              f"{measured:.2f} | {estimated:.2f} | {ratio:.2f} | {met} |", flush=True)  # fmt: skip
    probe = statistics.median(probes)
    if args.record:
        with open(args.record, "w") as file:
            json.dump({"machine": f"{os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d"),
                       "probe_median": probe, "runs": runs}, file, indent=1)  # fmt: skip
    print(f"\nprobe: median {probe * 1e3:.2f} ms (PROBE_SECONDS = {budget.PROBE_SECONDS * 1e3} ms)")
    fitted = {}
    for path in dict.fromkeys(row[0] for row in rows):
        runs = [(spec, per_probe * probe) for p, spec, per_probe in rows if p == path]
        fitted[path] = fit_path(path, runs)
    print("\nwith the fitted constants (measured / estimated, as the runs' loads and probes):")
    for (path, spec, per_probe), ratio in zip(rows, ratios, strict=True):
        if fitted[path] is None:
            continue
        start, step, mac = fitted[path]
        measured = per_probe * probe
        directions = 2 if spec.bidirectional else 1
        macs = spec.batch * spec.gate_count * spec.units * (spec.features + spec.units)
        estimate = budget.INPUT_SECONDS * spec.batch * spec.steps * spec.features
        estimate += start + directions * spec.steps * (step + mac * macs)
        print(f"{path} {spec.cell} T={spec.steps:,} M={spec.units} N={spec.batch}: "
              f"{measured / estimate:.2f} (with budget.py's: {ratio:.2f})")  # fmt: skip


def fit_path(path: str, runs: list) -> tuple[float, float, float] | None:
    """START, STEP and MAC seconds fitted (least squares, none below 0) to `runs`, printed."""
    if len(runs) < 3:
        print(f"{path}: {len(runs)} runs, too few to fit")
        return None
    design, seconds = [], []
    for spec, measured in runs:
        directions = 2 if spec.bidirectional else 1
        steps = directions * spec.steps
        macs = spec.batch * spec.gate_count * spec.units * (spec.features + spec.units)
        design.append([1.0, steps, steps * macs])
        seconds.append(measured - budget.INPUT_SECONDS * spec.batch * spec.steps * spec.features)
    start, step, mac = np.clip(np.linalg.lstsq(np.array(design), np.array(seconds))[0], 0, None)
    print(f"{path}: START {start:.3g} s, STEP {step:.3g} s, MAC {mac:.3g} s")
    return float(start), float(step), float(mac)


if __name__ == "__main__":
    main()
