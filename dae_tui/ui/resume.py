"""What the dashboard shows about a run before it resumes it: read from the run folder, no torch.

`ResumeInfo.read()` judges a `--resume` path at launch, so a bad one is one line and exit 2
before the dashboard opens (as `dae-tui train --resume` does), and gives the run's config and
finished epochs for the chart and the status line before Start is pressed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dae_tui.core.config import ConfigError, TrainConfig
from dae_tui.core.formatting import plural
from dae_tui.core.psnr import best_epoch
from dae_tui.runs.files import CHECKPOINT_NAME, NoCheckpoint, find_checkpoint, load_run_config

__all__ = ["ResumeInfo"]


@dataclass(frozen=True)
class ResumeInfo:
    """A run folder that Start will continue."""

    path: str
    """The run folder."""
    config: TrainConfig
    """The run's own config (its recipe is fixed on resume)."""
    points: tuple[tuple[int, float, float], ...]
    """(epoch, train MSE, test MSE) of its finished epochs."""
    status: str = "stopped"
    """Its status in the run store (stopped, interrupted, failed, finished, pruned), shown as
    the state until Start continues it."""
    ssim: float | None = None
    """The test SSIM of its last finished epoch."""

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ResumeInfo:
        """The run at `path` (a run folder or its checkpoint file); `ConfigError` in one line when
        there is no checkpoint or config there."""
        given = Path(path).expanduser()
        # The folder's checkpoint by the trainer's own rule; a path that is not there stands for
        # the folder it would be in.
        folder = given if given.is_dir() else given.parent
        try:
            has_run = find_checkpoint(folder) == folder / CHECKPOINT_NAME
        except NoCheckpoint as missing:
            # A run folder killed before its first checkpoint (config.json only) starts over, as
            # the engine does with it; anything else without a checkpoint holds no run.
            has_run = given.is_dir() and missing.config_folder is not None
        if not has_run or (given.is_file() and given.name != CHECKPOINT_NAME):
            raise NoCheckpoint.at(f"--resume {path}")  # named as typed
        config = load_run_config(folder)
        from dae_tui.runs.info import read_run  # the run store's reading of metrics.jsonl

        run = read_run(folder)
        if run is not None and run.status == "suspended":  # Start would be refused: say so now
            raise ConfigError(f"--resume {path}: {run.message}")
        if run is None:
            return cls(str(folder.resolve()), config, ())
        return cls(str(folder.resolve()), config, run.curve, run.status, run.last_test_ssim)

    @property
    def name(self) -> str:
        """The run folder's name."""
        return os.path.basename(self.path)

    @property
    def epochs_done(self) -> int:
        return self.points[-1][0] if self.points else 0

    @property
    def best(self) -> tuple[int, float] | None:
        """(epoch, test MSE) of the best finished epoch."""
        return best_epoch((epoch, mse) for epoch, _, mse in self.points)

    def finished_hint(self) -> str:
        return (
            f"{self.name} has finished all {plural(self.epochs_done, 'epoch')}: "
            "raise Epochs to train it longer, or press N for a new run"
        )

    def status_line(self, epochs: int | None = None) -> str:
        """'resuming <run> at epoch N/M: s continues' (M: the form's epochs when given)."""
        total = epochs if epochs is not None else self.config.epochs
        if total <= self.epochs_done:
            return self.finished_hint()
        return f"resuming {self.name} at epoch {self.epochs_done + 1}/{total}: s continues"
