"""Long calls into C code (LAPACK's QR, TensorFlow's loops, PyTorch's layers) made so that Ctrl-C
and SIGTERM still end rnnstate at once: Python sees a signal only when control comes back to
Python code, so the call runs in a worker thread while the calling thread waits in short steps.
"""

import threading


def call_interruptibly(function, *arguments):
    """function(*arguments) in a worker thread, its result or its error handed back; Ctrl-C or
    SIGTERM raise in the calling thread within a tenth of a second, and the worker is abandoned
    (a daemon thread: the process ends without waiting for it)."""
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["value"] = function(*arguments)
        except BaseException as error:  # handed to the calling thread below
            outcome["error"] = error

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
