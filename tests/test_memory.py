"""The memory estimate against real runs: the peak RSS a run adds over a tiny run of the same
engine is at most the estimate, and the estimate is not wildly above it."""

import os
import subprocess
import sys

import pytest

from rnnstate import budget
from rnnstate.spec import Spec

INTERPRETER_SLACK = 100 << 20  # allocator and import noise between two processes


def peak_rss(args: list[str]) -> int:
    """Peak resident memory of `python -m rnnstate ARGS`, in bytes."""
    process = subprocess.Popen([sys.executable, "-m", "rnnstate", *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, process.stderr.read()[-500:]
    process.stderr.close()
    return usage.ru_maxrss * 1024


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
def test_estimate_covers_the_measured_peak_of_the_numpy_engine(args, spec):
    base = peak_rss(["lstm", "-T", "1", "-M", "1", "--engine", "numpy", "--seed", "0"])
    extra = peak_rss([*args, "--engine", "numpy", "--seed", "0"]) - base
    estimate = budget.estimate_bytes(spec)
    assert estimate >= extra, (estimate, extra)
    assert estimate <= 2 * extra + INTERPRETER_SLACK, (estimate, extra)
