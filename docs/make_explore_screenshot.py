"""Make docs/images/explore.svg, the screenshot of docs/explore.md, from the real app:

    python docs/make_explore_screenshot.py

Runs rnnstate explore headless (Textual's Pilot) on an LSTM (seed 0, T=12, M=4, numpy engine),
moves the step cursor to t=5, switches to the heatmap view, and saves what the screen shows.
"""

import asyncio
from pathlib import Path

from rnnstate.explore.app import Explorer
from rnnstate.explore.settings import Settings

HERE = Path(__file__).parent


async def screenshot(path: Path) -> None:
    app = Explorer(Settings(seed=0, steps=12, units=4, engine="numpy"))
    async with app.run_test(size=(130, 42)) as pilot:
        while app.result is None:
            await pilot.pause(0.05)
        await pilot.press(*["right"] * 5, "v")
        while app.result is None or app.result.gates is None:  # the heatmap's trace
            await pilot.pause(0.05)
        await pilot.pause(1.0)  # the worker's drawing reaches the screen
        app.save_screenshot(filename=path.name, path=str(path.parent))
        await pilot.press("q")


if __name__ == "__main__":
    target = HERE / "images" / "explore.svg"
    asyncio.run(screenshot(target))
    print(f"wrote {target}")
