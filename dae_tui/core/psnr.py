"""PSNR from MSE: plain arithmetic, so the chart, the listing and the trainer compute it alike
without torch. Imports only the standard library."""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["MIN_MSE", "best_epoch", "psnr_from_mse"]

MIN_MSE = 1e-10
"""Identical images would be an infinite PSNR; it is capped at 100 dB."""


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB for images with peak value 1: 10 * log10(1 / mse)."""
    return 10.0 * math.log10(1.0 / max(mse, MIN_MSE))


def best_epoch(points: Iterable[tuple[int, float]], higher: bool = False) -> tuple[int, float] | None:
    """(epoch, value) of the best of the (epoch, value) `points`: the lowest value (an MSE), or
    the highest with `higher` (a PSNR); of equal values, the earliest epoch. None without points.

    The one judge of "best epoch", so the chart's headline, the status line, the Runs listing
    and the trainer's final line can never name different epochs for the same run.
    """
    best: tuple[int, float] | None = None
    for epoch, value in points:
        if best is None or (value > best[1] if higher else value < best[1]) or (value == best[1] and epoch < best[0]):
            best = (epoch, value)
    return best
