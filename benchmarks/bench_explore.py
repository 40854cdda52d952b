"""Time rnnstate explore: from a key press that changes a setting to the updated view.

    python benchmarks/bench_explore.py           # T=1000 M=64, 20 key presses per engine
    python benchmarks/bench_explore.py --quick   # T=100, 3 presses: checks the script runs

Runs the app headless. Each press appends a digit to the seed or takes it away again, which
changes every number shown. The key is posted to the app as the terminal driver posts one, and
timed until the view is refreshed with the new numbers (for the keras engine: Keras's answer,
TensorFlow already loaded). The floor, in the same run, is the engine's own run of the same
settings (rnnstate.run, no app): the least any view of them could take. Goals: numpy under
100 ms, keras under 200 ms. Prints medians.
"""

import argparse
import asyncio
import statistics
import time

from textual import events

import rnnstate
from rnnstate.explore.app import Explorer
from rnnstate.explore.settings import Settings

UNITS = 64


async def presses(engine: str, steps: int, count: int) -> list[float]:
    """Seconds from each of `count` key presses to the refreshed view, on `engine`."""
    app = Explorer(Settings(steps=steps, units=UNITS, seed=1, engine=engine))
    seconds = []
    async with app.run_test(size=(160, 50)) as pilot:
        while not any(e == engine for e, _ in app.update_seconds):  # loaded, first answer
            await pilot.pause(0.05)
        app.query_one("#seed").focus()
        await pilot.press("end")  # after the seed's digits (focus selects them all)
        await pilot.pause(0.5)
        for press in range(count):
            before = sum(e == engine for e, _ in app.update_seconds)
            key = events.Key("backspace", None) if press % 2 else events.Key("7", "7")
            started = time.perf_counter()
            app.post_message(key)  # as the driver posts a key read from the terminal
            while sum(e == engine for e, _ in app.update_seconds) == before:
                await asyncio.sleep(0.0005)
            seconds.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)  # a person types no faster
        await pilot.press("escape", "q")
    return seconds


def floor(engine: str, steps: int, count: int) -> list[float]:
    """Seconds of the engine's own run of the same settings, `count` times."""
    rnnstate.run("lstm", steps=steps, units=UNITS, seed=1, engine=engine)  # warm
    seconds = []
    for press in range(count):
        started = time.perf_counter()
        rnnstate.run("lstm", steps=steps, units=UNITS, seed=17 if press % 2 else 1,
                     return_sequences=True, engine=engine)  # fmt: skip
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T=100, 3 presses")
    args = parser.parse_args()
    steps, count = (100, 3) if args.quick else (1000, 20)
    print(f"| engine | T | M | presses | key to view (ms) | floor: the engine's run (ms) "
          f"| ratio | goal |\n|{'---|' * 8}")  # fmt: skip
    for engine, goal in (("numpy", 100), ("keras", 200)):
        app = statistics.median(asyncio.run(presses(engine, steps, count)))
        bare = statistics.median(floor(engine, steps, count))
        print(f"| {engine} | {steps} | {UNITS} | {count} | {1000 * app:.0f} | "
              f"{1000 * bare:.0f} | {app / bare:.2f}x | < {goal} ms |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
