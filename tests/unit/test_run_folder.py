"""What a real tiny run leaves in its folder besides the checkpoint: heartbeat, status, pictures."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import replace

import pytest
from helpers.runfolders import lock

from dae_tui.core.events import EpochEnd, Paused, Picture, RunFailed, RunStarted, RunStopped, Samples
from dae_tui.runs import files as runfiles
from dae_tui.runs.samples import SampleRecorder, load_samples
from dae_tui.runs.store import FAILED, FINISHED, RUNNING, STOPPED, read_run
from dae_tui.training import checkpoints as ckpt
from dae_tui.training import trainer as trainer_module
from dae_tui.training.trainer import Trainer


def of(kind, events):
    return [e for e in events if isinstance(e, kind)]


def status_of(run_dir) -> dict:
    return json.loads((run_dir / "status.json").read_text())


@pytest.mark.slow
def test_a_run_holds_its_lock_while_training_then_says_finished(tiny_config, tmp_path):
    events, seen_running = [], []
    for event in Trainer(tiny_config, runs_dir=tmp_path).run():
        events.append(event)
        if isinstance(event, (RunStarted, EpochEnd)):
            run_dir = tmp_path / events[0].run_dir
            held = json.loads((run_dir / "run.lock").read_text())
            assert held["pid"] == os.getpid() and held["host"] == runfiles.this_host()
            seen_running.append((read_run(run_dir).status, status_of(run_dir)["status"]))
    assert seen_running == [(RUNNING, "running")] * 3
    run_dir = tmp_path / events[0].run_dir
    assert not (run_dir / "run.lock").exists()
    status = status_of(run_dir)
    assert (status["status"], status["last_epoch"], status["epochs"]) == ("finished", 2, 2)
    info = read_run(run_dir)
    assert info.status == FINISHED and info.epochs_done == 2 and info.best_epoch in (1, 2)
    assert info.started.isoformat(timespec="milliseconds") == runfiles.parse_time(status["started"]).isoformat(
        timespec="milliseconds"
    )
    assert not list(run_dir.rglob(".*tmp"))


@pytest.mark.slow
def test_saved_samples_load_back_equal_to_the_events(tiny_config, tmp_path):
    events = list(Trainer(tiny_config, runs_dir=tmp_path).run())
    yielded = {s.epoch: s for s in of(Samples, events)}
    loaded = load_samples(events[-1].run_dir)
    assert sorted(loaded) == [0, 1, 2] and loaded == yielded
    assert len((tmp_path / events[-1].run_dir / "samples" / "denoised-0002.u8").read_bytes()) == 8 * 28 * 28


@pytest.mark.slow
def test_the_heartbeat_is_written_every_few_seconds_not_every_batch(tiny_config, tmp_path, monkeypatch):
    writes = []
    real = runfiles.atomic_write_json

    def counting(path, value):
        if path.name == runfiles.LOCK_NAME:
            writes.append(value)
        real(path, value)

    monkeypatch.setattr(runfiles, "atomic_write_json", counting)
    monkeypatch.setattr(runfiles, "HEARTBEAT_INTERVAL_S", 3600.0)  # however slow this machine is today
    events = list(Trainer(replace(tiny_config, epochs=3), runs_dir=tmp_path).run())
    assert len(of(EpochEnd, events)) == 3
    # One at the start and one as each epoch begins; 8 batches an epoch write nothing more.
    assert len(writes) == 4 and [w["epoch"] for w in writes] == [1, 1, 2, 3]


def test_a_paused_run_keeps_its_heartbeat_fresh(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_module, "HEARTBEAT_INTERVAL_S", 0.05)
    trainer = Trainer(replace(tiny_config, epochs=50), runs_dir=tmp_path)
    trainer.pause()
    events: list = []
    thread = threading.Thread(target=lambda: events.extend(trainer.run()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not trainer.run_dir or not (trainer.run_dir / "run.lock").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    path = trainer.run_dir / "run.lock"
    time.sleep(0.3)
    first = json.loads(path.read_text())
    time.sleep(0.3)
    second = json.loads(path.read_text())
    assert first["paused"] and second["updated"] > first["updated"]
    assert read_run(trainer.run_dir).message.startswith("paused")
    trainer.request_stop()
    thread.join(10)
    assert of(Paused, events) and isinstance(events[-1], RunStopped)


@pytest.mark.slow
def test_stop_then_resume_rewrites_the_status_and_keeps_every_picture(tiny_config, tmp_path):
    config = replace(tiny_config, epochs=3)
    trainer = Trainer(config, runs_dir=tmp_path)
    first = []
    for event in trainer.run():
        first.append(event)
        if isinstance(event, EpochEnd) and event.epoch == 1:
            trainer.request_stop()
    run_dir = tmp_path / first[-1].run_dir
    stopped = status_of(run_dir)
    assert (stopped["status"], stopped["last_epoch"]) == ("stopped", 1)
    assert read_run(run_dir).status == STOPPED and not (run_dir / "run.lock").exists()
    assert sorted(load_samples(run_dir)) == [0, 1]

    resumed = []
    for event in Trainer(resume=run_dir).run():
        resumed.append(event)
        if isinstance(event, RunStarted):
            again = status_of(run_dir)
            assert again["status"] == "running" and again["started"] == stopped["started"]
            assert read_run(run_dir).status == RUNNING
    assert status_of(run_dir)["status"] == "finished" and read_run(run_dir).status == FINISHED
    yielded = {s.epoch: s for s in of(Samples, first) + of(Samples, resumed)}
    assert load_samples(run_dir) == yielded and sorted(yielded) == [0, 1, 2, 3]


def test_a_failed_run_says_why_in_its_status(tiny_config, tmp_path, monkeypatch):
    def disk_full(path, state):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt, "save_checkpoint", disk_full)
    events = list(Trainer(tiny_config, runs_dir=tmp_path).run())
    assert isinstance(events[-1], RunFailed)
    run_dir = tmp_path / events[-1].run_dir
    info = read_run(run_dir)
    assert info.status == FAILED and "No space left on device" in info.message
    assert not (run_dir / "run.lock").exists()


def test_resuming_a_run_another_process_trains_is_refused(tiny_config, tmp_path):
    done = list(Trainer(replace(tiny_config, epochs=1), runs_dir=tmp_path).run())
    run_dir = tmp_path / done[-1].run_dir
    before = (run_dir / "status.json").read_text()
    (run_dir / "run.lock").write_text(json.dumps(lock()))
    events = list(Trainer(resume=run_dir, overrides={"epochs": 2}).run())
    assert len(events) == 1 and isinstance(events[0], RunFailed) and events[0].usage
    assert f"is being trained by process {os.getpid()} on {socket.gethostname()}" in events[0].message
    assert (run_dir / "status.json").read_text() == before and (run_dir / "run.lock").exists()


def test_closing_the_event_stream_early_drops_the_lock(tiny_config, tmp_path):
    stream = Trainer(replace(tiny_config, epochs=50), runs_dir=tmp_path).run()
    started = next(stream)
    run_dir = tmp_path / started.run_dir
    assert (run_dir / "run.lock").exists()
    stream.close()
    assert not (run_dir / "run.lock").exists()
    assert read_run(run_dir).status == "interrupted"


def _samples(epoch: int, shade: int = 0) -> Samples:
    pictures = tuple(Picture(28, 28, bytes([(shade + i) % 256]) * 784) for i in range(8))
    return Samples(
        epoch,
        tuple(range(8)),
        tuple(range(8)),
        pictures,
        pictures,
        tuple(Picture(28, 28, bytes([epoch]) * 784) for _ in range(8)),
        (9.5,) * 8,
        tuple(10.0 + epoch + i / 10 for i in range(8)),
    )


def test_sample_recorder_keeps_earlier_epochs_unless_the_pictures_changed(tmp_path):
    recorder = SampleRecorder(tmp_path)
    for epoch in (0, 1, 2):
        recorder.record(_samples(epoch))
    assert load_samples(tmp_path) == {e: _samples(e) for e in (0, 1, 2)}
    SampleRecorder(tmp_path).record(_samples(2))  # a resumed run starts at its last epoch
    assert sorted(load_samples(tmp_path)) == [0, 1, 2]
    SampleRecorder(tmp_path).record(_samples(2, shade=7))  # other test pictures: a fresh start
    assert sorted(load_samples(tmp_path)) == [2]


@pytest.mark.parametrize("damage", ["no folder", "bad index", "short file", "missing epoch"])
def test_load_samples_returns_what_is_whole(tmp_path, damage):
    recorder = SampleRecorder(tmp_path)
    for epoch in (0, 1):
        recorder.record(_samples(epoch))
    folder = tmp_path / "samples"
    expected = [0, 1]
    if damage == "no folder":
        import shutil

        shutil.rmtree(folder)
        expected = []
    elif damage == "bad index":
        (folder / "index.json").write_text("{")
        expected = []
    elif damage == "short file":
        (folder / "denoised-0001.u8").write_bytes(b"\x00" * 10)
        expected = [0]
    else:
        (folder / "denoised-0000.u8").unlink()
        expected = [1]
    assert sorted(load_samples(tmp_path)) == expected


def test_run_folders_started_in_one_second_get_names_apart_and_sortable_by_time(tiny_config, tmp_path):
    from dae_tui.runs.files import started_from_name
    from dae_tui.training.checkpoints import new_run_dir

    folders = [new_run_dir(tmp_path, tiny_config) for _ in range(50)]
    names = [f.name for f in folders]
    assert len(set(names)) == 50 and all(f.is_dir() for f in folders)
    for name in names:
        # <time>-<dataset>-<model>-<4 hex>: the time first, so names sort by start.
        assert started_from_name(name) is not None
        assert name.startswith(f"{name[:15]}-{tiny_config.dataset}-{tiny_config.model}-")
        assert len(name.rsplit("-", 1)[1]) == 4 and int(name.rsplit("-", 1)[1], 16) >= 0
    assert sorted(names, key=lambda n: n[:15]) == names  # made one after another: in time order
