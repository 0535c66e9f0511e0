"""Runs side by side on real run folders: the legend names the marked runs by what differs, Compare
says which marked run it leaves out, and the numbers table (`f`) shows and writes their figures,
at 80x24 and 200x60. Three MNIST runs differing in learning rate and epochs and a Fashion-MNIST
one, trained once for the module by the real engine."""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import pytest
from helpers.pilot import screen_text, wait_until

from dae_tui import cli
from dae_tui.core.config import TrainConfig
from dae_tui.ui import DaeApp
from dae_tui.ui.dialogs.numbers import NumbersScreen
from dae_tui.ui.keys import help_sections
from dae_tui.ui.panes import ImageBrowser
from dae_tui.ui.panes.runs import RunsView
from dae_tui.ui.widgets import ImageStrip, LossChart
from dae_tui.ui.widgets.runs_table import RunsTable

TINY = ["--source", "bundled", "--train-limit", "128", "--batch-size", "32", "--threads", "1"]
MNIST = (("1e-3", "1"), ("3e-3", "2"), ("1e-2", "1"))  # oldest first
SIZES = [(80, 24), (200, 60)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """Three MNIST runs (lr 1e-3 for 1 epoch, 3e-3 for 2, 1e-2 for 1), then a Fashion-MNIST one."""
    runs = tmp_path_factory.mktemp("side") / "runs"
    for lr, epochs in (*MNIST, ("1e-3", "1")):
        dataset = "fashion-mnist" if runs.exists() and len(list(runs.iterdir())) == 3 else "mnist"
        flags = ["--dataset", dataset, "--lr", lr, "--epochs", epochs, "--runs-dir", str(runs)]
        assert cli.main(["train", *TINY, *flags]) == 0
        time.sleep(1.1)  # folder names are stamped to the second
    return runs


@pytest.fixture
def runs(trained, tmp_path) -> Path:
    """A copy a test may write into (the numbers' CSV goes in the runs folder)."""
    copy = tmp_path / "runs"
    shutil.copytree(trained, copy)
    return copy


async def runs_tab(pilot) -> RunsView:
    await pilot.press("r")
    await wait_until(pilot, lambda: pilot.app.query(RunsView) and len(pilot.app.query_one(RunsView).runs) == 4)
    view = pilot.app.query_one(RunsView)
    await wait_until(pilot, lambda: view.query_one(RunsTable).row_count == 4, timeout=150)
    return view


def names(view: RunsView) -> list[str]:
    return [str(key.value) for key in view.query_one(RunsTable).rows]


async def mark_mnist(pilot, view: RunsView) -> list[str]:
    """Mark the three MNIST runs (the table lists the newest first: the Fashion-MNIST one)."""
    await pilot.press("down", "space", "down", "space", "down", "space")
    await pilot.pause(0.2)
    marked = names(view)[1:4]
    assert list(view.marks) == marked and all("mnist" in n and "fashion" not in n for n in marked)
    return marked


@pytest.mark.parametrize("size", SIZES)
async def test_the_legend_names_the_marked_runs_by_lr_and_epochs_only(runs, size):
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=size) as pilot:
        view = await runs_tab(pilot)
        marked = await mark_mnist(pilot, view)
        chart = app.query_one("#chart", LossChart)
        expected = {f"lr {lr} · {ep} ep" for lr, ep in MNIST} | {"lr 0.01 · 1 ep"}
        labels = {s.label for s in chart.overlays}
        assert len(labels) == 3 and labels <= expected  # only lr and epochs: no dataset, noise or σ
        assert {view.labels()[n] for n in marked} == labels
        await pilot.press("t")
        await pilot.pause(0.3)
        legend = next(line for line in screen_text(app).splitlines() if "1 lr " in line)
        assert all(f"{m} lr " in legend for m in (1, 2, 3))
        assert "mnist" not in legend and "σ" not in legend and "gaussian" not in legend
        if size == (200, 60):  # the whole of every label: nothing cut with ~150 columns free
            for mark, label in ((s.mark, s.label) for s in chart.overlays):
                assert f"{mark} {label}" in legend
            assert "…" not in legend
        else:  # 80 columns: each run keeps its learning rate, what tells them apart first
            assert legend.count("lr ") == 3 and len(legend) <= 80


@pytest.mark.parametrize("size", SIZES)
async def test_one_marked_run_is_named_by_its_start_as_the_table_shows_it(runs, size):
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=size) as pilot:
        view = await runs_tab(pilot)
        await pilot.press("down", "space")
        await pilot.pause(0.2)
        name = names(view)[1]
        label = app.query_one("#chart", LossChart).overlays[0].label
        started = view.runs[name].started.astimezone().strftime("%Y-%m-%d %H:%M")
        assert label == started and name[9:15] not in label
        assert started in screen_text(app)  # the started column says the same


@pytest.mark.parametrize("size", SIZES)
async def test_compare_says_which_marked_run_it_leaves_out_and_why(runs, size):
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=size) as pilot:
        view = await runs_tab(pilot)
        # Mark the Fashion-MNIST run and two MNIST ones, then open an MNIST one.
        await pilot.press("space", "down", "space", "down", "space", "enter")
        fashion = names(view)[0]
        browser = app.query_one(ImageBrowser)
        await wait_until(pilot, lambda: browser.run_name == names(view)[2] and browser.history)
        await pilot.press("i", "b")
        await pilot.pause(0.3)
        assert browser.compare and len(browser.compare_sources) == 3
        told = [n.message for n in app._notifications if "Comparing" in n.message]
        assert len(told) == 1 and "\n" not in told[0]
        mark = view.marks[fashion]
        label = view.labels()[fashion]
        assert told[0].startswith("Comparing 2 of 3 marked runs: left out ")
        assert f"{mark} {label} (fashion-mnist, not mnist)" in told[0]
        # The rows compared: the two MNIST runs, each named by what differs, a setting a line.
        strip = app.query_one("#browser-strip", ImageStrip)
        compared = [row.label for row in strip.rows[2:]]
        kept = [n for n in view.marks if n != fashion]
        assert compared == [f"{view.marks[n]} {view.labels()[n]}" for n in kept]
        text = screen_text(app)
        shown = kept if size == (200, 60) else kept[:1]  # at 80x24 the last row is below, to scroll to
        assert all(item in text for n in shown for item in view.labels()[n].split(" · ")), text
        info = str(browser.query_one("#info").render())
        assert ("comparing 2 of 3 marked runs, left out" in info) == (size == (200, 60))
        assert "comparing" in info  # at 80 columns the shorter wording, the notice says the rest


@pytest.mark.parametrize("size", SIZES)
async def test_the_numbers_table_shows_every_figure_of_the_marked_runs_and_writes_its_csv(runs, size):
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=size) as pilot:
        view = await runs_tab(pilot)
        marked = await mark_mnist(pilot, view)
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, NumbersScreen))
        await pilot.pause(0.3)
        text = screen_text(app)
        lines = text.splitlines()
        for row in ("best test PSNR", "last test PSNR", "best SSIM", "last SSIM", "best MSE", "last MSE"):
            assert sum(line.lstrip().startswith(row) for line in lines) == 1, row
        for row in ("img/s", "time", "parameters", "learning rate", "epochs", "started"):
            assert any(line.lstrip().startswith(row) for line in lines), row
        assert "dataset" not in text and "noise" not in text  # only the settings that differ
        # Every run's column whole: its best PSNR with its epoch, its label a setting a line.
        for name in marked:
            run = view.runs[name]
            assert f"{run.best_test_psnr:.2f} dB @ {run.best_epoch}" in text
            assert all(item in text for item in view.labels()[name].split(" · "))
        assert "210,369" in text and "Esc Back" in lines[-1] and "e Write CSV" in lines[-1]
        assert all(len(line) <= size[0] for line in lines)
        # e writes the CSV into the runs folder and says where, in one line.
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.written is not None)
        path = app.screen.written
        assert path.parent == runs and path.name.startswith("compare-") and path.suffix == ".csv"
        said = [n.message for n in app._notifications if "Wrote the numbers" in n.message]
        assert said == [f"Wrote the numbers of 3 runs to {path}."]
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        assert [r["run"] for r in rows] == marked
        assert {r["label"] for r in rows} == {view.labels()[n] for n in marked}
        for r in rows:
            run = view.runs[r["run"]]
            assert float(r["best_test_psnr"]) == run.best_test_psnr and int(r["best_test_psnr_epoch"]) == run.best_epoch
            assert r["epochs"] == str(run.config.epochs) and float(r["lr"]) == run.config.lr
        # The runs folder's file is no run: the table still lists four.
        await pilot.press("escape")
        await pilot.pause(1.5)
        assert not isinstance(app.screen, NumbersScreen) and len(view.runs) == 4


async def test_the_numbers_key_is_declared_once_for_help_footer_and_palette(runs):
    rows = dict(dict(help_sections())["Runs"])
    assert "figures side by side" in rows["f"]
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=(200, 60)) as pilot:
        await runs_tab(pilot)
        await wait_until(pilot, lambda: "f Figures" in screen_text(app).splitlines()[-1])
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Numbers table" in titles
        # With no run marked, the run under the cursor alone.
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, NumbersScreen))
        assert len(app.screen.runs) == 1


async def test_at_80_columns_a_fourth_run_scrolls_into_view_beside_the_row_names_that_stay(runs):
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await runs_tab(pilot)
        await pilot.press("space", "down", "space", "down", "space", "down", "space", "f")
        await wait_until(pilot, lambda: isinstance(app.screen, NumbersScreen))
        await pilot.pause(0.3)
        last = view.runs[names(view)[3]]
        best = f"{last.best_test_psnr:.2f} dB @ {last.best_epoch}"
        assert len(app.screen.runs) == 4

        def psnr_row() -> str:
            return next(line for line in screen_text(app).splitlines() if line.lstrip().startswith("best test PSNR"))

        assert best not in psnr_row()  # four columns are wider than 80: the fourth is off to the right
        await pilot.press("right", "right", "right", "right")
        await pilot.pause(0.3)
        assert best in psnr_row()  # the fourth column, scrolled to, beside its row's name that stays
        assert all(len(line) <= 80 for line in screen_text(app).splitlines())


async def test_a_csv_that_cannot_be_written_is_one_line_naming_the_folder_and_why(runs, monkeypatch):
    import dae_tui.ui.dialogs.numbers as numbers

    gone = runs / "gone" / "compare.csv"  # a folder that is not there: the write fails as a full disk would
    monkeypatch.setattr(numbers, "csv_path", lambda runs_dir: gone)
    app = DaeApp(TrainConfig(), runs_dir=runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await runs_tab(pilot)
        await pilot.press("space", "f")
        await wait_until(pilot, lambda: isinstance(app.screen, NumbersScreen))
        await pilot.press("e")
        await pilot.pause(0.2)
        said = [n for n in app._notifications if "CSV" in n.message]
        assert len(said) == 1 and said[0].severity == "error" and "\n" not in said[0].message
        assert said[0].message == f"Cannot write the CSV into {runs}: No such file or directory."
        assert app.screen.written is None and not gone.exists()
