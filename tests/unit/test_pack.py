"""`dae-tui sweep --pack K` (issue 21): K trials of one structure trained as one stacked model.

The claim held here: a packed member is the same trial trained alone with the same settings and
seed (its seed gives it the same initial weights, data order and noise), apart from float32 noise
in the arithmetic's order; each member's run folder is a solo run's; a pruned member leaves the
pack and the others train on as they would have. Speed is measured in benchmarks/pack.py, never
asserted here."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
import torch

from dae_tui.cli import main
from dae_tui.cli.parser import UsageError, parse_invocation
from dae_tui.core.config import TrainConfig
from dae_tui.core.events import EpochEnd, RunFinished, RunStopped
from dae_tui.sweeps.space import parse_space
from dae_tui.sweeps.study import open_storage
from dae_tui.sweeps.trials import run_trials
from dae_tui.training.pack import PackTrainer, pack_key
from dae_tui.training.packing import PackedStep, make_pack_optimizer, member_optimizer_state
from dae_tui.training.trainer import Trainer

BASE = TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, threads=1, epochs=1)
"""Tiny: 8 batches an epoch of the bundled sample."""


def members(model: str, epochs: int) -> list[TrainConfig]:
    base = replace(BASE, model=model, epochs=epochs)
    return [
        replace(base, lr=1e-3, seed=0),
        replace(base, lr=3e-3, weight_decay=1e-4, noise_factor=0.3, seed=5),
    ]


def solo_epochs(config: TrainConfig, runs: Path) -> list[EpochEnd]:
    return [e for e in Trainer(config, runs_dir=runs).run() if isinstance(e, EpochEnd)]


def packed_epochs(configs: list[TrainConfig], runs: Path) -> tuple[list[list[EpochEnd]], list[object]]:
    ends: list[list[EpochEnd]] = [[] for _ in configs]
    last: list[object] = [None] * len(configs)
    for k, event in PackTrainer(configs, runs_dir=runs).run():
        if isinstance(event, EpochEnd):
            ends[k].append(event)
        last[k] = event
    return ends, last


# --- the honest equivalence ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("model", ["seed", "unet"])
def test_one_packed_epoch_has_the_losses_of_the_same_trials_alone(model, tmp_path):
    configs = members(model, epochs=1)
    packed, last = packed_epochs(configs, tmp_path / "pack")
    assert all(isinstance(event, RunFinished) for event in last)
    for config, ends in zip(configs, packed, strict=True):
        (alone,) = solo_epochs(config, tmp_path / "solo")
        (together,) = ends
        # float32 noise: grouped convolutions sum in another order than one model's do. The yardstick:
        # the solo run's own fast and plain paths end this U-Net epoch 5e-4 apart in test MSE (one
        # thread or two: 6e-4); the packed member ends within 5e-4 of it (float64: 1e-12, below).
        assert together.train_mse == pytest.approx(alone.train_mse, rel=2e-3)
        assert together.test_mse == pytest.approx(alone.test_mse, rel=2e-3)


@pytest.mark.parametrize("model", ["seed", "unet"])
def test_in_float64_the_packed_step_is_the_solo_step(model):
    """Without float32's rounding the packed arithmetic is the solo one: same parameters after a
    few steps of different rates and data, so what differs in float32 is rounding alone."""
    from dae_tui.training.models import build_model
    from dae_tui.training.steps import EagerStep, make_optimizer

    configs = [replace(BASE, lr=1e-3), replace(BASE, lr=4e-3, weight_decay=1e-3)]
    device = torch.device("cpu")
    alone, packed = [], []
    for seed in (0, 1):
        torch.manual_seed(seed)
        alone.append(build_model(model).double())
        torch.manual_seed(seed)
        packed.append(build_model(model).double())
    solo_steps = [EagerStep(m, make_optimizer(m, c, device)) for m, c in zip(alone, configs, strict=True)]
    step = PackedStep(packed, make_pack_optimizer(packed, configs, device))
    data = torch.Generator().manual_seed(7)
    for _ in range(3):
        clean = torch.rand(2, 8, 1, 28, 28, generator=data, dtype=torch.float64)
        noisy = clean + 0.3 * torch.randn(clean.shape, generator=data, dtype=torch.float64)
        losses = step(noisy, clean)
        for k, solo in enumerate(solo_steps):
            assert float(losses[k]) == pytest.approx(float(solo(noisy[k], clean[k])), rel=1e-10)
    step.sync()
    for one, other in zip(alone, packed, strict=True):
        for (name, a), b in zip(one.state_dict().items(), other.state_dict().values(), strict=True):
            assert torch.allclose(a.double(), b.double(), rtol=1e-9, atol=1e-12), name


@pytest.mark.slow
@pytest.mark.parametrize("model", ["seed", "unet"])
def test_three_packed_epochs_end_within_a_twentieth_of_a_db_of_the_trials_alone(model, tmp_path):
    configs = members(model, epochs=3)
    packed, _ = packed_epochs(configs, tmp_path / "pack")
    for config, ends in zip(configs, packed, strict=True):
        alone = solo_epochs(config, tmp_path / "solo")
        assert len(ends) == len(alone) == 3
        assert abs(ends[-1].test_psnr - alone[-1].test_psnr) < 0.05


def test_each_member_has_its_own_adam_group_and_a_solo_state_dict():
    torch.manual_seed(0)
    from dae_tui.training.models import build_model

    models = [build_model("unet"), build_model("unet")]
    configs = [replace(BASE, lr=1e-3), replace(BASE, lr=5e-3, weight_decay=1e-4)]
    optimizer = make_pack_optimizer(models, configs, torch.device("cpu"))
    assert [(g["lr"], g["weight_decay"]) for g in optimizer.param_groups] == [(1e-3, 1e-5), (5e-3, 1e-4)]
    step = PackedStep(models, optimizer)
    x = torch.rand(2, 4, 1, 28, 28)
    mse = step(x, x)
    assert mse.shape == (2,)
    step.sync()  # BatchNorm's running statistics, stacked while training, back in each member
    assert int(models[1].down[1].num_batches_tracked) == 1
    state = member_optimizer_state(optimizer, 1)
    alone = torch.optim.Adam(models[1].parameters(), lr=5e-3, weight_decay=1e-4)
    alone.load_state_dict(state)  # what `train --resume` does with a member's checkpoint
    assert len(state["state"]) == len(list(models[1].parameters()))


def test_packs_are_formed_from_trials_of_one_structure():
    assert pack_key(replace(BASE, lr=1e-2, seed=3, noise_factor=0.2, weight_decay=0.0)) == pack_key(BASE)
    assert pack_key(replace(BASE, batch_size=64)) != pack_key(BASE)
    assert pack_key(replace(BASE, model="unet")) != pack_key(BASE)
    with pytest.raises(ValueError, match="differ only in"):
        PackTrainer([BASE, replace(BASE, batch_size=64)])


# --- members are runs -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_member_stopped_after_an_epoch_leaves_the_pack_and_the_other_trains_on_as_alone(tmp_path):
    configs = members("seed", epochs=3)
    pack = PackTrainer(configs, runs_dir=tmp_path / "pack")
    ends: list[list[EpochEnd]] = [[], []]
    last: list[object] = [None, None]
    for k, event in pack.run():
        if isinstance(event, EpochEnd):
            ends[k].append(event)
            if k == 0 and event.epoch == 1:
                pack.request_stop_member(0, "pruned by study s after epoch 1")
        last[k] = event
    assert isinstance(last[0], RunStopped) and last[0].last_epoch == 1 and last[0].batch == 0
    assert isinstance(last[1], RunFinished) and len(ends[0]) == 1 and len(ends[1]) == 3
    status = json.loads((Path(last[0].run_dir) / "status.json").read_text())
    assert status["status"] == "stopped" and status["last_epoch"] == 1
    assert status["message"] == "pruned by study s after epoch 1"
    alone = solo_epochs(configs[1], tmp_path / "solo")
    assert abs(ends[1][-1].test_psnr - alone[-1].test_psnr) < 0.05


@pytest.mark.slow
def test_a_members_folder_is_a_solo_runs_and_resumes_with_train(tmp_path):
    configs = members("unet", epochs=1)
    _, last = packed_epochs(configs, tmp_path / "pack")
    solo = Trainer(configs[1], runs_dir=tmp_path / "solo")
    list(solo.run())
    member, alone = Path(last[1].run_dir), solo.run_dir  # type: ignore[attr-defined]
    assert alone is not None
    names = {p.relative_to(member) for p in member.rglob("*")}
    assert names == {p.relative_to(alone) for p in alone.rglob("*")}
    assert json.loads((member / "config.json").read_text()) == json.loads((alone / "config.json").read_text())
    records = [json.loads(line) for line in (member / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1]
    resumed = Trainer(resume=member, overrides={"epochs": 2})
    events = list(resumed.run())
    assert isinstance(events[-1], RunFinished), events[-1]
    assert json.loads((member / "status.json").read_text())["last_epoch"] == 2


@pytest.mark.slow
def test_a_pruned_member_is_a_pruned_trial_and_its_folder_says_so(tmp_path):
    runs = tmp_path / "runs"
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    # Every report below 100 dB is pruned: both members go after epoch 1 of 2.
    study = optuna.create_study(
        study_name="s", storage=storage, direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=100.0)
    )
    space = parse_space({"lr": {"log": [1e-4, 1e-2]}}, BASE)
    tally = run_trials(study, storage, replace(BASE, epochs=2), space, runs, total=2, pack=2)
    assert (tally.pruned, tally.finished, tally.failed) == (2, 0, 0)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    for trial in study.trials:
        folder = Path(trial.user_attrs["run_dir"])
        status = json.loads((folder / "status.json").read_text())
        assert status["status"] == "pruned" and status["message"] == "pruned by study s after epoch 1"
        assert json.loads((folder / "sweep.json").read_text())["trial"] == trial.number
        assert (folder / "checkpoint.pt").is_file()


# --- the flag -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0", "-1", "x", "1.5", "65", ""])
def test_a_bad_pack_is_one_line_naming_what_is_allowed(text):
    with pytest.raises(UsageError, match=r"--pack must be a whole number from 1 to 64"):
        parse_invocation(["sweep", "--pack", text])


def test_pack_goes_with_jobs_and_defaults_to_one():
    assert parse_invocation(["sweep"]).sweep.pack == 1  # type: ignore[union-attr]
    request = parse_invocation(["sweep", "--pack", "4", "--jobs", "2"]).sweep
    assert request is not None and (request.pack, request.jobs) == (4, 2)


def test_the_command_refuses_a_bad_pack_with_exit_2(capsys, tmp_path):
    assert main(["sweep", "--runs-dir", str(tmp_path), "--pack", "0"]) == 2
    err = capsys.readouterr().err
    assert "--pack must be a whole number from 1 to 64" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.rglob("*.json"))


@pytest.mark.slow
def test_the_pack_benchmark_runs_and_prints_its_ratio(tmp_path, capsys):
    """A smoke run: every figure is produced (none is judged: speed is the benchmark's to say)."""
    from benchmarks.pack import main as bench

    out = tmp_path / "pack.json"
    args = ["--members", "2", "--epochs", "1", "--rounds", "1", "--train-limit", "256", "--json", str(out)]
    assert bench(args) == 0
    assert "sequential / packed" in capsys.readouterr().out
    assert {"sequential_s", "packed_s", "sequential_over_packed", "packed_over_one"} <= set(json.loads(out.read_text()))
