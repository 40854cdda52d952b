"""The Typer app: one-line usage errors, help grouped in panels, examples kept as written,
--version.
"""

import os
import sys
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from rnnstate import __version__
from rnnstate.cli.streams import flush_stdout
from rnnstate.errors import ExitCode, Terminated, one_line
from rnnstate.options import GROUPS, HELP

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
            message = one_line(error.format_message())
            typer.echo(f"{where}: error: {message} (see '{where} --help')", err=True)
            sys.exit(error.exit_code)
        flush_stdout()
        if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
            os._exit(code)  # end now: TensorFlow may still run in a worker thread
        sys.exit(code or 0)

    def invoke(self, ctx):
        """Run the command; SIGTERM outside a run's own handling (while a command imports what
        it needs) still ends with 143, where Typer would say 130 for any KeyboardInterrupt."""
        try:
            return super().invoke(ctx)
        except Terminated:
            raise typer.Exit(ExitCode.TERMINATED) from None


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
