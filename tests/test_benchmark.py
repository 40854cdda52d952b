"""The benchmark scripts run end to end (on tiny sizes: their figures are not asserted here)."""

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def quick(script: str) -> list[str]:
    """The lines a benchmark script prints with --quick (asserting it exits 0)."""
    process = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    return process.stdout.splitlines()


def test_explore_benchmark_runs_on_tiny_sizes():
    lines = quick("bench_explore.py")
    assert lines[0].startswith("| engine | T | M | presses | key to view (ms) |")
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| numpy", "| keras"]


def test_benchmark_script_runs_on_tiny_sizes():
    lines = quick("bench.py")
    assert lines[0].startswith("machine: ")
    assert sum(line.startswith("| `") for line in lines) == 8  # one row per case
    assert any(line.startswith("| keras (s) |") for line in lines)
    assert any(line.startswith("| numpy (s) |") for line in lines)
    assert any(line.startswith("peak RSS of the T=100 --json run:") for line in lines)


def test_memory_benchmark_runs_on_tiny_sizes():
    lines = quick("bench_memory.py")
    tables = "\n".join(lines).split("\n\n")
    assert [table.splitlines()[0].split(" | ")[1] for table in tables] == [
        "T", "T", "T", "seconds"
    ]  # fmt: skip
    assert [line.split(" | ")[0] for line in tables[0].splitlines()[2:]] == [
        "| lstm", "| gru", "| rnn", "| lstm (OPENBLAS_NUM_THREADS=1)"
    ]  # fmt: skip
    assert tables[3].splitlines()[2].startswith("| lstm -T 2000 -M 4 --memory |")
