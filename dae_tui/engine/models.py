"""Denoising models, by name.

Every model maps a (B, 1, 28, 28) float batch in roughly [0, 1] to a (B, 1, 28, 28) batch in
[0, 1] and has `encode` / `decode`. New architectures (a U-Net, say) are added to `MODELS`; the
config lists the names in `dae_tui.config.MODELS`.

May import torch; never textual or rich.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["MODELS", "SeedAutoencoder", "build_model", "count_parameters"]


class SeedAutoencoder(nn.Module):
    """The reference conv autoencoder: 1->16->32->64 channels down to a 64x1x1 latent, mirrored up.

    Encoder: 3x3 stride-2 (28->14), 3x3 stride-2 (14->7), 7x7 (7->1). The decoder mirrors it with
    ConvTranspose layers and ends in Sigmoid. 210,369 parameters.
    """

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 7),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 7),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),
            nn.Sigmoid(),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) images to (B, 64, 1, 1) latents."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, 64, 1, 1) latents to (B, 1, 28, 28) images in [0, 1]."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


MODELS: dict[str, Callable[[], nn.Module]] = {"seed": SeedAutoencoder}
"""Model constructors by name."""


def build_model(name: str) -> nn.Module:
    """A freshly initialised model (torch's global RNG decides the weights: seed it first)."""
    return MODELS[name]()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
