"""Result: what one run produced, and the check that h equals the last output."""

from dataclasses import dataclass

import numpy as np

from rnnstate.spec import Spec
from rnnstate.weights import Weights


@dataclass(frozen=True)
class Check:
    """How h compares with the output it should equal."""

    h_equals_last_o: bool  # h == o[:, t] exactly (or h == o without return_sequences)
    max_abs_diff: float  # largest |h - o[:, t]| over batch and units
    step: int  # t, the step of o that h is compared with


@dataclass(frozen=True)
class Result:
    """Arrays in Keras's shapes, batch axis included, all float32.

    x (N, T, D); o (N, T, M) with return_sequences, else (N, M); h (N, M); c (N, M), LSTM only.
    """

    spec: Spec
    x: np.ndarray
    o: np.ndarray
    h: np.ndarray
    c: np.ndarray | None
    weights: Weights

    @property
    def last_output(self) -> np.ndarray:
        """The output at the last processed step, (N, M): o[:, T-1], or o itself."""
        return self.o[:, -1] if self.spec.return_sequences else self.o

    def check(self) -> Check:
        """Compare h with the last output; Keras returns the same values for both."""
        last = self.last_output
        diff = float(np.max(np.abs(self.h.astype(np.float64) - last)))
        return Check(bool(np.array_equal(self.h, last)), diff, self.spec.steps - 1)
