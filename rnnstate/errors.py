"""Error types and the exit codes the command line returns for them."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code rnnstate uses; docs/cli.md documents the same table."""

    OK = 0
    BAD_DATA = 1  # a file missing, unreadable, of the wrong shape, with NaN; outputs overflowed
    BAD_USAGE = 2  # an unknown option, a value out of range, options in conflict
    CHECK_FAILED = 3  # --check found the engines apart beyond tolerance
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM (timeout, kill, service managers): ends a run as Ctrl-C does


class RnnstateError(Exception):
    """Base of every error rnnstate raises for a user's mistake."""


class SpecError(RnnstateError, ValueError):
    """A run setting is out of range or settings conflict (exit 2).

    `option` names the command-line option the setting comes from, e.g. "--steps".
    """

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


class InputError(RnnstateError):
    """A file could not be used (exit 1); the message names the file and what was expected."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{shown_path(path)}: {message}")
        self.path = path


def shown_path(path: str) -> str:
    """A file name as an error shows it: as given, or quoted (repr) when it holds a newline or
    another control character, so the error stays one line."""
    return repr(path) if any(ord(char) < 32 or ord(char) == 127 for char in path) else path


class NumericError(RnnstateError):
    """A run's outputs or states overflowed float32 (exit 1); the message says where."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised where Python next runs, so a run ends as on Ctrl-C (files
    being written removed), with exit code 143."""
