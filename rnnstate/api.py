"""The Python API: `run(...)` turns settings into a Result. The CLI is a thin layer over this."""

import secrets

import numpy as np

from rnnstate.budget import ensure_fits
from rnnstate.data import random_input
from rnnstate.engines import run_layer
from rnnstate.result import Result
from rnnstate.spec import Cell, Engine, Spec
from rnnstate.weights import initial_weights


def draw_seed() -> int:
    """A fresh seed for a run started without one; shown in the output so it can be repeated."""
    return secrets.randbelow(2**32)


def run_spec(spec: Spec) -> Result:
    """Draw weights and input from spec.seed and run the layer.

    The seed spawns two independent streams, one for the weights and one for the input, so
    changing T keeps the weights and a longer T extends the same input. Raises SpecError when
    the run would not fit in the memory available.
    """
    ensure_fits(spec)
    weight_stream, input_stream = np.random.SeedSequence(spec.seed).spawn(2)
    weights = initial_weights(spec, np.random.default_rng(weight_stream))
    x = random_input(spec, np.random.default_rng(input_stream))
    outputs = run_layer(spec, x, weights)
    return Result(spec, x, outputs.o, outputs.h, outputs.c, weights)


def run(
    cell: Cell,
    *,
    steps: int = 8,
    features: int = 2,
    units: int = 3,
    batch: int = 1,
    seed: int | None = None,
    return_sequences: bool = False,
    reset_after: bool = True,
    engine: Engine = "keras",
) -> Result:
    """Run a Keras `cell` ("lstm", "gru" or "rnn") on random input (batch, steps, features).

    Returns a Result with x (N, T, D), o ((N, T, M) or (N, M)), h (N, M) and c (N, M, LSTM).
    Raises SpecError for a setting out of range. Without `seed`, one is drawn (Result.spec.seed).
    """
    spec = Spec(
        cell=cell,
        steps=steps,
        features=features,
        units=units,
        batch=batch,
        seed=draw_seed() if seed is None else seed,
        return_sequences=return_sequences,
        reset_after=reset_after,
        engine=engine,
    )
    return run_spec(spec)
