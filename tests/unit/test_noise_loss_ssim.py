"""Noise kinds, the loss choice and SSIM (issue 11): each kind's meaning, range and determinism,
the cross-field check in the CLI and the form, and SSIM against known values."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from helpers.pilot import screen_text, wait_until
from textual.widgets import Input, Static

from dae_tui.core.config import FIELD_SPECS, NOISE_KINDS, TrainConfig, config_from_strings, read_config
from dae_tui.core.events import EpochEnd, RunFinished
from dae_tui.training.metrics import per_image_ssim
from dae_tui.training.noise import NOISES, add_noise
from dae_tui.training.steps import losses
from dae_tui.training.trainer import Trainer
from dae_tui.ui import DaeApp
from dae_tui.ui.widgets import ConfigForm
from dae_tui.ui.widgets.choice import Choice
from dae_tui.ui.widgets.fitted import FitLine

DAE_TUI = str(Path(sys.executable).with_name("dae-tui"))


def images(n: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.rand((n, 1, 28, 28), generator=torch.Generator().manual_seed(seed))


def noisy(kind: str, factor: float, clean: torch.Tensor, seed: int = 1, clamp: bool = False) -> torch.Tensor:
    return add_noise(clean, kind, factor, torch.Generator().manual_seed(seed), clamp)


# --- noise kinds ---------------------------------------------------------------------------------


def test_every_noise_kind_has_its_facts_and_a_function():
    assert set(NOISES) == set(NOISE_KINDS) == set(FIELD_SPECS["noise"].choices)
    for name, kind in NOISE_KINDS.items():
        assert kind.accepts(kind.default), name
        assert len(kind.short) <= 22, name  # the form's hint line


@pytest.mark.parametrize("kind", list(NOISE_KINDS))
def test_each_kind_is_the_same_noise_from_the_same_generator_and_differs_from_another(kind):
    clean = images()
    factor = NOISE_KINDS[kind].default
    first, again, other = noisy(kind, factor, clean, 1), noisy(kind, factor, clean, 1), noisy(kind, factor, clean, 2)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.shape == clean.shape and first.dtype == clean.dtype
    clamped = noisy(kind, factor, clean, 1, clamp=True)
    assert clamped.min() >= 0 and clamped.max() <= 1


@pytest.mark.parametrize("kind", list(NOISE_KINDS))
def test_a_factor_of_zero_changes_nothing_and_larger_is_noisier(kind):
    clean = images()
    low = NOISE_KINDS[kind]
    start = 1e-6 if low.low_open else 0.0
    errors = [((noisy(kind, f, clean) - clean) ** 2).mean().item() for f in (start, low.default, low.high)]
    assert errors[0] < 1e-6 and errors[0] < errors[1] < errors[2]


def test_salt_pepper_sets_the_given_fraction_of_pixels_to_black_or_white_half_each():
    clean = torch.full((200, 1, 28, 28), 0.5)
    out = noisy("salt-pepper", 0.3, clean)
    black, white = (out == 0).float().mean().item(), (out == 1).float().mean().item()
    assert abs(black - 0.15) < 0.01 and abs(white - 0.15) < 0.01
    assert ((out == 0) | (out == 1) | (out == 0.5)).all()


def test_speckle_is_multiplicative_black_stays_black():
    clean = images()
    clean[:, :, :5] = 0
    out = noisy("speckle", 0.5, clean)
    assert (out[:, :, :5] == 0).all()
    ratio = (out[:, :, 5:] - clean[:, :, 5:]) / clean[:, :, 5:]
    assert abs(ratio.std().item() - 0.5) < 0.02


def test_poisson_factor_is_the_noise_std_on_a_white_pixel():
    white = torch.ones((200, 1, 28, 28))
    out = noisy("poisson", 0.25, white)  # 16 photons: counts / 16, std 1/4
    assert abs(out.mean().item() - 1.0) < 0.01 and abs(out.std().item() - 0.25) < 0.01
    assert torch.equal(noisy("poisson", 0.25, torch.zeros(2, 1, 28, 28)), torch.zeros(2, 1, 28, 28))


def test_mask_drops_the_given_fraction_of_2x2_blocks():
    clean = torch.full((200, 1, 28, 28), 0.7)
    out = noisy("mask", 0.4, clean)
    blocks = out.unfold(2, 2, 2).unfold(3, 2, 2).reshape(200, 14, 14, 4)
    assert ((blocks == 0).all(-1) | (blocks == 0.7).all(-1)).all()  # whole blocks, nothing else
    assert abs((blocks[..., 0] == 0).float().mean().item() - 0.4) < 0.01


@pytest.mark.parametrize(
    "kind, factor, allowed",
    [
        ("salt-pepper", 1.5, "from 0 to 1 for salt-pepper noise, the fraction of pixels set to 0 or 1"),
        ("mask", 0.95, "from 0 to 0.9 for mask noise"),
        ("poisson", 0, "above 0 to 2 for poisson noise"),
        ("gaussian", 6, "from 0 to 5 for gaussian noise, the standard deviation"),
    ],
)
def test_the_factor_is_judged_against_its_kind_in_the_cli(kind, factor, allowed):
    out = subprocess.run(
        [DAE_TUI, "train", "--noise", kind, "--noise-factor", str(factor)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and out.stdout == "" and out.stderr.count("\n") == 1
    assert out.stderr.startswith(f"dae-tui train: error: --noise-factor must be {allowed}")
    assert f"(got {factor})" in out.stderr


def test_every_kind_default_is_a_valid_config():
    for name, kind in NOISE_KINDS.items():
        config = config_from_strings({"noise": name, "noise_factor": str(kind.default)})
        assert config.noise == name and config.validate() == []
    config, errors = read_config({"noise": "speckle", "noise_factor": "5"})
    assert config is not None and not errors


async def test_the_form_says_what_the_factor_means_and_swaps_in_each_kinds_default(tmp_path):
    app = DaeApp(TrainConfig(), runs_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        noise = app.query_one("#field-noise", Choice)
        factor = app.query_one("#field-noise_factor", Input)
        hint = app.query_one("#noise-hint", FitLine)
        assert hint.shown == "↳ std of added noise"
        noise.value = "salt-pepper"
        await wait_until(pilot, lambda: factor.value == "0.2")
        # 22 cells beside the chart: the arrow goes, every word stays (it once read `share of pixels to`).
        assert hint.shown == "share of pixels to 0/1" and "share of pixels to 0/1" in screen_text(app)
        factor.value = "0.35"  # typed: kept across a change of kind ...
        noise.value = "mask"
        await wait_until(pilot, lambda: hint.shown.endswith("share of 2x2 blocks→0"))
        await pilot.pause()
        assert factor.value == "0.35"
        factor.value = "1.5"  # ... and judged against the kind
        await wait_until(pilot, lambda: bool(app.query("#error-noise_factor.-shown")))
        shown = str(app.query_one("#error-noise_factor", Static).render())
        assert shown.startswith("must be from 0 to 0.9 for mask noise, the fraction of 2x2 pixel blocks")
        assert "must be from 0 to 0.9" in screen_text(app)  # on screen, under the field
        assert app.query_one(ConfigForm).config is None


# --- loss -----------------------------------------------------------------------------------------


def test_the_loss_is_minimised_but_mse_is_reported():
    output, clean = images(8, 1), images(8, 2)
    objective, mse = losses(output, clean, "l1")
    assert torch.isclose(objective, (output - clean).abs().mean())
    assert torch.isclose(mse, ((output - clean) ** 2).mean())
    same, also = losses(output, clean, "mse")
    assert same is also


@pytest.mark.slow
def test_an_l1_run_trains_and_reports_mse(tiny_config, tmp_path):
    events = list(Trainer(replace(tiny_config, loss="l1", train_limit=512), runs_dir=tmp_path).run())
    assert isinstance(events[-1], RunFinished)
    ends = [e for e in events if isinstance(e, EpochEnd)]
    assert ends[-1].test_mse < ends[0].test_mse and 0 < ends[-1].train_mse < 1


# --- SSIM -------------------------------------------------------------------------------------------


def test_ssim_of_identical_images_is_one_and_of_flat_ones_is_the_luminance_term():
    clean = images(4)
    assert torch.allclose(per_image_ssim(clean, clean), torch.ones(4))
    # Flat images: no variance, so SSIM is (2ab + C1) / (a^2 + b^2 + C1) with C1 = 0.01^2.
    a, b = torch.full((1, 1, 28, 28), 0.5), torch.full((1, 1, 28, 28), 0.25)
    expected = (2 * 0.5 * 0.25 + 1e-4) / (0.25 + 0.0625 + 1e-4)
    assert abs(per_image_ssim(a, b).item() - expected) < 1e-6


def test_ssim_matches_pytorch_msssim():
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    clean = images(32)
    for kind in NOISE_KINDS:
        seen = noisy(kind, NOISE_KINDS[kind].default, clean, clamp=True)
        reference = pytorch_msssim.ssim(seen, clean, data_range=1.0, size_average=False)
        assert torch.allclose(per_image_ssim(seen, clean), reference, atol=1e-5)


@pytest.mark.slow
def test_every_epoch_reports_test_ssim_beside_psnr(tiny_config, tmp_path):
    events = list(Trainer(replace(tiny_config, epochs=1), runs_dir=tmp_path).run())
    (end,) = [e for e in events if isinstance(e, EpochEnd)]
    assert 0 < end.noisy_ssim < 1 and -1 < end.test_ssim <= 1
    record = end.to_json("mnist", "bundled")
    assert record["test_ssim"] == end.test_ssim and record["noisy_ssim"] == end.noisy_ssim
