"""The worst test pictures of every epoch (lowest PSNR), kept in the run folder beside the fixed 8.

    samples/worst-0003.u8     clean, noisy (clamped) and denoised pictures of epoch 3's worst
                              8, one block after the other, each 8 x height x width bytes
    samples/worst-0003.json   {"format": 1, "width", "height", "indices", "labels",
                               "noisy_psnr", "denoised_psnr", "noisy_ssim", "denoised_ssim"}

Unlike the fixed pictures, which pictures are worst changes from epoch to epoch, so each epoch
keeps its own clean and noisy ones (about 19 KB an epoch). The .json is written after its .u8,
both atomically, so a reader that finds it finds its pictures.

Torch-free: the pictures arrive as `Samples` (uint8 bytes already). Imports only the standard
library, `dae_tui.core.events` and `dae_tui.runs`: never torch, textual, rich or optuna.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from dae_tui.core.events import Picture, Samples
from dae_tui.runs.files import atomic_write, atomic_write_json, read_file, read_json
from dae_tui.runs.samples import MAX_COUNT, MAX_SIDE, SAMPLES_DIR, _bounded, _scores

__all__ = ["WORST_COUNT", "WorstRecorder", "load_worst"]

WORST_COUNT = 8
"""Pictures kept an epoch: as many as the fixed ones, so both browse alike."""
WORST_FORMAT = 1
MAX_WORST_EPOCHS = 10_000
"""Past this many saved epochs only the latest are read (a listing must stay cheap)."""
_NAME = re.compile(r"worst-(\d{4,7})\.json")


def _stem(epoch: int) -> str:
    return f"worst-{epoch:04d}"


class WorstRecorder:
    """Writes each epoch's worst pictures (a `Samples`) into the run's `samples/` folder."""

    def __init__(self, run_dir: Path) -> None:
        self.folder = Path(run_dir) / SAMPLES_DIR

    def record(self, samples: Samples) -> None:
        """Save one epoch's worst pictures and their scores."""
        self.folder.mkdir(exist_ok=True)
        width, height = (samples.clean[0].width, samples.clean[0].height) if samples.clean else (0, 0)
        data = b"".join(p.pixels for group in (samples.clean, samples.noisy, samples.denoised) for p in group)
        atomic_write(self.folder / f"{_stem(samples.epoch)}.u8", lambda f: f.write(data))
        index: dict[str, Any] = {
            "format": WORST_FORMAT,
            "width": width,
            "height": height,
            "indices": list(samples.indices),
            "labels": list(samples.labels),
            "noisy_psnr": list(samples.noisy_psnr),
            "denoised_psnr": list(samples.denoised_psnr),
            "noisy_ssim": list(samples.noisy_ssim),
            "denoised_ssim": list(samples.denoised_ssim),
        }
        atomic_write_json(self.folder / f"{_stem(samples.epoch)}.json", index)


def _read_epoch(folder: Path, epoch: int) -> Samples | None:
    """One epoch's worst pictures, or None when its files are missing, broken or disagree."""
    try:
        index = read_json(folder / f"{_stem(epoch)}.json")
        width, height = _bounded(index["width"], MAX_SIDE), _bounded(index["height"], MAX_SIDE)
        indices = tuple(int(i) for i in index["indices"])
        labels = tuple(int(i) for i in index["labels"])
        count = _bounded(len(indices), MAX_COUNT)
        scores = [_scores(index[key]) for key in ("noisy_psnr", "denoised_psnr", "noisy_ssim", "denoised_ssim")]
        size = count * width * height
        data = read_file(folder / f"{_stem(epoch)}.u8", 3 * size)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return None
    if len(data) != 3 * size or len(labels) != count or any(len(s) != count for s in scores):
        return None
    side = width * height
    clean, noisy, denoised = (
        tuple(Picture(width, height, data[b * size + i * side : b * size + (i + 1) * side]) for i in range(count))
        for b in range(3)
    )
    return Samples(epoch, indices, labels, clean, noisy, denoised, *scores)


def load_worst(run_dir: str | os.PathLike[str], epoch: int | None = None) -> dict[int, Samples]:
    """Every saved epoch's worst pictures, by epoch ({} for a run from before they were kept),
    or only `epoch`'s. Never raises for bad files: an epoch whose files cannot be read is left out."""
    folder = Path(run_dir) / SAMPLES_DIR
    if epoch is not None:
        one = _read_epoch(folder, epoch)
        return {epoch: one} if one is not None else {}
    try:
        names = os.listdir(folder)
    except OSError:
        return {}
    epochs = sorted(int(m.group(1)) for m in map(_NAME.fullmatch, names) if m)[-MAX_WORST_EPOCHS:]
    found = {}
    for saved in epochs:
        samples = _read_epoch(folder, saved)
        if samples is not None:
            found[saved] = samples
    return found
