"""The command line: one command per cell. Options -> Spec -> run -> render, then exit.

Nothing here computes. numpy, rich's renderers and the engines are imported only when a run
starts (TensorFlow only by the keras engine), so `rnnstate --help` stays fast.
"""

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from rnnstate import __version__
from rnnstate.budget import ensure_fits, expected_seconds
from rnnstate.engines import Progress
from rnnstate.errors import ExitCode, InputError, NumericError, SpecError, Terminated
from rnnstate.options import (
    GROUPS,
    HELP,
    ActivationOption,
    Backwards,
    Batch,
    Bias,
    BidirectionalOption,
    CellName,
    CellOption,
    Check,
    DirectionOption,
    EngineName,
    EngineOption,
    ExplainStep,
    ExplainUnit,
    Features,
    Gates,
    HeatmapOption,
    InitialState,
    InputPath,
    Json,
    LayerInputPath,
    LayerName,
    Layout,
    LayoutName,
    MaskValue,
    Merge,
    MergeMode,
    ModelOption,
    ModelPath,
    Only,
    Output,
    PlotPath,
    Prefix,
    RecurrentActivation,
    ResetAfter,
    SaveWeights,
    Seed,
    Sequences,
    Steps,
    TorchLayer,
    UnitForgetBias,
    Units,
    UnitsShown,
    WeightsPath,
)
from rnnstate.spec import Spec

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
        flush_stdout()
        if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
            os._exit(code)  # end now: TensorFlow may still run in a worker thread
        sys.exit(code or 0)


class GroupedHelp(TyperCommand):
    """A cell command whose help lists its options under the headings of rnnstate.options
    (GROUPS order, the same in every command), then its examples as written."""

    def format_options(self, ctx, formatter) -> None:
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                groups.setdefault(getattr(param, "rich_help_panel", None) or HELP, []).append(
                    record
                )
        for name in GROUPS:
            if name in groups:
                with formatter.section(name):
                    formatter.write_dl(groups[name])

    def format_epilog(self, ctx, formatter) -> None:
        if self.epilog:
            formatter.write_paragraph()
            formatter.write_text(self.epilog)


def examples(*lines: str) -> str:
    """A command's examples, kept as written (click's \\b stops it rewrapping them)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


app = typer.Typer(
    cls=OneLineErrors,
    help="Run a Keras recurrent layer and show what it returns: o, h and (LSTM) c. "
    "Docs: README.md and docs/ (concepts, files, models, pictures, explore, pytorch, json, cli).",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


def flush_stdout() -> None:
    """Flush stdout now, so a full disk or a closed reader is reported here, in one line,
    instead of by the interpreter's last flush."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    except OSError as error:
        stdout_failed(error)
        sys.exit(ExitCode.BAD_DATA)


def stdout_failed(error: OSError) -> None:
    """Say in one line that stdout could not be written, and stop writing to it."""
    silence_stdout()
    typer.echo(f"rnnstate: error: cannot write to stdout: {error.strerror or error}", err=True)


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
    except Terminated:
        raise typer.Exit(ExitCode.TERMINATED) from None
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(ExitCode.OK) from None
    except OSError as error:  # files are InputErrors by now: this is stdout (a full disk, ...)
        stdout_failed(error)
        raise typer.Exit(ExitCode.BAD_DATA) from None


LONG_RUN_SECONDS = 2.0  # runs expected to take longer show a progress bar on a terminal
ANNOUNCED_SECONDS = 60.0  # runs expected to take longer say so first, on stderr


def duration_words(seconds: float) -> str:
    """About 40 s, 12 min, 3 h or 2 days."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return (
                f"{seconds / size:.0f} {unit}"
                if seconds >= 10 * size
                else f"{seconds / size:.1f} {unit}"
            )
    return f"{seconds:.0f} s"


def announce_long_run(spec: Spec) -> None:
    """One line on stderr, terminal or not, before a run expected to take over a minute."""
    seconds = expected_seconds(spec)
    if seconds > ANNOUNCED_SECONDS:
        typer.echo(
            f"rnnstate: this run should take about {duration_words(seconds)} on this machine "
            f"(T={spec.steps}, N={spec.batch}, M={spec.units}, {spec.engine} engine); "
            "Ctrl-C stops it",
            err=True,
        )


@contextlib.contextmanager
def progress_bar(spec: Spec) -> Iterator[Progress | None]:
    """A progress callback drawing a bar on stderr for a long run when stderr is a terminal.

    The bar writes to its own copy of file descriptor 2, so it still reaches the terminal while
    the keras engine points fd 2 at /dev/null to hide TensorFlow's start-up lines.
    """
    if not sys.stderr.isatty() or expected_seconds(spec) < LONG_RUN_SECONDS:
        yield None
        return
    with terminal_progress() as display:
        tasks: dict[str, int] = {}

        def report(engine: str, steps_done: int) -> None:
            if engine not in tasks:
                tasks[engine] = display.add_task(f"{engine} engine", total=spec.steps)
            display.update(tasks[engine], completed=steps_done)

        yield report


@contextlib.contextmanager
def terminal_progress() -> Iterator:
    """A rich progress display on the terminal, through its own copy of file descriptor 2."""
    from rich.console import Console
    from rich.progress import Progress as ProgressDisplay

    with (
        os.fdopen(os.dup(2), "w") as terminal,
        ProgressDisplay(console=Console(file=terminal), transient=True) as display,
    ):
        yield display


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


@dataclass(frozen=True)
class Shown:
    """What a run writes and shows, from the options: files, then the terminal's view."""

    save_weights: str | None
    layout: str
    output: str | None
    plot: str | None
    units_shown: list[int] | None
    only: int | None
    as_json: bool
    heatmap: bool


def take_shown(options: dict, cell: str, reset_after: bool) -> Shown:
    """Pop what to write and show from `options`, checking each file name's format first."""
    from rnnstate.save import OUTPUT_FORMATS, PLOT_FORMATS, WEIGHT_FORMATS, output_format

    paths = {}
    for name in ("save_weights", "output", "plot"):
        value = options.pop(name)
        paths[name] = None if value is None else str(value)  # Path -> str
    shown = Shown(
        paths["save_weights"],
        options.pop("layout").value,
        paths["output"],
        paths["plot"],
        parse_units(options.pop("units_shown")),
        options.pop("only"),
        options.pop("json"),
        options.pop("heatmap"),
    )
    if shown.save_weights:
        output_format(shown.save_weights, "--save-weights", WEIGHT_FORMATS)
    if shown.layout == "torch" and not shown.save_weights:
        raise SpecError("--layout", "--layout says how --save-weights writes; give both")
    if shown.layout == "torch" and cell == "gru" and not reset_after:
        raise SpecError(
            "--layout", "PyTorch's GRU is Keras's reset_after variant: a GRU with "
            "--reset-before has no PyTorch layout",
        )  # fmt: skip
    if shown.output:
        output_format(shown.output, "--output", OUTPUT_FORMATS)
    if shown.plot:
        output_format(shown.plot, "--plot", PLOT_FORMATS)
    return shown


def check_paths(shown: Shown, read: dict[str, str | None]) -> None:
    """Refuse a file to write named twice, or naming a file the run reads (`read`: paths by
    option), links resolved (exit 2); then refuse one that could not be written (exit 1)."""
    from rnnstate.save import check_writable

    written = {"--save-weights": shown.save_weights, "--output": shown.output, "--plot": shown.plot}
    seen: dict[str, str] = {}
    for option, path in [*read.items(), *written.items()]:
        if path is None or path == "-":
            continue
        key = os.path.realpath(path)
        if key in seen and option in written:
            raise SpecError(
                option, f"{path} is also the file of {seen[key]}; give each file its own path"
            )
        seen.setdefault(key, option)
    for path in written.values():
        if path is not None:
            check_writable(path)


def run_and_show(spec: Spec, x, weights, states, mask, shown: Shown, read: dict) -> bool:
    """Run the layer, write the files asked for (all or none), print tables or JSON; whether
    every engine agreed (always, without --check). x, weights, states: as read (None: drawn);
    mask (N, T); `read`: the paths of the files the run read, by option."""
    from rich.console import Console

    from rnnstate.api import run_spec
    from rnnstate.explain import explain
    from rnnstate.render import explain as explain_render
    from rnnstate.render import json as json_render
    from rnnstate.render import table as table_render
    from rnnstate.save import AllOrNothing, save_plot, save_result, save_weights

    only, units_shown = shown.only, shown.units_shown
    check_only(only, spec.batch)
    if units_shown and max(units_shown) >= spec.units:
        raise SpecError(
            "--units-shown", f"unit {max(units_shown)} is not in the layer: M={spec.units}"
        )
    check_paths(shown, read)
    ensure_fits(spec, shown.as_json, shown.output, shown.plot is not None)
    announce_long_run(spec)
    with progress_bar(spec) as progress:
        result = run_spec(spec, x, weights, states, progress, mask)
    with AllOrNothing() as files:
        if shown.save_weights:
            save_weights(shown.save_weights, result.weights, shown.layout, spec.cell,
                         spec.reset_after, files)  # fmt: skip
        if shown.output:
            save_result(shown.output, result, files)
        if shown.plot:
            save_plot(shown.plot, result, only, units_shown, files)
    explanations = explain(result, only or 0) if spec.explain is not None else None
    if shown.as_json:
        write_stdout(json_render.pieces(result, explanations))
    elif shown.heatmap:
        from rnnstate.render import heatmap

        Console(highlight=False).print(heatmap.render(result, only))
    elif explanations is not None:
        Console(highlight=False).print(
            table_render.header(result), explain_render.render(explanations)
        )
    else:
        Console(highlight=False).print(table_render.render(result, only))
        sys.stdout.flush()  # a reader that stopped early is seen here, inside user_errors
    return not spec.check or result.cross_check.agree


def inspect(cell: str, options: dict) -> None:
    """Read the files, run the layer, write the files asked for, print tables or JSON, and exit
    3 when --check found the engines apart. `options` are the command's parameters by name."""
    from rnnstate.api import make_spec
    from rnnstate.data import read_initial_state, read_input, read_weights

    for name in ("input_path", "weights_path", "initial_state"):
        options[name] = None if options[name] is None else str(options[name])  # Path -> str
    input_path, weights_path = options.pop("input_path"), options.pop("weights_path")
    state_path, merge = options.pop("initial_state"), options.pop("merge")
    direction = options.pop("direction")
    prefix, torch_layer = options.pop("prefix"), options.pop("torch_layer")
    with user_errors():
        reset_after, bidirectional = options.get("reset_after", True), options["bidirectional"]
        shown = take_shown(options, cell, reset_after)
        if merge is not None and not bidirectional:
            raise SpecError("--merge", "--merge applies to --bidirectional only")
        x = read_input(input_path) if input_path else None
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
            return_sequences=bool(options.pop("sequences")),
            use_bias=options.pop("bias"),
            engine=options.pop("engine").value,
            direction=None if direction is None else direction.value,
            **options,
        )
        read = {"--input": input_path, "--weights": weights_path, "--initial-state": state_path}
        agreed = run_and_show(spec, x, weights, states, None, shown, read)
    if not agreed:
        raise typer.Exit(ExitCode.CHECK_FAILED)


@app.command(
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate lstm --sequences --seed 0           # o at every step; h = o[t=7] marked",
        "rnnstate lstm --gates -T 4 --engine numpy    # the gates and c_t at every step",
        "rnnstate lstm --explain 3 --unit 0 --engine numpy   # step t=3 worked out",
        "rnnstate lstm --bidirectional --sequences --heatmap --engine numpy",
    ),
)
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


@app.command(
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate gru --seed 0 --json                 # one JSON document",
        "rnnstate gru --reset-before --check          # Keras reset_after=False, engines compared",
        "rnnstate gru --recurrent-activation hard_sigmoid --engine numpy --gates -T 4",
        "rnnstate gru --backwards --sequences --engine numpy   # which row is which step",
    ),
)
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


@app.command(
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate rnn -T 20 -D 4 -M 8 -N 2 --engine numpy   # 2 sequences of 20 steps",
        "rnnstate rnn --activation relu --gates --engine numpy",
        "rnnstate rnn --sequences --mask-value 0 --engine numpy -T 5",
    ),
)
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


@app.command(
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate explore                              # an LSTM; change anything on the left",
        "rnnstate explore --cell gru -T 50 -M 8 --engine keras   # Keras's numbers once loaded",
        "rnnstate explore --input x.npy --weights w.npz          # your data moves",
        "rnnstate explore --model docs/example/sentiment.keras --layer lstm "
        "--input docs/example/reviews.npy",
    ),
)
def explore(
    cell: CellOption = CellName.lstm,
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
    layer: LayerName = None,
    layer_input: LayerInputPath = None,
    heatmap: HeatmapOption = False,
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
            explore_model(options, seed)
            return
        from rnnstate.explore import Explorer, Settings, direction_name

        given = {"steps": steps, "features": features, "units": units, "batch": batch}
        settings = Settings(
            cell=cell.value,
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
        Explorer(settings, data, explore_view(options)).run()


def check_only(only: int | None, batch: int) -> None:
    """SpecError when --only names no sequence of the N=`batch` there are."""
    if only is not None and only >= batch:
        raise SpecError("--only", f"{only} is not a sequence: N={batch} (0 to {batch - 1})")


def explore_view(options: dict) -> tuple[str, int]:
    """The view explore opens on and its step cursor: --heatmap, --explain T, or the tables."""
    if options["heatmap"] and options["explain"] is not None:
        raise SpecError("--explain", "explore opens one view: --heatmap or --explain, not both")
    if options["explain"] is not None:
        return "explain", options["explain"]
    return ("heatmap" if options["heatmap"] else "tables"), 0


# explore's options that set the layer, and their defaults: a saved model's layer has its own
LAYER_OPTIONS = {
    "cell": ("--cell", CellName.lstm),
    "features": ("-D", None),
    "units": ("-M", None),
    "activation": ("--activation", "tanh"),
    "recurrent_activation": ("--recurrent-activation", "sigmoid"),
    "reset_after": ("--reset-before", True),
    "backwards": ("--backwards", False),
    "bidirectional": ("--bidirectional", False),
    "merge": ("--merge", None),
    "unit_forget_bias": ("--no-unit-forget-bias", True),
    "bias": ("--no-bias", True),
    "mask_value": ("--mask-value", None),
    "weights_path": ("--weights", None),
    "prefix": ("--prefix", None),
    "torch_layer": ("--torch-layer", None),
}


def is_terminal() -> bool:
    """Whether stdin and stdout are both a terminal (explore needs one)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def check_explore_options(options: dict) -> None:
    """SpecError for explore's options that do not go together."""
    if options["engine"] == EngineName.torch:
        raise SpecError("--engine", "explore runs the numpy or the keras engine")
    if options["backwards"] and options["bidirectional"]:
        raise SpecError("--backwards", "--backwards and --bidirectional do not combine")
    for name, option in (("input_path", "--input"), ("layer_input", "--layer-input")):
        if str(options[name]) == "-":
            raise SpecError(option, "explore reads its keys from stdin: give a file, not -")
    if options["model_path"] is None:
        for name, option in (("layer", "--layer"), ("layer_input", "--layer-input")):
            if options[name] is not None:
                raise SpecError(option, "goes with a saved model: give --model PATH too")
        return
    for name, (option, default) in LAYER_OPTIONS.items():
        if options[name] != default:
            raise SpecError(option, "the model's layer has its own (--model): leave it out")


def explore_model(options: dict, seed: int) -> None:
    """rnnstate explore --model PATH --layer NAME: the explorer on a saved model's layer, with
    its settings and trained weights, on the model's input run up to it (--input), its own
    input (--layer-input) or input drawn from the seed."""
    from rnnstate import models
    from rnnstate.explore import Explorer, Settings

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
    Explorer(settings, data, explore_view(options)).run()


def explore_files(settings):
    """The files of rnnstate explore, read: explore.UserData (None where not given)."""
    from rnnstate.data import read_initial_state, read_input, read_weights
    from rnnstate.explore import UserData

    x = read_input(settings.input_path) if settings.input_path else None
    weights = states = None
    if settings.weights_path:
        weights = read_weights(settings.weights_path, settings.cell, settings.reset_after,
                               settings.direction == "bidirectional", settings.prefix,
                               settings.torch_layer)  # fmt: skip
    if settings.initial_state_path:
        states = read_initial_state(settings.initial_state_path)
    return UserData(x, weights, states)


RUN_OPTIONS = {  # options that need --layer, by parameter name
    "input_path": "--input",
    "layer_input": "--layer-input",
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
                            options["initial_state"])  # fmt: skip
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


def model_layer_data(loaded, chosen, input_path, layer_input, state_path):
    """What the model's layer `chosen` runs on (models.LayerData): the model's input run
    through the layers before it (`input_path`), the layer's own input, or none (the seed's);
    initial states from `state_path` if given."""
    from rnnstate import models
    from rnnstate.data import read_initial_state, read_input, read_model_input
    from rnnstate.spec import ModelSource

    if input_path and layer_input:
        raise SpecError("--layer-input", "give --input (the model's) or --layer-input, not both")
    x = mask = states = mask_from = None
    if input_path:
        input_name = str(input_path)
        inputs = models.model_inputs(loaded, read_model_input(input_name), input_name)
        with model_progress(chosen, inputs[0].shape[0]) as progress:
            received = models.layer_input(loaded, chosen, inputs, input_name, progress)
        x, mask, states = received.x, received.mask, received.initial_state
        mask_from = received.mask_from
        input_from = f"{input_name}, through the model's layers before it"
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


def main(prog_name: str = "rnnstate") -> None:
    """Run the command line (rnnstate.process.main prepares the process first)."""
    app(prog_name=prog_name)
