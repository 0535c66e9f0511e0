"""Run folders: config.json, metrics.jsonl and checkpoint.pt, each written atomically.

A write goes to a temporary file in the same folder, is flushed to disk, then renamed over the
old file, so a crash or a kill at any moment leaves either the old file or the new one, never a
torn one. Checkpoints load with `weights_only=True`: a checkpoint cannot run code.

The torch-free half (file names, `atomic_write`, `default_runs_dir`, the lock and status files)
lives in `runfiles`, so readers of run folders need not import torch; it is re-exported here.

May import torch; never textual or rich.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from ..config import ConfigError, TrainConfig
from .data import DataError
from .runfiles import CHECKPOINT_NAME, CONFIG_NAME, METRICS_NAME, NAME_STAMP, atomic_write, default_runs_dir

__all__ = [
    "CHECKPOINT_NAME",
    "CONFIG_NAME",
    "METRICS_NAME",
    "atomic_write",
    "default_runs_dir",
    "find_checkpoint",
    "load_checkpoint",
    "new_run_dir",
    "read_metrics",
    "save_checkpoint",
    "write_config",
    "write_metrics",
]

CHECKPOINT_FORMAT = 1


def new_run_dir(runs_dir: Path, config: TrainConfig) -> Path:
    """Create and return a fresh folder `<time>-<dataset>-<model>[-N]` under `runs_dir`."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime(NAME_STAMP)
    base = f"{stamp}-{config.dataset}-{config.model}"
    for n in range(1000):
        path = runs_dir / (base if n == 0 else f"{base}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise OSError(f"{runs_dir}: cannot create a new run folder named {base}")


def write_config(run_dir: Path, config: TrainConfig) -> None:
    """config.json: the run's config, human-readable."""
    text = json.dumps(config.to_dict(), indent=2) + "\n"
    atomic_write(run_dir / CONFIG_NAME, lambda f: f.write(text.encode()))


def write_metrics(run_dir: Path, records: Iterable[dict[str, Any]]) -> None:
    """metrics.jsonl: one JSON object per finished epoch, the whole file rewritten atomically."""
    text = "".join(json.dumps(r) + "\n" for r in records)
    atomic_write(run_dir / METRICS_NAME, lambda f: f.write(text.encode()))


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The records in metrics.jsonl ([] when there is none)."""
    path = run_dir / METRICS_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Save a checkpoint dict (model, optimizer, config, epoch, rng, metrics) atomically."""
    state = {"format": CHECKPOINT_FORMAT, **state}
    atomic_write(path, lambda f: torch.save(state, f))


def find_checkpoint(path: str | Path) -> Path:
    """`path` itself when it is a file, else the checkpoint inside the run folder it names."""
    path = Path(path).expanduser()
    candidate = path / CHECKPOINT_NAME if path.is_dir() else path
    if not candidate.is_file():
        raise ConfigError(f"--resume {path}: no checkpoint there (expected a run folder or a {CHECKPOINT_NAME})")
    return candidate


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint safely (`weights_only=True`); raises `DataError` naming the file."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickle, zip and OS errors all mean "unusable"
        first = str(err).strip().splitlines()
        raise DataError(f"{path}: not a usable checkpoint ({first[0] if first else err})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{path}: not a dae-tui checkpoint (format {CHECKPOINT_FORMAT} expected)")
    return state
