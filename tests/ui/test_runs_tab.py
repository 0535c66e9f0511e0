"""The Runs tab on real run folders: three finished runs that differ in learning rate and a
stopped one, trained once for the module by the real engine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.pilot import screen_text, wait_until
from rich.text import Text

from dae_tui import cli
from dae_tui.core.config import TrainConfig
from dae_tui.core.events import EpochEnd
from dae_tui.ui import DaeApp
from dae_tui.ui.dialogs.screens import ConfirmScreen, EpochsScreen
from dae_tui.ui.panes import ImageBrowser
from dae_tui.ui.panes.runs import RunsView
from dae_tui.ui.widgets import ConfigForm, ImageStrip, LossChart, RunStatus
from dae_tui.ui.widgets.runs_table import RunsTable

SIZE = (120, 36)
TINY = ["--dataset", "mnist", "--source", "bundled", "--train-limit", "256", "--batch-size", "32", "--threads", "1"]
LRS = ("1e-3", "3e-3", "1e-2")


@pytest.fixture(scope="module")
def four_runs(tmp_path_factory) -> Path:
    """3 finished runs (lr 1e-3, 3e-3, 1e-2; 2 epochs) and one stopped after 1 of 3 epochs."""
    runs = tmp_path_factory.mktemp("four") / "runs"
    for lr in LRS:
        assert cli.main(["train", *TINY, "--epochs", "2", "--lr", lr, "--runs-dir", str(runs)]) == 0
        time.sleep(1.1)  # folder names are stamped to the second
    from dae_tui.training.trainer import Trainer

    trainer = Trainer(
        TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=3, lr=3e-4, threads=1),
        runs_dir=runs,
    )
    for event in trainer.run():
        if isinstance(event, EpochEnd):
            trainer.request_stop()
    return runs


@pytest.fixture
def runs(four_runs, tmp_path) -> Path:
    """A copy of the four runs that a test may change."""
    copy = tmp_path / "runs"
    shutil.copytree(four_runs, copy)
    return copy


async def open_runs_tab(pilot, count: int = 4) -> RunsView:
    await pilot.press("r")
    await wait_until(pilot, lambda: pilot.app.query(RunsView) and len(pilot.app.query_one(RunsView).runs) >= count)
    view = pilot.app.query_one(RunsView)
    # The rows are added, then painted on a later refresh: wait until the screen shows them all.
    # (Generous: CI once needed over 60 s here on a starved machine; a failure prints the screen.)

    def painted() -> bool:
        text, names = screen_text(pilot.app), table_names(view)
        return len(names) >= count and all(name in text for name in names)

    await wait_until(pilot, painted, timeout=150)
    assert pilot.app.focused is pilot.app.query_one("#runs-table")
    return view


def table_names(view: RunsView) -> list[str]:
    table = view.query_one(RunsTable)
    return [str(key.value) for key in table.rows]


def test_settings_sort_by_value_not_text():
    from dae_tui.ui.runlabels import settings_key

    configs = [TrainConfig(lr=lr) for lr in (1e-2, 1e-3, 3e-3)] + [
        TrainConfig(lr=1e-3, train_limit=None),
        TrainConfig(lr=1e-3, train_limit=512),
    ]
    ordered = sorted([*configs, None], key=settings_key)
    assert ordered[-1] is None  # a run without a readable config goes last
    assert [c.lr for c in ordered[:-1]] == [1e-3, 1e-3, 1e-3, 3e-3, 1e-2]
    assert [c.train_limit for c in ordered[:3]] == [512, None, None]  # a number before "all"


def test_runs_json_lists_the_four_with_statuses_and_best_psnr(runs, capsys):
    assert cli.main(["runs", "--runs-dir", str(runs), "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["status"] for r in listed) == ["finished"] * 3 + ["stopped"]
    finished = [r for r in listed if r["status"] == "finished"]
    assert sorted(r["config"]["lr"] for r in finished) == [1e-3, 3e-3, 1e-2]
    assert all(r["best_test_psnr"] > r["config"]["noise_factor"] for r in listed)


async def test_table_lists_sorts_filters_and_shows_what_differs(runs):
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_runs_tab(pilot)
        assert len(table_names(view)) == 4
        text = screen_text(app)
        assert text.count("finished") >= 3 and "stopped" in text and "dB @" in text
        # Newest first by default: the stopped run was made last.
        assert view.runs[table_names(view)[0]].status == "stopped"
        # o steps through the sort columns; by best PSNR the best run comes first.
        for _ in range(12):
            if view.sort_column == "best PSNR":
                break
            await pilot.press("o")
        best = [view.runs[n].best_test_psnr for n in table_names(view)]
        assert best == sorted(best, reverse=True)
        await pilot.press("O")  # the same column the other way round
        await pilot.pause(0.1)
        assert [view.runs[n].best_test_psnr for n in table_names(view)] == sorted(best)
        assert "sorted by best PSNR ↑" in screen_text(app)
        # Settings sort by value: lr 3e-4 (the stopped run), 1e-3, 3e-3, 1e-2; as text 0.01 came first.
        while view.sort_column != "settings":
            await pilot.press("o")
        await pilot.pause(0.1)
        assert [view.runs[n].config.lr for n in table_names(view)] == [3e-4, 1e-3, 3e-3, 1e-2]
        # / filters over names and settings.
        await pilot.press("slash", "l", "r", "space", *"3e-3", "enter")
        await pilot.pause(0.1)
        assert [view.runs[n].config.lr for n in table_names(view)] == [3e-3]
        assert "filter: 'lr 3e-3'" in screen_text(app)
        # With the filter kept, the tab keys still leave the tab (the filter line once took the
        # focus back as the table was hidden, and with it the tab), and r comes back to it.
        await pilot.press("t")
        await wait_until(pilot, lambda: app.query_one("#tabs").active == "train")
        await pilot.pause(0.1)
        assert app.query_one("#tabs").active == "train"
        await pilot.press("r")
        await wait_until(pilot, lambda: app.focused is view.query_one(RunsTable))
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert len(table_names(view)) == 4
        # v: only the settings that differ between the listed runs.
        table = view.query_one(RunsTable)

        def settings_width() -> int:
            return next(c.content_width for c in table.columns.values() if c.key.value == "settings")

        all_settings, wide = str(table.get_cell(table_names(view)[0], "settings")), settings_width()
        await pilot.press("v")
        await pilot.pause(0.1)
        only = str(table.get_cell(table_names(view)[0], "settings"))
        assert "bs 32" in all_settings and "bs" not in only and "lr" in only and "ep" in only
        assert settings_width() < wide  # the column narrows to what it now holds


async def test_marking_overlays_curves_with_labels_and_stable_colours(runs):
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_runs_tab(pilot)
        await pilot.press("down", "space", "down", "space")  # two finished runs
        await pilot.pause(0.1)
        first, second = table_names(view)[1:3]
        assert view.marks == {first: 1, second: 2}
        main = app.query_one("#chart", LossChart)
        assert [s.mark for s in main.overlays] == [1, 2]
        # The legend names each by what tells them apart: their learning rates.
        lrs = {n: view.runs[n].config.lr for n in (first, second)}
        assert main.border_subtitle.count("lr ") == 2
        # Each label in its run's colour, as Textual's markup can read it (hex, not Rich's names).
        assert main.border_subtitle.count("[#") == 2
        for mark, name in ((1, first), (2, second)):
            label = next(s.label for s in main.overlays if s.mark == mark)
            assert label.startswith("lr ") and float(label.split()[1]) == lrs[name]
        assert "1 lr" in screen_text(app) and "2 lr" in screen_text(app)
        # Unmark the first, mark another, mark the first again: it keeps digit 1.
        await pilot.press("up", "space", "down", "down", "space", "up", "up", "space")
        await pilot.pause(0.1)
        assert view.marks[first] == 1 and view.marks[second] == 2 and len(view.marks) == 3
        # m switches the y axis to PSNR on both charts.
        await pilot.press("m")
        assert main.metric == "psnr" and view.query_one(LossChart).metric == "psnr"
        assert "PSNR dB" in main.border_title


async def test_open_shows_a_run_on_the_chart_and_in_images_and_compare(runs):
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_runs_tab(pilot)
        await pilot.press("down", "enter")
        name = table_names(view)[1]
        run = view.runs[name]
        browser = app.query_one(ImageBrowser)
        # Its pictures are read in the background.
        await wait_until(pilot, lambda: browser.run_name == name and sorted(browser.history) == [0, 1, 2])
        assert app.query_one("#chart", LossChart).epochs == [1, 2]
        # The status lines speak of the run opened, not of an empty dashboard.
        status = app.query_one(RunStatus)
        assert status.epochs == 2 and status.best is not None and status.best[0] in (1, 2)
        assert status.state == "finished" and f"showing {name}:" in status.message and str(run.path) in status.where
        await pilot.press("i")
        await pilot.pause(0.1)
        assert name in screen_text(app) and "epoch 2/2 (latest)" in screen_text(app)
        await pilot.press("left_square_bracket")
        assert browser.shown_epoch == 1
        # Compare needs two marked runs.
        await pilot.press("b")
        assert not browser.compare
        await pilot.press("r", "space", "down", "space", "i", "b")
        await pilot.pause(0.2)
        assert browser.compare
        strip = app.query_one("#browser-strip", ImageStrip)
        assert [row.label[:1] for row in strip.rows] == ["c", "n", "1", "2"]
        assert all("dB" in caption for caption in strip.rows[2].captions)
        assert run.best_test_psnr is not None


async def test_clone_then_start_trains_a_variant(runs):
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_runs_tab(pilot)
        for _ in range(12):
            if view.sort_column == "best PSNR":
                break
            await pilot.press("o")
        # The cursor stays on its run when the order changes; move it to the best one.
        view.query_one(RunsTable).move_cursor(row=0)
        await pilot.pause()
        best = view.current()
        assert best is not None and best.name == table_names(view)[0]
        await pilot.press("c")
        await pilot.pause(0.1)
        assert app.query_one("#tabs").active == "train"
        assert app.query_one(ConfigForm).config == best.config
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "finished", 60)
    assert len(list(runs.iterdir())) == 5


async def test_resume_continues_a_stopped_run_and_extends_a_finished_one(runs):
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_runs_tab(pilot)
        stopped = table_names(view)[0]
        await pilot.press("R")
        await pilot.pause(0.1)
        assert app.resume is not None and Path(app.resume.path).name == stopped
        assert app.query_one("#tabs").active == "train" and app.query_one("#field-lr").disabled
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "finished", 60)
        assert app.query_one("#chart", LossChart).epochs == [1, 2, 3]
        # A finished run: R asks how far to extend it.
        await pilot.press("r")
        await wait_until(pilot, lambda: view.runs[stopped].status == "finished")
        finished_ssim = app.query_one(RunStatus).ssim
        assert finished_ssim is not None
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, EpochsScreen))
        await pilot.press("end", "backspace", "2")  # 3 epochs done: 2 is refused
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, EpochsScreen), app.screen
        error = app.screen.query_one("#epochs-error")
        shown = (app.screen.query_one("#epochs-input").value, app.focused)
        assert "from 4 to 10000: 3 are done" in str(error.render()), shown
        await pilot.press("backspace", "5", "enter")
        await pilot.pause(0.1)
        assert app.resume is not None and app.query_one(ConfigForm).config.epochs == 5
        assert "resuming" in screen_text(app) and "at epoch 4/5" in screen_text(app)
        # The run's own state and SSIM (its last epoch's), whatever this dashboard did before.
        status = app.query_one(RunStatus)
        assert app.state == "idle" and status.state == "finished" and status.ssim == pytest.approx(finished_ssim)
        assert (status.epoch, status.epochs) == (3, 5)


async def test_delete_asks_naming_the_run_and_never_deletes_a_running_one(runs):
    from helpers.runfolders import iso, lock, make_run

    # Its heartbeat dated 5 minutes ahead: a loaded machine can take more than the 30 s a beat
    # stays fresh between writing this folder and the check below (CI once saw "interrupted").
    live = make_run(runs, "20990101-000000-mnist-seed", status="running", lock=lock(age_s=-300), started=iso(0))
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_runs_tab(pilot, 5)
        assert table_names(view)[0] == live.name and view.runs[live.name].status == "running"
        await pilot.press("d")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ConfirmScreen) and live.is_dir()
        assert any("is training" in n.message for n in app._notifications)
        await pilot.press("down")
        victim = table_names(view)[1]
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert victim in app.screen.question
        await pilot.press("n")
        await pilot.pause(0.1)
        assert (runs / victim).is_dir()
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: victim not in view.runs)
        assert not (runs / victim).exists() and victim not in table_names(view)


async def test_a_headless_run_in_another_process_appears_and_advances_live(tmp_path):
    runs = tmp_path / "runs"
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_runs_tab(pilot, 0)
        assert "No runs yet" in screen_text(app)
        script = Path(sys.executable).with_name("dae-tui")
        proc = subprocess.Popen(
            [
                str(script),
                "train",
                "--dataset",
                "mnist",
                "--source",
                "bundled",
                "--train-limit",
                "2000",
                "--batch-size",
                "16",
                "--epochs",
                "5",
                "--threads",
                "1",
                "--runs-dir",
                str(runs),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await wait_until(pilot, lambda: len(view.runs) == 1, 60)
            (name,) = view.runs
            run = lambda: view.runs[name]  # noqa: E731 - read afresh after each poll
            await wait_until(pilot, lambda: run().status == "running" and run().epochs_done >= 1, 60)
            table = view.query_one(RunsTable)
            assert str(table.get_cell(name, "status")) == "running"  # the table, not only the store
            # Cells that grow as epochs come in widen their column (no "12.3 dB @ 1" cut to "@").
            await wait_until(pilot, lambda: "dB @" in str(table.get_cell(name, "best PSNR")))
            best_column = next(c for c in table.columns.values() if c.key.value == "best PSNR")
            assert best_column.content_width >= len(str(table.get_cell(name, "best PSNR")))
            seen = view.runs[name].epochs_done
            await wait_until(pilot, lambda: view.runs[name].epochs_done > seen, 60)
            assert str(table.get_cell(name, "epochs")).startswith(f"{view.runs[name].epochs_done}/5")
            await wait_until(pilot, lambda: view.runs[name].status == "finished", 60)
        finally:
            proc.kill()
            proc.wait()


async def test_at_80_columns_the_footer_fits_every_key_of_the_tab(runs):
    """Compact keys and no palette hint under 100 columns: the Runs tab's last keys (Inspect,
    Resume, Delete) were cut off at 80. From 100 columns the hint is back."""
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_runs_tab(pilot)
        await wait_until(pilot, lambda: "d Delete" in screen_text(app).splitlines()[-1])
        footer = screen_text(app).splitlines()[-1]
        assert all(key in footer for key in ("⏎ Open", "space Mark", "v Diff", "c Copy", "n Inspect", "R Resume"))
        assert "palette" not in footer
        await pilot.resize_terminal(120, 36)
        await wait_until(pilot, lambda: "^p palette" in screen_text(app).splitlines()[-1])


async def test_table_columns_fit_a_row_before_any_frame_can_draw_it():
    """Textual widens columns on the table's next idle. CI twice showed the Runs table with every
    column at its header's width for a whole minute (run names cut to "202"), so rows are added
    and cells changed with their columns already wide enough, before any frame can draw them."""
    from textual.app import App
    from textual.widgets import DataTable

    from dae_tui.ui.widgets.tables import add_row_fitted, update_cell_fitted

    class OneTable(App):
        def compose(self):
            yield DataTable()

    app = OneTable()
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.query_one(DataTable)
        table.add_column("run", key="run")
        table.add_column("best", key="best")
        await pilot.pause()
        name = "20261126-120000-mnist"
        add_row_fitted(table, [name, Text("17.60 dB @ 9", style="bold")], name)
        widths = {c.key.value: c.content_width for c in table.columns.values()}
        assert widths == {"run": len(name), "best": len("17.60 dB @ 9")}  # no await in between
        update_cell_fitted(table, name, "best", Text("17.60 dB @ 10"))
        assert table.columns[table.ordered_columns[1].key].content_width == len("17.60 dB @ 10")
        await pilot.pause(0.1)
        assert name in screen_text(app) and "17.60 dB @ 10" in screen_text(app)


def panel(app) -> str:
    """The two status lines as the terminal shows them at 100 columns."""
    status = app.query_one(RunStatus)
    return f"{status.first_line(100).plain}\n{status.second_line().plain}"


def caption(app) -> str:
    return str(app.query_one(ImageBrowser).query_one("#info").render())


async def test_r_after_a_run_here_shows_the_resumed_runs_figures_pictures_and_model(runs):
    """Issue 18: R on a stopped run showed the Images tab of the run trained before it, and its
    MSE and img/s stayed on the status line until the resumed run's first batch."""
    from helpers.pilot import collector

    seen, hook = collector()
    panels: list[str] = []

    def snapshot(message) -> None:
        hook(message)
        if seen and not panels:  # the panel as it was when the run's first event came
            panels.append(panel(app))

    config = TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=1, threads=1)
    app = DaeApp(config, runs_dir=runs)
    async with app.run_test(size=SIZE, message_hook=snapshot) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "finished", 60)
        assert app.query_one(RunStatus).device and app.query_one(RunStatus).ssim is not None
        view = await open_runs_tab(pilot, 5)
        stopped = next(n for n in table_names(view) if view.runs[n].status == "stopped")
        run = view.runs[stopped]
        view.query_one("#runs-table").move_cursor(row=table_names(view).index(stopped))
        await pilot.pause()
        panels.clear()
        seen.clear()
        await pilot.press("R")
        browser = app.query_one(ImageBrowser)
        await wait_until(pilot, lambda: sorted(browser.history) == [0, 1])
        # Every figure is the stopped run's: its state, epochs, best and SSIM; no speed, no device.
        status = app.query_one(RunStatus)
        assert (status.state, status.epoch, status.epochs) == ("stopped", 1, 3)
        assert status.best == (1, run.curve[0][2]) and status.ssim == run.last_test_ssim
        assert status.mse is status.images_per_s is status.eta_s is None and status.device == ""
        assert f"resuming {stopped} at epoch 2/3" in panel(app) and "img/s" not in panel(app)
        assert app.query_one("#chart", LossChart).epochs == [1]
        await pilot.press("i")
        await wait_until(pilot, lambda: f"{stopped} · epoch 1/3 (latest)" in screen_text(app))
        assert caption(app).startswith(f"{stopped} · epoch 1/3 (latest)")
        # The Inspect tab shows its model, not the run trained here a moment ago.
        await pilot.press("n")
        await wait_until(
            pilot, lambda: app.query("#inspect-view") and app.query_one("#inspect-view").target == run.path.resolve()
        )
        await pilot.press("t", "s")
        await wait_until(pilot, lambda: app.state == "finished", 60)
        # Between s and the run's first event: none of the earlier run's figures.
        assert panels and "img/s" not in panels[0] and "MSE 0." not in panels[0].splitlines()[0]
        assert "starting" in panels[0] or "waiting for torch" in panels[0]
        # Its earlier pictures stayed and the new epochs joined them.
        assert sorted(browser.history) == [0, 1, 2, 3] and browser.folder == app.run_dir
        assert app.query_one("#chart", LossChart).epochs == [1, 2, 3]


async def test_open_and_delete_change_every_figure_to_the_run_shown(runs):
    """Opening a run shows its own state (never the state of this dashboard's last run); deleting
    the run shown takes its figures, curves and pictures with it."""
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_runs_tab(pilot)
        stopped = table_names(view)[0]
        await pilot.press("enter")
        browser = app.query_one(ImageBrowser)
        await wait_until(pilot, lambda: browser.run_name == stopped and sorted(browser.history) == [0, 1])
        status = app.query_one(RunStatus)
        assert (status.state, status.epoch, status.epochs) == ("stopped", 1, 3)
        await pilot.press("down", "enter")
        finished = table_names(view)[1]
        await wait_until(pilot, lambda: browser.run_name == finished and sorted(browser.history) == [0, 1, 2])
        run = view.runs[finished]
        assert (status.state, status.epoch, status.epochs) == ("finished", 2, 2)
        assert status.ssim == run.last_test_ssim and f"showing {finished}:" in status.message
        assert app.state == "idle" and app.run_dir == str(run.path)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: finished not in view.runs)
        assert (status.epoch, status.epochs, status.best, status.ssim) == (0, 0, None, None)
        assert status.state == "idle" and f"deleted {finished}" in panel(app)
        assert app.query_one("#chart", LossChart).epochs == [] and browser.history == {} and browser.folder is None
        await pilot.press("i")
        await wait_until(pilot, lambda: "No images yet" in screen_text(app))


async def test_the_device_column_says_what_trained_each_run_and_its_peak_memory(tmp_path):
    # Issue 21: each epoch's record names its device and peak memory; the column shows the latest
    # device and the highest peak, and a run from before the records said shows '—'.
    from helpers.runfolders import make_run, record

    from dae_tui.runs.info import read_run
    from dae_tui.ui.panes.runs import device_cell

    def with_device(folder: Path, name: str, peaks: list[float]) -> None:
        lines = [{**record(e, 3), "device_name": name, "peak_memory_mb": p} for e, p in enumerate(peaks, 1)]
        (folder / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))

    gpu = make_run(tmp_path, "20240101-120000-mnist-seed")
    with_device(gpu, "NVIDIA H200", [2000.0, 2150.0, 2100.0])
    cpu = make_run(tmp_path, "20240101-130000-mnist-seed")
    with_device(cpu, "cpu", [640.0, 812.4, 812.4])
    make_run(tmp_path, "20240101-140000-mnist-seed")  # before device_name and peak_memory_mb
    assert [device_cell(read_run(folder)) for folder in (gpu, cpu)] == ["H200 2.1 GB", "cpu 812 MB"]
    app = DaeApp(runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_runs_tab(pilot, 3)
        table = view.query_one(RunsTable)
        cells = {name: str(table.get_cell(name, "device")) for name in table_names(view)}
        assert cells == {
            "20240101-120000-mnist-seed": "H200 2.1 GB",
            "20240101-130000-mnist-seed": "cpu 812 MB",
            "20240101-140000-mnist-seed": "—",
        }
        lines = screen_text(app).splitlines()
        assert any("device" in line for line in lines[:6])  # the header, on screen at 100 columns
        assert any("20240101-120000-mnist-seed" in line and "H200 2.1 GB" in line for line in lines)
