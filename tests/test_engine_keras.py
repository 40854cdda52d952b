"""The keras engine against Keras's own numbers on fixed weights, and its quiet start-up."""

import numpy as np
import pytest
from goldens import KERAS_LSTM_C, KERAS_O, M, T, fixed_input, fixed_weights
from numpy.testing import assert_allclose, assert_array_equal

from rnnstate.engines import keras as keras_engine
from rnnstate.spec import Spec

CASES = list(KERAS_O)


def spec_for(cell: str, reset_after: bool, return_sequences: bool) -> Spec:
    return Spec(
        cell,
        steps=T,
        features=2,
        units=M,
        return_sequences=return_sequences,
        reset_after=reset_after,
    )


@pytest.mark.parametrize(("cell", "reset_after"), CASES)
def test_sequences_output_matches_keras_values(cell, reset_after):
    spec = spec_for(cell, reset_after, return_sequences=True)
    out = keras_engine.run(spec, fixed_input(), fixed_weights(cell, reset_after))
    assert out.o.shape == (1, T, M)
    assert_allclose(out.o[0], KERAS_O[cell, reset_after], rtol=1e-6, atol=1e-7)
    assert_allclose(out.h[0], KERAS_O[cell, reset_after][-1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("cell", "reset_after"), CASES)
def test_last_output_only_without_sequences(cell, reset_after):
    spec = spec_for(cell, reset_after, return_sequences=False)
    out = keras_engine.run(spec, fixed_input(), fixed_weights(cell, reset_after))
    assert out.o.shape == (1, M)
    assert_allclose(out.o[0], KERAS_O[cell, reset_after][-1], rtol=1e-6, atol=1e-7)
    assert_array_equal(out.h, out.o)


def test_lstm_cell_state_matches_keras_values():
    out = keras_engine.run(spec_for("lstm", True, False), fixed_input(), fixed_weights("lstm"))
    assert_allclose(out.c[0], KERAS_LSTM_C, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_no_cell_state_outside_lstm(cell):
    out = keras_engine.run(spec_for(cell, True, False), fixed_input(), fixed_weights(cell))
    assert out.c is None


@pytest.mark.parametrize(("cell", "reset_after"), CASES)
def test_layer_holds_exactly_the_given_weights(cell, reset_after):
    weights = fixed_weights(cell, reset_after)
    layer = keras_engine.layer_with_weights(spec_for(cell, reset_after, False), weights, 1)[0]
    loaded = layer.get_weights()
    assert len(loaded) == 3
    for got, given in zip(loaded, weights.as_list(), strict=True):
        assert_array_equal(got, given)


def test_layer_without_bias_when_weights_have_none():
    weights = fixed_weights("lstm")
    no_bias = type(weights)(weights.kernel, weights.recurrent_kernel, None)
    layer = keras_engine.layer_with_weights(spec_for("lstm", True, False), no_bias, 1)[0]
    assert layer.cell.use_bias is False
    assert len(layer.get_weights()) == 2


def test_run_writes_nothing_to_file_descriptor_2(capfd):
    keras_engine.run(spec_for("gru", True, True), fixed_input(), fixed_weights("gru"))
    assert capfd.readouterr().err == ""


def test_batch_of_sequences_runs_each_sequence_alone():
    spec = Spec("lstm", steps=T, features=2, units=M, batch=2, return_sequences=True)
    x = np.concatenate([fixed_input(), fixed_input()[:, ::-1]])
    out = keras_engine.run(spec, x, fixed_weights("lstm"))
    assert_allclose(out.o[0], KERAS_O["lstm", True], rtol=1e-6, atol=1e-7)
    single = keras_engine.run(
        Spec("lstm", steps=T, features=2, units=M, return_sequences=True),
        np.ascontiguousarray(x[1:]),
        fixed_weights("lstm"),
    )
    assert_allclose(out.o[1], single.o[0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_chunked_run_equals_one_call(cell):
    x = np.random.default_rng(0).standard_normal((2, 10, 2), dtype=np.float32)
    spec = Spec(cell, steps=10, features=2, units=M, batch=2, return_sequences=True)
    whole = keras_engine.run(spec, x, fixed_weights(cell), steps_per_chunk=100)
    chunked = keras_engine.run(spec, x, fixed_weights(cell), steps_per_chunk=3)
    assert_allclose(chunked.o, whole.o, rtol=0, atol=1e-7)
    assert_allclose(chunked.h, whole.h, rtol=0, atol=1e-7)
    if cell == "lstm":
        assert_allclose(chunked.c, whole.c, rtol=0, atol=1e-7)


def test_chunked_run_without_sequences_returns_the_last_output():
    spec = Spec("gru", steps=10, features=2, units=M)
    x = np.random.default_rng(1).standard_normal((1, 10, 2), dtype=np.float32)
    whole = keras_engine.run(spec, x, fixed_weights("gru"), steps_per_chunk=100)
    chunked = keras_engine.run(spec, x, fixed_weights("gru"), steps_per_chunk=4)
    assert chunked.o.shape == (1, M)
    assert_allclose(chunked.o, whole.o, rtol=0, atol=1e-7)


def test_progress_is_reported_after_each_chunk():
    reports = []
    spec = Spec("rnn", steps=10, features=2, units=M)
    x = np.zeros((1, 10, 2), dtype=np.float32)
    keras_engine.run(
        spec, x, fixed_weights("rnn"), progress=lambda *r: reports.append(r), steps_per_chunk=4
    )
    assert reports == [("keras", 4), ("keras", 8), ("keras", 10)]
