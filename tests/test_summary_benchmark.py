"""benchmarks/bench_summary.py runs end to end on tiny sizes (its figures are not asserted)."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "bench_summary.py"


def test_summary_benchmark_runs_on_tiny_sizes():
    environment = {**os.environ, "PYTHONPATH": str(SCRIPT.parent.parent)}
    process = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                             text=True, timeout=600, check=False, env=environment)  # fmt: skip
    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    assert lines[0] == "N=2000 T=10 D=4 M=8, batches of 1024, lstm"
    assert lines[1].split()[:2] == ["engine", "run"]
    runs = [line.split()[:2] for line in lines[2:8]]
    assert runs == [["numpy", "bare"], ["numpy", "summary"], ["numpy", "traced"],
                    ["keras", "bare"], ["keras", "gates"], ["keras", "summary"]]  # fmt: skip
    assert lines[8].startswith("peak RSS of rnnstate lstm --summary: ")
