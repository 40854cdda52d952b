"""rnnstate lstm/gru/rnn --memory from the command line: the JSON's influence against Keras's own
gradients, the tables and horizon line, --only, masked steps, and the refused combinations."""

import json
from pathlib import Path

import numpy as np
import pytest
from test_influence import keras_influence
from typer.testing import CliRunner

from rnnstate.cli import app
from rnnstate.spec import Spec
from rnnstate.weights import BidirectionalWeights, Weights

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), prog_name="rnnstate", terminal_width=100)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_json_memory_equals_keras_gradients_of_the_run(cell):
    result = invoke(cell, "--memory", "--json", "-T", "6", "-N", "2", "-M", "3", "--seed", "4")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    weights = document["weights"]
    bias = None if "bias" not in weights else np.array(weights["bias"], np.float32)
    kernel, recurrent = (np.array(weights[k], np.float32) for k in ("kernel", "recurrent_kernel"))
    w = Weights(kernel, recurrent, bias)  # float32 as written: read back as float32
    spec = Spec(cell=cell, steps=6, features=2, units=3, batch=2)
    expected = keras_influence(spec, np.array(document["x"], np.float32), w, None, None)
    memory = document["memory"]
    assert set(memory) == {"definition", "share", "influence", "horizon", "reach"}
    assert memory["share"] == 0.9
    for state, values in expected.items():
        got = np.array(memory["influence"][state])
        np.testing.assert_allclose(got, values, rtol=1e-9, atol=1e-12)
        for n in range(2):  # the horizon: fewest last steps holding 90% of the total
            tail = np.cumsum(got[n, ::-1])
            steps = int(np.argmax(tail >= 0.9 * tail[-1])) + 1
            assert memory["horizon"][state][n] == steps
            assert memory["reach"][state][n] == 6 - steps


def test_bidirectional_json_memory_equals_keras_gradients():
    result = invoke("gru", "--bidirectional", "--memory", "--json", "-T", "5", "--seed", "1")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    halves = [
        Weights(*(np.array(document["weights"][f"{side}_{k}"], np.float32)
                  for k in ("kernel", "recurrent_kernel", "bias")))
        for side in ("forward", "backward")
    ]  # fmt: skip
    spec = Spec(cell="gru", steps=5, features=2, units=3, bidirectional=True)
    x = np.array(document["x"], np.float32)
    expected = keras_influence(spec, x, BidirectionalWeights(*halves), None, None)
    assert list(document["memory"]["influence"]) == ["h_fw", "h_bw"]
    for state, values in expected.items():
        got = np.array(document["memory"]["influence"][state])
        np.testing.assert_allclose(got, values, rtol=1e-9, atol=1e-12)
    backward = np.array(document["memory"]["influence"]["h_bw"])[0]
    held = np.cumsum(backward)  # the backward half reads t=0 last
    steps = int(np.argmax(held >= 0.9 * held[-1])) + 1
    assert document["memory"]["horizon"]["h_bw"] == [steps]
    assert document["memory"]["reach"]["h_bw"] == [steps - 1]


def test_table_rows_masked_steps_and_horizon_line(tmp_path: Path):
    x = tmp_path / "x.json"
    x.write_text("[[1, 2], [0, 0], [3, 1], [0.5, 0.2], [1, 1], [0, 0]]")
    args = ("gru", "--memory", "--backwards", "--mask-value", "0", "--input", str(x), "--seed", "0")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "influence on h: ‖∂h/∂x_t‖" in text
    lines = [line for line in text.splitlines() if "masked: skipped, no influence" in line]
    assert [line.split()[1] for line in lines] == ["1", "5"]
    document = json.loads(invoke(*args, "--json").stdout)  # the same weights: --seed
    steps, reach = document["memory"]["horizon"]["h"][0], document["memory"]["reach"]["h"][0]
    assert f"horizon of h: the last {steps} steps read (t=0..{reach}) hold 90% of it" in text


def test_every_step_masked_has_a_horizon_of_zero(tmp_path: Path):
    x = tmp_path / "x.json"
    x.write_text("[[0, 0], [0, 0]]")
    args = ("rnn", "--memory", "--mask-value", "0", "--input", str(x))
    assert "horizon of h: 0 steps: no step has any influence on it" in invoke(*args).stdout
    memory = json.loads(invoke(*args, "--json").stdout)["memory"]
    assert memory["influence"]["h"] == [[0.0, 0.0]]
    assert (memory["horizon"]["h"], memory["reach"]["h"]) == ([0], [-1])


def test_only_picks_the_sequence():
    args = ("rnn", "--memory", "-T", "30", "-N", "3", "-M", "4", "--seed", "2")
    document = json.loads(invoke(*args, "--json").stdout)
    steps, reach = document["memory"]["horizon"]["h"][2], document["memory"]["reach"]["h"][2]
    text = invoke(*args, "--only", "2").stdout
    assert "memory of sequence 2" in text
    assert f"horizon of h: the last {steps} steps read (t={reach}..29) hold 90% of it" in text


def test_long_sequences_show_the_steps_read_last():
    args = ("rnn", "--memory", "-T", "50", "--seed", "0")
    text = invoke(*args).stdout
    influence = np.array(json.loads(invoke(*args, "--json").stdout)["memory"]["influence"]["h"])
    share = f"{influence[0, :10].sum() / influence.sum():.1%}"
    row = next(line for line in text.splitlines() if "read earlier" in line)
    cells = [cell.strip() for cell in row.split("│")[1:5]]
    assert cells == ["0..9", "10 steps", share, "read earlier; --full shows each"]
    assert [line.split("│")[1].strip() for line in text.splitlines()[-42:-2]] == [
        str(t) for t in range(10, 50)
    ]
    assert "read earlier" not in invoke(*args, "--full").stdout


@pytest.mark.parametrize(
    "args, option",
    [
        (["--explain", "1"], "--explain"),
        (["--activation", "gelu"], "--memory"),
        (["--unit", "3"], "--unit"),
        (["--plot", "x.png", "--unit", "-1"], "--unit"),
    ],
)
def test_refused_combinations_are_usage_errors(args, option, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("rnn", "--memory", *args)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_run_whose_backward_pass_cannot_fit_is_refused_before_it_starts(monkeypatch):
    from rnnstate import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 10 << 20)
    result = invoke("lstm", "--memory", "-T", "20000", "-M", "16", "--engine", "numpy")
    assert result.exit_code == 2
    assert "Invalid value for '--memory'" in result.output
    assert "with --memory needs about" in result.output and "10 MB are available" in result.output
    assert "influence" not in result.stdout


@pytest.mark.parametrize(
    "cell, bidirectional, T, M, N",
    [("lstm", False, 2000, 16, 4), ("gru", True, 300, 64, 2), ("rnn", False, 5000, 4, 8)],
)
def test_memory_estimate_covers_the_measured_peak(cell, bidirectional, T, M, N):
    """tracemalloc's peak over memory.memory (numpy reports its arrays to it) is at most the
    estimate, and the estimate is not more than 3 times it."""
    import tracemalloc

    from rnnstate import memory
    from rnnstate.weights import initial_weights

    spec = Spec(cell=cell, steps=T, features=3, units=M, batch=N, engine="exact",
                bidirectional=bidirectional)  # fmt: skip
    weights = initial_weights(spec, np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(N, T, 3)).astype(np.float32)
    tracemalloc.start()
    try:
        memory.memory(spec, x, weights)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= memory.needed_bytes(spec) <= 3 * peak
