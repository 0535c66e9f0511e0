"""The Inspect tab (issue 12) in the real app on a real run: the robustness curve drawn and cached,
what-if noise redrawn by keys and by the mouse on the slider, a digit drawn with the mouse
changing the model's input and output, the run picked on the Runs tab, and the layout by size."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers.pilot import screen_text, wait_until

from dae_tui import cli
from dae_tui.core.config import format_number
from dae_tui.training.inspection import CURVE_CACHE, Inspector
from dae_tui.ui import DaeApp
from dae_tui.ui.panes.inspect import InspectView
from dae_tui.ui.widgets.draw_panel import DrawCanvas, PictureBox
from dae_tui.ui.widgets.image_strip import ImageStrip
from dae_tui.ui.widgets.noise_slider import NoiseSlider, factor_step
from dae_tui.ui.widgets.robustness_chart import RobustnessChart


@pytest.fixture(scope="module")
def cached_run(trained_run, tmp_path_factory) -> Path:
    """The session's trained run (3 epochs on bundled MNIST) with its gaussian curve cached, so
    the tests that are not about the curve do not each compute it."""
    run = tmp_path_factory.mktemp("cached") / trained_run.name
    shutil.copytree(trained_run, run)
    list(Inspector(run).curve("gaussian"))
    return run


@pytest.fixture
def runs(cached_run, tmp_path) -> Path:
    """A runs folder holding a copy of that run."""
    folder = tmp_path / "runs"
    shutil.copytree(cached_run, folder / cached_run.name)
    return folder


@pytest.fixture
def fresh_runs(trained_run, tmp_path) -> Path:
    """A runs folder holding a copy of the trained run as training left it (no curve yet)."""
    folder = tmp_path / "runs"
    shutil.copytree(trained_run, folder / trained_run.name)
    return folder


async def open_inspect(pilot) -> InspectView:
    """n, then wait until the model is loaded, the what-if pictures are painted and the curve is done."""
    await pilot.press("n")
    app = pilot.app
    await wait_until(pilot, lambda: app.query(InspectView) and app.query_one(InspectView).samples is not None)
    view = app.query_one(InspectView)
    await wait_until(pilot, lambda: view.query_one(RobustnessChart).done)
    return view


async def test_the_curve_is_drawn_once_and_cached_in_the_run_folder(fresh_runs, monkeypatch):
    runs = fresh_runs
    run = next(runs.iterdir())
    assert not (run / CURVE_CACHE).exists()
    # Every line the chart was given, kept: the progress is on screen for a moment only, which a
    # loaded machine's test may not catch painted.
    notes: list[str] = []
    set_note = RobustnessChart.set_note

    def noted(chart: RobustnessChart, note: str) -> None:
        notes.append(note)
        set_note(chart, note)

    monkeypatch.setattr(RobustnessChart, "set_note", noted)
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(100, 30)) as pilot:
        # Computed in a worker, factor by factor, with its progress under the chart.
        view = await open_inspect(pilot)
        progress = [note for note in notes if note.startswith("computing on 2,000 test images:")]
        assert progress[0].endswith(" 0/11 factors") and progress[-1].endswith(" 11/11 factors")
        assert len(progress) == 12
        chart = view.query_one(RobustnessChart)
        assert [p.factor for p in chart.points] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
        assert chart.trained == 0.5
        # Noise hurts the input at every step; the model beats its input where it was trained.
        noisy = [p.noisy_psnr for p in chart.points]
        assert all(a > b for a, b in zip(noisy, noisy[1:], strict=False))
        at_trained = chart.points[1]
        assert at_trained.test_psnr > at_trained.noisy_psnr
        await wait_until(pilot, lambda: f"2,000 test images · saved in {run.name}" in screen_text(app))
        text = screen_text(app)
        assert "PSNR dB ↑ vs gaussian factor" in text and "● model ○ noisy input" in text
        assert run.name in text and "epoch 3/3" in text
        assert (run / CURVE_CACHE).is_file()
    # A second session reads the curve back instead of computing it.
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_inspect(pilot)
        await wait_until(pilot, lambda: f"from {run.name}'s cache" in screen_text(app))


async def test_a_curve_that_cannot_be_saved_says_so_and_one_no_chart_can_draw_is_computed_again(runs):
    run = next(runs.iterdir())
    doc = json.loads((run / CURVE_CACHE).read_text())
    doc["curves"]["gaussian"][2]["test_psnr"] = 1.7e308  # finite, yet the chart's ticks overflow on it
    (run / CURVE_CACHE).unlink()
    (run / CURVE_CACHE).mkdir()  # and the fresh curve cannot be saved where a folder is
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_inspect(pilot)
        await wait_until(
            pilot, lambda: f"2,000 test images · not saved: a folder is named {CURVE_CACHE}" in screen_text(app)
        )
        assert "saved in" not in screen_text(app) and "'s cache" not in screen_text(app)
    (run / CURVE_CACHE).rmdir()
    (run / CURVE_CACHE).write_text(json.dumps(doc))
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_inspect(pilot)  # the hostile cache counts as none: computed, then saved over it
        await wait_until(pilot, lambda: f"saved in {run.name}" in screen_text(app))
    assert json.loads((run / CURVE_CACHE).read_text())["curves"]["gaussian"][2]["test_psnr"] < 100


async def test_what_if_follows_the_keys_with_the_new_factor_in_the_caption(runs):
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_inspect(pilot)
        await pilot.press("v")  # the what-if pictures
        strip = view.query_one("#whatif-strip", ImageStrip)
        await wait_until(pilot, lambda: "what-if gaussian 0.5 ·" in screen_text(app))
        before = view.samples
        await pilot.press("plus", "plus")
        await wait_until(pilot, lambda: "what-if gaussian 0.7 ·" in screen_text(app))
        after = view.samples
        assert after.clean == before.clean and after.noisy != before.noisy and after.denoised != before.denoised
        assert sum(after.noisy_psnr) < sum(before.noisy_psnr)
        assert strip.rows[1].pictures == after.noisy  # what is drawn is what was computed
        assert view.update_ms is not None and view.update_ms > 0
        await pilot.press("minus")
        await wait_until(pilot, lambda: "what-if gaussian 0.6 ·" in screen_text(app))
        # k: the next kind at its default; its curve is computed for it; o: back to the trained noise.
        await pilot.press("k")
        await wait_until(pilot, lambda: "what-if salt-pepper 0.2 ·" in screen_text(app))
        chart = view.query_one(RobustnessChart)
        assert chart.kind == "salt-pepper" and chart.trained is None
        await wait_until(pilot, lambda: chart.done)
        await pilot.press("o")
        await wait_until(pilot, lambda: "what-if gaussian 0.5 ·" in screen_text(app))
        assert view.samples.noisy == before.noisy  # the fixed seed: the same pictures again
        # → selects the next picture; its name is in the caption.
        await pilot.press("right")
        await wait_until(pilot, lambda: "#2 digit 1: noisy" in screen_text(app))


async def test_the_slider_answers_the_mouse(runs):
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_inspect(pilot)
        slider = view.query_one(NoiseSlider)
        first, width = slider._track
        # A click at the right end of the track is the kind's largest factor, at the left its smallest.
        await pilot.click(NoiseSlider, offset=(1 + first + width - 1, 0))
        chart = view.query_one(RobustnessChart)
        await wait_until(pilot, lambda: slider.factor == 5.0 and "what-if 5" in chart.headline())
        await wait_until(pilot, lambda: view.samples is not None and "gaussian 5 ·" in view.caption())
        # Dragging from there to the middle lands on a round step near 2.5.
        await pilot.mouse_down(NoiseSlider, offset=(1 + first + width - 1, 0))
        await pilot.hover(NoiseSlider, offset=(1 + first + width // 2, 0))
        await pilot.mouse_up(NoiseSlider, offset=(1 + first + width // 2, 0))
        step = factor_step("gaussian")
        assert abs(slider.factor - 2.5) <= 3 * step and round(slider.factor / step, 6).is_integer()
        await wait_until(pilot, lambda: f"gaussian {slider.factor:g} ·" in view.caption())
        # A click lands on the cell clicked: 10 cells along the track is 10/(width-1) of the range.
        await pilot.click(NoiseSlider, offset=(1 + first + 10, 0))  # the widget's padding is 1
        assert slider.factor == pytest.approx(round(10 / (width - 1) * 5.0 / step) * step)
        # A click on the kind's name moves to the next kind.
        await pilot.click(NoiseSlider, offset=(2, 0))
        assert slider.kind == "salt-pepper"


async def test_drawing_with_the_mouse_changes_the_input_and_the_output(runs):
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_inspect(pilot)
        await pilot.press("v", "v")  # the canvas
        canvas = view.query_one(DrawCanvas)
        noisy, denoised = view.query_one("#draw-noisy", PictureBox), view.query_one("#draw-denoised", PictureBox)
        await wait_until(pilot, lambda: "draw here:" in screen_text(app))
        assert canvas.is_blank and noisy.picture is None
        # A vertical stroke with the left button: a "1" (offsets count the border).
        await pilot.mouse_down(DrawCanvas, offset=(15, 3))
        for y in range(4, 13):
            await pilot.hover(DrawCanvas, offset=(15, y))
        await pilot.mouse_up(DrawCanvas, offset=(15, 12))
        await wait_until(pilot, lambda: denoised.picture is not None)
        ink = sum(canvas.pixels)
        column = [canvas.pixels[y * 28 + 14] for y in range(28)]
        assert max(column) > 200 and column[0] == 0  # painted where the mouse went, nowhere else
        assert canvas.pixels[14 * 28 + 2] == 0
        first_output = denoised.picture
        assert noisy.picture != first_output and "dB" in str(denoised.border_subtitle)
        # A crossbar makes it a "+": the input and the model's output both change.
        await pilot.mouse_down(DrawCanvas, offset=(8, 7))
        for x in range(9, 23):
            await pilot.hover(DrawCanvas, offset=(x, 7))
        await pilot.mouse_up(DrawCanvas, offset=(22, 7))
        await wait_until(pilot, lambda: denoised.picture != first_output)
        assert sum(canvas.pixels) > ink
        # The right button erases.
        await pilot.mouse_down(DrawCanvas, offset=(15, 5), button=3)
        await pilot.mouse_up(DrawCanvas, offset=(15, 5))
        assert canvas.pixels[8 * 28 + 14] < 128
        # More noise: the drawing's noisy version follows the slider too.
        shown = noisy.picture
        await pilot.press("plus")
        await wait_until(pilot, lambda: noisy.picture != shown)
        # c clears the canvas and the two pictures beside it.
        await pilot.press("c")
        await wait_until(pilot, lambda: canvas.is_blank and denoised.picture is None)
        assert "draw here:" in screen_text(app)


async def test_a_run_picked_on_the_runs_tab_is_inspected(runs, trained_run):
    # A second, newer run: the Inspect tab starts on the newest one; n on the Runs tab picks another.
    # (No sleep: folder names carry a random part, so one started in the same second is apart.)
    assert (
        cli.main(
            [
                "train",
                "--dataset",
                "mnist",
                "--source",
                "bundled",
                "--train-limit",
                "256",
                "--batch-size",
                "32",
                "--epochs",
                "1",
                "--noise",
                "mask",
                "--noise-factor",
                "0.3",
                "--runs-dir",
                str(runs),
            ]
        )
        == 0
    )
    (newest,) = [p.name for p in runs.iterdir() if p.is_dir() and p.name != trained_run.name]
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(120, 36)) as pilot:
        view = await open_inspect(pilot)
        assert view.inspector.name == newest and view.query_one(NoiseSlider).kind == "mask"
        await pilot.press("r")
        await wait_until(pilot, lambda: app.query("#runs-table") and app.query_one("#runs-table").row_count == 2)
        table = app.query_one("#runs-table")
        await wait_until(pilot, lambda: app.focused is table)
        await pilot.press("down", "n")  # the older run: newest first in the table
        await wait_until(pilot, lambda: app.query_one("#tabs").active == "inspect")
        await wait_until(pilot, lambda: view.inspector is not None and view.inspector.name == trained_run.name)
        await wait_until(pilot, lambda: view.query_one(NoiseSlider).kind == "gaussian" and view.samples is not None)
        assert f"{trained_run.name} · seed on mnist" in screen_text(app)


@pytest.mark.parametrize(("size", "all_at_once"), [((200, 60), True), ((100, 30), False), ((80, 24), False)])
async def test_big_terminals_show_every_section_small_ones_cycle_them(runs, size, all_at_once):
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=size) as pilot:
        await open_inspect(pilot)
        await wait_until(pilot, lambda: "what-if gaussian" in screen_text(app) or not all_at_once)

        def visible() -> set[str]:
            text = screen_text(app)
            shown = {"curve"} if "PSNR dB ↑ vs" in text else set()
            shown |= {"what-if"} if "what-if gaussian 0.5" in text and "denoised" in text else set()
            return shown | ({"draw"} if "╭─ draw" in text else set())

        if all_at_once:
            assert visible() == {"curve", "what-if", "draw"}
            assert "v View" not in screen_text(app)
            return
        seen = []
        for _ in range(3):
            await wait_until(pilot, lambda: len(visible()) == 1)
            seen.append(visible().pop())
            await pilot.press("v")
            await pilot.pause()
        assert seen == ["curve", "what-if", "draw"]
        assert "v View" in screen_text(app)
        # The picked section is named on the top line.
        assert "curve  what-if  draw (v)" in screen_text(app)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_curves_title_says_less_at_small_sizes_but_never_cuts_a_word(runs, size):
    from dae_tui.core.formatting import cells

    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=size) as pilot:
        view = await open_inspect(pilot)
        await pilot.press("plus")
        chart = view.query_one(RobustnessChart)
        await wait_until(pilot, lambda: chart.current is not None and chart.current != chart.trained)
        await pilot.pause()
        title = chart.headline()
        # At 80x24 Textual cut the title to `what-if …`: now whole items go, the what-if factor last.
        assert cells(title) <= chart.size.width - 2 and "…" not in title, (title, chart.size)
        assert title.startswith("PSNR dB ↑") and f"┆ {format_number(chart.current)}" in title.replace("what-if ", "")
