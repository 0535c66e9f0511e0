"""A trained model against a range of noise strengths: the robustness curve.

    run = load_run_model("runs/20240531-120000-mnist-seed")
    for point in robustness(run.model, run.data.test.images, "gaussian", [0.0, 0.5, 1.0]):
        ...   # point.factor, point.noisy_psnr, point.test_psnr, point.test_ssim, point.test_mse

Each factor corrupts the run's own held-out test split with noise from the fixed test seed, so
the figures repeat exactly and the trained factor's point equals the run's own last test figures.

May import torch, `dae_tui.core` and `dae_tui.runs`; never textual, rich or optuna.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from dae_tui.core.config import NOISE_KINDS, ConfigError, TrainConfig
from dae_tui.training import checkpoints as ckpt
from dae_tui.training.data import LoadedData, load_data
from dae_tui.training.device import resolve_device
from dae_tui.training.metrics import psnr_from_mse
from dae_tui.training.models import build_model
from dae_tui.training.trainer import _as_float, evaluate_scores, fixed_noise, input_scores

__all__ = ["CurvePoint", "LoadedRun", "default_factors", "load_run_model", "parse_factors", "robustness"]

CURVE_STEPS = 11
"""Points on a default curve: 0 to the kind's largest factor in equal steps."""


@dataclass(frozen=True)
class CurvePoint:
    """The model at one noise factor, on the whole test split."""

    factor: float
    noisy_psnr: float
    """PSNR (dB) of the clamped noisy inputs: what the model starts from."""
    test_psnr: float
    """PSNR (dB) of the model's output."""
    test_ssim: float
    test_mse: float
    noisy_ssim: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def default_factors(kind: str, trained: float | None = None) -> list[float]:
    """0 (or just above, where 0 is not allowed) to the kind's largest factor in `CURVE_STEPS`
    steps, with the factor the run trained at added when it is not on the grid."""
    facts = NOISE_KINDS[kind]
    grid = [round(facts.low + (facts.high - facts.low) * i / (CURVE_STEPS - 1), 6) for i in range(CURVE_STEPS)]
    if facts.low_open:
        grid[0] = round(facts.low + (facts.high - facts.low) / (2 * (CURVE_STEPS - 1)), 6)
    if trained is not None and facts.accepts(trained) and not any(math.isclose(trained, g) for g in grid):
        grid.append(trained)
    return sorted(grid)


def parse_factors(text: str, kind: str) -> list[float]:
    """'0,0.25,0.5' -> [0.0, 0.25, 0.5], each judged by the config's rules for `kind`; raises
    `ConfigError` in one line naming the first bad one."""
    values = []
    for part in text.split(","):
        raw = part.strip()
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        errors = TrainConfig(noise=kind, noise_factor=value).validate()
        if errors or not raw:
            facts = NOISE_KINDS[kind]
            shown = raw if len(raw) <= 40 else raw[:39] + "…"
            raise ConfigError(
                f"--factors must be numbers {facts.allowed()} for {kind} noise, separated by commas (got {shown!r})"
            )
        values.append(value)
    return sorted(set(values))


@dataclass
class LoadedRun:
    """A run's trained model, ready to use, and what it was trained on."""

    model: torch.nn.Module
    """In eval mode, on the device asked for."""
    config: TrainConfig
    data: LoadedData | None
    """Its data from the source it trained on (None unless asked for)."""
    epoch: int
    """The epoch the checkpoint was saved after."""
    checkpoint: Path
    digest: str
    """SHA-256 of the checkpoint file as loaded: what a cached result of this model is keyed by."""


def load_run_model(run: str | Path, device: str = "cpu", with_data: bool = True) -> LoadedRun:
    """The model of the run in folder `run` (or its checkpoint) in eval mode on `device`, its
    config, and (`with_data`) its data from the source it trained on. `ConfigError` / `DataError`
    in one line."""
    path = ckpt.find_checkpoint(run, flag="")
    state, digest = ckpt.read_checkpoint(path)  # one read: the digest is of the very bytes loaded
    try:
        config = TrainConfig.from_json(state["config"], folders_exist=False)
    except ConfigError as err:
        raise ckpt.CheckpointError(f"{path}: its config is not usable: {err}") from None
    # The split the run was measured on: the source it actually read, not `auto` again.
    source = str(state["source"]) if state.get("source") in ("local", "download", "bundled") else config.source
    data = load_data(replace(config, source=source)) if with_data else None
    model = build_model(config.model)  # its initial weights are replaced at once: no seeding needed
    model.load_state_dict(state["model"])
    return LoadedRun(model.to(resolve_device(device)).eval(), config, data, state["epoch"], path, digest)


def robustness(
    model: torch.nn.Module, images: torch.Tensor, kind: str, factors: list[float], clamp: bool = False
) -> Iterator[CurvePoint]:
    """The model's figures at each factor of noise `kind` on `images` (uint8 (N, 28, 28)), one
    point at a time (each factor is a pass over the whole test split, as long as an epoch's
    test)."""
    device = next(model.parameters()).device
    clean = _as_float(images)
    for factor in factors:
        noisy = fixed_noise(clean, kind, factor, clamp)
        noisy_psnr, noisy_ssim = input_scores(clean, noisy)
        test_mse, test_ssim = evaluate_scores(model, clean.to(device), noisy.to(device))
        yield CurvePoint(
            factor=factor,
            noisy_psnr=noisy_psnr,
            test_psnr=psnr_from_mse(test_mse.mean().item()),
            test_ssim=test_ssim.mean().item(),  # type: ignore[union-attr]
            test_mse=test_mse.mean().item(),
            noisy_ssim=noisy_ssim,
        )
