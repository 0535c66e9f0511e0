"""The run store on folders the tests write: every status, every kind of bad file, and refresh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.runfolders import TINY_CONFIG, dead_pid, iso, lock, make_run, record

from dae_tui.runs import store as runstore
from dae_tui.runs.files import atomic_write_json, lock_is_live, started_from_name
from dae_tui.runs.store import (
    FAILED,
    FINISHED,
    INTERRUPTED,
    RUNNING,
    STOPPED,
    RunStore,
    RunStoreError,
    delete_run,
    list_runs,
    read_run,
)


def test_a_finished_run_has_its_figures(tmp_path):
    folder = make_run(tmp_path, done=3, started="2024-01-01T12:00:00.000+00:00")
    info = read_run(folder)
    assert info is not None and info.status == FINISHED and info.message == ""
    assert (info.name, info.path, info.epochs_done, info.epochs) == (folder.name, folder, 3, 3)
    assert info.config == TINY_CONFIG and [r["epoch"] for r in info.records] == [1, 2, 3]
    assert (info.best_test_psnr, info.best_epoch, info.last_test_psnr) == (13.0, 3, 13.0)
    assert info.seconds_per_epoch == 2.0 and info.warnings == ()
    assert info.started.isoformat() == "2024-01-01T12:00:00+00:00" and info.ended is not None
    assert (info.dataset, info.source, info.model, info.noise, info.noise_factor) == (
        "mnist",
        "bundled",
        "seed",
        "gaussian",
        0.5,
    )
    data = json.loads(json.dumps(info.to_json()))
    for key in (
        "run",
        "path",
        "status",
        "dataset",
        "source",
        "model",
        "noise",
        "noise_factor",
        "epochs_done",
        "epochs",
        "best_test_psnr",
        "best_epoch",
        "last_test_psnr",
        "seconds_per_epoch",
        "started",
        "config",
    ):
        assert key in data
    assert data["run"] == folder.name and data["config"]["train_limit"] == 256
    assert data["started"] == "2024-01-01T12:00:00+00:00"


def test_best_epoch_is_the_first_to_reach_the_best_psnr(tmp_path):
    folder = make_run(tmp_path, status=None, done=0)
    lines = [record(1, 3, 12.0), record(2, 3, 14.0), record(3, 3, 14.0)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    info = read_run(folder)
    assert (info.best_test_psnr, info.best_epoch, info.last_test_psnr) == (14.0, 2, 14.0)


@pytest.mark.parametrize("status, message", [(STOPPED, "stopped on request"), (FAILED, "OSError: disk full")])
def test_stopped_and_failed_runs_say_so(tmp_path, status, message):
    info = read_run(make_run(tmp_path, done=1, status=status, message=message))
    assert (info.status, info.message, info.epochs_done) == (status, message, 1)


def test_a_live_process_on_this_host_is_running(tmp_path):
    info = read_run(make_run(tmp_path, done=1, status="running", lock=lock()))
    assert info.status == RUNNING and f"process {os.getpid()}" in info.message
    paused = read_run(make_run(tmp_path, "b", done=1, status="running", lock=lock(paused=True)))
    assert paused.status == RUNNING and paused.message.startswith("paused")


def test_a_dead_process_means_interrupted(tmp_path):
    info = read_run(make_run(tmp_path, done=1, status="running", lock=lock(pid=dead_pid())))
    assert info.status == INTERRUPTED and "no heartbeat" in info.message


def test_a_stale_heartbeat_means_interrupted_even_if_the_pid_lives(tmp_path):
    info = read_run(make_run(tmp_path, done=1, status="running", lock=lock(age_s=120)))
    assert info.status == INTERRUPTED


@pytest.mark.parametrize("age_s, status", [(1, RUNNING), (120, INTERRUPTED)])
def test_a_lock_from_another_host_is_judged_by_its_heartbeat(tmp_path, age_s, status):
    other = lock(pid=dead_pid(), host="some-other-host.example", age_s=age_s)
    assert read_run(make_run(tmp_path, done=1, status="running", lock=other)).status == status


def test_running_status_without_a_lock_is_interrupted(tmp_path):
    assert read_run(make_run(tmp_path, done=2, status="running")).status == INTERRUPTED


def test_a_final_status_wins_over_a_leftover_lock(tmp_path):
    info = read_run(make_run(tmp_path, done=3, status="finished", lock=lock()))
    assert info.status == FINISHED


def test_an_unreadable_lock_counts_by_its_file_time(tmp_path):
    folder = make_run(tmp_path, done=1, status="running")
    (folder / "run.lock").write_bytes(b"\x00garbage")
    info = read_run(folder)
    assert info.status == RUNNING and any("run.lock" in w for w in info.warnings)
    old = time.time() - 120
    os.utime(folder / "run.lock", (old, old))
    assert read_run(folder).status == INTERRUPTED


@pytest.mark.parametrize("done, status", [(3, FINISHED), (2, INTERRUPTED), (0, INTERRUPTED)])
def test_old_runs_without_lock_or_status_are_judged_by_their_epochs(tmp_path, done, status):
    info = read_run(make_run(tmp_path, "20230704-101500-mnist-seed", done=done, status=None))
    assert info.status == status and info.epochs_done == done
    assert info.started == started_from_name("20230704-101500-mnist-seed")


def test_a_half_written_last_line_is_skipped_once(tmp_path):
    cut = json.dumps(record(3, 3)).encode()[:40]
    info = read_run(make_run(tmp_path, done=2, status=None, extra_lines=(cut,)))
    assert [r["epoch"] for r in info.records] == [1, 2] and info.status == INTERRUPTED
    assert info.warnings == ("metrics.jsonl: skipped 1 unreadable line",)


def test_garbage_lines_are_skipped_and_counted(tmp_path):
    junk = (
        b"\xff\xfe binary\n",
        b"[1, 2]\n",
        b'{"no_epoch": 1}\n',
        b'{"epoch": "3"}\n',
        b"\n",
        json.dumps(record(3, 3)).encode() + b"\n",
    )
    info = read_run(make_run(tmp_path, done=2, extra_lines=junk))
    assert [r["epoch"] for r in info.records] == [1, 2, 3]
    assert info.warnings == ("metrics.jsonl: skipped 4 unreadable lines",)


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"epochs": {"a": 1}, "dataset": ["x"]}'])
def test_a_bad_config_is_a_warning_and_the_metrics_still_count(tmp_path, content):
    folder = make_run(tmp_path, done=3, status=None)
    (folder / "config.json").write_bytes(content)
    info = read_run(folder)
    assert info.epochs == 3  # from the metrics lines
    assert info.status == FINISHED and info.dataset == "mnist"
    assert len(info.warnings) == 1 and "config.json" in info.warnings[0]


def test_a_config_that_cannot_be_read_at_all(tmp_path):
    folder = make_run(tmp_path, config=None, done=1, status=None)
    (folder / "config.json").mkdir()
    info = read_run(folder)
    assert info.config is None and info.model is None
    assert info.warnings == ("config.json: unreadable (Is a directory)",)


def test_folders_that_are_not_runs_are_left_out(tmp_path):
    make_run(tmp_path, "20240101-120000-mnist-seed")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    make_run(tmp_path, ".hidden-run")
    (tmp_path / "README").write_text("a file, not a folder")
    assert read_run(tmp_path / "notes") is None and read_run(tmp_path / "missing") is None
    assert [i.name for i in list_runs(tmp_path)] == ["20240101-120000-mnist-seed"]


def test_runs_come_newest_first(tmp_path):
    make_run(tmp_path, "a-old", started=iso(7200))
    make_run(tmp_path, "b-new", started=iso(60))
    make_run(tmp_path, "20000101-000000-mnist-seed", status=None)  # started from its name: oldest
    assert [i.name for i in list_runs(tmp_path)] == ["b-new", "a-old", "20000101-000000-mnist-seed"]


def test_a_missing_runs_folder_is_empty_and_a_bad_one_an_error(tmp_path, monkeypatch):
    assert list_runs(tmp_path / "nothing") == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunStoreError, match="not a folder"):
        list_runs(tmp_path / "file")

    def denied(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(runstore.os, "scandir", denied)
    with pytest.raises(RunStoreError) as info:
        RunStore(tmp_path).refresh()
    assert str(info.value) == f"{tmp_path}: cannot read the runs folder (Permission denied)"


def test_refresh_sees_new_runs_new_epochs_ends_and_removals(tmp_path):
    store = RunStore(tmp_path)
    assert not store.refresh() and store.runs == []
    folder = make_run(tmp_path, "r1", done=1, status="running", lock=lock())
    changes = store.refresh()
    assert [i.name for i in changes.added] == ["r1"] and store.get("r1").status == RUNNING
    assert not store.refresh()  # nothing changed: nothing re-read

    records = [record(e, 3) for e in (1, 2)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    changes = store.refresh()
    assert [(i.name, i.epochs_done) for i in changes.changed] == [("r1", 2)]

    atomic_write_json(folder / "status.json", {"status": "finished", "started": iso(60)})
    (folder / "run.lock").unlink()
    assert store.refresh().changed[0].status == FINISHED

    make_run(tmp_path, "r2")
    assert [i.name for i in store.refresh().added] == ["r2"]
    shutil.rmtree(folder)
    changes = store.refresh()
    assert changes.removed == ("r1",) and [i.name for i in store.runs] == ["r2"]


def test_refresh_notices_a_process_dying_without_any_file_changing(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        make_run(tmp_path, "r", done=1, status="running", lock=lock(pid=proc.pid))
        store = RunStore(tmp_path)
        store.refresh()
        assert store.get("r").status == RUNNING
    finally:
        proc.kill()
        proc.wait()
    changes = store.refresh()
    assert [(i.name, i.status) for i in changes.changed] == [("r", INTERRUPTED)]


def test_lock_is_live_judges_heartbeat_age_and_pid():
    now = time.time()
    assert lock_is_live(lock(), now)
    assert not lock_is_live(lock(age_s=31), now)
    assert not lock_is_live(lock(pid=dead_pid()), now)
    assert lock_is_live({"host": "elsewhere"}, now, mtime=now - 5)
    assert not lock_is_live({}, now)


def test_delete_run_refuses_a_running_run_and_a_non_run(tmp_path):
    running = make_run(tmp_path, "running", status="running", lock=lock())
    with pytest.raises(RunStoreError, match="still running"):
        delete_run(running)
    assert running.is_dir()
    (tmp_path / "notes").mkdir()
    with pytest.raises(RunStoreError, match="not a run folder"):
        delete_run(tmp_path / "notes")
    done = make_run(tmp_path, "done")
    delete_run(done)
    assert not done.exists() and [i.name for i in list_runs(tmp_path)] == ["running"]


def test_run_info_is_frozen_and_comparable(tmp_path):
    info = read_run(make_run(tmp_path))
    assert replace(info) == info
    with pytest.raises(AttributeError):
        info.status = RUNNING  # type: ignore[misc]


def test_run_store_and_the_runs_command_import_no_torch_textual_or_rich():
    code = (
        "import sys; import dae_tui.runs.store, dae_tui.runs.samples, dae_tui.cli.runs;"
        "from dae_tui.runs.store import RunStore; from dae_tui.runs.samples import load_samples;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'textual', 'rich')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_invocation_is_a_leaf_and_the_front_ends_do_not_import_cli():
    code = (
        "import sys; import dae_tui.cli.invocation;"
        "print(sorted(m for m in sys.modules if m.startswith('dae_tui')));"
        "import dae_tui.cli.train, dae_tui.ui; print('dae_tui.cli.parser' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second = out.stdout.splitlines()
    # The packages around them are loaded (their __init__ import nothing), the parser is not.
    # core.config brings core.architectures (the models) and core.errors (its errors' base), which
    # import nothing of ours.
    assert first == (
        "['dae_tui', 'dae_tui.cli', 'dae_tui.cli.invocation', 'dae_tui.core', "
        "'dae_tui.core.architectures', 'dae_tui.core.config', 'dae_tui.core.errors']"
    )
    assert second == "False"


def test_the_benchmark_runs_on_a_small_folder():
    """Its figures are printed; no time is asserted."""
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.runstore", "--runs", "40", "--rounds", "1"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for figure in (
        "reference (scandir + raw reads)",
        "cold list_runs",
        "no-change refresh",
        "refresh after one new epoch",
    ):
        assert figure in result.stdout


def test_a_settled_folder_is_judged_by_its_own_time_and_still_sees_an_atomic_change(tmp_path, monkeypatch):
    folder = make_run(tmp_path, "old")
    os.utime(folder, (time.time() - 3600,) * 2)  # settled: only the folder itself is stat'ed
    store = RunStore(tmp_path)
    store.refresh()
    looked: list[str] = []
    real_stat = runstore.os.stat
    monkeypatch.setattr(runstore.os, "stat", lambda p, *a, **k: looked.append(os.fspath(p)) or real_stat(p, *a, **k))
    assert not store.refresh() and looked == [str(folder)]
    atomic_write_json(folder / "status.json", {"status": "failed", "message": "disk full", "started": iso(60)})
    changes = store.refresh()  # the rename changed the folder's time
    assert [(i.name, i.status, i.message) for i in changes.changed] == [("old", FAILED, "disk full")]


def test_one_judge_of_the_best_epoch_lowest_mse_or_highest_psnr_earliest_on_a_tie():
    from dae_tui.core.psnr import best_epoch

    assert best_epoch([]) is None
    assert best_epoch([(1, 0.3), (2, 0.1), (3, 0.1), (4, 0.2)]) == (2, 0.1)
    assert best_epoch([(1, 20.0), (2, 25.0), (3, 25.0)], higher=True) == (2, 25.0)
    assert best_epoch([(3, 25.0), (2, 25.0)], higher=True) == (2, 25.0)  # the earliest epoch, not the first line
