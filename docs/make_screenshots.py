"""Regenerate the README's screenshots from real runs on the bundled Fashion-MNIST sample.

    python docs/make_screenshots.py

Trains three short runs that differ in learning rate and a fourth that is stopped after two
epochs, then drives the real app headless (Textual's Pilot) and saves SVGs with its own
screenshot code: the Train tab at 200x60 after a finished run and its Images tab showing where
it fails (the worst pictures, their error maps, the per-class bars: failures.svg), the Inspect tab
at 160x45 on that run with a digit drawn, the Images tab at 80x24, the Runs tab at 120x36 with runs
marked, the numbers table of the three learning rates at 100x30, and the Sweep tab at 120x36 on a
6-trial study (in its own runs folder). Takes about three minutes on 2 cores.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from dae_tui import cli
from dae_tui.core.config import TrainConfig
from dae_tui.core.events import EpochEnd
from dae_tui.ui import DaeApp

HERE = Path(__file__).resolve().parent
BASE = dict(dataset="fashion-mnist", source="bundled", train_limit=4000, seed=0, threads=1)


async def finish(app: DaeApp, pilot) -> None:
    await pilot.press("s")
    while app.state != "finished":
        await pilot.pause(0.2)
    await pilot.pause(6)  # the "Run finished" notice fades


def make_runs(runs: Path) -> None:
    for lr in ("3e-4", "1e-3", "3e-3"):
        flags = [
            "--dataset",
            "fashion-mnist",
            "--source",
            "bundled",
            "--train-limit",
            "4000",
            "--epochs",
            "4",
            "--lr",
            lr,
            "--threads",
            "1",
            "--runs-dir",
            str(runs),
        ]
        cli.main(["train", *flags])
        time.sleep(1.1)
    from dae_tui.training.trainer import Trainer

    trainer = Trainer(TrainConfig(**BASE, epochs=8, batch_size=32), runs_dir=runs)
    for event in trainer.run():
        if isinstance(event, EpochEnd) and event.epoch == 2:
            trainer.request_stop()


async def inspect_with_a_drawing(app: DaeApp, pilot) -> None:
    """The Inspect tab on the newest run: its curve, more noise than it was trained with, a 7."""
    from dae_tui.ui.panes.inspect import InspectView
    from dae_tui.ui.widgets.draw_panel import DrawCanvas
    from dae_tui.ui.widgets.robustness_chart import RobustnessChart

    await pilot.press("n")
    while not (
        app.query(InspectView)
        and app.query_one(InspectView).samples is not None
        and app.query_one(RobustnessChart).done
    ):
        await pilot.pause(0.2)
    await pilot.press(*["plus"] * 5)  # gaussian 1.0: twice the trained noise
    # A 7: the bar, then the stroke down and to the left (offsets count the canvas's border).
    stroke = [(x, 3) for x in range(8, 22)] + [(21 - i, 3 + i) for i in range(1, 11)]
    await pilot.mouse_down(DrawCanvas, offset=stroke[0])
    for point in stroke[1:]:
        await pilot.hover(DrawCanvas, offset=point)
    await pilot.mouse_up(DrawCanvas, offset=stroke[-1])
    await pilot.pause(1.0)


async def numbers_of_the_learning_rates(app: DaeApp, pilot) -> None:
    """The numbers table (`f`) of the three finished runs, which differ in learning rate only."""
    from dae_tui.ui.dialogs.numbers import NumbersScreen
    from dae_tui.ui.panes.runs import RunsView

    await pilot.press("r")
    while not (app.query(RunsView) and len(app.query_one(RunsView).runs) == 6):
        await pilot.pause(0.2)
    await pilot.pause(1.0)
    # newest first: the 2-epoch and the 6-epoch dashboard runs, the stopped one, then the three rates
    await pilot.press("down", "down", "down", "space", "down", "space", "down", "space", "f")
    while not isinstance(app.screen, NumbersScreen):
        await pilot.pause(0.2)
    await pilot.pause(0.5)


async def where_it_fails(app: DaeApp, pilot) -> None:
    """The Images tab on the run just finished: its 8 worst test pictures with their error maps
    and legend (f), and the per-class PSNR bars beside them, the worst class marked (c)."""
    from dae_tui.ui.panes import ImageBrowser

    browser = app.query_one(ImageBrowser)
    await pilot.press("i")
    while not (browser.worst_history and browser.class_scores):
        await pilot.pause(0.2)
    await pilot.press("f", "c")
    await pilot.pause(0.5)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        make_runs(runs)
        app = DaeApp(TrainConfig(**BASE, epochs=6), runs_dir=runs)
        async with app.run_test(size=(200, 60)) as pilot:
            await finish(app, pilot)
            app.save_screenshot(str(HERE / "dashboard.svg"))
            await where_it_fails(app, pilot)
            app.save_screenshot(str(HERE / "failures.svg"))
        app = DaeApp(TrainConfig(**BASE), runs_dir=runs)
        async with app.run_test(size=(160, 45)) as pilot:
            await inspect_with_a_drawing(app, pilot)
            app.save_screenshot(str(HERE / "inspect.svg"))
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
        app = DaeApp(TrainConfig(**BASE), runs_dir=runs)
        async with app.run_test(size=(100, 30)) as pilot:
            await numbers_of_the_learning_rates(app, pilot)
            app.save_screenshot(str(HERE / "numbers.svg"))
        sweeps = Path(tmp) / "sweeps"
        space = Path(tmp) / "space.toml"
        space.write_text("lr = {log = [1e-4, 1e-2]}\nbatch_size = {choice = [32, 64, 128]}\n")
        cli.main(
            [
                "sweep",
                "--dataset",
                "fashion-mnist",
                "--source",
                "bundled",
                "--train-limit",
                "2000",
                "--epochs",
                "3",
                "--threads",
                "1",
                "--seed",
                "0",
                "--runs-dir",
                str(sweeps),
                "--space",
                str(space),
                "--trials",
                "6",
                "--study",
                "fashion-lr-batch",
            ]
        )
        app = DaeApp(TrainConfig(**BASE), runs_dir=sweeps)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("w")
            while not (app.query("#sweep-view") and app.query_one("#sweep-view").report is not None):
                await pilot.pause(0.2)
            await pilot.pause(0.5)
            await pilot.press("space", "down", "down", "space")
            await pilot.pause(0.5)
            app.save_screenshot(str(HERE / "sweep.svg"))
    names = ("dashboard.svg", "failures.svg", "inspect.svg", "images.svg", "runs.svg", "numbers.svg", "sweep.svg")
    print("wrote", *(HERE / name for name in names))


if __name__ == "__main__":
    asyncio.run(main())
