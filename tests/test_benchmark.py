"""The benchmark script runs end to end (on tiny sizes: its figures are not asserted here)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "bench.py"


def test_benchmark_script_runs_on_tiny_sizes():
    process = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    assert lines[0].startswith("machine: ")
    assert sum(line.startswith("| `") for line in lines) == 8  # one row per case
    assert any(line.startswith("| keras (s) |") for line in lines)
    assert any(line.startswith("| numpy (s) |") for line in lines)
    assert any(line.startswith("peak RSS of the T=100 --json run:") for line in lines)
