"""The Python API: `run(...)` turns settings into a Result. The CLI is a thin layer over this."""

import secrets

import numpy as np

from rnnstate.budget import ensure_fits
from rnnstate.data import (
    check_initial_state,
    check_weight_shapes,
    check_weights_fit_input,
    random_input,
)
from rnnstate.engines import LayerOutputs, Progress, run_layer
from rnnstate.errors import NumericError, SpecError
from rnnstate.result import Result, compare_engines
from rnnstate.spec import Cell, Spec, torch_installed
from rnnstate.weights import LayerWeights, initial_weights

DEFAULT_SIZES = {"steps": 8, "features": 2, "units": 3, "batch": 1}
SIZE_OPTIONS = {"steps": "-T", "features": "-D", "units": "-M", "batch": "-N"}
SIZE_LETTERS = {"steps": "T", "features": "D", "units": "M", "batch": "N"}
LONG_OPTIONS = {
    "steps": "--steps",
    "features": "--features",
    "units": "--units",
    "batch": "--batch",
}


def draw_seed() -> int:
    """A fresh seed for a run started without one; shown in the output so it can be repeated."""
    return secrets.randbelow(2**32)


def resolve_sizes(
    given: dict[str, int | None],
    x: np.ndarray | None = None,
    weights: LayerWeights | None = None,
    input_name: str = "the input",
    weights_name: str = "the weights",
) -> dict[str, int]:
    """T, D and N from x (N, T, D); M (and D, without x) from the weights; the options `given`
    (None where not given) fill the rest, then the defaults. An option that contradicts a file
    raises SpecError naming both; a kernel whose D differs from x's raises InputError."""
    found: dict[str, tuple[int, str]] = {}
    if x is not None:
        N, T, D = x.shape
        found.update(batch=(N, input_name), steps=(T, input_name), features=(D, input_name))
    if weights is not None:
        if x is not None:
            check_weights_fit_input(weights_name, weights, x.shape[2])
        found["units"] = (weights.units, weights_name)
        found.setdefault("features", (weights.features, weights_name))
    sizes = dict(DEFAULT_SIZES)
    for name, value in given.items():
        if value is not None:
            sizes[name] = value
    for name, (value, source) in found.items():
        if given.get(name) is not None and given[name] != value:
            raise SpecError(
                LONG_OPTIONS[name],
                f"{SIZE_OPTIONS[name]} {given[name]} conflicts with {source}, which has "
                f"{SIZE_LETTERS[name]}={value}",
            )
        sizes[name] = value
    return sizes


def make_spec(
    cell: Cell,
    *,
    steps: int | None = None,
    features: int | None = None,
    units: int | None = None,
    batch: int | None = None,
    seed: int | None = None,
    x: np.ndarray | None = None,
    weights: LayerWeights | None = None,
    initial_state: dict[str, np.ndarray] | None = None,
    input_name: str = "the input",
    weights_name: str = "the weights",
    state_name: str = "the initial state",
    **settings,
) -> Spec:
    """A Spec whose sizes come from x and the weights where given, else from the options, else
    the defaults; a seed is drawn if none is given. Raises SpecError or InputError."""
    given = {"steps": steps, "features": features, "units": units, "batch": batch}
    sizes = resolve_sizes(given, x, weights, input_name, weights_name)
    if weights is not None:
        check_weight_shapes(weights_name, weights, cell, settings.get("reset_after", True))
        settings["use_bias"] = weights.use_bias
    spec = Spec(
        cell,
        seed=draw_seed() if seed is None else seed,
        initial_state=initial_state is not None,
        **sizes,
        **settings,
    )
    if initial_state is not None:
        check_initial_state(state_name, initial_state, spec.state_names, spec.batch, spec.units)
    return spec


def pick_states(spec: Spec, initial_state: dict[str, np.ndarray] | None):
    """Only the layer's own states from `initial_state` (a run's saved file has more)."""
    if initial_state is None:
        return None
    return {name: initial_state[name] for name in spec.state_names}


def run_spec(
    spec: Spec,
    x: np.ndarray | None = None,
    weights: LayerWeights | None = None,
    initial_state: dict[str, np.ndarray] | None = None,
    progress: Progress | None = None,
    mask: np.ndarray | None = None,
) -> Result:
    """Run the layer of `spec` on x (N, T, D) with `weights` from `initial_state` (states by
    name, each (N, M); zeros if None), drawing x and the weights when not given. `mask`
    (N, T), True where a step counts, is the mask a model sends the layer (spec.model).

    The seed spawns two independent streams, one for the weights and one for the input, so
    changing T keeps the weights and a longer T extends the same input. `progress` is called
    with (engine, steps done) after each chunk. Raises SpecError when the run would not fit
    in the memory available.
    """
    ensure_fits(spec)
    weight_stream, input_stream = np.random.SeedSequence(spec.seed).spawn(2)
    if weights is None:
        weights = initial_weights(spec, np.random.default_rng(weight_stream))
    if x is None:
        x = random_input(spec, np.random.default_rng(input_stream))
    x = np.ascontiguousarray(x, dtype=np.float32)
    return run_engines(spec, x, weights, pick_states(spec, initial_state), progress, mask)


def step_mask(x: np.ndarray, mask_value: float | None) -> np.ndarray | None:
    """Keras Masking's mask (N, T): True where some feature differs from mask_value."""
    return None if mask_value is None else np.any(x != np.float32(mask_value), axis=-1)


def engines_for(spec: Spec) -> list[str]:
    """The engines a run uses: spec.engine first; with --check every engine that can run the
    layer (torch when installed and PyTorch can express the layer) and the exact answer; else
    numpy beside another engine when the run needs the trace."""
    engines = [spec.engine]
    if spec.check:
        able = ["keras", "numpy"]
        if torch_installed() and spec.torch_problem() is None:
            able.append("torch")
        engines += [engine for engine in [*able, "exact"] if engine != spec.engine]
    elif spec.traced and spec.engine != tracer(spec):
        engines.append("numpy")
    return engines


def tracer(spec: Spec) -> str:
    """The engine whose per-step trace a run shows: the exact engine's on it, else numpy's."""
    return "exact" if spec.engine == "exact" else "numpy"


def run_engines(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None = None,
    progress: Progress | None = None,
    mask: np.ndarray | None = None,
) -> Result:
    """Run spec.engine, and the other engines of engines_for(spec); the outputs and states of
    spec.engine are the result. The gate trace comes from the numpy engine (the exact one's on
    the exact engine). Whenever more than one engine ran, they are compared pairwise in
    Result.cross_check, and with --check each against the exact answer, judged by what float32
    can reach on this layer and input (rnnstate.reach). `mask` (N, T) is a model's mask;
    without one, --mask-value makes it.
    """
    if mask is None:
        mask = step_mask(x, spec.mask_value)
    runs = {}
    for engine in engines_for(spec):
        trace = spec.traced and engine == tracer(spec)
        runs[engine] = run_layer(spec, x, weights, engine, initial_state, mask, trace, progress)
        ensure_finite(spec, runs[engine], x, weights, initial_state, mask)
    run = runs[spec.engine]
    gates = runs[tracer(spec)].gates if tracer(spec) in runs else None
    reach = None
    if spec.check:
        from rnnstate.reach import float32_reach

        reach = float32_reach(spec, x, weights, initial_state, mask, runs["exact"])
    cross_check = compare_engines(runs, reach) if len(runs) > 1 else None
    return Result(
        spec, x, run.outputs, run.states, weights, gates, cross_check, initial_state, mask
    )


def ensure_finite(
    spec: Spec,
    run: LayerOutputs,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None,
    mask: np.ndarray | None,
) -> None:
    """Raise NumericError naming the first output or state that overflowed, where, and what
    made it overflow (rnnstate.overflow, traced on that sequence of x (N, T, D))."""
    from rnnstate.overflow import cause, settings

    for name, values in {**run.outputs, **run.states}.items():
        bad = np.argwhere(~np.isfinite(values))
        if len(bad):
            where = [int(i) for i in bad[0]]
            n = where[0]
            states = initial_state and {k: v[n : n + 1] for k, v in initial_state.items()}
            found = cause(
                spec, x[n : n + 1], weights, states, None if mask is None else mask[n : n + 1]
            )
            precision = "float64" if values.dtype == np.float64 else "float32"
            raise NumericError(
                f"{name} is not finite (first at index {where}): the run overflowed {precision}"
                + (f"; {found}" if found else f" with {settings(spec)}; smaller weights or "
                   "inputs keep it finite")
            )  # fmt: skip


def run(
    cell: Cell,
    *,
    steps: int | None = None,
    features: int | None = None,
    units: int | None = None,
    batch: int | None = None,
    seed: int | None = None,
    x: np.ndarray | None = None,
    weights: LayerWeights | None = None,
    initial_state: dict[str, np.ndarray] | None = None,
    **settings,
) -> Result:
    """Run a Keras `cell` ("lstm", "gru" or "rnn") and return a Result.

    x (N, T, D) and `weights` (Keras's layout) are used when given, else drawn from the seed
    (drawn itself when not given; Result.spec.seed); `initial_state` maps state names (h, c,
    or h_fw, c_fw, h_bw, c_bw) to (N, M) arrays. Sizes default to T=8, D=2, M=3, N=1.
    `settings` are the other Spec fields: return_sequences, reset_after, use_bias, backwards,
    bidirectional, merge, mask_value, engine, gates, check. The Result holds x (N, T, D), the
    outputs (o), the states (h, c), the gate trace and the engine cross-check. Raises
    SpecError for a bad setting and InputError for arrays that do not fit.
    """
    spec = make_spec(
        cell,
        steps=steps,
        features=features,
        units=units,
        batch=batch,
        seed=seed,
        x=x,
        weights=weights,
        initial_state=initial_state,
        **settings,
    )
    return run_spec(spec, x, weights, initial_state)
