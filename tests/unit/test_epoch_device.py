"""Each epoch's record says what trained it (`device_name`) and its peak memory (`peak_memory_mb`),
in `dae-tui train --json` and metrics.jsonl; a run written before those keys still lists, attaches
and resumes. On the CPU here: the CUDA side is the same two torch calls, checked on a GPU box."""

from __future__ import annotations

import json
import resource
from dataclasses import replace
from pathlib import Path

import pytest

from dae_tui import cli
from dae_tui.core.events import EpochEnd, RunFinished
from dae_tui.runs.info import clean_record, read_metrics, read_run
from dae_tui.runs.live import _event_from_record
from dae_tui.training import checkpoints as ckpt
from dae_tui.training.trainer import Trainer

TINY = ["--dataset", "mnist", "--source", "bundled", "--train-limit", "256", "--batch-size", "32"]


@pytest.mark.slow
def test_json_and_metrics_name_the_device_and_the_peak_memory(capsys, tmp_path):
    assert (
        cli.main(["train", *TINY, "--epochs", "2", "--device", "cpu", "--json", "--runs-dir", str(tmp_path / "runs")])
        == 0
    )
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["device_name"] for r in records] == ["cpu", "cpu"]
    # The CPU figure is the process's peak RSS so far: more than the bundled data, never above
    # what the kernel says now, and it never falls from one epoch to the next.
    peaks = [r["peak_memory_mb"] for r in records]
    assert 50 < peaks[0] <= peaks[1] <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (run,) = (tmp_path / "runs").iterdir()
    assert [(r["device_name"], r["peak_memory_mb"]) for r in read_metrics(run)] == [
        (r["device_name"], r["peak_memory_mb"]) for r in records
    ]


def test_an_old_record_without_the_keys_is_clean_and_a_bad_peak_is_left_out():
    old = {"epoch": 1, "epochs": 2, "train_mse": 0.1, "test_mse": 0.09, "seconds": 1.0, "images_per_s": 900.0}
    assert clean_record(old) == (old, 0)
    assert clean_record({**old, "device_name": "NVIDIA H200", "peak_memory_mb": 812.5})[1] == 0
    cleaned, dropped = clean_record({**old, "peak_memory_mb": -3})
    assert dropped == 1 and "peak_memory_mb" not in cleaned
    event = _event_from_record(old, 2, Path("run"))  # what an attached dashboard makes of it
    assert (event.device_name, event.peak_memory_mb) == ("", None)
    assert EpochEnd(1, 1, 0.1, 0.1, 10.0, 5.0, 0.5, 0.2, 1.0, 10.0, "c").device_name == ""


@pytest.mark.slow
def test_a_run_from_before_the_keys_lists_and_resumes(tiny_config, tmp_path):
    config = replace(tiny_config, epochs=2, device="cpu")
    trainer = Trainer(config, runs_dir=tmp_path)
    for event in trainer.run():
        if isinstance(event, EpochEnd) and event.epoch == 1:
            trainer.request_stop()
    (run_dir,) = tmp_path.iterdir()
    # Make it a run written before the keys: neither metrics.jsonl nor the checkpoint has them.
    state = ckpt.load_checkpoint(run_dir / ckpt.CHECKPOINT_NAME)
    state["metrics"] = [
        {k: v for k, v in r.items() if k not in ("device_name", "peak_memory_mb")} for r in state["metrics"]
    ]
    ckpt.save_checkpoint(run_dir / ckpt.CHECKPOINT_NAME, state)
    ckpt.write_metrics(run_dir, state["metrics"])
    listed = read_run(run_dir)
    assert listed is not None and listed.epochs_done == 1 and not listed.warnings
    events = list(Trainer(resume=run_dir).run())
    assert isinstance(events[-1], RunFinished)
    records = read_metrics(run_dir)
    assert [r["epoch"] for r in records] == [1, 2]
    assert "device_name" not in records[0] and records[1]["device_name"] == "cpu"
