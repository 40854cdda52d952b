"""benchmarks/bench_pytorch.py and bench_estimate.py run end to end (tiny sizes; their figures
are read by people, not asserted)."""

import subprocess
import sys
from pathlib import Path

from needs import needs_torch

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def quick(script: str) -> list[str]:
    """The lines a benchmark script prints with --quick (asserting it exits 0)."""
    process = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick"],
                             capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    assert process.returncode == 0, process.stderr
    return process.stdout.splitlines()


@needs_torch
def test_pytorch_comparison_runs_on_tiny_sizes():
    lines = quick("bench_pytorch.py")
    assert lines[0].startswith("machine: ")
    rows = [line for line in lines if line.startswith("| LSTM T=")]
    assert [row.split(" | ")[0] for row in rows] == [
        "| LSTM T=1,000 D=8 M=16",
        "| LSTM T=1,000 D=8 M=64",
    ]
    assert any(line.startswith("| compiled (s) |") for line in lines)
    assert any(line.startswith("| numpy loop (s) |") for line in lines)


@needs_torch  # its grid runs the torch engine
def test_estimate_grid_runs_on_tiny_sizes():
    lines = quick("bench_estimate.py")
    rows = [line for line in lines if line.startswith("| numpy |") or line.startswith("| keras |")
            or line.startswith("| torch |")]  # fmt: skip
    assert [row.split(" | ")[1] for row in rows] == ["numpy", "compiled", "keras", "torch"]
    assert any(line.startswith("probe: median ") for line in lines)


def test_compile_cost_runs_on_tiny_sizes():
    lines = quick("bench_compile.py")
    rows = [line.split(" | ") for line in lines if line.startswith("| rnn |")]
    assert [row[4] for row in rows] == ["16", "256"]  # M, for the SimpleRNN kernel
    assert all(float(row[1]) > float(row[2]) for row in rows)  # compiled cold, loaded warm
