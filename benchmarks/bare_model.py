"""The floor for `rnnstate model`: import TensorFlow, load the saved model, and compute one
layer's output through a sub-model inside tf.function. Nothing else.

    python bare_model.py MODEL LAYER INPUT.npy          # runs the floor
    python bare_model.py --make MODEL INPUT.npy N T     # writes the benchmark's model and input
"""

import os
import sys

os.environ["KERAS_BACKEND"] = "tensorflow"
import keras
import numpy as np
import tensorflow as tf


def make(model_path: str, input_path: str, sequences: int, steps: int) -> None:
    """Embedding(mask_zero) -> LSTM(16, return_sequences) -> LSTM(16, name "second") -> Dense;
    and padded token ids (sequences, steps)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(100, 16, mask_zero=True),
            keras.layers.LSTM(16, return_sequences=True, name="first"),
            keras.layers.LSTM(16, name="second"),
            keras.layers.Dense(1),
        ]
    )
    model.save(model_path)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 100, size=(sequences, steps)).astype(np.int32)
    for row, length in enumerate(rng.integers(steps // 2, steps + 1, size=sequences)):
        ids[row, length:] = 0
    np.save(input_path, ids)


def floor(model_path: str, layer_name: str, input_path: str) -> None:
    model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    sub_model = keras.Model(model.inputs, model.get_layer(layer_name).output)
    output = tf.function(sub_model)(np.load(input_path))
    np.asarray(output)


if __name__ == "__main__":
    if sys.argv[1] == "--make":
        make(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        floor(*sys.argv[1:4])
