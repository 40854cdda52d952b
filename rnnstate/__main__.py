"""`python -m rnnstate` runs the command line."""

from rnnstate.process import main

main(prog_name="python -m rnnstate")
