"""The terminal explore draws on, kept apart from stderr, and the signals that end it.

Textual draws on stderr (fd 2) by default. explore keeps its screen apart from it:

- Textual draws on a file of its own, a duplicate of the terminal's fd (stdout's: explore runs
  only when stdin and stdout are a terminal), made before anything else changes; so the app
  draws on the terminal even when stderr is redirected (`2>err.txt`), and nothing done to fd 2
  can reach the screen.
- fd 2 points at /dev/null while the app runs (a stray warning would otherwise be written over
  the screen), and back at the user's stderr once the app has ended and restored the terminal;
  an error that ends the app (a bug) is printed there after it.
- TensorFlow is not in this process at all: the keras engine runs in a child process whose
  stdout and stderr are /dev/null (keras_process.py).

Ctrl-C (the key: Textual reads it as a key) ends the app with 130, SIGINT and SIGTERM with 130
and 143, each at once: nothing waits for a run (runner.py), the keras process is killed, and
the process ends as soon as the terminal is restored, abandoning a numpy run still going.
"""

import asyncio
import contextlib
import io
import os
import signal
import sys
from collections.abc import Iterator

from rnnstate.errors import ExitCode

SIGNAL_CODES = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}


def exit_on_signals(app) -> None:
    """From now on (called in the app's event loop), SIGINT and SIGTERM end `app` with exit
    code 130 and 143: it restores the terminal first."""
    loop = asyncio.get_running_loop()
    for signum, code in SIGNAL_CODES.items():
        loop.add_signal_handler(signum, lambda code=code: app.exit(return_code=code))


def driver_on(screen: io.TextIOBase) -> type:
    """Textual's terminal driver, drawing on `screen` in place of stderr."""
    from textual.drivers.linux_driver import LinuxDriver

    class ScreenDriver(LinuxDriver):
        def __init__(self, app, **options) -> None:
            super().__init__(app, **options)
            self._file = screen  # where LinuxDriver draws (sys.__stderr__ by default)

    return ScreenDriver


@contextlib.contextmanager
def stderr_to_devnull() -> Iterator[int]:
    """Point fd 2 at /dev/null for the block; yields a duplicate of the fd 2 it replaced."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        os.close(devnull)
        yield saved
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def run(app) -> int:
    """Run the explorer `app` on the terminal (see the module's docstring) and return its exit
    code; when a run is still going in a thread, end the process at once with that code
    instead (the thread is abandoned; a file it was writing is removed)."""
    from rich.console import Console

    handlers = {signum: signal.getsignal(signum) for signum in SIGNAL_CODES}
    screen = open(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", errors="replace")  # noqa: SIM115
    try:
        with stderr_to_devnull() as user_stderr:
            errors = open(os.dup(user_stderr), "w", encoding="utf-8", errors="replace")  # noqa: SIM115
            app.driver_class = driver_on(screen)
            app.error_console = Console(file=errors, markup=False, highlight=False)
            try:
                app.run()
            finally:
                errors.close()
    finally:
        screen.close()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    code = app.return_code or 0
    app.runner.end()
    if app.runner.busy():
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    return code
