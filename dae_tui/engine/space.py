"""A sweep's search space: which settings a study searches, and over what, judged before any trial.

    lr = {log = [1e-4, 1e-2]}              # a float, sampled on a log scale
    noise_factor = {range = [0.3, 0.7]}    # a float (or an int, when both ends are ints), uniform
    batch_size = {choice = [32, 64, 128]}  # one of these
    model = {choice = ["seed", "unet"]}

A TOML file read with the standard library's reader (`tomllib`; `tomli` on Python 3.10). Every
name must be a setting of the form, and every bound and choice must pass the one config validator
(with the fixed settings), so a bad space is one line before any trial starts.

Imports only the standard library and `dae_tui.config`: no optuna, no torch.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import FIELD_SPECS, ConfigError, TrainConfig, format_number, with_changes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["DEFAULT_SPACE", "KINDS", "Dimension", "parse_space", "read_space"]

KINDS = ("log", "range", "choice")
NOT_SEARCHED = {"dataset", "source", "data_dir", "device", "threads", "epochs", "train_limit"}
"""Settings that say where and how long a trial runs, not what it learns: fixed for the study."""


@dataclass(frozen=True)
class Dimension:
    """One searched setting: `kind` log / range over (low, high), or choice among `values`."""

    name: str
    kind: str
    values: tuple[Any, ...]

    @property
    def is_int(self) -> bool:
        return self.kind != "choice" and all(isinstance(v, int) and not isinstance(v, bool) for v in self.values)

    def describe(self) -> str:
        shown = ", ".join(format_number(v) if isinstance(v, float) else str(v) for v in self.values)
        return f"{self.name} {self.kind} [{shown}]"


DEFAULT_SPACE: tuple[Dimension, ...] = (
    Dimension("lr", "log", (1e-4, 1e-2)),
    Dimension("batch_size", "choice", (32, 64, 128)),
    Dimension("weight_decay", "log", (1e-6, 1e-3)),
)
"""Searched when no space file is given: what most often decides a run here."""


def read_space(path: str | Path, fixed: TrainConfig) -> tuple[Dimension, ...]:
    """The space in TOML file `path`; `ConfigError` in one line naming what is wrong."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"--space {path}: cannot read it ({err.strerror or err})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"--space {path}: not TOML ({str(err).splitlines()[0]})") from None
    return parse_space(data, fixed, f"--space {path}")


def parse_space(data: dict[str, Any], fixed: TrainConfig, where: str = "the space") -> tuple[Dimension, ...]:
    """Dimensions from a TOML table, each bound and choice judged with the `fixed` settings."""
    if not data:
        raise ConfigError(f"{where}: names no setting to search (e.g. lr = {{log = [1e-4, 1e-2]}})")
    dims = []
    for name, spec in data.items():
        if name not in FIELD_SPECS:
            raise ConfigError(f"{where}: {name!r} is not a setting (one of {', '.join(FIELD_SPECS)})")
        if name in NOT_SEARCHED:
            raise ConfigError(f"{where}: {name} is fixed for a study (set it with --{name.replace('_', '-')})")
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in KINDS:
            raise ConfigError(f"{where}: {name} must be one of {{log = [low, high]}}, {{range = [low, high]}} "
                              "or {choice = [a, b, ...]}")
        kind, values = next(iter(spec.items()))
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: {name} {kind} needs a list of values")
        if kind != "choice":
            if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise ConfigError(f"{where}: {name} {kind} needs two numbers, [low, high]")
            low, high = values
            if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
                raise ConfigError(f"{where}: {name} {kind} needs low < high (got {low}, {high})")
            if kind == "log" and low <= 0:
                raise ConfigError(f"{where}: {name} log needs low > 0 (got {low})")
        elif len(set(map(repr, values))) != len(values):
            raise ConfigError(f"{where}: {name} choice lists a value twice")
        for value in values:
            _judge(fixed, name, value, where)
        dims.append(Dimension(name, kind, tuple(values)))
    return tuple(dims)


def _judge(fixed: TrainConfig, name: str, value: Any, where: str) -> None:
    """`value` for setting `name` by the config's own rules (types as the form would take them)."""
    current = getattr(fixed, name)
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    try:
        errors = with_changes(fixed, {name: value}).validate()  # as its trials will be built
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {name} = {value!r} is not usable ({err})") from None
    mine = [e for e in errors if e.field == name] or errors
    if mine:
        raise ConfigError(f"{where}: {name} = {value!r}: {mine[0].message}")
