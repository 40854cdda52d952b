"""The exact engine: the numpy engine's equations (engines/numpy.py) in float64.

Every array is computed and returned in float64, from the same float32 input, weights and
initial states the other engines take, so what separates this answer from a float32 engine's
is float32 rounding alone. --check measures every engine against it (rnnstate.reach).
"""

import numpy as np

from rnnstate.engines import LayerOutputs, Progress
from rnnstate.engines import numpy as numpy_engine
from rnnstate.spec import Spec
from rnnstate.weights import LayerWeights


def run(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None = None,
    mask: np.ndarray | None = None,
    trace: bool = False,
    progress: Progress | None = None,
) -> LayerOutputs:
    """Run x (N, T, D) through the layer in float64, as engines/numpy.run does in float32
    (arguments and outputs as there; every output, state and traced array float64)."""
    reported = None if progress is None else (lambda _, done: progress("exact", done))
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by the caller
        return numpy_engine.run_directions(
            spec, x, weights, initial_state, mask, trace, reported, np.float64
        )
