"""A sweep's search space: which settings a study searches, and over what, judged before any trial.

    lr = {log = [1e-4, 1e-2]}              # a float, sampled on a log scale
    noise_factor = {range = [0.3, 0.7]}    # a float (or an int, when both ends are ints), uniform
    batch_size = {choice = [32, 64, 128]}  # one of these
    model = {choice = ["seed", "unet"]}

A TOML file read with the standard library's reader (`tomllib`; `tomli` on Python 3.10). Every
name must be a setting of the form, and every bound and choice must pass the one config validator
(with the fixed settings), so a bad space is one line before any trial starts.

Imports only the standard library, `dae_tui.core.config` and the torch-free `dae_tui.runs.files`: no
optuna, no torch.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dae_tui.core.config import FIELD_SPECS, ConfigError, TrainConfig, clip, format_number, with_changes
from dae_tui.runs.files import FileTooLarge, read_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["DEFAULT_SPACE", "KINDS", "Dimension", "parse_space", "read_space"]

KINDS = ("log", "range", "choice")
MAX_SPACE_BYTES = 1 << 20
"""A space file is a few lines; past this it is the wrong file, refused before it is read."""
SHOWN_CHOICES = 8
"""Choices a one-line description names before it says how many more there are."""
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

    def describe(self, limit: int | None = SHOWN_CHOICES) -> str:
        """ "batch_size choice [32, 64, 128]": at most `limit` values (None: all of them, for the
        study's name), so thousands of choices still make a short line."""
        values = self.values if limit is None or len(self.values) <= limit else self.values[:limit]
        shown = ", ".join(format_number(v) if isinstance(v, float) else str(v) for v in values)
        more = f", … {len(self.values):,} in all" if len(values) < len(self.values) else ""
        return f"{self.name} {self.kind} [{shown}{more}]"


DEFAULT_SPACE: tuple[Dimension, ...] = (
    Dimension("lr", "log", (1e-4, 1e-2)),
    Dimension("batch_size", "choice", (32, 64, 128)),
    Dimension("weight_decay", "log", (1e-6, 1e-3)),
)
"""Searched when no space file is given: what most often decides a run here."""


def read_space(path: str | Path, fixed: TrainConfig) -> tuple[Dimension, ...]:
    """The space in TOML file `path`; `ConfigError` in one line naming what is wrong."""
    where = f"--space {clip(str(path), 200)}"
    try:
        # read_file: a FIFO or a device named as the space would hang or never end.
        data = tomllib.loads(read_file(path, MAX_SPACE_BYTES).decode("utf-8"))
    except FileTooLarge as err:
        raise ConfigError(
            f"{where}: {err.size:,} bytes is not a space file (at most {MAX_SPACE_BYTES:,}; a space is a few lines)"
        ) from None
    except OSError as err:
        raise ConfigError(f"{where}: cannot read it ({err.strerror or err})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{where}: not TOML ({clip(str(err).splitlines()[0], 200)})") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deep to be a space (a space is one table of settings)") from None
    return parse_space(data, fixed, where)


def parse_space(data: dict[str, Any], fixed: TrainConfig, where: str = "the space") -> tuple[Dimension, ...]:
    """Dimensions from a TOML table, each bound and choice judged with the `fixed` settings."""
    if not data:
        raise ConfigError(f"{where}: names no setting to search (e.g. lr = {{log = [1e-4, 1e-2]}})")
    dims = []
    for name, spec in data.items():
        if name not in FIELD_SPECS:
            raise ConfigError(f"{where}: {clip(repr(name))} is not a setting (one of {', '.join(FIELD_SPECS)})")
        if name in NOT_SEARCHED:
            raise ConfigError(f"{where}: {name} is fixed for a study (set it with --{name.replace('_', '-')})")
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in KINDS:
            raise ConfigError(
                f"{where}: {name} must be one of {{log = [low, high]}}, {{range = [low, high]}} "
                "or {choice = [a, b, ...]}"
            )
        kind, values = next(iter(spec.items()))
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: {name} {kind} needs a list of values")
        if kind != "choice":
            if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise ConfigError(f"{where}: {name} {kind} needs two numbers, [low, high]")
            low, high = values
            if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
                raise ConfigError(f"{where}: {name} {kind} needs low < high (got {clip(str(low))}, {clip(str(high))})")
            if kind == "log" and low <= 0:
                raise ConfigError(f"{where}: {name} log needs low > 0 (got {clip(str(low))})")
        elif not all(isinstance(v, (str, int, float)) for v in values):
            # A list or table as a choice (perhaps nested thousands deep) is no setting's value.
            raise ConfigError(f"{where}: {name} choice takes numbers, strings or true/false, not lists or tables")
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
        raise ConfigError(f"{where}: {name} = {clip(repr(value))} is not usable ({clip(str(err), 200)})") from None
    mine = [e for e in errors if e.field == name] or errors
    if mine:
        raise ConfigError(f"{where}: {name} = {clip(repr(value))}: {mine[0].message}")
