"""The Python API: `run(...)` turns settings into a Result. The CLI is a thin layer over this."""

import secrets

import numpy as np

from rnnstate.budget import ensure_fits
from rnnstate.data import random_input
from rnnstate.engines import Progress, run_layer
from rnnstate.result import Result, compare_engines
from rnnstate.spec import Cell, Engine, Spec
from rnnstate.weights import Weights, initial_weights


def draw_seed() -> int:
    """A fresh seed for a run started without one; shown in the output so it can be repeated."""
    return secrets.randbelow(2**32)


def run_spec(spec: Spec, progress: Progress | None = None) -> Result:
    """Draw weights and input from spec.seed and run the layer.

    The seed spawns two independent streams, one for the weights and one for the input, so
    changing T keeps the weights and a longer T extends the same input. `progress` is called
    with (engine, steps done) after each chunk. Raises SpecError when the run would not fit
    in the memory available.
    """
    ensure_fits(spec)
    weight_stream, input_stream = np.random.SeedSequence(spec.seed).spawn(2)
    weights = initial_weights(spec, np.random.default_rng(weight_stream))
    x = random_input(spec, np.random.default_rng(input_stream))
    return run_engines(spec, x, weights, progress)


def run_engines(
    spec: Spec, x: np.ndarray, weights: Weights, progress: Progress | None = None
) -> Result:
    """Run spec.engine; run the other engine too for --check, and numpy for --gates on keras.

    The gate trace always comes from the numpy engine. Whenever both engines ran, their o, h
    and c are compared in Result.cross_check.
    """
    on_numpy = spec.engine == "numpy"
    outputs = run_layer(spec, x, weights, spec.engine, spec.gates and on_numpy, progress)
    gates, cross_check = outputs.gates, None
    if spec.check or (spec.gates and not on_numpy):
        other_engine = "keras" if on_numpy else "numpy"
        other = run_layer(spec, x, weights, other_engine, spec.gates, progress)
        keras_outputs, numpy_outputs = (other, outputs) if on_numpy else (outputs, other)
        gates, cross_check = numpy_outputs.gates, compare_engines(keras_outputs, numpy_outputs)
    return Result(spec, x, outputs.o, outputs.h, outputs.c, weights, gates, cross_check)


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
    gates: bool = False,
    check: bool = False,
) -> Result:
    """Run a Keras `cell` ("lstm", "gru" or "rnn") on random input (batch, steps, features).

    Returns a Result with x (N, T, D), o ((N, T, M) or (N, M)), h (N, M) and c (N, M, LSTM);
    with `gates`, the per-step trace; with `check`, both engines compared. Raises SpecError for
    a setting out of range. Without `seed`, one is drawn (Result.spec.seed).
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
        gates=gates,
        check=check,
    )
    return run_spec(spec)
