"""The events a training run yields: plain frozen dataclasses, no torch tensors inside.

The headless CLI and the dashboard's worker consume the same stream; nothing here knows about
either. Pictures travel as `Picture` (uint8 bytes), so the UI never needs torch to draw them.

Imports only the standard library and `dae_tui.core.config`: no torch, textual, rich or optuna.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Union

from dae_tui.core.config import TrainConfig

__all__ = [
    "BatchProgress",
    "EpochEnd",
    "Event",
    "Notice",
    "Paused",
    "Picture",
    "Resumed",
    "RunFailed",
    "RunFinished",
    "RunStarted",
    "RunStopped",
    "Samples",
]


@dataclass(frozen=True)
class RunStarted:
    """Data is loaded, the model built; training is about to begin."""

    config: TrainConfig
    """The resolved config (for a resumed run, the checkpoint's, with any allowed overrides)."""
    run_dir: str
    """The folder holding config.json, metrics.jsonl and checkpoint.pt."""
    source: str
    """Data source used: local, download or bundled."""
    source_detail: str
    """Where exactly the data came from."""
    dataset_label: str
    """The dataset's name as every output shows it: says so when it is the bundled sample."""
    device: str
    """The torch device the run trains on, e.g. 'cpu' or 'cuda:0'."""
    train_size: int
    """Training images used (after `train_limit`)."""
    test_size: int
    """Held-out test images every epoch is measured on."""
    batches_per_epoch: int
    """Training steps in one epoch."""
    start_epoch: int
    """The first epoch this run will train: 1, or the one after the checkpoint when resuming."""
    parameters: int
    """Trainable parameters in the model."""
    threads: int
    """CPU threads torch uses in the training thread."""
    resumed_from: str | None = None
    """The checkpoint this run continues, if any."""
    earlier: tuple[tuple[int, float, float], ...] = ()
    """(epoch, train MSE, test MSE) of the epochs a resumed run already finished."""
    start_batch: int = 0
    """Batches of `start_epoch` already trained: > 0 when a resume continues a mid-epoch
    checkpoint (partial.pt) after that batch; 0 when the epoch starts from its first batch."""


@dataclass(frozen=True)
class Notice:
    """Something worth a line in a log: a fallback taken, a setting adjusted."""

    text: str


@dataclass(frozen=True)
class BatchProgress:
    """Progress within an epoch; yielded at most about ten times a second."""

    epoch: int
    epochs: int
    batch: int
    """Batches finished in this epoch (1-based count)."""
    batches: int
    train_mse: float
    """Mean training MSE over this epoch's batches so far."""
    images_per_s: float
    """Training throughput in this epoch so far (paused time excluded)."""
    eta_s: float | None
    """Estimated seconds until the last epoch ends, from the recent pace (`pace.Pace`); None until
    that pace has settled (about half a second into the run)."""


@dataclass(frozen=True)
class EpochEnd:
    """One finished epoch, measured on the whole test split with fixed noise."""

    epoch: int
    epochs: int
    train_mse: float
    """Mean training loss over the epoch's batches."""
    test_mse: float
    """Mean MSE of denoised test images against clean ones."""
    test_psnr: float
    """PSNR (dB) of the denoised test set: 10 log10(1 / test_mse)."""
    noisy_psnr: float
    """PSNR (dB) of the clamped noisy test inputs: the bar the model must beat."""
    test_ssim: float
    """Mean SSIM of the denoised test images against the clean ones (1 is identical)."""
    noisy_ssim: float
    """Mean SSIM of the clamped noisy test inputs."""
    seconds: float
    """Wall seconds of the epoch, training and evaluation, paused time excluded."""
    images_per_s: float
    """Training images per second in this epoch."""
    checkpoint: str
    """Path of the checkpoint written after this epoch."""
    device_name: str = ""
    """What trained the epoch: 'cpu', 'mps' or the CUDA device's name ('NVIDIA H200'); '' where
    it is not known (records written before it was kept)."""
    peak_memory_mb: float | None = None
    """Peak memory of the epoch in MiB: on CUDA the most torch allocated during this epoch; on the
    CPU this process's peak RSS, its high-water mark since it started, not the epoch's. None where
    it is not known."""
    class_psnr: tuple[float | None, ...] = ()
    """Test PSNR (dB) of each class's images (10 classes: digits 0-9, or Fashion-MNIST's in
    `CLASS_NAMES` order), from the same evaluation; None for a class without test images, and
    empty in records written before it was kept."""
    class_ssim: tuple[float | None, ...] = ()
    """Mean test SSIM of each class's images, likewise."""

    def to_json(self, dataset: str, source: str) -> dict[str, Any]:
        """The per-epoch record (`--json` and metrics.jsonl); says when data is the offline sample."""
        record = asdict(self)
        for key in ("class_psnr", "class_ssim"):
            record[key] = [None if v is None else round(v, 4) for v in record[key]]
        record.update(dataset=dataset, source=source, offline_sample=source == "bundled")
        return record


@dataclass(frozen=True)
class Picture:
    """A grayscale image: `pixels` is `width * height` uint8 bytes, row-major."""

    width: int
    height: int
    pixels: bytes

    def at(self, x: int, y: int) -> int:
        """The 0-255 value at column x, row y."""
        return self.pixels[y * self.width + x]


@dataclass(frozen=True)
class Samples:
    """Fixed test images after an epoch (epoch 0: before training): clean, noisy, denoised."""

    epoch: int
    indices: tuple[int, ...]
    """Positions of the images in the test split."""
    labels: tuple[int, ...]
    clean: tuple[Picture, ...]
    noisy: tuple[Picture, ...]
    """The noisy inputs, clamped to [0, 1] for display."""
    denoised: tuple[Picture, ...]
    noisy_psnr: tuple[float, ...]
    """Per-image PSNR (dB) of the noisy input."""
    denoised_psnr: tuple[float, ...]
    """Per-image PSNR (dB) of the model's output."""
    noisy_ssim: tuple[float, ...] = ()
    """Per-image SSIM of the noisy input (empty for runs saved before SSIM was measured)."""
    denoised_ssim: tuple[float, ...] = ()
    """Per-image SSIM of the model's output (empty likewise)."""


@dataclass(frozen=True)
class Paused:
    """The run is holding between batches until resumed or stopped."""

    epoch: int
    batch: int


@dataclass(frozen=True)
class Resumed:
    """The run goes on after a pause."""

    epoch: int
    batch: int


@dataclass(frozen=True)
class RunFinished:
    """Every epoch trained."""

    run_dir: str
    epochs: int
    best_test_mse: float | None


@dataclass(frozen=True)
class RunStopped:
    """Stopped on request; the checkpoint of the last finished epoch is kept, and (`batch` > 0)
    the epoch in progress as far as it went, in a mid-epoch checkpoint a resume continues."""

    run_dir: str | None
    last_epoch: int
    """The last finished epoch (0: none finished)."""
    batch: int = 0
    """Batches of epoch `last_epoch` + 1 kept in the mid-epoch checkpoint (0: none kept, a resume
    starts that epoch from its first batch)."""
    batches: int = 0
    """Batches in an epoch (0: not known)."""


@dataclass(frozen=True)
class RunFailed:
    """The run could not go on; `message` is one line."""

    message: str
    run_dir: str | None
    usage: bool = False
    """True when the request itself was bad (a config or source that cannot apply)."""


Event = Union[
    RunStarted,
    Notice,
    BatchProgress,
    EpochEnd,
    Samples,
    Paused,
    Resumed,
    RunFinished,
    RunStopped,
    RunFailed,
]
"""Anything a run yields."""
