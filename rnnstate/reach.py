"""What float32 can reach on one layer and input, measured: --check's tolerance.

A float32 engine rounds at every operation; a layer that magnifies small changes (states that
grow without bound, gates beyond [0, 1]) magnifies those roundings too, and no float32 engine
can then come closer to the exact answer than the layer lets it. To see how close that is on
this layer and this input, the same equations run REACH_RUNS times in float32, each from the
input, weights and initial states moved by one rounding (every non-zero value to a neighbouring
float32, up, down or not at all, at random from a fixed seed); the largest distance of those
runs to the exact answer is the reach (result.Reach). Running the float32 equations, rather than
a float64 error bound, measures the rounding float32 does inside each step as well as what the
layer makes of it, and gives what an engine actually gets, not a worst case that may be far above.
"""

import numpy as np

from rnnstate.engines import REACH_RUNS, LayerOutputs
from rnnstate.engines import numpy as numpy_engine
from rnnstate.result import Reach, largest_scaled_diff
from rnnstate.spec import Spec
from rnnstate.weights import BidirectionalWeights, LayerWeights, Weights

REACH_SEED = 0  # the roundings are drawn from this seed, so --check's verdict repeats


def one_rounding(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`array` as float32 with each non-zero value moved to a neighbouring float32 (up, down
    or not at all, at random); zeros stay zeros, as rounding keeps them."""
    array = np.asarray(array, dtype=np.float32)
    step = rng.integers(-1, 2, array.shape)
    up = np.nextafter(array, np.float32(np.inf))
    down = np.nextafter(array, np.float32(-np.inf))
    moved = np.where(step > 0, up, np.where(step < 0, down, array))
    return np.where(array == 0, array, moved).astype(np.float32)


def rounded_weights(weights: LayerWeights, rng: np.random.Generator) -> LayerWeights:
    """The weights, each array moved by one rounding."""
    if isinstance(weights, BidirectionalWeights):
        return BidirectionalWeights(
            rounded_weights(weights.forward, rng), rounded_weights(weights.backward, rng)
        )
    bias = None if weights.bias is None else one_rounding(weights.bias, rng)
    return Weights(
        one_rounding(weights.kernel, rng), one_rounding(weights.recurrent_kernel, rng), bias
    )


def float32_reach(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None,
    mask: np.ndarray | None,
    exact: LayerOutputs,
    runs: int = REACH_RUNS,
) -> Reach:
    """The reach of float32 on this layer and input: the largest scaled distance to `exact`
    (the exact engine's run on x (N, T, D), `weights`, `initial_state` and `mask` (N, T)) of
    `runs` float32 runs of the same equations from inputs moved by one rounding."""
    rng = np.random.default_rng(REACH_SEED)
    largest = 0.0
    for _ in range(runs):
        states = initial_state and {k: one_rounding(v, rng) for k, v in initial_state.items()}
        moved_x, moved_weights = one_rounding(x, rng), rounded_weights(weights, rng)
        with np.errstate(over="ignore", invalid="ignore"):
            run = numpy_engine.run_directions(
                spec, moved_x, moved_weights, states, mask, False, None, np.float32
            )
        largest = max(largest, largest_scaled_diff(exact, run))
    return Reach(runs, largest)
