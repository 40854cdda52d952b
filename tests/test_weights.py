"""Keras-default initialisers in numpy: shapes, distributions, orthogonality, forget bias."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from rnnstate.spec import Spec
from rnnstate.weights import default_bias, glorot_uniform, initial_weights, orthogonal


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize(
    ("cell", "reset_after", "bias_shape"),
    [("lstm", True, (20,)), ("gru", True, (2, 15)), ("gru", False, (15,)), ("rnn", True, (5,))],
)
def test_shapes_follow_keras_layout(cell, reset_after, bias_shape):
    weights = initial_weights(Spec(cell, features=3, units=5, reset_after=reset_after), rng())
    k = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    assert weights.kernel.shape == (3, k * 5)
    assert weights.recurrent_kernel.shape == (5, k * 5)
    assert weights.bias.shape == bias_shape
    assert {a.dtype for a in weights.as_list()} == {np.dtype(np.float32)}


def test_glorot_uniform_stays_within_its_limit_and_fills_it():
    values = glorot_uniform(rng(), (40, 60))
    limit = np.sqrt(6 / (40 + 60))
    assert np.abs(values).max() <= limit
    assert np.abs(values).max() > 0.99 * limit
    assert abs(values.mean()) < 0.01
    assert_allclose(values.var(), limit**2 / 3, rtol=0.05)  # variance of U(-a, a) is a^2/3


def test_orthogonal_wide_matrix_has_orthonormal_rows():
    values = orthogonal(rng(), (5, 20)).astype(np.float64)  # the (M, 4M) recurrent kernel
    assert_allclose(values @ values.T, np.eye(5), atol=1e-6)


def test_orthogonal_tall_matrix_has_orthonormal_columns():
    values = orthogonal(rng(), (20, 5)).astype(np.float64)
    assert_allclose(values.T @ values, np.eye(5), atol=1e-6)


def test_orthogonal_square_is_signed_by_the_qr_diagonal_as_keras_does():
    a = rng(3).standard_normal((4, 4))
    q, r = np.linalg.qr(a)
    assert_allclose(orthogonal(rng(3), (4, 4)), q * np.sign(np.diag(r)), atol=1e-7)


def test_lstm_bias_is_zero_except_the_forget_block():
    bias = default_bias(Spec("lstm", units=3))
    assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_other_biases_are_zero(cell):
    assert not default_bias(Spec(cell, units=3)).any()


def test_same_stream_gives_identical_weights():
    spec = Spec("gru", features=4, units=6)
    first, second = initial_weights(spec, rng(7)), initial_weights(spec, rng(7))
    for a, b in zip(first.as_list(), second.as_list(), strict=True):
        assert_array_equal(a, b)


def test_weights_do_not_depend_on_steps():
    short = initial_weights(Spec("lstm", steps=3), rng(1))
    long = initial_weights(Spec("lstm", steps=300), rng(1))
    assert_array_equal(short.kernel, long.kernel)
    assert_array_equal(short.recurrent_kernel, long.recurrent_kernel)
