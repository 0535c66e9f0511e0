"""Faults in and around a run folder (issue 10): NaN, corrupt or edited files, a full disk, two
writers, leftovers of a killed process. Real run folders, real checkpoints, real faults."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from dae_tui.core.config import ConfigError
from dae_tui.core.events import EpochEnd, Notice, RunFailed, RunFinished, RunStarted
from dae_tui.runs.files import RunMarker, atomic_write
from dae_tui.runs.info import FAILED, read_run
from dae_tui.training import checkpoints as ckpt
from dae_tui.training.trainer import Trainer
from dae_tui.ui.resume import ResumeInfo

ROOT = Path(__file__).resolve().parents[2]


def run_all(trainer: Trainer) -> list:
    return list(trainer.run())


def of(kind, events):
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture
def one_epoch(tiny_config, tmp_path) -> Path:
    """A run folder with one finished epoch (of 2 planned)."""
    events = run_all(Trainer(replace(tiny_config, epochs=1), runs_dir=tmp_path))
    assert isinstance(events[-1], RunFinished)
    return Path(events[-1].run_dir)


def resave(run_dir: Path, change) -> None:
    """Load the checkpoint, let `change(state)` edit it, save it back (checksum and all)."""
    path = run_dir / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    change(state)
    state.pop("format")
    ckpt.save_checkpoint(path, state)


# --- 5: NaN ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_loss_that_goes_nan_stops_the_run_at_once_and_keeps_the_good_checkpoint(one_epoch):
    def poison_adam(state):
        # A negative second moment: Adam's first step of epoch 2 takes its square root, so the
        # weights go NaN after batch 1 and batch 2's loss is the first NaN. Nothing else changes.
        first = next(iter(state["optimizer"]["state"].values()))
        first["exp_avg_sq"].fill_(-1.0)

    resave(one_epoch, poison_adam)
    good = (one_epoch / "checkpoint.pt").read_bytes()
    metrics = (one_epoch / "metrics.jsonl").read_text()
    events = run_all(Trainer(resume=one_epoch, overrides={"epochs": 3}))
    failed = events[-1]
    assert isinstance(failed, RunFailed) and not failed.usage
    assert failed.message == (
        "loss became NaN at epoch 2 batch 2; try a lower learning rate; the checkpoint of epoch 1 is kept"
    )
    assert of(EpochEnd, events) == []
    assert (one_epoch / "checkpoint.pt").read_bytes() == good
    assert (one_epoch / "metrics.jsonl").read_text() == metrics
    info = read_run(str(one_epoch))
    assert info.status == FAILED and "loss became NaN at epoch 2 batch 2" in info.message
    assert info.epochs_done == 1


@pytest.mark.slow
def test_a_checkpoint_holding_a_nan_weight_is_refused_in_one_line(one_epoch):
    def poison_weight(state):
        name = next(k for k, v in state["model"].items() if v.is_floating_point())
        state["model"][name].view(-1)[0] = float("nan")

    resave(one_epoch, poison_weight)
    before = (one_epoch / "checkpoint.pt").read_bytes()
    events = run_all(Trainer(resume=one_epoch, overrides={"epochs": 2}))
    assert isinstance(events[-1], RunFailed) and "\n" not in events[-1].message
    assert "the model's weights are not finite (NaN or inf in" in events[-1].message
    assert (one_epoch / "checkpoint.pt").read_bytes() == before


# --- 11: silent corruption ---------------------------------------------------------------------


@pytest.mark.slow
def test_every_checkpoint_has_a_checksum_that_sha256sum_accepts(one_epoch):
    sums = one_epoch / "checkpoint.pt.sha256"
    assert sums.read_text().count("\n") == 1
    result = subprocess.run(["sha256sum", "-c", sums.name], cwd=one_epoch, capture_output=True, text=True)
    assert result.returncode == 0 and "checkpoint.pt: OK" in result.stdout


@pytest.mark.slow
def test_flipped_bytes_in_a_checkpoint_are_refused_in_one_line(one_epoch):
    path = one_epoch / "checkpoint.pt"
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(100):
        data[middle + i * 97] ^= 0xFF
    path.write_bytes(bytes(data))
    events = run_all(Trainer(resume=one_epoch, overrides={"epochs": 2}))
    assert isinstance(events[-1], RunFailed)
    assert events[-1].message == (
        f"{path}: corrupt, it does not match its checksum in checkpoint.pt.sha256 "
        "(changed on disk after it was saved); refusing it"
    )


@pytest.mark.slow
def test_a_checkpoint_without_a_checksum_loads_and_says_it_was_not_verified(one_epoch, tmp_path):
    (one_epoch / "checkpoint.pt.sha256").unlink()
    events = run_all(Trainer(resume=one_epoch, overrides={"epochs": 2}))
    assert isinstance(events[-1], RunFinished)
    assert any("has no recorded checksum" in n.text and "not verified" in n.text for n in of(Notice, events))
    # The next checkpoint records one again.
    assert (one_epoch / "checkpoint.pt.sha256").is_file()


@pytest.mark.slow
def test_a_kill_between_the_checkpoint_and_its_checksum_still_verifies(one_epoch, monkeypatch):
    """The checksum file names both digests while the new checkpoint replaces the old one."""
    path = one_epoch / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    state.pop("format")
    state["epoch"] = 1
    seen = []

    def killed_before_replace():
        raise KeyboardInterrupt  # as if the process died at this very moment

    original = ckpt.atomic_write

    def atomic_write_dying(target, write, *, what=None, before_replace=None):
        if target == path:

            def hook():
                before_replace()
                seen.append((path.with_name("checkpoint.pt.sha256")).read_text())
                killed_before_replace()

            return original(target, write, what=what, before_replace=hook)
        return original(target, write, what=what, before_replace=before_replace)

    monkeypatch.setattr(ckpt, "atomic_write", atomic_write_dying)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(path, {**state, "metrics": state["metrics"] + [{"epoch": 99}]})
    assert seen[0].count("\n") == 2  # old and new digest, while the swap was under way
    ckpt.load_checkpoint(path)  # the old checkpoint, still there, verifies


@pytest.mark.slow
def test_a_hand_edited_config_json_is_judged_against_the_checkpoint(one_epoch):
    config_file = one_epoch / "config.json"
    doc = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**doc, "lr": 0.01}))
    events = run_all(Trainer(resume=one_epoch, overrides={"epochs": 2}))
    assert isinstance(events[-1], RunFailed) and events[-1].usage
    assert events[-1].message.startswith(f"{config_file}: --lr is 0.01 there but the checkpoint was trained with 1e-3")
    # What may change on a resume may change there too: config.json's epochs count.
    config_file.write_text(json.dumps({**doc, "epochs": 2}))
    events = run_all(Trainer(resume=one_epoch))
    assert isinstance(events[-1], RunFinished) and [e.epoch for e in of(EpochEnd, events)] == [2]


@pytest.mark.parametrize(
    "state, says",
    [
        ({"format": 1}, "'model' missing or of the wrong type"),
        (
            {"format": 1, "model": {}, "optimizer": {}, "config": {}, "epoch": True, "metrics": [], "rng": {}},
            "'epoch' missing or of the wrong type",
        ),
        (
            {"format": 1, "model": {}, "optimizer": {}, "config": [], "epoch": 1, "metrics": [], "rng": {}},
            "'config' missing or of the wrong type",
        ),
        (
            {"format": 1, "model": {}, "optimizer": {}, "config": {"dataset": 5}, "epoch": 1, "metrics": [], "rng": {}},
            "its config is not usable: --dataset must be one of",
        ),
    ],
)
def test_a_checkpoint_of_the_wrong_shape_is_one_line(tmp_path, state, says):
    path = tmp_path / "checkpoint.pt"
    torch.save(state, path)
    events = run_all(Trainer(resume=path))
    assert isinstance(events[-1], RunFailed) and says in events[-1].message and "\n" not in events[-1].message


# --- 8: killed before the first checkpoint -----------------------------------------------------


@pytest.mark.slow
def test_a_run_folder_without_a_checkpoint_resumes_from_epoch_1_with_its_config(tiny_config, tmp_path):
    trainer = Trainer(replace(tiny_config, lr=3e-3), runs_dir=tmp_path)
    for event in trainer.run():
        if isinstance(event, RunStarted):
            trainer.request_stop()
    run_dir = trainer.run_dir
    (run_dir / "status.json").unlink()  # as a kill -9 leaves it: config.json and metrics.jsonl
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.startswith(".")) == [
        "config.json",
        "metrics.jsonl",
        "samples",
    ]
    info = ResumeInfo.read(run_dir)
    assert info.epochs_done == 0 and info.config.lr == 3e-3
    events = run_all(Trainer(resume=run_dir))
    assert "starts again from epoch 1" in of(Notice, events)[0].text
    assert of(RunStarted, events)[0].run_dir == str(run_dir) and of(RunStarted, events)[0].config.lr == 3e-3
    assert isinstance(events[-1], RunFinished) and [e.epoch for e in of(EpochEnd, events)] == [1, 2]


def test_a_folder_with_neither_checkpoint_nor_config_is_still_no_run(tmp_path):
    events = run_all(Trainer(resume=tmp_path))
    assert isinstance(events[-1], RunFailed) and "no checkpoint there" in events[-1].message
    with pytest.raises(ConfigError, match="no checkpoint there"):
        ResumeInfo.read(tmp_path)


# --- 12: two writers ---------------------------------------------------------------------------


def test_one_process_owns_a_run_folder_at_a_time(tmp_path):
    first, second = RunMarker(tmp_path, 3), RunMarker(tmp_path, 3)
    first.acquire()
    first.start(0)
    with pytest.raises(ConfigError) as caught:
        second.acquire()
    assert str(caught.value) == (
        f"{tmp_path} is being trained by process {os.getpid()} on "
        f"{socket.gethostname()}; one process trains a run at a time"
    )
    first.end("stopped", "", 0)
    second.acquire()  # free once the first let go
    second.release()


@pytest.mark.slow
def test_resuming_a_run_another_process_is_training_names_that_process(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dae-tui")),
            "train",
            "--dataset",
            "mnist",
            "--source",
            "bundled",
            "--train-limit",
            "4000",
            "--batch-size",
            "16",
            "--epochs",
            "50",
            "--threads",
            "1",
            "--runs-dir",
            str(runs),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(runs.glob("*/checkpoint.pt")):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        (run_dir,) = runs.iterdir()
        before = (run_dir / "checkpoint.pt").stat().st_mtime_ns
        events = run_all(Trainer(resume=run_dir, overrides={"epochs": 2}))
        assert isinstance(events[-1], RunFailed) and events[-1].usage
        assert f"is being trained by process {proc.pid} on {socket.gethostname()}" in events[-1].message
        assert of(RunStarted, events) == []
    finally:
        proc.terminate()
        assert proc.wait(60) == 143
    assert ckpt.load_checkpoint(run_dir / "checkpoint.pt")["epoch"] >= 1
    assert (run_dir / "checkpoint.pt").stat().st_mtime_ns >= before
    assert read_run(str(run_dir)).status == "stopped"


# --- 13: leftovers -----------------------------------------------------------------------------


@pytest.mark.slow
def test_temp_files_a_killed_writer_left_are_removed_when_the_run_is_opened(one_epoch):
    leftovers = [one_epoch / ".checkpoint.pt.k2j3.tmp", one_epoch / "samples" / ".index.json.x9.tmp"]
    for path in leftovers:
        path.write_bytes(b"\0" * 1000)
    keep = one_epoch / "notes.tmp"  # not ours: no leading dot
    keep.write_text("mine")
    run_all(Trainer(resume=one_epoch, overrides={"epochs": 2}))
    assert not any(p.exists() for p in leftovers) and keep.exists()


# --- 7: a full disk ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_full_disk_while_saving_keeps_the_previous_checkpoint_and_says_so(tmp_path):
    """A real write failure: the file-size limit (RLIMIT_FSIZE) drops under a checkpoint's size
    after epoch 1, so saving epoch 2's fails as on a full disk (EFBIG). In a child process, so
    the limit dies with it."""
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from dae_tui.core.config import TrainConfig
        from dae_tui.core.events import EpochEnd, RunFailed
        from dae_tui.training.trainer import Trainer
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        config = TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=3)
        for event in Trainer(config, runs_dir={str(tmp_path)!r}).run():
            if isinstance(event, EpochEnd) and event.epoch == 1:
                resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
            if isinstance(event, RunFailed):
                print(event.message)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (run_dir,) = tmp_path.iterdir()
    assert out.stdout.strip() == f"disk full while saving the checkpoint in {run_dir}; the previous one is kept"
    assert ckpt.load_checkpoint(run_dir / "checkpoint.pt")["epoch"] == 1
    info = read_run(str(run_dir))
    assert info.status == FAILED and info.epochs_done == 1 and "disk full" in info.message
    assert not list(run_dir.glob(".*.tmp"))


def test_a_folder_that_cannot_be_written_keeps_the_old_file_and_says_why(tmp_path):
    target = tmp_path / "gone" / "checkpoint.pt"
    with pytest.raises(OSError) as caught:
        atomic_write(target, lambda f: f.write(b"x"), what="the checkpoint")
    assert str(caught.value) == (
        f"cannot save the checkpoint in {target.parent} (No such file or directory); nothing was saved"
    )


# --- no global state left behind ----------------------------------------------------------------


def test_a_run_in_the_calling_thread_leaves_its_torch_thread_count_as_it_was(tiny_config, tmp_path):
    before = torch.get_num_threads()
    events = run_all(Trainer(replace(tiny_config, epochs=1, threads=1), runs_dir=tmp_path))
    assert of(RunStarted, events)[0].threads == 1
    assert torch.get_num_threads() == before


# --- issue 17: a suspended trainer is alive ------------------------------------------------------


def backdate_heartbeat(run_dir: Path, seconds: float) -> None:
    """Rewrite run.lock as if its last beat were `seconds` ago (the stopped process cannot)."""
    from helpers.runfolders import iso

    from dae_tui.runs.files import atomic_write_json

    lock = json.loads((run_dir / "run.lock").read_text())
    atomic_write_json(run_dir / "run.lock", {**lock, "updated": iso(seconds)})


def runs_json(runs: Path) -> list[dict]:
    out = subprocess.run(
        [str(Path(sys.executable).with_name("dae-tui")), "runs", "--json", "--runs-dir", str(runs)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.fixture
def suspended_trainer(tmp_path):
    """A real `dae-tui train` of 8 tiny epochs, SIGSTOPped once its first epoch is saved:
    (the process, its run folder). SIGCONT and wait are the test's; a failing test kills it."""
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dae-tui")),
            "train",
            "--dataset",
            "mnist",
            "--source",
            "bundled",
            "--train-limit",
            "256",
            "--batch-size",
            "32",
            "--epochs",
            "8",
            "--threads",
            "1",
            "--runs-dir",
            str(runs),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(runs.glob("*/checkpoint.pt")):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGSTOP)
        (run_dir,) = runs.iterdir()
        yield proc, run_dir
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            os.kill(proc.pid, signal.SIGCONT)
        proc.wait(60)
        proc.stderr.close()


@pytest.mark.slow
def test_a_suspended_trainer_is_suspended_refuses_delete_and_resume_and_finishes_every_epoch(suspended_trainer):
    from dae_tui.runs.store import RunStoreError, delete_run

    proc, run_dir = suspended_trainer
    host = socket.gethostname()
    note = (
        f"process {proc.pid} on {host} is suspended (SIGSTOP); `kill -CONT {proc.pid}` to continue it, or stop it first"
    )
    # Stopped with a fresh heartbeat (state T), then with one long stale: suspended both times.
    for age in (None, 600):
        if age is not None:
            backdate_heartbeat(run_dir, age)
        (run,) = runs_json(run_dir.parent)
        assert (run["status"], run["message"]) == ("suspended", note)
    done = run["epochs_done"]
    assert 1 <= done < 8

    with pytest.raises(RunStoreError) as caught:
        delete_run(run_dir)
    assert str(caught.value) == f"{run_dir.name} is not deleted: {note}"
    assert (run_dir / "checkpoint.pt").is_file()

    events = run_all(Trainer(resume=run_dir, overrides={"epochs": 8}))
    assert isinstance(events[-1], RunFailed) and events[-1].usage
    assert events[-1].message == f"{run_dir}: {note}" and of(RunStarted, events) == []
    with pytest.raises(ConfigError, match=f"--resume {run_dir}: process {proc.pid} on .* is suspended"):
        ResumeInfo.read(run_dir)

    os.kill(proc.pid, signal.SIGCONT)
    assert proc.wait(120) == 0, proc.stderr.read()
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == list(range(1, 9))
    (run,) = runs_json(run_dir.parent)
    assert run["status"] == "finished" and run["epochs_done"] == 8
    assert ckpt.load_checkpoint(run_dir / "checkpoint.pt")["epoch"] == 8


def test_a_trainer_holding_the_flock_with_a_stale_heartbeat_is_suspended_even_if_not_stopped(tmp_path):
    """Liveness is the flock: a live owner whose beat went stale (not in state T, say blocked on
    a hung disk) is not taken for dead, and delete refuses it."""
    from helpers.runfolders import lock, make_run

    from dae_tui.runs.store import RunStoreError, delete_run

    folder = make_run(tmp_path, status="running", lock=lock(age_s=600))
    assert read_run(folder).status == "interrupted"  # nobody holds the folder: its trainer is gone
    owner = RunMarker(folder, 3)
    owner.acquire()  # this process, on another open file: the flock is busy for everyone else
    try:
        info = read_run(folder)
        assert info.status == "suspended" and f"process {os.getpid()}" in info.message
        with pytest.raises(RunStoreError, match="is not deleted: process .* is suspended"):
            delete_run(folder)
        assert folder.is_dir()
    finally:
        owner.release()
    delete_run(folder)
    assert not folder.exists()


def test_a_delete_holds_the_folder_so_no_trainer_can_take_it_meanwhile(tmp_path, monkeypatch):
    from helpers.runfolders import make_run

    from dae_tui.runs import store as runstore

    folder = make_run(tmp_path, status="stopped")
    seen, rmtree = [], shutil.rmtree

    def rmtree_watched(path):
        # In the middle of the delete, a trainer tries to take the folder: it is refused.
        with pytest.raises(ConfigError, match="is being trained by another process on this host"):
            RunMarker(folder, 3).acquire()
        seen.append(path)
        rmtree(path)

    monkeypatch.setattr(runstore.shutil, "rmtree", rmtree_watched)
    runstore.delete_run(folder)
    assert seen == [folder] and not folder.exists()


@pytest.mark.slow
async def test_the_dashboards_delete_refuses_a_suspended_run_even_from_a_table_a_poll_behind(tmp_path):
    from dataclasses import replace as changed

    from helpers.pilot import wait_until
    from helpers.runfolders import lock, make_run

    from dae_tui.core.config import TrainConfig
    from dae_tui.ui import DaeApp
    from dae_tui.ui.dialogs.screens import ConfirmScreen
    from dae_tui.ui.panes.runs import RunsView

    folder = make_run(tmp_path, status="running", lock=lock(age_s=600))
    owner = RunMarker(folder, 3)
    owner.acquire()  # a live owner on this host whose heartbeat went stale: suspended
    try:
        app = DaeApp(TrainConfig(), runs_dir=tmp_path)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("r")
            await wait_until(pilot, lambda: app.query(RunsView) and folder.name in app.query_one(RunsView).runs)
            run = app.query_one(RunsView).runs[folder.name]
            assert run.status == "suspended"
            await pilot.press("d")
            await pilot.pause(0.1)
            assert not isinstance(app.screen, ConfirmScreen)
            assert any(
                "is not deleted: process" in n.message and "is suspended (SIGSTOP)" in n.message
                for n in app._notifications
            )
            # The table said "interrupted" a moment ago: the delete itself still refuses.
            app.delete_run(changed(run, status="interrupted", message=""))
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_until(
                pilot, lambda: any(n.title == "Not deleted" and "suspended" in n.message for n in app._notifications)
            )
        assert (folder / "metrics.jsonl").is_file()
    finally:
        owner.release()


# --- hostile files seen by the dashboard (issue 17) ------------------------------------------------

RUNS_TAB = """
import asyncio, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from helpers.pilot import screen_text, wait_until
from dae_tui.ui import DaeApp
from dae_tui.ui.panes.runs import RunsView

async def main():
    app = DaeApp(runs_dir=Path(sys.argv[1]))
    async with app.run_test(size=(160, 36)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: app.query(RunsView) and len(app.query_one(RunsView).runs) >= 4, 90)
        await pilot.pause(1.5)  # a few polls more: each reads the hostile folders again
        print(sorted(app.query_one(RunsView).runs))
        print(screen_text(app))

asyncio.run(main())
print("quit")
"""


@pytest.mark.slow
def test_the_runs_tab_shows_every_good_run_beside_fifos_and_hostile_numbers_and_quits(tmp_path):
    from helpers.runfolders import make_run

    runs = tmp_path / "runs"
    make_run(runs, "20240101-120000-mnist-good")
    fifo_status = make_run(runs, "20240102-120000-mnist-fifo-status")
    (fifo_status / "status.json").unlink()
    os.mkfifo(fifo_status / "status.json")
    fifo_lock = make_run(runs, "20240103-120000-mnist-fifo-lock", status=None)
    os.mkfifo(fifo_lock / "run.lock")
    numbers = (
        b'{"epoch": 4, "seconds": 1' + b"0" * 400 + b', "test_psnr": NaN, "train_mse": 1e308, "test_mse": -Infinity}\n'
    )
    make_run(runs, "20240104-120000-mnist-numbers", extra_lines=(numbers,))
    (runs / "loop").symlink_to(runs / "loop")
    tests = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", RUNS_TAB, str(runs), str(tests)], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == str(sorted(p.name for p in runs.iterdir() if p.name != "loop"))
    assert lines[-1] == "quit"  # no reader left blocked: the app left when asked
    assert "20240104-120000-mnist-numbers" in result.stdout and "4/3" in result.stdout


@pytest.mark.parametrize(
    "name, says",
    [
        ("checkpoint.pt.sha256", "corrupt, it does not match its checksum"),
        ("checkpoint.pt", "no checkpoint there"),
    ],
)
@pytest.mark.slow
def test_a_fifo_as_the_checkpoint_or_its_checksum_is_one_line_from_eval_not_a_hang(one_epoch, name, says):
    (one_epoch / name).unlink()
    os.mkfifo(one_epoch / name)
    result = subprocess.run(
        [sys.executable, "-m", "dae_tui", "eval", str(one_epoch), "--factors", "0.5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (1, 2) and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
