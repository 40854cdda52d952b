"""`python -m rnnstate` runs the command line."""

from rnnstate.cli import main

main(prog_name="python -m rnnstate")
