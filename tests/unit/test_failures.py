"""Where a model fails: per-class scores from the evaluation, the worst pictures, error maps."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
from helpers.runfolders import make_run
from rich.console import Console

from dae_tui.core.config import TrainConfig
from dae_tui.core.events import Picture
from dae_tui.core.psnr import psnr_from_mse
from dae_tui.runs.classes import class_scores, scores_by_epoch
from dae_tui.runs.info import read_metrics, read_run
from dae_tui.runs.live import _event_from_record
from dae_tui.runs.samples import load_samples
from dae_tui.runs.worst import load_worst
from dae_tui.training.data import load_data
from dae_tui.training.metrics import class_means, per_class_scores, per_image_mse, per_image_ssim
from dae_tui.training.models import build_model
from dae_tui.training.trainer import Trainer, evaluate_scores
from dae_tui.ui import halfblock
from dae_tui.ui.halfblock import ASCII_RAMP, HALF_BLOCK, SHADE_RAMP, error_picture, heat_legend, heat_lines
from dae_tui.ui.widgets.class_bars import ClassBarsRenderable, bar_scale
from dae_tui.ui.widgets.image_strip import Fit, StripRenderable, error_row, rows_of


@pytest.fixture
def renderer():
    """Set the picture renderer for one test; the default afterwards."""
    yield halfblock.use_renderer
    halfblock.use_renderer("halfblock")


def tiny_batch():
    """A real batch: 60 bundled MNIST test images (six of each class), their fixed noisy inputs
    and an untrained model's outputs."""
    config = TrainConfig(dataset="mnist", source="bundled")
    data = load_data(config)
    test = Trainer._prepare_test(data, config, torch.device("cpu"), torch.contiguous_format)
    keep = torch.cat([(test.labels == c).nonzero().flatten()[:6] for c in range(10)])
    torch.manual_seed(0)
    model = build_model("seed")
    return model, test.clean[keep], test.noisy[keep], test.labels[keep]


def test_per_class_scores_match_a_direct_computation_class_by_class():
    model, clean, noisy, labels = tiny_batch()
    per_mse, per_ssim = evaluate_scores(model, clean, noisy)
    psnr, ssim = per_class_scores(per_mse, per_ssim, labels)
    assert len(psnr) == len(ssim) == 10
    with torch.inference_mode():
        model.eval()
        output = model(noisy)
    for c in range(10):
        own = labels == c
        direct_mse = per_image_mse(output[own], clean[own]).mean().item()
        direct_ssim = per_image_ssim(output[own], clean[own]).mean().item()
        assert psnr[c] == pytest.approx(psnr_from_mse(direct_mse), abs=1e-4)
        assert ssim[c] == pytest.approx(direct_ssim, abs=1e-5)


def test_a_class_without_images_is_none_and_labels_past_the_classes_count_in_none():
    values = torch.tensor([1.0, 3.0, 5.0, 7.0])
    labels = torch.tensor([0, 0, 2, 12])
    assert class_means(values, labels, 4) == [2.0, None, 5.0, None]


def test_epoch_records_carry_ten_per_class_figures_and_the_worst_pictures(trained_run):
    records = read_metrics(trained_run)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    for record in records:
        assert len(record["class_psnr"]) == len(record["class_ssim"]) == 10
        assert all(isinstance(v, float) and math.isfinite(v) for v in record["class_psnr"] + record["class_ssim"])
        # The overall PSNR (of the mean MSE) lies within the classes' range.
        assert min(record["class_psnr"]) - 1e-3 <= record["test_psnr"] <= max(record["class_psnr"]) + 1e-3
    assert sorted(scores_by_epoch(records)) == [1, 2, 3]
    worst, fixed = load_worst(trained_run), load_samples(trained_run)
    assert sorted(worst) == [1, 2, 3] and load_worst(trained_run, 2) == {2: worst[2]}
    for epoch, samples in worst.items():
        assert len(samples.clean) == len(samples.denoised) == 8 and len(set(samples.indices)) == 8
        assert list(samples.denoised_psnr) == sorted(samples.denoised_psnr)  # worst first
        # The worst of the whole test split are no better than any of the fixed 8 from it.
        assert max(samples.denoised_psnr) <= min(fixed[epoch].denoised_psnr) + 1e-4


def test_a_resumed_run_reads_its_per_class_figures_back_as_the_epoch_event(trained_run):
    record = read_metrics(trained_run)[-1]
    event = _event_from_record(record, 3, trained_run)
    assert event.class_psnr == tuple(record["class_psnr"]) and len(event.class_ssim) == 10


def test_an_older_metrics_file_without_per_class_figures_still_reads(tmp_path):
    folder = make_run(tmp_path, done=2)
    records = read_metrics(folder)
    assert [r["epoch"] for r in records] == [1, 2] and "class_psnr" not in records[0]
    assert scores_by_epoch(records) == {} and class_scores(records[0]) is None
    assert _event_from_record(records[0], 2, folder).class_psnr == ()
    assert read_run(folder).epochs_done == 2 and load_worst(folder) == {}


def test_implausible_per_class_figures_are_left_out_alone():
    good = [20.0 + c for c in range(10)]
    assert class_scores({"class_psnr": good, "class_ssim": [0.5] * 10}) == (tuple(good), (0.5,) * 10)
    bad = {"class_psnr": [float("nan"), "x", *good[2:]], "class_ssim": [0.5] * 10}
    assert class_scores(bad)[0][:3] == (None, None, 22.0)
    assert class_scores({"class_psnr": good[:9], "class_ssim": [0.5] * 10}) is None


def test_broken_worst_files_are_left_out_not_raised(trained_run, tmp_path):
    run = tmp_path / trained_run.name
    shutil.copytree(trained_run, run)
    (run / "samples" / "worst-0002.u8").write_bytes(b"short")
    (run / "samples" / "worst-0003.json").write_text(json.dumps({"format": 1}))
    assert sorted(load_worst(run)) == [1]


def test_the_error_map_is_the_absolute_difference():
    clean = Picture(2, 1, bytes([10, 200]))
    denoised = Picture(2, 1, bytes([30, 50]))
    assert error_picture(clean, denoised).pixels == bytes([20, 150])


def gradient() -> Picture:
    return Picture(28, 28, bytes(min(255, y * 255 // 26) for y in range(28) for _ in range(28)))


def test_heat_maps_in_half_blocks_are_coloured_from_black_to_white(renderer):
    renderer("halfblock")
    lines = heat_lines(gradient(), 28, 255)
    assert {seg.text for row in lines for seg in row} == {HALF_BLOCK}
    first, last = lines[0][0].style, lines[-1][0].style
    assert first.color.triplet == (0, 0, 0) and last.bgcolor.triplet == (255, 255, 255)
    assert any(seg.style.color.triplet[0] > seg.style.color.triplet[2] for row in lines for seg in row)  # reds


def test_heat_maps_with_16_colours_use_the_shade_ramp_in_heat_colours(renderer):
    renderer("shade")
    lines = heat_lines(gradient(), 28, 255)
    assert {seg.text for row in lines for seg in row} == set(SHADE_RAMP)
    colours = {seg.style.color.name for row in lines for seg in row}
    assert {"red", "yellow", "bright_white"} <= colours


def test_heat_maps_and_their_legend_without_utf8_are_the_ascii_ramp(renderer):
    renderer("ascii")
    lines = heat_lines(gradient(), 28, 255)
    assert {seg.text for row in lines for seg in row} == set(ASCII_RAMP)
    legend = "".join(seg.text for seg in heat_legend(128))
    assert legend == "0 " + ASCII_RAMP + " 0.50" and legend.isascii()
    # The whole strip with its error row draws in ASCII alone, the legend line included.
    samples = load_samples_like()
    rows = [*rows_of(samples, ()), error_row(samples)]
    console = Console(width=120, color_system=None, record=True)
    console.print(StripRenderable(rows, Fit(14, 2, 4, 1), 0, 0, None, None))
    text = console.export_text()
    assert text.isascii() and "|denoised - clean|: 0 " + ASCII_RAMP in text and "error" in text


def load_samples_like():
    from dae_tui.training.samples import make_samples

    clean = torch.rand(2, 1, 28, 28)
    return make_samples(1, [0, 1], [3, 4], clean, clean + 0.2, clean.flip(-1))


def test_a_scale_stretched_to_the_rows_peak_shows_small_errors(renderer):
    dim = Picture(2, 2, bytes([0, 10, 20, 40]))
    renderer("halfblock")
    lines = heat_lines(dim, 2, 40)
    assert lines[0][1].style.bgcolor.triplet == (255, 255, 255)  # the largest error, 40, is white


def test_class_bars_mark_the_worst_class_and_start_under_it(renderer):
    names = [f"digit {c}" for c in range(10)]
    psnr = tuple(20.0 + c / 2 for c in range(10))[::-1]  # digit 9 is worst
    text = "\n".join(
        "".join(seg.text for seg in row)
        for row in ClassBarsRenderable(names, psnr, (0.8,) * 10, "Per-class", 50).lines()
    )
    marked = [line for line in text.splitlines() if "worst" in line]
    assert len(marked) == 1 and marked[0].startswith("digit 9") and "◀" in marked[0]
    assert bar_scale(psnr) == (19.0, 24.5)
    renderer("ascii")
    rows = ClassBarsRenderable(names, psnr, (0.8,) * 10, "Per-class", 50).lines()
    assert all("".join(seg.text for seg in row).isascii() for row in rows)


def test_fashion_mnist_class_names_and_figures_fit_the_bars_whole():
    from dae_tui.core.config import CLASS_NAMES
    from dae_tui.ui.widgets.class_bars import BARS_WIDTH

    names = CLASS_NAMES["fashion-mnist"]
    psnr = tuple(18.0 + c / 3 for c in range(10))  # T-shirt/top is worst
    rows = ClassBarsRenderable(names, psnr, (0.7,) * 10, "Per-class test PSNR · epoch 4 · c: hide", BARS_WIDTH - 1)
    lines = ["".join(seg.text for seg in row) for row in rows.lines()]
    for name, value, line in zip(names, psnr, lines[1:11], strict=True):
        assert line.startswith(name) and f"{value:5.1f} dB 0.70" in line and len(line) <= BARS_WIDTH - 1
    assert "◀ worst" in lines[1] and "Ankle boot" in lines[10]
