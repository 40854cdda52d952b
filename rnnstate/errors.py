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
        super().__init__(f"{shown_name(path)}: {message}")
        self.path = path


def shown_name(name: str) -> str:
    """A name from a file or the user (a path, a layer name, a token) as one line of text:
    as given when every character is printable, else quoted with each control, format or
    separator character escaped as Python does (\\n, \\x1b, \\u202e), so an error stays
    one line and no escape sequence reaches a terminal. Shown through rich, it goes in a Text
    (never a markup string), so brackets stay brackets."""
    return name if name.isprintable() else repr(name)


def one_line(text: str) -> str:
    """A message as one line of plain text: each character that is not printable escaped
    (\\n, \\x1b), whatever name inside it was missed. Every error line passes through it."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class NumericError(RnnstateError):
    """A run's outputs or states overflowed float32 (exit 1); the message says where."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised where Python next runs, so a run ends as on Ctrl-C (files
    being written removed), with exit code 143."""
