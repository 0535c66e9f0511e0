"""The dashboard driven through Textual's Pilot: form validation, a real tiny run, controls."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from helpers.pilot import collector, screen_text, wait_until
from rich.console import Console
from textual.widgets import Input, RichLog, Static

from dae_tui.core.config import FIELD_SPECS, TrainConfig
from dae_tui.core.events import BatchProgress, EpochEnd, RunStarted, RunStopped
from dae_tui.ui import DaeApp
from dae_tui.ui.panes import ImageBrowser
from dae_tui.ui.panes.images import ImageStrip
from dae_tui.ui.widgets import ConfigForm, LossChart, RunStatus

SIZE = (100, 30)


def tiny(**changes) -> TrainConfig:
    base = dict(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=2, threads=1)
    return TrainConfig(**{**base, **changes})


@pytest.mark.parametrize(
    "field, text, message",
    [
        ("noise_factor", "lots", "must be a number in the noise kind's range (got 'lots')"),
        (
            "noise_factor",
            "7",
            "must be from 0 to 5 for gaussian noise, the standard deviation of the added noise (got 7)",
        ),
        ("batch_size", "0", "must be a whole number from 1 to 8192 (got 0)"),
        ("lr", "0", "must be a number above 0 to 1 (got 0)"),
        ("weight_decay", "-1", "must be a number from 0 to 1 (got -1)"),
        ("epochs", "1.5", "must be a whole number from 1 to 10000 (got '1.5')"),
        ("seed", "-3", "must be a whole number from 0 to 2147483647 (got -3)"),
        ("train_limit", "0", "must be a whole number from 1 to 10000000, or empty for all (got 0)"),
        ("threads", "many", "must be a whole number from 0 to 1024 (got 'many')"),
        ("data_dir", "/no/such/dir", "must be an existing folder (got '/no/such/dir')"),
    ],
)
async def test_invalid_field_shows_its_message_and_start_does_nothing(field, text, message, tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        form = app.query_one(ConfigForm)
        app.query_one(f"#field-{field}", Input).value = text
        # The message line is mounted after a refresh: wait for it, not for one pause.
        await wait_until(pilot, lambda: bool(app.query(f"#error-{field}.-shown")), timeout=10)
        error = app.query_one(f"#error-{field}", Static)
        assert error.has_class("-shown") and str(error.render()) == message
        assert app.query_one(f"#row-{field}").has_class("-invalid")
        assert form.config is None and [e.field for e in form.errors] == [field]
        await pilot.press("escape", "s")
        await pilot.pause(0.2)
        assert app.state == "idle" and app.trainer is None
        assert list(tmp_path.iterdir()) == []
        # Fixing the field clears the mark.
        app.query_one(f"#field-{field}", Input).value = "" if field == "data_dir" else "1"
        # Judged after the next refresh, which a reading of the machine arriving then can delay.
        await wait_until(pilot, lambda: form.config is not None, timeout=10)
        assert not error.has_class("-shown")


async def test_form_messages_are_the_clis(tmp_path):
    from dae_tui.core.config import ConfigError, config_from_strings

    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#field-epochs", Input).value = "0"
        await pilot.pause()
        form_error = app.query_one(ConfigForm).errors[0]
    with pytest.raises(ConfigError) as info:
        config_from_strings({"epochs": "0"})
    assert str(info.value) == str(form_error)


async def test_form_covers_every_config_field_and_round_trips(tmp_path):
    config = tiny(noise_factor=0.3, clamp=True, lr=0.002, seed=7)
    app = DaeApp(config, runs_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        form = app.query_one(ConfigForm)
        for name in FIELD_SPECS:
            assert app.query(f"#field-{name}")
        assert form.config == config


async def test_tiny_run_fills_the_chart_and_the_images(tmp_path):
    seen, hook = collector()
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "finished")
        chart = app.query_one("#chart", LossChart)
        assert chart.epochs == [1, 2] and len(chart.train_mse) == 2 and len(chart.test_mse) == 2
        assert chart.best is not None and chart.best[1] == min(chart.test_mse)
        status = app.query_one(RunStatus)
        assert (status.epoch, status.epochs) == (2, 2)
        assert "bundled offline sample" in status.where
        browser = app.query_one(ImageBrowser)
        assert sorted(browser.history) == [0, 1, 2]
        assert len(browser.history[2].denoised) == 8
        await pilot.press("i")
        await pilot.pause(0.2)
        strip = app.query_one("#browser-strip", ImageStrip)
        assert strip.rows[2].pictures == browser.history[2].denoised and strip.size.width > 0
        console = Console(width=400, record=True, file=io.StringIO())
        console.print(strip.render())
        text = console.export_text()
        # Three rows of the pictures in view, each of the size the strip chose.
        fit = strip.fit
        assert text.count("▀") >= 3 * fit.visible * fit.size * fit.cell_rows
        assert "clean" in text and "noisy" in text and "denoised" in text
        info = str(browser.query_one("#info", Static).render())
        assert info.startswith("epoch 2/2 (latest)")
        await pilot.press("right")
        assert browser.selected == 1
        assert "#2/8 digit 1: noisy" in str(browser.query_one("#info", Static).render())
        await pilot.press("left_square_bracket")
        assert browser.shown_epoch == 1
        assert str(browser.query_one("#info", Static).render()).startswith("epoch 1/2 ([ ] to step)")
        await pilot.press("right_square_bracket")
        assert browser.shown_epoch == 2 and browser.viewing is None
        await pilot.press("l")
        await pilot.pause(0.2)
        log = "\n".join(str(line.text) for line in app.query_one("#log-view", RichLog).lines)
        assert "checkpoint saved" in log and "finished 2 epochs" in log
    ends = [e for e in seen if isinstance(e, EpochEnd)]
    assert [e.epoch for e in ends] == [1, 2]


async def test_log_scale_toggles_with_and_without_data(tmp_path):
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one("#chart", LossChart)
        await pilot.press("g")
        await pilot.pause()
        assert chart.log_scale
        for epoch, (train, test) in enumerate([(0.08, 0.05), (0.03, 0.02), (0.02, 0.018)], 1):
            chart.add_epoch(epoch, train, test)
        await pilot.pause()
        assert "MSE (log)" in chart.border_title and "best 0.01800 @ epoch 3" in chart.border_title
        assert "0.02" in str(chart.render())  # a round tick on the log axis
        await pilot.press("g")
        await pilot.pause()
        assert not chart.log_scale and "epoch" in str(chart.render())


async def test_pause_holds_the_batch_counter_and_resume_moves_it(tmp_path, monkeypatch):
    from dae_tui.training import trainer as trainer_module

    monkeypatch.setattr(trainer_module, "PROGRESS_INTERVAL_S", 0.0)
    seen, hook = collector()
    app = DaeApp(tiny(train_limit=None, batch_size=8, epochs=20), runs_dir=tmp_path)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: len([e for e in seen if isinstance(e, BatchProgress)]) >= 3)
        await pilot.press("p")
        await wait_until(pilot, lambda: app.state == "paused")
        held = len([e for e in seen if isinstance(e, BatchProgress)])
        bar = app.query_one(RunStatus).batch_done
        await pilot.pause(0.5)
        assert len([e for e in seen if isinstance(e, BatchProgress)]) == held
        assert app.query_one(RunStatus).batch_done == bar
        await pilot.press("p")
        await wait_until(pilot, lambda: len([e for e in seen if isinstance(e, BatchProgress)]) > held + 2)
        assert app.state == "training"
        await pilot.press("x")
        await wait_until(pilot, lambda: app.state == "stopped")
        assert isinstance(seen[-1], RunStopped)


async def test_quit_mid_run_stops_the_worker_and_keeps_the_checkpoint(tmp_path):
    seen, hook = collector()
    app = DaeApp(tiny(train_limit=None, batch_size=16, epochs=50), runs_dir=tmp_path)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: any(isinstance(e, EpochEnd) for e in seen))
        trainer = app.trainer
        await pilot.press("q")  # asks first
        await pilot.pause()
        assert not trainer.stop_requested
        await pilot.press("s")  # stop it (Enter or a second q would keep it training in the background)
    assert trainer is not None and trainer.stop_requested
    assert app.return_value == 0
    (run_dir,) = tmp_path.iterdir()
    assert (run_dir / "checkpoint.pt").is_file()
    import torch

    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"] >= 1


async def test_a_failing_run_is_reported_not_raised(tmp_path, no_debian):
    app = DaeApp(tiny(source="local", data_dir=str(tmp_path)), runs_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "failed")
        assert any("no mnist IDX files" in n.message for n in app._notifications)
        await pilot.press("l")
        await pilot.pause(0.2)
        log = "\n".join(str(line.text) for line in app.query_one("#log-view", RichLog).lines)
        assert "failed: no mnist IDX files" in log


async def test_a_crashing_worker_is_reported_not_raised(tmp_path, monkeypatch):
    from dae_tui.training.trainer import Trainer

    def explode(self):
        raise RuntimeError("boom in the engine")
        yield  # pragma: no cover

    monkeypatch.setattr(Trainer, "run", explode)
    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "failed")
        assert any("boom in the engine" in n.message for n in app._notifications)


async def one_finished_epoch(runs_dir):
    """Train one epoch in the app and return its run folder."""
    first = DaeApp(tiny(epochs=1), runs_dir=runs_dir)
    async with first.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: first.state == "finished")
    (run_dir,) = runs_dir.iterdir()
    return run_dir


async def test_resume_from_the_app_continues_the_run(tmp_path):
    run_dir = await one_finished_epoch(tmp_path)
    seen, hook = collector()
    from dae_tui.cli import parse_invocation
    from dae_tui.ui import make_app

    again = make_app(parse_invocation(["--resume", str(run_dir), "--epochs", "2", "--runs-dir", str(tmp_path)]))
    async with again.run_test(size=SIZE, message_hook=hook) as pilot:
        # The form shows the run's own recipe (not the defaults), with --epochs on top.
        assert again.query_one(ConfigForm).config == tiny(epochs=2)
        await pilot.press("s")
        await wait_until(pilot, lambda: again.state == "finished")
        assert again.query_one("#chart", LossChart).epochs == [1, 2]
    started = [e for e in seen if isinstance(e, RunStarted)][0]
    assert started.start_epoch == 2


async def test_resume_refuses_a_changed_recipe_at_launch(tmp_path):
    from dae_tui.cli import parse_invocation
    from dae_tui.core.config import ConfigError
    from dae_tui.ui import make_app

    run_dir = await one_finished_epoch(tmp_path)
    with pytest.raises(ConfigError, match="--lr cannot change on --resume"):
        make_app(parse_invocation(["--resume", str(run_dir), "--lr", "0.01"]))


def test_first_frame_needs_no_torch_nor_the_hidden_tabs():
    """Importing the CLI and the app, and mounting the app, leave torch unimported, and the
    modules of the tabs that are not shown: each is mounted when first shown, and the lines the
    Log tab was given before that are in it then."""
    code = """
import sys, asyncio
import dae_tui.cli, dae_tui.ui
from dae_tui.ui import DaeApp
assert "torch" not in sys.modules, "import"
DaeApp.load_engine = lambda self: None  # keep the background import out of this check
async def main():
    app = DaeApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "torch" not in sys.modules, "mount"
        assert app.query_one("Footer")
        tabs = ("dae_tui.ui.panes.log", "textual.widgets._rich_log", "dae_tui.ui.panes.runs",
                "dae_tui.ui.panes.sweep", "dae_tui.ui.panes.inspect", "dae_tui.ui.dialogs.screens")
        loaded = [name for name in tabs if name in sys.modules]
        assert not loaded, loaded
        app.log_line("written before the Log tab was shown")
        await pilot.press("l")
        await pilot.pause(0.2)
        lines = [str(line.text) for line in app.query_one("#log-view").lines]
        assert "written before the Log tab was shown" in lines, lines
        assert any(line.startswith("dae-tui ready") for line in lines), lines
asyncio.run(main())
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


async def test_the_engine_import_starts_once_the_footer_keys_are_painted(tmp_path, monkeypatch):
    """The import holds the GIL for long stretches, so it waits for the last part of the first
    frame (the footer's keys), and starts once however often it is asked."""
    calls = []
    monkeypatch.setattr(DaeApp, "_load_engine", lambda self: calls.append(list(self.query("FooterKey"))))
    app = DaeApp(TrainConfig(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: calls)
        assert calls[0], "the footer showed no keys when the import began"
        app.load_engine()
        await pilot.pause(0.1)
        assert len(calls) == 1


async def test_the_footer_rebuilds_once_for_many_binding_changes_and_shows_the_last(tmp_path, monkeypatch):
    """Textual's footer rebuilt all its keys for each refresh_bindings(); ours once a refresh,
    from the bindings as they are when it runs."""
    from dae_tui.ui.widgets import KeysFooter

    monkeypatch.setattr(DaeApp, "load_engine", lambda self: None)
    rebuilds = []
    original = KeysFooter.recompose

    async def counted(self):
        rebuilds.append(1)
        await original(self)

    monkeypatch.setattr(KeysFooter, "recompose", counted)
    app = DaeApp(TrainConfig(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.query("FooterKey"))
        await pilot.pause(0.2)
        before = len(rebuilds)
        for _ in range(5):
            app.refresh_bindings()
        await pilot.pause(0.2)
        assert len(rebuilds) - before == 1
        # then the keys change (the Images tab's): the rebuild reads them as they are when it runs;
        # the tab switch may refresh the bindings more than once, and they still coalesce
        before = len(rebuilds)
        app.query_one("#tabs").active = "images"
        await wait_until(pilot, lambda: any(k.action == "zoom" for k in app.query("FooterKey")))
        await pilot.pause(0.2)
        assert 1 <= len(rebuilds) - before <= 2


def test_progress_messages_merge_but_other_events_do_not():
    from dae_tui.core.events import Notice
    from dae_tui.ui.messages import EngineProgress, wrap

    progress = wrap(BatchProgress(1, 2, 3, 10, 0.1, 100.0, 5.0))
    newer = wrap(BatchProgress(1, 2, 4, 10, 0.1, 100.0, 4.0))
    notice = wrap(Notice("hello"))
    assert isinstance(progress, EngineProgress) and not isinstance(notice, EngineProgress)
    assert progress.can_replace(newer)
    assert not progress.can_replace(notice) and not notice.can_replace(newer)


def test_every_engine_event_has_its_own_message_class():
    import typing

    from dae_tui.core.events import Event
    from dae_tui.ui.messages import MESSAGES, EngineEvent

    events = set(typing.get_args(Event))
    assert set(MESSAGES) == events
    assert len(set(MESSAGES.values())) == len(events)  # one class each: one `on_engine_...` handler each
    assert all(issubclass(m, EngineEvent) and m is not EngineEvent for m in MESSAGES.values())


async def test_choice_fields_step_with_arrows_and_pick_from_their_list(tmp_path):
    from dae_tui.ui.widgets.choice import Choice, ChoiceMenu

    app = DaeApp(tiny(), runs_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        form = app.query_one(ConfigForm)
        dataset = app.query_one("#field-dataset", Choice)
        dataset.focus()
        await pilot.press("right")
        await pilot.pause()
        assert dataset.value == "fashion-mnist" and form.config.dataset == "fashion-mnist"
        await pilot.press("left")
        await pilot.pause()
        assert form.config.dataset == "mnist"
        # Enter opens the list under the field, at the current value; down + enter picks.
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceMenu)
        assert app.screen.query_one("OptionList").highlighted == 0
        await pilot.press("down", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceMenu)
        assert form.config.dataset == "fashion-mnist" and app.focused is dataset
        # Escape closes the list and changes nothing; so does a click beside it.
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("down", "escape")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceMenu) and form.config.dataset == "fashion-mnist"
        await pilot.click("#field-noise")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceMenu)
        await pilot.click(offset=(90, 25))
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceMenu) and form.config.noise == "gaussian"


async def test_a_value_outside_the_choices_is_kept_and_shown(tmp_path):
    from dae_tui.ui.widgets.choice import Choice

    app = DaeApp(tiny(device="cpu"), runs_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        device = app.query_one("#field-device", Choice)
        device.value = "cuda:1"
        await pilot.pause()
        assert "cuda:1" in device.options and "cuda:1" in str(device.render())


async def test_a_source_that_cannot_serve_the_dataset_is_judged_as_it_is_chosen(tmp_path):
    """kmnist is not bundled: picking it with the bundled source marks the source at once, with
    the CLI's words, and Start does nothing; mnist from `local` needs its folder named."""
    from dae_tui.ui.widgets.choice import Choice

    app = DaeApp(tiny(), runs_dir=tmp_path)  # mnist, bundled
    async with app.run_test(size=SIZE) as pilot:
        form = app.query_one(ConfigForm)
        app.query_one("#field-dataset", Choice).value = "kmnist"
        await wait_until(pilot, lambda: bool(app.query("#error-source.-shown")), timeout=10)
        shown = str(app.query_one("#error-source", Static).render())
        assert shown == (
            "must be auto, local or download for kmnist: its licence keeps it out of the bundled sample (got 'bundled')"
        )
        assert app.query_one("#row-source").has_class("-invalid") and form.config is None
        await pilot.press("escape", "s")
        await pilot.pause(0.2)
        assert app.state == "idle" and app.trainer is None and list(tmp_path.iterdir()) == []
        app.query_one("#field-source", Choice).value = "local"  # no folder named: the folder's row says so
        await wait_until(pilot, lambda: bool(app.query("#error-data_dir.-shown")), timeout=10)
        folder_error = str(app.query_one("#error-data_dir", Static).render())
        assert "kmnist's four IDX files when the source is local" in folder_error
        assert not app.query_one("#error-source").has_class("-shown")
        app.query_one("#field-data_dir", Input).value = str(tmp_path)
        await wait_until(pilot, lambda: form.config is not None, timeout=10)
        assert (form.config.dataset, form.config.source) == ("kmnist", "local")


def status_text(app) -> tuple[str, str]:
    """The two status lines as the terminal shows them at 100 columns."""
    status = app.query_one(RunStatus)
    return status.first_line(100).plain, status.second_line().plain


async def test_resuming_a_finished_run_at_launch_shows_its_pictures_and_state(tmp_path):
    """Issue 18: `dae-tui --resume <finished run>` said `No images yet` beside its curves."""
    from dae_tui.cli import parse_invocation
    from dae_tui.ui import make_app

    run_dir = await one_finished_epoch(tmp_path)
    app = make_app(parse_invocation(["--resume", str(run_dir), "--runs-dir", str(tmp_path)]))
    async with app.run_test(size=SIZE) as pilot:
        browser = app.query_one(ImageBrowser)
        await wait_until(pilot, lambda: sorted(browser.history) == [0, 1])
        status = app.query_one(RunStatus)
        assert (status.state, status.epoch, status.epochs) == ("finished", 1, 1) and status.best[0] == 1
        assert app.query_one("#chart", LossChart).epochs == [1]
        # The Train tab's strip (shown from 160x45) has its pictures too.
        assert len(app.query_one("#train-strip", ImageStrip).rows) == 3
        await pilot.press("i")
        await wait_until(pilot, lambda: "epoch 1/1" in screen_text(app))  # 100 columns leave the name out
        assert browser.caption(browser.latest).startswith(f"{run_dir.name} · epoch 1/1 (latest)")
        assert "No images yet" not in screen_text(app)


async def test_a_failed_start_shows_none_of_the_run_before(tmp_path, no_debian):
    """Issue 18: after a failed start the panel read `● failed  Epoch 0/6 · best test MSE … @ epoch 6`,
    the best of the run before; while loading, `● loading  ETA —` above `No run yet`."""
    seen, hook = collector()
    before_first_event: list[tuple[str, str]] = []

    def snapshot(message) -> None:
        hook(message)
        if seen and not before_first_event:
            before_first_event.append(status_text(app))

    empty = tmp_path / "no-data"
    empty.mkdir()
    app = DaeApp(tiny(epochs=1), runs_dir=tmp_path / "runs")
    async with app.run_test(size=SIZE, message_hook=snapshot) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "finished")
        status = app.query_one(RunStatus)
        assert status.best is not None and app.query_one(ImageBrowser).history
        app.query_one(ConfigForm).set_config(tiny(epochs=6, source="local", data_dir=str(empty)))
        await wait_until(pilot, lambda: app.query_one(ConfigForm).config is not None)
        seen.clear()
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "failed")
        # Before the run's first event: its own words, no ETA, no earlier run's figures.
        first, second = before_first_event[0]
        assert "ETA" not in first and "MSE" not in first and "No run yet" not in second
        assert "best test MSE" not in second and ("starting" in first or "waiting for torch" in first)
        first, second = status_text(app)
        assert first.startswith("● failed") and "Epoch 0/6" in first and "no mnist IDX files" in first
        assert "best test MSE" not in second and "SSIM" not in second
        assert (status.best, status.ssim, status.mse) == (None, None, None)
        assert app.query_one("#chart", LossChart).epochs == []
        assert app.query_one(ImageBrowser).history == {} and app.query_one("#train-strip", ImageStrip).rows == []
