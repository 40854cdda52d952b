"""stdout and stderr of a command: writing the output whole, a reader that went away, and
every user error as one line with its exit code.
"""

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator

import typer

from rnnstate.errors import ExitCode, InputError, NumericError, SpecError, Terminated, one_line


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
        typer.echo(f"rnnstate: error: {one_line(str(error))}", err=True)
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
