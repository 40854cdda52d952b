"""Every activation a layer can name: the numpy functions against Keras's own, the names Keras
knows all accounted for, and the saturation rules."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from rnnstate import activations
from rnnstate.engines import activations as numpy_activations
from rnnstate.engines import keras as keras_engine

_, keras = keras_engine._import_keras()

# Dense around the kinks and asymptotes, plus far-out values where overflow would show.
GRID = np.concatenate(
    [np.linspace(-12, 12, 4801), [-100, -50, -6, -3, -1, -0.5, 0, 0.5, 1, 3, 6, 50, 80]]
).astype(np.float32)


@pytest.mark.parametrize("name", [*activations.ELEMENTWISE, *activations.ALIASES])
def test_numpy_activation_equals_keras(name):
    expected = np.asarray(keras.activations.get(name)(GRID))
    mine = numpy_activations.get(name)(GRID.copy())
    assert mine.dtype == np.float32
    assert_allclose(mine, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", activations.ELEMENTWISE)
def test_in_place_application_equals_the_function(name):
    z = GRID[:4795].reshape(-1, 7)[:, 1:5]  # a strided view, as the engine's gate blocks
    expected = numpy_activations.get(name)(z.copy())
    assert_allclose(numpy_activations.apply(name, z), expected, rtol=1e-6, atol=1e-7)


def test_every_name_keras_knows_is_accounted_for():
    from keras.src.activations import ALL_OBJECTS_DICT

    known = {*activations.NAMES, *activations.UNUSABLE}
    assert set(ALL_OBJECTS_DICT) == known
    assert set(numpy_activations.FUNCTIONS) == set(activations.ELEMENTWISE)


def test_hard_sigmoid_is_keras_3s_not_keras_2s():
    z = np.array([-4, -3, -1.5, 0, 1, 1.5, 3, 4], dtype=np.float32)
    expected = [0, 0, 0.25, 0.5, 4 / 6, 0.75, 1, 1]  # relu6(z + 3) / 6; Keras 2: 0.2 z + 0.5
    assert_allclose(numpy_activations.get("hard_sigmoid")(z), expected, rtol=1e-7)


def test_aliases_take_keras_s_own_name():
    assert activations.canonical("swish") == "silu"
    assert activations.canonical("hard_swish") == "hard_silu"
    assert activations.canonical("relu") == "relu"


def test_problem_names_unknown_and_unusable_names():
    assert activations.problem("relu") is None
    assert activations.problem("softmax") is None
    assert activations.problem("glu") == activations.UNUSABLE["glu"]
    assert activations.problem("relu7").startswith("unknown activation 'relu7'; expected one of")


@pytest.mark.parametrize(
    ("name", "value", "saturated"),
    [
        ("sigmoid", 0.04, True),
        ("sigmoid", 0.5, False),
        ("sigmoid", 0.96, True),
        ("tanh", -0.96, True),
        ("tanh", 0.9, False),
        ("hard_sigmoid", 0.0, True),
        ("hard_sigmoid", 1.0, True),
        ("hard_sigmoid", 0.999, False),
        ("relu", 0.0, True),
        ("relu", 1e6, False),
        ("relu6", 6.0, True),
        ("hard_tanh", -1.0, True),
    ],
)
def test_saturation_follows_the_activation(name, value, saturated):
    assert activations.SATURATION[name].marks(value) is saturated


def test_linear_and_relu_are_unbounded_tanh_is_not():
    assert {"linear", "relu"} <= activations.UNBOUNDED
    assert "tanh" not in activations.UNBOUNDED
    assert "linear" not in activations.SATURATION
