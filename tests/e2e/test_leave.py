"""Leave and come back, for real (issue 20): the terminal of a dashboard that trains is killed
(tmux's server goes: a real SIGHUP), the run goes on in the background, a new dashboard attaches
to it, steers it, and the run ends with the figures of the same run left alone."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.tmux import TmuxSession

from dae_tui.runs.files import pid_alive

pytestmark = pytest.mark.slow  # and e2e, as every test in this folder (conftest)

DAE_TUI = str(Path(sys.executable).with_name("dae-tui"))
FLAGS = [
    "--dataset",
    "mnist",
    "--source",
    "bundled",
    "--train-limit",
    "4000",
    "--batch-size",
    "16",
    "--threads",
    "1",
    "--epochs",
    "12",
]


def figures(run_dir: Path) -> list[tuple[int, float, float]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [(r["epoch"], r["train_mse"], r["test_mse"]) for r in map(json.loads, lines)]


def owner(run_dir: Path) -> int | None:
    try:
        return json.loads((run_dir / "run.lock").read_text()).get("pid")
    except (OSError, ValueError):
        return None


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_run_survives_its_terminal_and_a_new_dashboard_attaches_and_sees_it_finish(tmp_path):
    runs = tmp_path / "runs"
    command = shlex.join([DAE_TUI, *FLAGS, "--runs-dir", str(runs)])
    first = TmuxSession(command, tmp_path, width=100, height=30)
    background = None
    try:
        first.wait_for("Start", "● idle")
        first.press("s")
        first.wait_for("Epoch 2/12", timeout=120)  # epoch 1 is saved; epoch 2 is under way
        (run_dir,) = runs.iterdir()
        dashboard = owner(run_dir)
        first.close()  # the terminal goes away: SIGHUP
        background = wait_for(
            lambda: (pid := owner(run_dir)) and pid != dashboard and pid, 30, "no background process took the run over"
        )
        wait_for(lambda: not pid_alive(dashboard), 30, "the dashboard did not leave")
        log = (run_dir / "train.log").read_text()
        assert f"taking over from pid {dashboard}" in log

        second = TmuxSession(shlex.join([DAE_TUI, "--runs-dir", str(runs)]), tmp_path, width=100, height=30)
        try:
            second.wait_for("1 run training in the background: A attaches it", timeout=60)
            second.press("A")
            second.wait_for("● training", timeout=60)
            second.press("p")
            second.wait_for("● paused", timeout=30)
            time.sleep(1.0)
            status = json.loads((run_dir / "status.json").read_text())
            assert status["status"] == "running"
            second.press("p")
            second.wait_for("● training", timeout=30)
            second.wait_for("● finished", timeout=180)
            second.press("q")
            assert second.wait_exit() == 0
        finally:
            second.close()
        wait_for(lambda: not pid_alive(background), 60, "the background process did not end")
    finally:
        if background is not None and pid_alive(background):
            os.kill(background, signal.SIGTERM)
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["last_epoch"] == 12
    alone = tmp_path / "alone"
    subprocess.run([DAE_TUI, "train", *FLAGS, "--runs-dir", str(alone)], check=True, capture_output=True, timeout=300)
    (reference,) = alone.iterdir()
    assert figures(run_dir) == figures(reference)


def test_a_headless_run_whose_terminal_hangs_up_keeps_training_into_its_log(tmp_path):
    runs = tmp_path / "runs"
    session = TmuxSession(shlex.join([DAE_TUI, "train", *FLAGS, "--runs-dir", str(runs)]), tmp_path)
    try:
        session.wait_for("epoch 1/12", timeout=120)
        (run_dir,) = runs.iterdir()
        pid = owner(run_dir)
    finally:
        session.close()  # SIGHUP
    wait_for(lambda: not pid_alive(pid), 180, "the run did not finish")
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["last_epoch"] == 12
    log = (run_dir / "train.log").read_text()
    assert "the terminal hung up: training goes on" in log and "finished 12 epochs" in log


@pytest.mark.parametrize("target, words", [("missing", "no such run folder"), ("finished", "is not training")])
def test_attach_to_what_nothing_trains_is_one_line_and_exit_2(tmp_path, target, words):
    from helpers.runfolders import make_run

    path = tmp_path / "missing" if target == "missing" else make_run(tmp_path, status="finished")
    out = subprocess.run([DAE_TUI, "--attach", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and words in out.stderr and out.stderr.startswith("dae-tui: error:")


def test_on_hangup_takes_only_continue_or_stop(tmp_path):
    out = subprocess.run([DAE_TUI, "train", "--on-hangup", "later"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--on-hangup must be one of continue, stop (got 'later')" in out.stderr
    env = {**os.environ, "DAE_TUI_ON_HANGUP": "sometimes"}
    out = subprocess.run(
        [DAE_TUI, "train", "--epochs", "1", "--runs-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 2 and "$DAE_TUI_ON_HANGUP must be one of continue, stop" in out.stderr
    assert not list(tmp_path.iterdir())  # refused before anything ran
    out = subprocess.run(
        [DAE_TUI, "runs", "--runs-dir", str(tmp_path)], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0  # the variable is about runs that train, not about listing them
