"""Result: what one run produced, and the check that h equals the last output."""

from dataclasses import dataclass

import numpy as np

from rnnstate.engines import LayerOutputs
from rnnstate.spec import Spec
from rnnstate.weights import Weights

ENGINE_TOLERANCE = 1e-5  # largest |keras - numpy| that --check accepts, per element


@dataclass(frozen=True)
class Check:
    """How h compares with the output it should equal."""

    h_equals_last_o: bool  # h == o[:, t] exactly (or h == o without return_sequences)
    max_abs_diff: float  # largest |h - o[:, t]| over batch and units
    step: int  # t, the step of o that h is compared with


@dataclass(frozen=True)
class ArrayDiff:
    """The largest difference between the engines in one array."""

    name: str  # "o", "h" or "c"
    max_abs_diff: float  # largest |keras - numpy|
    where: tuple[int, ...]  # index of that element, e.g. (n, t, m) in o with return_sequences


@dataclass(frozen=True)
class CrossCheck:
    """How far the numpy engine's o, h and c are from Keras's on the same weights and input."""

    diffs: tuple[ArrayDiff, ...]
    tolerance: float = ENGINE_TOLERANCE

    @property
    def agree(self) -> bool:
        """Every array within tolerance."""
        return all(diff.max_abs_diff <= self.tolerance for diff in self.diffs)

    @property
    def largest(self) -> ArrayDiff:
        """The array whose largest difference is largest."""
        return max(self.diffs, key=lambda diff: diff.max_abs_diff)


def array_diff(name: str, keras: np.ndarray, numpy: np.ndarray) -> ArrayDiff:
    """The largest |keras - numpy| in one array and where it is."""
    diff = np.abs(keras.astype(np.float64) - numpy)
    where = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return ArrayDiff(name, float(diff[where]), tuple(int(i) for i in where))


def compare_engines(keras: LayerOutputs, numpy: LayerOutputs) -> CrossCheck:
    """Compare o, h and (LSTM) c of the two engines."""
    pairs = [("o", keras.o, numpy.o), ("h", keras.h, numpy.h)]
    if keras.c is not None:
        pairs.append(("c", keras.c, numpy.c))
    return CrossCheck(tuple(array_diff(name, a, b) for name, a, b in pairs))


@dataclass(frozen=True)
class Result:
    """Arrays in Keras's shapes, batch axis included, all float32.

    x (N, T, D); o (N, T, M) with return_sequences, else (N, M); h (N, M); c (N, M), LSTM only.
    gates: with spec.gates, the numpy engine's per-step trace, each (N, T, M).
    cross_check: the engines compared, whenever both ran (--check, or --gates on keras).
    """

    spec: Spec
    x: np.ndarray
    o: np.ndarray
    h: np.ndarray
    c: np.ndarray | None
    weights: Weights
    gates: dict[str, np.ndarray] | None = None
    cross_check: CrossCheck | None = None

    @property
    def last_output(self) -> np.ndarray:
        """The output at the last processed step, (N, M): o[:, T-1], or o itself."""
        return self.o[:, -1] if self.spec.return_sequences else self.o

    def check(self) -> Check:
        """Compare h with the last output; Keras returns the same values for both."""
        last = self.last_output
        diff = float(np.max(np.abs(self.h.astype(np.float64) - last)))
        return Check(bool(np.array_equal(self.h, last)), diff, self.spec.steps - 1)
