"""The memory estimate against real runs: the peak RSS a run adds over a tiny run of the same
engine is at most the estimate, and the estimate is not wildly above it."""

import subprocess
import sys

import pytest

from rnnstate import budget
from rnnstate.spec import Spec

INTERPRETER_SLACK = 100 << 20  # allocator and import noise between two processes


# Runs rnnstate and, at exit, writes the process's own peak resident memory (VmHWM, kB) to the
# file named first. Measured from inside: a child's ru_maxrss starts at its parent's, and the
# parent here is pytest with TensorFlow and torch loaded.
MEASURED = """
import atexit, sys
out = sys.argv.pop(1)
def write_peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(out, "w").write(line.split()[1])
atexit.register(write_peak)
sys.argv[0] = "rnnstate"
from rnnstate.cli import main
main()
"""


def peak_rss(args: list[str], tmp_path) -> int:
    """Peak resident memory of `rnnstate ARGS` in its own process, in bytes."""
    out = tmp_path / "peak"
    command = [sys.executable, "-c", MEASURED, str(out), *args]
    process = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.returncode == 0, process.stderr[-500:]
    return int(out.read_text()) * 1024


@pytest.mark.parametrize(
    ("args", "spec"),
    [
        (["lstm", "-T", "5", "-D", "300000", "-M", "64"],
         Spec("lstm", steps=5, features=300000, units=64, engine="numpy")),  # large D: weights
        (["lstm", "-T", "5", "-M", "2048"],
         Spec("lstm", steps=5, units=2048, engine="numpy")),  # large M: orthogonal's temporaries
        (["gru", "-N", "50000", "-T", "20", "-M", "32", "--sequences", "--only", "0"],
         Spec("gru", steps=20, batch=50000, units=32, return_sequences=True, engine="numpy")),
    ],
    ids=["large-D", "large-M", "large-N"],
)  # fmt: skip
def test_estimate_covers_the_measured_peak_of_the_numpy_engine(args, spec, tmp_path):
    base = peak_rss(["lstm", "-T", "1", "-M", "1", "--engine", "numpy", "--seed", "0"], tmp_path)
    extra = peak_rss([*args, "--engine", "numpy", "--seed", "0"], tmp_path) - base
    assert extra > 100 << 20  # the run really allocated: the measurement sees it
    estimate = budget.estimate_bytes(spec)
    assert estimate >= extra, (estimate, extra)
    assert estimate <= 2 * extra + INTERPRETER_SLACK, (estimate, extra)
