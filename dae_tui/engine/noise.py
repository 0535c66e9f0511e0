"""Noise kinds: functions that corrupt a batch of clean images in [0, 1].

Each kind takes the clean batch, the strength factor and a torch.Generator on the batch's device,
so the same generator state always gives the same noise (resume and fixed test noise rely on it).
New kinds (salt-and-pepper, speckle, masking) are added to `NOISES` by name; the config lists the
names in `dae_tui.config.NOISE_KINDS`.

May import torch; never textual or rich.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["NOISES", "NoiseFn", "add_noise", "gaussian"]

NoiseFn = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]


def gaussian(clean: torch.Tensor, factor: float, generator: torch.Generator) -> torch.Tensor:
    """The reference noise: clean + randn * factor (not clamped)."""
    noise = torch.randn(clean.shape, generator=generator, device=clean.device, dtype=clean.dtype)
    return noise.mul_(factor).add_(clean)  # clean + noise * factor, without two temporaries


NOISES: dict[str, NoiseFn] = {"gaussian": gaussian}
"""Noise functions by name."""


def add_noise(
    clean: torch.Tensor, kind: str, factor: float, generator: torch.Generator, clamp: bool = False
) -> torch.Tensor:
    """Corrupt `clean` with noise `kind`; with `clamp`, the result is clipped to [0, 1]."""
    noisy = NOISES[kind](clean, factor, generator)
    return noisy.clamp_(0.0, 1.0) if clamp else noisy
