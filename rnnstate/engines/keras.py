"""The keras engine: the real Keras 3 layer on TensorFlow, called inside tf.function.

TensorFlow is imported here and only here, when a run needs it. Its start-up lines (oneDNN
notes, "Could not find cuda drivers", absl's preamble) are written by C++ straight to file
descriptor 2, so fd 2 points at /dev/null while TensorFlow loads and runs.
"""

import contextlib
import os
from collections.abc import Iterator

import numpy as np

from rnnstate.engines import STEPS_PER_CHUNK, LayerOutputs, Progress, chunks
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


def run(
    spec: Spec,
    x: np.ndarray,
    weights: Weights,
    progress: Progress | None = None,
    steps_per_chunk: int = STEPS_PER_CHUNK,
) -> LayerOutputs:
    """Run x (N, T, D) through the Keras layer; returns o, h and (LSTM) c as float32 arrays.

    The steps go through in chunks, each starting from the states the last one ended with,
    which gives the same numbers as one call. One tf.function, traced once for any chunk length,
    runs the loop inside TensorFlow (an eager call would loop in Python, step by step).
    """
    N, T, D = x.shape
    M = weights.units
    with stderr_silenced():
        tf, keras = _import_keras()
        layer = build_layer(keras, spec, weights)
        state_count = 2 if spec.cell == "lstm" else 1
        signature = [
            tf.TensorSpec((N, None, D), tf.float32),
            *[tf.TensorSpec((N, M), tf.float32)] * state_count,
        ]

        @tf.function(input_signature=signature, autograph=False)
        def call_chunk(inputs, *states):
            return layer(inputs, initial_state=list(states))

        o = np.empty((N, T, M), dtype=np.float32) if spec.return_sequences else None
        states = [tf.zeros((N, M), tf.float32)] * state_count
        for start, stop in chunks(T, steps_per_chunk):
            o_chunk, *states = call_chunk(x[:, start:stop], *states)
            if o is not None:
                o[:, start:stop] = o_chunk.numpy()
            if progress:
                progress("keras", stop)
        h, *carry = (state.numpy() for state in states)
    return LayerOutputs(o_chunk.numpy() if o is None else o, h, carry[0] if carry else None)
