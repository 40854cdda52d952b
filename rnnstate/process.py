"""The process around the command line, set up before anything heavy is imported: SIGTERM
ends a run as Ctrl-C does, the standard streams are checked, text that the terminal's encoding
cannot hold falls back to ASCII, and an unusable COLUMNS is ignored.

This is the `rnnstate` console script's entry point; it imports only the standard library until
the command line takes over.
"""

import codecs
import contextlib
import os
import signal
import sys

from rnnstate.errors import ExitCode, Terminated

# What rnnstate prints beyond ASCII, and what stands in for each on a stream whose encoding
# cannot hold it (rich draws ASCII boxes there itself); anything else becomes "?".
ASCII_FALLBACK = {
    "\u2713": "ok",  # check mark
    "\u2717": "X",  # ballot x
    "\u00b7": ".",  # middle dot
    "\u2299": "(.)",  # circled dot: element-wise product
    "\u0125": "h^",  # h with circumflex: the GRU's candidate
    "\u00b1": "+/-",
    "\u2248": "~",  # almost equal
    "\u22ee": ":",  # vertical ellipsis
    "\u2026": "...",
    "\u03a3": "sum",
    "\u25bc": "v",  # the plot's marker, in legends
}
ASCII_ERRORS = "rnnstate-ascii"


def ascii_fallback(error: UnicodeEncodeError) -> tuple[str, int]:
    """A codec error handler: each character the encoding cannot hold as its ASCII stand-in."""
    text = error.object[error.start : error.end]
    return "".join(ASCII_FALLBACK.get(char, "?") for char in text), error.end


def terminate(signum, frame) -> None:
    """SIGTERM's handler: raise Terminated where Python runs next (see errors.Terminated)."""
    raise Terminated()


def check_streams() -> None:
    """Exit 1 with one line when stdout is closed; give stdout and stderr the ASCII fallback
    when their encoding is not Unicode; drop a COLUMNS that is not a positive number."""
    if sys.stdout is None:
        if sys.stderr is not None:
            sys.stderr.write(
                "rnnstate: error: stdout is closed; rnnstate writes its output there\n"
            )
        os._exit(ExitCode.BAD_DATA)
    codecs.register_error(ASCII_ERRORS, ascii_fallback)
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if stream is not None and not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=ASCII_ERRORS)
    columns = os.environ.get("COLUMNS")
    if columns is not None and not (columns.isdigit() and int(columns) > 0):
        del os.environ["COLUMNS"]


def quit_at_once(signum, frame) -> None:
    """While rnnstate starts (nothing to clean up yet): end at once, 130 or 143, quietly."""
    os._exit(ExitCode.TERMINATED if signum == signal.SIGTERM else ExitCode.INTERRUPTED)


def main(prog_name: str = "rnnstate") -> None:
    """The console script: prepare the process, import the command line with Ctrl-C and
    SIGTERM ending it at once, then hand over with them raising KeyboardInterrupt and
    Terminated (so a run cleans up)."""
    signal.signal(signal.SIGINT, quit_at_once)
    signal.signal(signal.SIGTERM, quit_at_once)
    check_streams()
    from rnnstate.cli import main as command_line

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, terminate)
    try:
        command_line(prog_name)
    except KeyboardInterrupt as interrupt:  # outside a run (while typer reads the options)
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        os._exit(ExitCode.TERMINATED if isinstance(interrupt, Terminated) else ExitCode.INTERRUPTED)
