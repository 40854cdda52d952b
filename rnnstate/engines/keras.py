"""The keras engine: the real Keras 3 layer on TensorFlow, called inside tf.function.

TensorFlow is imported here and only here, when a run needs it. Its start-up lines (oneDNN
notes, "Could not find cuda drivers", absl's preamble) are written by C++ straight to file
descriptor 2, so fd 2 points at /dev/null while TensorFlow loads and runs.
"""

import contextlib
import dataclasses
import functools
import os
from collections.abc import Iterator

import numpy as np

from rnnstate.engines import LayerOutputs, Progress, chunks, keras_chunk_steps
from rnnstate.interruptible import call_interruptibly
from rnnstate.spec import Spec
from rnnstate.weights import LayerWeights


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
    """Import TensorFlow and Keras quietly, with the TensorFlow backend and no Keras config
    file read or written; returns (tf, keras)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    # A folder that cannot exist: Keras then reads no keras.json (whose floatx or backend
    # would change the numbers) and writes none (it creates ~/.keras/keras.json otherwise).
    os.environ["KERAS_HOME"] = os.path.join(os.devnull, "keras")
    import keras
    import tensorflow as tf

    return tf, keras


def new_layer(keras, spec: Spec, units: int, features: int, use_bias: bool, dtype=None):
    """The Keras layer for `spec` with return_state=True (in Bidirectional when asked), built
    for `features` inputs, its weights Keras's own until set; computing in `dtype` ("float64")
    when given, else Keras's float32."""
    options = {
        "dtype": dtype,
        "return_sequences": spec.return_sequences,
        "return_state": True,
        "use_bias": use_bias,
        "go_backwards": spec.backwards,
        "activation": spec.activation,
    }
    if spec.cell != "rnn":
        options["recurrent_activation"] = spec.recurrent_activation
    if spec.cell == "lstm":
        options["unit_forget_bias"] = spec.unit_forget_bias
    if spec.cell == "gru":
        options["reset_after"] = spec.reset_after
    layer = getattr(keras.layers, spec.keras_layer)(units, **options)
    if spec.bidirectional:
        merge_mode = None if spec.merge == "none" else spec.merge
        layer = keras.layers.Bidirectional(layer, merge_mode=merge_mode, dtype=dtype)
    layer.build((None, None, features))
    return layer


@functools.lru_cache(maxsize=4)
def layer_calls(layer_spec: Spec, N: int, D: int, M: int, use_bias: bool) -> tuple:
    """(layer, call, masked call) for a layer of `layer_spec` (its layer settings only: see
    layer_settings) on N sequences of D features with M units: the Keras layer and its
    tf.functions, built and traced once and kept for the next run of the same shape (rnnstate
    explore runs many), which only sets the weights."""
    tf, keras = _import_keras()
    layer = new_layer(keras, layer_spec, M, D, use_bias)
    spec = layer_spec
    masking = None if spec.mask_value is None else keras.layers.Masking(spec.mask_value)
    signature = [
        tf.TensorSpec((N, None, D), tf.float32),
        *[tf.TensorSpec((N, M), tf.float32)] * len(spec.state_names),
    ]

    @tf.function(input_signature=signature, autograph=False)
    def call(inputs, *states):
        if masking is None:
            return layer(inputs, initial_state=list(states))
        return layer(masking(inputs), initial_state=list(states), mask=masking.compute_mask(inputs))

    return layer, call, call_masked(tf, layer)


def layer_with_weights(spec: Spec, weights: LayerWeights, N: int) -> tuple:
    """layer_calls for `spec` on N sequences, the layer now holding `weights`."""
    calls = layer_calls(layer_settings(spec), N, weights.features, weights.units, weights.use_bias)
    calls[0].set_weights(weights.as_list())
    return calls


def layer_settings(spec: Spec) -> Spec:
    """`spec` with only what shapes the Keras layer and its calls kept (sizes but N, D and M,
    the seed, what to show: set to one value), so runs that differ in those share a layer."""
    return dataclasses.replace(
        spec, steps=1, features=1, units=1, batch=1, seed=0, gates=False, check=False,
        explain=None, unit=None, direction=None, initial_state=False, engine="keras", model=None,
        use_bias=True,
    )  # fmt: skip


def named_outputs(spec: Spec, returned) -> LayerOutputs:
    """Name what the layer returned: o (or o_fw, o_bw), then the states in Keras's order."""
    arrays = [np.asarray(value) for value in returned]
    count = len(spec.output_names)
    outputs = dict(zip(spec.output_names, arrays[:count], strict=True))
    return LayerOutputs(outputs, dict(zip(spec.state_names, arrays[count:], strict=True)))


def run(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None = None,
    progress: Progress | None = None,
    steps_per_chunk: int | None = None,
    mask: np.ndarray | None = None,
) -> LayerOutputs:
    """Run x (N, T, D) through the Keras layer, from `initial_state` (states by name, each
    (N, M); zeros if None), behind a Keras Masking layer when spec.mask_value is set, or with
    `mask` (N, T) (True where a step counts) as the mask its model sends it.

    A plain layer takes the steps in chunks (`steps_per_chunk`, by default as many as hold
    MULTIPLY_ADDS_PER_CHUNK of work), each starting from the states the last one ended with,
    which gives the same numbers as one call; a bidirectional or masked layer takes them in one
    call. One tf.function, traced once for any chunk length, runs the loop inside TensorFlow
    (an eager call would loop in Python, step by step).

    Everything TensorFlow does (importing, building the layer, the calls) runs in a worker
    thread, so Ctrl-C and SIGTERM reach rnnstate at once, whatever TensorFlow is doing.
    """
    if steps_per_chunk is None:
        N, _, D = x.shape
        steps_per_chunk = keras_chunk_steps(N, D, weights.units, spec.gate_count)
    return call_interruptibly(
        run_here, spec, x, weights, initial_state, progress, steps_per_chunk, mask
    )


def run_here(spec, x, weights, initial_state, progress, steps_per_chunk, mask) -> LayerOutputs:
    """run's work, in the thread that calls it."""
    N, T, _ = x.shape
    M = weights.units
    with stderr_silenced():
        tf, _ = _import_keras()
        _, call, masked_call = layer_with_weights(spec, weights, N)
        states = initial_tensors(tf, spec, N, M, initial_state)
        if spec.mask_value is None and mask is not None:
            outputs = named_outputs(spec, masked_call(x, mask, states))
            if progress:
                progress("keras", T)
            return outputs
        if spec.bidirectional or spec.mask_value is not None:
            outputs = named_outputs(spec, call(x, *states))
            if progress:
                progress("keras", T)
            return outputs
        return run_in_chunks(spec, x, call, states, progress, steps_per_chunk)


def initial_tensors(tf, spec: Spec, N: int, M: int, initial_state) -> list:
    """The states the run starts from, in Keras's order: the given ones, else zeros (N, M)."""
    return [
        tf.zeros((N, M), tf.float32) if initial_state is None else initial_state[name]
        for name in spec.state_names
    ]


def call_masked(tf, layer):
    """A tf.function calling `layer` on (x, mask, states), as a model calls it with its mask."""

    @tf.function(autograph=False, reduce_retracing=True)
    def call(inputs, mask, states):
        return layer(inputs, initial_state=list(states), mask=mask)

    return call


def run_in_chunks(spec, x, call, states, progress, steps_per_chunk) -> LayerOutputs:
    """Call the layer on chunks of steps in the order it reads them, each chunk starting from
    the states the last one ended with; o is assembled in the layer's (processing) order."""
    N, T, _ = x.shape
    M = states[0].shape[-1]
    o = np.empty((N, T, M), dtype=np.float32) if spec.return_sequences else None
    pieces = list(chunks(T, steps_per_chunk))
    done = 0
    for start, stop in reversed(pieces) if spec.backwards else pieces:
        o_chunk, *states = call(x[:, start:stop], *states)
        first = T - stop if spec.backwards else start  # where the chunk's o goes in o
        if o is not None:
            o[:, first : first + stop - start] = o_chunk.numpy()
        done += stop - start
        if progress:
            progress("keras", done)
    last = o_chunk.numpy() if o is None else o
    return LayerOutputs(
        {"o": last}, dict(zip(spec.state_names, (s.numpy() for s in states), strict=True))
    )
