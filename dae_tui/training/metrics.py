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

__all__ = [
    "SSIM_SIGMA",
    "SSIM_WINDOW",
    "class_means",
    "per_class_scores",
    "per_image_mse",
    "per_image_ssim",
    "psnr_from_mse",
]


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


def class_means(values: torch.Tensor, labels: torch.Tensor, classes: int) -> list[float | None]:
    """The mean of `values` (N,) over each class 0 .. `classes` - 1 of `labels` (N,); None for a
    class with no images. Two scatter-adds and one copy to the host, however many classes."""
    import torch

    keep = (labels >= 0) & (labels < classes)  # a label past the dataset's classes counts in none
    values, labels = values.float()[keep], labels[keep]
    sums = torch.zeros(classes, dtype=torch.float32, device=values.device).index_add_(0, labels, values)
    counts = torch.bincount(labels, minlength=classes)[:classes].to(values.device)
    means = (sums / counts.clamp(min=1)).tolist()
    return [m if n else None for m, n in zip(means, counts.tolist(), strict=True)]


def per_class_scores(
    per_mse: torch.Tensor, per_ssim: torch.Tensor, labels: torch.Tensor, classes: int = 10
) -> tuple[tuple[float | None, ...], tuple[float | None, ...]]:
    """(PSNR in dB of each class's mean MSE, each class's mean SSIM) from the per-image scores
    the evaluation already has: the class's PSNR is the test PSNR's own rule (10 log10(1 / mean
    MSE)) applied to that class's images alone. None for a class absent from `labels`."""
    mse = class_means(per_mse, labels, classes)
    ssim = class_means(per_ssim, labels, classes)
    return tuple(None if m is None else psnr_from_mse(m) for m in mse), tuple(ssim)
