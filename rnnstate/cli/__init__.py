"""The command line: one command per cell, plus explore, model and replay. Options -> Spec -> run ->
render, then exit.

Nothing here computes. numpy, rich's renderers and the engines are imported only when a run
starts (TensorFlow only by the keras engine and models), so `rnnstate --help` stays fast.
"""

# each module registers its commands on the app, in --help's order
from rnnstate.cli import cells, explore, model, replay  # noqa: F401
from rnnstate.cli.app import app

__all__ = ["app", "main"]


def main(prog_name: str = "rnnstate") -> None:
    """Run the command line (rnnstate.process.main prepares the process first)."""
    app(prog_name=prog_name)
