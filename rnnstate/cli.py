"""The command line: one command per cell. Options -> Spec -> run -> render, then exit.

Nothing here computes. numpy, rich's renderers and the engines are imported only when a run
starts (TensorFlow only by the keras engine), so `rnnstate --help` stays fast.
"""

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Annotated

import typer
from typer.core import TyperGroup

from rnnstate import __version__
from rnnstate.budget import ensure_fits, expected_seconds
from rnnstate.engines import Progress
from rnnstate.errors import ExitCode, InputError, NumericError, SpecError
from rnnstate.spec import MAX_SEED, Spec

# Typer's (click's) base of every usage error, found without importing click's private modules.
ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class OneLineErrors(TyperGroup):
    """Typer's command group, with each usage error as one line on stderr (exit 2):

    rnnstate lstm: error: Invalid value for '-T' / '--steps': 0 is not in the range x>=1.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # plain `rnnstate`: the help
                typer.echo(error.format_message())
                sys.exit(ExitCode.OK)
            context = getattr(error, "ctx", None)
            where = context.command_path if context else prog_name or "rnnstate"
            typer.echo(f"{where}: error: {error.format_message()} (see '{where} --help')", err=True)
            sys.exit(error.exit_code)
        if code == ExitCode.INTERRUPTED:  # end now: TensorFlow may still run in a worker thread
            sys.stdout.flush()
            os._exit(ExitCode.INTERRUPTED)
        sys.exit(code or 0)


app = typer.Typer(
    cls=OneLineErrors,
    help="Run a Keras recurrent layer and show what it returns: o, h and (LSTM) c.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Steps = Annotated[
    int | None,
    typer.Option("-T", "--steps", min=1, show_default="8, or the input's", help="T: time steps."),
]
Features = Annotated[
    int | None,
    typer.Option(
        "-D", "--features", min=1, show_default="2, or the input's", help="D: features per step."
    ),
]
Units = Annotated[
    int | None,
    typer.Option(
        "-M", "--units", min=1, show_default="3, or the weights'", help="M: units of the layer."
    ),
]
Batch = Annotated[
    int | None,
    typer.Option(
        "-N", "--batch", min=1, show_default="1, or the input's", help="N: sequences in a batch."
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(
        "--seed",
        min=0,
        max=MAX_SEED,
        show_default="drawn at random and shown",
        help="Seed for the weights and the input; the same seed gives the same numbers.",
    ),
]
Sequences = Annotated[
    bool,
    typer.Option(
        "--sequences/--no-sequences",
        help="Keras return_sequences: o holds every step (N, T, M) instead of the last (N, M).",
    ),
]
Bias = Annotated[
    bool,
    typer.Option("--bias/--no-bias", help="Keras use_bias, for weights drawn from the seed."),
]
InputPath = Annotated[
    str | None,
    typer.Option(
        "--input",
        metavar="PATH",
        help="Input x from .npy, .npz, .csv or .json (- reads JSON from stdin); shape (T, D) "
        "or (N, T, D).",
    ),
]
WeightsPath = Annotated[
    str | None,
    typer.Option(
        "--weights",
        metavar="PATH",
        help="Weights from an .npz or .safetensors file, in Keras's layout (kernel, "
        "recurrent_kernel, bias) or PyTorch's state dict (weight_ih_l0, ...): docs/pytorch.md.",
    ),
]
SaveWeights = Annotated[
    str | None,
    typer.Option(
        "--save-weights", metavar="PATH", help="Write the weights used to an .npz or .safetensors."
    ),
]


class LayoutName(StrEnum):
    """The --layout choices: whose names and shapes --save-weights writes."""

    keras = "keras"
    torch = "torch"


Layout = Annotated[
    LayoutName,
    typer.Option(
        "--layout",
        help="--save-weights in Keras's layout or as PyTorch's state dict (loads with "
        "load_state_dict(strict=True)).",
    ),
]
Prefix = Annotated[
    str | None,
    typer.Option(
        "--prefix",
        metavar="NAME",
        help="In a PyTorch state dict of a whole model: the recurrent layer's key prefix, "
        "e.g. encoder.rnn.",
    ),
]
TorchLayer = Annotated[
    int | None,
    typer.Option(
        "--torch-layer",
        metavar="K",
        min=0,
        show_default="0",
        help="In a stacked PyTorch layer (num_layers > 1): use layer K.",
    ),
]
Output = Annotated[
    str | None,
    typer.Option("--output", metavar="PATH", help="Write the result to a .json or .npz file."),
]
Only = Annotated[
    int | None,
    typer.Option("--only", metavar="I", min=0, help="Show only sequence I of the batch."),
]
Backwards = Annotated[
    bool,
    typer.Option("--backwards", help="Keras go_backwards: read the steps from last to first."),
]
BidirectionalOption = Annotated[
    bool,
    typer.Option(
        "--bidirectional",
        help="Keras Bidirectional: a forward and a backward copy; states h_fw (c_fw) h_bw (c_bw).",
    ),
]


class MergeMode(StrEnum):
    """The --merge choices: Keras Bidirectional's merge_mode (none keeps the halves apart)."""

    concat = "concat"
    sum = "sum"
    mul = "mul"
    ave = "ave"
    none = "none"


Merge = Annotated[
    MergeMode | None,
    typer.Option(
        "--merge", show_default="concat", help="How --bidirectional merges the two halves of o."
    ),
]
MaskValue = Annotated[
    float | None,
    typer.Option(
        "--mask-value",
        metavar="V",
        help="Keras Masking: a step whose features all equal V is skipped.",
    ),
]
InitialState = Annotated[
    str | None,
    typer.Option(
        "--initial-state",
        metavar="PATH",
        help="Start from the states in an .npz: h (and c), or h_fw c_fw h_bw c_bw; each (N, M).",
    ),
]
ResetAfter = Annotated[
    bool,
    typer.Option(
        "--reset-after/--reset-before",
        help="Keras reset_after: apply the reset gate after the recurrent product.",
    ),
]

ActivationOption = Annotated[
    str,
    typer.Option(
        "--activation",
        metavar="NAME",
        help="Keras activation, for the candidate (LSTM g and tanh(c), GRU h_hat, SimpleRNN h): "
        "tanh, relu, linear, elu, gelu, ... (docs/concepts.md lists them).",
    ),
]
RecurrentActivation = Annotated[
    str,
    typer.Option(
        "--recurrent-activation",
        metavar="NAME",
        help="Keras recurrent_activation, for the gates: sigmoid, hard_sigmoid, ...",
    ),
]
UnitForgetBias = Annotated[
    bool,
    typer.Option(
        "--unit-forget-bias/--no-unit-forget-bias",
        help="Keras unit_forget_bias: drawn weights start the forget gate's bias at 1.",
    ),
]


class EngineName(StrEnum):
    """The --engine choices."""

    keras = "keras"
    numpy = "numpy"
    torch = "torch"


EngineOption = Annotated[
    EngineName,
    typer.Option(
        "--engine",
        help="keras runs the real Keras layer; numpy runs Keras's equations without TensorFlow; "
        "torch runs PyTorch's nn.LSTM / nn.GRU / nn.RNN on the same weights.",
    ),
]
Gates = Annotated[
    bool,
    typer.Option(
        "--gates",
        help="Also show the gates and states at every step (from the numpy engine; checked "
        "against Keras when the engine is keras).",
    ),
]
Check = Annotated[
    bool,
    typer.Option(
        "--check",
        help="Run both engines on the same weights and input and compare o, h and c; "
        "exit 3 if they differ by more than 1e-5.",
    ),
]
ExplainStep = Annotated[
    int | None,
    typer.Option(
        "--explain",
        metavar="STEP",
        help="Work out input step t=STEP with the real numbers: every term of every gate, the "
        "state update, and the check against o and h.",
    ),
]
ExplainUnit = Annotated[
    int | None,
    typer.Option(
        "--unit",
        metavar="U",
        help="With --explain: write unit U's dot products out term by term.",
    ),
]


class Half(StrEnum):
    """The --direction choices: a half of a bidirectional layer."""

    fw = "fw"
    bw = "bw"


DirectionOption = Annotated[
    Half | None,
    typer.Option(
        "--direction",
        show_default="both",
        help="With --explain and --bidirectional: explain the forward or the backward half.",
    ),
]
PlotPath = Annotated[
    str | None,
    typer.Option(
        "--plot",
        metavar="PATH",
        help="Draw the run as a figure: .png, .svg or .pdf (x, o, states, gates, units in time).",
    ),
]
UnitsShown = Annotated[
    str | None,
    typer.Option(
        "--units-shown",
        metavar="U,U,...",
        show_default="the first four",
        help="With --plot: the units drawn through time, e.g. 0,5,9.",
    ),
]
HeatmapOption = Annotated[
    bool,
    typer.Option(
        "--heatmap",
        help="Draw x, o and (with --gates) the trace as heatmaps in the terminal instead of "
        "number tables: time along the width, long runs binned to fit.",
    ),
]
Json = Annotated[
    bool, typer.Option("--json", help="Print one JSON document (docs/json.md) instead of tables.")
]


def version_callback(show: bool) -> None:
    """Print the version and exit, for --version."""
    if show:
        typer.echo(f"rnnstate {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """Run a Keras recurrent layer and show what it returns: o, h and (LSTM) c."""


def write_stdout(pieces: Iterable[bytes]) -> None:
    """Write bytes to stdout; a reader that stopped early (`| head`) ends the run quietly."""
    try:
        sys.stdout.buffer.writelines(pieces)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(ExitCode.OK) from None


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn rnnstate's errors into one-line messages and documented exit codes, never tracebacks."""
    try:
        yield
    except SpecError as error:
        raise typer.BadParameter(str(error), param_hint=f"'{error.option}'") from None
    except (InputError, NumericError) as error:
        typer.echo(f"rnnstate: error: {error}", err=True)
        raise typer.Exit(ExitCode.BAD_DATA) from None
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(ExitCode.OK) from None


LONG_RUN_SECONDS = 2.0  # runs expected to take longer show a progress bar on a terminal


@contextlib.contextmanager
def progress_bar(spec: Spec) -> Iterator[Progress | None]:
    """A progress callback drawing a bar on stderr for a long run when stderr is a terminal.

    The bar writes to its own copy of file descriptor 2, so it still reaches the terminal while
    the keras engine points fd 2 at /dev/null to hide TensorFlow's start-up lines.
    """
    if not sys.stderr.isatty() or expected_seconds(spec) < LONG_RUN_SECONDS:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress as ProgressDisplay

    with (
        os.fdopen(os.dup(2), "w") as terminal,
        ProgressDisplay(console=Console(file=terminal), transient=True) as display,
    ):
        tasks: dict[str, int] = {}

        def report(engine: str, steps_done: int) -> None:
            if engine not in tasks:
                tasks[engine] = display.add_task(f"{engine} engine", total=spec.steps)
            display.update(tasks[engine], completed=steps_done)

        yield report


def parse_units(text: str | None) -> list[int] | None:
    """--units-shown "0,5,9" as [0, 5, 9]; SpecError for anything else."""
    if text is None:
        return None
    try:
        units = [int(part) for part in text.split(",")]
    except ValueError:
        raise SpecError(
            "--units-shown", f"expected unit numbers separated by commas, got {text!r}"
        ) from None
    if not units or min(units) < 0:
        raise SpecError("--units-shown", f"expected unit numbers from 0, got {text!r}")
    return units


def inspect(cell: str, options: dict) -> None:
    """Read the files, run the layer, write the files asked for, print tables or JSON, and exit
    3 when --check found the engines apart. `options` are the command's parameters by name."""
    from rich.console import Console

    from rnnstate.api import make_spec, run_spec
    from rnnstate.data import read_initial_state, read_input, read_weights
    from rnnstate.explain import explain
    from rnnstate.render import explain as explain_render
    from rnnstate.render import json as json_render
    from rnnstate.render import table as table_render
    from rnnstate.save import (
        OUTPUT_FORMATS,
        PLOT_FORMATS,
        WEIGHT_FORMATS,
        output_format,
        save_plot,
        save_result,
        save_weights,
    )

    input_path, weights_path = options.pop("input_path"), options.pop("weights_path")
    state_path, merge = options.pop("initial_state"), options.pop("merge")
    save_weights_path, output_path = options.pop("save_weights"), options.pop("output")
    only, as_json = options.pop("only"), options.pop("json")
    direction = options.pop("direction")
    plot_path, units_text = options.pop("plot"), options.pop("units_shown")
    as_heatmap = options.pop("heatmap")
    layout, prefix, torch_layer = (
        options.pop("layout").value,
        options.pop("prefix"),
        options.pop("torch_layer"),
    )
    with user_errors():
        if save_weights_path:
            output_format(save_weights_path, "--save-weights", WEIGHT_FORMATS)
        if layout == "torch" and not save_weights_path:
            raise SpecError("--layout", "--layout says how --save-weights writes; give both")
        if layout == "torch" and cell == "gru" and not options.get("reset_after", True):
            raise SpecError(
                "--layout", "PyTorch's GRU is Keras's reset_after variant: a GRU with "
                "--reset-before has no PyTorch layout",
            )  # fmt: skip
        if output_path:
            output_format(output_path, "--output", OUTPUT_FORMATS)
        if plot_path:
            output_format(plot_path, "--plot", PLOT_FORMATS)
        units_shown = parse_units(units_text)
        if merge is not None and not options["bidirectional"]:
            raise SpecError("--merge", "--merge applies to --bidirectional only")
        x = read_input(input_path) if input_path else None
        reset_after, bidirectional = options.get("reset_after", True), options["bidirectional"]
        weights = (
            read_weights(weights_path, cell, reset_after, bidirectional, prefix, torch_layer)
            if weights_path
            else None
        )
        states = read_initial_state(state_path) if state_path else None
        spec = make_spec(
            cell,
            x=x,
            weights=weights,
            initial_state=states,
            input_name=input_path or "",
            weights_name=weights_path or "",
            state_name=state_path or "",
            merge=(merge or MergeMode.concat).value,
            return_sequences=options.pop("sequences"),
            use_bias=options.pop("bias"),
            engine=options.pop("engine").value,
            direction=None if direction is None else direction.value,
            **options,
        )
        if only is not None and only >= spec.batch:
            raise SpecError(
                "--only", f"{only} is not a sequence: N={spec.batch} (0 to {spec.batch - 1})"
            )
        if units_shown and max(units_shown) >= spec.units:
            raise SpecError(
                "--units-shown", f"unit {max(units_shown)} is not in the layer: M={spec.units}"
            )
        ensure_fits(spec, as_json)
        with progress_bar(spec) as progress:
            result = run_spec(spec, x, weights, states, progress)
        if save_weights_path:
            save_weights(save_weights_path, result.weights, layout, cell, spec.reset_after)
        if output_path:
            save_result(output_path, result)
        if plot_path:
            save_plot(plot_path, result, only, units_shown)
        explanations = explain(result, only or 0) if spec.explain is not None else None
        if as_json:
            write_stdout(json_render.pieces(result, explanations))
        elif as_heatmap:
            from rnnstate.render import heatmap

            Console(highlight=False).print(heatmap.render(result, only))
        elif explanations is not None:
            Console(highlight=False).print(
                table_render.header(result), explain_render.render(explanations)
            )
        else:
            Console(highlight=False).print(table_render.render(result, only))
            sys.stdout.flush()  # a reader that stopped early is seen here, inside user_errors
    if spec.check and not result.cross_check.agree:
        raise typer.Exit(ExitCode.CHECK_FAILED)


@app.command()
def lstm(
    steps: Steps = None,
    features: Features = None,
    units: Units = None,
    batch: Batch = None,
    seed: Seed = None,
    sequences: Sequences = False,
    activation: ActivationOption = "tanh",
    recurrent_activation: RecurrentActivation = "sigmoid",
    unit_forget_bias: UnitForgetBias = True,
    bias: Bias = True,
    backwards: Backwards = False,
    bidirectional: BidirectionalOption = False,
    merge: Merge = None,
    mask_value: MaskValue = None,
    initial_state: InitialState = None,
    engine: EngineOption = EngineName.keras,
    gates: Gates = False,
    check: Check = False,
    explain: ExplainStep = None,
    unit: ExplainUnit = None,
    direction: DirectionOption = None,
    input_path: InputPath = None,
    weights_path: WeightsPath = None,
    prefix: Prefix = None,
    torch_layer: TorchLayer = None,
    save_weights: SaveWeights = None,
    layout: Layout = LayoutName.keras,
    output: Output = None,
    plot: PlotPath = None,
    units_shown: UnitsShown = None,
    only: Only = None,
    heatmap: HeatmapOption = False,
    json: Json = False,
) -> None:
    """Keras LSTM: output o, final hidden state h and final cell state c."""
    inspect("lstm", locals())


@app.command()
def gru(
    steps: Steps = None,
    features: Features = None,
    units: Units = None,
    batch: Batch = None,
    seed: Seed = None,
    sequences: Sequences = False,
    activation: ActivationOption = "tanh",
    recurrent_activation: RecurrentActivation = "sigmoid",
    reset_after: ResetAfter = True,
    bias: Bias = True,
    backwards: Backwards = False,
    bidirectional: BidirectionalOption = False,
    merge: Merge = None,
    mask_value: MaskValue = None,
    initial_state: InitialState = None,
    engine: EngineOption = EngineName.keras,
    gates: Gates = False,
    check: Check = False,
    explain: ExplainStep = None,
    unit: ExplainUnit = None,
    direction: DirectionOption = None,
    input_path: InputPath = None,
    weights_path: WeightsPath = None,
    prefix: Prefix = None,
    torch_layer: TorchLayer = None,
    save_weights: SaveWeights = None,
    layout: Layout = LayoutName.keras,
    output: Output = None,
    plot: PlotPath = None,
    units_shown: UnitsShown = None,
    only: Only = None,
    heatmap: HeatmapOption = False,
    json: Json = False,
) -> None:
    """Keras GRU: output o and final hidden state h."""
    inspect("gru", locals())


@app.command()
def rnn(
    steps: Steps = None,
    features: Features = None,
    units: Units = None,
    batch: Batch = None,
    seed: Seed = None,
    sequences: Sequences = False,
    activation: ActivationOption = "tanh",
    bias: Bias = True,
    backwards: Backwards = False,
    bidirectional: BidirectionalOption = False,
    merge: Merge = None,
    mask_value: MaskValue = None,
    initial_state: InitialState = None,
    engine: EngineOption = EngineName.keras,
    gates: Gates = False,
    check: Check = False,
    explain: ExplainStep = None,
    unit: ExplainUnit = None,
    direction: DirectionOption = None,
    input_path: InputPath = None,
    weights_path: WeightsPath = None,
    prefix: Prefix = None,
    torch_layer: TorchLayer = None,
    save_weights: SaveWeights = None,
    layout: Layout = LayoutName.keras,
    output: Output = None,
    plot: PlotPath = None,
    units_shown: UnitsShown = None,
    only: Only = None,
    heatmap: HeatmapOption = False,
    json: Json = False,
) -> None:
    """Keras SimpleRNN: output o and final hidden state h."""
    inspect("rnn", locals())


def main(prog_name: str = "rnnstate") -> None:
    """Entry point of the `rnnstate` console script."""
    app(prog_name=prog_name)
