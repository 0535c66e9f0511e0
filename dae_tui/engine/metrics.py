"""Image-quality metrics for images in [0, 1].

Imports nothing at module level beyond the standard library (torch only for type checking),
so the UI can use `psnr_from_mse` before torch has loaded. Never textual or rich.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["per_image_mse", "psnr_from_mse"]

_MIN_MSE = 1e-10  # identical images would be an infinite PSNR; cap it at 100 dB


def per_image_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each image: (B, ...) x (B, ...) -> (B,) in float32."""
    diff = a.float() - b.float()
    return diff.pow(2).flatten(1).mean(dim=1)


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB for images with peak value 1: 10 * log10(1 / mse)."""
    return 10.0 * math.log10(1.0 / max(mse, _MIN_MSE))
