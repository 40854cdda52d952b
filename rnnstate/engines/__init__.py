"""Engines run the layer: `keras` (the real Keras layer, the default), `numpy`, `torch`, or
`exact` (the numpy engine's equations in float64).

This module imports neither engine nor numpy at load time, so the command line can name its
types without paying for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from rnnstate.spec import Spec
    from rnnstate.weights import LayerWeights

# Long sequences run in chunks of steps: a progress report and Ctrl-C are seen between chunks,
# and the keras engine's intermediates stay bounded.
STEPS_PER_CHUNK = 8192

# --check's estimate of float32's reach runs the numpy engine this many more times, from rounded
# inputs and weights (rnnstate.reach); the budget counts them.
REACH_RUNS = 4

PROJECTION_BYTES = 256 << 20  # a chunk of the numpy engine's input projection holds at most this


def projection_steps(N: int, D: int, width: int) -> int:
    """Steps per chunk of the numpy engine's input projection (x_t @ kernel, width kM):
    STEPS_PER_CHUNK, fewer when N x (kM + D) floats a step would make a chunk pass
    PROJECTION_BYTES (never fewer than one)."""
    return max(1, min(STEPS_PER_CHUNK, PROJECTION_BYTES // (4 * N * (width + D))))


# A chunk of the keras engine holds at most this many multiply-adds (N x steps x kM x (D + M)):
# a few tenths of a second, so progress is reported that often and TensorFlow's intermediates
# stay small, however large M or N is (at M=4096 a chunk of 8192 steps took 51 s).
MULTIPLY_ADDS_PER_CHUNK = 2_000_000_000


def keras_chunk_steps(N: int, D: int, M: int, k: int) -> int:
    """Steps per chunk of the keras engine on N sequences, D features, M units and k gate
    blocks: STEPS_PER_CHUNK, fewer when a chunk would pass MULTIPLY_ADDS_PER_CHUNK (never
    fewer than one)."""
    return max(1, min(STEPS_PER_CHUNK, MULTIPLY_ADDS_PER_CHUNK // (N * k * M * (D + M))))


# Called with the engine's name and the number of steps done so far.
Progress = Callable[[str, int], None]


def chunks(T: int, steps_per_chunk: int = STEPS_PER_CHUNK) -> Iterator[tuple[int, int]]:
    """(start, stop) of each chunk of range(T)."""
    for start in range(0, T, steps_per_chunk):
        yield start, min(T, start + steps_per_chunk)


class NamedArrays:
    """The short names o, h and c over `outputs` and `states` dicts, for a unidirectional layer."""

    outputs: dict[str, np.ndarray]
    states: dict[str, np.ndarray]

    @property
    def o(self) -> np.ndarray:
        """The output o (absent for a bidirectional layer with merge none: see outputs)."""
        return self.outputs["o"]

    @property
    def h(self) -> np.ndarray:
        """A unidirectional layer's final hidden state, (N, M)."""
        return self.states["h"]

    @property
    def c(self) -> np.ndarray | None:
        """A unidirectional LSTM's final cell state, (N, M); None for other cells."""
        return self.states.get("c")


@dataclass(frozen=True)
class LayerOutputs(NamedArrays):
    """What the layer returns with return_state=True, by name.

    outputs: "o" ((N, T, M') with return_sequences, else (N, M'); M' = 2M for a bidirectional
    concat), or "o_fw" and "o_bw" for a bidirectional layer with merge none.
    states: in Keras's order, h (c), or h_fw (c_fw) h_bw (c_bw), each (N, M).
    gates: the numpy engine's per-step trace, each (N, T, M), or None.
    """

    outputs: dict[str, np.ndarray]
    states: dict[str, np.ndarray]
    gates: dict[str, np.ndarray] | None = None


def run_layer(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    engine: str,
    initial_state: dict[str, np.ndarray] | None = None,
    mask: np.ndarray | None = None,
    trace: bool = False,
    progress: Progress | None = None,
) -> LayerOutputs:
    """Run x (N, T, D) through the layer of `spec` with `weights` on `engine`.

    initial_state: states by name, each (N, M); mask (N, T), True where a step counts (with
    spec.mask_value the keras engine computes its own with Keras's Masking layer).
    `trace` asks the numpy or exact engine for the per-step gates; the others cannot give them.
    `progress`, if given, is called after each chunk of steps.
    """
    if engine == "keras":
        from rnnstate.engines import keras

        return keras.run(spec, x, weights, initial_state, progress=progress, mask=mask)
    if engine == "torch":
        from rnnstate.engines import torch

        return torch.run(spec, x, weights, initial_state, progress=progress)
    if engine == "exact":
        from rnnstate.engines import exact

        return exact.run(spec, x, weights, initial_state, mask, trace=trace, progress=progress)
    from rnnstate.engines import numpy

    return numpy.run(spec, x, weights, initial_state, mask, trace=trace, progress=progress)
