"""Denoising models, by name.

The contract every model keeps:

- `forward(x)` maps a (B, 1, 28, 28) float batch (noisy, roughly [0, 1]) to a (B, 1, 28, 28) batch
  in [0, 1], and equals `decode(encode(x))`.
- `encode(x)` returns whatever `decode` needs: the seed model's 64-number latent, or for a model
  without a bottleneck the features it carries across (a U-Net's skip features, as a tuple).
- Optionally `lr_factor(epoch, epochs) -> float`: the model's own learning-rate schedule, a
  multiplier on the configured rate for that (1-based) epoch, applied by the trainer each epoch.
- Same class on every device; a state dict saved on one loads on another.

A new model is its `ModelSpec` in `dae_tui.core.architectures.MODEL_SPECS` (description and
weighted layers, from which the parameter count is computed) plus its class here, `@registered`
under the same name; each class builds its layers from its spec's figures (`build_layers`), and a
test holds the count and every layer to the built model.

May import torch; never textual, rich or optuna.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from dae_tui.core.architectures import MODEL_SPECS, Layer

__all__ = ["MODELS", "SeedAutoencoder", "UNet", "build_layers", "build_model", "count_parameters"]

MODELS: dict[str, Callable[[], nn.Module]] = {}
"""Model constructors by name, filled by `registered`: a name of `MODEL_SPECS` each (a test holds
the two to the same names)."""


def registered(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Register the class decorated as the model `name` of `MODEL_SPECS`."""
    if name not in MODEL_SPECS:
        raise KeyError(f"model {name!r} has no ModelSpec in dae_tui.core.architectures.MODEL_SPECS")

    def register(cls: type[nn.Module]) -> type[nn.Module]:
        MODELS[name] = cls
        return cls

    return register


def _layer(layer: Layer) -> nn.Module:
    if layer.kind == "norm":
        return nn.BatchNorm2d(layer.out_channels)
    if layer.kind == "conv_t":
        return nn.ConvTranspose2d(
            layer.in_channels,
            layer.out_channels,
            layer.kernel,
            stride=layer.stride,
            padding=layer.padding,
            output_padding=layer.output_padding,
            bias=layer.bias,
        )
    return nn.Conv2d(
        layer.in_channels, layer.out_channels, layer.kernel, stride=layer.stride, padding=layer.padding, bias=layer.bias
    )


def build_layers(name: str) -> dict[str, nn.Module]:
    """The weighted layers of model `name` by their place, freshly initialised in `MODEL_SPECS`'s
    order (torch's global RNG draws their weights in it)."""
    return {place: _layer(layer) for place, layer in MODEL_SPECS[name].layers.items()}


def full_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """`conv(x)` for a kernel as large as its input (7x7 on 7x7): one matrix product, (B, out, 1, 1).

    The same sums as the convolution, but on CPU this is much faster than the oneDNN convolution
    and its backward (benchmarks/NOTES.md, "The 7x7 layers as one matrix product each").
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
    out = torch.addmm(conv.bias.repeat(kh * kw), z.reshape(z.shape[0], c_in), w.permute(0, 2, 3, 1).reshape(c_in, -1))
    return out.view(-1, kh, kw, c_out).permute(0, 3, 1, 2)


@registered("seed")
class SeedAutoencoder(nn.Module):
    """The reference conv autoencoder: 1->16->32->64 channels down to a 64x1x1 latent, mirrored up.

    Encoder: 3x3 stride-2 (28->14), 3x3 stride-2 (14->7), 7x7 (7->1). The decoder mirrors it with
    ConvTranspose layers and ends in Sigmoid. 210,369 parameters.
    """

    def __init__(self) -> None:
        super().__init__()
        layer = build_layers("seed")
        self.encoder = nn.Sequential(
            layer["encoder.0"],  # Conv2d(1, 16, 3, stride=2, padding=1)
            nn.ReLU(),
            layer["encoder.2"],  # Conv2d(16, 32, 3, stride=2, padding=1)
            nn.ReLU(),
            layer["encoder.4"],  # Conv2d(32, 64, 7)
        )
        self.decoder = nn.Sequential(
            layer["decoder.0"],  # ConvTranspose2d(64, 32, 7)
            nn.ReLU(),
            layer["decoder.2"],  # ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1)
            nn.ReLU(),
            layer["decoder.4"],  # ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1)
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
        return full_conv(h, cast(nn.Conv2d, e[4]))  # Sequential's items are typed as any Module

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, 64, 1, 1) latents to (B, 1, 28, 28) images in [0, 1]."""
        if not self.lowered:
            return self.decoder(z)
        d = self.decoder
        h = F.relu(full_conv_transpose(z, cast(nn.ConvTranspose2d, d[0])), inplace=True)
        h = F.relu(d[2](h), inplace=True)
        return torch.sigmoid(d[4](h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


@registered("unet")
class UNet(nn.Module):
    """A small U-Net denoiser at 14x14 and 7x7 that keeps the seed's 1x1 global latent too.

    Encoder: pixel-unshuffle 1x28x28 -> 4x14x14 (no detail lost, unlike a stride-2 stem); 3x3 conv
    4->16; two 3x3 16->16; 3x3 stride-2 16->32 to 7x7; one 3x3 32->32; a 7x7 conv 32->64 to the
    1x1 latent. Decoder: 7x7 transposed conv 64->32 back to 7x7, plus the encoder's 7x7 features;
    one 3x3 32->32; 3x3 stride-2 transposed conv 32->16 to 14x14, plus the encoder's 14x14
    features; two 3x3 16->16; 3x3 conv 16->4, pixel-shuffle to 1x28x28, Sigmoid. Every inner 3x3
    conv is conv (no bias) + BatchNorm + ReLU; the skips add (as good as concatenating, cheaper).
    The 7x7 layers run as matrix products, as the seed's do. 239,172 parameters.

    Carries its own schedule, `lr_factor`: twice the configured rate in epoch 1, cosine down to
    ~0 by the last epoch (+0.15 dB at 10 epochs).

    Chosen by benchmarks/unet_search.py (full Fashion-MNIST, defaults but the model, 10 epochs):
    about 1 dB more test PSNR than the seed's, the best of the candidates whose CPU training pass
    stayed within 3x the seed's. The figures and the search's 19 candidates are in
    benchmarks/NOTES.md.
    """

    def __init__(self) -> None:
        super().__init__()
        layer = build_layers("unet")

        def block(place: str) -> nn.Sequential:
            """3x3 conv (no bias) then BatchNorm: `place`.0 and `place`.1."""
            return nn.Sequential(layer[f"{place}.0"], layer[f"{place}.1"])

        self.stem = layer["stem"]  # Conv2d(4, 16, 3, padding=1)
        self.enc14 = nn.ModuleList([block("enc14.0"), block("enc14.1")])  # 16 -> 16
        self.down = block("down")  # 16 -> 32, stride 2
        self.enc7 = block("enc7")  # 32 -> 32
        self.to_latent = cast(nn.Conv2d, layer["to_latent"])  # Conv2d(32, 64, 7)
        self.from_latent = cast(nn.ConvTranspose2d, layer["from_latent"])  # ConvTranspose2d(64, 32, 7)
        self.dec7 = block("dec7")  # 32 -> 32
        self.up = layer["up"]  # ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1)
        self.dec14 = nn.ModuleList([block("dec14.0"), block("dec14.1")])  # 16 -> 16
        self.head = layer["head"]  # Conv2d(16, 4, 3, padding=1)

    @staticmethod
    def lr_factor(epoch: int, epochs: int) -> float:
        """The multiplier on the configured rate in 1-based `epoch` of `epochs`: 2 at epoch 1,
        cosine down towards 0 (0.05 in the last of 10 epochs)."""
        return 1.0 + math.cos(math.pi * (epoch - 1) / epochs)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 1, 28, 28) -> (14x14 features (B, 16, 14, 14), 7x7 features (B, 32, 7, 7),
        latent (B, 64, 1, 1))."""
        h = F.relu(self.stem(F.pixel_unshuffle(x, 2)), inplace=True)
        for layer in self.enc14:
            h = F.relu(layer(h), inplace=True)
        f7 = F.relu(self.enc7(F.relu(self.down(h), inplace=True)), inplace=True)
        return h, f7, full_conv(f7, self.to_latent)

    def decode(self, features: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """`encode`'s (14x14 features, 7x7 features, latent) -> (B, 1, 28, 28) images in [0, 1]."""
        f14, f7, z = features
        h = F.relu(full_conv_transpose(z, self.from_latent), inplace=True) + f7
        h = F.relu(self.dec7(h), inplace=True)
        h = F.relu(self.up(h), inplace=True) + f14
        for layer in self.dec14:
            h = F.relu(layer(h), inplace=True)
        return torch.sigmoid(F.pixel_shuffle(self.head(h), 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def build_model(name: str) -> nn.Module:
    """A freshly initialised model (torch's global RNG decides the weights: seed it first)."""
    return MODELS[name]()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
