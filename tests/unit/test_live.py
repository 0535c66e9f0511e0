"""The files a run is watched and steered through from another process (`runs.live`): the
control channel's rules (one command once, in order; a garbled or stale file ignored), the live
file, and who may attach."""

from __future__ import annotations

import json
import os

import pytest
from helpers.runfolders import lock, make_run

from dae_tui.core.config import TrainConfig
from dae_tui.core.events import BatchProgress, RunStarted
from dae_tui.runs.live import (
    CONTROL_LOCK_NAME,
    CONTROL_NAME,
    LIVE_NAME,
    AttachedRun,
    ControlReader,
    LiveWriter,
    NotLive,
    check_live,
)


def write_control(folder, seq, command="pause"):
    (folder / CONTROL_NAME).write_text(json.dumps({"seq": seq, "command": command}))
    # Two writes within the clock's tick look alike by mtime: move it on, as time would.
    stat = os.stat(folder / CONTROL_NAME)
    os.utime(folder / CONTROL_NAME, ns=(stat.st_atime_ns, stat.st_mtime_ns + seq * 1000))


def test_a_command_is_applied_once_and_one_left_from_before_never(tmp_path):
    write_control(tmp_path, 5, "stop")  # a dead dashboard's, from before this run trained
    reader = ControlReader(tmp_path)
    assert reader.poll() is None
    write_control(tmp_path, 6, "pause")
    assert reader.poll()["command"] == "pause"
    assert reader.poll() is None  # once
    write_control(tmp_path, 7, "continue")
    assert reader.poll()["command"] == "continue"
    write_control(tmp_path, 3, "stop")  # older than the last applied: not a new command
    assert reader.poll() is None


@pytest.mark.parametrize(
    "content", [b"{not json", b'{"seq": "7", "command": "pause"}', b'{"seq": 9, "command": "rm -rf"}', b"[]"]
)
def test_a_garbled_control_file_is_ignored_and_noted(tmp_path, content):
    reader = ControlReader(tmp_path)
    (tmp_path / CONTROL_NAME).write_bytes(content)
    assert reader.poll() is None
    assert reader.notes and CONTROL_NAME in reader.notes[-1]
    write_control(tmp_path, 10, "pause")  # a good one afterwards still counts
    assert reader.poll()["command"] == "pause"


def test_the_live_file_carries_the_start_and_the_latest_batch(tmp_path):
    writer = LiveWriter(tmp_path)
    started = RunStarted(
        config=TrainConfig(),
        run_dir=str(tmp_path),
        source="bundled",
        source_detail="x",
        dataset_label="mnist",
        device="cpu",
        train_size=256,
        test_size=100,
        batches_per_epoch=8,
        start_epoch=2,
        parameters=1000,
        threads=1,
        start_batch=3,
    )
    writer.started(started)
    doc = json.loads((tmp_path / LIVE_NAME).read_text())
    assert doc["pid"] == os.getpid() and doc["epoch"] == 2 and doc["batch"] == 3 and doc["batches"] == 8
    assert doc["started"]["device"] == "cpu" and doc["started"]["train_size"] == 256
    writer._last = -float("inf")
    writer.progress(BatchProgress(2, 5, 6, 8, 0.05, 1234.0, 9.0))
    writer.set_paused(True)
    doc = json.loads((tmp_path / LIVE_NAME).read_text())
    assert (doc["batch"], doc["train_mse"], doc["paused"]) == (6, 0.05, True)
    writer.close()
    assert not (tmp_path / LIVE_NAME).exists()


def test_only_a_run_training_on_this_host_can_be_attached(tmp_path):
    finished = make_run(tmp_path, "20240101-120000-mnist-seed", status="finished")
    with pytest.raises(NotLive, match="is not training"):
        check_live(finished)
    elsewhere = make_run(
        tmp_path, "20240101-120001-mnist-seed", status="running", lock=lock(pid=4242, host="gpu-box-2")
    )
    with pytest.raises(NotLive, match="trains on gpu-box-2"):
        check_live(elsewhere)
    with pytest.raises(NotLive, match="no such run folder"):
        check_live(tmp_path / "missing")


def test_one_watcher_controls_and_the_other_says_who(tmp_path):
    folder = make_run(tmp_path, "20240101-120000-mnist-seed", status="running", lock=lock())
    first = AttachedRun(folder)
    second = AttachedRun(folder)
    try:
        assert first.controls and not second.controls
        assert f"pid {os.getpid()}" in second.controller
        assert first.pause() and not second.pause()
        assert json.loads((folder / CONTROL_NAME).read_text())["command"] == "pause"
        first.detach()  # control goes with the first watcher
        third = AttachedRun(folder)
        assert third.controls
        third.detach()
    finally:
        first.detach()
        second.detach()
    assert (folder / CONTROL_LOCK_NAME).exists()


def test_without_flock_the_watcher_still_steers_and_says_control_is_not_exclusive(tmp_path, monkeypatch):
    """A run folder on a filesystem without flock (some network mounts answer ENOLCK)."""
    import errno
    import fcntl

    folder = make_run(tmp_path, "20240101-120000-mnist-seed", status="running", lock=lock())

    def no_flock(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    watcher = AttachedRun(folder)
    try:
        assert watcher.controls and "no flock" in watcher.no_lease
        assert watcher.pause()
        notices = [event for event in _first_events(watcher) if type(event).__name__ == "Notice"]
        assert any("could steer it too" in notice.text for notice in notices)
    finally:
        watcher.detach()


def _first_events(watcher, count=2):
    events = []
    for event in watcher.run():
        events.append(event)
        if len(events) >= count:
            watcher.detach()
    return events
