"""How fast the run store reads a big runs folder, as ratios against reading the same files raw.

    python -m benchmarks.runstore                      # 3,000 runs of 10 epochs, 7 rounds (~20 s)
    python -m benchmarks.runstore --runs 500

Writes synthetic run folders in a temporary folder, as the trainer leaves them (config.json,
metrics.jsonl, status.json; every twentieth run still "running", with a fresh heartbeat from this
process), then measures, alternating, the median of --rounds of each:

  reference          os.scandir the runs folder, then read each run's three files as bytes,
                     nothing parsed: the least any reader must do
  cold list_runs     a fresh store: list, stat, read and parse every run (the OS's file cache
                     is warm, as it is for a dashboard polling a folder)
  no-change refresh  refresh() of a store that has read everything, nothing changed: list, one
                     stat of each settled folder, the files of the running ones, and their
                     liveness (flock, pid)
  one new epoch      refresh() after one running run wrote another metrics line

Times are printed beside the reference's, as ratios. The dashboard polls every second, so the
no-change refresh is the figure that matters most; the target is well under 1 s for 500 runs cold.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from dae_tui.core.config import TrainConfig
from dae_tui.runs.files import LOCK_NAME, METRICS_NAME, STATUS_NAME, atomic_write_json, now_iso, this_host
from dae_tui.runs.store import RUNNING, RunStore, list_runs

RAW_FILES = ("config.json", METRICS_NAME, STATUS_NAME)


def write_runs(runs_dir: Path, count: int, epochs: int) -> list[Path]:
    """`count` run folders of `epochs` epochs each; returns the running ones."""
    running = []
    config = TrainConfig(dataset="fashion-mnist", epochs=epochs)
    config_text = json.dumps(config.to_dict(), indent=2) + "\n"
    for i in range(count):
        folder = runs_dir / f"2024{1 + i // 400 % 12:02d}{1 + i // 20 % 20:02d}-{i % 20:02d}0000-fashion-mnist-seed-{i}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(config_text)
        lines = []
        for epoch in range(1, epochs + 1):
            mse = 0.02 / epoch
            lines.append(
                json.dumps(
                    {
                        "epoch": epoch,
                        "epochs": epochs,
                        "train_mse": mse * 1.1,
                        "test_mse": mse,
                        "test_psnr": 17.0 + epoch / 10,
                        "noisy_psnr": 9.3,
                        "seconds": 4.7 + i % 7 / 10,
                        "images_per_s": 12500.0,
                        "checkpoint": str(folder / "checkpoint.pt"),
                        "dataset": "fashion-mnist",
                        "source": "local",
                        "offline_sample": False,
                    }
                )
            )
        (folder / METRICS_NAME).write_text("\n".join(lines) + "\n")
        live = i % 20 == 0
        (folder / STATUS_NAME).write_text(
            json.dumps(
                {
                    "status": "running" if live else "finished",
                    "message": "",
                    "last_epoch": epochs,
                    "epochs": epochs,
                    "started": datetime(2024, 1, 1).astimezone().isoformat(),
                    "ended": None if live else now_iso(),
                }
            )
        )
        if live:
            atomic_write_json(
                folder / LOCK_NAME,
                {
                    "pid": os.getpid(),
                    "host": this_host(),
                    "started": now_iso(),
                    "updated": now_iso(),
                    "epoch": epochs,
                    "paused": False,
                },
            )
            running.append(folder)
        # As old as the runs a dashboard meets: a folder changed in the last seconds is looked
        # at file by file (see `runstore.SETTLE_S`).
        os.utime(folder, (time.time() - 3600,) * 2)
    return running


def read_raw(runs_dir: Path) -> int:
    """The reference: list the folder and read every run's files as bytes."""
    total = 0
    with os.scandir(runs_dir) as entries:
        for entry in entries:
            if entry.is_dir():
                for name in RAW_FILES:
                    with open(os.path.join(entry.path, name), "rb") as handle:
                        total += len(handle.read())
    return total


def median_ms(fn: Callable[[], object], rounds: int, prepare: Callable[[], object] = lambda: None) -> float:
    times = []
    for _ in range(rounds):
        prepare()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.runstore", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000, help="run folders to write (3000)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs in each run's metrics (10)")
    parser.add_argument("--rounds", type=int, default=7, help="measurements of each figure; the median counts (7)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dae-tui-runstore-") as tmp:
        runs_dir = Path(tmp)
        running = write_runs(runs_dir, args.runs, args.epochs)
        runs = list_runs(runs_dir)
        assert len(runs) == args.runs and sum(r.status == RUNNING for r in runs) == len(running)

        warm = RunStore(runs_dir)
        warm.refresh()
        grow = running[0] / METRICS_NAME
        last = json.loads(grow.read_bytes().splitlines()[-1])

        def add_epoch() -> None:
            last["epoch"] += 1
            with open(grow, "a") as handle:  # one more line, as a new epoch adds
                handle.write(json.dumps(last) + "\n")

        reference = cold = unchanged = new_epoch = 0.0
        for _ in range(2):  # the second pass alternates the contenders on a warmed-up interpreter
            reference = median_ms(lambda: read_raw(runs_dir), args.rounds)
            cold = median_ms(lambda: list_runs(runs_dir), args.rounds)
            unchanged = median_ms(warm.refresh, args.rounds)
            new_epoch = median_ms(warm.refresh, args.rounds, prepare=add_epoch)
        figures = {
            "reference (scandir + raw reads)": (reference, None),
            "cold list_runs": (cold, cold / reference),
            "no-change refresh": (unchanged, unchanged / reference),
            "refresh after one new epoch": (new_epoch, new_epoch / reference),
        }
    print(f"{args.runs} runs x {args.epochs} epochs ({len(running)} running), median of {args.rounds}")
    for name, (ms, ratio) in figures.items():
        shown = "" if ratio is None else f"{ratio:6.2f}x the reference"
        print(f"  {name:<32} {ms:8.1f} ms   {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
