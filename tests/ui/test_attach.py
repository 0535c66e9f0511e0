"""Leave and come back (issue 20): a run handed over when its dashboard leaves, and a dashboard
attached to a run that another process trains here. Real processes, real run folders: the run
handed over is a real `dae-tui train --take-over`, the run attached to a real `dae-tui train`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.pilot import collector, screen_text, wait_until

from dae_tui.core.config import TrainConfig
from dae_tui.core.events import BatchProgress, EpochEnd
from dae_tui.runs.files import pid_alive
from dae_tui.runs.live import AttachedRun
from dae_tui.ui import DaeApp
from dae_tui.ui.dialogs.screens import QuitScreen

pytestmark = pytest.mark.slow

DAE_TUI = str(Path(sys.executable).with_name("dae-tui"))
FLAGS = ["--dataset", "mnist", "--source", "bundled", "--train-limit", "2000", "--batch-size", "16", "--threads", "1"]
SIZE = (100, 30)
EPOCHS = 8
"""The hand-over test's run: long enough that the pause lands before its end on a loaded machine."""


def config(epochs: int) -> TrainConfig:
    return TrainConfig(dataset="mnist", source="bundled", train_limit=2000, batch_size=16, threads=1, epochs=epochs)


def start_training(runs: Path, epochs: int) -> tuple[subprocess.Popen, Path]:
    """A real `dae-tui train` in another process, and its run folder once it is live."""
    proc = subprocess.Popen(
        [DAE_TUI, "train", *FLAGS, "--epochs", str(epochs), "--runs-dir", str(runs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while not list(runs.glob("*/live.json")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never went live"
        time.sleep(0.05)
    (run_dir,) = runs.iterdir()
    return proc, run_dir


def finish(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_gone(pid: int, timeout: float = 120.0) -> None:
    """Until process `pid` has ended (reaped when it is this process's child: a hand-over started
    from a dashboard inside the test process)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        if not pid_alive(pid):
            return
        assert time.monotonic() < deadline, f"pid {pid} still running"
        time.sleep(0.1)


def records(run_dir: Path) -> list[tuple[int, float, float]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [(r["epoch"], r["train_mse"], r["test_mse"]) for r in map(json.loads, lines)]


async def test_quit_keeps_the_run_training_in_the_background_and_it_ends_as_if_never_left(tmp_path):
    seen, hook = collector()
    app = DaeApp(config(EPOCHS), runs_dir=tmp_path / "runs")
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await pilot.press("s")
        # In the middle of epoch 2: its first batches are trained here, the rest in the background.
        await wait_until(
            pilot, lambda: any(isinstance(e, BatchProgress) and e.epoch == 2 and e.batch > 20 for e in seen), 120
        )
        await pilot.press("p")  # held there, so the hand-over's batch is known: in epoch 2
        await wait_until(pilot, lambda: app.state == "paused", 30)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitScreen))
        assert "background" in app.screen.question and "s: stop it" in screen_text(app)
        pressed = time.monotonic()
        await pilot.press("enter")  # the default: keep training
    note = app.resume_note()
    background = app.handed_to
    assert background is not None and note is not None and str(background.pid) in note
    assert f"dae-tui --attach {app.run_dir}" in note and str(background.log) in note
    run_dir = Path(app.run_dir)
    # The new process owns the folder (its lock names it) soon after the key.
    deadline = time.monotonic() + 30
    while True:
        try:
            lock = json.loads((run_dir / "run.lock").read_text())
        except (OSError, ValueError):
            lock = {}
        if lock.get("pid") == background.pid:
            break
        assert time.monotonic() < deadline, "the background process never took the run folder"
        time.sleep(0.01)
    took = time.monotonic() - pressed
    print(f"hand-over: {took:.2f} s from Enter to the new process owning the run folder")
    wait_gone(background.pid)
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["last_epoch"] == EPOCHS
    log = background.log.read_text()
    # It goes on where the pause landed: mid-epoch (epoch 2 or later on a loaded machine), or at an
    # epoch's start when the pause was taken in the test pass that closes an epoch.
    where = re.search(r"continuing epoch (\d+) after batch (\d+)/125|resuming at epoch (\d+)", log)
    assert where is not None and f"finished {EPOCHS} epochs" in log, log
    assert int(where[1] or where[3]) >= 2 and (where[2] is None or 0 < int(where[2]) < 125)
    # The same run left alone, for comparison: every epoch's figures equal, bit for bit.
    alone = tmp_path / "alone"
    subprocess.run(
        [DAE_TUI, "train", *FLAGS, "--epochs", str(EPOCHS), "--runs-dir", str(alone)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (reference,) = alone.iterdir()
    assert records(run_dir) == records(reference)
    import torch

    ours = torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]
    theirs = torch.load(reference / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(ours[name], theirs[name]) for name in theirs)


async def test_attach_watches_a_run_live_and_p_and_x_steer_it(tmp_path):
    proc, run_dir = start_training(tmp_path, epochs=500)
    try:
        seen, hook = collector()
        app = DaeApp(config(500), runs_dir=tmp_path, attach=str(run_dir))
        async with app.run_test(size=SIZE, message_hook=hook) as pilot:
            await wait_until(pilot, lambda: app.state == "training" and app.attached is not None)
            await wait_until(pilot, lambda: any(isinstance(e, BatchProgress) for e in seen))
            await wait_until(pilot, lambda: any(isinstance(e, EpochEnd) for e in seen), 120)
            chart = app.query_one("#chart")
            assert chart.epochs  # the epochs so far are on the chart
            await pilot.press("p")
            await wait_until(pilot, lambda: app.state == "paused", 30)
            assert json.loads((run_dir / "run.lock").read_text())["pid"] == proc.pid
            await pilot.press("p")
            await wait_until(pilot, lambda: app.state == "training", 30)
            await pilot.press("x")
            await wait_until(pilot, lambda: app.state == "stopped", 60)
        assert proc.wait(60) == 130
        status = json.loads((run_dir / "status.json").read_text())
        assert status["status"] == "stopped" and f"pid {os.getpid()}" in status["message"]
    finally:
        finish(proc)


async def test_q_detaches_and_the_run_goes_on(tmp_path):
    proc, run_dir = start_training(tmp_path, epochs=500)
    try:
        app = DaeApp(config(500), runs_dir=tmp_path, attach=str(run_dir))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.state == "training")
            await pilot.press("q")  # no question: the run is not this dashboard's
            await pilot.pause()
        note = app.resume_note()
        assert note is not None and "detached from" in note and str(proc.pid) in note
        time.sleep(0.5)
        assert proc.poll() is None and json.loads((run_dir / "status.json").read_text())["status"] == "running"
    finally:
        finish(proc)


async def test_a_second_dashboard_watches_and_says_who_controls(tmp_path):
    proc, run_dir = start_training(tmp_path, epochs=500)
    first = AttachedRun(run_dir)  # another dashboard, attached first
    try:
        app = DaeApp(config(500), runs_dir=tmp_path, attach=str(run_dir))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.state == "training")
            await pilot.press("p")
            await wait_until(pilot, lambda: any("Watching only" in n.message for n in app._notifications))
            assert app.state == "training"
    finally:
        first.detach()
        finish(proc)


async def test_the_first_screen_says_a_run_trains_in_the_background_and_A_attaches_it(tmp_path):
    proc, run_dir = start_training(tmp_path, epochs=500)
    try:
        app = DaeApp(config(500), runs_dir=tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: "1 run training in the background: A attaches it" in screen_text(app))
            await pilot.press("A")
            await wait_until(pilot, lambda: app.state == "training" and app.attached is not None)
            assert app.run_dir == str(run_dir.resolve())
            await pilot.press("q")
    finally:
        finish(proc)


async def test_a_run_killed_while_attached_reads_interrupted(tmp_path):
    proc, run_dir = start_training(tmp_path, epochs=500)
    app = DaeApp(config(500), runs_dir=tmp_path, attach=str(run_dir))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state == "training")
        proc.kill()
        proc.wait()
        await wait_until(pilot, lambda: app.state == "failed", 30)
        assert "ended without a word" in app.query_one("#status").message


async def test_attaching_to_a_run_nothing_trains_is_one_line(tmp_path):
    from helpers.runfolders import make_run

    folder = make_run(tmp_path, status="finished")
    app = DaeApp(config(3), runs_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.attach_run(folder)
        await pilot.pause()
        assert app.attached is None and app.state == "idle"
        assert any("is not training" in n.message for n in app._notifications)


async def test_the_palette_sets_what_a_hang_up_does_and_a_hang_up_then_stops_the_run(tmp_path):
    """`--on-hangup` as a setting of the open dashboard: the palette switches it (saying so), and
    a hang-up after the switch to "stop" stops the run here, checkpoint kept, with no hand-over."""
    seen, hook = collector()
    app = DaeApp(config(EPOCHS), runs_dir=tmp_path / "runs")
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        assert app.on_hangup == "continue" and "On hang-up: stop the run, its checkpoint kept" in commands
        commands["On hang-up: stop the run, its checkpoint kept"].callback()
        await pilot.pause()
        assert app.on_hangup == "stop"
        assert any("hangs up mid-run: stop the run" in n.message for n in app._notifications)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "On hang-up: keep training in the background" in titles  # the way back
        await pilot.press("s")
        await wait_until(pilot, lambda: any(isinstance(e, BatchProgress) and e.batch > 2 for e in seen), 120)
        app._stop_by_signal(signal.SIGHUP)  # what the SIGHUP handler calls
        await pilot.pause()
    assert app.handed_to is None and app.return_code == 129
    deadline = time.monotonic() + 60
    while (status := json.loads((Path(app.run_dir) / "status.json").read_text()))["status"] == "training":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert status["status"] == "stopped" and "SIGHUP" in json.dumps(status), status
    assert not list(Path(app.run_dir).glob("train.log"))  # nothing was handed over
