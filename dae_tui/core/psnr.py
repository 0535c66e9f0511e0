"""PSNR from MSE: plain arithmetic, so the chart, the listing and the trainer compute it alike
without torch. Imports only the standard library."""

from __future__ import annotations

import math

__all__ = ["MIN_MSE", "psnr_from_mse"]

MIN_MSE = 1e-10
"""Identical images would be an infinite PSNR; it is capped at 100 dB."""


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB for images with peak value 1: 10 * log10(1 / mse)."""
    return 10.0 * math.log10(1.0 / max(mse, MIN_MSE))
