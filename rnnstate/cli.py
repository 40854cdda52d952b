"""The command line: one command per cell. Options -> Spec -> run -> render, then exit.

Nothing here computes. numpy, rich's renderers and the engines are imported only when a run
starts (TensorFlow only by the keras engine), so `rnnstate --help` stays fast.
"""

import contextlib
import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated

import typer

from rnnstate import __version__
from rnnstate.budget import ensure_fits, expected_seconds
from rnnstate.engines import Progress
from rnnstate.errors import ExitCode, InputError, SpecError
from rnnstate.spec import Spec

app = typer.Typer(
    help="Run a Keras recurrent layer and show what it returns: o, h and (LSTM) c.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Steps = Annotated[int, typer.Option("-T", "--steps", min=1, help="T: time steps in the input.")]
Features = Annotated[int, typer.Option("-D", "--features", min=1, help="D: features at each step.")]
Units = Annotated[int, typer.Option("-M", "--units", min=1, help="M: units of the layer.")]
Batch = Annotated[
    int, typer.Option("-N", "--batch", min=1, help="N: sequences in the random input batch.")
]
Seed = Annotated[
    int | None,
    typer.Option(
        "--seed",
        min=0,
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


class EngineName(StrEnum):
    """The --engine choices."""

    keras = "keras"
    numpy = "numpy"


EngineOption = Annotated[
    EngineName,
    typer.Option(
        "--engine",
        help="keras runs the real Keras layer; numpy runs Keras's equations without TensorFlow.",
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


def write_stdout(data: bytes) -> None:
    """Write bytes to stdout; a reader that stopped early (`| head`) ends the run quietly."""
    try:
        sys.stdout.buffer.write(data)
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
    except InputError as error:
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


def inspect(spec_settings: dict, as_json: bool) -> None:
    """Run the layer the settings describe, print the result as tables or as JSON, and exit 3
    when --check found the engines apart."""
    from rich.console import Console

    from rnnstate.api import draw_seed, run_spec
    from rnnstate.render import json as json_render
    from rnnstate.render import table as table_render

    with user_errors():
        seed = spec_settings.pop("seed")
        spec = Spec(seed=draw_seed() if seed is None else seed, **spec_settings)
        ensure_fits(spec, as_json)
        with progress_bar(spec) as progress:
            result = run_spec(spec, progress)
        if as_json:
            write_stdout(json_render.render(result))
        else:
            Console(highlight=False).print(table_render.render(result))
    if spec.check and not result.cross_check.agree:
        raise typer.Exit(ExitCode.CHECK_FAILED)


@app.command()
def lstm(
    steps: Steps = 8,
    features: Features = 2,
    units: Units = 3,
    batch: Batch = 1,
    seed: Seed = None,
    sequences: Sequences = False,
    engine: EngineOption = EngineName.keras,
    gates: Gates = False,
    check: Check = False,
    json: Json = False,
) -> None:
    """Keras LSTM: output o, final hidden state h and final cell state c."""
    settings = {
        "steps": steps,
        "features": features,
        "units": units,
        "batch": batch,
        "engine": engine.value,
        "gates": gates,
        "check": check,
    }
    inspect({"cell": "lstm", "seed": seed, "return_sequences": sequences, **settings}, json)


@app.command()
def gru(
    steps: Steps = 8,
    features: Features = 2,
    units: Units = 3,
    batch: Batch = 1,
    seed: Seed = None,
    sequences: Sequences = False,
    reset_after: Annotated[
        bool,
        typer.Option(
            "--reset-after/--reset-before",
            help="Keras reset_after: apply the reset gate after the recurrent product.",
        ),
    ] = True,
    engine: EngineOption = EngineName.keras,
    gates: Gates = False,
    check: Check = False,
    json: Json = False,
) -> None:
    """Keras GRU: output o and final hidden state h."""
    settings = {
        "steps": steps,
        "features": features,
        "units": units,
        "batch": batch,
        "engine": engine.value,
        "gates": gates,
        "check": check,
    }
    inspect(
        {
            "cell": "gru",
            "seed": seed,
            "return_sequences": sequences,
            "reset_after": reset_after,
            **settings,
        },
        json,
    )


@app.command()
def rnn(
    steps: Steps = 8,
    features: Features = 2,
    units: Units = 3,
    batch: Batch = 1,
    seed: Seed = None,
    sequences: Sequences = False,
    engine: EngineOption = EngineName.keras,
    gates: Gates = False,
    check: Check = False,
    json: Json = False,
) -> None:
    """Keras SimpleRNN: output o and final hidden state h."""
    settings = {
        "steps": steps,
        "features": features,
        "units": units,
        "batch": batch,
        "engine": engine.value,
        "gates": gates,
        "check": check,
    }
    inspect({"cell": "rnn", "seed": seed, "return_sequences": sequences, **settings}, json)


def main(prog_name: str = "rnnstate") -> None:
    """Entry point of the `rnnstate` console script."""
    app(prog_name=prog_name)
