"""The Sweep tab (issue 13) on a real study: trials, the best, a scatter per searched setting, the
importance, trials marked and overlaid, a trial's run opened; and a sweep in another process
appearing live."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.pilot import screen_text, wait_until

from dae_tui.cli import main
from dae_tui.ui import DaeApp
from dae_tui.ui.panes import ImageBrowser
from dae_tui.ui.panes.sweep import ScatterChart, SweepView
from dae_tui.ui.widgets import LossChart, RunStatus

TINY = ["--dataset", "mnist", "--source", "bundled", "--train-limit", "256", "--threads", "1", "--epochs", "2"]


@pytest.fixture(scope="module")
def study_runs(tmp_path_factory) -> Path:
    """A finished study of 5 trials searching lr and batch size (none pruned: importance needs 4)."""
    folder = tmp_path_factory.mktemp("sweep")
    space = folder / "space.toml"
    space.write_text("lr = {log = [1e-3, 1e-2]}\nbatch_size = {choice = [32, 64]}\n")
    assert (
        main(
            [
                "sweep",
                *TINY,
                "--runs-dir",
                str(folder / "runs"),
                "--space",
                str(space),
                "--trials",
                "5",
                "--study",
                "tab",
                "--no-prune",
            ]
        )
        == 0
    )
    return folder / "runs"


async def open_sweep_tab(pilot, trials: int) -> SweepView:
    app = pilot.app
    await pilot.press("w")
    await wait_until(
        pilot,
        lambda: (
            app.query(SweepView)
            and app.query_one(SweepView).report is not None
            and len(app.query_one(SweepView).report["trials"]) >= trials
        ),
    )
    view = app.query_one(SweepView)
    await wait_until(pilot, lambda: f"{trials} trials" in screen_text(app))
    return view


async def test_the_sweep_tab_shows_a_finished_study(study_runs):
    app = DaeApp(runs_dir=study_runs)
    async with app.run_test(size=(120, 36)) as pilot:
        view = await open_sweep_tab(pilot, 5)
        text = screen_text(app)
        best = view.report["best"]
        assert f"best #{best['trial']} {best['value']:.2f} dB" in text and "study tab" in text
        # A row per trial with its state, value and searched settings.
        assert all(f"#{t['trial']}" in text for t in view.report["trials"])
        assert "batch_size" in text and "lr" in text and "complete" in text
        # One scatter per searched setting, each with a point per trial that has a value.
        charts = list(view.query(ScatterChart))
        assert [c.setting for c in charts] == ["lr", "batch_size"]
        valued = [t for t in view.report["trials"] if t["value"] is not None or t["state"] == "pruned"]
        assert all(len(c.points()) == len(valued) for c in charts)
        # A log setting's axis is in the values a user types (issue 18), not log10 exponents.
        assert "PSNR dB ↑ vs lr" in text and re.search(r"\b[1-9]e-3\b", text) and "(log10)" not in text
        assert "importance: lr" in text
        # space marks trials: their curves on the chart beside, labelled by trial and settings.
        assert app.focused is view.query_one("#sweep-table")
        await pilot.press("space", "down", "space")
        await pilot.pause(0.2)
        chart = view.query_one("#sweep-curves", LossChart)
        assert [s.mark for s in chart.overlays] == [1, 2]
        assert "#0 lr" in chart.border_subtitle and "#1 lr" in chart.border_subtitle
        await pilot.press("space")  # unmark the second
        await pilot.pause(0.2)
        assert [s.mark for s in chart.overlays] == [1]
        # Enter opens the trial's run as the Runs tab would.
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query_one(ImageBrowser).run_name is not None)
        trial = view.current()
        assert app.query_one(ImageBrowser).run_name == Path(trial["run_dir"]).name
        assert "showing" in app.query_one(RunStatus).message


async def test_a_sweep_in_another_process_appears_live(tmp_path):
    runs = tmp_path / "runs"
    space = tmp_path / "space.toml"
    space.write_text("lr = {log = [1e-3, 1e-2]}\n")
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("w")
        await wait_until(pilot, lambda: "no sweeps yet" in screen_text(app))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dae_tui",
                "sweep",
                *TINY,
                "--runs-dir",
                str(runs),
                "--space",
                str(space),
                "--trials",
                "3",
                "--study",
                "live",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            view = app.query_one(SweepView)
            await wait_until(pilot, lambda: view.report is not None and len(view.report["trials"]) >= 1, 120)
            seen = len(view.report["trials"])
            await wait_until(
                pilot,
                lambda: len(view.report["trials"]) == 3 and all(t["state"] != "running" for t in view.report["trials"]),
                120,
            )
            assert seen <= 3 and "3 trials" in screen_text(app) and "study live" in screen_text(app)
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


async def test_a_password_in_the_storage_url_is_never_on_the_sweep_tab(study_runs):
    # SQLite ignores the unknown ?password=: the study is read, and nothing shows the secret.
    app = DaeApp(runs_dir=study_runs, storage=f"sqlite:///{study_runs / 'sweeps.db'}?password=s3cret")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_sweep_tab(pilot, 5)
        assert "s3cret" not in screen_text(app)
    # A server that cannot be reached: the one-line error on the info line, the password hidden.
    app = DaeApp(runs_dir=study_runs, storage="postgresql://me:s3cret@127.0.0.1:1/db?sslpassword=s3cret")
    async with app.run_test(size=(200, 36)) as pilot:
        await pilot.press("w")
        await wait_until(pilot, lambda: "127.0.0.1" in screen_text(app), 30)
        text = screen_text(app)
        assert "s3cret" not in text and "me:***@127.0.0.1" in text


def test_external_tools_see_the_objective_by_name_only_shared_settings_as_fixed_and_each_trials_host(study_runs):
    # What optuna-dashboard and Optuna's CLI read from the storage, read here the same way.
    import optuna

    from dae_tui.runs.files import this_host

    study = optuna.load_study(study_name="tab", storage=f"sqlite:///{study_runs / 'sweeps.db'}")
    assert study.metric_names == ["test_psnr"]  # not "Objective 0"
    fixed = study.user_attrs["fixed"]
    assert "lr" not in fixed and "batch_size" not in fixed  # searched: no default to mistake for a value
    assert fixed["epochs"] == 2 and fixed["dataset"] == "mnist"
    for trial in study.trials:
        assert trial.user_attrs["host"] == this_host()
        doc = json.loads((Path(trial.user_attrs["run_dir"]) / "sweep.json").read_text())
        assert doc["host"] == this_host() and doc["trial"] == trial.number


async def test_a_trial_from_another_host_says_where_its_run_folder_is(study_runs, tmp_path):
    # The same storage seen from a second machine: one trial's host rewritten in the database itself.
    import sqlite3

    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "sweeps.db").write_bytes((study_runs / "sweeps.db").read_bytes())
    with sqlite3.connect(runs / "sweeps.db") as db:
        db.execute(
            "UPDATE trial_user_attributes SET value_json = '\"gpu-box-2\"' WHERE key = 'host' AND "
            "trial_id = (SELECT MIN(trial_id) FROM trial_user_attributes)"
        )
    done = subprocess.run(
        [sys.executable, "-m", "dae_tui", "sweep", "--runs-dir", str(runs), "--status"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert sum(" on gpu-box-2" in line for line in done.stderr.splitlines() + done.stdout.splitlines()) == 1
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_sweep_tab(pilot, 5)
        table = app.query_one(SweepView).query_one("#sweep-table")
        assert "host" in [str(c.label) for c in table.columns.values()]
        assert "gpu-box-2" in screen_text(app)


async def test_an_opened_trial_reads_its_own_state_after_a_failed_start(study_runs, tmp_path, no_debian):
    """Issue 18: after a failed start, opening a finished trial read `● failed  Epoch 2/2 showing …`."""
    from dae_tui.core.config import TrainConfig
    from dae_tui.runs.info import read_run

    empty = tmp_path / "no-data"
    empty.mkdir()
    config = TrainConfig(dataset="mnist", source="local", data_dir=str(empty), epochs=1, threads=1)
    app = DaeApp(config, runs_dir=study_runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: app.state == "failed")
        view = await open_sweep_tab(pilot, 5)
        await pilot.press("enter")
        browser = app.query_one(ImageBrowser)
        await wait_until(pilot, lambda: browser.run_name is not None and browser.history)
        run = read_run(view.current()["run_dir"])
        status = app.query_one(RunStatus)
        assert run.status == "finished" and status.state == "finished" and app.state == "idle"
        assert (status.epoch, status.epochs) == (2, 2) and status.ssim == run.last_test_ssim
        assert status.first_line(120).plain.startswith("● finished") and "failed" not in status.message
        assert sorted(browser.history) == [0, 1, 2]


async def test_the_sweep_tab_follows_the_newest_study_until_one_is_picked(study_runs, tmp_path):
    """Issue 18: the tab opened before a sweep started stayed on the old study, and said `1 trials`."""
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(study_runs, runs)
    space = tmp_path / "space.toml"
    space.write_text("lr = {log = [1e-3, 1e-2]}\n")
    reports: list[str] = []  # the study of each report the poller sent

    def hook(message) -> None:
        if isinstance(message, SweepView.Report) and message.report is not None:
            reports.append(message.report["study"])

    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        view = await open_sweep_tab(pilot, 5)
        assert view.study == "tab" and view.picked is None
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dae_tui",
                "sweep",
                *TINY,
                "--runs-dir",
                str(runs),
                "--space",
                str(space),
                "--trials",
                "1",
                "--study",
                "newer",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await wait_until(pilot, lambda: view.study == "newer", 120)
            await wait_until(
                pilot, lambda: view.report["trials"] and view.report["trials"][0]["state"] == "complete", 120
            )
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        await wait_until(pilot, lambda: "study newer (2/2, [ ] other) · 1 trial: 1 complete" in screen_text(app))
        assert "1 trials" not in screen_text(app)
        # [ picks the older study: the tab stays on it, poll after poll.
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: view.report["study"] == "tab" and "study tab (1/2" in screen_text(app))
        assert view.picked == "tab"
        picked_at = len(reports)
        await wait_until(pilot, lambda: len(reports) >= picked_at + 2)
        assert set(reports[picked_at:]) == {"tab"} and view.study == "tab" and "5 trials" in screen_text(app)


async def test_a_sweep_spread_over_gpus_shows_each_trials_gpu(study_runs, tmp_path):
    # Issue 21: `sweep --jobs` on a GPU box records each trial's GPU (user attr gpu, as its job's
    # CUDA_VISIBLE_DEVICES named it); here the first two trials get GPUs 1 and 0, the rest none.
    import sqlite3

    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "sweeps.db").write_bytes((study_runs / "sweeps.db").read_bytes())
    with sqlite3.connect(runs / "sweeps.db") as db:
        first = [row[0] for row in db.execute("SELECT trial_id FROM trials ORDER BY number LIMIT 2")]
        for trial_id, gpu in zip(first, ("1", "0"), strict=True):
            db.execute(
                "INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (?, 'gpu', ?)",
                (trial_id, json.dumps(gpu)),
            )
    app = DaeApp(runs_dir=runs)
    async with app.run_test(size=(120, 36)) as pilot:
        view = await open_sweep_tab(pilot, 5)
        table = view.query_one("#sweep-table")
        labels = [str(c.label) for c in table.columns.values()]
        assert labels[:6] == ["mark", "trial", "state", "value", "epochs", "GPU"]
        by_trial = {str(table.get_cell(key, "trial")): str(table.get_cell(key, "GPU")) for key in table.rows}
        assert by_trial == {"#0": "1", "#1": "0", "#2": "-", "#3": "-", "#4": "-"}
        assert re.search(r"#0 +complete +[\d.]+ dB +2 +1 ", screen_text(app))
    app = DaeApp(runs_dir=study_runs)  # a sweep without GPUs: no column for them
    async with app.run_test(size=(120, 36)) as pilot:
        view = await open_sweep_tab(pilot, 5)
        assert "GPU" not in [str(c.label) for c in view.query_one("#sweep-table").columns.values()]
