"""Each model, registered once and without torch: what it is and every layer with weights.

`MODEL_SPECS` names the models. A `ModelSpec` gives the description the form and `--help` show and
the model's weighted layers with their figures (channels, kernel, stride, padding, bias), keyed by
where they sit in the built module (the state dict's prefixes: `encoder.0`, `enc14.1.0`) and in
the order they are built, which is the order torch's RNG draws their initial weights in. The
parameter count the form and `dae-tui runs` show is computed from those figures, and
`dae_tui.training.models` builds its layers from the same ones, so the two cannot drift apart (a
test still holds the count to the built model).

A new model is one `ModelSpec` here and its class in `dae_tui.training.models` (its forward pass,
registered under the same name).

Imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["MODEL_SPECS", "Layer", "ModelSpec"]


@dataclass(frozen=True)
class Layer:
    """One layer with weights: a 2-D convolution, a transposed one, or a batch norm."""

    kind: Literal["conv", "conv_t", "norm"]
    in_channels: int
    out_channels: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    output_padding: int = 0
    """Only for `conv_t`."""
    bias: bool = True

    @property
    def parameters(self) -> int:
        """Its trainable parameters: a square kernel per (in, out) channel pair and a bias per
        out channel; a batch norm's weight and bias (its running statistics are buffers)."""
        if self.kind == "norm":
            return 2 * self.out_channels
        weights = self.in_channels * self.out_channels * self.kernel * self.kernel
        return weights + (self.out_channels if self.bias else 0)


def conv(cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0, bias: bool = True) -> Layer:
    return Layer("conv", cin, cout, kernel, stride, padding, bias=bias)


def conv_t(cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0) -> Layer:
    return Layer("conv_t", cin, cout, kernel, stride, padding, output_padding)


def norm(channels: int) -> Layer:
    return Layer("norm", channels, channels)


@dataclass(frozen=True)
class ModelSpec:
    """One model: what it is, and its weighted layers by their place in the module, in build order."""

    description: str
    layers: Mapping[str, Layer]

    @property
    def parameters(self) -> int:
        """Its trainable parameters, from its layers' figures."""
        return sum(layer.parameters for layer in self.layers.values())


def _block(name: str, cin: int, cout: int, stride: int = 1) -> dict[str, Layer]:
    """The U-Net's inner 3x3 step: a conv without bias (the norm has one), then a batch norm."""
    return {f"{name}.0": conv(cin, cout, 3, stride, padding=1, bias=False), f"{name}.1": norm(cout)}


MODEL_SPECS: dict[str, ModelSpec] = {
    "seed": ModelSpec(
        "reference conv autoencoder 1-16-32-64 down to a 64-number latent",
        {
            "encoder.0": conv(1, 16, 3, stride=2, padding=1),  # 28 -> 14
            "encoder.2": conv(16, 32, 3, stride=2, padding=1),  # 14 -> 7
            "encoder.4": conv(32, 64, 7),  # 7 -> 1: the latent
            "decoder.0": conv_t(64, 32, 7),
            "decoder.2": conv_t(32, 16, 3, stride=2, padding=1, output_padding=1),
            "decoder.4": conv_t(16, 1, 3, stride=2, padding=1, output_padding=1),
        },
    ),
    "unet": ModelSpec(
        "small U-Net at 14x14 and 7x7 with skips, BatchNorm and its own lr schedule: +1 dB",
        {
            "stem": conv(4, 16, 3, padding=1),  # on the pixel-unshuffled 4x14x14
            **_block("enc14.0", 16, 16),
            **_block("enc14.1", 16, 16),
            **_block("down", 16, 32, stride=2),  # 14 -> 7
            **_block("enc7", 32, 32),
            "to_latent": conv(32, 64, 7),  # 7 -> 1
            "from_latent": conv_t(64, 32, 7),  # 1 -> 7
            **_block("dec7", 32, 32),
            "up": conv_t(32, 16, 3, stride=2, padding=1, output_padding=1),  # 7 -> 14
            **_block("dec14.0", 16, 16),
            **_block("dec14.1", 16, 16),
            "head": conv(16, 4, 3, padding=1),  # pixel-shuffled back to 1x28x28
        },
    ),
}
"""The models by name, in the order the form lists them."""
