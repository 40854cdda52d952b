"""How long rnnstate takes to end after Ctrl-C (SIGINT) or SIGTERM, in the places where it used to
take long: while Keras builds a large layer, and inside a long keras-engine run with many units.

    python benchmarks/bench_signals.py            # the cases below (about two minutes)
    python benchmarks/bench_signals.py --quick    # one small case: checks the script runs

Each case starts `rnnstate ...` as a process, sends the signal after a delay (several delays, so
the signal lands in different phases: importing TensorFlow, building the layer, running), and
measures the time from the signal to the process's end, with its exit code. Not part of the test
suite: the figures are read by people (docs/guarantees.md), not asserted.
"""

import argparse
import signal
import subprocess
import sys
import time

RNNSTATE = [sys.executable, "-m", "rnnstate"]
CASES = {  # name: (arguments, delays in seconds after the start)
    "build a large layer (M=4096)": (["lstm", "-T", "1", "-M", "4096", "--seed", "0"],
                                     [4.0, 6.0, 8.0]),
    "long run, M=4096": (["lstm", "-T", "100000", "-M", "4096", "--seed", "0"], [15.0, 25.0]),
    "long run, M=1024 (in a chunk)": (["lstm", "-T", "1000000", "-M", "1024", "--seed", "0"],
                                      [15.0]),
}  # fmt: skip
QUICK = {"small run": (["lstm", "-T", "200000", "-M", "64", "--seed", "0"], [4.0])}


def time_to_end(arguments: list[str], delay: float, number: int) -> tuple[float, int | None]:
    """Seconds from sending signal `number` (after `delay` s) to the process's end, and its exit
    code; (0, code) when it ended before the signal."""
    process = subprocess.Popen([*RNNSTATE, *arguments], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        process.wait(delay)
        return 0.0, process.returncode
    except subprocess.TimeoutExpired:
        pass
    sent = time.perf_counter()
    process.send_signal(number)
    try:
        process.wait(120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return float("inf"), None
    return time.perf_counter() - sent, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small case")
    parser.add_argument("--case", choices=list(CASES), help="only this case")
    options = parser.parse_args()
    cases = QUICK if options.quick else CASES
    if options.case:
        cases = {options.case: CASES[options.case]}
    print(f"{'case':32} {'signal':8} {'after':>6} {'to exit':>8}  code")
    for name, (arguments, delays) in cases.items():
        for number in (signal.SIGINT, signal.SIGTERM):
            for delay in delays:
                seconds, code = time_to_end(arguments, delay, number)
                print(f"{name:32} {number.name:8} {delay:5.1f}s {seconds:7.2f}s  {code}",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
