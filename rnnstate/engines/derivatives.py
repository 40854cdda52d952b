"""Derivatives of Keras 3's element-wise activations, in float64, for the backward pass
(rnnstate.memory).

Each derivative is the one TensorFlow's gradient of the activation gives (where TensorFlow picks a
side at a kink, the same side: relu's is 0 at 0). Activations not listed here are refused by
rnnstate.memory with a one-line error. float64 arrays z (..., K) -> act'(z) (..., K).
"""

from collections.abc import Callable

import numpy as np

from rnnstate.activations import canonical
from rnnstate.engines.activations import LEAKY_SLOPE, SELU_ALPHA, SELU_SCALE

Array = np.ndarray


def _sigmoid(z: Array) -> Array:
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _sigmoid_derivative(z: Array) -> Array:
    s = _sigmoid(z)
    return s * (1 - s)


DERIVATIVES: dict[str, Callable[[Array], Array]] = {
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "sigmoid": _sigmoid_derivative,
    "hard_sigmoid": lambda z: ((z > -3) & (z < 3)) / 6.0,  # relu6(z + 3) / 6
    "relu": lambda z: (z > 0).astype(np.float64),
    "relu6": lambda z: ((z > 0) & (z < 6)).astype(np.float64),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, LEAKY_SLOPE),
    "linear": lambda z: np.ones_like(z, dtype=np.float64),
    "elu": lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0))),
    "selu": lambda z: SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(z, 0))),
    "softsign": lambda z: 1 / (1 + np.abs(z)) ** 2,
    "softplus": _sigmoid,
    "silu": lambda z: _sigmoid(z) + z * _sigmoid_derivative(z),
    "exponential": np.exp,
}


def derivative(name: str) -> Callable[[Array], Array]:
    """act' for the activation `name` (any alias); KeyError when it is not differentiated here."""
    return DERIVATIVES[canonical(name)]


def differentiated(name: str) -> bool:
    """Whether the backward pass can differentiate the activation `name`."""
    return canonical(name) in DERIVATIVES
