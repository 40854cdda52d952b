"""--memory's views: --unit (the influence on one unit of a state) and, with --sequences, the
connectivity map ‖∂o_t/∂x_s‖, checked against Keras's own gradients (tf.GradientTape on the real
layer in float64, same weights) and finite differences; then the terminal heatmap, the figure,
--output and replay from the command line."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnstate import memory
from rnnstate.cli import app
from rnnstate.spec import Spec
from rnnstate.weights import initial_weights

runner = CliRunner()
RTOL, ATOL = 1e-9, 1e-12  # float64 against float64: the same derivative, summed in another order


def invoke(*args: str):
    return runner.invoke(app, list(args), prog_name="rnnstate", terminal_width=100)


def keras_jacobians(spec, x, weights, initial_state=None, mask=None):
    """Keras's float64 Jacobians by x (N, T, D): final state name -> (N, M, T, D), and with
    return_sequences output name ("o"; "o_fw", "o_bw" per half) -> (N, T, M, T, D), o's rows in
    Keras's order (reading order for go_backwards)."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import tensorflow as tf

    options = {"return_state": True, "go_backwards": spec.backwards, "dtype": "float64",
               "activation": spec.activation, "use_bias": weights.use_bias,
               "return_sequences": spec.return_sequences}  # fmt: skip
    if spec.cell != "rnn":
        options["recurrent_activation"] = spec.recurrent_activation
    if spec.cell == "gru":
        options["reset_after"] = spec.reset_after
    layer = getattr(keras.layers, spec.keras_layer)(spec.units, **options)
    if spec.bidirectional:
        layer = keras.layers.Bidirectional(layer, merge_mode=None, dtype="float64")
    layer.build((None, None, spec.features))
    layer.set_weights([np.asarray(w, np.float64) for w in weights.as_list()])
    xt = tf.constant(np.asarray(x, np.float64))
    states = None
    if initial_state is not None:
        states = [tf.constant(np.asarray(initial_state[n], np.float64)) for n in spec.state_names]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        returned = layer(xt, initial_state=states, mask=None if mask is None else tf.constant(mask))
    outputs = ["o_fw", "o_bw"] if spec.bidirectional else ["o"]  # the last output alone without
    names = outputs + list(spec.state_names)  # return_sequences
    return {n: tape.batch_jacobian(v, xt).numpy() for n, v in zip(names, returned, strict=True)}


def case(cell, T=6, **settings):
    spec = Spec(cell=cell, steps=T, features=3, units=4, batch=2, engine="exact", **settings)
    rng = np.random.default_rng(3)
    return spec, rng.normal(size=(2, T, 3)).astype(np.float32), initial_weights(spec, rng)


CASES = {
    "lstm": dict(cell="lstm"),
    "gru": dict(cell="gru"),
    "gru_reset_before": dict(cell="gru", reset_after=False),
    "rnn": dict(cell="rnn"),
    "lstm_backwards": dict(cell="lstm", backwards=True),
    "rnn_backwards": dict(cell="rnn", backwards=True),
    "gru_bidirectional": dict(cell="gru", bidirectional=True),
    "lstm_bidirectional": dict(cell="lstm", bidirectional=True),
}


@pytest.mark.parametrize("name", CASES)
def test_unit_influence_equals_keras_gradients_of_that_unit(name):
    spec, x, weights = case(**CASES[name])
    got = memory.memory(spec, x, weights, unit=2)
    jacobians = keras_jacobians(spec, x, weights)
    assert got.unit == 2
    for state in spec.state_names:
        expected = np.sqrt((jacobians[state][:, 2] ** 2).sum(axis=2))  # (N, T): over features
        np.testing.assert_allclose(got.influence[state], expected, rtol=RTOL, atol=ATOL)


def keras_map(spec, jacobian, unit=None):
    """Keras's output Jacobian (N, T, M, T, D) as the map (N, t, s), rows by input step."""
    picked = jacobian if unit is None else jacobian[:, :, [unit]]
    norms = np.sqrt((picked**2).sum(axis=(2, 4)))
    return norms[:, ::-1] if spec.backwards and not spec.bidirectional else norms


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("unit", [None, 1])
def test_connectivity_map_equals_keras_gradients(name, unit):
    spec, x, weights = case(**CASES[name], return_sequences=True)
    got = memory.memory(spec, x, weights, unit=unit, connectivity=True)
    jacobians = keras_jacobians(spec, x, weights)
    names = ["o_fw", "o_bw"] if spec.bidirectional else ["o"]
    assert list(got.connectivity) == names
    for output in names:
        expected = keras_map(spec, jacobians[output], unit)
        np.testing.assert_allclose(got.connectivity[output], expected, rtol=RTOL, atol=ATOL)


def test_connectivity_is_triangular_by_reading_order():
    for backwards, zero in ((False, np.triu_indices(6, 1)), (True, np.tril_indices(6, -1))):
        spec, x, weights = case("rnn", backwards=backwards, return_sequences=True)
        found = memory.memory(spec, x, weights, connectivity=True).connectivity["o"]
        assert (found[:, zero[0], zero[1]] == 0).all()
        assert (np.diagonal(found, axis1=1, axis2=2) > 0).all()


@pytest.mark.parametrize("cell, bidirectional", [("lstm", False), ("gru", True), ("rnn", False)])
def test_masked_connectivity_and_initial_states_as_keras(cell, bidirectional):
    """A masked output repeats the last one (zeros in a Bidirectional layer): its row is that
    output's; a masked input step's column is zero."""
    spec, x, weights = case(cell, bidirectional=bidirectional, return_sequences=True,
                            initial_state=True)  # fmt: skip
    mask = np.ones((2, 6), bool)
    mask[0, 0] = mask[0, 3] = mask[1, 4:] = False
    rng = np.random.default_rng(4)
    initial = {n: rng.normal(size=(2, 4)).astype(np.float32) for n in spec.state_names}
    got = memory.memory(spec, x, weights, initial, mask, connectivity=True)
    jacobians = keras_jacobians(spec, x, weights, initial, mask)
    for output, values in got.connectivity.items():
        np.testing.assert_allclose(values, keras_map(spec, jacobians[output]), rtol=RTOL,
                                   atol=ATOL)  # fmt: skip
        assert (values[0][:, [0, 3]] == 0).all() and (values[1][:, 4:] == 0).all()


def test_connectivity_finite_differences_float64():
    """Central differences of the exact engine's output o_t by each value of x_s."""
    from rnnstate.engines import exact

    spec, x, weights = case("gru", T=4, return_sequences=True)
    x = x[:1].astype(np.float64)
    got = memory.memory(spec, x, weights, unit=3, connectivity=True).connectivity["o"][0]
    eps = 1e-6
    expected = np.zeros((4, 4))
    for s in range(4):
        columns = []
        for d in range(3):
            up, down = x.copy(), x.copy()
            up[0, s, d] += eps
            down[0, s, d] -= eps
            high, low = exact.run(spec, up, weights).o[0], exact.run(spec, down, weights).o[0]
            columns.append((high[:, 3] - low[:, 3]) / (2 * eps))  # (T,): unit 3 of every o_t
        expected[:, s] = np.linalg.norm(np.stack(columns), axis=0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-10)
