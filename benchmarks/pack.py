"""K trials packed into one stacked model against the same K trained one after another (issue 21).

    python -m benchmarks.pack [--device cpu] [--members 4] [--model seed] [--epochs 2] [--rounds 3]

Both sides train the same K configs (one structure; each its own lr, weight decay, noise factor
and seed) in this process, to the same run folders' worth of work: data loading, every epoch's
test pass, pictures and checkpoints included, as a sweep pays them. Rounds alternate sequential,
packed (A B A B), so drift in the machine's speed hits both alike; figures are medians. Printed:
each side's seconds, the ratio sequential / packed (> 1: packing wins) and the packed time
against one trial alone (the issue's GPU target: 16 members within 2x of one).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def configs(args: argparse.Namespace) -> list:
    from dae_tui.core.config import TrainConfig

    base = TrainConfig(
        dataset=args.dataset,
        source=args.source,
        data_dir=args.data_dir,
        model=args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
        train_limit=args.train_limit,
    )
    return [
        replace(base, lr=1e-3 * (1.3**k), weight_decay=1e-5 * (k + 1), noise_factor=0.3 + 0.02 * k, seed=k)
        for k in range(args.members)
    ]


def sequential(members: list, runs: Path) -> float:
    from dae_tui.core.events import RunFailed
    from dae_tui.training.trainer import Trainer

    start = time.perf_counter()
    for config in members:
        for event in Trainer(config, runs_dir=runs).run():
            if isinstance(event, RunFailed):
                raise RuntimeError(event.message)
    return time.perf_counter() - start


def packed(members: list, runs: Path) -> float:
    from dae_tui.core.events import RunFailed
    from dae_tui.training.pack import PackTrainer

    start = time.perf_counter()
    for _, event in PackTrainer(members, runs_dir=runs).run():
        if isinstance(event, RunFailed):
            raise RuntimeError(event.message)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pack", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--members", type=int, default=4, help="K, the trials in the pack")
    parser.add_argument("--model", default="seed")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--source", default="bundled", help="bundled (8,000 train images), local or auto")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    members = configs(args)
    seq, pack, one = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        sequential(members[:1], runs)  # one-off costs (lazy imports, kernel choice) paid before timing
        for r in range(args.rounds):
            one.append(sequential(members[:1], runs))
            seq.append(sequential(members, runs))
            pack.append(packed(members, runs))
            print(
                f"  round {r + 1}/{args.rounds}: one {one[-1]:.2f} s, {args.members} one after another "
                f"{seq[-1]:.2f} s, packed {pack[-1]:.2f} s",
                file=sys.stderr,
                flush=True,
            )
    s, p, o = statistics.median(seq), statistics.median(pack), statistics.median(one)
    figures = {
        "device": args.device,
        "model": args.model,
        "members": args.members,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "one_s": o,
        "sequential_s": s,
        "packed_s": p,
        "sequential_over_packed": s / p,
        "packed_over_one": p / o,
    }
    print(
        f"{args.model} on {args.device}, K={args.members}, {args.epochs} epochs, batch {args.batch_size}: "
        f"one trial {o:.2f} s, {args.members} one after another {s:.2f} s, packed {p:.2f} s: "
        f"sequential / packed {s / p:.2f}x, packed / one {p / o:.2f}x"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
