"""Noise kinds: functions that corrupt a batch of clean images in [0, 1].

Each kind takes the clean batch, the strength factor and a torch.Generator on the batch's device,
so the same generator state always gives the same noise (resume and fixed test noise rely on it).
A new kind is one function in `NOISES` plus its facts (meaning of the factor, default, range) in
`dae_tui.core.config.NOISE_KINDS`.

May import torch; never textual, rich or optuna.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["NOISES", "NoiseFn", "add_noise", "gaussian", "mask", "poisson", "salt_pepper", "speckle"]

NoiseFn = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]


def gaussian(clean: torch.Tensor, factor: float, generator: torch.Generator) -> torch.Tensor:
    """The reference noise: clean + randn * factor (not clamped)."""
    noise = torch.randn(clean.shape, generator=generator, device=clean.device, dtype=clean.dtype)
    return noise.mul_(factor).add_(clean)  # clean + noise * factor, without two temporaries


def salt_pepper(clean: torch.Tensor, factor: float, generator: torch.Generator) -> torch.Tensor:
    """A fraction `factor` of the pixels set to 0 or 1, half each (one uniform draw decides both
    whether a pixel is hit and which way)."""
    u = torch.rand(clean.shape, generator=generator, device=clean.device, dtype=clean.dtype)
    salt = torch.where(u < factor, torch.ones_like(clean), clean)
    return torch.where(u < factor / 2, torch.zeros_like(clean), salt)


def speckle(clean: torch.Tensor, factor: float, generator: torch.Generator) -> torch.Tensor:
    """Multiplicative noise: clean + clean * randn * factor (black stays black)."""
    noise = torch.randn(clean.shape, generator=generator, device=clean.device, dtype=clean.dtype)
    return noise.mul_(factor).add_(1.0).mul_(clean)


def poisson(clean: torch.Tensor, factor: float, generator: torch.Generator) -> torch.Tensor:
    """Shot noise: a white pixel collects 1/factor^2 photons on average, so the noise's standard
    deviation there is `factor` (and sqrt(x) * factor at brightness x): larger is noisier."""
    photons = 1.0 / (factor * factor)
    return torch.poisson(clean * photons, generator=generator).div_(photons)


MASK_BLOCK = 2
"""Side in pixels of the square blocks `mask` drops."""


def mask(clean: torch.Tensor, factor: float, generator: torch.Generator) -> torch.Tensor:
    """A fraction `factor` of the 2x2 pixel blocks set to 0: an inpainting task."""
    *lead, height, width = clean.shape
    rows, cols = -(-height // MASK_BLOCK), -(-width // MASK_BLOCK)
    keep = torch.rand((*lead, rows, cols), generator=generator, device=clean.device) >= factor
    keep = keep.repeat_interleave(MASK_BLOCK, -2).repeat_interleave(MASK_BLOCK, -1)[..., :height, :width]
    return clean * keep.to(clean.dtype)


NOISES: dict[str, NoiseFn] = {
    "gaussian": gaussian,
    "salt-pepper": salt_pepper,
    "speckle": speckle,
    "poisson": poisson,
    "mask": mask,
}
"""Noise functions by name (the config's `NOISE_KINDS` says what each factor means and allows)."""


def add_noise(
    clean: torch.Tensor, kind: str, factor: float, generator: torch.Generator, clamp: bool = False
) -> torch.Tensor:
    """Corrupt `clean` with noise `kind`; with `clamp`, the result is clipped to [0, 1]."""
    noisy = NOISES[kind](clean, factor, generator)
    return noisy.clamp_(0.0, 1.0) if clamp else noisy
