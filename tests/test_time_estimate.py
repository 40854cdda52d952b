"""The time estimate's formula (rnnstate.budget.expected_seconds) on fixed constants; how close
it comes to real runs is measured by benchmarks/bench_estimate.py, not asserted here."""

import os

import pytest
from needs import needs_torch

from rnnstate import budget
from rnnstate.spec import Spec

PATHS = ("numpy", "compiled", "keras", "torch")


@pytest.fixture
def simple_constants(monkeypatch):
    """Round constants: start 1 s (compiled 2 s), 1 µs a step, 1 ns a multiply-add, 1e-8 s an
    input value; no load, the probe as fast as when fitted."""
    monkeypatch.setattr(budget, "START_SECONDS", dict.fromkeys(PATHS, 1.0) | {"compiled": 2.0})
    monkeypatch.setattr(budget, "STEP_SECONDS", dict.fromkeys(PATHS, 1e-6))
    monkeypatch.setattr(budget, "MAC_SECONDS", dict.fromkeys(PATHS, 1e-9))
    monkeypatch.setattr(budget, "INPUT_SECONDS", 1e-8)
    monkeypatch.setattr(budget, "contention", lambda: 1.0)
    monkeypatch.setattr(budget, "load_contention", lambda: 1.0)
    monkeypatch.setattr(budget, "probe_seconds", lambda: budget.PROBE_SECONDS)
    monkeypatch.delenv("RNNSTATE_COMPILED", raising=False)


def test_a_long_numpy_run_is_counted_as_compiled(simple_constants, monkeypatch):
    from rnnstate.engines import compiled

    # as fast as the loop here, so only chosen by hand; its kernel in the cache
    monkeypatch.setenv("RNNSTATE_COMPILED", "always")
    monkeypatch.setattr(compiled, "kernel_cached", lambda cell, dtype="float32": True)
    spec = Spec("lstm", steps=100_000, features=8, units=256, engine="numpy")
    macs = 4 * 256 * (8 + 256)  # N kM (D + M)
    expected = 1e-8 * 100_000 * 8 + 2.0 + 100_000 * (1e-6 + 1e-9 * macs)
    assert budget.time_path(spec, "numpy") == "compiled"
    assert budget.nominal_seconds(spec) == pytest.approx(expected, rel=1e-12)


def test_a_short_numpy_run_is_counted_as_the_loop(simple_constants):
    spec = Spec("gru", steps=8, features=2, units=3, batch=2, engine="numpy")
    macs = 2 * 9 * (2 + 3)
    assert budget.time_path(spec, "numpy") == "numpy"
    assert budget.nominal_seconds(spec) == pytest.approx(1e-8 * 32 + 1.0 + 8 * (1e-6 + 1e-9 * macs))


def test_both_directions_count_and_check_runs_every_engine(simple_constants):
    spec = Spec("rnn", steps=1_000, features=2, units=4, bidirectional=True, check=True)
    per_step = 1e-6 + 1e-9 * 4 * (2 + 4)
    # keras, torch and the numpy loop (1,000 steps do not pay for compiling) start once each;
    # both ways, keras, torch, exact (the loop in float64) and numpy with its 4 reach runs
    expected = 1e-8 * 2_000 + 3 * 1.0 + (1 + 1 + 1 + 5) * 2 * 1_000 * per_step
    assert budget.nominal_seconds(spec) == pytest.approx(expected)


def test_the_estimate_scales_by_load_and_probe_only_when_long(simple_constants, monkeypatch):
    long_run = Spec("lstm", steps=1_000_000, units=16, engine="keras")
    monkeypatch.setattr(budget, "contention", lambda: 3.0)
    monkeypatch.setattr(budget, "load_contention", lambda: 3.0)
    monkeypatch.setattr(budget, "probe_seconds", lambda: 2 * budget.PROBE_SECONDS)
    assert budget.expected_seconds(long_run) == pytest.approx(
        budget.nominal_seconds(long_run) * 3 * 2
    )

    def no_probe():
        raise AssertionError("a short run must not take the probe or read /proc")

    monkeypatch.setattr(budget, "probe_seconds", no_probe)
    monkeypatch.setattr(budget, "contention", no_probe)
    short_run = Spec("lstm", steps=8, engine="numpy")
    monkeypatch.setattr(budget, "START_SECONDS", dict.fromkeys(PATHS, 0.1))
    assert budget.expected_seconds(short_run) == pytest.approx(
        budget.nominal_seconds(short_run) * 3
    )


def test_the_issue_s_run_is_no_longer_announced_as_minutes(monkeypatch):
    # `rnnstate lstm -T 100000 -M 256 --engine numpy` said "about 2.3 min" and took 2.7 s
    monkeypatch.delenv("RNNSTATE_COMPILED", raising=False)
    spec = Spec("lstm", steps=100_000, units=256, engine="numpy")
    assert budget.nominal_seconds(spec) < 10


def test_contention_is_at_least_one():
    assert budget.contention.__wrapped__() >= 1.0


@pytest.mark.parametrize(
    "load, weights, expected",
    [
        (0.5, [9.0], 1.0),  # a quiet load average: /proc is not read
        (3.0, [3.0, 3.0, 3.0, 3.0, 3.0], 2.0),  # three jobs at nice 0 besides this one: (3+1)/2
        (3.0, [0.04, 0.06, 0.05, 0.05, 0.05], 1.0),  # three at nice 19: barely any share
        (1.4, [9.0] * 5, 1.2),  # a snapshot busier than the minute's load: the load decides
        (3.0, [None] * 5, 2.0),  # no /proc: the load average
    ],
)
def test_contention_weighs_jobs_by_their_priority(monkeypatch, load, weights, expected):
    sampled = iter(weights)
    monkeypatch.setattr(budget.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(budget.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(budget, "runnable_weight", lambda: next(sampled))
    monkeypatch.setattr(budget, "CONTENTION_PAUSE", 0.0)
    assert budget.contention.__wrapped__() == pytest.approx(expected)


def test_a_busy_thread_weighs_as_its_nice_value_says():
    import subprocess
    import sys
    import time

    busy = "import time\nend = time.time() + 10\nwhile time.time() < end: pass"
    process = subprocess.Popen(["nice", "-n", "5", sys.executable, "-c", busy])
    nice = min(19, os.nice(0) + 5)  # nice -n 5 adds to this process's own, up to 19
    try:
        time.sleep(0.3)
        with open(f"/proc/{process.pid}/stat", "rb") as file:
            assert budget.thread_weight(file.read()) == pytest.approx(1.25**-nice)
    finally:
        process.kill()
        process.wait()
    assert budget.thread_weight(b"12 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 0 1") == 0.0
    assert budget.thread_weight(b"12 (a) b) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -5 1") == \
        pytest.approx(1.25**5)  # fmt: skip


def recorded_runs() -> list[dict]:
    """The whole runs benchmarks/bench_estimate.py timed on this project's machine and recorded
    (--record), each with the load and the probe it was timed under."""
    import json
    from pathlib import Path

    path = Path(__file__).parent.parent / "benchmarks" / "estimate_runs.json"
    return json.loads(path.read_text())["runs"]


@pytest.mark.parametrize("run", [
    pytest.param(run, marks=[needs_torch] if run["engine"] == "torch" else [],
                 id=f"{run['engine']}-{run['compiled']}-{run['cell']}-T{run['T']}-M{run['M']}-N{run['N']}")
    for run in recorded_runs()
])  # fmt: skip
def test_the_estimate_is_within_2x_of_each_recorded_run(run, monkeypatch):
    # budget.py's constants against the grid of whole runs (every engine, both ways of the
    # numpy engine, the benchmark's sizes among them); the kernels were in numba's cache
    from rnnstate.engines import compiled

    monkeypatch.setenv("RNNSTATE_COMPILED", run["compiled"])
    monkeypatch.setattr(compiled, "kernel_cached", lambda cell, dtype="float32": True)
    monkeypatch.setattr(budget, "contention", lambda: run["load_contention"])
    monkeypatch.setattr(budget, "load_contention", lambda: run["load_contention"])
    monkeypatch.setattr(budget, "probe_seconds", lambda: run["probe"])
    spec = Spec(run["cell"], steps=run["T"], features=8, units=run["M"], batch=run["N"],
                return_sequences=True, engine=run["engine"])  # fmt: skip
    assert budget.time_path(spec, run["engine"]) == run["path"]
    assert 0.5 <= run["measured"] / budget.expected_seconds(spec) <= 2.0
