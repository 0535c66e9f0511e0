"""One measured training run in a fresh process, so that runs cannot warm or slow each other.

    python -m benchmarks.child reference --root DIR --dataset fashion-mnist [--device cpu]
    python -m benchmarks.child engine --dataset fashion-mnist --source local --data-dir DIR [--plain]

Prints one JSON object on its last stdout line: per-epoch seconds (and, for the engine, training
seconds without the evaluation, and test PSNR). The parent reads the child's peak RSS itself.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def _reference(args: argparse.Namespace) -> dict:
    from benchmarks.reference import reference_epochs

    seconds = reference_epochs(Path(args.root), args.dataset, args.epochs, args.device)
    return {"epoch_seconds": seconds, "train_seconds": seconds}


def _engine(args: argparse.Namespace) -> dict:
    from dae_tui.core.config import TrainConfig
    from dae_tui.core.events import EpochEnd, RunFailed, RunStarted
    from dae_tui.training.trainer import Trainer

    config = TrainConfig(
        dataset=args.dataset,
        source=args.source,
        data_dir=args.data_dir,
        epochs=args.epochs,
        device=args.device,
        train_limit=args.train_limit,
    )
    result: dict = {"epoch_seconds": [], "train_seconds": [], "test_psnr": []}
    with tempfile.TemporaryDirectory() as runs:
        for event in Trainer(config, runs_dir=runs, fast=not args.plain).run():
            if isinstance(event, RunStarted):
                result.update(device=event.device, train_size=event.train_size, threads=event.threads)
            elif isinstance(event, EpochEnd):
                result["epoch_seconds"].append(event.seconds)
                result["train_seconds"].append(result["train_size"] / event.images_per_s)
                result["test_psnr"].append(event.test_psnr)
            elif isinstance(event, RunFailed):
                raise SystemExit(f"engine run failed: {event.message}")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["reference", "engine"])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--root", help="torchvision root (reference)")
    parser.add_argument("--source", default="auto")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--plain", action="store_true", help="the engine without its optimisations")
    args = parser.parse_args(argv)
    result = _reference(args) if args.kind == "reference" else _engine(args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
