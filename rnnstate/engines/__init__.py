"""Engines run the layer: `keras` (the real Keras layer, the default) or `numpy`.

This module imports neither engine nor numpy at load time, so the command line can name its
types without paying for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np

    from rnnstate.spec import Spec
    from rnnstate.weights import Weights

# Long sequences run in chunks of steps: a progress report and Ctrl-C are seen between chunks,
# and the keras engine's intermediates stay bounded.
STEPS_PER_CHUNK = 8192

# Called with the engine's name and the number of steps done so far.
Progress = Callable[[str, int], None]


def chunks(T: int, steps_per_chunk: int = STEPS_PER_CHUNK) -> Iterator[tuple[int, int]]:
    """(start, stop) of each chunk of range(T)."""
    for start in range(0, T, steps_per_chunk):
        yield start, min(T, start + steps_per_chunk)


class LayerOutputs(NamedTuple):
    """What the layer returns with return_state=True: o, then its states h (and c, LSTM)."""

    o: np.ndarray  # (N, T, M) with return_sequences, else (N, M)
    h: np.ndarray  # (N, M)
    c: np.ndarray | None  # (N, M) for an LSTM, else None
    gates: dict[str, np.ndarray] | None = None  # numpy engine's per-step trace, each (N, T, M)


def run_layer(
    spec: Spec,
    x: np.ndarray,
    weights: Weights,
    engine: str,
    trace: bool = False,
    progress: Progress | None = None,
) -> LayerOutputs:
    """Run x (N, T, D) through the layer of `spec` with `weights` on `engine`.

    `trace` asks the numpy engine for the per-step gates; the keras engine cannot give them.
    `progress`, if given, is called after each chunk of steps.
    """
    if engine == "keras":
        from rnnstate.engines import keras

        return keras.run(spec, x, weights, progress=progress)
    from rnnstate.engines import numpy

    return numpy.run(spec, x, weights, trace=trace, progress=progress)
