"""How runs are named to people: abbreviated settings, only-what-differs, short legend labels.

Pure functions of configs (no textual, no torch), shared by the Runs table, the chart legend and
the Images tab's comparison rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dae_tui.core.config import TrainConfig, format_number

__all__ = ["SETTING_NAMES", "differing", "settings_key", "settings_text", "short_label"]

SETTING_NAMES: dict[str, str] = {
    "dataset": "",
    "model": "",
    "noise": "",
    "noise_factor": "σ",
    "clamp": "clamp",
    "batch_size": "bs",
    "lr": "lr",
    "weight_decay": "wd",
    "epochs": "ep",
    "seed": "seed",
    "train_limit": "n",
    "source": "src",
}
"""The settings a run table shows, each with its abbreviation ('' shows the value alone)."""


def _value(config: TrainConfig, name: str) -> str:
    value = getattr(config, name)
    if name == "clamp":
        return "on" if value else "off"
    if value is None:
        return "all"
    return format_number(value) if isinstance(value, float) else str(value)


def _pair(config: TrainConfig, name: str) -> str:
    short = SETTING_NAMES.get(name, name)
    value = _value(config, name)
    return f"{short} {value}" if short else value


def differing(configs: Iterable[TrainConfig | None]) -> list[str]:
    """The setting names whose values are not the same in all `configs` (in `SETTING_NAMES` order)."""
    known = [c for c in configs if c is not None]
    return [name for name in SETTING_NAMES if len({_value(c, name) for c in known}) > 1]


def settings_text(config: TrainConfig | None, names: Sequence[str] | None = None) -> str:
    """The settings `names` (default: all but dataset, model and noise, which have columns)."""
    if config is None:
        return "—"
    shown = names if names is not None else [n for n in SETTING_NAMES if SETTING_NAMES[n]]
    return " ".join(_pair(config, name) for name in shown)


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


def short_label(config: TrainConfig | None, names: Sequence[str], fallback: str) -> str:
    """A legend label: the settings that tell this run from the others, else `fallback`."""
    if config is None or not names:
        return fallback
    text = " ".join(_pair(config, name) for name in names[:3])
    return text if len(text) <= 28 else text[:27] + "…"
