"""The command line, through typer's CliRunner and, where the process matters, a subprocess."""

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import rnnstate
from rnnstate.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def json_of(*args: str) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("command", "layer"), [("lstm", "LSTM"), ("gru", "GRU"), ("rnn", "SimpleRNN")]
)
def test_each_cell_command_prints_its_tables(command, layer):
    result = invoke(command, "--seed", "0")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{layer} on the keras engine  T=8 D=2 M=3 N=1  seed=0\n")
    assert "✓ o equals h; largest |h - o| = 0" in result.stdout
    assert ("c  final cell state" in result.stdout) == (command == "lstm")
    assert result.stderr == ""


def test_sequences_marks_the_last_step():
    result = invoke("lstm", "--sequences", "--seed", "0", "-T", "5")
    assert result.exit_code == 0
    assert "✓ h equals o[t=4]; largest |h - o[t=4]| = 0" in result.stdout
    assert "= o[t=4]" in result.stdout


def test_json_matches_the_python_api():
    doc = json_of("lstm", "--seed", "3", "-T", "6", "-D", "4", "-M", "5", "-N", "2", "--sequences")
    result = rnnstate.run(
        "lstm", steps=6, features=4, units=5, batch=2, seed=3, return_sequences=True
    )
    for name in ("x", "o", "h", "c"):
        assert np.array_equal(np.array(doc[name], dtype=np.float32), getattr(result, name)), name
    assert doc["config"] == {
        "steps": 6,
        "features": 4,
        "units": 5,
        "batch": 2,
        "seed": 3,
        "return_sequences": True,
        "activation": "tanh",
        "recurrent_activation": "sigmoid",
        "unit_forget_bias": True,
        "use_bias": True,
        "backwards": False,
        "bidirectional": False,
        "mask_value": None,
        "initial_state": False,
        "gates": False,
        "check": False,
        "sources": dict.fromkeys(
            ("input", "weights", "layout", "prefix", "torch_layer", "initial_state")
        ),
    }
    assert doc["cell"] == "lstm" and doc["engine"] == "keras"


@pytest.mark.parametrize(("flag", "expected"), [("--reset-after", True), ("--reset-before", False)])
def test_gru_reset_variant(flag, expected):
    doc = json_of("gru", "--seed", "0", flag)
    assert doc["config"]["reset_after"] is expected
    result = rnnstate.run("gru", seed=0, reset_after=expected)
    assert np.array_equal(np.array(doc["h"], dtype=np.float32), result.h)


def test_reset_variants_give_different_numbers():
    assert (
        json_of("gru", "--seed", "0")["h"] != json_of("gru", "--seed", "0", "--reset-before")["h"]
    )


def test_no_sequences_is_the_default():
    doc = json_of("rnn", "--seed", "0", "-T", "4", "-M", "2")
    assert np.array(doc["o"]).shape == (1, 2)
    assert np.array(json_of("rnn", "--seed", "0", "--no-sequences")["o"]).shape == (1, 3)


def test_seed_is_drawn_and_shown_when_not_given():
    doc = json_of("rnn")
    assert isinstance(doc["config"]["seed"], int)
    again = json_of("rnn", "--seed", str(doc["config"]["seed"]))
    assert again["h"] == doc["h"]


def test_same_seed_gives_byte_identical_json():
    first = invoke("gru", "--seed", "42", "--sequences", "--json").stdout_bytes
    second = invoke("gru", "--seed", "42", "--sequences", "--json").stdout_bytes
    assert first == second


def test_ten_steps_extend_eight():
    eight = json_of("lstm", "--seed", "0", "--sequences")
    ten = json_of("lstm", "--seed", "0", "--sequences", "-T", "10")
    assert ten["x"][0][:8] == eight["x"][0]
    np.testing.assert_allclose(np.array(ten["o"])[:, :8], np.array(eight["o"]), atol=1e-7)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-T", "0"], "Invalid value for '-T' / '--steps'"),
        (["-D", "-2"], "Invalid value for '-D' / '--features'"),
        (["-M", "abc"], "Invalid value for '-M' / '--units'"),
        (["-M", "1.5"], "Invalid value for '-M' / '--units'"),
        (["-N", "0"], "Invalid value for '-N' / '--batch'"),
        (["--seed", "-1"], "Invalid value for '--seed'"),
        (["--frobnicate"], "No such option: --frobnicate"),
    ],
)
def test_bad_options_exit_2_naming_the_option(args, message):
    result = invoke("lstm", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_reset_option_only_on_gru():
    assert invoke("lstm", "--reset-before").exit_code == 2


def test_every_command_has_help():
    for command in ("lstm", "gru", "rnn"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        for option in ("--steps", "--features", "--units", "--seed", "--sequences", "--json"):
            assert option in result.stdout


def test_version():
    result = invoke("--version")
    assert result.stdout == f"rnnstate {rnnstate.__version__}\n"


def run_process(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, timeout=120, check=False, **kwargs
    )


def test_help_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from rnnstate.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules, file=sys.stderr)\n"
    )
    process = run_process("-c", code, "--help")
    assert b"Usage: rnnstate" in process.stdout
    assert process.stderr == b"False False\n"


def test_python_dash_m_runs_quietly_and_equals_the_command():
    process = run_process("-m", "rnnstate", "rnn", "--seed", "5", "--json")
    assert process.returncode == 0
    assert process.stderr == b""  # none of TensorFlow's start-up lines
    assert process.stdout == invoke("rnn", "--seed", "5", "--json").stdout_bytes


def test_reader_that_stops_early_ends_quietly():
    process = subprocess.run(
        f"'{sys.executable}' -m rnnstate lstm --json --sequences -T 100000 | head -c 100",
        shell=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert process.stdout.startswith(b'{"schema":"rnnstate/3","cell":"lstm"')
    assert len(process.stdout) == 100
    assert process.stderr == b""


def test_numpy_engine_gives_keras_numbers():
    keras_doc = json_of("lstm", "--seed", "0", "--sequences", "-T", "20")
    numpy_doc = json_of("lstm", "--seed", "0", "--sequences", "-T", "20", "--engine", "numpy")
    assert numpy_doc["engine"] == "numpy"
    assert numpy_doc["versions"]["tensorflow"] is None
    np.testing.assert_allclose(numpy_doc["o"], keras_doc["o"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(numpy_doc["c"], keras_doc["c"], rtol=0, atol=1e-6)


def test_unknown_engine_exits_2():
    result = invoke("gru", "--engine", "jax")
    assert result.exit_code == 2
    assert "Invalid value for '--engine'" in result.stderr


@pytest.mark.parametrize(
    ("command", "names"),
    [
        ("lstm", ["i", "f", "g", "og", "c_t", "h_t"]),
        ("gru", ["z", "r", "h_hat", "h_t"]),
        ("rnn", ["pre_activation", "h_t"]),
    ],
)
def test_gates_in_json_with_shapes(command, names):
    doc = json_of(command, "--seed", "0", "-T", "5", "-M", "4", "-N", "2", "--gates")
    assert list(doc["gates"]) == names
    assert all(np.array(doc["gates"][name]).shape == (2, 5, 4) for name in names)
    assert doc["cross_check"]["agree"] is True  # keras engine: the trace is checked
    np.testing.assert_allclose(np.array(doc["gates"]["h_t"])[:, -1], doc["h"], atol=1e-6)


def test_gates_on_keras_say_where_the_trace_comes_from():
    result = invoke("lstm", "--seed", "0", "--gates")
    assert result.exit_code == 0
    assert "traced by the numpy engine on the same weights and input" in result.stdout
    assert "✓ its outputs and states are within" in result.stdout
    assert "f  forget gate, sigmoid: near 1 keeps c" in result.stdout


def test_gates_on_numpy_run_no_second_engine():
    doc = json_of("gru", "--seed", "0", "--gates", "--engine", "numpy")
    assert "gates" in doc and "cross_check" not in doc


def test_check_reports_each_array_and_exits_0(monkeypatch):
    import rnnstate.api

    monkeypatch.setattr(rnnstate.api, "torch_installed", lambda: False)  # torch: test_pytorch.py
    result = invoke("lstm", "--seed", "0", "--check")
    assert result.exit_code == 0
    assert "✓ keras and numpy agree with the exact answer within 1e-05" in result.stdout
    doc = json_of("lstm", "--seed", "0", "--check")["cross_check"]
    [pair] = doc["pairs"]
    assert pair["engines"] == ["keras", "numpy"] and doc["tolerance"] == 1e-5
    assert list(pair["max_abs_diff"]) == ["o", "h", "c"]
    assert all(diff < 1e-6 for diff in pair["max_abs_diff"].values())


def test_check_beyond_tolerance_names_the_array_and_exits_3(monkeypatch):
    from rnnstate.engines import numpy as numpy_engine

    real_run = numpy_engine.run

    def off_by_a_little(*arguments, **options):
        out = real_run(*arguments, **options)
        out.o[0, 1, 0] += 1e-3
        return out

    monkeypatch.setattr(numpy_engine, "run", off_by_a_little)
    result = invoke("rnn", "--seed", "0", "--check", "--sequences", "-T", "3")
    assert result.exit_code == 3
    assert (
        "✗ numpy differs from the exact answer: o[0, 1, 0] by 0.001 (scaled), beyond "
        in result.stdout
    )
    result = invoke("rnn", "--seed", "0", "--check", "--sequences", "-T", "3", "--json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["cross_check"]["agree"] is False
