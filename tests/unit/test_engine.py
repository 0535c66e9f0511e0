"""The engine on tiny real data: model, training, events, pause/stop, checkpoints and resume."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest
import torch

from dae_tui.core.config import TrainConfig
from dae_tui.core.events import (
    BatchProgress,
    EpochEnd,
    Notice,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    Samples,
)
from dae_tui.training import checkpoints as ckpt
from dae_tui.training import trainer as trainer_module
from dae_tui.training.models import SeedAutoencoder, count_parameters
from dae_tui.training.noise import add_noise
from dae_tui.training.trainer import Trainer


def run_all(trainer: Trainer) -> list:
    return list(trainer.run())


def of(kind, events):
    return [e for e in events if isinstance(e, kind)]


def test_seed_model_is_the_reference_architecture():
    model = SeedAutoencoder()
    assert count_parameters(model) == 210_369
    x = torch.rand(5, 1, 28, 28)
    z = model.encode(x)
    assert z.shape == (5, 64, 1, 1)
    out = model.decode(z)
    assert out.shape == (5, 1, 28, 28) and out.min() >= 0 and out.max() <= 1
    convs = [m for m in model.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (1, 16, (3, 3), (2, 2)),
        (16, 32, (3, 3), (2, 2)),
        (32, 64, (7, 7), (1, 1)),
    ]
    assert isinstance(model.decoder[-1], torch.nn.Sigmoid)


def test_gaussian_noise_is_reproducible_and_optionally_clamped():
    clean = torch.full((2, 1, 28, 28), 0.5)
    a = add_noise(clean, "gaussian", 0.5, torch.Generator().manual_seed(3))
    b = add_noise(clean, "gaussian", 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert (a - clean).std().item() == pytest.approx(0.5, rel=0.1)
    assert a.min() < 0 or a.max() > 1  # not clamped by default, as in the reference
    c = add_noise(clean, "gaussian", 0.5, torch.Generator().manual_seed(3), clamp=True)
    assert c.min() >= 0 and c.max() <= 1


@pytest.mark.slow
def test_short_run_learns_and_events_arrive_in_order(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_module, "PROGRESS_INTERVAL_S", 0.0)
    config = replace(tiny_config, train_limit=512, epochs=3)
    events = run_all(Trainer(config, runs_dir=tmp_path))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStarted" and kinds[1] == "Samples" and kinds[-1] == "RunFinished"
    started = events[0]
    assert (started.train_size, started.test_size, started.batches_per_epoch) == (512, 2000, 16)
    assert started.dataset_label == "mnist (bundled offline sample)" and started.parameters == 210_369
    # Per epoch: its batches in order, then EpochEnd, then the samples of that epoch.
    for epoch in (1, 2, 3):
        end_at = next(i for i, e in enumerate(events) if isinstance(e, EpochEnd) and e.epoch == epoch)
        before = [e.batch for e in of(BatchProgress, events[:end_at]) if e.epoch == epoch]
        assert before == list(range(1, 17))
        assert not [e for e in of(BatchProgress, events[end_at:]) if e.epoch == epoch]
        assert isinstance(events[end_at + 1], Samples) and events[end_at + 1].epoch == epoch
    ends = of(EpochEnd, events)
    assert [e.epoch for e in ends] == [1, 2, 3]
    print([(round(e.test_psnr, 2), round(e.noisy_psnr, 2)) for e in ends])
    assert ends[2].test_mse < ends[1].test_mse < ends[0].test_mse
    assert ends[-1].test_psnr > ends[-1].noisy_psnr + 1.0
    samples = of(Samples, events)
    assert [s.epoch for s in samples] == [0, 1, 2, 3]
    assert len(samples[-1].denoised) == 8 and samples[-1].clean[0].width == 28
    assert samples[-1].labels == tuple(range(8))
    assert sum(samples[-1].denoised_psnr) > sum(samples[0].denoised_psnr)
    records = ckpt.read_metrics(tmp_path / events[-1].run_dir)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[0]["offline_sample"] is True and records[0]["dataset"] == "mnist"


@pytest.mark.slow
def test_progress_is_throttled(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_module, "PROGRESS_INTERVAL_S", 3600.0)
    events = run_all(Trainer(tiny_config, runs_dir=tmp_path))
    assert of(BatchProgress, events) == []
    assert len(of(EpochEnd, events)) == 2


@pytest.mark.slow
def test_train_limit_above_the_data_is_noted(tiny_config, tmp_path):
    config = replace(tiny_config, train_limit=9000, epochs=1, batch_size=1000)
    events = run_all(Trainer(config, runs_dir=tmp_path))
    assert any("using all of them" in e.text for e in of(Notice, events))
    assert of(RunStarted, events)[0].train_size == 8000


def _drive(trainer: Trainer):
    """Run the trainer in a thread, collecting events; returns (events, thread)."""
    events: list = []

    def consume():
        for event in trainer.run():
            events.append(event)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    return events, thread


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_pause_holds_and_stop_ends_from_another_thread(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_module, "PROGRESS_INTERVAL_S", 0.0)
    config = replace(tiny_config, train_limit=None, batch_size=16, epochs=5)
    trainer = Trainer(config, runs_dir=tmp_path)
    events, thread = _drive(trainer)
    _wait_for(lambda: len(of(BatchProgress, events)) >= 3)
    trainer.pause()
    _wait_for(lambda: of(Paused, events))
    held = len(of(BatchProgress, events))
    time.sleep(0.5)
    assert len(of(BatchProgress, events)) == held and trainer.paused
    trainer.unpause()
    _wait_for(lambda: len(of(BatchProgress, events)) > held)
    assert of(Resumed, events)
    trainer.request_stop()
    thread.join(10)
    assert not thread.is_alive()
    assert isinstance(events[-1], RunStopped) and events[-1].last_epoch == 0


def test_stop_while_paused_ends_the_run(tiny_config, tmp_path):
    trainer = Trainer(replace(tiny_config, epochs=50), runs_dir=tmp_path)
    trainer.pause()
    events, thread = _drive(trainer)
    _wait_for(lambda: of(Paused, events))
    trainer.request_stop()
    thread.join(10)
    assert isinstance(events[-1], RunStopped)


@pytest.mark.slow
def test_resume_gives_the_same_metrics_as_not_stopping(tiny_config, tmp_path):
    config = replace(tiny_config, epochs=3)
    straight = run_all(Trainer(config, runs_dir=tmp_path / "a"))
    expected = [e.test_mse for e in of(EpochEnd, straight)]

    trainer = Trainer(config, runs_dir=tmp_path / "b")
    first: list = []
    for event in trainer.run():
        first.append(event)
        if isinstance(event, EpochEnd) and event.epoch == 1:
            trainer.request_stop()
    assert isinstance(first[-1], RunStopped) and first[-1].last_epoch == 1
    run_dir = first[-1].run_dir

    resumed = run_all(Trainer(resume=run_dir))
    started = resumed[0]
    assert isinstance(started, RunStarted) and started.start_epoch == 2 and started.run_dir == run_dir
    first_end = of(EpochEnd, first)[0]
    assert started.earlier == ((1, first_end.train_mse, first_end.test_mse),)
    got = [e.test_mse for e in of(EpochEnd, first)] + [e.test_mse for e in of(EpochEnd, resumed)]
    # CUDA's conv backward sums with atomics, in no fixed order: equal to rounding, not bits.
    on_cuda = started.device.startswith("cuda")
    assert got == pytest.approx(expected, rel=1e-3 if on_cuda else 1e-5)
    lines = (tmp_path / "b").glob("*/metrics.jsonl")
    records = [json.loads(x) for x in next(lines).read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert isinstance(resumed[-1], RunFinished)


@pytest.mark.slow
def test_resume_can_extend_epochs_but_not_change_the_recipe(tiny_config, tmp_path):
    done = run_all(Trainer(replace(tiny_config, epochs=1), runs_dir=tmp_path))
    run_dir = done[-1].run_dir
    more = run_all(Trainer(resume=run_dir, overrides={"epochs": 2}))
    assert [e.epoch for e in of(EpochEnd, more)] == [2]
    refused = run_all(Trainer(resume=run_dir, overrides={"lr": 0.5}))
    assert isinstance(refused[-1], RunFailed) and refused[-1].usage
    assert "--lr cannot change on --resume" in refused[-1].message


def test_checkpoint_holds_everything_and_loads_weights_only(tiny_config, tmp_path):
    done = run_all(Trainer(replace(tiny_config, epochs=1), runs_dir=tmp_path))
    path = ckpt.find_checkpoint(done[-1].run_dir)
    state = torch.load(path, weights_only=True)
    assert {"model", "optimizer", "config", "epoch", "rng", "metrics"} <= set(state)
    assert state["epoch"] == 1 and TrainConfig.from_dict(state["config"]).train_limit == 256
    assert not list(path.parent.glob(".*tmp"))


def test_broken_checkpoint_fails_with_one_line(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"not a checkpoint")
    events = run_all(Trainer(resume=bad))
    *notes, failed = events
    assert isinstance(failed, RunFailed) and failed.message == f"{bad}: truncated or not a checkpoint file"
    # torch's own words go to the log, not the one line.
    assert [type(e) for e in notes] == [Notice] and notes[0].text.startswith("detail: UnpicklingError")


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.jsonl"
    target.write_text("old\n")

    def explode(handle):
        handle.write(b"half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        ckpt.atomic_write(target, explode)
    assert target.read_text() == "old\n" and list(tmp_path.iterdir()) == [target]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_device_is_a_usage_failure(tiny_config, tmp_path):
    events = run_all(Trainer(replace(tiny_config, device="cuda"), runs_dir=tmp_path))
    assert isinstance(events[-1], RunFailed) and events[-1].usage
    assert "CUDA is not available" in events[-1].message


def test_threads_setting_is_applied_in_the_training_thread(tiny_config, tmp_path):
    events = run_all(Trainer(replace(tiny_config, threads=1, epochs=1), runs_dir=tmp_path))
    assert of(RunStarted, events)[0].threads == 1


@pytest.mark.slow
def test_engine_imports_neither_textual_nor_rich():
    code = (
        "import sys; import dae_tui.training.trainer, dae_tui.training.data, dae_tui.training.checkpoints;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_training_thread_flushes_denormals_in_its_openmp_workers_too():
    """Denormals slow x86 math many times over; the setting must reach the parallel workers."""
    code = """
import threading, torch
from dae_tui.training.device import flush_denormals
out = {}
def work():
    flush_denormals()
    big = torch.full((4_000_000,), 1e-39, dtype=torch.float32)  # large: split across threads
    out["sum"] = (big * 1.0).sum().item()
thread = threading.Thread(target=work)
thread.start(); thread.join()
plain = (torch.full((4_000_000,), 1e-39, dtype=torch.float32) * 1.0).sum().item()
print(out["sum"] == 0.0, plain > 0.0)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
