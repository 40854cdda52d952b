"""Layer settings (activation, recurrent_activation, unit_forget_bias): real Keras layers built
with them, their get_weights() run through rnnstate on both engines, equal to Keras's own call."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

import rnnstate
from rnnstate.activations import ELEMENTWISE
from rnnstate.cli import app
from rnnstate.engines import keras as keras_engine
from rnnstate.weights import Weights

_, keras = keras_engine._import_keras()
runner = CliRunner()
T, D, M, N = 3, 2, 3, 2
KERAS_CLASSES = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}


def settings_cases() -> list[tuple[str, str, str, bool]]:
    """(cell, activation, recurrent_activation, use_bias): every element-wise activation as the
    activation of each cell and as the recurrent activation of the LSTM and GRU, the bias left
    out in every third case."""
    cases = []
    for cell in ("lstm", "gru", "rnn"):
        for index, name in enumerate(ELEMENTWISE):
            cases.append((cell, name, "sigmoid" if index % 2 else "hard_sigmoid", index % 3 > 0))
            if cell != "rnn":
                cases.append((cell, "tanh" if index % 2 else "relu", name, index % 3 != 1))
    return cases


def keras_layer(cell: str, activation: str, recurrent_activation: str, use_bias: bool):
    """A Keras layer of `cell` with those settings, returning its sequence and states."""
    options = {"activation": activation, "use_bias": use_bias}
    if cell != "rnn":
        options["recurrent_activation"] = recurrent_activation
    layer = getattr(keras.layers, KERAS_CLASSES[cell])(
        M, return_sequences=True, return_state=True, **options
    )
    layer.build((None, None, D))
    return layer


def trained_looking(layer, rng: np.random.Generator) -> Weights:
    """The layer's weights with its zero bias replaced by random values, set back into it."""
    arrays = layer.get_weights()
    if len(arrays) == 3:
        arrays[2] = rng.normal(0, 0.3, arrays[2].shape).astype(np.float32)
        layer.set_weights(arrays)
    return Weights(arrays[0], arrays[1], arrays[2] if len(arrays) == 3 else None)


@pytest.mark.parametrize(
    ("cell", "activation", "recurrent_activation", "use_bias"), settings_cases()
)
def test_both_engines_equal_keras_for_the_layer_settings(
    cell, activation, recurrent_activation, use_bias
):
    seed = len(activation) + 7 * len(recurrent_activation)
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)  # Keras's initialisers too: the same weights in any order
    layer = keras_layer(cell, activation, recurrent_activation, use_bias)
    weights = trained_looking(layer, rng)
    x = (0.3 * rng.standard_normal((N, T, D))).astype(np.float32)
    o, *states = (np.asarray(a) for a in layer(x))
    settings = {"activation": activation, "return_sequences": True}
    if cell != "rnn":
        settings["recurrent_activation"] = recurrent_activation
    result = rnnstate.run(cell, x=x, weights=weights, engine="numpy", check=True, **settings)
    assert result.spec.use_bias is use_bias
    assert result.cross_check.agree, result.cross_check
    assert_allclose(result.o, o, rtol=1e-5, atol=1e-6)
    assert_allclose(result.h, states[0], rtol=1e-5, atol=1e-6)
    if cell == "lstm":
        assert_allclose(result.c, states[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("cell", "options"),
    [
        ("lstm", ["--activation", "relu"]),
        ("gru", ["--recurrent-activation", "hard_sigmoid"]),
        ("rnn", ["--activation", "relu"]),
        ("lstm", ["--activation", "linear", "--recurrent-activation", "hard_sigmoid"]),
    ],
)
@pytest.mark.parametrize("engine", ["keras", "numpy"])
def test_weights_file_with_matching_options_gives_keras_s_numbers(tmp_path, cell, options, engine):
    settings = dict(zip(options[::2], options[1::2], strict=True))
    layer = keras_layer(
        cell,
        settings.get("--activation", "tanh"),
        settings.get("--recurrent-activation", "sigmoid"),
        use_bias=True,
    )
    weights = trained_looking(layer, np.random.default_rng(3))
    x = np.random.default_rng(4).standard_normal((N, T, D)).astype(np.float32)
    o, *states = (np.asarray(a) for a in layer(x))
    np.savez(tmp_path / "w.npz", **weights.named())
    np.save(tmp_path / "x.npy", x)
    result = runner.invoke(
        app,
        [
            cell,
            "--weights",
            str(tmp_path / "w.npz"),
            "--input",
            str(tmp_path / "x.npy"),
            "--sequences",
            "--engine",
            engine,
            "--json",
            *options,
        ],
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["config"]["activation"] == settings.get("--activation", "tanh")
    assert_allclose(np.array(document["o"], dtype=np.float32), o, rtol=1e-5, atol=1e-6)
    assert_allclose(np.array(document["h"], dtype=np.float32), states[0], rtol=1e-5, atol=1e-6)


def test_relu_lstm_weights_read_as_tanh_give_other_numbers(tmp_path):
    """Why the settings matter: the same weights with Keras's defaults are not this layer."""
    layer = keras_layer("lstm", "relu", "sigmoid", use_bias=True)
    weights = trained_looking(layer, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((1, 6, D)).astype(np.float32) * 3
    o, *_ = (np.asarray(a) for a in layer(x))
    as_tanh = rnnstate.run("lstm", x=x, weights=weights, engine="numpy", return_sequences=True)
    as_relu = rnnstate.run(
        "lstm", x=x, weights=weights, engine="numpy", return_sequences=True, activation="relu"
    )
    assert_allclose(as_relu.o, o, rtol=1e-5, atol=1e-6)
    assert not np.allclose(as_tanh.o, o, rtol=1e-3, atol=1e-3)


def test_unit_forget_bias_sets_the_forget_block_of_drawn_weights():
    on = rnnstate.run("lstm", seed=0, units=2, engine="numpy").weights.bias
    off = rnnstate.run("lstm", seed=0, units=2, engine="numpy", unit_forget_bias=False).weights.bias
    assert on.tolist() == [0, 0, 1, 1, 0, 0, 0, 0]
    assert off.tolist() == [0] * 8


def test_no_unit_forget_bias_reaches_keras_and_the_header():
    result = runner.invoke(app, ["lstm", "--seed", "0", "--no-unit-forget-bias", "--check"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[2] == (
        "activation=tanh  recurrent_activation=sigmoid  unit_forget_bias=False"
    )


def test_alias_is_stored_under_keras_s_name():
    result = runner.invoke(app, ["gru", "--seed", "0", "--activation", "swish", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["config"]["activation"] == "silu"


def test_header_and_json_name_the_activations():
    result = runner.invoke(
        app,
        ["gru", "--seed", "0", "--activation", "relu", "--recurrent-activation", "hard_sigmoid"],
    )
    assert result.stdout.splitlines()[1:3] == [
        "return_sequences=False  reset_after=True  use_bias=True",
        "activation=relu  recurrent_activation=hard_sigmoid",
    ]
    document = json.loads(
        runner.invoke(app, ["rnn", "--seed", "0", "--activation", "elu", "--json"]).stdout
    )
    assert document["config"]["activation"] == "elu"
    assert "recurrent_activation" not in document["config"]


def test_unknown_activation_exits_2_listing_the_names():
    result = runner.invoke(app, ["lstm", "--activation", "relu7"])
    assert result.exit_code == 2
    assert (
        "error: Invalid value for '--activation': unknown activation 'relu7'; "
        "expected one of tanh, sigmoid, hard_sigmoid, relu," in result.stderr
    )
    assert len(result.stderr.splitlines()) == 1


def test_unusable_activation_exits_2_with_the_reason():
    result = runner.invoke(app, ["gru", "--recurrent-activation", "glu"])
    assert result.exit_code == 2
    assert "glu halves the units it is given" in result.stderr


def test_rnn_has_no_recurrent_activation_option():
    result = runner.invoke(app, ["rnn", "--recurrent-activation", "relu"])
    assert result.exit_code == 2
    assert "No such option: --recurrent-activation" in result.stderr


@pytest.mark.parametrize("option", [["--engine", "numpy"], ["--gates"], ["--check"]])
def test_softmax_cannot_go_where_numpy_must_compute_it(option):
    result = runner.invoke(app, ["lstm", "--activation", "softmax", *option])
    assert result.exit_code == 2
    assert (
        f"Invalid value for '{option[0]}': softmax mixes the units of a step, so the numpy "
        "engine cannot compute it" in result.stderr
    )


def test_softmax_runs_on_the_keras_engine():
    layer = keras_layer("gru", "softmax", "sigmoid", use_bias=True)
    weights = trained_looking(layer, np.random.default_rng(5))
    x = np.random.default_rng(6).standard_normal((1, 4, D)).astype(np.float32)
    o, h = (np.asarray(a) for a in layer(x))
    result = rnnstate.run("gru", x=x, weights=weights, activation="softmax", return_sequences=True)
    assert_allclose(result.o, o, rtol=1e-5, atol=1e-6)
    assert_allclose(result.h, h, rtol=1e-5, atol=1e-6)


def test_overflow_is_one_line_and_exit_1():
    result = runner.invoke(
        app, ["lstm", "--seed", "1", "-T", "6", "-M", "4", "--activation", "exponential"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("rnnstate: error: o is not finite (first at index [0, ")
    assert "overflowed float32; h_t overflowed at step t=4: activation=exponential gave a " \
        "value beyond float32" in result.stderr  # fmt: skip
    assert result.stdout == ""


def test_relu_trace_marks_dead_units_and_notes_growth():
    result = runner.invoke(
        app, ["rnn", "--seed", "0", "-T", "6", "-M", "6", "--activation", "relu", "--gates"]
    )
    assert result.exit_code == 0, result.stderr
    assert "* saturated: relu at exactly 0: the unit is dead at that step" in result.stdout
    assert " 0.0000*" in result.stdout
    assert "pre_activation  x_t W + h_{t-1} U + b, before relu" in result.stdout
    assert "relu does not bound the states: |h| reaches 2.239" in result.stdout


def test_lstm_trace_names_the_real_activations():
    result = runner.invoke(
        app,
        [
            "lstm",
            "--seed",
            "0",
            "-T",
            "2",
            "--activation",
            "linear",
            "--gates",
            "--recurrent-activation",
            "hard_sigmoid",
            "--engine",
            "numpy",
        ],
    )
    assert "g  candidate, linear: what may be written into c" in result.stdout
    assert "og  output gate, hard_sigmoid: how much of linear(c_t) shows in h_t" in result.stdout
    assert "linear has no flat part: no" in result.stdout
