"""What tells runs apart, written as people write settings, and the figures of runs side by side.

The one "what differs" piece: the Runs tab's settings column, the charts' legend, the Images
tab's comparison rows, the numbers table of the marked runs and `dae-tui runs --compare` all
name runs through it, so a run reads the same everywhere (`lr 3e-3 · 10 ep`, floats to the Sweep
tab's 3 significant digits, a noise factor by what it means for its kind: `σ 0.5`, `p 0.2`).

    names = differing(run.config for run in runs)   # the settings that are not all the same
    run_labels(runs)                                # {run name: 'lr 3e-3 · 10 ep'}
    number_rows(runs)                               # the numbers table: (row name, cells)
    write_numbers_csv(runs, out)                    # the same figures, one CSV row a run

Imports only the standard library, `dae_tui.core` and `runs.info`: never torch, textual, rich or
optuna, so the CLI can use it too.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO

from dae_tui.core.config import FIELD_SPECS, MODEL_PARAMETERS, NOISE_KINDS, TrainConfig
from dae_tui.core.formatting import (
    fit_items,
    format_eta,
    format_figure,
    format_setting,
    format_when,
    printable,
)
from dae_tui.runs.info import RunInfo

__all__ = [
    "NUMBER_ROWS",
    "NUMBERS_CSV_COLUMNS",
    "SEP",
    "SETTING_NAMES",
    "Figures",
    "differing",
    "factor_symbol",
    "figures_of",
    "number_rows",
    "run_labels",
    "setting_text",
    "setting_value",
    "settings_items",
    "settings_key",
    "settings_text",
    "short_label",
    "write_numbers_csv",
]

SETTING_NAMES: dict[str, str] = {
    "dataset": "",
    "model": "",
    "noise": "",
    "noise_factor": "σ",
    "lr": "lr",
    "epochs": "ep",
    "batch_size": "bs",
    "weight_decay": "wd",
    "clamp": "clamp",
    "loss": "loss",
    "seed": "seed",
    "train_limit": "n",
    "source": "src",
}
"""The settings that tell runs apart, in the order they are named (what is tuned most first, so
a narrow settings column still shows the learning rate), each with its abbreviation ('' shows
the value alone; the noise factor's is its kind's symbol, `factor_symbol`)."""
AFTER = frozenset({"epochs"})
"""Settings whose abbreviation follows the value, as people say it: `10 ep`, not `ep 10`."""
SEP = " · "
"""Between two settings of one run (`lr 3e-3 · 10 ep`)."""


def factor_symbol(noise: str) -> str:
    """How a label names the factor of `noise`: its kind's symbol (σ, p); 'factor' for a kind
    this version does not know."""
    kind = NOISE_KINDS.get(noise)
    return kind.symbol if kind else "factor"


def setting_value(config: TrainConfig, name: str) -> str:
    """One setting's value as a user types it: floats to 3 significant digits (`5.11e-3`, as the
    Sweep tab shows them), clamp on/off, no train limit as `all`."""
    value = getattr(config, name)
    if name == "clamp":
        return "on" if value else "off"
    if value is None:
        return "all"
    return format_setting(value)


def setting_text(config: TrainConfig, name: str) -> str:
    """One setting as a label says it: `lr 3e-3`, `10 ep`, `σ 0.5`, `p 0.2`, `mnist`."""
    short = factor_symbol(config.noise) if name == "noise_factor" else SETTING_NAMES.get(name, name)
    value = setting_value(config, name)
    if not short:
        return value
    return f"{value} {short}" if name in AFTER else f"{short} {value}"


def settings_items(config: TrainConfig, names: Sequence[str]) -> list[str]:
    """The settings `names` of `config`, one item each; a noise kind and its factor named together
    are one item (`salt-pepper p 0.2`), as people say them."""
    items: list[str] = []
    for name in names:
        text = setting_text(config, name)
        if name == "noise_factor" and "noise" in names and items and items[-1] == config.noise:
            items[-1] = f"{items[-1]} {text}"
        else:
            items.append(text)
    return items


def differing(configs: Iterable[TrainConfig | None]) -> list[str]:
    """The setting names whose shown values are not the same in all `configs` (in
    `SETTING_NAMES` order); runs without a config are left out of the count."""
    known = [c for c in configs if c is not None]
    return [name for name in SETTING_NAMES if len({setting_value(c, name) for c in known}) > 1]


def settings_text(config: TrainConfig | None, names: Sequence[str] | None = None) -> str:
    """The settings `names` joined by `SEP` (default: all but dataset, model and noise, which have
    columns of their own); '—' without a config."""
    if config is None:
        return "—"
    shown = names if names is not None else [n for n in SETTING_NAMES if SETTING_NAMES[n]]
    return SEP.join(settings_items(config, shown))


def settings_key(config: TrainConfig | None) -> tuple[tuple[int, float | str], ...]:
    """Sorts runs by their settings in the table's order, numbers by value: lr 1e-3 before
    lr 0.01, which sorted as text came after it. Runs without a config go last."""
    if config is None:
        return ((3, ""),)
    key: list[tuple[int, float | str]] = []
    for name in SETTING_NAMES:
        value = getattr(config, name)
        if isinstance(value, (bool, int, float)):
            key.append((0, float(value)))
        elif value is None:  # "all" (no train limit): after every number
            key.append((1, ""))
        else:
            key.append((2, str(value)))
    return tuple(key)


def short_label(config: TrainConfig | None, names: Sequence[str], fallback: str, width: int = 0) -> str:
    """A label: the settings `names` of this run, else `fallback`; with a `width`, as many whole
    settings as fit in it (the later ones go first, never a value cut in two)."""
    if config is None or not names:
        return fallback
    items = settings_items(config, names)
    return fit_items(items, width, SEP) if width else SEP.join(items)


def run_labels(runs: Sequence[RunInfo]) -> dict[str, str]:
    """A label for each of `runs` (by name): the settings that differ among them. Where none does
    (one run, repeats of one config) or a run has no config, its start as the run lists show it
    (`2024-01-01 12:00`), or its folder's name where two started in the same minute."""
    names = differing(run.config for run in runs)
    starts = [format_when(run.started) for run in runs]
    labels: dict[str, str] = {}
    for run, start in zip(runs, starts, strict=True):
        fallback = start if starts.count(start) == 1 else printable(run.name)
        labels[run.name] = short_label(run.config, names, fallback)
    return labels


# --- the numbers table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One run's figures for the numbers table: each best with its epoch, each last value, speed,
    time and size. None where the run's records do not say."""

    best_psnr: tuple[float, int] | None
    last_psnr: float | None
    best_ssim: tuple[float, int] | None
    last_ssim: float | None
    best_mse: tuple[float, int] | None
    last_mse: float | None
    images_per_s: float | None
    """Mean training images per second over its epochs."""
    seconds: float | None
    """Wall seconds of all its epochs (training and evaluation)."""
    parameters: int | None
    """Trainable parameters of its model (None for a model this version does not know)."""


def _numbers(run: RunInfo, key: str) -> list[tuple[float, int]]:
    """(value, epoch) of every record with a finite `key` (the readers already dropped the rest)."""
    out = []
    for record in run.records:
        value, epoch = record.get(key), record.get("epoch")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(epoch, int):
            if math.isfinite(value):
                out.append((float(value), epoch))
    return out


def _best(points: list[tuple[float, int]], lowest: bool = False) -> tuple[float, int] | None:
    """The best value with the first epoch that reached it."""
    if not points:
        return None
    best = min(v for v, _ in points) if lowest else max(v for v, _ in points)
    return next(p for p in points if p[0] == best)


def figures_of(run: RunInfo) -> Figures:
    """A run's `Figures`, from the metrics records its folder holds."""
    psnr, ssim, mse = _numbers(run, "test_psnr"), _numbers(run, "test_ssim"), _numbers(run, "test_mse")
    speeds, seconds = _numbers(run, "images_per_s"), _numbers(run, "seconds")
    model = run.config.model if run.config else None
    return Figures(
        _best(psnr),
        psnr[-1][0] if psnr else None,
        _best(ssim),
        ssim[-1][0] if ssim else None,
        _best(mse, lowest=True),
        mse[-1][0] if mse else None,
        sum(v for v, _ in speeds) / len(speeds) if speeds else None,
        sum(v for v, _ in seconds) if seconds else None,
        MODEL_PARAMETERS.get(model) if model else None,
    )


def _at(best: tuple[float, int] | None, spec: str, suffix: str = "") -> str:
    return "—" if best is None else f"{format_figure(best[0], spec, suffix)} @ {best[1]}"


NUMBER_ROWS: tuple[tuple[str, Callable[[Figures], str]], ...] = (
    ("best test PSNR", lambda f: _at(f.best_psnr, ".2f", " dB")),
    ("last test PSNR", lambda f: format_figure(f.last_psnr, ".2f", " dB")),
    ("best SSIM", lambda f: _at(f.best_ssim, ".3f")),
    ("last SSIM", lambda f: format_figure(f.last_ssim, ".3f")),
    ("best MSE", lambda f: _at(f.best_mse, ".5f")),
    ("last MSE", lambda f: format_figure(f.last_mse, ".5f")),
    ("img/s", lambda f: format_figure(f.images_per_s, ",.0f")),
    ("time", lambda f: format_figure(f.seconds, ".1f", " s") if (f.seconds or 0) < 60 else format_eta(f.seconds)),
    ("parameters", lambda f: format_figure(f.parameters, ",d")),
)
"""The numbers table's figure rows, in order: the row's name and how a run's cell reads ('@ 3':
the epoch it was reached in)."""


def number_rows(runs: Sequence[RunInfo], folders: bool = True) -> list[tuple[str, list[str]]]:
    """The numbers table of `runs`, one cell a run in each row: the figures (`NUMBER_ROWS`), then
    each setting that differs among them (its form label, lower case), then when each started
    and (with `folders`) its folder's name, the widest cell of all."""
    figures = [figures_of(run) for run in runs]
    rows = [(name, [cell(f) for f in figures]) for name, cell in NUMBER_ROWS]
    for name in differing(run.config for run in runs):
        label = FIELD_SPECS[name].label.lower()
        # The row names the setting: its cells say the value alone, but a factor by its symbol.
        shown = setting_text if name == "noise_factor" else setting_value
        rows.append((label, [shown(r.config, name) if r.config else "—" for r in runs]))
    rows.append(("started", [format_when(run.started) for run in runs]))
    if folders:
        rows.append(("run", [printable(run.name) for run in runs]))
    return rows


NUMBERS_CSV_COLUMNS: tuple[str, ...] = (
    "run",
    "label",
    "best_test_psnr",
    "best_test_psnr_epoch",
    "last_test_psnr",
    "best_test_ssim",
    "best_test_ssim_epoch",
    "last_test_ssim",
    "best_test_mse",
    "best_test_mse_epoch",
    "last_test_mse",
    "images_per_s",
    "seconds",
    "parameters",
)
"""The first columns of the numbers' CSV; the settings that differ follow, by config field name."""


def _blank(value: object) -> object:
    return "" if value is None else value


def _pair(best: tuple[float, int] | None) -> list[object]:
    return ["", ""] if best is None else [best[0], best[1]]


def write_numbers_csv(runs: Sequence[RunInfo], out: TextIO) -> None:
    """The numbers table as CSV, one row a run (as `runs --csv` has one a run's epoch): the figures
    as plain numbers (empty where unknown), then the settings that differ, as config.json has
    them."""
    names = differing(run.config for run in runs)
    labels = run_labels(runs)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*NUMBERS_CSV_COLUMNS, *names))
    for run in runs:
        f = figures_of(run)
        config = run.config.to_dict() if run.config else {}
        settings = ["" if config.get(name) is None else config[name] for name in names]
        writer.writerow(
            [
                printable(run.name),
                labels[run.name],
                *_pair(f.best_psnr),
                _blank(f.last_psnr),
                *_pair(f.best_ssim),
                _blank(f.last_ssim),
                *_pair(f.best_mse),
                _blank(f.last_mse),
                _blank(None if f.images_per_s is None else round(f.images_per_s, 1)),
                _blank(None if f.seconds is None else round(f.seconds, 3)),
                _blank(f.parameters),
                *(printable(v) if isinstance(v, str) else v for v in settings),
            ]
        )
