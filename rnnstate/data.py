"""Where the input x comes from: random numbers drawn from the seed (files come later)."""

import numpy as np

from rnnstate.spec import Spec


def random_input(spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Standard normal float32 input of shape (N, T, D).

    Drawn step by step, as (T, N, D), so a longer T extends a shorter one: the first 8 steps
    of T=10 are the 8 steps of T=8 for the same seed.
    """
    by_step = rng.standard_normal((spec.steps, spec.batch, spec.features), dtype=np.float32)
    return np.ascontiguousarray(by_step.transpose(1, 0, 2))  # (N, T, D)
