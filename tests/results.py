"""Results built by hand, for renderer tests that need no engine."""

import numpy as np

from rnnstate.result import Result
from rnnstate.spec import Spec
from rnnstate.weights import initial_weights


def make_result(cell="lstm", steps=8, units=3, batch=1, return_sequences=True) -> Result:
    """A Result with o[n, t, m] = (n + 1) * (t + 1) / 100 + m / 1000, and h = the last output."""
    spec = Spec(cell, steps=steps, units=units, batch=batch, return_sequences=return_sequences)
    n, t, m = np.meshgrid(np.arange(batch), np.arange(steps), np.arange(units), indexing="ij")
    o_all = ((n + 1) * (t + 1) / 100 + m / 1000).astype(np.float32)  # (N, T, M)
    x = np.full((batch, steps, 2), 0.5, dtype=np.float32)
    h = o_all[:, -1].copy()
    c = (h * 2).astype(np.float32) if cell == "lstm" else None
    o = o_all if return_sequences else h.copy()
    states = {"h": h} if c is None else {"h": h, "c": c}
    return Result(spec, x, {"o": o}, states, initial_weights(spec, np.random.default_rng(0)))
