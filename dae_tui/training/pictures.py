"""Any picture file as the models see their data: 28x28 grayscale, a light figure on black.

    image = fit_picture(Image.open("digit.png"))        # (1, 1, 28, 28) float in [0, 1]
    save_picture(tensor, "out.png", scale=4)

`fit_picture` does what MNIST's makers did to their digits: grayscale (colour by luminance, a
transparent background as white), inverted when the background is light (the datasets draw light
on black), cropped to the figure, its longer side scaled to 20 pixels and centred in 28x28.

May import torch, Pillow (which torchvision brings) and `dae_tui.core`; never textual, rich or
optuna.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import IO

import torch
from PIL import Image

from dae_tui.core.config import ConfigError
from dae_tui.core.errors import DaeError

__all__ = ["MAX_PIXELS", "NotAPicture", "denoise", "fit_picture", "read_picture", "save_picture", "side_by_side"]

MAX_PIXELS = 40_000_000
"""Largest picture read (a 40-megapixel photo); past it Pillow would hold hundreds of MB."""

SIDE = 28
FIGURE = 20
"""The longer side of the figure inside the 28x28 frame, as in MNIST."""


WIDE_MODES = ("I", "F")
"""Pillow's modes for 16-bit (I;16, I;16B, ... open as or convert to I), 32-bit and float pixels:
`convert("L")` clips them at 255, so a 16-bit scan came out blank. Scaled by their own range."""


def _gray(image: Image.Image) -> torch.Tensor:
    """`image` as (H, W) float gray levels from 0 to 255."""
    width, height = image.size
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    if image.mode in WIDE_MODES:
        pixels = torch.frombuffer(bytearray(image.convert("F").tobytes()), dtype=torch.float32).view(height, width)
        pixels = torch.nan_to_num(pixels.double(), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = pixels.min(), pixels.max()
        scaled = (pixels - low) / (high - low) * 255.0 if high > low else torch.zeros_like(pixels)
        return scaled.float()
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info):
        backdrop = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(backdrop, image.convert("RGBA"))
    gray = image.convert("L")
    return torch.frombuffer(bytearray(gray.tobytes()), dtype=torch.uint8).view(height, width).float()


def fit_picture(image: Image.Image) -> torch.Tensor:
    """`image` (any size, mode) as a (1, 1, 28, 28) float tensor in [0, 1], figure light on black."""
    pixels = _gray(image)
    border = torch.cat([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.mean() > 127:
        pixels = 255.0 - pixels  # a dark figure on a light page: the datasets are the other way round
    ink = pixels > 0.25 * pixels.max() if pixels.max() > 0 else pixels > 0
    frame = torch.zeros(SIDE, SIDE)
    if not ink.any():
        return frame.view(1, 1, SIDE, SIDE)
    rows, cols = ink.any(dim=1).nonzero().flatten(), ink.any(dim=0).nonzero().flatten()
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    crop = pixels[top:bottom, left:right]
    scale = FIGURE / max(crop.shape)
    size = (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale)))
    resized = torch.nn.functional.interpolate(
        crop[None, None],
        size=size,
        mode="area" if scale < 1 else "bilinear",
        **({} if scale < 1 else {"align_corners": False}),
    )[0, 0]
    y, x = (SIDE - size[0]) // 2, (SIDE - size[1]) // 2
    frame[y : y + size[0], x : x + size[1]] = resized
    return (frame / 255.0).clamp(0.0, 1.0).view(1, 1, SIDE, SIDE)


def side_by_side(pictures: list[torch.Tensor], gap: int = 2) -> torch.Tensor:
    """(1, 1, 28, 28) pictures in a row with `gap` gray columns between: (1, 1, 28, W)."""
    spacer = torch.full((1, 1, SIDE, gap), 0.5)
    parts: list[torch.Tensor] = []
    for picture in pictures:
        if parts:
            parts.append(spacer)
        parts.append(picture.clamp(0.0, 1.0))
    return torch.cat(parts, dim=3)


def save_picture(picture: torch.Tensor, path: str | Path | IO[bytes], scale: int = 1) -> None:
    """A (1, 1, H, W) tensor in [0, 1] as a grayscale PNG, each pixel `scale` x `scale`, to a path
    or an open file (`atomic_write`'s temp file: a failed write must not leave half a PNG)."""
    data = (picture[0, 0].clamp(0.0, 1.0) * 255).round().to(torch.uint8)
    if scale > 1:
        data = data.repeat_interleave(scale, 0).repeat_interleave(scale, 1)
    height, width = data.shape
    Image.frombytes("L", (width, height), bytes(data.contiguous().flatten().tolist())).save(path, format="PNG")


class NotAPicture(ValueError, DaeError):
    """A file Pillow cannot read as a picture; `str()` is its first line of reason."""


def read_picture(source: Path) -> torch.Tensor:
    """The picture in `source`, fitted (`fit_picture`). Raises `ConfigError` for one larger than
    `MAX_PIXELS` and `NotAPicture` (the library's first line) for anything Pillow cannot read,
    a decompression bomb included."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ConfigError(f"{source}: {image.width}x{image.height} is more than {MAX_PIXELS:,} pixels")
                image.load()
                return fit_picture(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise NotAPicture((str(error).strip().splitlines() or [type(error).__name__])[0]) from None


def denoise(model: torch.nn.Module, noisy: torch.Tensor) -> torch.Tensor:
    """The model's picture for `noisy`, on the CPU, without autograd."""
    with torch.inference_mode():
        return model(noisy.to(next(model.parameters()).device)).cpu()
