"""`python -m rnnstate` runs the command line."""

import os
import signal

# Before anything else is imported: Ctrl-C or SIGTERM now ends quietly (rnnstate.process.main
# takes over from here).
signal.signal(signal.SIGINT, lambda signum, frame: os._exit(130))
signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(143))

from rnnstate.process import main  # noqa: E402

main(prog_name="python -m rnnstate")
