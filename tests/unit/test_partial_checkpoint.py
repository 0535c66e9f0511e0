"""The mid-epoch checkpoint (issue 20): a run stopped inside an epoch keeps it in partial.pt, and
a resume continues from that very batch, ending bit-equal on the CPU to the run left alone.

Real runs on the bundled data (256 images, batch 32: 8 batches an epoch, one thread), real files."""

from __future__ import annotations

import errno
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from dae_tui.core.config import TrainConfig
from dae_tui.core.events import BatchProgress, EpochEnd, Notice, RunFinished, RunStarted, RunStopped
from dae_tui.core.formatting import format_kept, format_started
from dae_tui.runs.files import PARTIAL_CHECKSUM_NAME, PARTIAL_NAME, RunMarker
from dae_tui.runs.info import read_run
from dae_tui.training import checkpoints as ckpt
from dae_tui.training import trainer as trainer_module
from dae_tui.training.trainer import Trainer

CONFIG = TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=2, threads=1)


def of(kind, events):
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture(autouse=True)
def every_batch(monkeypatch):
    """A BatchProgress after every batch, so a stop can be asked for after batch k exactly."""
    monkeypatch.setattr(trainer_module, "PROGRESS_INTERVAL_S", 0.0)


def stopped_after(config: TrainConfig, runs: Path, epoch: int, batch: int) -> list:
    """A new run, stopped once `batch` batches of `epoch` are done (the stop lands before the next)."""
    trainer = Trainer(config, runs_dir=runs)
    events = []
    for event in trainer.run():
        events.append(event)
        if isinstance(event, BatchProgress) and (event.epoch, event.batch) == (epoch, batch):
            trainer.request_stop()
    return events


def final_state(run_dir: str | Path) -> dict:
    return torch.load(Path(run_dir) / ckpt.CHECKPOINT_NAME, weights_only=True)


def assert_bit_equal(got: dict, expected: dict) -> None:
    assert got["model"].keys() == expected["model"].keys()
    for name, tensor in expected["model"].items():
        assert torch.equal(got["model"][name], tensor), name
    for param, moments in expected["optimizer"]["state"].items():
        for key, value in moments.items():
            assert torch.equal(got["optimizer"]["state"][param][key], value), (param, key)
    figures = [(r["epoch"], r["train_mse"], r["test_mse"], r["test_ssim"]) for r in expected["metrics"]]
    assert [(r["epoch"], r["train_mse"], r["test_mse"], r["test_ssim"]) for r in got["metrics"]] == figures
    assert torch.equal(got["rng"]["shuffle"], expected["rng"]["shuffle"])
    assert torch.equal(got["rng"]["noise"], expected["rng"]["noise"])


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> dict[str, dict]:
    """Each model's run left alone, once for the module: its final checkpoint state."""
    states = {}
    for model in ("seed", "unet"):
        events = list(Trainer(replace(CONFIG, model=model), runs_dir=tmp_path_factory.mktemp(model)).run())
        assert isinstance(events[-1], RunFinished)
        states[model] = final_state(events[-1].run_dir)
    return states


@pytest.mark.slow
@pytest.mark.parametrize("model, epoch, batch", [("seed", 1, 3), ("seed", 2, 5), ("unet", 1, 3), ("unet", 2, 6)])
def test_a_run_stopped_mid_epoch_resumes_bit_equal_to_one_left_alone(straight, tmp_path, model, epoch, batch):
    config = replace(CONFIG, model=model)
    first = stopped_after(config, tmp_path, epoch, batch)
    stopped = first[-1]
    assert isinstance(stopped, RunStopped)
    assert (stopped.last_epoch, stopped.batch, stopped.batches) == (epoch - 1, batch, 8)
    run_dir = Path(stopped.run_dir)
    assert (run_dir / PARTIAL_NAME).is_file() and (run_dir / PARTIAL_CHECKSUM_NAME).is_file()
    assert not list(run_dir.glob(".*tmp"))
    # checkpoint.pt still means "the last finished epoch" (none yet when stopped in epoch 1).
    if epoch == 1:
        assert not (run_dir / ckpt.CHECKPOINT_NAME).exists()
    else:
        assert ckpt.load_checkpoint(run_dir / ckpt.CHECKPOINT_NAME)["epoch"] == epoch - 1
    status = json.loads((run_dir / "status.json").read_text())
    assert (status["status"], status["last_epoch"], status["partial_batch"], status["batches"]) == (
        "stopped",
        epoch - 1,
        batch,
        8,
    )
    info = read_run(run_dir)
    assert info is not None and (info.epochs_done, info.partial_batch) == (epoch - 1, batch)

    resumed = list(Trainer(resume=run_dir).run())
    started = of(RunStarted, resumed)[0]
    assert (started.start_epoch, started.start_batch) == (epoch, batch)
    assert f"continuing epoch {epoch} after batch {batch}/8" in format_started(started)
    assert of(Notice, resumed) == []  # nothing fell back
    # The resumed epoch's progress counts on from where it stopped.
    assert of(BatchProgress, resumed)[0].batch == batch + 1
    assert [e.epoch for e in of(EpochEnd, resumed)] == list(range(epoch, 3))
    assert isinstance(resumed[-1], RunFinished)
    assert_bit_equal(final_state(run_dir), straight[model])
    # The epoch ended: its partial is gone, and the run reads as finished without one.
    assert not (run_dir / PARTIAL_NAME).exists() and not (run_dir / PARTIAL_CHECKSUM_NAME).exists()
    info = read_run(run_dir)
    assert info is not None and info.status == "finished" and info.partial_batch == 0


@pytest.mark.slow
def test_stopped_twice_in_one_epoch_still_ends_bit_equal(straight, tmp_path):
    first = stopped_after(CONFIG, tmp_path, 1, 2)
    run_dir = first[-1].run_dir
    trainer = Trainer(resume=run_dir)
    second = []
    for event in trainer.run():
        second.append(event)
        if isinstance(event, BatchProgress) and event.batch == 6:
            trainer.request_stop()
    assert (second[-1].last_epoch, second[-1].batch) == (0, 6)
    # Stopped again before a single batch: the partial on disk is that very place, kept as it is.
    before = (Path(run_dir) / PARTIAL_NAME).read_bytes()
    trainer = Trainer(resume=run_dir)
    third = []
    for event in trainer.run():
        third.append(event)
        if isinstance(event, RunStarted):
            trainer.request_stop()
    assert (of(RunStarted, third)[0].start_batch, third[-1].batch) == (6, 6)
    assert (Path(run_dir) / PARTIAL_NAME).read_bytes() == before
    last = list(Trainer(resume=run_dir).run())
    assert isinstance(last[-1], RunFinished)
    assert_bit_equal(final_state(run_dir), straight["seed"])


@pytest.mark.slow
def test_a_garbled_partial_falls_back_to_the_last_finished_epoch_with_one_line(tmp_path):
    first = stopped_after(CONFIG, tmp_path, 2, 4)
    run_dir = Path(first[-1].run_dir)
    partial = run_dir / PARTIAL_NAME
    data = bytearray(partial.read_bytes())
    data[len(data) // 2] ^= 0xFF
    partial.write_bytes(bytes(data))
    events = list(Trainer(resume=run_dir).run())
    (notice,) = of(Notice, events)
    assert notice.text == (
        f"{partial}: corrupt, it does not match its checksum in {PARTIAL_CHECKSUM_NAME} "
        "(changed on disk after it was saved); refusing it; "
        "epoch 2 starts again from its first batch"
    )
    started = of(RunStarted, events)[0]
    assert (started.start_epoch, started.start_batch) == (2, 0)
    assert [e.epoch for e in of(EpochEnd, events)] == [2] and isinstance(events[-1], RunFinished)
    assert not partial.exists()  # the finished epoch took it away


@pytest.mark.slow
def test_a_partial_of_another_epoch_or_recipe_is_passed_over(tmp_path):
    first = stopped_after(CONFIG, tmp_path, 2, 4)
    run_dir = Path(first[-1].run_dir)
    partial = run_dir / PARTIAL_NAME
    state = ckpt.load_partial(partial)

    ckpt.save_partial(partial, {**state, "config": {**state["config"], "lr": 0.01}})
    events = list(Trainer(resume=run_dir).run())
    assert [n.text for n in of(Notice, events)] == [
        f"{partial}: not used, it was trained with another --lr; epoch 2 starts again from its first batch"
    ]
    assert of(RunStarted, events)[0].start_batch == 0 and isinstance(events[-1], RunFinished)

    # Epoch 2 has finished now: a partial of epoch 2 left behind belongs to no epoch to come.
    ckpt.save_partial(partial, state)
    trainer = Trainer(resume=run_dir, overrides={"epochs": 3})
    events = []
    for event in trainer.run():
        events.append(event)
        if isinstance(event, RunStarted):
            trainer.request_stop()
    assert [n.text for n in of(Notice, events)] == [
        f"{partial}: not used, it belongs to epoch 2, not epoch 3 (after checkpoint.pt's epoch 2); "
        "epoch 3 starts again from its first batch"
    ]
    assert (of(RunStarted, events)[0].start_epoch, events[-1].batch) == (3, 0)


@pytest.mark.slow
def test_a_partial_in_a_folder_without_a_checkpoint_continues_epoch_1(tmp_path):
    """Stopped in epoch 1: no checkpoint.pt, yet the resume takes up epoch 1 where it was."""
    first = stopped_after(CONFIG, tmp_path, 1, 5)
    run_dir = Path(first[-1].run_dir)
    events = list(Trainer(resume=run_dir).run())
    assert of(Notice, events) == []  # not "no epoch of this run had finished, so it starts again"
    assert of(RunStarted, events)[0].start_batch == 5 and isinstance(events[-1], RunFinished)


@pytest.mark.slow
def test_a_full_disk_while_keeping_the_epoch_still_stops_and_says_so(tmp_path, monkeypatch):
    real = ckpt.atomic_write

    def disk_full_for_the_partial(path, write, **kwargs):
        if path.name != PARTIAL_NAME:
            return real(path, write, **kwargs)

        def no_space(handle):
            raise OSError(errno.ENOSPC, "No space left on device")

        return real(path, no_space, **kwargs)

    monkeypatch.setattr(ckpt, "atomic_write", disk_full_for_the_partial)
    events = stopped_after(CONFIG, tmp_path, 2, 3)
    stopped = events[-1]
    assert isinstance(stopped, RunStopped) and (stopped.last_epoch, stopped.batch) == (1, 0)
    run_dir = Path(stopped.run_dir)
    assert of(Notice, events)[-1].text == (
        f"disk full while saving the mid-epoch checkpoint in {run_dir}; nothing was saved; "
        "epoch 2's 3 batches are not kept"
    )
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "stopped" and "partial_batch" not in status
    assert ckpt.load_checkpoint(run_dir / ckpt.CHECKPOINT_NAME)["epoch"] == 1


def test_a_stop_before_the_first_batch_keeps_no_partial(tmp_path):
    trainer = Trainer(CONFIG, runs_dir=tmp_path)
    events = []
    for event in trainer.run():
        events.append(event)
        if isinstance(event, RunStarted):
            trainer.request_stop()
    assert (events[-1].last_epoch, events[-1].batch) == (0, 0)
    assert not (Path(events[-1].run_dir) / PARTIAL_NAME).exists()


def test_a_partial_has_its_own_checksum_and_leaves_checkpoint_pt_alone(tmp_path):
    state = {
        "model": {"w": torch.ones(3)},
        "optimizer": {},
        "config": CONFIG.to_dict(),
        "epoch": 1,
        "metrics": [],
        "rng": {},
    }
    ckpt.save_checkpoint(tmp_path / ckpt.CHECKPOINT_NAME, state)
    sums = (tmp_path / ckpt.CHECKSUM_NAME).read_text()
    ckpt.save_partial(tmp_path / PARTIAL_NAME, {**state, "partial": {"batch": 3}})
    assert (tmp_path / ckpt.CHECKSUM_NAME).read_text() == sums
    assert (tmp_path / PARTIAL_CHECKSUM_NAME).read_text().endswith(f"  {PARTIAL_NAME}\n")
    assert ckpt.load_partial(tmp_path / PARTIAL_NAME)["partial"] == {"batch": 3}
    assert ckpt.load_checkpoint(tmp_path / ckpt.CHECKPOINT_NAME)["epoch"] == 1
    (tmp_path / PARTIAL_NAME).write_bytes((tmp_path / ckpt.CHECKPOINT_NAME).read_bytes())
    with pytest.raises(ckpt.CheckpointError, match=f"does not match its checksum in {PARTIAL_CHECKSUM_NAME}"):
        ckpt.load_partial(tmp_path / PARTIAL_NAME)
    ckpt.remove_partial(tmp_path)
    ckpt.remove_partial(tmp_path)  # nothing there: no error
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.CHECKPOINT_NAME, ckpt.CHECKSUM_NAME]


def test_status_json_says_where_a_run_stopped_mid_epoch_only_when_it_did(tmp_path):
    for kept, extra in ((0, {}), (38, {"partial_batch": 38, "batches": 94})):
        marker = RunMarker(tmp_path, 5)
        marker.acquire()
        marker.start(2)
        marker.end("stopped", "stopped on request", 2, partial_batch=kept, batches=94)
        status = json.loads((tmp_path / "status.json").read_text())
        assert {k: status[k] for k in ("status", "last_epoch", "epochs")} == {
            "status": "stopped",
            "last_epoch": 2,
            "epochs": 5,
        }
        assert {k: v for k, v in status.items() if k in ("partial_batch", "batches")} == extra


def test_what_a_stop_keeps_reads_as_one_phrase():
    assert format_kept(0) == ""
    assert format_kept(2) == "checkpoint of epoch 2 kept"
    assert format_kept(2, 38, 94) == "checkpoint of epoch 2 and 38/94 batches of epoch 3 kept"
    assert format_kept(0, 38, 94) == "38/94 batches of epoch 1 kept"
