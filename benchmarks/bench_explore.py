"""Time rnnstate explore: from a key press that changes a setting to the updated view.

    python benchmarks/bench_explore.py           # T=1000 M=64, 20 key presses per engine
    python benchmarks/bench_explore.py --quick   # T=100, 3 presses: checks the script runs

Runs the app headless (Textual's Pilot). Each press appends a digit to the seed or takes it
away again, which changes every number shown. Two figures per press: the app's own (from
handling the change to the refreshed view) and the wall time from the press until the view
is refreshed; for the keras engine the time to Keras's answer, TensorFlow already loaded
(warm). Goals: numpy under 100 ms, keras under 200 ms. Prints medians.
"""

import argparse
import asyncio
import statistics
import time

from rnnstate.explore import Explorer, Settings


async def presses(engine: str, steps: int, count: int) -> tuple[list[float], list[float]]:
    """(the app's figures, wall times) in seconds for `count` presses on `engine`."""
    app = Explorer(Settings(steps=steps, units=64, seed=1, engine=engine))
    walls = []
    async with app.run_test(size=(160, 50)) as pilot:
        while not any(e == engine for e, _ in app.update_seconds):  # loaded, first answer
            await pilot.pause(0.05)
        app.query_one("#seed").focus()
        await pilot.press("end")  # after the seed's digits (focus selects them all)
        for press in range(count):
            before = sum(e == engine for e, _ in app.update_seconds)
            started = time.perf_counter()
            await pilot.press("backspace" if press % 2 else "7")
            while sum(e == engine for e, _ in app.update_seconds) == before:
                await asyncio.sleep(0.001)
            walls.append(time.perf_counter() - started)
        await pilot.press("escape", "q")
    own = [seconds for e, seconds in app.update_seconds if e == engine][-count:]
    return own, walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T=100, 3 presses")
    args = parser.parse_args()
    steps, count = (100, 3) if args.quick else (1000, 20)
    print(f"| engine | T | M | presses | app: change to view (ms) | wall: press to view (ms) "
          f"| goal |\n|{'---|' * 7}")  # fmt: skip
    for engine, goal in (("numpy", 100), ("keras", 200)):
        own, walls = asyncio.run(presses(engine, steps, count))
        print(f"| {engine} | {steps} | 64 | {count} | {1000 * statistics.median(own):.0f} | "
              f"{1000 * statistics.median(walls):.0f} | < {goal} ms |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
