"""rnnstate.memory's influence ‖∂s/∂x_t‖ against Keras's own gradients (tf.GradientTape on the
real layer, in float64, with the same weights), against finite differences, and its horizon."""

import dataclasses
import os

import numpy as np
import pytest
from needs import needs_torch

from rnnstate import memory
from rnnstate.errors import SpecError
from rnnstate.spec import Spec
from rnnstate.weights import BidirectionalWeights, initial_weights


def keras_influence(spec, x, weights, initial_state, mask, dtype="float64"):
    """state name -> (N, T): the Frobenius norm over units and features of Keras's batch
    Jacobian of each final state by x, the layer built in `dtype` (float64 unless told)."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import tensorflow as tf

    options = {"return_state": True, "go_backwards": spec.backwards, "dtype": dtype,
               "activation": spec.activation, "use_bias": weights.use_bias}  # fmt: skip
    if spec.cell != "rnn":
        options["recurrent_activation"] = spec.recurrent_activation
    if spec.cell == "gru":
        options["reset_after"] = spec.reset_after
    layer = getattr(keras.layers, spec.keras_layer)(spec.units, **options)
    if spec.bidirectional:
        layer = keras.layers.Bidirectional(layer, dtype=dtype)
    layer.build((None, None, spec.features))
    layer.set_weights([np.asarray(w, dtype) for w in weights.as_list()])
    xt = tf.constant(np.asarray(x, dtype))
    states = None
    if initial_state is not None:
        states = [tf.constant(np.asarray(initial_state[n], dtype)) for n in spec.state_names]
    mask_t = None if mask is None else tf.constant(mask)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        returned = layer(xt, initial_state=states, mask=mask_t)
    out = {}
    for name, state in zip(spec.state_names, returned[1:], strict=True):
        jacobian = tape.batch_jacobian(state, xt).numpy()  # (N, M, T, D)
        out[name] = np.sqrt((jacobian**2).sum(axis=(1, 3)))
    return out


def case(cell, **settings):
    spec = Spec(cell=cell, steps=7, features=3, units=4, batch=3, engine="exact", **settings)
    rng = np.random.default_rng(5)
    weights = initial_weights(spec, rng)
    x = rng.normal(size=(3, 7, 3)).astype(np.float32)
    return spec, x, weights


CASES = {
    "lstm": dict(cell="lstm"),
    "gru_reset_after": dict(cell="gru"),
    "gru_reset_before": dict(cell="gru", reset_after=False),
    "rnn": dict(cell="rnn"),
    "lstm_backwards": dict(cell="lstm", backwards=True),
    "gru_backwards": dict(cell="gru", backwards=True),
    "rnn_relu": dict(cell="rnn", activation="relu"),
    "lstm_softsign_hard_sigmoid": dict(
        cell="lstm", activation="softsign", recurrent_activation="hard_sigmoid"
    ),
    "gru_elu": dict(cell="gru", activation="elu", reset_after=False),
    "lstm_bidirectional": dict(cell="lstm", bidirectional=True),
    "gru_bidirectional": dict(cell="gru", bidirectional=True),
}


@pytest.mark.parametrize("name", CASES)
def test_influence_equals_keras_gradients(name):
    spec, x, weights = case(**CASES[name])
    got = memory.memory(spec, x, weights)
    expected = keras_influence(spec, x, weights, None, None)
    assert set(got.influence) == set(expected)
    for state, values in expected.items():
        np.testing.assert_allclose(got.influence[state], values, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["lstm", "gru_reset_before", "rnn", "lstm_backwards"])
def test_influence_near_the_float32_keras_layer(name):
    """The layer as Keras runs it by default, in float32: its gradients within float32's reach."""
    spec, x, weights = case(**CASES[name])
    got = memory.memory(spec, x, weights)
    expected = keras_influence(spec, x, weights, None, None, dtype="float32")
    for state, values in expected.items():
        np.testing.assert_allclose(got.influence[state], values, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_masked_steps_and_initial_states_as_keras(cell):
    spec, x, weights = case(cell, initial_state=True)
    mask = np.ones((3, 7), bool)
    mask[0, 2] = mask[1, 5:] = mask[2, 0] = False
    rng = np.random.default_rng(9)
    initial = {n: rng.normal(size=(3, 4)).astype(np.float32) for n in spec.state_names}
    got = memory.memory(spec, x, weights, initial, mask)
    expected = keras_influence(spec, x, weights, initial, mask)
    for state, values in expected.items():
        np.testing.assert_allclose(got.influence[state], values, rtol=1e-9, atol=1e-12)
        assert (got.influence[state][~mask] == 0).all()
        assert (got.influence[state][mask] > 0).all()


def test_backwards_masked_as_keras():
    spec, x, weights = case("gru", backwards=True)
    mask = np.ones((3, 7), bool)
    mask[:, 4] = False
    got = memory.memory(spec, x, weights, None, mask)
    expected = keras_influence(spec, x, weights, None, mask)
    np.testing.assert_allclose(got.influence["h"], expected["h"], rtol=1e-9, atol=1e-12)


def test_finite_differences_float64():
    """Central differences of the exact engine's final state by each input value."""
    from rnnstate.engines import exact

    spec, x, weights = case("lstm")
    x = x[:1].astype(np.float64)
    got = memory.memory(spec, x, weights)
    eps = 1e-6
    for t in range(spec.steps):
        jac = {n: np.zeros((4, 3)) for n in ("h", "c")}
        for d in range(3):
            up, down = x.copy(), x.copy()
            up[0, t, d] += eps
            down[0, t, d] -= eps
            high, low = exact.run(spec, up, weights).states, exact.run(spec, down, weights).states
            for n in jac:
                jac[n][:, d] = (high[n][0] - low[n][0]) / (2 * eps)
        for n, j in jac.items():
            assert got.influence[n][0, t] == pytest.approx(np.linalg.norm(j), rel=1e-6)


def test_horizon_counts_most_recent_steps_in_reading_order():
    read = np.array([1.0, 1.0, 0.0, 8.0])  # total 10: the last step holds 8, the last two 8
    assert memory.horizon(read, np.ones(4, bool)) == (3, 1)  # 9 of 10 needs steps 3, 2, 1
    assert memory.horizon(read, np.array([True, True, False, True])) == (2, 1)  # 2 is masked
    assert memory.horizon(np.array([0.0, 10.0]), np.ones(2, bool)) == (1, 1)
    assert memory.horizon(np.zeros(3), np.ones(3, bool)) == (0, -1)


def test_horizon_reach_is_an_input_step_when_backwards():
    spec, x, weights = case("rnn", backwards=True)
    got = memory.memory(spec, x, weights)
    for n in range(3):
        read = got.influence["h"][n, ::-1]
        steps, position = memory.horizon(read, np.ones(7, bool))
        assert got.horizon["h"][n] == steps
        assert got.reach["h"][n] == 6 - position


def test_activation_not_differentiated_is_refused():
    spec, x, weights = case("rnn", activation="gelu")
    with pytest.raises(SpecError, match="cannot differentiate the activation 'gelu'"):
        memory.memory(spec, x, weights)


def test_bidirectional_halves_read_in_their_own_order():
    spec, x, weights = case("rnn", bidirectional=True)
    assert isinstance(weights, BidirectionalWeights)
    got = memory.memory(spec, x, weights)
    forward = memory.memory(dataclasses.replace(spec, bidirectional=False), x, weights.forward)
    backward = memory.memory(
        dataclasses.replace(spec, bidirectional=False, backwards=True), x, weights.backward
    )
    np.testing.assert_array_equal(got.influence["h_fw"], forward.influence["h"])
    np.testing.assert_array_equal(got.influence["h_bw"], backward.influence["h"])
    np.testing.assert_array_equal(got.reach["h_bw"], backward.reach["h"])


def torch_influence(spec, x, weights):
    """state name -> (N, T): the same norm of torch autograd's Jacobian of PyTorch's own layer
    (nn.LSTM / nn.GRU / nn.RNN, rnnstate's torch engine's module) in float64."""
    import torch

    from rnnstate.engines.torch import build_module

    module = build_module(torch, spec, weights, spec.features).double()
    names = ("h", "c") if spec.cell == "lstm" else ("h",)
    sides = ("_fw", "_bw") if spec.bidirectional else ("",)
    out = {name + side: np.zeros((spec.batch, spec.steps)) for side in sides for name in names}
    for n in range(spec.batch):
        xn = torch.from_numpy(np.asarray(x[n : n + 1], np.float64))

        def finals(inputs):
            read = inputs.flip(1) if spec.backwards else inputs
            _, final = module(read)
            final = final if isinstance(final, tuple) else (final,)
            return tuple(f[d, 0] for d in range(len(sides)) for f in final)  # (M,) each

        jacobians = torch.autograd.functional.jacobian(finals, xn)  # each (M, 1, T, D)
        keys = [name + side for side in sides for name in names]
        for key, jacobian in zip(keys, jacobians, strict=True):
            out[key][n] = np.sqrt((jacobian.numpy() ** 2).sum(axis=(0, 1, 3)))
    return out


@pytest.mark.parametrize(
    "settings",
    [
        dict(cell="lstm"),
        dict(cell="gru"),
        dict(cell="rnn", activation="relu"),
        dict(cell="lstm", backwards=True),
        dict(cell="gru", bidirectional=True),
    ],
    ids=["lstm", "gru", "rnn_relu", "lstm_backwards", "gru_bidirectional"],
)
@needs_torch
def test_influence_equals_torch_autograd(settings):
    spec, x, weights = case(**settings)
    got = memory.memory(spec, x, weights)
    expected = torch_influence(spec, x, weights)
    assert set(got.influence) == set(expected)
    for state, values in expected.items():
        np.testing.assert_allclose(got.influence[state], values, rtol=1e-9, atol=1e-12)
