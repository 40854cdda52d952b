"""Fixed weights and input, and the outputs Keras 3.15.1 (TensorFlow 2.21) gave for them.

The expected values were computed once by running the real Keras layers on exactly these
arrays; they are written here so every engine is checked against Keras's own numbers.
"""

import numpy as np

from rnnstate.weights import Weights

N, T, D, M = 1, 4, 2, 3


def fixed_weights(cell: str, reset_after: bool = True) -> Weights:
    """np.arange-based weights: kernel rising from -0.5, recurrent kernel falling from 0.5."""
    k = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    kernel = (np.arange(D * k * M) / (D * k * M) - 0.5).reshape(D, k * M)
    recurrent = (0.5 - np.arange(M * k * M) / (M * k * M)).reshape(M, k * M)
    shape = (2, 3 * M) if cell == "gru" and reset_after else (k * M,)
    size = int(np.prod(shape))
    bias = (np.arange(size) / size * 0.2 - 0.1).reshape(shape)
    return Weights(kernel.astype(np.float32), recurrent.astype(np.float32), bias.astype(np.float32))


def fixed_input() -> np.ndarray:
    """x (1, 4, 2) = arange / 8: 0, 0.125, ..., 0.875."""
    return (np.arange(N * T * D).reshape(N, T, D) / (N * T * D)).astype(np.float32)


# o with return_sequences=True, (1, 4, 3), from Keras; its last row is h.
KERAS_O = {
    ("lstm", True): [
        [0.007778329, 0.013503979, 0.01945692],
        [0.010338933, 0.02394928, 0.038630363],
        [0.00984895, 0.0319332, 0.056725554],
        [0.007852903, 0.0380788, 0.07347125],
    ],
    ("gru", True): [
        [0.021752305, 0.0339135, 0.045766763],
        [0.051584758, 0.083326556, 0.113698915],
        [0.08352904, 0.13781258, 0.18887058],
        [0.11578904, 0.19332463, 0.26489633],
    ],
    ("gru", False): [
        [0.039299782, 0.053732976, 0.06765491],
        [0.076438665, 0.1108071, 0.14347525],
        [0.11090887, 0.16768724, 0.2208238],
        [0.14330068, 0.22322768, 0.2966969],
    ],
    ("rnn", True): [
        [-0.099668, -0.012499349, 0.0748597],
        [-0.2815768, -0.113918565, 0.060489465],
        [-0.47758916, -0.22457305, 0.06283976],
        [-0.64207524, -0.33917576, 0.055318415],
    ],
}

# The LSTM's final cell state c, (1, 3), from Keras.
KERAS_LSTM_C = [0.013905521, 0.06521546, 0.122165486]
