"""A runs folder that cannot be written (a read-only mount, another user's folder): the dashboard
starts for browsing only, the training commands refuse in one line. Real read-only bind mounts
(root ignores file modes, so a mount is the only honest read-only folder here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers.pilot import screen_text, wait_until
from helpers.runfolders import make_run

from dae_tui.runs.files import browse_only_reason, check_runs_dir
from dae_tui.ui import DaeApp
from dae_tui.ui.app import READ_ONLY_STATUS
from dae_tui.ui.widgets import RunStatus


@pytest.fixture
def read_only_runs(tmp_path):
    """A runs folder holding one finished run, bind-mounted read-only."""
    source, folder = tmp_path / "source", tmp_path / "runs"
    make_run(source, "20240101-120000-mnist-seed-ab12")
    folder.mkdir()
    mounted = (
        subprocess.run(["mount", "--bind", "-o", "ro", str(source), str(folder)], capture_output=True).returncode == 0
    )
    if not mounted:
        pytest.skip("a read-only bind mount needs root (CI and the dev machines run as root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_the_reason_names_the_folder_and_what_to_do(read_only_runs):
    problem = check_runs_dir(read_only_runs)
    assert problem and "Read-only file system" in problem
    reason = browse_only_reason(read_only_runs, problem)
    assert reason.startswith("browsing only: ") and str(read_only_runs) in reason
    assert "--runs-dir DIR to train elsewhere" in reason and "\n" not in reason


def test_a_folder_that_is_not_one_or_cannot_be_listed_stays_an_error(tmp_path):
    file = tmp_path / "file"
    file.write_text("x")
    assert browse_only_reason(file, "not a folder") is None
    missing = tmp_path / "missing"  # nothing there yet: browsing an empty folder is fine
    assert browse_only_reason(missing, "cannot write there") is not None


async def test_the_dashboard_browses_a_read_only_folder_and_refuses_to_start(read_only_runs):
    reason = browse_only_reason(read_only_runs, check_runs_dir(read_only_runs))
    app = DaeApp(runs_dir=read_only_runs, read_only=reason)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: "browsing only" in screen_text(app))
        assert app.query_one(RunStatus).message == READ_ONLY_STATUS
        await pilot.press("l")  # the whole reason, with the folder, is in the Log
        await wait_until(
            pilot,
            lambda: "browsing only: --runs-dir" in screen_text(app) and "Read-only file system" in screen_text(app),
        )
        await pilot.press("r")
        await wait_until(pilot, lambda: "20240101-120000-mnist-seed-ab12" in screen_text(app))
        # R and d would write in the folder: refused at once, with the reason, no question asked.
        for key, title in (("R", "Cannot resume"), ("d", "Not deleted")):
            await pilot.press(key)
            await wait_until(pilot, lambda title=title: title in [n.title for n in app._notifications])
            assert app.resume is None and len(app.screen_stack) == 1
        # Opening the run speaks of it; the note comes back once the panel has nothing else to say.
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.run_dir is not None)
        app._notifications.clear()
        await pilot.press("t")
        await wait_until(pilot, lambda: app.query_one("#tabs").active == "train")
        app.set_focus(None)  # s is the Start key, not a letter typed into a form field
        await pilot.press("s")
        await pilot.pause()
        assert app.state == "idle" and app.trainer is None
        assert [n.title for n in app._notifications] == ["Cannot start"]
        assert list(app._notifications)[0].message == reason
    assert sorted(p.name for p in read_only_runs.iterdir()) == ["20240101-120000-mnist-seed-ab12"]


def test_train_and_sweep_still_refuse_a_read_only_folder_in_one_line(read_only_runs):
    for command in (["train", "--source", "bundled", "--epochs", "1"], ["sweep", "--trials", "1"]):
        done = subprocess.run(
            [sys.executable, "-m", "dae_tui", *command, "--runs-dir", str(read_only_runs)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot write there (Read-only file system)" in lines[0], done.stderr


@pytest.mark.e2e
def test_the_real_dashboard_starts_on_a_read_only_folder_in_a_terminal(read_only_runs, tmp_path):
    from helpers.tmux import TmuxSession

    dae_tui = Path(sys.executable).with_name("dae-tui")
    session = TmuxSession(f"{dae_tui} --runs-dir {read_only_runs}", tmp_path, width=100, height=30)
    try:
        session.wait_for("browsing only")
        session.press("q")
        assert session.wait_exit() == 0
    finally:
        session.close()
