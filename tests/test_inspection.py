"""The Inspect tab's engine (issue 12): what-if noise on a run's fixed test pictures, a drawn
picture through the model, and the robustness curve cached in the run folder, on a real run."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from dae_tui.engine.inspection import CURVE_CACHE, Inspector, drawing_noise
from dae_tui.engine.noise import NOISES
from dae_tui.engine.samplestore import load_samples
from dae_tui.engine.trainer import fixed_noise


@pytest.mark.parametrize("kind", sorted(NOISES))
def test_the_noise_of_a_prefix_is_the_prefix_of_the_noise(kind):
    # What-if noises only the first few test images and relies on this to match the trainer.
    clean = torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    whole = fixed_noise(clean, kind, 0.3)
    for count in (1, 13, 64):
        assert torch.equal(fixed_noise(clean[:count], kind, 0.3), whole[:count])


def test_what_if_at_the_trained_noise_is_the_images_tab_of_the_last_epoch(trained_run):
    inspector = Inspector(trained_run)
    last = load_samples(trained_run)[3]
    assert inspector.epoch == 3 and inspector.name == trained_run.name
    same = inspector.what_if("gaussian", 0.5)
    assert same.indices == last.indices and same.labels == last.labels
    assert same.clean == last.clean and same.noisy == last.noisy and same.denoised == last.denoised
    assert same.denoised_psnr == pytest.approx(last.denoised_psnr, abs=1e-4)


def test_what_if_follows_the_factor_and_the_kind(trained_run):
    inspector = Inspector(trained_run)
    mild, harsh = inspector.what_if("gaussian", 0.2), inspector.what_if("gaussian", 2.0)
    assert mild.clean == harsh.clean
    assert all(m > h for m, h in zip(mild.noisy_psnr, harsh.noisy_psnr, strict=True))
    # The session's run is trained for seconds only: its output changes, and gets worse, but little.
    assert mild.denoised != harsh.denoised and sum(mild.denoised_psnr) > sum(harsh.denoised_psnr)
    assert inspector.what_if("gaussian", 2.0) == harsh  # the same noise every time
    masked = inspector.what_if("mask", 0.5)
    assert masked.noisy != harsh.noisy
    # A mask only darkens: every noisy pixel is the clean one or black.
    for clean, noisy in zip(masked.clean, masked.noisy, strict=True):
        assert all(n in (0, c) for c, n in zip(clean.pixels, noisy.pixels, strict=True))


def test_a_drawing_goes_through_the_model_with_steady_noise(trained_run):
    inspector = Inspector(trained_run)
    # A "1": a bright vertical bar in the middle, as MNIST centres its digits.
    pixels = bytearray(28 * 28)
    for y in range(5, 23):
        for x in (13, 14):
            pixels[y * 28 + x] = 255
    drawing = inspector.denoise_drawing(bytes(pixels), "gaussian", 0.5)
    assert (drawing.noisy.width, drawing.noisy.height) == (28, 28)
    assert drawing.denoised_psnr > drawing.noisy_psnr  # trained for 3 epochs, it already helps
    assert inspector.denoise_drawing(bytes(pixels), "gaussian", 0.5) == drawing
    blank = inspector.denoise_drawing(bytes(28 * 28), "gaussian", 0.5)
    assert blank.denoised != drawing.denoised
    with pytest.raises(ValueError, match="28x28"):
        drawing_noise(b"\x00" * 10, "gaussian", 0.5, False)


def test_the_curve_is_computed_once_and_then_read_from_the_run_folder(trained_run, tmp_path):
    run = tmp_path / trained_run.name
    shutil.copytree(trained_run, run)
    inspector = Inspector(run)
    points = list(inspector.curve("gaussian"))
    assert [p.factor for p in points] == inspector.factors("gaussian")
    assert 0.5 in inspector.factors("gaussian")
    doc = json.loads((run / CURVE_CACHE).read_text())
    assert doc["checkpoint_sha256"] == inspector.digest and list(doc["curves"]) == ["gaussian"]
    # A new session reads it back without computing (it would take the model to differ).
    again = Inspector(run)
    assert again.cached_curve("gaussian") == points
    assert again.cached_curve("mask") is None
    # Another checkpoint (the run went on) makes the cache stale; so does a damaged file.
    doc["checkpoint_sha256"] = "0" * 64
    (run / CURVE_CACHE).write_text(json.dumps(doc))
    assert Inspector(run).cached_curve("gaussian") is None
    (run / CURVE_CACHE).write_text('{"format": 1, "curves": [')
    assert Inspector(run).cached_curve("gaussian") is None


def test_a_cancelled_curve_is_not_cached(trained_run, tmp_path):
    run = tmp_path / trained_run.name
    shutil.copytree(trained_run, run)
    inspector = Inspector(run)
    seen = []
    for point in inspector.curve("speckle", cancelled=lambda: len(seen) >= 2):
        seen.append(point)
    assert len(seen) == 2
    assert inspector.cached_curve("speckle") is None and not (run / CURVE_CACHE).exists()


def test_a_run_folder_that_cannot_be_written_keeps_the_curve_in_memory(trained_run, tmp_path, monkeypatch):
    # As root (CI) no folder is read-only, so the refusal is the kernel's error, raised where it would be.
    def refuse(path, value):
        raise PermissionError(13, "Permission denied", str(path))

    run = tmp_path / trained_run.name
    shutil.copytree(trained_run, run)
    monkeypatch.setattr("dae_tui.engine.inspection.atomic_write_json", refuse)
    inspector = Inspector(run)
    points = list(inspector.curve("poisson"))
    assert inspector.cached_curve("poisson") == points
    assert not (run / CURVE_CACHE).exists()
