"""What the per-class scores and the worst pictures add to an epoch's evaluation, in one process.

    python -m benchmarks.per_class_eval [--dataset mnist] [--source bundled] [--model seed]
                                        [--repeats 7] [--device cpu]

Times, on the same model and test split, the evaluation every epoch already did (per-image MSE
and SSIM of the whole test split, `evaluate_scores`) against the same plus what came with the
per-class bars and the worst pictures: the per-class reduction (`per_class_scores`) and the worst
8 chosen and denoised again (`Trainer._worst`). The two alternate, median of `--repeats` each,
after one warm-up of each; the ratio (with / without) is the figure to quote, and the additions
timed alone on the same scores say how much of it is noise.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from dae_tui.core.config import TrainConfig
from dae_tui.runs.classes import CLASS_COUNT
from dae_tui.training.data import load_data
from dae_tui.training.device import resolve_device
from dae_tui.training.metrics import per_class_scores
from dae_tui.training.models import build_model
from dae_tui.training.steps import memory_format
from dae_tui.training.trainer import Trainer, evaluate_scores


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--source", default="bundled")
    parser.add_argument("--model", default="seed")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    config = TrainConfig(dataset=args.dataset, source=args.source, model=args.model, device=args.device)
    device = resolve_device(config.device)
    data = load_data(config)
    layout = memory_format(device)
    test = Trainer._prepare_test(data, config, device, layout)
    torch.manual_seed(0)
    model = build_model(config.model).to(device, memory_format=layout)  # type: ignore[call-overload]

    def plain() -> None:
        evaluate_scores(model, test.clean, test.noisy)
        _sync(device)

    def with_classes() -> None:
        per_mse, per_ssim = evaluate_scores(model, test.clean, test.noisy)
        assert per_ssim is not None
        per_class_scores(per_mse, per_ssim, test.labels, CLASS_COUNT)
        Trainer._worst(model, test, per_mse, 1)
        _sync(device)

    scores = evaluate_scores(model, test.clean, test.noisy)

    def extra_only() -> None:
        per_mse, per_ssim = scores
        assert per_ssim is not None
        per_class_scores(per_mse, per_ssim, test.labels, CLASS_COUNT)
        Trainer._worst(model, test, per_mse, 1)
        _sync(device)

    timings: dict[str, list[float]] = {"plain": [], "with": [], "extra": []}
    plain(), with_classes(), extra_only()  # warm-up: kernels chosen, caches filled
    for _ in range(args.repeats):
        for name, run in (("plain", plain), ("with", with_classes), ("extra", extra_only)):
            start = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - start)
    base, extra = statistics.median(timings["plain"]), statistics.median(timings["with"])
    print(f"{len(test.clean):,} test images on {device} ({config.model}), median of {args.repeats}:")
    print(f"  evaluation alone                      {base * 1000:8.1f} ms")
    print(f"  + per-class scores + worst 8 pictures {extra * 1000:8.1f} ms")
    alone = statistics.median(timings["extra"])
    print(f"  ratio {extra / base:.3f}x; the additions timed alone: {alone * 1000:.2f} ms ({alone / base:.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
