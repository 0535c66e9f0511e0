"""The reference: the original notebook's training loop, kept as it was, for the benchmark to beat.

torchvision's dataset class with `ToTensor` (a PIL image per sample), `DataLoader(batch_size=64,
shuffle=True)`, the conv autoencoder as the notebook defines it (plain `nn.Sequential`, NCHW,
default float32), noise `img + 0.5 * randn` per batch, `nn.MSELoss`, Adam 1e-3 / 1e-5 and
`loss.item()` after every step. Nothing here may be optimised: it is the yardstick.

The data comes from the same uint8 tensors the engine trains on, written out as the four IDX files
torchvision's `MNIST`/`FashionMNIST` read, so both sides see exactly the same images.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

import torch
from torch import nn

__all__ = ["NotebookAutoencoder", "reference_epochs", "write_torchvision_root"]

_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class NotebookAutoencoder(nn.Module):
    """The notebook's model, verbatim in structure (and so in parameter names and initialisation)."""

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def _idx(tensor: torch.Tensor, magic: int) -> bytes:
    shape = tuple(tensor.shape)
    return struct.pack(">i", magic) + struct.pack(f">{len(shape)}I", *shape) + tensor.numpy().tobytes()


def write_torchvision_root(
    root: Path, dataset: str, train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor]
) -> Path:
    """Write (images uint8, labels) pairs where torchvision's dataset class looks for them."""
    raw = root / _FOLDER[dataset] / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, (images, labels) in (("train", train), ("test", test)):
        images_stem, labels_stem = _STEMS[split]
        (raw / images_stem).write_bytes(_idx(images.to(torch.uint8).contiguous(), 2051))
        (raw / labels_stem).write_bytes(_idx(labels.to(torch.uint8).contiguous(), 2049))
    return root


def reference_epochs(
    root: Path, dataset: str, epochs: int = 1, device: str = "cpu", noise_factor: float = 0.5, seed: int = 0
) -> list[float]:
    """Train the notebook's way for `epochs`; returns each epoch's wall seconds."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[dataset]
    train_set = cls(str(root), train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(train_set, batch_size=64, shuffle=True)
    model = NotebookAutoencoder().to(device)
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        running = 0.0
        for img, _ in loader:
            img = img.to(device)
            noisy = img + noise_factor * torch.randn(*img.shape, device=device)
            output = model(noisy)
            loss = criterion(output, img)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item()
        seconds.append(time.perf_counter() - start)
    return seconds
