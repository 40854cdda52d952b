"""explore's keras engine, in a process of its own.

TensorFlow stays out of the app's process: loading its libraries holds Python's lock for
seconds at a time (the screen would stop), its C++ code logs to fd 2 (where Textual draws), and
inside its own loop it sees no signal (a run could not be stopped). In a child process it loads
while the app is already usable, logs into /dev/null (the child's stdout and stderr), and is
killed the moment the app ends, whatever it is doing.

The two talk over the child's stdin and stdout in frames (an 8-byte length, then a pickle): the
parent sends the data once (explore's UserData or a model's LayerData), then (generation,
settings) for each change; the child answers ("ready",) once TensorFlow has loaded, then
(generation, "result", Result), (generation, "refused", message) or (generation, "failed",
traceback). A request that arrives while a run is going gives that run up at its next chunk of
steps, and only the latest of the requests waiting is run.

    python -P -m rnnstate.explore.keras_process     # the child (started by KerasProcess)
"""

import contextlib
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from typing import BinaryIO

HEADER = struct.Struct("<Q")


def send(stream: BinaryIO, message) -> None:
    """Write `message` to `stream` as one frame."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()


def read_exactly(fd: int, count: int) -> bytes:
    """`count` bytes from `fd`; EOFError if it ends first."""
    chunks = []
    while count:
        chunk = os.read(fd, min(count, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def receive(fd: int):
    """The next frame from `fd`, unpickled (only ever from the other end of explore's pipe);
    EOFError when the pipe has closed."""
    (size,) = HEADER.unpack(read_exactly(fd, HEADER.size))
    return pickle.loads(read_exactly(fd, size))


def waiting(fd: int) -> bool:
    """Whether a frame is waiting on `fd`."""
    return bool(select.select([fd], [], [], 0)[0])


class KerasProcess:
    """The parent's end: the child started, the data and each change sent to it (by a thread
    of its own: sending never waits for the child), and each message from the child given to
    on_message(message) in a reader thread; on_exit(code) when the child ends before end()."""

    def __init__(self, data, on_message: Callable[[tuple], None],
                 on_exit: Callable[[int], None]) -> None:  # fmt: skip
        self.on_message, self.on_exit = on_message, on_exit
        self.requests: queue.SimpleQueue = queue.SimpleQueue()
        self.requests.put(data)
        self.ended = False
        self.child = subprocess.Popen(
            [sys.executable, "-P", "-m", "rnnstate.explore.keras_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # signals to the terminal's process group are the app's
        )
        threading.Thread(target=self.write_requests, daemon=True).start()
        threading.Thread(target=self.read_answers, daemon=True).start()

    def write_requests(self) -> None:
        with contextlib.suppress(OSError):  # the child has ended: read_answers says so
            while True:
                send(self.child.stdin, self.requests.get())

    def read_answers(self) -> None:
        try:
            while True:
                self.on_message(receive(self.child.stdout.fileno()))
        except (EOFError, OSError):
            if not self.ended:
                self.on_exit(self.child.wait())

    def run(self, generation: int, settings) -> None:
        """Ask for a run of `settings` (an explore Settings) as change `generation`."""
        self.requests.put((generation, settings))

    def end(self) -> None:
        """Kill the child at once (whatever it is running) and reap it."""
        self.ended = True
        self.child.kill()
        self.child.wait()


def serve() -> None:
    """The child: load TensorFlow, then run each change asked for, the latest first."""
    from rnnstate.engines.keras import _import_keras
    from rnnstate.errors import RnnstateError
    from rnnstate.explore.runner import Superseded, compute

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the app decides when this process ends
    requests, answers = os.dup(0), os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # nothing else can read explore's requests or write into its answers
        os.dup2(devnull, fd)
    data = receive(requests)
    _import_keras()
    send(answers, ("ready",))

    def give_up_if_asked(engine: str, steps_done: int) -> None:
        if waiting(requests):
            raise Superseded

    while True:
        generation, settings = receive(requests)
        while waiting(requests):  # only the latest change is worth running
            generation, settings = receive(requests)
        try:
            result = compute(settings, data, "keras", False, give_up_if_asked)
        except Superseded:
            continue
        except RnnstateError as error:
            send(answers, (generation, "refused", str(error)))
            continue
        except Exception:
            send(answers, (generation, "failed", traceback.format_exc()))
            continue
        send(answers, (generation, "result", result))


if __name__ == "__main__":
    with contextlib.suppress(EOFError, BrokenPipeError):  # the app has ended
        serve()
