"""Time rnnstate against its floors, each as a whole process, alternating in one run.

    python benchmarks/bench.py            # the full benchmark (several minutes)
    python benchmarks/bench.py --quick    # tiny sizes, one repetition: checks the script runs

Prints one table of medians and ratios to their floors with the targets, the time against T
for both engines, and the peak memory of the largest run. Not part of the test suite: timings
on a shared machine vary, so the figures are read by people, not asserted.
"""

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
HERE = Path(__file__).parent
RNNSTATE = [PYTHON, "-m", "rnnstate"]


@dataclass(frozen=True)
class Case:
    """One row: a command, the floor it is measured against, and the target ratio."""

    name: str
    command: list[str]
    floor_name: str
    floor: list[str]
    target: float
    more_floor: list[str] | None = None  # a second command whose time adds to the floor's


def run_process(command: list[str]) -> tuple[float, int]:
    """Run a command with stdout to /dev/null; return (seconds, peak RSS in bytes)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = process.stderr.read()
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed ({process.returncode}): {stderr[-500:]}")
    return elapsed, usage.ru_maxrss * 1024


def median_times(case: Case, reps: int) -> tuple[float, float]:
    """Medians of the command and its floor, run alternately `reps` times each."""
    ours, floors = [], []
    for _ in range(reps):
        floor = run_process(case.floor)[0]
        if case.more_floor:
            floor += run_process(case.more_floor)[0]
        floors.append(floor)
        ours.append(run_process(case.command)[0])
    return statistics.median(ours), statistics.median(floors)


def long_run(steps: int) -> list[str]:
    """The long run of the benchmark: an LSTM, D=8, M=16, every step returned, as tables."""
    return [
        *RNNSTATE,
        "lstm",
        "-T",
        str(steps),
        "-D",
        "8",
        "-M",
        "16",
        "--sequences",
        "--seed",
        "0",
    ]


def model_files(sequences: int, steps: int) -> tuple[str, str]:
    """The saved model and token input of the `rnnstate model` case, written by bare_model.py."""
    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    model, tokens = str(folder / "rnnstate-bench.keras"), str(folder / "rnnstate-bench.npy")
    run_process([PYTHON, str(HERE / "bare_model.py"), "--make", model, tokens, str(sequences),
                 str(steps)])  # fmt: skip
    return model, tokens


def cases(steps: int, plot_steps: int, model_steps: int) -> list[Case]:
    """The benchmark table of issue #5, at `steps` for the long runs, the picture of issue #12
    at `plot_steps`, M=64, and a layer of a saved model (issue #11): 64 sequences of up to
    `model_steps` tokens through Embedding and an LSTM into the inspected LSTM."""
    keras_json = [*long_run(steps), "--json"]
    picture = [*RNNSTATE, "lstm", "-T", str(plot_steps), "-M", "64", "--sequences", "--seed", "0",
               "--engine", "numpy"]  # fmt: skip
    png = str(Path(os.environ.get("TMPDIR", "/tmp")) / "rnnstate-bench.png")
    model, tokens = model_files(64, model_steps)
    return [
        Case(
            "rnnstate --help",
            [*RNNSTATE, "--help"],
            'python -c "import typer, rich"',
            [PYTHON, "-c", "import typer, rich"],
            1.5,
        ),
        Case(
            "rnnstate lstm --seed 0",
            [*RNNSTATE, "lstm", "--seed", "0"],
            'python -c "import tensorflow"',
            [PYTHON, "-c", "import tensorflow"],
            1.15,
        ),
        Case(
            "rnnstate lstm --seed 0 --engine numpy",
            [*RNNSTATE, "lstm", "--seed", "0", "--engine", "numpy"],
            'python -c "import numpy, rich, typer"',
            [PYTHON, "-c", "import numpy, rich, typer"],
            2.5,
        ),
        Case(
            f"lstm -T {steps} -D 8 -M 16 --sequences --json",
            keras_json,
            "bare script: TF, same layer, one tf.function call, numpy",
            [PYTHON, str(HERE / "bare_keras.py"), str(steps), "8", "16"],
            1.25,
        ),
        Case(
            "the same with --engine numpy",
            [*keras_json, "--engine", "numpy"],
            "the same with the keras engine",
            keras_json,
            0.5,
        ),
        Case(
            "the same with tables instead of --json",
            long_run(steps),
            "the same with --json",
            keras_json,
            1.2,
        ),
        Case(
            f"lstm -T {plot_steps} -M 64 --sequences --engine numpy --plot out.png",
            [*picture, "--plot", png],
            "the same with --json, plus a bare matplotlib script saving one heatmap that size",
            [*picture, "--json"],
            1.0,
            [PYTHON, str(HERE / "bare_plot.py"), str(plot_steps), "64", png],
        ),
        Case(
            f"model M --layer second --input X --json (N=64, T={model_steps})",
            [*RNNSTATE, "model", model, "--layer", "second", "--input", tokens, "--json"],
            "bare script: TF, load the model, the layer's output through a sub-model",
            [PYTHON, str(HERE / "bare_model.py"), model, "second", tokens],
            1.3,
        ),
    ]


def scaling(step_counts: list[int], reps: int) -> dict[str, list[float]]:
    """Median seconds of the long --json run at each T, per engine."""
    times: dict[str, list[float]] = {}
    for engine in ("keras", "numpy"):
        times[engine] = []
        for steps in step_counts:
            command = [*long_run(steps), "--json", "--engine", engine]
            times[engine].append(statistics.median(run_process(command)[0] for _ in range(reps)))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per case (default 5)")
    args = parser.parse_args()
    reps = 1 if args.quick else args.reps
    steps = 1_000 if args.quick else 100_000
    step_counts = [10, 100] if args.quick else [1_000, 10_000, 100_000, 1_000_000]

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    print(f"\n| case | floor | ours (s) | floor (s) | ratio | target | met |\n|{'---|' * 7}")
    for case in cases(steps, 100 if args.quick else 1_000, 50 if args.quick else 2_000):
        ours, floor = median_times(case, reps)
        ratio = ours / floor
        met = "yes" if ratio <= case.target else "NO"
        print(
            f"| `{case.name}` | {case.floor_name} | {ours:.3f} | {floor:.3f} | "
            f"{ratio:.2f}x | <= {case.target}x | {met} |",
            flush=True,
        )

    times = scaling(step_counts, 1 if args.quick else 3)
    print(
        f"\n| T | {' | '.join(f'{t:,}' for t in step_counts)} |\n|{'---|' * (len(step_counts) + 1)}"
    )
    for engine, seconds in times.items():
        print(f"| {engine} (s) | {' | '.join(f'{s:.3f}' for s in seconds)} |")
    for engine, seconds in times.items():
        growth = seconds[-1] / seconds[-2]
        print(
            f"{engine}: T={step_counts[-1]:,} takes {growth:.2f}x T={step_counts[-2]:,} "
            f"(target <= 12x): {'yes' if growth <= 12 else 'NO'}"
        )

    largest = step_counts[-1]
    _, peak = run_process([*long_run(largest), "--json"])
    _, interpreter = run_process([PYTHON, "-c", "import tensorflow"])
    o_bytes = largest * 16 * 4
    limit = interpreter + 8 * o_bytes
    print(
        f"\npeak RSS of the T={largest:,} --json run: {peak / 1e6:.0f} MB; limit: interpreter "
        f"with TensorFlow {interpreter / 1e6:.0f} MB + 8 x o ({o_bytes / 1e6:.0f} MB) = "
        f"{limit / 1e6:.0f} MB: {'yes' if peak <= limit else 'NO'}"
    )


if __name__ == "__main__":
    main()
