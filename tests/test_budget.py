"""The memory estimate refuses runs that cannot fit, before allocating anything."""

import pytest
from typer.testing import CliRunner

from rnnstate import budget
from rnnstate.cli import app
from rnnstate.engines import STEPS_PER_CHUNK
from rnnstate.errors import SpecError
from rnnstate.spec import Spec


def test_estimate_counts_every_part_on_the_keras_engine():
    spec = Spec("lstm", steps=10, features=2, units=3, batch=1, return_sequences=True)
    # x 20 floats, kernel + bias 2*12 + 24, recurrent 3*12, o 30, states 4*3
    assert budget.estimate_parts(spec) == {
        "input": 4 * 20 * (2 + 3),
        "weights": 4 * 48 * (1 + 5) + 4 * 36 * 12,
        "outputs": 4 * 30 * (1 + 11),  # T=10 is within one chunk: a call holds all steps
        "states": 4 * 12,
        "trace": 0,
        "state checks": budget.CHECK_BYTES,  # one state of one sequence
    }
    with_json = budget.estimate_parts(spec, as_json=True)
    assert with_json["JSON buffer"] == budget.JSON_BUFFER_BYTES


def test_numpy_engine_counts_one_chunk_of_the_input_projection():
    spec = Spec("gru", steps=20_000, features=2, units=3, batch=5, engine="numpy")
    parts = budget.estimate_parts(spec)
    assert parts["input projection"] == 4 * STEPS_PER_CHUNK * 5 * (9 + 2) * 2
    assert parts["outputs"] == 4 * 5 * 3 * (1 + 2)  # o is one step without return_sequences


def test_gates_and_both_directions_count():
    spec = Spec("gru", steps=10, features=2, units=3, bidirectional=True, gates=True)
    parts = budget.estimate_parts(spec)
    assert parts["trace"] == 4 * 2 * 6 * 30 * 2  # 2 directions, at most 6 quantities, twice
    assert parts["states"] == 4 * 4 * 2 * 3


def test_files_written_count():
    spec = Spec("lstm", steps=10, features=2, units=3, return_sequences=True)
    parts = budget.estimate_parts(spec, output="run.npz", plot=True)
    assert parts["--output .npz"] == 2 * 4 * (20 + 30)
    # T=10 columns of 2 + 3 rows of heatmaps, and 3 units of o through time
    figure = budget.FIGURE_BYTES + 10 * (
        5 * budget.PLOT_BYTES_PER_VALUE + 3 * budget.PLOT_BYTES_PER_POINT
    )
    assert parts["--plot figure"] == figure


@pytest.mark.parametrize(
    ("count", "text"),
    [(512, "512 B"), (2_300, "2.3 kB"), (21_000_000_000, "21 GB"), (2.3e12, "2.3 TB")],
)
def test_human_bytes(count, text):
    assert budget.human_bytes(count) == text


def test_available_memory_is_positive():
    assert budget.available_bytes() > 0


def test_refusal_names_the_sizes_and_what_is_available(monkeypatch):
    monkeypatch.setattr(budget, "available_bytes", lambda: 21_000_000_000)
    spec = Spec("lstm", steps=1_000_000_000, units=512, return_sequences=True)
    with pytest.raises(SpecError) as error:
        budget.ensure_fits(spec)
    assert str(error.value) == (
        "-T 1000000000 -D 2 -M 512 -N 1 --sequences needs about 2.1 TB of memory (outputs: "
        "2.0 TB); 21 GB are available"  # o, and the copies of one chunk of steps
    )
    assert error.value.option == "--steps"


def test_cli_refuses_a_huge_run_with_exit_2():
    result = CliRunner().invoke(app, ["lstm", "-T", "99999999999999999999"])
    assert result.exit_code == 2
    assert "Invalid value for '--steps'" in result.stderr
    assert "of memory (" in result.stderr


@pytest.mark.parametrize(
    ("args", "option", "largest"),
    [
        (["gru", "-N", "2000000", "-T", "50", "-M", "256", "--engine", "numpy"], "--batch",
         "input projection"),
        (["lstm", "-T", "20", "-D", "200000", "-M", "2048"], "--features", "weights"),
    ],
)  # fmt: skip
def test_runs_the_issue_found_unguarded_are_refused_before_allocating(args, option, largest):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.stderr and f"({largest}: " in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_run_of_hours_says_so_before_it_starts():
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "rnnstate", "lstm", "-T", "10000000", "-M", "512", "--engine",
         "numpy"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = process.stderr.readline()
    finally:
        process.kill()
        process.wait()
    assert line.startswith("rnnstate: this run should take about ")
    assert line.rstrip().endswith("(T=10000000, N=1, M=512, numpy engine); Ctrl-C stops it")
