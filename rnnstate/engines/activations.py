"""Keras 3's element-wise activations in numpy, for the numpy engine.

Each function is written from Keras 3's own TensorFlow-backend source (keras/src/activations and
keras/src/backend/tensorflow/nn.py) and checked against Keras in tests/test_activations.py, on
float32 arrays (..., K) -> (..., K). Keras 3's hard_sigmoid is relu6(x + 3) / 6, not Keras 2's
0.2 x + 0.5. The names, and which ones are element-wise, are in rnnstate.activations.
"""

import math
from collections.abc import Callable

import numpy as np

from rnnstate.activations import canonical

Array = np.ndarray

SELU_ALPHA = 1.6732632423543772848170429916717  # as tf.nn.selu
SELU_SCALE = 1.0507009873554804934193349852946
LEAKY_SLOPE = 0.2  # keras.activations.leaky_relu's default negative_slope
SHRINK_THRESHOLD = 0.5  # soft_shrink and hard_shrink's default threshold
SQUAREPLUS_B = 4.0


def sigmoid(z: Array) -> Array:
    """1 / (1 + e^-z), as 0.5 + 0.5 tanh(z / 2), which never overflows."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def softplus(z: Array) -> Array:
    """log(1 + e^z), without overflow."""
    return np.logaddexp(np.float32(0), z)


def hard_sigmoid(z: Array) -> Array:
    """Keras 3: relu6(z + 3) / 6, flat at 0 below -3 and at 1 above 3."""
    return np.clip(z + 3, 0, 6) / 6


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(z: Array) -> Array:
    """Exact GELU, Keras's default (approximate=False): 0.5 z (1 + erf(z / sqrt 2))."""
    return (0.5 * z * (1 + _erf(z.astype(np.float64) / math.sqrt(2)))).astype(z.dtype)


FUNCTIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "relu": lambda z: np.maximum(z, 0),
    "relu6": lambda z: np.clip(z, 0, 6),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
    "linear": lambda z: z.copy(),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "selu": lambda z: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0))),
    "celu": lambda z: np.maximum(z, 0) + np.expm1(np.minimum(z, 0)),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "softplus": softplus,
    "silu": lambda z: z * sigmoid(z),
    "gelu": gelu,
    "exponential": np.exp,
    "hard_silu": lambda z: z * hard_sigmoid(z),
    "mish": lambda z: z * np.tanh(softplus(z)),
    "log_sigmoid": lambda z: -softplus(-z),
    "hard_tanh": lambda z: np.clip(z, -1, 1),
    "squareplus": lambda z: (z + np.sqrt(z * z + SQUAREPLUS_B)) / 2,
    "soft_shrink": lambda z: np.where(
        z > SHRINK_THRESHOLD,
        z - SHRINK_THRESHOLD,
        np.where(z < -SHRINK_THRESHOLD, z + SHRINK_THRESHOLD, 0),
    ),
    "hard_shrink": lambda z: np.where(np.abs(z) > SHRINK_THRESHOLD, z, 0),
    "sparse_plus": lambda z: np.where(z <= -1, 0, np.where(z < 1, 0.25 * (z + 1) ** 2, z)),
    "sparse_sigmoid": lambda z: np.where(z <= -1, 0, np.where(z >= 1, 1, 0.5 * (z + 1))),
    "tanh_shrink": lambda z: z - np.tanh(z),
}


def get(name: str) -> Callable[[Array], Array]:
    """The numpy function of an element-wise activation (any name or alias), float32 out."""
    function = FUNCTIONS[canonical(name)]
    return lambda z: np.asarray(function(z), dtype=np.float32)


def apply(name: str, z: Array, out: Array | None = None) -> Array:
    """out <- activation(z) (in place on z when out is None), with no new array for tanh and
    sigmoid, the defaults. Returns out."""
    out = z if out is None else out
    if name == "tanh":
        return np.tanh(z, out=out)
    if name == "sigmoid":  # 0.5 + 0.5 tanh(z / 2)
        np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5
        return out
    out[...] = FUNCTIONS[canonical(name)](z)
    return out
