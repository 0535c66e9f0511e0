"""Text for people, shared by `dae-tui train`, `dae-tui runs` and the dashboard, so all say things alike.

Imports only the standard library and `dae_tui.core` (`RunInfo` for the type checker alone): no
torch, textual, rich or optuna.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from dae_tui.core.config import format_number
from dae_tui.core.events import EpochEnd, RunStarted

if TYPE_CHECKING:
    from dae_tui.runs.info import RunInfo

__all__ = [
    "RUN_COLUMNS",
    "UNREADABLE",
    "cells",
    "fit_first",
    "fit_items",
    "fit_words",
    "format_epoch",
    "format_eta",
    "format_figure",
    "format_finished",
    "format_kept",
    "format_metric",
    "format_setting",
    "format_started",
    "format_when",
    "plural",
    "printable",
    "printable_lines",
    "run_cells",
]


def plural(count: int, noun: str) -> str:
    """'1 epoch', '2 epochs', '2,000 images'."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def cells(text: str) -> int:
    """Terminal cells `text` takes: wide and full-width characters take two, combining marks none
    (what Rich measures for the text this app writes, without importing Rich)."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit_words(text: str, width: int, more: str = "…") -> str:
    """`text` in at most `width` cells, whole words dropped from the end and `more` put after
    the last word kept; never a word cut in two, so nothing on screen reads as another word
    (`Pullove`, `St`). Empty when not even the first word fits."""
    if cells(text) <= width:
        return text
    words = text.split(" ")
    while words:
        words.pop()
        kept = " ".join(words).rstrip(" ·,:;(")
        if kept and cells(kept) + cells(more) <= width:
            return kept + more
    return ""


def fit_first(width: int, *wordings: str) -> str:
    """The first of `wordings` (fullest first) that fits in `width` cells; else the last one
    with whole words dropped (`fit_words`). The one rule every fitted label on screen follows:
    say less, never cut a word."""
    for wording in wordings:
        if cells(wording) <= width:
            return wording
    return fit_words(wordings[-1], width) if wordings else ""


def fit_items(items: Sequence[str], width: int, sep: str = " · ") -> str:
    """As many whole `items` as fit in `width` cells, in order, joined by `sep`: the later items
    are the ones to lose (put what must stay first). The first item alone is word-fitted."""
    shown = list(items)
    while len(shown) > 1 and cells(sep.join(shown)) > width:
        shown.pop()
    return fit_words(sep.join(shown), width)


UNREADABLE = "unreadable"
"""What a figure that cannot be shown reads as (NaN, infinite, too big for any float)."""


def format_figure(value: object, spec: str, suffix: str = "", missing: str = "—") -> str:
    """`value` by the format `spec` with `suffix`; `missing` for None, and `UNREADABLE` for what is
    not a finite number (NaN, ±inf, a 401-digit integer: `format()` overflows on it), so one bad
    figure read from a file is said, never a crash of the whole table."""
    if value is None:
        return missing
    try:
        if isinstance(value, bool) or not math.isfinite(value):  # type: ignore[arg-type]
            return UNREADABLE
        return format(value, spec) + suffix
    except (TypeError, ValueError, OverflowError):
        return UNREADABLE


def format_eta(seconds: float | None) -> str:
    """Seconds as H:MM:SS, or an em dash when unknown."""
    if seconds is None or format_figure(seconds, ".0f") == UNREADABLE:  # NaN, infinite: unknown too
        return "—"
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def format_metric(value: float | None, metric: str, missing: str = "—") -> str:
    """A sweep's metric as read: test PSNR in dB (2 decimals), test MSE to 5 decimals."""
    return (
        format_figure(value, ".2f", " dB", missing)
        if metric == "test_psnr"
        else format_figure(value, ".5f", missing=missing)
    )


def format_setting(value: object) -> str:
    """A searched setting's value as a user would type it, floats to 3 significant digits (1.25e-3)."""
    if isinstance(value, float):
        shown = format_figure(value, ".3g")
        return shown if shown == UNREADABLE else format_number(float(shown))
    return str(value)


def format_started(event: RunStarted) -> str:
    """What trains on what, where, and where it is saved (two lines)."""
    resumed = f", resuming at epoch {event.start_epoch}" if event.resumed_from else ""
    if event.start_batch:  # from a mid-epoch checkpoint
        resumed = f", continuing epoch {event.start_epoch} after batch {event.start_batch}/{event.batches_per_epoch}"
    return (
        f"{event.dataset_label}: {event.train_size:,} train / {event.test_size:,} test images "
        f"from {event.source} ({event.source_detail}); model {event.config.model} "
        f"({event.parameters:,} parameters) on {event.device}, {plural(event.threads, 'thread')}{resumed}\n"
        f"run folder: {printable(str(event.run_dir))}"
    )


def format_kept(last_epoch: int, batch: int = 0, batches: int = 0) -> str:
    """What a stopped run keeps, for its stop line: "checkpoint of epoch 2 kept", "checkpoint of
    epoch 2 and 38/94 batches of epoch 3 kept", "38/94 batches of epoch 1 kept"; "" for nothing."""
    parts = [f"checkpoint of epoch {last_epoch}"] if last_epoch else []
    if batch:
        parts.append(f"{batch}/{batches or '?'} batches of epoch {last_epoch + 1}")
    return f"{' and '.join(parts)} kept" if parts else ""


def format_epoch(event: EpochEnd) -> str:
    """One finished epoch's figures as a line."""
    return (
        f"epoch {event.epoch}/{event.epochs}  train MSE {event.train_mse:.5f}  "
        f"test MSE {event.test_mse:.5f}  test PSNR {event.test_psnr:.2f} dB "
        f"(noisy {event.noisy_psnr:.2f} dB)  SSIM {event.test_ssim:.3f} (noisy {event.noisy_ssim:.3f})  "
        f"{event.seconds:.1f} s  {event.images_per_s:,.0f} img/s"
    )


def format_finished(epochs: int, best_test_mse: float | None) -> str:
    """'finished 10 epochs, best test MSE 0.01234' (the best only when known)."""
    best = f", best test MSE {best_test_mse:.5f}" if best_test_mse is not None else ""
    return f"finished {plural(epochs, 'epoch')}{best}"


RUN_COLUMNS: tuple[str, ...] = (
    "run",
    "status",
    "dataset",
    "model",
    "noise",
    "epochs",
    "best PSNR",
    "last PSNR",
    "s/epoch",
    "started",
)
"""The columns of a list of runs (`dae-tui runs`), in order; `run_cells` fills them."""


def format_when(moment: datetime) -> str:
    """'2024-01-01 12:00': a run's start as the run lists show it, in local time."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _db(value: float | None) -> str:
    return format_figure(value, ".2f", " dB")


def run_cells(info: RunInfo) -> tuple[str, ...]:
    """One run's cells under `RUN_COLUMNS`: '—' where a figure is unknown, times in local time."""
    noise = "—" if info.noise is None else f"{info.noise} {info.noise_factor:g}"
    best = _db(info.best_test_psnr) + (f" @ {info.best_epoch}" if info.best_epoch is not None else "")
    per_epoch = format_figure(info.seconds_per_epoch, ".1f")
    return (
        info.name,
        info.status,
        info.dataset or "—",
        info.model or "—",
        noise,
        f"{info.epochs_done}/{info.epochs or '?'}",
        best,
        _db(info.last_test_psnr),
        per_epoch,
        format_when(info.started),
    )


_BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029}
"""Bidirectional controls: they reorder the text after them, so a name could read as another;
and the line and paragraph separators, which some terminals and readers take as new lines."""


def _shown(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ for ESC, ␊ for a newline: Unicode's pictures of C0 controls
    if code == 0x7F:
        return "␡"
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a name that is not UTF-8 (surrogateescape): b"\x9b" is CSI
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


def printable(text: str) -> str:
    """`text` (a run name, a path, a message read from a file) safe to put on a terminal: control
    characters (ESC, newline, C1, bidi overrides) drawn as visible stand-ins, so a name cannot
    move the cursor, recolour the screen or break a one-line layout. Everything else is kept."""
    if text.isprintable():
        return text
    return "".join(
        c
        if c.isprintable() or c == " "
        else _shown(c)
        if unicodedata.category(c) in ("Cc", "Cs") or ord(c) in _BIDI
        else c
        for c in text
    )


def printable_lines(text: str) -> str:
    """`text` with each of its own lines made `printable`: for messages of several lines (a
    run's start, a question), whose line breaks are meant while those inside a name are not."""
    return "\n".join(printable(line) for line in text.split("\n"))
