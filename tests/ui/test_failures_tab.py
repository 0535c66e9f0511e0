"""Where a model fails, on the Images tab: the error-map row and its legend, the worst pictures
(f) and the per-class bars (c), at 80x24 and 200x60 on a real run folder."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers.pilot import screen_text, wait_until

from dae_tui.cli import parse_invocation
from dae_tui.runs.info import read_metrics
from dae_tui.ui import make_app
from dae_tui.ui.panes import ImageBrowser
from dae_tui.ui.widgets.class_bars import ClassBars
from dae_tui.ui.widgets.image_strip import ImageStrip

SIZES = [(80, 24), (200, 60)]


@pytest.fixture
def run_copy(trained_run, tmp_path):
    """A copy of the session's real 3-epoch run in a runs folder of its own."""
    folder = tmp_path / "runs" / trained_run.name
    shutil.copytree(trained_run, folder)
    return folder


def app_on(run):
    return make_app(parse_invocation(["--resume", str(run), "--runs-dir", str(run.parent)]))


async def open_images(pilot, app):
    browser = app.query_one(ImageBrowser)
    await pilot.press("i")
    await wait_until(
        pilot, lambda: sorted(browser.history) == [0, 1, 2, 3] and sorted(browser.worst_history) == [1, 2, 3]
    )
    await pilot.pause(0.2)
    return browser


def lines_of(app) -> list[str]:
    return screen_text(app).splitlines()


@pytest.mark.parametrize("size", SIZES)
async def test_the_error_map_row_and_its_legend_are_in_view(run_copy, size):
    app = app_on(run_copy)
    async with app.run_test(size=size) as pilot:
        browser = await open_images(pilot, app)
        strip = app.query_one("#browser-strip", ImageStrip)
        labels = lambda: [row.label for row in strip.rows]  # noqa: E731
        if size == (80, 24):
            # No room for a fourth row: the three rows as before, until e asks for the maps,
            # which then take the noisy row's place.
            assert labels() == ["clean", "noisy", "denoised"]
            await pilot.press("e")
            await wait_until(pilot, lambda: labels() == ["clean", "denoised", "error"])
            await pilot.pause(0.2)
        else:
            assert labels() == ["clean", "noisy", "denoised", "error"]
        errors = strip.rows[-1]
        shown = browser.history[3]
        assert errors.pictures[0].pixels == bytes(
            abs(a - b) for a, b in zip(shown.clean[0].pixels, shown.denoised[0].pixels, strict=True)
        )
        text = lines_of(app)
        legend = [line for line in text if "|denoised - clean|: 0 " in line]
        peak = f"{errors.peak / 255:.2f}"
        assert len(legend) == 1 and legend[0].rstrip().endswith(f"{peak} (the row's largest)")
        assert any(line.startswith("error ") for line in text) and any(line.startswith("clean ") for line in text)
        assert strip.region.bottom <= size[1] - 3  # above the status lines and the footer


@pytest.mark.parametrize("size", SIZES)
async def test_f_browses_the_worst_pictures_by_image_and_epoch(run_copy, size):
    app = app_on(run_copy)
    async with app.run_test(size=size) as pilot:
        browser = await open_images(pilot, app)
        strip = app.query_one("#browser-strip", ImageStrip)
        await pilot.press(*(["f", "e"] if size == (80, 24) else ["f"]))  # e: the maps at 80x24 too
        await wait_until(pilot, lambda: "worst #1/8" in screen_text(app) and strip.rows[-1].label == "error")
        worst = browser.worst_history
        assert strip.rows[0].pictures == worst[3].clean
        assert worst[3].denoised_psnr[0] == min(worst[3].denoised_psnr)
        await pilot.press("right")
        await wait_until(pilot, lambda: "worst #2/8" in screen_text(app))
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: browser.shown_epoch == 2)
        assert strip.rows[0].pictures == worst[2].clean
        assert "epoch 2/3" in lines_of(app)[2]
        await pilot.press("f")
        await wait_until(pilot, lambda: strip.rows[0].pictures == browser.history[2].clean)
        assert "worst" not in lines_of(app)[2]


@pytest.mark.parametrize("size", SIZES)
async def test_c_shows_ten_class_bars_with_the_worst_marked(run_copy, size):
    app = app_on(run_copy)
    async with app.run_test(size=size) as pilot:
        await open_images(pilot, app)
        bars = app.query_one(ClassBars)
        assert not bars.display
        await pilot.press("c")
        await wait_until(pilot, lambda: bars.display and bars.region.height >= 12)
        await pilot.pause(0.2)
        text = [line[bars.region.x :] for line in lines_of(app)]  # the bars' columns only
        psnr = read_metrics(run_copy)[-1]["class_psnr"]
        worst = psnr.index(min(psnr))
        for c in range(10):
            line = next(line for line in text if f"digit {c} " in line and " dB " in line)
            assert f"{psnr[c]:5.1f} dB" in line  # the figure whole, not cut
            assert ("◀ worst" in line) == (c == worst)
        assert any("Per-class test PSNR · epoch 3" in line for line in text)
        pictures = app.query_one("#pictures")
        # Beside the pictures where there is room; instead of them at 80 columns.
        assert pictures.display == (size[0] >= 120)
        assert bars.region.bottom <= size[1] - 3
        if size[0] >= 120:
            assert pictures.region.right <= bars.region.x
        await pilot.press("c")
        await wait_until(pilot, lambda: not bars.display and pictures.display)


@pytest.mark.parametrize("size", SIZES)
async def test_a_run_from_before_per_class_scores_says_it_has_none(run_copy, size):
    metrics = run_copy / "metrics.jsonl"
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    metrics.write_text(
        "".join(json.dumps({k: v for k, v in r.items() if not k.startswith("class_")}) + "\n" for r in records)
    )
    for old in (run_copy / "samples").glob("worst-*"):
        old.unlink()
    app = app_on(run_copy)
    async with app.run_test(size=size) as pilot:
        browser = app.query_one(ImageBrowser)
        await pilot.press("i")
        await wait_until(pilot, lambda: sorted(browser.history) == [0, 1, 2, 3])
        await pilot.press("c")
        await wait_until(pilot, lambda: "None kept: the run is older than them." in screen_text(app))
        await pilot.press("f")
        await wait_until(pilot, lambda: "No worst pictures saved" in screen_text(app))


@pytest.mark.parametrize("size", SIZES)
async def test_a_run_trained_here_brings_its_class_scores_by_event_and_its_worst_pictures(tmp_path, size):
    from helpers.pilot import collector

    from dae_tui.core.config import TrainConfig
    from dae_tui.core.events import EpochEnd
    from dae_tui.ui import DaeApp

    config = TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=2, threads=1)
    seen, hook = collector()
    app = DaeApp(config, runs_dir=tmp_path)
    async with app.run_test(size=size, message_hook=hook) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "finished")
        browser = app.query_one(ImageBrowser)
        await wait_until(pilot, lambda: sorted(browser.worst_history) == [1, 2])
        ends = [e for e in seen if isinstance(e, EpochEnd)]
        assert [e.epoch for e in ends] == [1, 2] and all(len(e.class_psnr) == 10 for e in ends)
        assert browser.class_scores[2] == (ends[1].class_psnr, ends[1].class_ssim)
        await pilot.press("i", "c")
        bars = app.query_one(ClassBars)
        await wait_until(pilot, lambda: bars.display and "Per-class test PSNR · epoch 2" in screen_text(app))
        assert sum("◀ worst" in line for line in lines_of(app)) == 1
