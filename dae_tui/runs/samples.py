"""The 8 fixed test pictures of every epoch, kept in the run folder so any past run can be shown.

    samples/index.json          {"format": 1, "width", "height", "indices", "labels",
                                 "noisy_psnr": [8 floats], "epochs": {"0": [8 floats], ...},
                                 "noisy_ssim": [8 floats], "ssim_epochs": {"0": [8 floats], ...}}
    samples/clean.u8            the clean pictures, 8 x height x width bytes, row-major
    samples/noisy.u8            the noisy inputs (clamped to [0, 1]), the same shape
    samples/denoised-0003.u8    the model's output after epoch 3 (0000: before training)

The index maps each saved epoch to its per-image denoised PSNRs (and SSIMs, absent from runs saved
before SSIM was measured) and is rewritten (atomically, like
every file here) after that epoch's pictures are on disk, so it never names a missing file. About
6 KB an epoch.

Torch-free: pictures arrive as `Samples` events (uint8 bytes already). Imports only the standard
library, `dae_tui.core.events` and `dae_tui.runs.files`: never torch, textual, rich or optuna.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from dae_tui.core.events import Picture, Samples
from dae_tui.runs.files import atomic_write, atomic_write_json, read_file, read_json

__all__ = ["SAMPLES_DIR", "SampleRecorder", "load_samples"]

SAMPLES_DIR = "samples"
INDEX_NAME = "index.json"
SAMPLES_FORMAT = 1
MAX_INDEX_BYTES = 32 * 1024 * 1024
"""index.json grows by about 350 bytes an epoch (16 scores), so 10,000 epochs take 3.5 MB: the
cap is for a file that is not an index, not for a long run (whose pictures must still show)."""
MAX_SIDE, MAX_COUNT = 4096, 64
"""Past these an index's picture size or count is not believed (the run saves 8 of 28x28)."""


def _scores(values: Any) -> tuple[float, ...]:
    """A list of per-picture scores; ValueError unless every one is a finite number (NaN,
    Infinity and a 401-digit integer are all valid JSON, and none can be drawn as a label)."""
    scores = tuple(float(x) for x in values)
    if not all(math.isfinite(x) and abs(x) < 1e6 for x in scores):
        raise ValueError("a score that is not a plausible number")
    return scores


def _by_epoch(scores: dict[str, Any]) -> dict[int, tuple[float, ...]]:
    """{epoch: its scores} of an index's "epochs" map; an epoch whose scores are not plausible
    numbers is left out alone (its pictures are not shown), the others stay."""
    found = {}
    for epoch, values in scores.items():
        try:
            found[int(epoch)] = _scores(values)
        except (ValueError, TypeError, OverflowError):
            continue
    return found


def _bounded(value: Any, high: int) -> int:
    if type(value) is not int or not 0 <= value <= high:
        raise ValueError(f"{value!r} is not a count from 0 to {high}")
    return value


def _denoised_name(epoch: int) -> str:
    return f"denoised-{epoch:04d}.u8"


def _pack(pictures: tuple[Picture, ...]) -> bytes:
    return b"".join(p.pixels for p in pictures)


def _unpack(data: bytes, count: int, width: int, height: int) -> tuple[Picture, ...]:
    size = width * height
    return tuple(Picture(width, height, data[i * size : (i + 1) * size]) for i in range(count))


class SampleRecorder:
    """Writes a run's `Samples` events into its `samples/` folder, one epoch at a time.

    The first event writes the clean and noisy pictures. A resumed run keeps the epochs already
    saved, unless its test pictures differ (another data source): then the index starts afresh.
    """

    def __init__(self, run_dir: Path) -> None:
        self.folder = Path(run_dir) / SAMPLES_DIR
        self._index: dict[str, Any] | None = None

    def record(self, samples: Samples) -> None:
        """Save one epoch's pictures and PSNRs."""
        if self._index is None:
            self._index = self._open(samples)
        data = _pack(samples.denoised)
        atomic_write(self.folder / _denoised_name(samples.epoch), lambda f: f.write(data))
        self._index["epochs"][str(samples.epoch)] = list(samples.denoised_psnr)
        self._index["ssim_epochs"][str(samples.epoch)] = list(samples.denoised_ssim)
        atomic_write_json(self.folder / INDEX_NAME, self._index)

    def _open(self, samples: Samples) -> dict[str, Any]:
        self.folder.mkdir(exist_ok=True)
        width, height = (samples.clean[0].width, samples.clean[0].height) if samples.clean else (0, 0)
        index: dict[str, Any] = {
            "format": SAMPLES_FORMAT,
            "width": width,
            "height": height,
            "indices": list(samples.indices),
            "labels": list(samples.labels),
            "noisy_psnr": list(samples.noisy_psnr),
            "epochs": {},
            "noisy_ssim": list(samples.noisy_ssim),
            "ssim_epochs": {},
        }
        clean, noisy = _pack(samples.clean), _pack(samples.noisy)
        try:
            earlier = read_json(self.folder / INDEX_NAME, MAX_INDEX_BYTES)
            same_pictures = read_file(self.folder / "clean.u8", len(clean)) == clean
        except (OSError, ValueError):
            earlier, same_pictures = None, False
        if (
            same_pictures
            and isinstance(earlier, dict)
            and isinstance(earlier.get("epochs"), dict)
            and all(earlier.get(k) == index[k] for k in ("format", "width", "height", "indices", "labels"))
        ):
            index["epochs"] = earlier["epochs"]
            ssim = earlier.get("ssim_epochs")
            index["ssim_epochs"] = ssim if isinstance(ssim, dict) else {}
        atomic_write(self.folder / "clean.u8", lambda f: f.write(clean))
        atomic_write(self.folder / "noisy.u8", lambda f: f.write(noisy))
        return index


def load_samples(run_dir: str | os.PathLike[str]) -> dict[int, Samples]:
    """Every saved epoch's `Samples` (0: before training), equal to the events the run yielded.

    Returns {} when the run saved none (a run from before samples were kept) or the index cannot
    be read; an epoch whose pictures are missing or the wrong size is left out. Never raises for
    bad files: the dashboard shows what there is.
    """
    folder = Path(run_dir) / SAMPLES_DIR
    try:
        index = read_json(folder / INDEX_NAME, MAX_INDEX_BYTES)
        width, height = _bounded(index["width"], MAX_SIDE), _bounded(index["height"], MAX_SIDE)
        indices = tuple(int(i) for i in index["indices"])
        labels = tuple(int(i) for i in index["labels"])
        noisy_psnr = _scores(index["noisy_psnr"])
        epochs = _by_epoch(index["epochs"])
        # SSIM came later: a run saved before it has none (empty tuples).
        noisy_ssim = _scores(index.get("noisy_ssim", ()))
        ssim_epochs = _by_epoch(index.get("ssim_epochs", {}))
        count = _bounded(len(indices), MAX_COUNT)
        size = count * width * height
        # Regular files of the expected size only: a FIFO or /dev/zero here must not hang the tab.
        clean_bytes = read_file(folder / "clean.u8", size)
        noisy_bytes = read_file(folder / "noisy.u8", size)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return {}
    if len(clean_bytes) != size or len(noisy_bytes) != size:
        return {}
    clean = _unpack(clean_bytes, count, width, height)
    noisy = _unpack(noisy_bytes, count, width, height)
    found: dict[int, Samples] = {}
    for epoch in sorted(epochs):
        try:
            data = read_file(folder / _denoised_name(epoch), size)
        except (OSError, ValueError):
            continue
        if len(data) != size or len(epochs[epoch]) != count:
            continue
        found[epoch] = Samples(
            epoch=epoch,
            indices=indices,
            labels=labels,
            clean=clean,
            noisy=noisy,
            denoised=_unpack(data, count, width, height),
            noisy_psnr=noisy_psnr,
            denoised_psnr=epochs[epoch],
            noisy_ssim=noisy_ssim if len(noisy_ssim) == count else (),
            denoised_ssim=ssim_epochs.get(epoch, ()) if len(ssim_epochs.get(epoch, ())) == count else (),
        )
    return found
