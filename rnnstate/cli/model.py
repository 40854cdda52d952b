"""rnnstate model: a saved model's recurrent layers listed, or one run on the input the options
say, with its trained weights and settings.
"""

import contextlib
import itertools
import sys
from collections.abc import Iterator
from dataclasses import replace

import typer

from rnnstate.cli.app import GroupedHelp, app, examples
from rnnstate.cli.show import run_and_show, take_shown, terminal_progress
from rnnstate.cli.streams import user_errors, write_stdout
from rnnstate.cli.summary import (
    SummaryRequest,
    check_plot_path,
    sequences_bar,
    show_summary,
    take_summary,
)
from rnnstate.errors import ExitCode, SpecError
from rnnstate.options import (
    Batch,
    BatchSize,
    CallNumber,
    Check,
    DirectionOption,
    EngineName,
    EngineOption,
    ExplainStep,
    ExplainUnit,
    Full,
    GateOption,
    Gates,
    HeatmapOption,
    InitialState,
    InputPath,
    Json,
    LayerInputPath,
    LayerName,
    Layout,
    LayoutName,
    LeftBelow,
    MemoryOption,
    ModelPath,
    ModelSeed,
    Only,
    Output,
    PlotPath,
    RightAbove,
    SaveWeights,
    Sequences,
    SortColumn,
    Steps,
    SummaryOption,
    Top,
    UnitsShown,
    VocabPath,
)

RUN_OPTIONS = {  # options that need --layer, by parameter name
    "input_path": "--input",
    "layer_input": "--layer-input",
    "call": "--call",
    "initial_state": "--initial-state",
    "gates": "--gates",
    "check": "--check",
    "explain": "--explain",
    "save_weights": "--save-weights",
    "output": "--output",
    "plot": "--plot",
    "heatmap": "--heatmap",
    "only": "--only",
    "sequences": "--sequences/--no-sequences",
    "summary": "--summary",
    "vocab": "--vocab",
    "memory": "--memory",
}
# What --summary runs on: every sequence of the data, so the options that size or draw one run
# or start it from given states do not apply.
NOT_WITH_MODEL_SUMMARY = {"steps": "-T", "batch": "-N", "seed": "--seed",
                          "initial_state": "--initial-state"}  # fmt: skip


@app.command(
    "model",
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate model docs/example/sentiment.keras              # its recurrent layers",
        "rnnstate model docs/example/sentiment.keras --layer lstm --input docs/example/reviews.npy",
        "rnnstate model docs/example/sentiment.keras --layer 0 --input docs/example/reviews.npy "
        "--only 1 --gates --engine numpy",
        "rnnstate model docs/example/sentiment.keras --layer lstm --input docs/example/reviews.npy "
        "--vocab docs/example/vocab.txt --summary --top 5 --unit 3",
        "rnnstate model docs/example/sentiment.keras --layer lstm --input docs/example/reviews.npy "
        "--memory --only 2  # which tokens h and c depend on",
    ),
)
def model_command(
    path: ModelPath,
    layer: LayerName = None,
    call: CallNumber = None,
    steps: Steps = None,
    batch: Batch = None,
    seed: ModelSeed = None,
    sequences: Sequences = None,
    initial_state: InitialState = None,
    engine: EngineOption = EngineName.keras,
    gates: Gates = False,
    check: Check = False,
    explain: ExplainStep = None,
    unit: ExplainUnit = None,
    direction: DirectionOption = None,
    input_path: InputPath = None,
    layer_input: LayerInputPath = None,
    save_weights: SaveWeights = None,
    layout: Layout = LayoutName.keras,
    output: Output = None,
    plot: PlotPath = None,
    units_shown: UnitsShown = None,
    only: Only = None,
    heatmap: HeatmapOption = False,
    full: Full = False,
    memory: MemoryOption = False,
    vocab: VocabPath = None,
    summary: SummaryOption = False,
    batch_size: BatchSize = None,
    sort: SortColumn = None,
    left_below: LeftBelow = None,
    right_above: RightAbove = None,
    top: Top = None,
    gate: GateOption = None,
    json: Json = False,
) -> None:
    """A recurrent layer of a saved Keras model: list them, or run one on your data."""
    inspect_model(locals())


def inspect_model(options: dict) -> None:
    """List the model's recurrent layers, or run the one --layer names on the model's input,
    the layer's own input or input from the seed, and show it as the cell commands do."""
    from rich.console import Console

    from rnnstate import models
    from rnnstate.render import listing

    path, name = str(options.pop("path")), options.pop("layer")
    with user_errors():
        if name is None:
            for parameter, option in RUN_OPTIONS.items():
                if options[parameter] not in (None, False):
                    raise SpecError(option, f"{option} runs a layer: name it with --layer")
        loaded = models.load(path)
        layers = models.recurrent_layers(loaded)
        if name is None:
            if options["json"]:
                write_stdout([listing.json_bytes(path, layers)])
            else:
                Console(highlight=False).print(listing.table(path, layers))
            return
        chosen = models.find_layer(layers, name, path)
        request = take_summary(options, options["direction"])
        tokens = step_tokens(loaded, options)
        if request is not None:
            run_model_summary(loaded, chosen, options, request, tokens)
            return
        agreed = run_model_layer(loaded, chosen, options, tokens)
    if not agreed:
        raise typer.Exit(ExitCode.CHECK_FAILED)


def step_tokens(loaded, options: dict):
    """Pop --vocab: with the model's --input (token ids), a vocab.StepTokens naming each step
    of each sequence; None without --vocab. SpecError when the model does not start with an
    Embedding or the ids are not given; InputError for a vocabulary file it cannot use."""
    from rnnstate import models
    from rnnstate.data import open_model_input
    from rnnstate.vocab import StepTokens, read_vocab

    path = options.pop("vocab")
    if path is None:
        return None
    size = models.embedding_size(loaded)
    if size is None:
        raise SpecError("--vocab", "--vocab names the token ids of a model that starts with an "
                        "Embedding; this model does not")  # fmt: skip
    if options["input_path"] is None:
        raise SpecError("--vocab", "--vocab names the token ids of the model's input: give "
                        "them with --input")  # fmt: skip
    tokens = read_vocab(str(path), size)
    ids = next(iter(open_model_input(str(options["input_path"])).values()))
    return StepTokens(ids if ids.ndim == 2 else ids[None], tokens)  # (N, T) ids


def run_model_layer(loaded, chosen, options: dict, tokens=None) -> bool:
    """Run the model's layer `chosen` with its trained weights and settings on the input the
    options say, steps labelled by `tokens` (vocab.StepTokens) if given; whether the engines
    agreed (see run_and_show)."""
    shown = take_shown(options, chosen.cell, chosen.settings.get("reset_after", True))
    shown = replace(shown, tokens=tokens)
    data = model_layer_data(loaded, chosen, options["input_path"], options["layer_input"],
                            options["initial_state"], options["call"])  # fmt: skip
    from rnnstate.api import model_sources

    direction = options["direction"]
    spec = data.spec(
        options["sequences"],
        options["steps"],
        batch=options["batch"],
        seed=options["seed"],
        engine=options["engine"].value,
        gates=options["gates"],
        check=options["check"],
        explain=options["explain"],
        unit=options["unit"],
        direction=None if direction is None else direction.value,
        sources=model_sources(data),
    )
    if tokens is not None:
        from rnnstate.vocab import check_steps

        check_steps(tokens, spec.steps)
    read = {
        "PATH": loaded.path,
        "--input": options["input_path"] and str(options["input_path"]),
        "--layer-input": options["layer_input"] and str(options["layer_input"]),
        "--initial-state": options["initial_state"] and str(options["initial_state"]),
    }
    return run_and_show(spec, data.x, data.weights, data.initial_state, data.mask, shown, read)


def run_model_summary(loaded, chosen, options: dict, request: SummaryRequest, tokens) -> None:
    """--summary: every sequence of --input (through the model's layers before the layer,
    batch by batch, its mask leaving steps out) or of --layer-input, through the layer's
    equations, then the summary's tables or JSON; the --top places' steps labelled by `tokens`
    (vocab.StepTokens) if given."""
    import numpy as np

    from rnnstate import models
    from rnnstate.data import open_dataset, open_model_input
    from rnnstate.spec import ModelSource, Sources
    from rnnstate.summary import summarize
    from rnnstate.vocab import check_steps

    for name, option in NOT_WITH_MODEL_SUMMARY.items():
        if options[name] is not None:
            raise SpecError(option, f"{option} does not combine with --summary, which runs "
                            "every sequence of the input")  # fmt: skip
    input_path, layer_input = options["input_path"], options["layer_input"]
    if input_path is not None and layer_input is not None:
        raise SpecError("--layer-input", "give --input (the model's) or --layer-input, not both")
    if input_path is None and layer_input is None:
        raise SpecError("--summary", "--summary runs every sequence of the data: give the "
                        "model's input (--input) or the layer's (--layer-input)")  # fmt: skip
    if options["call"] is not None and input_path is None:
        raise SpecError("--call", "--call picks which call's input --input gives the layer; "
                        "give --input (the model's input)")  # fmt: skip
    call = options["call"] or 0
    if call >= chosen.calls:
        raise SpecError("--call", f"layer {chosen.path!r} is called {chosen.calls} time"
                        f"{'s' * (chosen.calls > 1)} by the model: --call 0 to "
                        f"{chosen.calls - 1}")  # fmt: skip
    size = request.batch_size
    if input_path is not None:
        path = str(input_path)
        arrays = open_model_input(path)
        N, received = models.layer_batches(loaded, chosen, arrays, path, size, call)
        batches = ((part.x, part.mask, part.initial_state) for part in received)
        input_from = f"{path}, through the model's layers before it"
        if chosen.calls > 1:
            input_from += f" (the layer is shared: its call {call} of {chosen.calls})"
    else:
        path = str(layer_input)
        dataset = open_dataset(path)
        N, batches = dataset.shape[0], dataset.batches(size)
        input_from = f"{path}, as the layer's own input"
    check_plot_path(request, chosen.cell, {"PATH": loaded.path, "--input": path})
    first = next(iter(batches))  # the layer's T and D, and whether the model masks steps
    x, mask = (first[0], first[1]) if isinstance(first, tuple) else (first, None)
    mask_from = None if mask is None else models.mask_makers(loaded)
    if tokens is not None:
        check_steps(tokens, x.shape[1])
    weights = models.layer_weights(chosen)
    source = ModelSource(loaded.path, chosen.path, input_from, mask_from, chosen.unused)
    shape_only = np.broadcast_to(np.float32(0), (N, *x.shape[1:]))  # the sizes: data stay on disk
    engine = options["engine"].value
    data = models.LayerData(chosen, weights, shape_only, None, None, source, path)
    spec = data.spec(engine="exact" if engine == "exact" else "numpy", sources=Sources(path))
    batch_size = min(size, N)
    with sequences_bar(N, batch_size) as progress:
        summary = summarize(spec, itertools.chain([first], batches), weights, batch_size,
                            request.thresholds, None, progress, request.top, request.quantity,
                            request.across)  # fmt: skip
    show_summary(summary, request, options["json"], tokens)


def model_layer_data(loaded, chosen, input_path, layer_input, state_path, call=None):
    """What the model's layer `chosen` runs on (models.LayerData), from the files the options
    name (api.model_layer_data), with a progress bar on a terminal for the layers before it;
    `call` picks the call of a layer the model calls more than once."""
    from rnnstate.api import model_layer_data as layer_data

    return layer_data(loaded, chosen, input_path, layer_input, state_path, model_progress, call)


@contextlib.contextmanager
def model_progress(layer, sequences: int) -> Iterator:
    """A progress callback (done, total) for the layers before `layer` when stderr is a
    terminal and the input is more than one call's worth of sequences."""
    from rnnstate.models import SEQUENCES_PER_CALL

    if not sys.stderr.isatty() or sequences <= SEQUENCES_PER_CALL:
        yield None
        return
    from rich.markup import escape

    from rnnstate.errors import shown_name

    with terminal_progress() as display:  # a task's description is markup: the name is escaped
        task = display.add_task(f"layers before {escape(shown_name(layer.path))}", total=sequences)
        yield lambda done, total: display.update(task, completed=done)
