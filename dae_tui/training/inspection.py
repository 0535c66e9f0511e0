"""Poking at a trained model: what-if noise on its fixed test pictures, a drawn picture, and the
robustness curve, cached in the run folder.

    inspector = Inspector("runs/20240531-120000-mnist-seed")
    samples = inspector.what_if("gaussian", 1.0)            # Samples, as the Images tab shows them
    drawing = inspector.denoise_drawing(pixels, "gaussian", 1.0)
    for point in inspector.curve("salt-pepper"):            # cached once computed
        ...

All noise comes from the fixed test seed, so the same factor always gives the same pictures and
the what-if pictures at the trained noise are the Images tab's pictures of the same epoch. The
methods may be called from any thread: the model is only ever read.

May import torch, `dae_tui.core` and `dae_tui.runs`; never textual, rich or optuna.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dae_tui.core.config import NOISE_KINDS
from dae_tui.core.events import Picture, Samples
from dae_tui.runs.files import atomic_write_json, read_json
from dae_tui.runs.info import FIGURE_RANGES, plausible_number
from dae_tui.training.metrics import per_image_mse, psnr_from_mse
from dae_tui.training.robustness import CurvePoint, default_factors, load_run_model, robustness
from dae_tui.training.samples import make_samples, pick_sample_indices, to_pictures
from dae_tui.training.trainer import _as_float, fixed_noise

__all__ = ["CURVE_CACHE", "Drawing", "Inspector", "drawing_noise"]

CURVE_CACHE = "robustness.json"
"""The run folder's file of computed robustness curves, valid for one checkpoint."""
CACHE_FORMAT = 1
SIDE = 28
"""Pixels a side of the pictures the models take."""


@dataclass(frozen=True)
class Drawing:
    """A drawn picture after noise and after the model, each scored against the drawing."""

    noisy: Picture
    denoised: Picture
    noisy_psnr: float
    denoised_psnr: float


def drawing_noise(pixels: bytes, kind: str, factor: float, clamp: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, noisy) float (1, 1, 28, 28) tensors of a 28x28 uint8 drawing, the noise from the
    fixed seed so it does not flicker from one stroke to the next."""
    if len(pixels) != SIDE * SIDE:
        raise ValueError(f"a drawing is {SIDE}x{SIDE} = {SIDE * SIDE} bytes (got {len(pixels)})")
    clean = _as_float(torch.frombuffer(bytearray(pixels), dtype=torch.uint8).view(1, SIDE, SIDE))
    return clean, fixed_noise(clean, kind, factor, clamp)


class Inspector:
    """The model of one run, loaded once, with the data it was tested on."""

    def __init__(self, run: str | Path, device: str = "cpu") -> None:
        loaded = load_run_model(run, device)
        assert loaded.data is not None
        self.run_dir = loaded.checkpoint.parent
        self.model = loaded.model
        self.config = loaded.config
        self.epoch = loaded.epoch
        """The epoch the model was saved after."""
        self.digest = loaded.digest
        self.device = next(self.model.parameters()).device
        test = loaded.data.test
        self.test_images = test.images
        self.source = loaded.data.source
        indices = pick_sample_indices(test.labels, 8)
        self.indices = indices
        self.labels = [int(test.labels[i]) for i in indices]
        # The noise of a prefix of the test split is the prefix of the whole split's noise (a test
        # checks it for every kind), so the pictures match the trainer's without noising 10k images.
        self._prefix = _as_float(test.images[: max(indices) + 1])
        # Read here, in the loading thread, so the tab asking for a cached curve never reads a
        # file on the UI thread.
        self._cache: dict[str, list[CurvePoint]] = _read_cache(self.run_dir / CURVE_CACHE, self.digest, self.test_size)
        self.save_error: str | None = None
        """Why the last computed curve could not be saved in the run folder, a few words for under
        the chart ("disk full", "a folder is named robustness.json"); None: it was saved."""

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def test_size(self) -> int:
        return len(self.test_images)

    def _denoise(self, noisy: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.model(noisy.to(self.device)).float().cpu()

    def what_if(self, kind: str, factor: float) -> Samples:
        """The 8 fixed test pictures under noise `kind` at `factor`, and the model's output."""
        noisy = fixed_noise(self._prefix, kind, factor, self.config.clamp)[self.indices]
        clean = self._prefix[self.indices]
        return make_samples(self.epoch, self.indices, self.labels, clean, noisy, self._denoise(noisy))

    def denoise_drawing(self, pixels: bytes, kind: str, factor: float) -> Drawing:
        """A 28x28 drawing (uint8, row-major, light on dark) noised and denoised."""
        clean, noisy = drawing_noise(pixels, kind, factor, self.config.clamp)
        seen = noisy.clamp(0.0, 1.0)
        denoised = self._denoise(noisy)
        noisy_mse, denoised_mse = per_image_mse(torch.cat([seen, denoised]), clean.expand(2, -1, -1, -1)).tolist()
        (noisy_picture, denoised_picture) = to_pictures(torch.cat([seen, denoised]))
        return Drawing(noisy_picture, denoised_picture, psnr_from_mse(noisy_mse), psnr_from_mse(denoised_mse))

    def factors(self, kind: str) -> list[float]:
        """The curve's factors for `kind`: the default grid, with the trained factor on it."""
        return default_factors(kind, self.config.noise_factor if kind == self.config.noise else None)

    # --- the robustness curve, cached ---------------------------------------------------------

    def cached_curve(self, kind: str) -> list[CurvePoint] | None:
        """The curve of `kind` if it was computed for this very checkpoint."""
        return self._curves().get(kind)

    def curve(self, kind: str, cancelled: Callable[[], bool] = lambda: False) -> Iterator[CurvePoint]:
        """The curve of `kind` point by point: from the cache, or computed on the whole test split
        and then cached (in the run folder when it is writable). Stops early when `cancelled()`."""
        cached = self.cached_curve(kind)
        if cached is not None:
            yield from cached
            return
        points = []
        for point in robustness(self.model, self.test_images, kind, self.factors(kind), self.config.clamp):
            points.append(point)
            yield point
            if cancelled():
                return
        self._curves()[kind] = points
        self._save_curves()

    def _curves(self) -> dict[str, list[CurvePoint]]:
        return self._cache

    def _save_curves(self) -> None:
        doc = {
            "format": CACHE_FORMAT,
            "checkpoint_sha256": self.digest,
            "epoch": self.epoch,
            "test_size": self.test_size,
            "curves": {kind: [p.to_json() for p in points] for kind, points in self._curves().items()},
        }
        try:
            atomic_write_json(self.run_dir / CURVE_CACHE, doc)
            self.save_error = None
        except OSError as err:
            # A read-only run folder, a folder named robustness.json, a full disk: the curve stays
            # in memory for this session, and the tab says it was not saved (never "saved").
            where = self.run_dir / CURVE_CACHE
            if where.exists() and not where.is_file():
                self.save_error = f"a folder is named {CURVE_CACHE}" if where.is_dir() else f"{CURVE_CACHE} is no file"
            elif err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                self.save_error = "disk full"
            else:
                self.save_error = os.strerror(err.errno).lower() if err.errno else "cannot write the run folder"


def _read_cache(path: Path, digest: str, test_size: int) -> dict[str, list[CurvePoint]]:
    """The cached curves when they belong to this checkpoint and test split; nothing otherwise
    (a missing, stale, foreign or damaged cache is simply computed again)."""
    try:
        doc = read_json(path)
    except (OSError, ValueError):
        return {}
    if not (
        isinstance(doc, dict)
        and doc.get("format") == CACHE_FORMAT
        and doc.get("checkpoint_sha256") == digest
        and doc.get("test_size") == test_size
        and isinstance(doc.get("curves"), dict)
    ):
        return {}
    curves = {}
    for kind, points in doc["curves"].items():
        parsed = [_point(p, kind) for p in points] if kind in NOISE_KINDS and isinstance(points, list) else [None]
        if parsed and all(p is not None for p in parsed):
            curves[kind] = parsed
    return curves  # type: ignore[return-value]


def _point(value: Any, kind: str) -> CurvePoint | None:
    """One cached point, when every figure is a plausible number (the same ranges as a metrics
    line's: ±1e308 is finite, yet overflows the chart's ticks) and its factor one `kind` allows."""
    fields = CurvePoint.__dataclass_fields__
    if not isinstance(value, dict) or set(value) != set(fields):
        return None
    factor = plausible_number(value["factor"], 0.0, 1e6)
    if factor is None or not NOISE_KINDS[kind].accepts(float(factor)):
        return None
    if any(plausible_number(value[k], *FIGURE_RANGES[k]) is None for k in fields if k != "factor"):
        return None
    return CurvePoint(**{k: float(v) for k, v in value.items()})
