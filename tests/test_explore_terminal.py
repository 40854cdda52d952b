"""rnnstate explore in a real pseudo-terminal, as a person starts it: `python -m rnnstate
explore` in a child process whose stdin and stdout are a pty (its controlling terminal), the
bytes it writes there fed to a small terminal emulator (Screen), keys and signals sent as a
terminal and a shell send them.
"""

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NUMBER_ROW = re.compile(r"▶ 0 │ +-?\d\.\d{4} ")  # the cursor's row of x, with a number


class Screen:
    """A terminal emulator just large enough for Textual's output: cursor moves, text, erases,
    the alternate screen, the cursor's visibility, and synchronized output (a frame between
    ESC[?2026h and ESC[?2026l is shown whole, as a terminal that has it shows it: Textual asks,
    and uses it when told yes); other sequences are read and ignored."""

    SEQUENCE = re.compile(
        r"\x1b\[([?>=<]?)([\d;:$]*)([ -/]*[@-~])"  # CSI
        r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
        r"|\x1b[P_^][^\x1b]*\x1b\\"  # DCS, APC, PM
        r"|\x1b[()#][\x20-\x7e]|\x1b[\x20-\x7e]"  # charsets, ESC 7, ESC =, ...
    )

    def __init__(self, columns: int, rows: int) -> None:
        self.columns, self.rows = columns, rows
        self.grid = [[" "] * columns for _ in range(rows)]
        self.row = self.column = 0
        self.alternate = False  # in the alternate screen
        self.cursor_shown = True
        self.in_frame = False  # between the start and the end of a synchronized frame
        self.replies = b""  # what the terminal answers to the app's questions
        self.pending = ""

    def feed(self, text: str) -> None:
        text = self.pending + text
        self.pending = ""
        position = 0
        while position < len(text):
            char = text[position]
            if char == "\x1b":
                match = self.SEQUENCE.match(text, position)
                if match is None:  # a sequence cut in two: wait for the rest
                    self.pending = text[position:]
                    return
                if match.group(3):
                    self.csi(match.group(1), match.group(2), match.group(3))
                position = match.end()
                continue
            if char == "\r":
                self.column = 0
            elif char == "\n":
                self.row = min(self.rows - 1, self.row + 1)
            elif char == "\b":
                self.column = max(0, self.column - 1)
            elif char >= " ":
                if self.column < self.columns:
                    self.grid[self.row][self.column] = char
                self.column += 1
            position += 1

    def csi(self, private: str, parameters: str, final: str) -> None:
        numbers = [int(p) if p.isdigit() else 0 for p in parameters.split(";")]
        if private == "?" and final == "p" and parameters == "2026$":  # synchronized output?
            self.replies += b"\x1b[?2026;2$y"  # yes, and off now
        if private == "?" and final in "hl":
            on = final == "h"
            if 2026 in numbers:
                self.in_frame = on
            if 1049 in numbers:
                self.alternate = on
                self.grid = [[" "] * self.columns for _ in range(self.rows)]
            if 25 in numbers:
                self.cursor_shown = on
        elif private:
            return
        elif final in "Hf":
            row, column = ([*numbers, 0, 0])[:2]
            self.row = min(self.rows - 1, max(row, 1) - 1)
            self.column = min(self.columns - 1, max(column, 1) - 1)
        elif final == "J" and numbers[0] == 2:
            self.grid = [[" "] * self.columns for _ in range(self.rows)]
        elif final == "K":
            self.grid[self.row][self.column :] = [" "] * (self.columns - self.column)
        elif final == "G":
            self.column = min(self.columns - 1, max(numbers[0], 1) - 1)
        elif final in "ABCD":
            step = max(numbers[0], 1)
            if final == "A":
                self.row = max(0, self.row - step)
            elif final == "B":
                self.row = min(self.rows - 1, self.row + step)
            elif final == "C":
                self.column = min(self.columns - 1, self.column + step)
            else:
                self.column = max(0, self.column - step)

    def text(self) -> str:
        return "\n".join("".join(line).rstrip() for line in self.grid)


class Terminal:
    """`python -m rnnstate explore ...` on a pty of `columns` x `rows`, read into a Screen."""

    def __init__(self, words: list[str], columns: int = 160, rows: int = 50,
                 stderr=None, cwd: Path = ROOT) -> None:  # fmt: skip
        self.master, slave = os.openpty()
        self.resize(columns, rows)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "",
               "LINES": ""}  # fmt: skip
        env = {name: value for name, value in env.items() if value}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rnnstate", "explore", *words],
            stdin=slave,
            stdout=slave,
            stderr=slave if stderr is None else stderr,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # the controlling tty
        )
        os.close(slave)
        self.screen = Screen(columns, rows)
        self.output = b""

    def resize(self, columns: int, rows: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def read(self, seconds: float) -> bool:
        """Feed the screen what the app writes for up to `seconds` (less if it ends); whether
        it wrote anything."""
        end, wrote = time.monotonic() + seconds, False
        while (left := end - time.monotonic()) > 0:
            if not select.select([self.master], [], [], left)[0]:
                return wrote
            try:
                chunk = os.read(self.master, 1 << 16)
            except OSError:  # the app has ended and closed the pty
                return wrote
            if not chunk:
                return wrote
            wrote = True
            self.output += chunk
            self.screen.feed(chunk.decode("utf-8", errors="replace"))
            if self.screen.replies:
                os.write(self.master, self.screen.replies)
                self.screen.replies = b""

    def wait_for(self, condition, seconds: float = 120.0) -> str:
        """Read until condition(screen text) holds on a screen at rest (a whole frame shown,
        nothing written for 0.3 s: what a person sees); the screen's text then."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.read(0.3) or self.screen.in_frame or self.screen.pending:
                continue
            if condition(self.screen.text()):
                return self.screen.text()
            if self.process.poll() is not None:
                self.read(0.5)
                raise AssertionError(f"explore ended ({self.process.returncode}):\n"
                                     f"{self.screen.text()}")  # fmt: skip
        raise AssertionError(f"not on screen in {seconds} s:\n{self.screen.text()}")

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def end(self, seconds: float = 20.0) -> int:
        """The app's exit code, once it has ended (killed after `seconds`: a failure)."""
        end = time.monotonic() + seconds
        while self.process.poll() is None and time.monotonic() < end:
            self.read(0.1)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"explore still running after {seconds} s")
        self.read(0.5)
        os.close(self.master)
        return self.process.returncode


def first_paint_with_numbers(terminal: Terminal) -> str:
    return terminal.wait_for(lambda text: NUMBER_ROW.search(text) is not None)


def assert_whole_screen(text: str) -> None:
    """The command line, the controls with their labels, the output's numbers, the status
    line and the footer's keys are all on screen."""
    assert "$ rnnstate lstm -T 8 -D 2 -M 3 -N 1 --seed 0 --sequences --engine keras" in text
    controls = "\n".join(line[:34] for line in text.splitlines())  # the column on the left
    for label in ("cell", "T steps", "D features", "M units", "N sequences", "seed",
                  "return_sequences", "direction"):  # fmt: skip
        assert label in controls, label
    assert "x  input, (T, D) = (8, 2)" in text
    assert "view: tables (v)   step t=0" in text
    assert "q quit" in text and "v view" in text


@pytest.mark.parametrize("start", range(3))
def test_the_first_paint_on_the_keras_engine_is_the_whole_screen(start):
    terminal = Terminal(["--seed", "0"])
    assert_whole_screen(first_paint_with_numbers(terminal))
    terminal.send(b"q")
    assert terminal.end() == 0
    assert not terminal.screen.alternate and terminal.screen.cursor_shown


def test_keras_own_numbers_arrive_and_q_then_restores_the_terminal():
    terminal = Terminal(["--seed", "0"])
    text = terminal.wait_for(lambda text: "Keras's own numbers; keras and numpy agree" in text)
    assert_whole_screen(text)
    child = keras_children(terminal.process.pid)
    assert len(child) == 1  # TensorFlow runs in a process of its own
    terminal.send(b"q")
    assert terminal.end() == 0
    assert not terminal.screen.alternate and terminal.screen.cursor_shown
    assert not Path(f"/proc/{child[0]}").exists()  # killed and reaped


def keras_children(pid: int) -> list[int]:
    """The pids of the children of process `pid`."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def test_with_stderr_redirected_the_app_draws_on_the_terminal(tmp_path):
    errors = tmp_path / "err.txt"
    with errors.open("wb") as stderr:
        terminal = Terminal(["--seed", "0"], stderr=stderr)
        assert_whole_screen(first_paint_with_numbers(terminal))
        terminal.send(b"q")
        assert terminal.end() == 0
    assert errors.read_bytes() == b""


# A run that takes minutes on the numpy engine (5 million steps of 64 units), with little memory
LONG_RUN = ["--engine", "numpy", "-T", "5000000", "-M", "64", "--no-sequences", "--seed", "0"]


@pytest.mark.parametrize(
    ("words", "how", "code"),
    [
        (LONG_RUN, "q", 0),
        (LONG_RUN, "ctrl-c", 130),
        (LONG_RUN, signal.SIGTERM, 143),
        (LONG_RUN, signal.SIGINT, 130),
        (["--engine", "keras", *LONG_RUN[2:]], signal.SIGTERM, 143),
    ],
)  # fmt: skip
def test_a_long_run_does_not_keep_the_app_from_ending(words, how, code):
    terminal = Terminal(words)
    terminal.wait_for(lambda text: "T steps" in text and "q quit" in text)
    terminal.read(1.0)  # the run is going
    if how == "q":
        terminal.send(b"q")
    elif how == "ctrl-c":
        terminal.send(b"\x03")
    else:
        terminal.process.send_signal(how)
    assert terminal.end(seconds=15) == code  # the run alone would take minutes
    assert not terminal.screen.alternate and terminal.screen.cursor_shown


def resized(terminal, columns: int, rows: int, shown) -> str:
    """Resize the pty and tell the app (SIGWINCH, said again if a loaded machine lost the first
    to the app's start-up); the screen once `shown` holds."""
    for attempt in range(4):
        terminal.resize(columns, rows)
        terminal.process.send_signal(signal.SIGWINCH)
        try:
            return terminal.wait_for(shown, seconds=10)
        except AssertionError:
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


def test_the_small_terminal_message_follows_each_resize():
    terminal = Terminal(["--engine", "numpy", "--seed", "0"], columns=100, rows=30)
    first_paint_with_numbers(terminal)
    text = resized(terminal, 70, 20, lambda text: "needs at least 80x24" in text)
    assert "The terminal is 70x20" in text
    resized(terminal, 100, 30, lambda text: "needs at least" not in text and "T steps" in text)
    terminal.send(b"q")
    assert terminal.end() == 0


@pytest.mark.parametrize(
    "words, message",
    [
        (["--activation", "bogus"], "Invalid value for '--activation': unknown activation "
                                    "'bogus'"),
        (["gru", "--recurrent-activation", "nope"], "Invalid value for '--recurrent-activation': "
                                                    "unknown activation 'nope'"),
    ],
)  # fmt: skip
def test_a_setting_that_cannot_run_is_refused_before_the_app_opens(words, message):
    terminal = Terminal(words, columns=300, rows=20)
    assert terminal.end() == 2
    assert message in terminal.screen.text().replace("\n", "")
    assert "\x1b[?1049h" not in terminal.output.decode(errors="replace")  # no alternate screen
