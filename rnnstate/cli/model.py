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
    Gates,
    HeatmapOption,
    InitialState,
    InputPath,
    Json,
    LayerInputPath,
    LayerName,
    Layout,
    LayoutName,
    ModelPath,
    Only,
    Output,
    PlotPath,
    SaveWeights,
    Seed,
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
}


@app.command(
    "model",
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate model docs/example/sentiment.keras              # its recurrent layers",
        "rnnstate model docs/example/sentiment.keras --layer lstm --input docs/example/reviews.npy",
        "rnnstate model docs/example/sentiment.keras --layer 0 --input docs/example/reviews.npy "
        "--only 1 --gates --engine numpy",
    ),
)
def model_command(
    path: ModelPath,
    layer: LayerName = None,
    call: CallNumber = None,
    steps: Steps = None,
    batch: Batch = None,
    seed: Seed = None,
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
    )
    read = {
        "PATH": loaded.path,
        "--input": options["input_path"] and str(options["input_path"]),
        "--layer-input": options["layer_input"] and str(options["layer_input"]),
        "--initial-state": options["initial_state"] and str(options["initial_state"]),
    }
    return run_and_show(spec, data.x, data.weights, data.initial_state, data.mask, shown, read)


def model_layer_data(loaded, chosen, input_path, layer_input, state_path, call=None):
    """What the model's layer `chosen` runs on (models.LayerData): the model's input run
    through the layers before it (`input_path`) up to its call number `call` (None: 0), the
    layer's own input, or none (the seed's); initial states from `state_path` if given."""
    from rnnstate import models
    from rnnstate.data import read_initial_state, read_input, read_model_input
    from rnnstate.spec import ModelSource

    if input_path and layer_input:
        raise SpecError("--layer-input", "give --input (the model's) or --layer-input, not both")
    x = mask = states = mask_from = None
    if call is not None and not input_path:
        raise SpecError("--call", "--call picks which call's input --input gives the layer; "
                        "give --input (the model's input)")  # fmt: skip
    if call is not None and call >= chosen.calls:
        raise SpecError("--call", f"layer {chosen.path!r} is called {chosen.calls} time"
                        f"{'s' if chosen.calls > 1 else ''} by the model: --call 0 to "
                        f"{chosen.calls - 1}")  # fmt: skip
    if input_path:
        input_name = str(input_path)
        inputs = models.model_inputs(loaded, read_model_input(input_name), input_name)
        with model_progress(chosen, inputs[0].shape[0]) as progress:
            received = models.layer_input(loaded, chosen, inputs, input_name, progress, call or 0)
        x, mask, states = received.x, received.mask, received.initial_state
        mask_from = received.mask_from
        input_from = f"{input_name}, through the model's layers before it"
        if chosen.calls > 1:
            input_from += (
                f" (the layer is shared: its call {call or 0} of {chosen.calls} in the model; "
                "--call K picks another)"
            )
        if states is not None:
            input_from += "; initial states from the model"
    elif layer_input:
        input_name = str(layer_input)
        x = read_input(input_name)
        input_from = f"{input_name}, as the layer's own input"
    else:
        input_name, input_from = "", "drawn from the seed (give --input for the model's)"
    if state_path is not None:
        states = read_initial_state(str(state_path))
    source = ModelSource(loaded.path, chosen.path, input_from, mask_from, chosen.unused, x is None)
    return models.LayerData(
        chosen, models.layer_weights(chosen), x, mask, states, source, input_name,
        str(state_path or "the model's initial states"),
    )  # fmt: skip


@contextlib.contextmanager
def model_progress(layer, sequences: int) -> Iterator:
    """A progress callback (done, total) for the layers before `layer` when stderr is a
    terminal and the input is more than one call's worth of sequences."""
    from rnnstate.models import SEQUENCES_PER_CALL

    if not sys.stderr.isatty() or sequences <= SEQUENCES_PER_CALL:
        yield None
        return
    with terminal_progress() as display:
        task = display.add_task(f"layers before {layer.path}", total=sequences)
        yield lambda done, total: display.update(task, completed=done)
