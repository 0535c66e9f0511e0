"""The fixed test images shown after each epoch, turned into plain `Picture`s.

May import torch, `dae_tui.core` and `dae_tui.runs`; never textual, rich or optuna.
"""

from __future__ import annotations

import torch

from dae_tui.core.events import Picture, Samples
from dae_tui.training.metrics import per_image_mse, per_image_ssim, psnr_from_mse

__all__ = ["make_samples", "pick_sample_indices", "to_pictures"]


def pick_sample_indices(labels: torch.Tensor, count: int = 8) -> list[int]:
    """The first test image of each class 0, 1, 2, ... up to `count`; topped up in order."""
    picked: list[int] = []
    for label in range(count):
        hits = (labels == label).nonzero()
        if len(hits):
            picked.append(int(hits[0]))
    for i in range(len(labels)):
        if len(picked) >= count:
            break
        if i not in picked:
            picked.append(i)
    return picked[:count]


def to_pictures(images: torch.Tensor) -> tuple[Picture, ...]:
    """(B, 1, H, W) floats in [0, 1] to uint8 `Picture`s."""
    data = images.detach().float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8).cpu()
    height, width = data.shape[-2:]
    return tuple(Picture(int(width), int(height), bytes(img.flatten().tolist())) for img in data)


def make_samples(
    epoch: int, indices: list[int], labels: list[int], clean: torch.Tensor, noisy: torch.Tensor, denoised: torch.Tensor
) -> Samples:
    """The `Samples` of pictures `indices` (labels `labels`): `clean`, the model's input `noisy`
    (clamped here for display and scoring, as a viewer sees it) and its output `denoised`, all
    (B, 1, H, W) floats, with each picture's PSNR and SSIM against `clean`."""
    noisy = noisy.clamp(0.0, 1.0)
    return Samples(
        epoch=epoch,
        indices=tuple(indices),
        labels=tuple(labels),
        clean=to_pictures(clean),
        noisy=to_pictures(noisy),
        denoised=to_pictures(denoised),
        noisy_psnr=tuple(psnr_from_mse(m) for m in per_image_mse(noisy, clean).tolist()),
        denoised_psnr=tuple(psnr_from_mse(m) for m in per_image_mse(denoised, clean).tolist()),
        noisy_ssim=tuple(per_image_ssim(noisy, clean).tolist()),
        denoised_ssim=tuple(per_image_ssim(denoised, clean).tolist()),
    )
