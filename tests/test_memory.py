"""The memory estimate against real runs: the peak RSS a run adds over a tiny run of the same
engine is at most the estimate, and the estimate is not wildly above it."""

import dataclasses
import subprocess
import sys

import pytest
from needs import needs_torch

from rnnstate import budget
from rnnstate.spec import Spec

INTERPRETER_SLACK = 100 << 20  # allocator and import noise between two processes


# Runs rnnstate and, at exit, writes the process's own peak resident memory (VmHWM, kB) to the
# file named first, and whether the run imported numba (1 or 0: it ran the compiled kernels).
# Measured from inside: a child's ru_maxrss starts at its parent's, and the parent here is
# pytest with TensorFlow and torch loaded.
MEASURED = """
import atexit, sys
out = sys.argv.pop(1)
def write_peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(out, "w").write(line.split()[1] + " " + str(int("numba" in sys.modules)))
atexit.register(write_peak)
sys.argv[0] = "rnnstate"
from rnnstate.cli import main
main()
"""


def peak_rss(args: list[str], tmp_path) -> tuple[int, bool]:
    """Peak resident memory of `rnnstate ARGS` in its own process, in bytes, and whether it
    imported numba (its kernels' cache decides, which may not be the one this process sees)."""
    out = tmp_path / "peak"
    command = [sys.executable, "-c", MEASURED, str(out), *args]
    process = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.returncode == 0, process.stderr[-500:]
    kilobytes, numba = out.read_text().split()
    return int(kilobytes) * 1024, numba == "1"


GRID = [  # (engine, arguments, the Spec they make, --json)
    ("numpy", ["lstm", "-T", "5", "-D", "300000", "-M", "64"],
     Spec("lstm", steps=5, features=300000, units=64), False),  # large D: weights
    ("numpy", ["lstm", "-T", "5", "-M", "2048"],
     Spec("lstm", steps=5, units=2048), False),  # large M: orthogonal's temporaries
    ("numpy", ["gru", "-N", "50000", "-T", "20", "-M", "32", "--sequences", "--only", "0"],
     Spec("gru", steps=20, batch=50000, units=32, return_sequences=True), False),  # large N
    ("numpy", ["lstm", "-T", "300000", "-D", "64", "-M", "64", "--sequences", "--json"],
     Spec("lstm", steps=300000, features=64, units=64, return_sequences=True), True),
    ("numpy", ["lstm", "-T", "200000", "-M", "32", "--gates", "--only", "0"],
     Spec("lstm", steps=200000, units=32, gates=True), False),
    ("numpy", ["gru", "-T", "100000", "-D", "32", "-M", "64", "--sequences", "--bidirectional"],
     Spec("gru", steps=100000, features=32, units=64, return_sequences=True,
          bidirectional=True), False),
    ("keras", ["lstm", "-T", "5", "-D", "150000", "-M", "64"],
     Spec("lstm", steps=5, features=150000, units=64), False),  # large D: weights
    ("keras", ["gru", "-N", "20000", "-T", "20", "-D", "8", "-M", "64", "--sequences", "--only",
               "0"],
     Spec("gru", steps=20, batch=20000, features=8, units=64, return_sequences=True), False),
    ("keras", ["lstm", "-T", "150000", "-D", "128", "-M", "64", "--sequences"],
     Spec("lstm", steps=150000, features=128, units=64, return_sequences=True), False),  # chunks
    ("keras", ["lstm", "-T", "100000", "-D", "8", "-M", "160", "--sequences", "--json"],
     Spec("lstm", steps=100000, features=8, units=160, return_sequences=True), True),
    ("keras", ["gru", "-T", "100000", "-D", "32", "-M", "64", "--sequences", "--bidirectional"],
     Spec("gru", steps=100000, features=32, units=64, return_sequences=True,
          bidirectional=True), False),  # one call
    # issue #29: --json at large N (a check per sequence), --check (every engine's outputs
    # kept, compared in float64), PyTorch bidirectional (o at every step, both directions),
    # --plot at T=10^6 (matplotlib's copies of every value drawn)
    ("numpy", ["lstm", "-N", "1000000", "-T", "2", "-D", "1", "-M", "2", "--json"],
     Spec("lstm", steps=2, features=1, units=2, batch=1000000), True),
    ("numpy", ["lstm", "-T", "200000", "-M", "64", "--sequences", "--check", "--only", "0"],
     Spec("lstm", steps=200000, units=64, return_sequences=True, check=True), False),
    ("torch", ["gru", "-T", "100000", "-D", "32", "-M", "64", "--bidirectional", "--only", "0"],
     Spec("gru", steps=100000, features=32, units=64, bidirectional=True), False),
    ("torch", ["lstm", "-T", "200000", "-D", "32", "-M", "64", "--sequences", "--only", "0"],
     Spec("lstm", steps=200000, features=32, units=64, return_sequences=True), False),
    ("numpy", ["lstm", "-T", "1000000", "--sequences", "--plot", "run.png", "--only", "0"],
     Spec("lstm", steps=1000000, return_sequences=True), False),
    ("numpy", ["gru", "-T", "300000", "-M", "16", "--sequences", "--gates", "--plot", "run.svg",
               "--only", "0"],
     Spec("gru", steps=300000, units=16, return_sequences=True, gates=True), False),
]  # fmt: skip
GRID_IDS = [f"{engine}-{' '.join(args[1:])}" for engine, args, _, _ in GRID]
BASES: dict[tuple, int] = {}


def base_arguments(engine: str, args: list[str]) -> list[str]:
    """A tiny run of the same engine, with --check and --plot when the run has them: the
    interpreter and the libraries it imports (what budget.library_bytes counts apart)."""
    tiny = ["lstm", "-T", "1", "-M", "1", "--engine", engine, "--seed", "0"]
    if "--check" in args:
        tiny.append("--check")
    if "--plot" in args:
        tiny += ["--plot", "tiny" + args[args.index("--plot") + 1][-4:]]
    return tiny


@pytest.mark.parametrize(("engine", "args", "spec", "as_json"), [
    pytest.param(*row, marks=[needs_torch] if row[0] == "torch" else [], id=name)
    for row, name in zip(GRID, GRID_IDS, strict=True)
])  # fmt: skip
def test_estimate_covers_the_measured_peak(engine, args, spec, as_json, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --plot writes its picture here
    base = base_arguments(engine, args)
    if tuple(base) not in BASES:
        BASES[tuple(base)] = peak_rss(base, tmp_path)[0]
    peak, compiled = peak_rss([*args, "--engine", engine, "--seed", "0"], tmp_path)
    extra = peak - BASES[tuple(base)]
    assert extra > 100 << 20  # the run really allocated: the measurement sees it
    plot = "--plot" in args
    spec = dataclasses.replace(spec, engine=engine)
    estimate = budget.estimate_bytes(spec, as_json, None, plot)
    if compiled:  # the run took the compiled path (its kernel was cached): numba's import
        estimate += budget.LIBRARY_BYTES["numba"]
    assert estimate >= extra, (estimate, extra)
    assert estimate <= 2 * extra + INTERPRETER_SLACK, (estimate, extra)
