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
    gates: dict[str, np.ndarray] | None = None  # numpy engine's per-step trace, each (N, T, M)


def run_layer(
    spec: Spec, x: np.ndarray, weights: Weights, engine: str, trace: bool = False
) -> LayerOutputs:
    """Run x (N, T, D) through the layer of `spec` with `weights` on `engine`.

    `trace` asks the numpy engine for the per-step gates; the keras engine cannot give them.
    """
    if engine == "keras":
        from rnnstate.engines import keras

        return keras.run(spec, x, weights)
    from rnnstate.engines import numpy

    return numpy.run(spec, x, weights, trace=trace)
