"""rnnstate model: a saved model's recurrent layers listed, or one run on the input the options
say, with its trained weights and settings.
"""

import contextlib
import sys
from collections.abc import Iterator

import typer

from rnnstate.cli.app import GroupedHelp, app, examples
from rnnstate.cli.show import run_and_show, take_shown, terminal_progress
from rnnstate.cli.streams import user_errors, write_stdout
from rnnstate.errors import ExitCode, SpecError
from rnnstate.options import (
    Batch,
    CallNumber,
    Check,
    DirectionOption,
    EngineName,
    EngineOption,
    ExplainStep,
    ExplainUnit,
    Full,
    Gates,
    HeatmapOption,
    InitialState,
    InputPath,
    Json,
    LayerInputPath,
    LayerName,
    Layout,
    LayoutName,
    MemoryOption,
    ModelPath,
    ModelSeed,
    Only,
    Output,
    PlotPath,
    SaveWeights,
    Sequences,
    Steps,
    UnitsShown,
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
    "memory": "--memory",
}


@app.command(
    "model",
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate model docs/example/sentiment.keras              # its recurrent layers",
        "rnnstate model docs/example/sentiment.keras --layer lstm --input docs/example/reviews.npy",
        "rnnstate model docs/example/sentiment.keras --layer 0 --input docs/example/reviews.npy "
        "--only 1 --gates --engine numpy",
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
        agreed = run_model_layer(loaded, chosen, options)
    if not agreed:
        raise typer.Exit(ExitCode.CHECK_FAILED)


def run_model_layer(loaded, chosen, options: dict) -> bool:
    """Run the model's layer `chosen` with its trained weights and settings on the input the
    options say; whether the engines agreed (see run_and_show)."""
    shown = take_shown(options, chosen.cell, chosen.settings.get("reset_after", True))
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
    read = {
        "PATH": loaded.path,
        "--input": options["input_path"] and str(options["input_path"]),
        "--layer-input": options["layer_input"] and str(options["layer_input"]),
        "--initial-state": options["initial_state"] and str(options["initial_state"]),
    }
    return run_and_show(spec, data.x, data.weights, data.initial_state, data.mask, shown, read)


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
