"""Regenerate the README's screenshots: a finished run on the bundled Fashion-MNIST sample.

    python docs/make_screenshots.py

Drives the real app headless (Textual's Pilot) at 120x36 and saves SVGs with the app's own
screenshot action. Takes about half a minute on 2 cores.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from dae_tui.app import DaeApp
from dae_tui.config import TrainConfig

HERE = Path(__file__).resolve().parent


async def main() -> None:
    config = TrainConfig(dataset="fashion-mnist", source="bundled", epochs=6, seed=0)
    with tempfile.TemporaryDirectory() as runs:
        app = DaeApp(config, runs_dir=runs)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("s")
            while app.state != "finished":
                await pilot.pause(0.2)
            await pilot.pause(0.5)
            app.save_screenshot(str(HERE / "dashboard.svg"))
            await pilot.press("i", "right", "right", "right")
            await pilot.pause(0.5)
            app.save_screenshot(str(HERE / "images.svg"))
    print("wrote", HERE / "dashboard.svg", "and", HERE / "images.svg")


if __name__ == "__main__":
    asyncio.run(main())
