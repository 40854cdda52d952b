"""Random input: shape, dtype, and a longer T extending a shorter one."""

import numpy as np
from numpy.testing import assert_array_equal

from rnnstate.data import random_input
from rnnstate.spec import Spec


def test_shape_and_dtype():
    x = random_input(Spec("lstm", steps=5, features=3, batch=2), np.random.default_rng(0))
    assert x.shape == (2, 5, 3)
    assert x.dtype == np.float32
    assert x.flags.c_contiguous


def test_longer_steps_extend_the_same_input_for_every_sequence():
    short = random_input(Spec("lstm", steps=8, batch=3), np.random.default_rng(0))
    long = random_input(Spec("lstm", steps=10, batch=3), np.random.default_rng(0))
    assert_array_equal(long[:, :8], short)


def test_values_are_standard_normal():
    x = random_input(Spec("lstm", steps=20000, features=5), np.random.default_rng(0))
    assert abs(x.mean()) < 0.02
    assert abs(x.std() - 1) < 0.02
