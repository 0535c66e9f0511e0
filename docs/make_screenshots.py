"""Regenerate the README's screenshots from real runs on the bundled Fashion-MNIST sample.

    python docs/make_screenshots.py

Trains three short runs that differ in learning rate and a fourth that is stopped after two
epochs, then drives the real app headless (Textual's Pilot) and saves SVGs with its own
screenshot code: the Train tab at 200x60 after a finished run, the Images tab at 80x24 and the
Runs tab at 120x36 with two runs marked. Takes about a minute and a half on 2 cores.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from dae_tui import cli
from dae_tui.app import DaeApp
from dae_tui.config import TrainConfig
from dae_tui.engine.events import EpochEnd

HERE = Path(__file__).resolve().parent
BASE = dict(dataset="fashion-mnist", source="bundled", train_limit=4000, seed=0, threads=1)


async def finish(app: DaeApp, pilot) -> None:
    await pilot.press("s")
    while app.state != "finished":
        await pilot.pause(0.2)
    await pilot.pause(6)  # the "Run finished" notice fades


def make_runs(runs: Path) -> None:
    for lr in ("3e-4", "1e-3", "3e-3"):
        flags = ["--dataset", "fashion-mnist", "--source", "bundled", "--train-limit", "4000",
                 "--epochs", "4", "--lr", lr, "--threads", "1", "--runs-dir", str(runs)]
        cli.main(["train", *flags])
        time.sleep(1.1)
    from dae_tui.engine.trainer import Trainer

    trainer = Trainer(TrainConfig(**BASE, epochs=8, batch_size=32), runs_dir=runs)
    for event in trainer.run():
        if isinstance(event, EpochEnd) and event.epoch == 2:
            trainer.request_stop()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        make_runs(runs)
        app = DaeApp(TrainConfig(**BASE, epochs=6), runs_dir=runs)
        async with app.run_test(size=(200, 60)) as pilot:
            await finish(app, pilot)
            app.save_screenshot(str(HERE / "dashboard.svg"))
        app = DaeApp(TrainConfig(**BASE, epochs=2), runs_dir=runs)
        async with app.run_test(size=(80, 24)) as pilot:
            await finish(app, pilot)
            await pilot.press("i", "right", "right", "right")
            await pilot.pause(0.5)
            app.save_screenshot(str(HERE / "images.svg"))
        app = DaeApp(TrainConfig(**BASE), runs_dir=runs)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("r")
            await pilot.pause(2.0)
            await pilot.press("down", "down", "space", "down", "space", "down", "space", "v")
            await pilot.pause(0.5)
            app.save_screenshot(str(HERE / "runs.svg"))
    print("wrote", *(HERE / name for name in ("dashboard.svg", "images.svg", "runs.svg")))


if __name__ == "__main__":
    asyncio.run(main())
