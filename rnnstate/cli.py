"""The command line: one command per cell. Options -> Spec -> run -> render, then exit.

Nothing here computes. numpy, rich's renderers and the engines are imported only when a run
starts (TensorFlow only by the keras engine), so `rnnstate --help` stays fast.
"""

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from rnnstate import __version__
from rnnstate.budget import ensure_fits, expected_seconds
from rnnstate.engines import Progress
from rnnstate.errors import ExitCode, InputError, NumericError, SpecError
from rnnstate.options import (
    GROUPS,
    HELP,
    ActivationOption,
    Backwards,
    Batch,
    Bias,
    BidirectionalOption,
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
    Layout,
    LayoutName,
    MaskValue,
    Merge,
    MergeMode,
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
        if code == ExitCode.INTERRUPTED:  # end now: TensorFlow may still run in a worker thread
            sys.stdout.flush()
            os._exit(ExitCode.INTERRUPTED)
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
    "Docs: README.md and docs/ (concepts, files, pictures, pytorch, json, cli).",
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

    for name in ("input_path", "weights_path", "initial_state", "save_weights", "output", "plot"):
        options[name] = None if options[name] is None else str(options[name])  # Path -> str
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
        ensure_fits(spec, as_json, output_path, plot_path is not None)
        announce_long_run(spec)
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


def main(prog_name: str = "rnnstate") -> None:
    """Entry point of the `rnnstate` console script."""
    app(prog_name=prog_name)
