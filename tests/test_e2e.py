"""The real `dae-tui` in a real terminal (tmux, 100x30): start, train 2 epochs, look, quit."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import pytest
from tmux import TmuxSession

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def test_train_two_epochs_in_tmux_and_quit(tmp_path):
    command = shlex.join([
        str(Path(sys.executable).with_name("dae-tui")), "--dataset", "mnist", "--source", "bundled",
        "--epochs", "2", "--train-limit", "2000", "--runs-dir", str(tmp_path / "runs"),
    ])
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


@pytest.mark.parametrize("width, height", [(80, 24)])
def test_quit_mid_run_asks_then_prints_how_to_resume(tmp_path, width, height):
    runs = tmp_path / "runs"
    command = shlex.join([
        str(Path(sys.executable).with_name("dae-tui")), "--dataset", "mnist", "--source", "bundled",
        "--epochs", "50", "--batch-size", "16", "--train-limit", "4000", "--runs-dir", str(runs),
    ])
    session = TmuxSession(command, tmp_path, width=width, height=height, hold=True)
    try:
        session.wait_for("Start", "● idle")
        session.press("s")
        session.wait_for("Epoch 2/50", timeout=120)  # the first epoch is saved
        session.press("q")
        session.wait_for("y / q: quit")
        session.press("y")
        assert session.wait_exit() == 0
        # The line printed on the restored terminal, wrapped at its width. tmux paints what the
        # process wrote on its own schedule, so the exit file can land before the last line shows.
        text = "".join(session.wait_until(
            lambda screen: "resumeitwith:" in "".join(screen.split()), timeout=10).split())
        (run_dir,) = runs.iterdir()
        assert "stoppedafterepoch" in text and "resumeitwith:dae-tui--resume" in text
        assert "".join(str(run_dir).split()) in text
    finally:
        session.close()
    assert (run_dir / "checkpoint.pt").is_file()
