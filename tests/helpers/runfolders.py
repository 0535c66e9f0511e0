"""Run folders written by the tests, file by file, as the trainer (or an older or broken one) leaves them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dae_tui.core.config import TrainConfig
from dae_tui.runs.files import this_host

TINY_CONFIG = TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=3)


def iso(seconds_ago: float = 0.0) -> str:
    return (datetime.now().astimezone() - timedelta(seconds=seconds_ago)).isoformat(timespec="milliseconds")


def record(epoch: int, epochs: int, psnr: float | None = None) -> dict[str, Any]:
    """A metrics.jsonl line as the trainer writes it; PSNR rises by one dB an epoch unless given."""
    psnr = 10.0 + epoch if psnr is None else psnr
    mse = 10 ** (-psnr / 10)
    return {
        "epoch": epoch,
        "epochs": epochs,
        "train_mse": mse * 1.1,
        "test_mse": mse,
        "test_psnr": psnr,
        "noisy_psnr": 9.3,
        "seconds": 2.0,
        "images_per_s": 1000.0,
        "checkpoint": "checkpoint.pt",
        "dataset": "mnist",
        "source": "bundled",
        "offline_sample": True,
    }


def make_run(
    runs_dir: Path,
    name: str = "20240101-120000-mnist-seed",
    *,
    config: TrainConfig | None = TINY_CONFIG,
    done: int = 3,
    status: str | None = "finished",
    message: str = "",
    started: str | None = None,
    lock: dict[str, Any] | None = None,
    extra_lines: tuple[bytes, ...] = (),
) -> Path:
    """A run folder: config.json, `done` epochs of metrics, then status.json and run.lock if asked.

    `status=None` leaves status.json out (a run from before it existed); `extra_lines` are
    appended to metrics.jsonl as they are (garbage, a cut line).
    """
    folder = runs_dir / name
    folder.mkdir(parents=True)
    epochs = config.epochs if config else 3
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    lines = b"".join(json.dumps(record(e, epochs)).encode() + b"\n" for e in range(1, done + 1))
    (folder / "metrics.jsonl").write_bytes(lines + b"".join(extra_lines))
    if status is not None:
        (folder / "status.json").write_text(
            json.dumps(
                {
                    "status": status,
                    "message": message,
                    "last_epoch": done,
                    "epochs": epochs,
                    "started": started or iso(3600),
                    "ended": None if status == "running" else iso(3000),
                }
            )
        )
    if lock is not None:
        (folder / "run.lock").write_text(json.dumps(lock))
    return folder


def lock(pid: int | None = None, host: str | None = None, age_s: float = 0.0, paused: bool = False) -> dict:
    """A run.lock: this process on this host with a fresh heartbeat unless told otherwise."""
    return {
        "pid": os.getpid() if pid is None else pid,
        "host": host or this_host(),
        "started": iso(600),
        "updated": iso(age_s),
        "epoch": 2,
        "paused": paused,
    }


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
