"""A sweep's wall time with --jobs J against the same trials one after another (--jobs 1).

    python -m benchmarks.sweep_speed                       # issue 13's command: 6 trials, 2 jobs
    python -m benchmarks.sweep_speed --trials 8 --jobs 4 --epochs 2

Each contender is the real `dae-tui sweep` in a fresh runs folder (its own SQLite study), with the
same fixed settings, space and seed, on the bundled sample:

  reference   --jobs 1: every trial in one process, one after another, all cores each
  jobs        --jobs J: J trial processes on the one study, the cores shared between them

It prints both wall times (process start to exit, Python and torch start-up included), their
ratio, and how many trials each finished or pruned (the pruner sees trials in another order
when they run side by side, so the two sweeps need not prune alike). Never run it beside other
heavy work.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def sweep(
    runs: Path, trials: int, jobs: int, epochs: int, train_limit: int, prune: bool
) -> tuple[float, dict[str, int]]:
    """(wall seconds, trials by state) of one sweep."""
    common = ["--runs-dir", str(runs), "--study", "bench"]
    extra = [] if prune else ["--no-prune"]
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "dae_tui",
            "sweep",
            "--source",
            "bundled",
            "--train-limit",
            str(train_limit),
            "--epochs",
            str(epochs),
            "--trials",
            str(trials),
            "--jobs",
            str(jobs),
            *common,
            *extra,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    doc = json.loads(
        subprocess.run(
            [sys.executable, "-m", "dae_tui", "sweep", "--status", "--json", *common],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    states: dict[str, int] = {}
    for trial in doc["trials"]:
        states[trial["state"]] = states.get(trial["state"], 0) + 1
    return seconds, states


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=2000)
    parser.add_argument("--no-prune", action="store_true", help="every trial runs all its epochs: the same work")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        prune = not args.no_prune
        alone, alone_states = sweep(Path(tmp) / "one", args.trials, 1, args.epochs, args.train_limit, prune)
        side, side_states = sweep(Path(tmp) / "many", args.trials, args.jobs, args.epochs, args.train_limit, prune)
    print(f"{args.trials} trials of {args.epochs} epochs on {args.train_limit} bundled images")
    print("| sweep | wall time | trials | ratio |")
    print("|---|---|---|---|")
    print(f"| --jobs 1 (reference) | {alone:.1f} s | {alone_states} | 1.00x |")
    print(f"| --jobs {args.jobs} | {side:.1f} s | {side_states} | {alone / side:.2f}x faster |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
