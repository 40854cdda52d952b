"""The keras engine: the real Keras 3 layer on TensorFlow, called inside tf.function.

TensorFlow is imported here and only here, when a run needs it. Its start-up lines (oneDNN
notes, "Could not find cuda drivers", absl's preamble) are written by C++ straight to file
descriptor 2, so fd 2 points at /dev/null while TensorFlow loads and runs.
"""

import contextlib
import os
from collections.abc import Iterator

import numpy as np

from rnnstate.engines import LayerOutputs
from rnnstate.spec import Spec
from rnnstate.weights import Weights


@contextlib.contextmanager
def stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the block, then restore it."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _import_keras():
    """Import TensorFlow and Keras quietly, with the TensorFlow backend; returns (tf, keras)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import tensorflow as tf

    return tf, keras


def build_layer(keras, spec: Spec, weights: Weights):
    """A Keras layer for `spec` with return_state=True, built for x and holding `weights`."""
    options = {
        "return_sequences": spec.return_sequences,
        "return_state": True,
        "use_bias": weights.bias is not None,
    }
    if spec.cell == "gru":
        options["reset_after"] = spec.reset_after
    layer = getattr(keras.layers, spec.keras_layer)(weights.units, **options)
    layer.build((None, None, weights.kernel.shape[0]))
    layer.set_weights(weights.as_list())
    return layer


def run(spec: Spec, x: np.ndarray, weights: Weights) -> LayerOutputs:
    """Run x (N, T, D) through the Keras layer; returns o, h and (LSTM) c as float32 arrays."""
    with stderr_silenced():
        tf, keras = _import_keras()
        layer = build_layer(keras, spec, weights)
        # An eager call loops in Python per step; tf.function runs the loop inside TensorFlow.
        call = tf.function(lambda inputs: layer(inputs), autograph=False)
        o, h, *carry = call(tf.constant(x, dtype=tf.float32))
        arrays = [o.numpy(), h.numpy(), *(state.numpy() for state in carry)]
    return LayerOutputs(arrays[0], arrays[1], arrays[2] if spec.cell == "lstm" else None)
