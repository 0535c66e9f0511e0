"""The dashboard facing a run that goes wrong (issue 10): NaN says so on the status line, a run
folder killed before its first checkpoint resumes from epoch 1. Pilot, real run folders."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import torch
from helpers.pilot import screen_text, wait_until

from dae_tui.core.config import TrainConfig
from dae_tui.core.events import BatchProgress, RunStarted
from dae_tui.runs.info import read_run
from dae_tui.training import checkpoints as ckpt
from dae_tui.training.trainer import Trainer
from dae_tui.ui import DaeApp
from dae_tui.ui.messages import EngineLoaded, wrap
from dae_tui.ui.widgets import ConfigForm, RunStatus


def tiny(**changes) -> TrainConfig:
    base = dict(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=1, threads=1)
    return TrainConfig(**{**base, **changes})


async def test_a_loss_that_goes_nan_fails_the_run_and_says_where_on_the_status_line(tmp_path):
    runs = tmp_path / "runs"
    done = list(Trainer(tiny(), runs_dir=runs).run())
    run_dir = runs / done[-1].run_dir
    path = run_dir / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    next(iter(state["optimizer"]["state"].values()))["exp_avg_sq"].fill_(-1.0)  # Adam's sqrt goes NaN
    state.pop("format")
    ckpt.save_checkpoint(path, state)
    app = DaeApp(tiny(epochs=3), runs_dir=runs, resume=run_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "failed")
        await wait_until(pilot, lambda: "loss became NaN at epoch 2 batch 2" in screen_text(app), timeout=10)
        assert "failed: loss became NaN at epoch 2 batch 2; try a lower learning rate" in screen_text(app)
    assert read_run(str(run_dir)).status == "failed" and read_run(str(run_dir)).epochs_done == 1


async def test_a_run_killed_before_its_first_checkpoint_resumes_from_epoch_1(tmp_path):
    runs = tmp_path / "runs"
    trainer = Trainer(tiny(epochs=2, lr=2e-3), runs_dir=runs)
    for event in trainer.run():
        if isinstance(event, RunStarted):
            trainer.request_stop()
    run_dir = trainer.run_dir
    (run_dir / "status.json").unlink()  # as kill -9 leaves it
    app = DaeApp(replace(tiny(), epochs=2), runs_dir=runs, resume=run_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert f"resuming {run_dir.name} at epoch 1/2" in screen_text(app)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "finished")
    assert [p.name for p in runs.iterdir()] == [run_dir.name]
    info = read_run(str(run_dir))
    assert info.status == "finished" and info.epochs_done == 2 and info.config.lr == 2e-3


async def test_quitting_at_the_first_frame_never_crashes_on_messages_still_arriving(tmp_path):
    """q right at launch: the form judges itself after its first refresh and posts Changed while
    the widgets are being taken down; its handler once reached for the gone status line
    (NoMatches, exit 1, 2 of 10 tries). Leaving as soon as the footer shows, ten times over."""
    for _ in range(10):
        app = DaeApp(tiny(), runs_dir=tmp_path / "runs")
        async with app.run_test(size=(100, 30)):
            while not app.query("FooterKey"):
                await asyncio.sleep(0.001)
        assert app.return_code in (0, None)


async def test_messages_after_the_widgets_are_gone_are_dropped(tmp_path):
    """The same race made certain: the status line is removed, then a form change, an engine
    event, a loaded engine and a worker failure arrive; none raises."""
    app = DaeApp(tiny(), runs_dir=tmp_path / "runs")
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.shown
        await app.query_one(RunStatus).remove()
        assert not app.shown
        form = app.query_one(ConfigForm)
        app.post_message(ConfigForm.Changed(form, form.config, form.errors))
        app.post_message(
            wrap(BatchProgress(epoch=1, epochs=1, batch=1, batches=8, train_mse=0.1, images_per_s=100.0, eta_s=1.0))
        )
        app.post_message(EngineLoaded("ImportError: gone"))
        await pilot.pause(0.2)
        assert app.state == "idle"  # the failed engine load was not applied either


# --- issue 17: names from the runs folder are text, never markup or terminal controls ------------

HOSTILE = "20240101-[red]x[@click=app.quit]y"
ESCAPING = "20240102-[on red]z\x1b[2Jw"


def hostile_runs(tmp_path):
    from helpers.runfolders import make_run

    runs = tmp_path / "runs"
    make_run(runs, HOSTILE)
    make_run(runs, ESCAPING, status="failed", message="[on red]boom\x1b[2J")
    return runs


async def test_run_names_show_literally_in_the_table_legend_and_toasts_and_clicking_one_does_not_quit(tmp_path):
    from dae_tui.ui.panes.runs import RunsView

    app = DaeApp(tiny(), runs_dir=hostile_runs(tmp_path))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: HOSTILE in screen_text(app), timeout=60)
        text = screen_text(app)
        assert "20240102-[on red]z␛[2Jw" in text and "\x1b" not in text  # the ESC drawn, not sent
        # Both marked: their configs are alike and they started in the same minute, so the legend
        # names them by their folders, whole.
        await pilot.press("space", "down", "space")
        await wait_until(pilot, lambda: len(app.query_one(RunsView).marks) == 2)
        await pilot.pause(0.2)
        text = screen_text(app)
        # The legend, literally (row 1 is the newer run), the ESC drawn as in the table.
        assert "1 20240102-[on red]z␛[2Jw │ 2 20240101-[red]x[@click=app.quit]y" in text
        await pilot.press("c")  # copy the config: a toast names the run (and shows the Train tab)
        await wait_until(pilot, lambda: app._notifications, 10)
        (toast,) = app._notifications
        assert toast.message.startswith(f"Copied the settings of {HOSTILE}") and not toast.markup
        await pilot.press("r")
        await pilot.pause(0.2)
        # A click on what markup would have made a link ("y" after [@click=app.quit]).
        # In the table's row, then in the chart's legend below, which names the run too.
        for row, line in [(i, s) for i, s in enumerate(screen_text(app).splitlines()) if HOSTILE in s]:
            await pilot.click(offset=(line.index(HOSTILE) + len(HOSTILE) - 1, row))
            await pilot.pause(0.3)
            assert app.is_running and app.return_code is None


async def test_a_resumed_runs_name_shows_literally_on_the_status_line_and_the_form_note(tmp_path):
    runs = hostile_runs(tmp_path)
    app = DaeApp(tiny(), runs_dir=runs, resume=runs / HOSTILE)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert str(app.query_one("#form-note").render()).startswith(f"Resuming {HOSTILE}: greyed fields")
        assert app.query_one(RunStatus).second_line().plain.endswith(f"run folder {runs / HOSTILE}")
    wide = DaeApp(tiny(), runs_dir=runs, resume=runs / ESCAPING)
    async with wide.run_test(size=(200, 40)) as pilot:
        await pilot.pause()
        assert "20240102-[on red]z␛[2Jw" in screen_text(wide)  # on the status line, drawn as it is
