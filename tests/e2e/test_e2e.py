"""The real `dae-tui` in a real terminal (tmux, 100x30): start, train 2 epochs, look, quit."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.tmux import TmuxSession

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def test_train_two_epochs_in_tmux_and_quit(tmp_path):
    command = shlex.join(
        [
            str(Path(sys.executable).with_name("dae-tui")),
            "--dataset",
            "mnist",
            "--source",
            "bundled",
            "--epochs",
            "2",
            "--train-limit",
            "2000",
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    session = TmuxSession(command, tmp_path, width=100, height=30)
    try:
        session.wait_for("Start", "Quit", "● idle")
        session.press("s")
        session.wait_for("Epoch 2/2", "● finished", timeout=120)
        # The "Run finished" notice covers the end of the status lines for its first seconds.
        session.wait_until(lambda text: "mnist (bundled offline sample)" in text, timeout=15)
        session.press("i")
        # Polled: the pictures paint over a few frames, and the "Run finished" toast covers some
        # of them for its first seconds.
        screen = session.wait_until(lambda text: "denoised" in text and text.count("▀") > 1000)
        assert "clean" in screen and "noisy" in screen
        session.press("r")  # the Runs tab lists the run just trained
        screen = session.wait_for("1 run ·", "finished", "dB @ 2")
        session.press("q")  # nothing is running: no question
        assert session.wait_exit() == 0
    finally:
        session.close()
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "checkpoint.pt").is_file()
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 2


def test_inspect_tab_in_tmux_curve_what_if_and_a_drawn_digit(tmp_path, trained_run):
    runs = tmp_path / "runs"
    shutil.copytree(trained_run, runs / trained_run.name)
    command = shlex.join([str(Path(sys.executable).with_name("dae-tui")), "--runs-dir", str(runs)])
    session = TmuxSession(command, tmp_path, width=100, height=30)
    try:
        session.wait_for("Start", "● idle")
        session.press("n")  # the newest run, its curve computed and saved
        session.wait_for("PSNR dB ↑ vs gaussian factor", "saved in", "epoch 3/3", timeout=120)
        session.press("+")
        session.wait_for("what-if 0.6")
        session.press("v")
        session.wait_until(lambda text: "what-if gaussian 0.6 ·" in text and "denoised" in text)
        session.press("v")
        session.wait_for("draw here:")
        # A stroke down the middle of the canvas (its top left cell is column 1, row 5).
        session.drag([(15, y) for y in range(6, 15)])
        screen = session.wait_until(lambda text: "draw here:" not in text and text.count(" dB ─╯") == 2)
        assert "╭─ noisy" in screen and "╭─ denoised" in screen
        session.press("c")
        session.wait_for("draw here:")
        session.press("q")
        assert session.wait_exit() == 0
    finally:
        session.close()
    assert (runs / trained_run.name / "robustness.json").is_file()


@pytest.mark.parametrize("width, height", [(80, 24)])
def test_quit_mid_run_asks_then_prints_how_to_resume(tmp_path, width, height):
    runs = tmp_path / "runs"
    command = shlex.join(
        [
            str(Path(sys.executable).with_name("dae-tui")),
            "--dataset",
            "mnist",
            "--source",
            "bundled",
            "--epochs",
            "50",
            "--batch-size",
            "16",
            "--train-limit",
            "4000",
            "--runs-dir",
            str(runs),
        ]
    )
    session = TmuxSession(command, tmp_path, width=width, height=height, hold=True)
    try:
        session.wait_for("Start", "● idle")
        session.press("s")
        session.wait_for("Epoch 2/50", timeout=120)  # the first epoch is saved
        session.press("q")
        session.wait_for("s: stop it")
        session.press("s")
        assert session.wait_exit() == 0
        # The line printed on the restored terminal, wrapped at its width. tmux paints what the
        # process wrote on its own schedule, so the exit file can land before the last line shows.
        text = "".join(
            session.wait_until(lambda screen: "resumeitwith:" in "".join(screen.split()), timeout=10).split()
        )
        (run_dir,) = runs.iterdir()
        assert "stoppedafterepoch" in text and "resumeitwith:dae-tui--resume" in text
        assert "".join(str(run_dir).split()) in text
    finally:
        session.close()
    assert (run_dir / "checkpoint.pt").is_file()


def _app_pid(session: TmuxSession) -> int:
    """The dashboard's pid: the child of the pane's shell."""
    shell = session._tmux("display", "-p", "-t", "e2e", "#{pane_pid}").strip()
    out = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
    return int(out[0])


def _terminal_modes(session: TmuxSession) -> str:
    """'alternate-screen cursor-visible mouse-tracking' flags of the pane, e.g. '0 1 0' restored."""
    return session._tmux("display", "-p", "-t", "e2e", "#{alternate_on} #{cursor_flag} #{mouse_any_flag}").strip()


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_stops_the_dashboard_run_and_restores_the_terminal(tmp_path, signum, code):
    runs = tmp_path / "runs"
    command = shlex.join(
        [
            str(Path(sys.executable).with_name("dae-tui")),
            "--dataset",
            "mnist",
            "--source",
            "bundled",
            "--epochs",
            "50",
            "--batch-size",
            "16",
            "--train-limit",
            "4000",
            "--runs-dir",
            str(runs),
            "--on-hangup",
            "stop",  # today's default hands a hung-up run over (tests/e2e/test_leave.py)
        ]
    )
    session = TmuxSession(command, tmp_path, width=80, height=24, hold=True)
    try:
        session.wait_for("Start", "● idle")
        session.press("s")
        session.wait_for("Epoch 2/50", timeout=120)
        assert _terminal_modes(session) == "1 0 1"  # the app's: alternate screen, no cursor, mouse
        os.kill(_app_pid(session), signum)
        assert session.wait_exit() == code
        assert _terminal_modes(session) == "0 1 0"
        text = "".join(session.wait_until(lambda s: "resumeitwith:" in "".join(s.split()), timeout=10).split())
        assert "stoppedafterepoch" in text
    finally:
        session.close()
    (run_dir,) = runs.iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "stopped" and status["message"] == f"stopped by {signal.Signals(signum).name}"
    assert status["last_epoch"] >= 1 and not (run_dir / "run.lock").exists()


def test_closing_the_terminal_stops_the_run_cleanly_with_on_hangup_stop(tmp_path):
    """What a dropped SSH session does: the terminal goes, its processes get SIGHUP; with
    --on-hangup stop the run stops (the default hands it over: tests/e2e/test_leave.py)."""
    runs = tmp_path / "runs"
    command = shlex.join(
        [
            str(Path(sys.executable).with_name("dae-tui")),
            "--dataset",
            "mnist",
            "--source",
            "bundled",
            "--epochs",
            "50",
            "--batch-size",
            "16",
            "--train-limit",
            "4000",
            "--runs-dir",
            str(runs),
            "--on-hangup",
            "stop",
        ]
    )
    session = TmuxSession(command, tmp_path, width=100, height=30)
    session.wait_for("Start", "● idle")
    session.press("s")
    session.wait_for("Epoch 2/50", timeout=120)
    pid = _app_pid(session)
    session.close()  # the tmux server and its terminal go away
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)
    (run_dir,) = runs.iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "stopped" and status["message"] == "stopped by SIGHUP"
    assert (run_dir / "checkpoint.pt").is_file() and not (run_dir / "run.lock").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_quit_while_torch_loads_leaves_at_once_with_nothing_started(tmp_path):
    runs = tmp_path / "runs"
    command = shlex.join([str(Path(sys.executable).with_name("dae-tui")), "--runs-dir", str(runs)])
    session = TmuxSession(command, tmp_path, width=80, height=24, hold=True)
    try:
        session.wait_for("Start", "● idle")  # the first frame: torch takes seconds more to load
        session.press("s", "q")
        assert session.wait_exit() == 0
        assert _terminal_modes(session) == "0 1 0"
    finally:
        session.close()
    assert not runs.exists() or not list(runs.iterdir())


def test_a_crashed_dashboard_exits_non_zero(tmp_path):
    """A bug in a key's handler: Textual prints the traceback, and the exit code must say so."""
    script = (
        "import sys; from dae_tui.ui import run_app; from dae_tui.ui.app import DaeApp; "
        "from dae_tui.cli import parse_invocation; "
        "DaeApp.action_help = lambda self: 1 / 0; "
        f"run_app(parse_invocation(['--runs-dir', {str(tmp_path / 'runs')!r}]))"
    )
    session = TmuxSession(shlex.join([sys.executable, "-c", script]), tmp_path, width=80, height=24, hold=True)
    try:
        session.wait_for("Start", "● idle")
        session.press("?")
        assert session.wait_exit() == 1
        assert "ZeroDivisionError" in session.wait_until(lambda s: "ZeroDivisionError" in s, timeout=10)
    finally:
        session.close()
