"""Per-class test scores as a run's metrics.jsonl keeps them, read back for the dashboard.

Each epoch's record carries `class_psnr` and `class_ssim`: ten figures, one a class in the
dataset's `CLASS_NAMES` order, null for a class without test images. Records written before they
were kept have neither; `class_scores` then says None and every reader shows what there is.

Imports only the standard library and `dae_tui.runs.info`: never torch, textual, rich or optuna.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dae_tui.runs.info import FIGURE_RANGES, plausible_number

__all__ = ["CLASS_COUNT", "ClassScores", "class_scores", "scores_by_epoch"]

CLASS_COUNT = 10
"""Classes in every dataset the trainer knows (MNIST, Fashion-MNIST, KMNIST)."""

ClassScores = tuple[tuple[float | None, ...], tuple[float | None, ...]]
"""(PSNR in dB of each class, mean SSIM of each class); None where a class had no images."""


def _figures(values: Any, key: str) -> tuple[float | None, ...] | None:
    if not isinstance(values, (list, tuple)) or len(values) != CLASS_COUNT:
        return None
    low, high = FIGURE_RANGES[key]
    # A figure that is not plausible (NaN, a string, out of range) counts as absent, alone.
    return tuple(None if v is None else plausible_number(v, low, high) for v in values)


def class_scores(record: Mapping[str, Any]) -> ClassScores | None:
    """The per-class PSNR and SSIM of one metrics record (an `EpochEnd` as JSON); None when it
    has none (an older run) or they are not ten figures each."""
    psnr = _figures(record.get("class_psnr"), "test_psnr")
    ssim = _figures(record.get("class_ssim"), "test_ssim")
    if psnr is None or ssim is None or all(v is None for v in psnr):
        return None
    return psnr, ssim


def scores_by_epoch(records: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> dict[int, ClassScores]:
    """{epoch: its per-class scores} of the records that have them."""
    found = {}
    for record in records:
        scores = class_scores(record)
        if scores is not None and isinstance(record.get("epoch"), int):
            found[record["epoch"]] = scores
    return found
