"""The Python API: shapes, the drawn seed, determinism, and -T 10 extending -T 8."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import rnnstate


@pytest.mark.parametrize(
    ("cell", "sequences", "o_shape", "has_c"),
    [
        ("lstm", True, (1, 6, 4), True),
        ("lstm", False, (1, 4), True),
        ("gru", True, (1, 6, 4), False),
        ("rnn", False, (1, 4), False),
    ],
)
def test_result_arrays_have_keras_shapes(cell, sequences, o_shape, has_c):
    result = rnnstate.run(cell, steps=6, features=3, units=4, seed=1, return_sequences=sequences)
    assert result.x.shape == (1, 6, 3)
    assert result.o.shape == o_shape
    assert result.h.shape == (1, 4)
    assert (result.c is not None) == has_c
    if has_c:
        assert result.c.shape == (1, 4)


def test_h_equals_last_output():
    result = rnnstate.run("lstm", seed=2, return_sequences=True)
    assert_array_equal(result.h, result.o[:, -1])
    [check] = result.checks()
    assert (check.state, check.output, check.step) == ("h", "o[t=7]", 7)
    assert check.equal and check.max_abs_diff == 0.0


def test_without_seed_one_is_drawn_and_recorded():
    result = rnnstate.run("rnn")
    again = rnnstate.run("rnn", seed=result.spec.seed)
    assert_array_equal(result.o, again.o)


def test_same_seed_same_numbers():
    first = rnnstate.run("gru", seed=11, return_sequences=True)
    second = rnnstate.run("gru", seed=11, return_sequences=True)
    assert_array_equal(first.x, second.x)
    assert_array_equal(first.o, second.o)


def test_different_seeds_differ():
    assert not np.array_equal(rnnstate.run("gru", seed=1).h, rnnstate.run("gru", seed=2).h)


def test_ten_steps_extend_eight_with_the_same_weights():
    eight = rnnstate.run("lstm", steps=8, seed=0, return_sequences=True)
    ten = rnnstate.run("lstm", steps=10, seed=0, return_sequences=True)
    assert_array_equal(ten.x[:, :8], eight.x)
    assert_array_equal(ten.weights.kernel, eight.weights.kernel)
    np.testing.assert_allclose(ten.o[:, :8], eight.o, rtol=0, atol=1e-7)


def test_loaded_weights_are_the_generated_ones():
    result = rnnstate.run("lstm", seed=4)
    weights = result.weights
    assert_array_equal(weights.bias[3:6], [1, 1, 1])
    assert weights.kernel.shape == (2, 12)


def test_bad_setting_raises_spec_error():
    with pytest.raises(rnnstate.SpecError):
        rnnstate.run("lstm", steps=0)


def test_public_names_import_lazily():
    assert rnnstate.Weights.__name__ == "Weights"
    assert rnnstate.BidirectionalWeights.__name__ == "BidirectionalWeights"
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = rnnstate.nothing


def test_own_arrays_through_the_api():
    weights = rnnstate.run("gru", seed=3, units=2).weights
    x = np.zeros((1, 4, 2), dtype=np.float32)
    result = rnnstate.run("gru", x=x, weights=weights, return_sequences=True)
    assert result.o.shape == (1, 4, 2)
    assert_array_equal(result.weights.kernel, weights.kernel)
