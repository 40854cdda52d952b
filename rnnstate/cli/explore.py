"""rnnstate explore: its options read and checked, then the app (rnnstate.explore) opened on a
terminal.
"""

import inspect
import sys

import typer

from rnnstate.cli.app import GroupedHelp, app, examples
from rnnstate.cli.show import check_only
from rnnstate.cli.streams import user_errors
from rnnstate.errors import ExitCode, SpecError
from rnnstate.options import (
    ActivationOption,
    Backwards,
    Batch,
    Bias,
    BidirectionalOption,
    CellName,
    CellOption,
    CellWord,
    EngineName,
    EngineOption,
    ExplainStep,
    ExploreHeatmap,
    ExploreLayer,
    ExploreMemory,
    Features,
    InitialState,
    InputPath,
    LayerInputPath,
    MaskValue,
    Merge,
    MergeMode,
    ModelOption,
    Only,
    Prefix,
    RecurrentActivation,
    ResetAfter,
    Seed,
    Sequences,
    Steps,
    TorchLayer,
    UnitForgetBias,
    Units,
    WeightsPath,
)


@app.command(
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate explore                              # an LSTM; change anything on the left",
        "rnnstate explore gru -T 50 -M 8 --engine numpy          # answers every key at once",
        "rnnstate explore --input x.npy --weights w.npz          # your data moves",
        "rnnstate explore --model docs/example/sentiment.keras --layer lstm "
        "--input docs/example/reviews.npy",
    ),
)
def explore(
    cell_word: CellWord = None,
    cell: CellOption = None,
    steps: Steps = None,
    features: Features = None,
    units: Units = None,
    batch: Batch = None,
    seed: Seed = None,
    sequences: Sequences = None,
    activation: ActivationOption = "tanh",
    recurrent_activation: RecurrentActivation = "sigmoid",
    reset_after: ResetAfter = True,
    unit_forget_bias: UnitForgetBias = True,
    bias: Bias = True,
    backwards: Backwards = False,
    bidirectional: BidirectionalOption = False,
    merge: Merge = None,
    mask_value: MaskValue = None,
    initial_state: InitialState = None,
    engine: EngineOption = EngineName.keras,
    input_path: InputPath = None,
    weights_path: WeightsPath = None,
    prefix: Prefix = None,
    torch_layer: TorchLayer = None,
    model_path: ModelOption = None,
    layer: ExploreLayer = None,
    layer_input: LayerInputPath = None,
    heatmap: ExploreHeatmap = False,
    memory: ExploreMemory = False,
    explain: ExplainStep = None,
    only: Only = None,
) -> None:
    """Change a setting, see the states change at once: a full-screen terminal app."""
    from rnnstate.api import draw_seed

    options = locals()
    with user_errors():
        check_explore_options(options)
        if not is_terminal():
            typer.echo("rnnstate explore: error: explore needs a terminal (stdin and stdout are "
                       "not one: a pipe or a file)", err=True)  # fmt: skip
            raise typer.Exit(ExitCode.BAD_USAGE)
        seed = draw_seed() if seed is None else seed
        if model_path is not None:
            settings, data = explore_model(options, seed)
            open_explorer(settings, data, explore_view(options))
            return
        from rnnstate.explore.settings import Settings, direction_name

        given = {"steps": steps, "features": features, "units": units, "batch": batch}
        settings = Settings(
            cell=(cell_word or cell or CellName.lstm).value,
            **{name: value for name, value in given.items() if value is not None},
            seed=seed,
            return_sequences=True if sequences is None else sequences,
            direction=direction_name(bidirectional, backwards),
            merge=(merge or MergeMode.concat).value,
            activation=activation,
            recurrent_activation=recurrent_activation,
            reset_after=reset_after,
            use_bias=bias,
            unit_forget_bias=unit_forget_bias,
            mask_value=mask_value,
            engine=engine.value,
            input_path=None if input_path is None else str(input_path),
            weights_path=None if weights_path is None else str(weights_path),
            prefix=prefix,
            torch_layer=torch_layer,
            initial_state_path=None if initial_state is None else str(initial_state),
            sequence=only or 0,
        )
        data = explore_files(settings)
        settings = settings.sized(data)
        check_only(only, settings.batch)
        open_explorer(settings, data, explore_view(options))


def open_explorer(settings, data, view: tuple[str, int]) -> None:
    """Run the app on the terminal until it ends; exit with its code (0, or 130 and 143 when
    Ctrl-C or SIGTERM ended it)."""
    from rnnstate.explore.app import Explorer
    from rnnstate.explore.runner import spec_of
    from rnnstate.explore.terminal import run

    spec_of(settings, data, settings.engine, traced=False)  # settings that cannot run: exit 2
    code = run(Explorer(settings, data, view))
    if code:
        raise typer.Exit(code)


def explore_view(options: dict) -> tuple[str, int]:
    """The view explore opens on and its step cursor: --heatmap, --explain T, --memory, or the
    tables."""
    if options["explain"] is not None:
        return "explain", options["explain"]
    if options["memory"]:
        return "memory", 0
    return ("heatmap" if options["heatmap"] else "tables"), 0


# explore's options that set the layer (a saved model's layer has its own), by parameter name
LAYER_OPTIONS = {
    "cell_word": "CELL",
    "cell": "--cell",
    "features": "-D",
    "units": "-M",
    "activation": "--activation",
    "recurrent_activation": "--recurrent-activation",
    "reset_after": "--reset-before",
    "backwards": "--backwards",
    "bidirectional": "--bidirectional",
    "merge": "--merge",
    "unit_forget_bias": "--no-unit-forget-bias",
    "bias": "--no-bias",
    "mask_value": "--mask-value",
    "weights_path": "--weights",
    "prefix": "--prefix",
    "torch_layer": "--torch-layer",
}


def is_terminal() -> bool:
    """Whether stdin and stdout are both a terminal (explore needs one)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def check_explore_options(options: dict) -> None:
    """SpecError for explore's options that do not go together."""
    if options["cell_word"] and options["cell"] and options["cell_word"] != options["cell"]:
        raise SpecError("--cell", f"two cells given: {options['cell_word'].value} and --cell "
                        f"{options['cell'].value}; give one")  # fmt: skip
    if options["engine"] == EngineName.torch:
        raise SpecError("--engine", "explore runs the numpy or the keras engine")
    if options["backwards"] and options["bidirectional"]:
        raise SpecError("--backwards", "--backwards and --bidirectional do not combine")
    given = {"--heatmap": options["heatmap"], "--explain": options["explain"] is not None,
             "--memory": options["memory"]}  # fmt: skip
    views = [option for option, asked in given.items() if asked]
    if len(views) > 1:
        raise SpecError(views[-1], f"explore opens one view: {views[0]} or {views[1]}, not both")
    for name, option in (("input_path", "--input"), ("layer_input", "--layer-input")):
        if str(options[name]) == "-":
            raise SpecError(option, "explore reads its keys from stdin: give a file, not -")
    if options["model_path"] is None:
        for name, option in (("layer", "--layer"), ("layer_input", "--layer-input")):
            if options[name] is not None:
                raise SpecError(option, "goes with a saved model: give --model PATH too")
        return
    defaults = inspect.signature(explore).parameters  # each option's default, defined once
    for name, option in LAYER_OPTIONS.items():
        if options[name] != defaults[name].default:
            raise SpecError(option, "the model's layer has its own (--model): leave it out")


def explore_model(options: dict, seed: int) -> tuple:
    """rnnstate explore --model PATH --layer NAME: (the explorer's settings, its data) for a
    saved model's layer, with its settings and trained weights, on the model's input run up to
    it (--input), its own input (--layer-input) or input drawn from the seed."""
    from rnnstate import models
    from rnnstate.cli.model import model_layer_data  # here: `model` is listed after explore
    from rnnstate.explore.settings import Settings

    path, name = str(options["model_path"]), options["layer"]
    if sys.stderr.isatty():  # TensorFlow and the model take seconds before the app opens
        typer.echo(f"rnnstate explore: loading {path} ...", err=True)
    loaded = models.load(path)
    layers = models.recurrent_layers(loaded)
    if name is None:
        raise SpecError("--layer", f"name the layer of {path} to explore; its recurrent "
                        f"layers: {models.listed(layers)}")  # fmt: skip
    chosen = models.find_layer(layers, name, path)
    data = model_layer_data(loaded, chosen, options["input_path"], options["layer_input"],
                            options["initial_state"])  # fmt: skip
    settings = Settings.of_layer(
        data,
        steps=options["steps"],
        batch=options["batch"],
        seed=seed,
        return_sequences=options["sequences"],
        engine=options["engine"].value,
        model_path=path,
        input_path=options["input_path"] and str(options["input_path"]),
        layer_input_path=options["layer_input"] and str(options["layer_input"]),
        initial_state_path=options["initial_state"] and str(options["initial_state"]),
        sequence=options["only"],
    )
    check_only(options["only"], settings.batch)
    return settings, data


def explore_files(settings):
    """The files of rnnstate explore, read: explore.UserData (None where not given)."""
    from rnnstate.data import read_initial_state, read_input, read_weights
    from rnnstate.explore.settings import UserData

    x = read_input(settings.input_path) if settings.input_path else None
    weights = states = None
    if settings.weights_path:
        weights = read_weights(settings.weights_path, settings.cell, settings.reset_after,
                               settings.direction == "bidirectional", settings.prefix,
                               settings.torch_layer)  # fmt: skip
    if settings.initial_state_path:
        states = read_initial_state(settings.initial_state_path)
    return UserData(x, weights, states)
