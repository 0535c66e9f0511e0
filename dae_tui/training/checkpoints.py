"""Run folders: config.json, metrics.jsonl and checkpoint.pt, each written atomically.

A write goes to a temporary file in the same folder, is flushed to disk, then renamed over the
old file, so a crash or a kill at any moment leaves either the old file or the new one, never a
torn one. Checkpoints load with `weights_only=True`: a checkpoint cannot run code.

The torch-free half (file names, `atomic_write`, `default_runs_dir`, `find_checkpoint`, the lock
and status files) lives in `runs.files`, so readers of run folders need not import torch; it is
re-exported here.

May import torch, `dae_tui.core` and `dae_tui.runs`; never textual, rich or optuna.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from dae_tui.core.config import TrainConfig, clip
from dae_tui.runs.files import (
    CHECKPOINT_NAME,
    CHECKSUM_NAME,
    CONFIG_NAME,
    METRICS_NAME,
    NAME_STAMP,
    PARTIAL_CHECKSUM_NAME,
    PARTIAL_NAME,
    FileTooLarge,
    NoCheckpoint,
    atomic_write,
    default_runs_dir,
    find_checkpoint,
    read_file,
)
from dae_tui.training.data import DataError

__all__ = [
    "CHECKPOINT_NAME",
    "CHECKSUM_NAME",
    "CheckpointError",
    "CONFIG_NAME",
    "METRICS_NAME",
    "NoCheckpoint",
    "PARTIAL_CHECKSUM_NAME",
    "PARTIAL_NAME",
    "atomic_write",
    "default_runs_dir",
    "find_checkpoint",
    "load_checkpoint",
    "load_partial",
    "new_run_dir",
    "read_checkpoint",
    "read_metrics",
    "remove_partial",
    "save_checkpoint",
    "save_partial",
    "write_config",
    "write_metrics",
]

CHECKPOINT_FORMAT = 1
MAX_CHECKPOINT_BYTES = 1 << 30
"""A checkpoint of these models is a few MB (model and optimizer state); a file past 1 GiB is
not one, and is refused before it is read whole into memory."""


def new_run_dir(runs_dir: Path, config: TrainConfig) -> Path:
    """Create and return a fresh folder `<time>-<dataset>-<model>-<4 hex>` under `runs_dir`.

    The time (to the second) first keeps names sortable by start; the random part keeps runs
    started in the same second apart, on this machine or on others sharing the folder (the sweep
    CSV once joined two hosts' trials by a name both had made). `mkdir` decides a tie.
    """
    runs_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime(NAME_STAMP)
    base = f"{stamp}-{config.dataset}-{config.model}"
    for _ in range(1000):
        path = runs_dir / f"{base}-{secrets.token_hex(2)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise OSError(f"{runs_dir}: cannot create a new run folder named {base}-...")


def write_config(run_dir: Path, config: TrainConfig) -> None:
    """config.json: the run's config, human-readable."""
    text = json.dumps(config.to_dict(), indent=2) + "\n"
    atomic_write(run_dir / CONFIG_NAME, lambda f: f.write(text.encode()), what="the run's config")


def write_metrics(run_dir: Path, records: Iterable[dict[str, Any]]) -> None:
    """metrics.jsonl: one JSON object per finished epoch, the whole file rewritten atomically."""
    text = "".join(json.dumps(r) + "\n" for r in records)
    atomic_write(run_dir / METRICS_NAME, lambda f: f.write(text.encode()), what="the metrics")


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The records in metrics.jsonl ([] when there is none), read by the Runs listing's hardened
    reader (`dae_tui.runs.info.read_metrics`) so the two sides can never disagree about a file."""
    from dae_tui.runs.info import read_metrics as read_hardened

    return read_hardened(run_dir)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Save a checkpoint dict (model, optimizer, config, epoch, rng, metrics) atomically, with
    its SHA-256 beside it.

    Serialised in memory first, so a full disk is an OSError from one plain write (torch's own
    writer would report it as an `inline_container.cc` RuntimeError). The checksum file lists
    the old and the new digest while the new file takes the old one's place, so a kill at any
    moment leaves a checkpoint that verifies.
    """
    _save(path, state, path.with_name(CHECKSUM_NAME), "the checkpoint")


def save_partial(path: Path, state: dict[str, Any]) -> None:
    """Save a mid-epoch checkpoint (partial.pt) the way `save_checkpoint` saves checkpoint.pt:
    atomically, with its own SHA-256 file (partial.pt.sha256), leaving checkpoint.pt alone."""
    _save(path, state, path.with_name(PARTIAL_CHECKSUM_NAME), "the mid-epoch checkpoint")


def _save(path: Path, state: dict[str, Any], sums: Path, what: str) -> None:
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, **state}, buffer)
    data = buffer.getbuffer()
    digest = hashlib.sha256(data).hexdigest()
    both = [d for d in [_file_digest(path)] if d and d != digest] + [digest]
    atomic_write(
        path,
        lambda f: f.write(data),
        what=what,
        before_replace=lambda: _write_digests(sums, path.name, both, what),
    )
    try:
        _write_digests(sums, path.name, [digest], what)
    except OSError:
        pass  # the two-digest file verifies the new checkpoint just as well


def remove_partial(run_dir: Path) -> None:
    """Remove the run's mid-epoch checkpoint and its checksum (once the epoch it belongs to has
    ended and its checkpoint.pt is safely written); nothing there is no error. Raises OSError."""
    for name in (PARTIAL_NAME, PARTIAL_CHECKSUM_NAME):
        try:
            (run_dir / name).unlink()
        except FileNotFoundError:
            pass


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(read_file(path, MAX_CHECKPOINT_BYTES)).hexdigest()
    except (OSError, ValueError):  # none, or a FIFO in its place: nothing to keep beside the new one
        return None


def _write_digests(sums: Path, name: str, digests: list[str], what: str = "the checkpoint") -> None:
    text = "".join(f"{d}  {name}\n" for d in digests)
    atomic_write(sums, lambda f: f.write(text.encode()), what=f"{what}'s checksum")


def _recorded_digests(sums: Path) -> list[str] | None:
    """The SHA-256 digests recorded for a checkpoint; None when there is no checksum file."""
    try:
        text = read_file(sums, 4096).decode("ascii", "replace")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # unreadable, a FIFO, or far too long: nothing it says is trusted
        return []
    return [line.split()[0].lower() for line in text.splitlines() if line.split()]


class CheckpointError(DataError):
    """A checkpoint that cannot be used; `str()` is one line, `detail` the library's own words."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


_STATE_TYPES = {"model": dict, "optimizer": dict, "config": dict, "epoch": int, "metrics": list, "rng": dict}


def load_checkpoint(path: Path, notes: list[str] | None = None) -> dict[str, Any]:
    """Load a checkpoint safely (`weights_only=True`) after checking it against its recorded
    SHA-256; raises `CheckpointError` (a `DataError`) in one line naming the file.

    A checkpoint without a checksum file (from before they existed, or copied out of its run
    folder) loads with a line in `notes` saying it was not verified.
    """
    return read_checkpoint(path, notes)[0]


def load_partial(path: Path, notes: list[str] | None = None) -> dict[str, Any]:
    """Load a mid-epoch checkpoint (partial.pt) as `load_checkpoint` loads checkpoint.pt, checked
    against its own checksum file (partial.pt.sha256); `CheckpointError` in one line."""
    return read_checkpoint(path, notes, sums=path.with_name(PARTIAL_CHECKSUM_NAME))[0]


def read_checkpoint(path: Path, notes: list[str] | None = None, sums: Path | None = None) -> tuple[dict[str, Any], str]:
    """`load_checkpoint`, and the SHA-256 of the very bytes loaded: what a result computed from
    this model is keyed by (read once, so a checkpoint saved meanwhile cannot be mixed in).
    `sums`: the checksum file to check it against (checkpoint.pt.sha256 beside it by default)."""
    try:
        data = read_file(path, MAX_CHECKPOINT_BYTES)  # regular files only: a FIFO must not hang eval
    except FileTooLarge as err:
        raise CheckpointError(
            f"{path}: {err.size:,} bytes, not a checkpoint of these models "
            f"(at most {MAX_CHECKPOINT_BYTES:,}); refusing it"
        ) from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({err.strerror or err})") from None
    digest = hashlib.sha256(data).hexdigest()
    sums = sums or path.with_name(CHECKSUM_NAME)
    digests = _recorded_digests(sums)
    if digests is None:
        if notes is not None:
            notes.append(f"{path} has no recorded checksum ({sums.name}), so it was not verified")
    elif digest not in digests:
        raise CheckpointError(
            f"{path}: corrupt, it does not match its checksum in {sums.name} "
            "(changed on disk after it was saved); refusing it"
        )
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickle, zip and OS errors all mean "unusable"
        first = str(err).strip().splitlines()
        raise CheckpointError(
            f"{path}: truncated or not a checkpoint file", f"{type(err).__name__}: {first[0] if first else ''}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a dae-tui checkpoint (format {CHECKPOINT_FORMAT} expected)")
    for key, kind in _STATE_TYPES.items():
        if not isinstance(state.get(key), kind) or (kind is int and isinstance(state[key], bool)):
            raise CheckpointError(f"{path}: not a dae-tui checkpoint ({key!r} missing or of the wrong type)")
    for name, tensor in state["model"].items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(
                f"{path}: the model's weights are not finite (NaN or inf in {clip(str(name))}); "
                "it cannot be trained on: start a new run, or lower the learning rate"
            )
    return state, digest
