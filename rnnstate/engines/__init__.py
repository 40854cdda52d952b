"""Engines run the layer: `keras` (the real Keras layer, the default) or `numpy`."""

from typing import NamedTuple

import numpy as np

from rnnstate.spec import Spec
from rnnstate.weights import Weights


class LayerOutputs(NamedTuple):
    """What the layer returns with return_state=True: o, then its states h (and c, LSTM)."""

    o: np.ndarray  # (N, T, M) with return_sequences, else (N, M)
    h: np.ndarray  # (N, M)
    c: np.ndarray | None  # (N, M) for an LSTM, else None


def run_layer(spec: Spec, x: np.ndarray, weights: Weights) -> LayerOutputs:
    """Run x (N, T, D) through the layer of `spec` with `weights` on the engine spec names."""
    if spec.engine == "keras":
        from rnnstate.engines import keras as engine
    else:
        raise NotImplementedError(f"engine {spec.engine!r} is not available yet")
    return engine.run(spec, x, weights)
