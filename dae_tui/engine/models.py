"""Denoising models, by name.

Every model maps a (B, 1, 28, 28) float batch in roughly [0, 1] to a (B, 1, 28, 28) batch in
[0, 1] and has `encode` / `decode`. New architectures (a U-Net, say) are added to `MODELS`; the
config lists the names in `dae_tui.config.MODELS`.

May import torch; never textual or rich.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MODELS", "SeedAutoencoder", "build_model", "count_parameters"]


def full_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """`conv(x)` for a kernel as large as its input (7x7 on 7x7): one matrix product, (B, out, 1, 1).

    The same sums as the convolution, but on 2 CPU cores this takes half the time of the oneDNN
    convolution and its backward (0.31 ms against 0.57 ms a batch of 64, benchmarks/NOTES.md).
    """
    w = conv.weight  # (out, in, kh, kw); flattened in (h, w, c) order to match a channels-last x
    flat = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
    return F.linear(flat, w.permute(0, 2, 3, 1).reshape(w.shape[0], -1), conv.bias)[:, :, None, None]


def full_conv_transpose(z: torch.Tensor, conv: nn.ConvTranspose2d) -> torch.Tensor:
    """`conv(z)` for a transposed conv from a 1x1 input: one matrix product, (B, out, kh, kw).

    The result is channels-last in memory (the layout the next layers run fastest in on CPU).
    """
    w = conv.weight  # (in, out, kh, kw)
    c_in, c_out, kh, kw = w.shape
    assert conv.bias is not None
    out = torch.addmm(conv.bias.repeat(kh * kw), z.reshape(z.shape[0], c_in),
                      w.permute(0, 2, 3, 1).reshape(c_in, -1))
    return out.view(-1, kh, kw, c_out).permute(0, 3, 1, 2)


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

    lowered = True
    """Run the two 7x7 layers as matrix products (same parameters, same function; faster on CPU).

    encode/decode then run the Sequential's layers by hand, with in-place ReLUs; False runs the
    Sequentials as written (the plain yardstick). A test compares both in float64.
    """

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) images to (B, 64, 1, 1) latents."""
        if not self.lowered:
            return self.encoder(x)
        e = self.encoder
        h = F.relu(e[0](x), inplace=True)
        h = F.relu(e[2](h), inplace=True)
        return full_conv(h, e[4])

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, 64, 1, 1) latents to (B, 1, 28, 28) images in [0, 1]."""
        if not self.lowered:
            return self.decoder(z)
        d = self.decoder
        h = F.relu(full_conv_transpose(z, d[0]), inplace=True)
        h = F.relu(d[2](h), inplace=True)
        return torch.sigmoid(d[4](h))

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
