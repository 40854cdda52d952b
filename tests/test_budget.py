"""The memory estimate refuses runs that cannot fit, before allocating anything."""

import pytest
from typer.testing import CliRunner

from rnnstate import budget
from rnnstate.cli import app
from rnnstate.errors import SpecError
from rnnstate.spec import Spec


def test_estimate_counts_input_outputs_states_and_json_buffer():
    spec = Spec("lstm", steps=10, features=2, units=3, batch=1, return_sequences=True)
    # x 20 floats, o 30, states 12: 4 * (3*20 + 3*30 + 12) bytes; JSON adds its piece buffer
    assert budget.estimate_bytes(spec) == 648
    assert budget.estimate_bytes(spec, as_json=True) == 648 + budget.JSON_PIECE_BYTES


def test_without_sequences_o_is_one_step():
    spec = Spec("gru", steps=10, features=2, units=3)
    assert budget.estimate_bytes(spec) == 4 * (3 * 20 + 3 * 3 + 12)


def test_gates_and_both_directions_count():
    spec = Spec("gru", steps=10, features=2, units=3, bidirectional=True, gates=True)
    # o 2 * 3, states 4 * 2 * 3, trace 2 directions * 6 * 30 floats, twice
    assert budget.estimate_bytes(spec) == 4 * (3 * 20 + 3 * 6 + 24 + 2 * 360)


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
        "-T 1000000000 -D 2 -M 512 -N 1 --sequences needs about 6.2 TB of memory; "
        "21 GB are available"
    )
    assert error.value.option == "--steps"


def test_cli_refuses_a_huge_run_with_exit_2():
    result = CliRunner().invoke(app, ["lstm", "-T", "99999999999999999999"])
    assert result.exit_code == 2
    assert "Invalid value for '--steps'" in result.stderr
    assert "of memory;" in result.stderr
