"""SVG snapshots of the dashboard at a fixed size, with everything random seeded.

Update after an intended change with `pytest tests/ui/test_snapshots.py --snapshot-update` and look
at the SVGs in tests/ui/__snapshots__/ before committing them.
"""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input

from dae_tui.core.config import TrainConfig
from dae_tui.system.sampler import FIXED_SAMPLE
from dae_tui.ui import DaeApp

SIZE = (100, 30)


@pytest.fixture(autouse=True)
def colour_terminal(monkeypatch):
    """The snapshots are in colour: a NO_COLOR in the environment would turn the app monochrome."""
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(autouse=True)
def no_batch_progress(monkeypatch):
    """Which in-epoch progress messages reach the chart depends on timing; without them the
    curves are the per-epoch points alone, the same on every machine (the in-epoch curve is
    tested in test_layout.py)."""
    from dae_tui.training import trainer

    monkeypatch.setattr(trainer, "PROGRESS_INTERVAL_S", 1e9)


def tiny_app(runs_dir) -> DaeApp:
    # One thread: the same arithmetic, so the same curves and pictures, on every machine.
    config = TrainConfig(
        dataset="mnist", source="bundled", train_limit=512, batch_size=32, epochs=2, seed=0, threads=1, device="cpu"
    )
    app = DaeApp(config, runs_dir=runs_dir)
    app.fixed_system = FIXED_SAMPLE  # the machine's figures change with its load: these never do
    return app


async def steady(pilot) -> None:
    """Switch off cursor blinking so a screenshot does not depend on the moment it is taken."""
    for field in pilot.app.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def finish(pilot) -> None:
    """Press s and wait until the run has finished."""
    await pilot.press("s")
    deadline = time.monotonic() + 120
    while pilot.app.state != "finished":
        assert time.monotonic() < deadline, "the tiny run did not finish"
        await pilot.pause(0.05)
    await steady(pilot)


class TestIdle:
    """The screen a user meets: the form, an empty chart, the idle status and the key bindings."""

    def test_idle(self, snap_compare, tmp_path):
        assert snap_compare(tiny_app(tmp_path), terminal_size=SIZE, run_before=steady)


class TestFinishedRun:
    """A finished 2-epoch run on the bundled sample: curves on the chart, images in their tab."""

    def test_finished_chart(self, snap_compare, tmp_path):
        assert snap_compare(tiny_app(tmp_path), terminal_size=SIZE, run_before=finish)

    def test_finished_images(self, snap_compare, tmp_path):
        async def finish_then_images(pilot):
            await finish(pilot)
            await pilot.press("i")  # the Images tab
            await pilot.press("right", "right")  # select the third image
            await steady(pilot)

        assert snap_compare(tiny_app(tmp_path), terminal_size=SIZE, run_before=finish_then_images)


class TestSmallTerminal:
    """80x24: the form above the chart, and all three picture rows without scrolling."""

    def test_small_chart(self, snap_compare, tmp_path):
        assert snap_compare(tiny_app(tmp_path), terminal_size=(80, 24), run_before=finish)

    def test_small_images(self, snap_compare, tmp_path):
        async def finish_then_images(pilot):
            await finish(pilot)
            await pilot.press("i", "left")  # the last picture: the window moves, ◀ shows
            await steady(pilot)

        assert snap_compare(tiny_app(tmp_path), terminal_size=(80, 24), run_before=finish_then_images)


class TestBigTerminal:
    """200x60: the chart and all 8 pictures together on the Train tab."""

    def test_big_train(self, snap_compare, tmp_path):
        assert snap_compare(tiny_app(tmp_path), terminal_size=(200, 60), run_before=finish)
