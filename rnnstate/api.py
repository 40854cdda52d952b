"""The Python API: `run(...)` turns settings into a Result, `run_model_layer(...)` runs a saved
model's layer, `replay(path)` runs a saved result again. The CLI is a thin layer over this."""

import contextlib
import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from rnnstate.budget import ensure_fits
from rnnstate.data import (
    check_initial_state,
    check_weight_shapes,
    check_weights_fit_input,
    input_shape,
    numeric_array,
    random_input,
)
from rnnstate.engines import LayerOutputs, Progress, run_layer
from rnnstate.errors import NumericError, SpecError, shown_name
from rnnstate.interruptible import call_interruptibly
from rnnstate.render.notebook import show_in_notebooks, summary_in_notebooks
from rnnstate.result import Result, compare_engines
from rnnstate.spec import MAX_TOP, Cell, Engine, Sources, Spec, torch_installed
from rnnstate.summary import Summary
from rnnstate.weights import BidirectionalWeights, LayerWeights, initial_weights

show_in_notebooks(Result)  # result.plot() and the tables in Jupyter, from the renderers
summary_in_notebooks(Summary)  # summary.plot()

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
                f"{SIZE_OPTIONS[name]} {given[name]} conflicts with {shown_name(source)}, "
                f"which has {SIZE_LETTERS[name]}={value}",
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
    the defaults. The seed is kept (drawn if not given) only when something is drawn from it:
    x or the weights; with both given it is None. Raises SpecError or InputError."""
    given = {"steps": steps, "features": features, "units": units, "batch": batch}
    sizes = resolve_sizes(given, x, weights, input_name, weights_name)
    if weights is not None:
        check_weight_shapes(weights_name, weights, cell, settings.get("reset_after", True))
        settings["use_bias"] = weights.use_bias
    drawn = x is None or weights is None
    spec = Spec(
        cell,
        seed=(draw_seed() if seed is None else seed) if drawn else None,
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
    if (x is None or weights is None) and spec.seed is None:
        raise SpecError("--seed", "x or the weights are to be drawn, but the Spec has no seed")
    weight_stream, input_stream = np.random.SeedSequence(spec.seed).spawn(2)
    if weights is None:  # a large orthogonal draw is a long QR in LAPACK: kept interruptible
        weights = call_interruptibly(initial_weights, spec, np.random.default_rng(weight_stream))
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


def layout_of(weights: LayerWeights) -> str:
    """The layout weights were read from: "keras", or "torch" (converted from a state dict)."""
    one = weights.forward if isinstance(weights, BidirectionalWeights) else weights
    return one.read_from


def read_files(
    cell: Cell,
    input_path: str | None = None,
    weights_path: str | None = None,
    state_path: str | None = None,
    reset_after: bool = True,
    bidirectional: bool = False,
    prefix: str | None = None,
    torch_layer: int | None = None,
    stream_input: bool = False,
) -> tuple[np.ndarray | None, LayerWeights | None, dict[str, np.ndarray] | None, Sources]:
    """The run's files read: (x (N, T, D), weights, initial states by name, Sources), None
    where a file is not given; with `stream_input` x is None too (a summary streams it from
    input_path) but Sources names the file. Raises InputError naming the file, SpecError for
    options that do not fit it."""
    from rnnstate.data import read_initial_state, read_input, read_weights

    x = read_input(input_path) if input_path and not stream_input else None
    weights = None
    if weights_path:
        weights = read_weights(weights_path, cell, reset_after, bidirectional, prefix, torch_layer)
    states = read_initial_state(state_path) if state_path else None
    torch = weights is not None and layout_of(weights) == "torch"
    sources = Sources(
        input=input_path or None,
        weights=weights_path or None,
        layout=None if weights is None else layout_of(weights),
        prefix=prefix if torch else None,
        torch_layer=torch_layer if torch else None,
        initial_state=state_path or None,
    )
    return x, weights, states, sources


# How the Python API names what the command line calls an option (in SpecError messages).
PARAMETERS = {
    "-T": "steps", "-D": "features", "-M": "units", "-N": "batch",
    "--sequences": "return_sequences", "--no-sequences": "return_sequences=False",
    "--reset-before": "reset_after=False",
    "--bias": "use_bias", "--no-bias": "use_bias=False", "--input": "x", "CELL": "cell",
}  # fmt: skip  # the others by their name: --mask-value -> mask_value
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][a-z-]*)")


def parameter_name(option: str) -> str:
    """The Python parameter of a command-line option: --mask-value -> mask_value."""
    return PARAMETERS.get(option, option.lstrip("-").replace("-", "_"))


@contextlib.contextmanager
def python_names() -> Iterator[None]:
    """Raise SpecErrors from inside with the Python parameters in place of the command line's
    options ("steps must be a positive integer", not "--steps must be ...")."""
    try:
        yield
    except SpecError as error:
        message = OPTION.sub(lambda m: parameter_name(m[1]), str(error))
        message = re.sub(r"\b(steps|features|units|batch) (\d+)\b", r"\1=\2", message)
        raise SpecError(parameter_name(error.option), message) from None


ArrayOrPath = np.ndarray | str | Path


def as_path(value) -> str | None:
    """A str or Path argument as a path string; None for anything else (an array)."""
    return str(value) if isinstance(value, str | Path) else None


def read_arguments(
    cell: Cell,
    x: ArrayOrPath | None,
    weights: LayerWeights | str | Path | None,
    initial_state: dict[str, np.ndarray] | str | Path | None,
    reset_after: bool,
    bidirectional: bool,
    prefix: str | None,
    torch_layer: int | None,
    stream_input: bool = False,
) -> tuple[np.ndarray | None, LayerWeights | None, dict[str, np.ndarray] | None, dict]:
    """run's and summarize's x, weights and initial_state (arrays or files' paths) as arrays:
    files read (x not with `stream_input`, as read_files), an array x checked and made
    (N, T, D). Returns (x, weights, initial states by name (each (N, M)), make_spec's keywords
    saying where each came from: sources, input_name, weights_name, state_name), None where
    not given. Raises InputError naming the file or array."""
    x_path, weights_path, state_path = as_path(x), as_path(weights), as_path(initial_state)
    read_x, read_w, read_states, sources = read_files(
        cell, x_path, weights_path, state_path, reset_after, bidirectional, prefix, torch_layer,
        stream_input,
    )  # fmt: skip
    if x is not None and x_path is None:
        x = input_shape("x", numeric_array("x", np.asarray(x), "the input"))
        sources = replace(sources, input="array")
    if weights is not None and weights_path is None:
        sources = replace(sources, weights="array", layout=layout_of(weights))
    if initial_state is not None and state_path is None:
        sources = replace(sources, initial_state="array")
    origin = {
        "sources": sources,
        "input_name": x_path or "x",
        "weights_name": weights_path or "weights",
        "state_name": state_path or "initial_state",
    }
    return (
        read_x if x_path else x,
        read_w if weights_path else weights,
        read_states if state_path else initial_state,
        origin,
    )


def run(
    cell: Cell,
    *,
    steps: int | None = None,
    features: int | None = None,
    units: int | None = None,
    batch: int | None = None,
    seed: int | None = None,
    x: ArrayOrPath | None = None,
    weights: LayerWeights | str | Path | None = None,
    prefix: str | None = None,
    torch_layer: int | None = None,
    initial_state: dict[str, np.ndarray] | str | Path | None = None,
    return_sequences: bool = False,
    reset_after: bool = True,
    activation: str = "tanh",
    recurrent_activation: str = "sigmoid",
    unit_forget_bias: bool = True,
    use_bias: bool = True,
    backwards: bool = False,
    bidirectional: bool = False,
    merge: str = "concat",
    mask_value: float | None = None,
    engine: Engine = "keras",
    gates: bool = False,
    check: bool = False,
    explain: int | None = None,
    unit: int | None = None,
    direction: str | None = None,
) -> Result:
    """Run a Keras `cell` ("lstm", "gru" or "rnn") and return a Result; docs/api.md.

    x (N, T, D) or (T, D) and `weights` (Keras's layout: Weights, BidirectionalWeights) are
    used when given, as arrays or as the path of a file the command line reads (--input,
    --weights: Keras's or PyTorch's layout, `prefix` and `torch_layer` picking a PyTorch
    layer); else drawn from `seed` (drawn itself when not given: Result.spec.seed, None when
    nothing was drawn). `initial_state` maps state names (h, c, or h_fw, c_fw, h_bw, c_bw) to
    (N, M) arrays, or is the path of an .npz of them. Sizes default to T=8, D=2, M=3, N=1.
    The other keywords are Keras's layer options and the command line's --engine, --gates,
    --check, --explain, --unit and --direction (Result.explain works out a step of any
    run). Raises SpecError (naming the parameter) for a bad setting and InputError
    for a file or arrays that do not fit.
    """
    with python_names():
        x, weights, initial_state, origin = read_arguments(
            cell, x, weights, initial_state, reset_after, bidirectional, prefix, torch_layer
        )
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
            **origin,
            return_sequences=return_sequences,
            reset_after=reset_after,
            activation=activation,
            recurrent_activation=recurrent_activation,
            unit_forget_bias=unit_forget_bias,
            use_bias=use_bias,
            backwards=backwards,
            bidirectional=bidirectional,
            merge=merge,
            mask_value=mask_value,
            engine=engine,
            gates=gates,
            check=check,
            explain=explain,
            unit=unit,
            direction=direction,
        )
        return run_spec(spec, x, weights, initial_state)


def model_layers(path: str | Path) -> list:
    """The recurrent layers of the saved Keras model at `path` (.keras, .h5), in the order
    `rnnstate model PATH` lists them: models.ModelLayer, each with its index, path (its name,
    "outer/inner" inside a nested model), class, units, features, steps and settings. Raises
    InputError naming the file."""
    from rnnstate import models

    return models.recurrent_layers(models.load(str(path)))


def model_layer_data(
    loaded,
    chosen,
    x=None,
    layer_input=None,
    initial_state=None,
    progress=None,
    call=None,
):
    """What the model's layer `chosen` runs on (models.LayerData): the model's input `x` (a
    path, an array, or a dict of arrays by input name) run through the layers before it up to
    the layer's call number `call` (None: 0; a shared layer is called more than once), the
    layer's own input `layer_input` (a path or an array (N, T, D)), or neither (the seed's);
    initial states from `initial_state` (a path or a dict of arrays) if given. `progress` is
    a context manager factory (layer, N) -> progress callback for the layers before it."""
    from rnnstate import models
    from rnnstate.data import read_initial_state, read_input, read_model_input
    from rnnstate.spec import ModelSource

    if x is not None and layer_input is not None:
        raise SpecError("--layer-input", "give --input (the model's) or --layer-input, not both")
    if call is not None and x is None:
        raise SpecError("--call", "--call picks which call's input --input gives the layer; "
                        "give --input (the model's input)")  # fmt: skip
    if call is not None and call >= chosen.calls:
        raise SpecError("--call", f"layer {shown_name(chosen.path)} is called {chosen.calls} "
                        f"time{'s' if chosen.calls > 1 else ''} by the model: --call 0 to "
                        f"{chosen.calls - 1}")  # fmt: skip
    mask = states = mask_from = embedding = None
    input_name = ""
    if x is not None:
        input_name = as_path(x) or "x"
        if as_path(x):
            arrays = read_model_input(input_name)
        else:
            arrays = {k: np.asarray(v) for k, v in x.items()} if isinstance(x, dict) else {
                "x": np.asarray(x)}  # fmt: skip
        inputs = models.model_inputs(loaded, arrays, input_name)
        with progress(chosen, inputs[0].shape[0]) if progress else contextlib.nullcontext() as tick:
            received = models.layer_input(loaded, chosen, inputs, input_name, tick, call or 0)
        x, mask, states = received.x, received.mask, received.initial_state
        mask_from = received.mask_from
        embedding = models.embedding_before(loaded, chosen, call or 0)
        input_from = f"{input_name}, through the model's layers before it"
        if chosen.calls > 1:
            input_from += (
                f" (the layer is shared: its call {call or 0} of {chosen.calls} in the model; "
                "--call K picks another)"
            )
        if states is not None:
            input_from += "; initial states from the model"
    elif layer_input is not None:
        input_name = as_path(layer_input) or "layer_input"
        if as_path(layer_input):
            x = read_input(input_name)
        else:
            x = input_shape(input_name, numeric_array(input_name, np.asarray(layer_input),
                                                      "the input"))  # fmt: skip
        input_from = f"{input_name}, as the layer's own input"
    else:
        input_from = "drawn from the seed (give --input for the model's)"
    state_name = "the model's initial states"
    if initial_state is not None:
        state_name = as_path(initial_state) or "initial_state"
        states = read_initial_state(state_name) if as_path(initial_state) else initial_state
    source = ModelSource(
        loaded.path, chosen.path, input_from, mask_from, chosen.unused, x is None, embedding
    )
    return models.LayerData(
        chosen, models.layer_weights(chosen), x, mask, states, source, input_name, state_name
    )


def model_sources(data) -> Sources:
    """The Sources of a model layer's run: the input file or array, the initial state's."""
    initial = data.state_name if data.state_name != "the model's initial states" else None
    return Sources(input=data.input_name or None, initial_state=initial)


def run_model_layer(
    path: str | Path,
    layer: str | int,
    *,
    x: ArrayOrPath | dict[str, np.ndarray] | None = None,
    layer_input: ArrayOrPath | None = None,
    initial_state: dict[str, np.ndarray] | str | Path | None = None,
    call: int | None = None,
    return_sequences: bool | None = None,
    steps: int | None = None,
    batch: int | None = None,
    seed: int | None = None,
    engine: Engine = "keras",
    gates: bool = False,
    check: bool = False,
) -> Result:
    """Run the recurrent layer `layer` (its name as model_layers lists it, or its index) of
    the saved Keras model at `path` with its trained weights and settings, as `rnnstate model
    PATH --layer LAYER` does; docs/api.md.

    x: the model's input (a path, an array, or a dict of arrays by input name), run through
    the layers before the layer (its mask and initial states come along); or layer_input:
    the layer's own input (N, T, D) (a path or an array); or neither: x drawn from `seed`
    (T=`steps`, N=`batch`). call: which call of a layer the model calls more than once (shared)
    x reaches (None: the first). return_sequences overrides the layer's own when not None. Raises
    SpecError (naming the parameter) and InputError as run does.
    """
    from rnnstate import models

    with python_names():
        sizes = {"steps": 1 if steps is None else steps, "batch": 1 if batch is None else batch}
        Spec("lstm", seed=seed, **sizes)  # steps, batch and seed checked before the model loads
        loaded = models.load(str(path))
        chosen = models.find_layer(models.recurrent_layers(loaded), str(layer), str(path))
        data = model_layer_data(loaded, chosen, x, layer_input, initial_state, call=call)
        spec = data.spec(
            return_sequences, steps, batch=batch, seed=seed, engine=engine, gates=gates,
            check=check, sources=model_sources(data),
        )  # fmt: skip
        return run_spec(spec, data.x, data.weights, data.initial_state, None, data.mask)


def replay(path: str | Path) -> Result:
    """Run the result saved at `path` (--output .npz or .json, or a --json document) again,
    from the input, weights, initial states and mask it holds: the same o, h, c and gates to
    the last digit on the same versions (`rnnstate replay PATH` compares them). Raises
    InputError naming the file."""
    from rnnstate.saved_result import read_saved

    with python_names():
        saved = read_saved(str(path))
        return run_spec(saved.spec, saved.x, saved.weights, saved.initial_state, None, saved.mask)


# What a Result does besides holding arrays, attached here so that result.py imports no
# renderer and no writer (the layers read one way: result <- explain, render, save <- api).


def save_result(result: Result, path: str | Path) -> None:
    """Write the result to `path` as --output does: .npz or .json by the extension, whole or
    not at all, with everything `rnnstate replay PATH` (or rnnstate.replay) needs to run it
    again. Raises SpecError for another extension, InputError when it cannot be written."""
    from rnnstate.save import check_writable
    from rnnstate.save import save_result as write

    with python_names():
        check_writable(str(path))
        write(str(path), result)


def result_json(result: Result) -> str:
    """The result as the --json document (docs/json.md), one JSON text."""
    from rnnstate.render.json import render

    return render(result).decode()


class Explained(list):
    """Result.explain's answer: one explain.Explanation per direction explained (each gate's
    terms, the state update, the checks), shown as --explain shows it when printed."""

    def __rich__(self):
        from rnnstate.render.explain import render

        return render(self)

    def __str__(self) -> str:
        from rich.console import Console

        console = Console(width=100, record=True, file=io.StringIO(), color_system=None)
        console.print(self)
        return console.export_text()


def explain_step(
    result: Result,
    step: int,
    unit: int | None = None,
    *,
    sequence: int = 0,
    direction: str | None = None,
) -> Explained:
    """Input step `step` of sequence `sequence` worked out with the run's numbers, as --explain
    does: every term of every gate, the state update, the checks against o and h; `unit`
    writes that unit's dot products out term by term; `direction` ("fw" or "bw") picks a
    half of a bidirectional layer (both by default). Traces the run with the numpy engine
    when it was not traced. Raises SpecError naming the parameter."""
    from rnnstate.engines import run_layer
    from rnnstate.explain import explain

    with python_names():
        if not 0 <= sequence < result.spec.batch:
            raise SpecError("sequence", f"sequence {sequence} is not in the batch: "
                            f"N={result.spec.batch} (0 to {result.spec.batch - 1})")  # fmt: skip
        spec = replace(result.spec, explain=step, unit=unit, direction=direction)
        gates = result.gates
        if gates is None:
            traced = run_layer(spec, result.x, result.weights, "numpy", result.initial_state,
                               result.mask, True, None)  # fmt: skip
            gates = traced.gates
        return Explained(explain(replace(result, spec=spec, gates=gates), sequence))


Result.save = save_result
Result.to_json = result_json
Result.explain = explain_step


def summarize(
    cell: Cell,
    *,
    steps: int | None = None,
    features: int | None = None,
    units: int | None = None,
    batch: int | None = None,
    seed: int | None = None,
    x: ArrayOrPath | None = None,
    weights: LayerWeights | str | Path | None = None,
    prefix: str | None = None,
    torch_layer: int | None = None,
    initial_state: dict[str, np.ndarray] | str | Path | None = None,
    reset_after: bool = True,
    activation: str = "tanh",
    recurrent_activation: str = "sigmoid",
    unit_forget_bias: bool = True,
    use_bias: bool = True,
    backwards: bool = False,
    bidirectional: bool = False,
    merge: str = "concat",
    mask_value: float | None = None,
    engine: str = "numpy",
    batch_size: int = 1024,
    left_below: float = 0.1,
    right_above: float = 0.9,
    unit: int | None = None,
    top: int | None = None,
    gate: str | None = None,
    direction: str | None = None,
    rows: int = 50,
) -> Summary:
    """What each unit does over every sequence: the command line's --summary as a
    rnnstate.summary.Summary (docs/api.md). Per-unit arrays: summary.stats[name].mean, .std,
    .minimum, .maximum, .zeros, .dead, and for a gate .left, .right, .saturated, each (M,);
    summary.plot() draws the saturation scatter (and `unit` across sequences).

    x (N, T, D) (an array, or a file's path: an .npy or .npz is read in batches of
    `batch_size`), the weights and the initial state as `run` takes them; else drawn from
    `seed` as `run` draws them. `engine`: "numpy" (the default; "keras" runs the numpy engine's
    equations too) or "exact" (float64). With `unit`: summary.across keeps its h_t (or
    `gate`'s, on a bidirectional layer both halves or `direction`'s) in the first `rows`
    sequences; with `top` too, summary.top lists the K places where it is largest (one half:
    `direction` "fw" or "bw" on a bidirectional layer). Raises SpecError naming the
    parameter, InputError for a file or array that does not fit.
    """
    from rnnstate.data import dataset_of, open_dataset
    from rnnstate.summary import Thresholds
    from rnnstate.summary import summarize as summarize_batches

    with python_names():
        if engine == "torch":
            raise SpecError("engine", "the summary runs the numpy engine's equations (or the "
                                      "exact engine's): the torch engine has no trace")  # fmt: skip
        counts = {"batch_size": batch_size, "rows": rows, "top": 1 if top is None else top}
        for name, value in counts.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(name, f"{name} must be a positive integer, got {value!r}")
        if top is not None and top > MAX_TOP:
            raise SpecError("top", f"top is at most {MAX_TOP:,} places, got {top}")
        thresholds = Thresholds(left_below, right_above)
        for name, given in (("top", top), ("gate", gate), ("direction", direction)):
            if given is not None and unit is None:
                raise SpecError(name, f"{name} says what unit's views show; give unit too")
        if direction is not None and direction not in ("fw", "bw"):
            raise SpecError("direction", f"expected fw or bw, got {direction!r}")
        if direction is not None and not bidirectional:
            raise SpecError("direction", "direction picks a half of bidirectional=True")
        x_path = as_path(x)
        x, weights, initial_state, origin = read_arguments(
            cell, x, weights, initial_state, reset_after, bidirectional, prefix, torch_layer,
            stream_input=True,
        )  # fmt: skip
        dataset = None
        if x_path:
            dataset = open_dataset(x_path)
        elif x is not None:
            dataset = dataset_of("x", x)
        shape_only = None if dataset is None else np.broadcast_to(np.float32(0), dataset.shape)
        spec = make_spec(
            cell, steps=steps, features=features, units=units, batch=batch, seed=seed,
            x=shape_only, weights=weights, initial_state=initial_state, **origin,
            reset_after=reset_after, activation=activation,
            recurrent_activation=recurrent_activation, unit_forget_bias=unit_forget_bias,
            use_bias=use_bias, backwards=backwards, bidirectional=bidirectional, merge=merge,
            mask_value=mask_value, engine="exact" if engine == "exact" else "numpy",
        )  # fmt: skip
        weight_stream, input_stream = np.random.SeedSequence(spec.seed).spawn(2)
        if weights is None:
            weights = initial_weights(spec, np.random.default_rng(weight_stream))
        if dataset is None:  # drawn as `run` draws it, so the numbers match one
            ensure_fits(replace(spec, gates=False))
            dataset = dataset_of("x", random_input(spec, np.random.default_rng(input_stream)))
        size = min(batch_size, spec.batch)
        quantity = (gate or "h_t") + ("" if direction is None else f"_{direction}")
        return summarize_batches(
            spec, dataset.batches(size), weights, size, thresholds,
            initial_state, None, None if top is None else (top, unit), quantity,
            None if unit is None else (unit, rows),
        )  # fmt: skip
