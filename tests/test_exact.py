"""The exact engine (float64) against a float64 computation written out here step by step from
Keras's equations; and --check judging every engine by its distance to it."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from rich.console import Console
from typer.testing import CliRunner

import rnnstate
from rnnstate.cli import app
from rnnstate.engines import keras as keras_engine
from rnnstate.engines import numpy as numpy_engine
from rnnstate.engines import run_layer
from rnnstate.errors import NumericError
from rnnstate.render.table import cross_check_table, render
from rnnstate.spec import Spec
from rnnstate.weights import BidirectionalWeights, Weights

runner = CliRunner()

# The activations of Keras 3 (keras/src/activations/activations.py), in float64, written
# plainly. Each is what Keras computes, not how the numpy engine computes it.
REFERENCE = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "hard_sigmoid": lambda z: np.minimum(np.maximum(z + 3, 0), 6) / 6,
    "relu": lambda z: np.maximum(z, 0),
    "selu": lambda z: (
        1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(np.minimum(z, 0)))
    ),
    "softplus": lambda z: np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0),
    "log_sigmoid": lambda z: -(np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0)),
    "hard_tanh": lambda z: np.minimum(np.maximum(z, -1), 1),
    "mish": lambda z: z * np.tanh(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0)),
    "hard_silu": lambda z: z * np.minimum(np.maximum(z + 3, 0), 6) / 6,
}


def cell_step(cell, act, rec, reset_after, w: Weights, x_t, h, c):
    """One step of one sequence, float64, as Keras's LSTMCell / GRUCell / SimpleRNNCell call:
    x_t (D,), h and c (M,) -> the new h and c."""
    M = h.shape[0]
    W, U = w.kernel.astype(np.float64), w.recurrent_kernel.astype(np.float64)
    b = None if w.bias is None else w.bias.astype(np.float64)
    if cell == "rnn":
        return act(x_t @ W + h @ U + (0 if b is None else b)), c
    if cell == "lstm":
        z = x_t @ W + h @ U + (0 if b is None else b)
        i, f = rec(z[:M]), rec(z[M : 2 * M])
        g, o = act(z[2 * M : 3 * M]), rec(z[3 * M :])
        c = f * c + i * g
        return o * act(c), c
    if b is None:
        b_in, b_rec = np.zeros(3 * M), np.zeros(3 * M)
    elif reset_after:
        b_in, b_rec = b[0], b[1]
    else:
        b_in, b_rec = b, np.zeros(3 * M)
    x_z, x_r, x_h = np.split(x_t @ W + b_in, 3)
    if reset_after:
        r_z, r_r, r_h = np.split(h @ U + b_rec, 3)
        z, r = rec(x_z + r_z), rec(x_r + r_r)
        h_hat = act(x_h + r * r_h)
    else:
        z, r = rec(x_z + h @ U[:, :M]), rec(x_r + h @ U[:, M : 2 * M])
        h_hat = act(x_h + (r * h) @ U[:, 2 * M :])
    return z * h + (1 - z) * h_hat, c


def one_direction(spec, w, x, mask, h0, c0, backwards, zero_output):
    """Keras's RNN loop over one sequence x (T, D): masked steps carry the states over and
    repeat the last output (zeros with zero_output_for_mask); o in processing order."""
    act, rec = REFERENCE[spec.activation], REFERENCE[spec.recurrent_activation]
    h, c = h0.astype(np.float64), c0.astype(np.float64)
    previous = np.zeros_like(h)
    outputs = []
    for t in reversed(range(len(x))) if backwards else range(len(x)):
        if mask is not None and not mask[t]:
            outputs.append(np.zeros_like(h) if zero_output else previous)
            continue
        h, c = cell_step(spec.cell, act, rec, spec.reset_after, w, x[t].astype(np.float64), h, c)
        previous = h
        outputs.append(h)
    return np.array(outputs), h, c


def reference_run(spec: Spec, weights, x, mask, initial_state):
    """The layer's outputs and states by name, float64, one sequence at a time."""
    N, M = x.shape[0], weights.units
    states = initial_state or {n: np.zeros((N, M), np.float32) for n in spec.state_names}
    lstm = spec.cell == "lstm"
    result = {}
    for n in range(N):
        m = None if mask is None else mask[n]
        if not spec.bidirectional:
            c0 = states["c"][n] if lstm else np.zeros(M)
            o, h, c = one_direction(
                spec, weights, x[n], m, states["h"][n], c0, spec.backwards, False
            )
            found = {"o": o if spec.return_sequences else o[-1], "h": h} | (
                {"c": c} if lstm else {}
            )
        else:
            zero = spec.return_sequences
            sides = {}
            for side, w, backwards in (
                ("fw", weights.forward, False),
                ("bw", weights.backward, True),
            ):
                c0 = states[f"c_{side}"][n] if lstm else np.zeros(M)
                sides[side] = one_direction(
                    spec, w, x[n], m, states[f"h_{side}"][n], c0, backwards, zero
                )
            (o_fw, h_fw, c_fw), (o_bw, h_bw, c_bw) = sides["fw"], sides["bw"]
            if spec.return_sequences:
                o_bw = o_bw[::-1]
            else:
                o_fw, o_bw = o_fw[-1], o_bw[-1]
            merged = {"concat": np.concatenate([o_fw, o_bw], -1), "sum": o_fw + o_bw}
            outputs = (
                {"o_fw": o_fw, "o_bw": o_bw} if spec.merge == "none" else {"o": merged[spec.merge]}
            )
            found = outputs | {"h_fw": h_fw} | ({"c_fw": c_fw} if lstm else {}) | {"h_bw": h_bw}
            found |= {"c_bw": c_bw} if lstm else {}
        for name, value in found.items():
            result.setdefault(name, []).append(value)
    return {name: np.array(values) for name, values in result.items()}


def random_weights(spec: Spec, rng, scale=0.6) -> Weights:
    k, D, M = spec.gate_count, spec.features, spec.units
    bias_shape = (2, 3 * M) if spec.cell == "gru" and spec.reset_after else (k * M,)
    return Weights(
        (scale * rng.standard_normal((D, k * M))).astype(np.float32),
        (scale * rng.standard_normal((M, k * M))).astype(np.float32),
        rng.normal(0, 0.5, bias_shape).astype(np.float32) if spec.use_bias else None,
    )


CASES = [  # cell, activation, recurrent activation, settings
    ("lstm", "tanh", "sigmoid", {}),
    ("lstm", "selu", "softplus", {"use_bias": False, "backwards": True}),
    ("lstm", "hard_tanh", "log_sigmoid", {"bidirectional": True, "merge": "none"}),
    ("gru", "tanh", "sigmoid", {"reset_after": False, "masked": True}),
    ("gru", "mish", "hard_silu", {"bidirectional": True, "masked": True, "initial": True}),
    ("gru", "relu", "hard_sigmoid", {"backwards": True, "masked": True, "initial": True}),
    ("rnn", "tanh", "sigmoid", {"bidirectional": True, "merge": "sum", "initial": True}),
    ("rnn", "relu", "sigmoid", {"masked": True}),
]


@pytest.mark.parametrize("sequences", [True, False])
@pytest.mark.parametrize(("cell", "activation", "recurrent", "settings"), CASES)
def test_exact_engine_equals_a_float64_loop_to_1e_12(
    cell, activation, recurrent, settings, sequences
):
    settings = dict(settings)
    masked, initial = settings.pop("masked", False), settings.pop("initial", False)
    spec = Spec(cell, steps=11, features=3, units=5, batch=2, activation=activation,
                recurrent_activation=recurrent, return_sequences=sequences,
                initial_state=initial, **settings)  # fmt: skip
    rng = np.random.default_rng(7)
    weights = random_weights(spec, rng)
    if spec.bidirectional:
        weights = BidirectionalWeights(weights, random_weights(spec, rng))
    x = rng.standard_normal((2, 11, 3)).astype(np.float32)
    mask = rng.random((2, 11)) > 0.3 if masked else None
    if masked:
        mask[1] = False  # one sequence masked at every step
    states = {n: rng.normal(0, 0.5, (2, 5)).astype(np.float32) for n in spec.state_names}
    states = states if initial else None
    exact = run_layer(spec, x, weights, "exact", states, mask, trace=True)
    expected = reference_run(spec, weights, x, mask, states)
    got = {**exact.outputs, **exact.states}
    assert list(got) == list(expected)
    for name, value in expected.items():
        assert got[name].dtype == np.float64
        scale = np.maximum(1, np.abs(value))
        assert np.max(np.abs(got[name] - value) / scale) <= 1e-12, name
    if not spec.bidirectional and sequences and mask is None:  # the trace is o, step by step
        assert_allclose(exact.gates["h_t"], expected["o"], rtol=1e-12, atol=1e-12)


def test_exact_engine_is_offered_on_the_command_line_with_gates_and_explain():
    result = runner.invoke(app, ["lstm", "--seed", "0", "-T", "3", "--engine", "exact",
                                 "--gates", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["engine"] == "exact" and "cross_check" not in document
    spec = Spec("lstm", steps=3, seed=0)
    x = np.array(document["x"], np.float32)
    weights = rnnstate.run("lstm", steps=3, seed=0, engine="numpy").weights
    expected = reference_run(spec, weights, x, None, None)
    assert np.max(np.abs(np.array(document["h"]) - expected["h"])) <= 1e-15  # float64 written
    assert_allclose(np.array(document["gates"]["h_t"])[:, -1], expected["h"], rtol=1e-15)
    explained = runner.invoke(app, ["gru", "--seed", "0", "-T", "3", "--engine", "exact",
                                    "--explain", "1"])  # fmt: skip
    assert explained.exit_code == 0, explained.stderr
    assert "GRU on the exact engine" in explained.stdout


# ---------------------------------------------------------------------------------------------
# --check against the exact answer

KERAS_CLASSES = {"lstm": "LSTM", "gru": "GRU"}
GROWING = [  # the layers of issue 28: N=2, T=11, D=3, M=5, trained-looking random weights
    ("lstm", "selu", "softplus", False, 0.5, 4),  # no bias; c grows to about 1e27
    ("lstm", "hard_tanh", "log_sigmoid", True, 1.0, 0),  # c grows to about 5e5
    ("gru", "mish", "hard_silu", True, 0.6, 2),  # h grows to about 6e11
]


def keras_built(cell, activation, recurrent, use_bias, scale, seed):
    """A layer built with Keras with those settings, its weights drawn (normal, times
    `scale`; bias normal(0, 0.5)) and set into it, and an input (2, 11, 3): the weights as
    Keras's get_weights gives them, and x."""
    _, keras = keras_engine._import_keras()
    layer = getattr(keras.layers, KERAS_CLASSES[cell])(
        5, activation=activation, recurrent_activation=recurrent, use_bias=use_bias
    )
    layer.build((None, None, 3))
    rng = np.random.default_rng(seed)
    arrays = [
        (scale * rng.normal(0, 1, a.shape)).astype(np.float32) for a in layer.get_weights()[:2]
    ]
    if use_bias:
        arrays.append(rng.normal(0, 0.5, layer.get_weights()[2].shape).astype(np.float32))
    layer.set_weights(arrays)
    got = layer.get_weights()
    x = rng.standard_normal((2, 11, 3)).astype(np.float32)
    return Weights(got[0], got[1], got[2] if use_bias else None), x


def verdict(result) -> str:
    console = Console(record=True, width=200)
    console.print(cross_check_table(result))
    return console.export_text()


@pytest.mark.parametrize(("cell", "activation", "recurrent", "bias", "scale", "seed"), GROWING)
def test_growing_layers_agree_with_the_reason_stated(
    cell, activation, recurrent, bias, scale, seed
):
    weights, x = keras_built(cell, activation, recurrent, bias, scale, seed)
    result = rnnstate.run(
        cell, x=x, weights=weights, activation=activation, recurrent_activation=recurrent,
        return_sequences=True, check=True,
    )  # fmt: skip
    check = result.cross_check
    assert result.largest_state()[1] > 1e5  # the states grow without bound
    assert max(d.max_scaled_diff for d in check.diffs) > 1e-5  # the old 1e-5 verdict: differ
    assert check.agree and check.differing == []
    assert check.judged == ["keras", "numpy"]
    assert check.tolerance == 10 * check.reach.max_scaled_diff > 1e-5
    text = verdict(result)
    assert f"✓ keras and numpy agree with the exact answer within {check.tolerance:.3g}" in text
    amplification = f"×{float(f'{check.reach.amplification:.2g}'):g}"  # noqa: RUF001
    assert f"amplifies float32 rounding by about {amplification}" in text
    assert f"within {check.tolerance:.3g}" in text  # the tolerance printed is the one used


def test_well_conditioned_layers_keep_1e_5():
    result = rnnstate.run("lstm", steps=20, units=8, batch=3, seed=1, check=True)
    check = result.cross_check
    assert check.tolerance == 1e-5 and check.agree
    assert check.reach.max_scaled_diff < 1e-6
    assert "amplifies" not in verdict(result)


def sign_flipped_numpy(real_run):
    """A test double of the numpy engine whose GRU update has one sign flipped:
    h_t = z * h_{t-1} - (1 - z) * h_hat."""

    def run(spec, x, weights, initial_state=None, mask=None, trace=False, progress=None, **kw):
        real_make_step = numpy_engine.make_step

        def flipped(spec, x, w, states):
            step = real_make_step(spec, x, w, states)

            def wrong(t):
                step(t)
                step.h -= 2 * step.keep

            wrong.trace = step.trace
            return wrong

        numpy_engine.make_step = flipped
        try:
            return real_run(spec, x, weights, initial_state, mask, trace, progress, **kw)
        finally:
            numpy_engine.make_step = real_make_step

    return run


@pytest.mark.parametrize("growing", [False, True])
def test_a_wrong_engine_is_named_as_the_one_that_differs(monkeypatch, growing):
    import rnnstate.api

    monkeypatch.setattr(rnnstate.api, "torch_installed", lambda: False)  # torch: its own test
    monkeypatch.setattr(numpy_engine, "run", sign_flipped_numpy(numpy_engine.run))
    options = {"return_sequences": True, "check": True}
    if growing:
        weights, x = keras_built(*GROWING[2])
        result = rnnstate.run("gru", x=x, weights=weights, activation="mish",
                              recurrent_activation="hard_silu", **options)  # fmt: skip
    else:
        result = rnnstate.run("gru", steps=11, features=3, units=5, batch=2, seed=0, **options)
    check = result.cross_check
    assert not check.agree and check.differing == ["numpy"] and check.within("keras")
    assert "✗ numpy differs from the exact answer" in verdict(result)
    assert "keras is within it" in verdict(result)


def test_check_exit_code_and_json_name_the_wrong_engine(monkeypatch):
    import rnnstate.api

    monkeypatch.setattr(rnnstate.api, "torch_installed", lambda: False)
    monkeypatch.setattr(numpy_engine, "run", sign_flipped_numpy(numpy_engine.run))
    result = runner.invoke(app, ["gru", "--seed", "0", "--check", "--json"])
    assert result.exit_code == 3
    check = json.loads(result.stdout)["cross_check"]
    assert check["agree"] is False and check["differ"] == ["numpy"]
    assert [e["engine"] for e in check["exact"]] == ["keras", "numpy"]
    assert [e["agree"] for e in check["exact"]] == [True, False]
    assert check["reach"]["runs"] == 4 and check["reach"]["safety"] == 10
    assert check["tolerance"] == max(1e-5, 10 * check["reach"]["max_scaled_diff"])


# ---------------------------------------------------------------------------------------------
# Every statement true


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_saturation_marks_leave_an_lstm_or_gru_h_t_alone(cell):
    result = rnnstate.run(cell, steps=12, units=4, seed=3, engine="numpy", gates=True)
    h_t = result.gates["h_t"]
    h_t[0, 0, 0] = 0.99  # beyond tanh's ±0.95, but h_t is not tanh's output
    console = Console(record=True, width=200)
    console.print(render(result))
    text = console.export_text()
    table = text[text.index("h_t  hidden state") :]
    assert "0.9900" in table and "0.9900*" not in table
    said = "a product, not tanh's output" if cell == "lstm" else "a mix, not tanh's output"
    assert said in text


def test_saturation_marks_a_simple_rnn_h_t_by_its_activation():
    result = rnnstate.run("rnn", steps=4, units=4, seed=3, engine="numpy", gates=True)
    result.gates["h_t"][0, 0, 0] = 0.99
    console = Console(record=True, width=200)
    console.print(render(result))
    text = console.export_text()
    assert "0.9900*" in text[text.index("h_t  hidden state") :]


def test_a_sequence_masked_at_every_step_from_zeros_has_h_equal_to_o(tmp_path):
    x = np.zeros((2, 4, 2), np.float32)
    x[0] = np.arange(8, dtype=np.float32).reshape(4, 2) + 1  # sequence 0 read at every step
    path = tmp_path / "x.npy"
    np.save(path, x)
    for options in ([], ["--sequences"], ["--bidirectional", "--sequences"]):
        result = runner.invoke(app, ["gru", "--input", str(path), "--mask-value", "0", "--json",
                                     "--engine", "numpy", *options])  # fmt: skip
        assert result.exit_code == 0, result.stderr
        document = json.loads(result.stdout)
        assert document["checks"]["all_equal"] is True
        masked = [s for s in document["checks"]["states"] if s["sequence"] == 1]
        assert all(s["equals"] is not None and s["max_abs_diff"] == 0 for s in masked)
    result = runner.invoke(app, ["lstm", "--input", str(path), "--mask-value", "0", "--sequences",
                                 "--engine", "numpy"])  # fmt: skip
    assert "✓ n=1: h equals o[t=3]; largest |h - o[t=3]| = 0 (every step of this sequence is" \
        in result.stdout.replace("\n", " ")  # fmt: skip


def test_a_masked_sequence_from_given_states_still_differs_from_o(tmp_path):
    x = np.zeros((1, 3, 2), np.float32)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "s.npz", h=np.full((1, 3), 0.5, np.float32))
    result = runner.invoke(app, ["gru", "--input", str(tmp_path / "x.npy"), "--mask-value", "0",
                                 "--initial-state", str(tmp_path / "s.npz"), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [state] = json.loads(result.stdout)["checks"]["states"]
    assert state["equals"] is None and "given with --initial-state" in state["reason"]


def test_overflow_names_the_recurrent_activation_that_overflowed():
    result = runner.invoke(app, ["lstm", "--recurrent-activation", "exponential", "-T", "30",
                                 "--seed", "0"])  # fmt: skip
    assert result.exit_code == 1
    assert "i overflowed at step t=14: recurrent_activation=exponential gave a value beyond " \
        "float32; a bounded recurrent_activation" in result.stderr  # fmt: skip
    assert "activation=tanh" not in result.stderr


def test_overflow_of_a_bounded_gate_blames_its_argument_not_the_activation(tmp_path):
    big = tmp_path / "big.npz"
    np.savez(big, kernel=np.full((2, 12), 3e38, np.float32),
             recurrent_kernel=np.full((3, 12), -3e38, np.float32),
             bias=np.full((12,), 3e38, np.float32))  # fmt: skip
    result = runner.invoke(app, ["lstm", "--weights", str(big), "--seed", "0", "--engine",
                                 "numpy"])  # fmt: skip
    assert result.exit_code == 1
    assert "i overflowed at step t=" in result.stderr
    assert "its argument, a sum of weights times inputs and states, went beyond float32 with " \
        "activation=tanh, recurrent_activation=sigmoid" in result.stderr  # fmt: skip


def test_overflow_of_a_growing_sum_names_the_sum():
    weights = Weights(np.full((2, 3), 10, np.float32), 50 * np.eye(3, dtype=np.float32), None)
    with pytest.raises(NumericError) as error:
        rnnstate.run("rnn", x=np.ones((1, 40, 2), np.float32), weights=weights,
                     activation="linear", engine="numpy")  # fmt: skip
    assert "x_t W + h_{t-1} U + b overflowed at step t=" in str(error.value)
    assert "activation=linear" in str(error.value)
