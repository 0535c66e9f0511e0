"""The dashboard at the sizes people have, and the behaviours that must not mislead about a run.

Each test drives the real app through Pilot and asserts on what is on screen (the compositor's
text), not only on widget state.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.pilot import collector, screen_text, wait_until
from rich.console import Console
from textual.widgets import Static

from dae_tui.core.config import TrainConfig
from dae_tui.core.events import BatchProgress, EpochEnd
from dae_tui.ui import DaeApp
from dae_tui.ui.dialogs.screens import HelpScreen, QuitScreen
from dae_tui.ui.keys import help_sections
from dae_tui.ui.messages import EngineLoaded
from dae_tui.ui.panes import ImageBrowser
from dae_tui.ui.widgets import ConfigForm, ImageStrip, LossChart
from dae_tui.ui.widgets.image_strip import choose_fit
from dae_tui.ui.widgets.loss_chart import log_ticks, nice_ticks


def tiny(**changes) -> TrainConfig:
    base = dict(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=1, threads=1)
    return TrainConfig(**{**base, **changes})


def long_run() -> TrainConfig:
    """Long enough to be caught mid-epoch: 8,000 images in batches of 8, 20 epochs."""
    return tiny(train_limit=None, batch_size=8, epochs=20)


async def finish(pilot) -> None:
    await pilot.press("s")
    await wait_until(pilot, lambda: pilot.app.state == "finished")
    await pilot.pause(0.2)


# --- sizes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "width, height, all_eight", [(80, 24, False), (100, 30, False), (120, 40, True), (200, 60, True)]
)
async def test_images_tab_shows_all_three_rows_without_scrolling(width, height, all_eight, tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(width, height)) as pilot:
        await finish(pilot)
        await pilot.press("i")
        await wait_until(pilot, lambda: "denoised" in screen_text(app))
        lines = screen_text(app).splitlines()
        for label in ("clean", "noisy", "denoised"):
            assert any(line.startswith(label) for line in lines), label
        # Both PSNR caption rows are on screen: the noisy one and, last, the denoised one.
        assert sum("dB" in line and "→" not in line for line in lines) >= 2
        assert app.query_one("#pictures").max_scroll_y == 0
        # The info line keeps the selected picture's PSNR before and after whole at any width.
        info = next(line for line in lines if "→" in line)
        psnr, ssim = r"\d+\.\d\d dB", r"( SSIM [\d.]+)?"
        assert re.search(rf"noisy {psnr}{ssim} → (denoised )?{psnr}{ssim} \([+-]\d+\.\d\d( dB)?\)", info), info
        text = "\n".join(lines)
        strip = app.query_one("#browser-strip", ImageStrip)
        if all_eight:
            assert strip.fit.visible == 8 and "▶" not in text
            assert all(f"#{i} digit {i - 1}" in text for i in range(1, 9))
        else:
            assert 3 <= strip.fit.visible < 8 and "▶" in text  # a hint: more to the right


async def test_selection_and_zoom_keep_the_selected_picture_in_view(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await finish(pilot)
        await pilot.press("i", "left")  # wraps to the last picture, off to the right
        await wait_until(pilot, lambda: "#8 digit 7" in screen_text(app))
        text = screen_text(app)
        assert "#8 digit 7" in text and "◀" in text and "#1 digit 0" not in text
        for _ in range(3):  # auto -> full -> half -> auto
            await pilot.press("z")
            await pilot.pause(0.1)
            assert "#8 digit 7" in screen_text(app)
            # The row labels never scroll away sideways.
            assert (
                any(line.startswith("clean") for line in screen_text(app).splitlines())
                or app.query_one(ImageBrowser).zoom == "full"
            )


def test_choose_fit_judges_width_and_height():
    # Tall and wide: all 8 at the largest size whose three rows fit; 28 px needs 250 columns.
    fit = choose_fit(200, 54)
    assert fit.visible == 8 and fit.size == 20 and fit.height <= 54
    # Short: the size is bounded by the height, and only some pictures fit beside each other.
    fit = choose_fit(80, 18)
    assert fit.height <= 18 and fit.size == 10 and fit.visible == 5
    # The smallest terminals still show something.
    assert choose_fit(30, 5).visible >= 1
    # Fixed sizes ignore the height (the view scrolls) but never the width.
    assert choose_fit(80, 18, zoom="full").size == 28 and choose_fit(80, 18, zoom="full").visible == 2


async def test_big_terminal_shows_chart_and_pictures_together(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(200, 60)) as pilot:
        await finish(pilot)
        text = screen_text(app)
        assert "MSE ↑" in text and "denoised" in text and "#8 digit 7" in text
        chart, strip = app.query_one("#chart", LossChart), app.query_one("#train-strip", ImageStrip)
        assert chart.region.height >= 15 and strip.region.y > chart.region.y
        assert app.query_one(ConfigForm).region.width <= 42  # the form takes what it needs


async def test_narrow_terminal_stacks_form_and_chart(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form, chart = app.query_one(ConfigForm), app.query_one("#chart", LossChart)
        assert chart.region.y > form.region.y and chart.region.width >= 70
        assert not app.query_one("#train-strip").display
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        form, chart = app.query_one(ConfigForm), app.query_one("#chart", LossChart)
        assert chart.region.x > form.region.x and chart.region.y == form.region.y


async def test_the_first_screen_is_born_with_its_size_classes_and_resizing_still_moves_them(tmp_path):
    """The breakpoint classes are on the screen before its widgets are styled (restyling them all
    at the first resize cost the first frame ~40 ms), and they follow later resizes."""
    seen = []
    for size, classes in (((80, 24), {"-narrow", "-short"}), ((200, 60), {"-wide", "-tall"})):
        app = DaeApp(tiny(), runs_dir=tmp_path)
        async with app.run_test(size=size) as pilot:
            seen.append(set(app.screen.classes))
            assert set(app.screen.classes) == classes
            await pilot.resize_terminal(120, 50)
            await pilot.pause()
            assert set(app.screen.classes) == {"-normal", "-tall"}
    assert seen[0] != seen[1]


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (200, 60)])
async def test_best_test_value_is_on_the_train_tab_at_every_size(size, tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=size) as pilot:
        await finish(pilot)
        await pilot.press("g")  # log scale too
        await pilot.pause(0.2)
        best = app.query_one("#chart", LossChart).best
        assert best is not None
        await wait_until(pilot, lambda: f"best {best[1]:.5f}" in screen_text(app))
        text = screen_text(app)
        assert f"best {best[1]:.5f} @ epoch 1" in text
        assert f"best test MSE {best[1]:.5f} @ epoch 1" in text  # and in the status line


async def test_status_at_80_columns_keeps_eta_device_and_best(tmp_path):
    seen, hook = collector()
    app = DaeApp(long_run(), runs_dir=tmp_path)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: any(isinstance(e, EpochEnd) for e in seen))
        await wait_until(pilot, lambda: isinstance(seen[-1], BatchProgress) and seen[-1].epoch == 2)
        await wait_until(pilot, lambda: "Epoch 2/20" in screen_text(app))
        status = screen_text(app).splitlines()[-3:-1]
        assert "ETA" in status[0] and "Epoch 2/20" in status[0]
        assert status[1].lstrip().startswith("cpu") and "best test MSE" in status[1]
        await pilot.press("p")
        await wait_until(pilot, lambda: app.state == "paused")
        await pilot.pause(0.1)
        line = screen_text(app).splitlines()[-3]
        assert "paused" in line and "ETA" not in line and "img/s" not in line
        await pilot.press("x")
        await wait_until(pilot, lambda: app.state == "stopped")


# --- chart ----------------------------------------------------------------------------------


async def test_chart_draws_axes_before_the_first_point_and_marks_one_epoch(tmp_path, monkeypatch):
    from dae_tui.training import trainer as trainer_module

    monkeypatch.setattr(trainer_module, "PROGRESS_INTERVAL_S", 0.0)  # progress after every batch
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        chart = app.query_one("#chart", LossChart)
        idle = str(chart.render())
        assert "┤" in idle and "epoch" in idle and "MSE ↑" in chart.border_title
        await finish(pilot)
        drawn = str(chart.render())
        # One epoch: its train and test points are markers, told apart without colour.
        assert "○" in drawn and ("●" in drawn or "◆" in drawn)
        assert "○ train ● test ◆ best" in chart.border_title
        # The running train loss was drawn within the epoch, not only at its end.
        assert len([x for x, _ in chart.running if 0 < x < 1]) >= 5


def test_ticks_are_round():
    assert nice_ticks(0.0612, 0.1934) == [0.08, 0.12, 0.16] or nice_ticks(0.0612, 0.1934)[0] * 100 % 1 == 0
    for low, high in ((0.012, 0.21), (0.061, 0.072), (0.0004, 0.9)):
        ticks = log_ticks(low, high)
        assert len(ticks) >= 2 and all(low * 0.99 <= t <= high * 1.01 for t in ticks)
        assert all(float(f"{t:.2g}") == t for t in ticks), ticks  # one or two significant digits


async def test_clamp_shows_its_state_without_colour(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        clamp = app.query_one("#field-clamp")
        assert "X" not in str(clamp.render()) and "off" in str(clamp.render())
        clamp.value = True
        await pilot.pause()
        assert "X" in str(clamp.render()) and "on" in str(clamp.render())


async def test_resizing_mid_epoch_and_switching_tabs_never_leaves_a_blank_tab(tmp_path):
    seen, hook = collector()
    app = DaeApp(long_run(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: any(isinstance(e, BatchProgress) for e in seen))
        await pilot.press("i")
        for size in ((80, 24), (200, 60), (120, 40)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.2)
            text = screen_text(app)
            assert "denoised" in text and text.count("▀") > 100, size
        await pilot.press("t")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.2)
        assert "┤" in screen_text(app)
        await pilot.press("x")
        await wait_until(pilot, lambda: app.state == "stopped")
        # The sequence that left the Log tab blank: Images, z, ↓, then Log.
        await pilot.press("i", "z", "down", "l")
        await pilot.pause(0.3)
        assert "stopped: epoch" in screen_text(app)


# --- behaviour ------------------------------------------------------------------------------


async def one_finished_epoch(runs_dir: Path) -> Path:
    app = DaeApp(tiny(), runs_dir=runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish(pilot)
    (run_dir,) = runs_dir.iterdir()
    return run_dir


async def test_resume_mode_shows_the_run_locks_the_recipe_and_survives_a_failed_start(tmp_path, no_debian):
    runs = tmp_path / "runs"
    run_dir = await one_finished_epoch(runs)
    empty = tmp_path / "empty"
    empty.mkdir()
    # Epochs raised, and a data source that cannot load: the first Start fails.
    app = DaeApp(tiny(epochs=2, source="local", data_dir=str(empty)), runs_dir=runs, resume=run_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.query_one("#chart", LossChart).epochs == [1]  # the earlier epoch, before Start
        text = screen_text(app)
        assert f"resuming {run_dir.name} at epoch 2/2" in text
        assert app.query_one("#field-lr").disabled and not app.query_one("#field-epochs").disabled
        assert "greyed fields are its recipe" in text
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "failed")
        assert app.resume is not None  # still resuming: the next Start does not make a new run
        assert [p.name for p in runs.iterdir()] == [run_dir.name]
        app.query_one("#field-source").value = "bundled"
        app.query_one("#field-data_dir").value = ""
        await pilot.pause()
        await pilot.press("escape", "s")
        await wait_until(pilot, lambda: app.state == "finished")
        assert app.query_one("#chart", LossChart).epochs == [1, 2] and app.resume is None
        assert [p.name for p in runs.iterdir()] == [run_dir.name]
        assert not app.query_one("#field-lr").disabled


async def test_resuming_a_finished_run_asks_for_more_epochs_and_n_starts_afresh(tmp_path):
    runs = tmp_path / "runs"
    run_dir = await one_finished_epoch(runs)
    app = DaeApp(tiny(), runs_dir=runs, resume=run_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "raise Epochs" in screen_text(app)
        await pilot.press("s")
        await pilot.pause()
        assert app.state == "idle" and any("raise Epochs" in n.message for n in app._notifications)
        await pilot.press("N")
        await pilot.pause()
        assert app.resume is None and not app.query_one("#field-lr").disabled
        assert app.query_one("#chart", LossChart).epochs == []
        await finish(pilot)
    assert len(list(runs.iterdir())) == 2


def test_a_bad_resume_path_is_one_line_and_exit_2_at_launch(tmp_path):
    script = Path(sys.executable).with_name("dae-tui")
    out = subprocess.run(
        [str(script), "--resume", str(tmp_path / "nothing")], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "no checkpoint there" in out.stderr


async def test_quit_mid_run_asks_then_says_how_to_resume(tmp_path):
    seen, hook = collector()
    app = DaeApp(long_run(), runs_dir=tmp_path)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: any(isinstance(e, EpochEnd) for e in seen))
        await pilot.press("q")
        await wait_until(pilot, lambda: "s: stop it" in screen_text(app))
        assert isinstance(app.screen, QuitScreen) and "epoch 1/20 is saved" in app.screen.question.lower()
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen) and not app.trainer.stop_requested
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitScreen))
        # The run goes on behind the question, and the question follows it.
        done = max(e.epoch for e in seen if isinstance(e, EpochEnd))

        def says_latest() -> bool:
            latest, shown = app.last_epoch_done, str(app.screen.query_one("#confirm-question", Static).render())
            return latest > done and f"epoch {latest}/20 is saved" in shown.lower()

        await wait_until(pilot, says_latest, 120)
        await pilot.press("s")  # stop it (a second q keeps it training in the background)
    app.training_idle.wait(30)
    note = app.resume_note()
    run_dir = app.run_dir
    assert note is not None and run_dir in note and "after epoch" in note
    assert f"dae-tui --resume {run_dir}" in note


async def test_quit_when_idle_does_not_ask(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0 and app.resume_note() is None


async def test_x_while_torch_loads_cancels_the_pending_start(tmp_path, monkeypatch):
    monkeypatch.setattr(DaeApp, "load_engine", lambda self: None)  # torch "still loading"
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        assert app.state == "loading" and "x cancels" in screen_text(app)
        await pilot.press("x")
        await pilot.pause()
        assert app.state == "idle"
        app.post_message(EngineLoaded())
        await pilot.pause(0.3)
        assert app.trainer is None and app.state == "idle"
    assert list(tmp_path.iterdir()) == []


def shown_keys(app) -> list[str]:
    return [b.binding.description for b in app.screen.active_bindings.values() if b.binding.show]


async def test_footer_shows_only_keys_that_do_something(tmp_path):
    app = DaeApp(long_run(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        keys = shown_keys(app)
        assert "Start" in keys and "Pause" not in keys and "Stop" not in keys
        assert "Pause" not in screen_text(app).splitlines()[-1]
        await pilot.press("p")
        await pilot.pause()
        assert any("Nothing is running" in n.message for n in app._notifications)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "training")
        keys = shown_keys(app)
        assert "Pause" in keys and "Stop" in keys and "Start" not in keys
        await pilot.press("p")
        await wait_until(pilot, lambda: app.state == "paused")
        assert "Continue" in shown_keys(app)
        await pilot.press("i")
        await pilot.pause()
        assert "Size" in shown_keys(app) and "Log scale" not in shown_keys(app)
        await pilot.press("x")
        await wait_until(pilot, lambda: app.state == "stopped")


async def test_help_screen_lists_every_tab_and_closes(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        for opener, closer in (("question_mark", "escape"), ("f1", "question_mark")):
            await pilot.press(opener)
            await wait_until(pilot, lambda: "Everywhere" in screen_text(app))
            assert isinstance(app.screen, HelpScreen)
            text = screen_text(app)
            for words in ("Everywhere", "Train", "pause", "quit"):
                assert words in text
            # The rest is a scroll away.
            console = Console(width=100, record=True, file=io.StringIO())
            for section, rows in help_sections():
                console.print(HelpScreen()._table(section, rows))
            keys = console.export_text()
            for words in ("Images", "picture size", "Runs", "delete it", "MSE or PSNR"):
                assert words in keys
            await pilot.press(closer)
            await pilot.pause()
            assert not isinstance(app.screen, HelpScreen)


def test_help_names_every_bound_key():
    """The help is generated from the bindings: each binding of the App and of every pane is in its
    section, by a row of its own or named in another's keys or words (`p` continues, Esc clears)."""
    from textual.binding import Binding

    from dae_tui.ui.keys import NAMES, Key, key_label, key_section, owners

    sections = dict(help_sections())
    for section, owner in owners():
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding)
            where = key_section(binding) or section if isinstance(binding, Key) else None
            listed = (
                " ".join(f"{keys} {does}" for keys, does in sections[where])
                if where
                else " ".join(f"{keys} {does}" for rows in sections.values() for keys, does in rows)
            )
            for key in binding.key.split(","):
                label = binding.key_display if binding.key_display and "," not in binding.key else NAMES.get(key, key)
                assert label in listed, (owner.__name__, key)
            assert key_label(binding)


async def test_command_palette_offers_the_apps_actions_and_screenshots_land_in_the_runs_dir(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Start a run", "Log scale", "Picture size", "Images tab", "Keys"):
            assert title in titles
        assert "Screenshot" in titles or "Save screenshot" in titles  # Textual's, renamed in 6.4
        assert titles.count("Keys") == 1
        path = app.deliver_screenshot()
        await pilot.pause()
        assert path is not None and Path(path).parent == tmp_path and Path(path).is_file()
        assert any(n.title == "Screenshot saved" and path in n.message for n in app._notifications)


async def test_each_tab_owns_its_keys_and_the_palette_runs_them_on_its_pane(tmp_path):
    """The Images and Inspect keys are declared on their panes, not the App; the screen hands the
    shown pane the keys, and the palette runs a pane's entry on that pane."""
    from textual.actions import parse

    from dae_tui.ui.panes.inspect import InspectView

    app_actions = {parse(binding.action)[1] for binding in DaeApp.BINDINGS}
    for pane in (ImageBrowser, InspectView):
        assert not app_actions & {parse(binding.action)[1] for binding in pane.BINDINGS}, pane.__name__
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        assert "Next noise kind" not in commands  # the Inspect tab is not shown
        await commands["Picture size"].callback()  # from the Train tab: it works from any tab
        await pilot.pause()
        assert app.query_one(ImageBrowser).zoom == "full"
        await pilot.press("n")
        await wait_until(pilot, lambda: app.dashboard.keys_owner is not None)
        view = app.query_one(InspectView)
        assert app.dashboard.keys_owner is view
        assert "Next noise kind" in [command.title for command in app.get_system_commands(app.screen)]
        await pilot.press("v")
        await pilot.pause()
        assert view.view == "whatif"
        await pilot.press("i")
        await pilot.pause()
        assert app.dashboard.keys_owner is app.query_one(ImageBrowser)
        await pilot.press("t")
        await pilot.pause()
        assert app.dashboard.keys_owner is None
        await pilot.press("z")  # not the Images tab's key here
        await pilot.pause()
        assert app.query_one(ImageBrowser).zoom == "full"


async def test_images_keys_work_whatever_has_focus(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish(pilot)
        await pilot.press("i")
        browser = app.query_one(ImageBrowser)
        for focus_key in ("tab", "shift+tab", "tab"):
            await pilot.press(focus_key)
            before = browser.selected
            await pilot.press("right")
            await pilot.pause()
            assert browser.selected == (before + 1) % 8
            assert app.query_one("#tabs").active == "images"


async def test_messages_use_form_labels_short_quotes_and_plain_numbers(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.query_one("#field-lr").value == "1e-3"
        assert app.query_one("#field-weight_decay").value == "1e-5"
        app.query_one("#field-lr").value = "0"
        app.query_one("#field-epochs").value = "9" * 5000
        await pilot.pause()
        await pilot.press("escape", "s")
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert "Fix the form first: Learning rate must be a number above 0 to 1 (got 0)" in notes
        error = str(app.query_one("#error-epochs").render())
        assert len(error) < 120 and "5,000 characters" in error
        assert "form: 2 fields to fix" in screen_text(app)
        app.query_one("#field-lr").value = "1e-3"
        await pilot.pause()
        assert "form: 1 field to fix" in screen_text(app)


# --- no word cut, at any supported size (issue 18) ---------------------------------------------

CONNECTIVES = {"on", "to", "of", "vs", "at", "by", "and", "with", "from", "in"}
"""Words a line never ends on unless what followed them was cut away (`· seed on`)."""


@pytest.fixture(scope="module")
def studied_runs(tmp_path_factory) -> Path:
    """A finished Fashion-MNIST run and a 3-trial sweep over two log settings and a choice."""
    runs = tmp_path_factory.mktemp("cuts") / "runs"
    tiny_flags = [
        "--dataset",
        "fashion-mnist",
        "--source",
        "bundled",
        "--train-limit",
        "256",
        "--batch-size",
        "32",
        "--threads",
        "1",
        "--epochs",
        "1",
        "--runs-dir",
        str(runs),
    ]
    space = runs.parent / "space.toml"
    space.write_text(
        "lr = {log = [1e-4, 1e-2]}\nweight_decay = {log = [1e-6, 1e-3]}\nbatch_size = {choice = [32, 64]}\n"
    )
    for command in (["train", *tiny_flags], ["sweep", *tiny_flags, "--space", str(space), "--trials", "3"]):
        subprocess.run([sys.executable, "-m", "dae_tui", *command], check=True, capture_output=True, timeout=240)
    return runs


def known_words(runs: Path) -> set[str]:
    """Every word of the labels the app writes that a cut would shorten: class names, form
    labels and hints, key descriptions, run names, searched settings."""
    from dae_tui.core.config import CLASS_NAMES, FIELD_SPECS, NOISE_KINDS
    from dae_tui.ui.panes.runs import RunsView
    from dae_tui.ui.panes.sweep import SweepView
    from dae_tui.ui.runlabels import SETTING_NAMES

    labels = [part for names in CLASS_NAMES.values() for name in names for part in (name, name.split("/")[0])]
    labels += [spec.label for spec in FIELD_SPECS.values()] + [kind.short for kind in NOISE_KINDS.values()]
    labels += [b.description for b in [*DaeApp.BINDINGS, *RunsView.BINDINGS, *SweepView.BINDINGS]]
    labels += list(SETTING_NAMES.values())  # the settings column's abbreviations (`ep 1`, `cl off`)
    labels += [p.name for p in runs.iterdir()] + [
        "lr",
        "weight_decay",
        "batch_size",
        "complete",
        "pruned",
        "trials",
        "finished",
        "epoch",
        "denoised",
        "noisy",
        "clean",
    ]
    words = {word for label in labels for word in label.split()}
    # Whole words the app and its README use (MSE, No, ...), which a longer label may start with.
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    return words | {word.rstrip(".,:;") for word in re.findall(r"[\w][\w/.+-]*", readme)}


def cut_words(text: str, vocabulary: set[str]) -> list[str]:
    """What on `text` reads as a label cut short: a token that is no known word but starts one
    (`Pullove`, `St`, `T-shi`, a run cut to `202`), a number or letters cut by `…` (`(13.5…`,
    `l…`), a line or a bordered region ending on a connective (`· seed on`)."""
    found = []
    for line in text.splitlines():
        for match in re.finditer(r"[\w][\w/.+-]*(…)?", line):
            token, cut = match.group(0).rstrip("….,:;"), match.group(1)
            starts = any(w.startswith(token) and w != token for w in vocabulary)
            if token in vocabulary or token.lower() in vocabulary:
                continue
            if token[0].isdigit():  # a number is only a cut when it starts a run's name (`202`)
                starts = len(token) >= 3 and any(w.startswith(token) and len(w) > 20 for w in vocabulary)
            if starts and (cut or len(token) >= 2):
                found.append(match.group(0))
            elif cut and re.fullmatch(r"[\d.]+", token):
                found.append(match.group(0))
        for region in re.split(r"[│▕▏┃┤├┐┌]|─{2,}| {3,}", line):
            words = region.split()
            if words and words[-1] in CONNECTIVES:
                found.append(region.strip())
    return found


@pytest.mark.parametrize("width, height", [(80, 24), (100, 30), (120, 40), (200, 60)])
async def test_no_tab_shows_a_word_cut_short(width, height, studied_runs):
    vocabulary = known_words(studied_runs)
    app = DaeApp(tiny(dataset="fashion-mnist", noise="salt-pepper"), runs_dir=studied_runs)
    async with app.run_test(size=(width, height)) as pilot:
        await pilot.pause(0.5)
        screens = {}
        for tab in ("t", "r", "w", "l"):
            await pilot.press(tab)
            await pilot.pause(0.5)
            if tab == "w":
                await wait_until(pilot, lambda: "trials" in screen_text(app))
                await pilot.pause(0.5)
            screens[tab] = screen_text(app)
        await pilot.press("r", "enter")  # open the finished run: its pictures and curves
        await pilot.pause(0.5)
        for tab in ("i", "n"):
            await pilot.press(tab)
            await pilot.pause(0.5)
            if tab == "n":
                await wait_until(pilot, lambda: "test images" in screen_text(app) or "epoch 1/1" in screen_text(app))
            screens[tab] = screen_text(app)
        await pilot.press("t", "m")  # the chart in PSNR dB
        await pilot.pause(0.3)
        screens["m"] = screen_text(app)
        # Every line, the two status lines above the footer too (they drop whole words now).
        cuts = {tab: cut_words(text, vocabulary) for tab, text in screens.items()}
        for tab, text in screens.items():
            assert cuts[tab] == [], (tab, cuts[tab], text)
        # z always says which size is drawn, and auto says how big it came out.
        await pilot.press("i")
        for zoom in ("auto", "full", "half"):
            await pilot.pause(0.3)
            info = screen_text(app).splitlines()[2]
            assert re.search(rf"{zoom}( size)? \d+ ?px", info), info
            await pilot.press("z")
        # The sweep's log settings are read in the values typed, never as exponents.
        await pilot.press("w")
        await pilot.pause(0.5)
        sweep = screen_text(app)
        assert re.search(r"\de-\d", sweep) and not re.search(r"-\d\.\d\d\s+-\d\.\d\d", sweep)
        assert "(log10)" not in sweep


def test_the_cut_scan_catches_the_cuts_once_seen():
    vocabulary = {"Pullover", "T-shirt/top", "Start", "lr", "20261203-165857-fashion-mnist-seed", "MSE/PSNR"}
    for seen in (
        "#3 Pullove   #1 T-shi",
        "o Sort s St",
        "─PSNR dB ↑ vs l…──",
        "best 0.0412 (13.5…",
        "mark trial run │ 202",
        "20261203-165857-fashion-mnist-seed · seed on",
        "↳ share of pixels to",
    ):
        assert cut_words(seen, vocabulary), seen
    assert cut_words("#3 Pullover · s Start · lr 2e-3 · share of pixels…", vocabulary) == []


async def test_log_lines_wrap_again_after_the_terminal_shrinks(tmp_path):
    from dae_tui.ui.panes.log import LogView

    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("l")
        await pilot.pause(0.2)
        app.query_one(LogView).write("word " * 30 + "END")
        await pilot.pause(0.2)
        assert any("word " * 30 + "END" in line for line in screen_text(app).splitlines())  # one line at 200
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        assert "END" in screen_text(app)  # wrapped anew, not clipped at 80
