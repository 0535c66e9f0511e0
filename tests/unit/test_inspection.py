"""The Inspect tab's engine (issue 12): what-if noise on a run's fixed test pictures, a drawn
picture through the model, and the robustness curve cached in the run folder, on a real run."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from dae_tui.runs.samples import load_samples
from dae_tui.training.inspection import CURVE_CACHE, Inspector, drawing_noise
from dae_tui.training.noise import NOISES
from dae_tui.training.trainer import fixed_noise


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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_cancelled_curve_is_not_cached(trained_run, tmp_path):
    run = tmp_path / trained_run.name
    shutil.copytree(trained_run, run)
    inspector = Inspector(run)
    seen = []
    for point in inspector.curve("speckle", cancelled=lambda: len(seen) >= 2):
        seen.append(point)
    assert len(seen) == 2
    assert inspector.cached_curve("speckle") is None and not (run / CURVE_CACHE).exists()


@pytest.mark.slow
def test_a_run_folder_that_cannot_be_written_keeps_the_curve_in_memory(trained_run, tmp_path, monkeypatch):
    # As root (CI) no folder is read-only, so the refusal is the kernel's error, raised where it would be.
    def refuse(path, value):
        raise PermissionError(13, "Permission denied", str(path))

    run = tmp_path / trained_run.name
    shutil.copytree(trained_run, run)
    monkeypatch.setattr("dae_tui.training.inspection.atomic_write_json", refuse)
    inspector = Inspector(run)
    points = list(inspector.curve("poisson"))
    assert inspector.cached_curve("poisson") == points
    assert not (run / CURVE_CACHE).exists()


# --- hostile files in the run folder (issue 17) ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("number", ["1.7e308", "-1e300", "NaN", "Infinity", "1" * 401])
def test_a_cache_with_a_figure_no_chart_can_draw_counts_as_missing(trained_run, tmp_path, number):
    run = tmp_path / trained_run.name
    shutil.copytree(trained_run, run)
    points = list(Inspector(run).curve("gaussian"))
    good = (run / CURVE_CACHE).read_text()
    assert Inspector(run).cached_curve("gaussian") == points
    # One figure of one point: the chart's ticks overflow on ±1e308, and NaN is no height at all.
    (run / CURVE_CACHE).write_text(
        good.replace(f'"test_psnr": {json.dumps(points[3].test_psnr)}', f'"test_psnr": {number}', 1)
    )
    assert (run / CURVE_CACHE).read_text() != good
    again = Inspector(run)
    assert again.cached_curve("gaussian") is None
    if number == "NaN":  # computed again (the same figures), and the cache made whole
        assert [p.factor for p in again.curve("gaussian")] == [p.factor for p in points]
        assert Inspector(run).cached_curve("gaussian") == pytest.approx(points)


@pytest.mark.slow
def test_a_cache_that_cannot_be_saved_says_so(trained_run, tmp_path):
    run = tmp_path / trained_run.name
    shutil.copytree(trained_run, run)
    (run / CURVE_CACHE).mkdir()  # os.replace cannot put a file where a folder is
    inspector = Inspector(run)
    assert inspector.cached_curve("mask") is None
    points = list(inspector.curve("mask"))
    assert inspector.save_error == f"a folder is named {CURVE_CACHE}" and (run / CURVE_CACHE).is_dir()
    assert inspector.cached_curve("mask") == points  # kept for this session


FIFO_PLACES = {
    CURVE_CACHE: "samples [0, 1, 2, 3]; cache missing",
    "samples/index.json": "samples []; cache missing",
    "samples/clean.u8": "samples []; cache missing",
    "samples/denoised-0002.u8": "samples [0, 1, 3]; cache missing",
    "checkpoint.pt.sha256": "samples [0, 1, 2, 3]; refused: corrupt, it does not match its checksum",
    "checkpoint.pt": "samples [0, 1, 2, 3]; refused: no checkpoint there",
}

READ_ALL = """
import sys
from pathlib import Path
from dae_tui.training.inspection import Inspector
from dae_tui.runs.samples import load_samples

for folder in sys.argv[1:]:
    line = f"samples {sorted(load_samples(folder))}; "
    try:
        line += "cache missing" if Inspector(folder).cached_curve("gaussian") is None else "cached"
    except Exception as err:  # the one-line refusal, checked below
        line += "refused: " + str(err).split(": ", 1)[1]
    print(line, flush=True)
"""


@pytest.mark.slow
def test_a_fifo_anywhere_the_inspect_tab_reads_never_hangs_it(trained_run, tmp_path):
    import os
    import subprocess
    import sys

    folders = []
    for i, name in enumerate(FIFO_PLACES):
        run = tmp_path / f"{i}" / trained_run.name
        shutil.copytree(trained_run, run)
        (run / name).unlink(missing_ok=True)
        os.mkfifo(run / name)  # nobody writes to it: a plain open() blocks for ever
        folders.append(str(run))
    result = subprocess.run([sys.executable, "-c", READ_ALL, *folders], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(FIFO_PLACES)
    for line, expected in zip(lines, FIFO_PLACES.values(), strict=True):
        assert line.startswith(expected), (line, expected)


def test_an_epoch_whose_scores_are_no_numbers_is_left_out_alone(trained_run, tmp_path):
    run = tmp_path / trained_run.name
    shutil.copytree(trained_run, run)
    index = run / "samples" / "index.json"
    doc = json.loads(index.read_text())
    doc["epochs"]["2"][0] = float("nan")
    doc["ssim_epochs"]["3"] = ["1" * 401] * 8
    index.write_text(json.dumps(doc))
    samples = load_samples(run)
    assert sorted(samples) == [0, 1, 3] and samples[3].denoised_ssim == ()


@pytest.mark.parametrize(
    "change",
    [
        lambda doc: doc["noisy_psnr"].__setitem__(1, float("inf")),
        lambda doc: doc.__setitem__("width", 10**401),
        lambda doc: doc.__setitem__("height", 1e308),
        lambda doc: doc["indices"].__setitem__(0, float("inf")),
    ],
)
def test_a_samples_index_with_numbers_no_picture_can_have_shows_none_not_a_crash(trained_run, tmp_path, change):
    run = tmp_path / trained_run.name
    shutil.copytree(trained_run, run)
    assert sorted(load_samples(run)) == [0, 1, 2, 3]
    index = run / "samples" / "index.json"
    doc = json.loads(index.read_text())
    change(doc)
    index.write_text(json.dumps(doc))  # json writes NaN and Infinity as Python reads them back
    assert load_samples(run) == {}
