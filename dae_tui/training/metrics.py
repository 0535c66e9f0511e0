"""Image-quality metrics for images in [0, 1].

Torch is imported inside the functions (at module level only for the type checker).
`psnr_from_mse` is `dae_tui.core.psnr`'s, re-exported: the UI imports it from there, without
torch. May import torch and `dae_tui.core`; never textual, rich or optuna.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dae_tui.core.psnr import psnr_from_mse

if TYPE_CHECKING:
    import torch

__all__ = ["SSIM_SIGMA", "SSIM_WINDOW", "per_image_mse", "per_image_ssim", "psnr_from_mse"]


def per_image_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each image: (B, ...) x (B, ...) -> (B,) in float32."""
    diff = a.float() - b.float()
    return diff.pow(2).flatten(1).mean(dim=1)


SSIM_WINDOW = 11
"""Side of SSIM's Gaussian window, as in Wang et al. (2004) and every common implementation."""
SSIM_SIGMA = 1.5
"""Standard deviation of that window."""
_SSIM_C1 = 0.01**2  # (K1 * data range)^2 with K1 = 0.01 and images in [0, 1]
_SSIM_C2 = 0.03**2  # (K2 * data range)^2 with K2 = 0.03


def per_image_ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Structural similarity of each image pair, (B, 1, H, W) x (B, 1, H, W) -> (B,), images in [0, 1].

    The standard definition (Wang et al. 2004): an 11x11 Gaussian window of sigma 1.5, K1 0.01,
    K2 0.03, no padding (the mean over the valid 18x18 window positions of a 28x28 image); the
    same figures as pytorch-msssim's `ssim(size_average=False)`, which a test holds it to. Ours
    because it is faster: the five local statistics go through the separable
    window as five channels of one grouped convolution each way, not five convolutions of one
    channel (benchmarks/NOTES.md, "SSIM every epoch").
    """
    import torch
    import torch.nn.functional as F

    a, b = a.float(), b.float()
    centre = torch.arange(SSIM_WINDOW, dtype=torch.float32, device=a.device) - SSIM_WINDOW // 2
    gauss = torch.exp(-(centre**2) / (2 * SSIM_SIGMA**2))
    gauss = gauss / gauss.sum()
    maps = torch.cat([a, b, a * a, b * b, a * b], dim=1)
    across = gauss.view(1, 1, 1, -1).repeat(5, 1, 1, 1)
    down = gauss.view(1, 1, -1, 1).repeat(5, 1, 1, 1)
    mu_a, mu_b, aa, bb, ab = F.conv2d(F.conv2d(maps, across, groups=5), down, groups=5).unbind(1)
    mu_aa, mu_bb, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    contrast_structure = (2 * (ab - mu_ab) + _SSIM_C2) / ((aa - mu_aa) + (bb - mu_bb) + _SSIM_C2)
    luminance = (2 * mu_ab + _SSIM_C1) / (mu_aa + mu_bb + _SSIM_C1)
    return (luminance * contrast_structure).flatten(1).mean(dim=1)
