"""The one training configuration, and the one place that says what values are allowed.

`TrainConfig` is a frozen dataclass; `TrainConfig.validate()` is the only judge of a config, and
`parse_field()` the only way text (a CLI flag, a form input) becomes a field value.  The headless
CLI and the dashboard's form both go through them, so they can never disagree.

This module is imported at start-up by the UI: it imports only the standard library,
`dae_tui.core.errors` and `dae_tui.core.architectures`, never torch, textual, rich, optuna or
another part of dae_tui.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import Field, asdict, dataclass, field, fields, replace
from typing import Any, TypeVar

from dae_tui.core.architectures import MODEL_SPECS
from dae_tui.core.errors import DaeError

__all__ = [
    "BUNDLED",
    "CLASS_NAMES",
    "DATASETS",
    "DEVICES",
    "FIELD_SPECS",
    "MODELS",
    "MODEL_PARAMETERS",
    "NOISE_KINDS",
    "SOURCES",
    "ConfigError",
    "FieldError",
    "FieldSpec",
    "GpuChoice",
    "LOSSES",
    "NoiseKind",
    "RESUME_OVERRIDABLE",
    "TrainConfig",
    "RUN_CONFIG_NAME",
    "carried_factor",
    "check_resume_overrides",
    "clip",
    "config_from_strings",
    "device_problem",
    "flags_to_labels",
    "format_number",
    "parse_field",
    "read_config",
    "recipe_changes",
    "with_changes",
]

DATASETS: dict[str, str] = {
    "mnist": "MNIST handwritten digits",
    "fashion-mnist": "Fashion-MNIST clothing",
    "kmnist": "Kuzushiji-MNIST cursive Japanese (hiragana)",
}
"""Dataset names and what they are. `dae_tui.training.data` implements each one."""

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(f"digit {d}" for d in range(10)),
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    # torchvision's KMNIST.classes: the romanised hiragana (one cell wide in every terminal).
    "kmnist": ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
}
"""Each dataset's class names, indexed by label."""

SOURCES: dict[str, str] = {
    "auto": "local, then download, then the bundled sample",
    "local": "IDX files in --data-dir (or Debian's fashion-mnist package)",
    "download": "torchvision's download into the user cache",
    "bundled": "the offline sample shipped inside dae-tui (8k train / 2k test)",
}
"""Where the images come from. `auto` tries the others in this order."""

BUNDLED: tuple[str, ...] = ("mnist", "fashion-mnist")
"""Datasets whose test set ships inside the package (kmnist's licence keeps it out)."""


@dataclass(frozen=True)
class NoiseKind:
    """What one noise kind does and what its factor may be."""

    description: str
    """What the noise does to an image."""
    factor: str
    """What the noise factor means for this kind."""
    short: str
    """The factor's meaning in at most 22 characters (the form's hint line)."""
    default: float
    """The factor a new run starts from."""
    low: float
    high: float
    low_open: bool = False
    """True when `low` itself is not allowed."""
    symbol: str = "σ"
    """How a run's label names the factor (`σ 0.5`, `p 0.2`): σ for a standard deviation, p for
    a fraction of pixels or blocks."""

    def allowed(self) -> str:
        return f"{'above' if self.low_open else 'from'} {format_number(self.low)} to {format_number(self.high)}"

    def accepts(self, factor: float) -> bool:
        too_low = factor <= self.low if self.low_open else factor < self.low
        return not too_low and factor <= self.high


NOISE_KINDS: dict[str, NoiseKind] = {
    "gaussian": NoiseKind(
        "image + randn * factor (the reference)",
        "standard deviation of the added noise",
        "std of added noise",
        0.5,
        0.0,
        5.0,
    ),
    "salt-pepper": NoiseKind(
        "pixels set to black or white at random",
        "fraction of pixels set to 0 or 1, half each",
        "share of pixels to 0/1",
        0.2,
        0.0,
        1.0,
        symbol="p",
    ),
    "speckle": NoiseKind(
        "multiplicative: image + image * randn * factor",
        "standard deviation relative to each pixel",
        "std relative to pixel",
        0.5,
        0.0,
        5.0,
    ),
    "poisson": NoiseKind(
        "shot noise: photon counts at 1/factor^2 photons for white",
        "noise's std on a white pixel, 1/sqrt(photons); larger is noisier",
        "1/√(photons at white)",
        0.5,
        0.0,
        2.0,
        low_open=True,
    ),
    "mask": NoiseKind(
        "2x2 blocks dropped to black at random (inpainting)",
        "fraction of 2x2 pixel blocks dropped to 0",
        "share of 2x2 blocks→0",
        0.25,
        0.0,
        0.9,
        symbol="p",
    ),
}
"""Noise kinds. `dae_tui.training.noise` implements each one."""

MODELS: dict[str, str] = {name: spec.description for name, spec in MODEL_SPECS.items()}
"""Model names and what they are (registered in `dae_tui.core.architectures.MODEL_SPECS`).
`dae_tui.training.models` implements each one."""

MODEL_PARAMETERS: dict[str, int] = {name: spec.parameters for name, spec in MODEL_SPECS.items()}
"""Each model's trainable parameters (seed 210,369, unet 239,172), for the form and the README
without torch: computed from its layers' figures (a test checks them against the built models)."""

LOSSES: dict[str, str] = {
    "mse": "mean squared error (the reference)",
    "l1": "mean absolute error: sharper edges, less blur",
}
"""Training losses. The chart and metrics report MSE whatever the loss."""

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
"""Device names; `cuda:N` picks one GPU. `auto` takes cuda, then mps, then cpu."""


@dataclass(frozen=True)
class GpuChoice:
    """A GPU a run can be given, as `--device cuda:N` names it. The front ends read them from
    NVML (`dae_tui.system.gpus.cuda_choices`, before torch loads), the trainer from torch."""

    number: int
    """N of `cuda:N`: CUDA's numbering, after CUDA_VISIBLE_DEVICES (not always nvidia-smi's)."""
    name: str
    """The board's name, e.g. 'NVIDIA H200'."""
    free: int | None = None
    """Bytes of its memory no process holds; None where unknown."""

    @property
    def device(self) -> str:
        """The `--device` value that picks it: 'cuda:0'."""
        return f"cuda:{self.number}"

    @property
    def note(self) -> str:
        """'H200, 127 GB free': every board NVML lists is NVIDIA's, so the prefix says nothing."""
        name = self.name.removeprefix("NVIDIA ").strip() or self.name
        return name if self.free is None else f"{name}, {self.free / 2**30:.0f} GB free"

    def describe(self) -> str:
        """'cuda:0 (H200, 127 GB free)'."""
        return f"{self.device} ({self.note})"


def device_problem(device: object, gpus: Sequence[GpuChoice] | None) -> str | None:
    """Why `device` names a GPU this machine lacks, as a field message naming the GPUs it has;
    None when it names one it has, no GPU at all (auto, cpu, mps), or `gpus` is None (NVML could
    not say: torch judges when the run starts)."""
    if gpus is None or not isinstance(device, str) or not (device == "cuda" or _is_cuda_index(device)):
        return None
    if gpus and (device == "cuda" or int(device.partition(":")[2]) in {gpu.number for gpu in gpus}):
        return None
    if not gpus:
        return f"must be auto or cpu: no NVIDIA GPU is visible here (got {_describe(device)})"
    listed = ", ".join(gpu.describe() for gpu in gpus)
    return f"must be auto, cpu, cuda or a GPU this machine has: {listed} (got {_describe(device)})"


# --- parsing and checking, one spec per field (declared with the field in `TrainConfig`) -------


CLIP_AT = 40
"""Most characters of a user's input quoted back in an error."""


def clip(text: str, limit: int = CLIP_AT) -> str:
    """`text`, cut to `limit` characters with an ellipsis and the full length when longer."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text):,} characters)"


def format_number(value: float) -> str:
    """A number as people write it: 0.5, 64, 1e-3, 2.5e-4 (no 0.001 beside 1e-05)."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if not math.isfinite(value) or value == 0 or 1e-2 <= abs(value) < 1e6:
        return f"{value:g}"
    mantissa, exponent = f"{value:.12e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _json_kind(value: object) -> str:
    """What a JSON value is, as an error names it: 'a JSON list', 'the number 5'."""
    if isinstance(value, list):
        return "a JSON list"
    if isinstance(value, str):
        return f"the string {_describe(value)}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the value {str(value).lower()}"
    return f"the number {_describe(value)}"


def _describe(value: object) -> str:
    """A value quoted in an error, never longer than about `CLIP_AT` characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        # str() of a huge int is slow and, past 4,300 digits, refused by Python itself.
        magnitude = abs(value)
        digits = int((magnitude.bit_length() - 1) * math.log10(2)) + 1  # exact or one short
        if magnitude >= 10**digits:
            digits += 1
        return f"{'a negative' if value < 0 else 'a'} number of {digits:,} digits"
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= CLIP_AT else f"{value[: CLIP_AT - 1] + '…'!r} ({len(value):,} characters)"
    return clip(str(value))


@dataclass(frozen=True)
class FieldSpec:
    """How one config field is shown, parsed from text and checked.

    Declared with its field in `TrainConfig` (`_field`); `FIELD_SPECS` holds them by name.
    """

    name: str
    """The dataclass field name."""

    label: str
    """Short human label for forms."""

    kind: str
    """One of: choice, bool, int, float, path, optional-int."""

    choices: tuple[str, ...] = ()
    """Allowed values for a choice field."""

    low: float | None = None
    """Smallest allowed number (inclusive), or None."""

    high: float | None = None
    """Largest allowed number (inclusive), or None."""

    low_open: bool = False
    """True when `low` itself is not allowed (the number must be greater)."""

    also: Callable[[str], bool] | None = None
    """For a choice field: what else is allowed besides `choices` (device's `cuda:N`)."""

    said: str = ""
    """What is allowed, as `allowed()` says it, when its kind and range do not say it all
    (device's "or cuda:N"; noise_factor's range, which depends on the noise kind)."""

    @property
    def flag(self) -> str:
        """The CLI flag: `--batch-size` for `batch_size`."""
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        """What is allowed, as a phrase: 'a whole number from 1 to 4096'."""
        if self.said:
            return self.said
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "path":
            return "an existing folder, or empty for none"
        whole = self.kind in ("int", "optional-int")
        noun = "a whole number" if whole else "a number"
        low = "above" if self.low_open else "from"
        assert self.low is not None and self.high is not None
        lo, hi = (int(self.low), int(self.high)) if whole else (format_number(self.low), format_number(self.high))
        text = f"{noun} {low} {lo} to {hi}"
        if self.kind == "optional-int":
            text += ", or empty for all"
        return text

    def check(self, value: object) -> str | None:
        """None when `value` is allowed for this field, else the message saying what is."""
        problem = self._problem(value)
        return None if problem is None else problem or f"must be {self.allowed()} (got {_describe(value)})"

    def _problem(self, value: object) -> str | None:
        """None when allowed; "" for the usual message (built by `check` only then: every run
        folder's config is judged when a runs folder is listed, and 3,000 runs spent 0.1 s
        writing messages for values that were fine); else a message of its own."""
        if self.kind == "choice":
            ok = isinstance(value, str) and (value in self.choices or (self.also is not None and self.also(value)))
            return None if ok else ""
        if self.kind == "bool":
            return None if isinstance(value, bool) else ""
        if self.kind == "path":
            if value is None:
                return None
            if not isinstance(value, str) or not value:
                return ""
            return None if os.path.isdir(value) else f"must be an existing folder (got {_describe(value)})"
        if self.kind == "optional-int" and value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return ""
        if self.kind in ("int", "optional-int") and not isinstance(value, int):
            return ""
        if isinstance(value, float) and not math.isfinite(value):
            return ""  # (an int is compared exactly below: a float() of a huge one overflows)
        assert self.low is not None and self.high is not None
        too_low = value <= self.low if self.low_open else value < self.low
        return "" if too_low or value > self.high else None

    def parse(self, text: str) -> Any:
        """Text to a value of the field's type; raises `FieldError` when it cannot be read.

        Only the type is judged here; ranges are judged by `check` (through `validate`).
        """
        raw = text.strip()
        try:
            return _PARSERS[self.kind](self, raw)
        except ValueError:
            raise FieldError(self.name, f"must be {self.allowed()} (got {_describe(raw)})") from None


def _is_cuda_index(value: str) -> bool:
    head, _, tail = value.partition(":")
    return head == "cuda" and tail.isdigit()


def _parse_bool(spec: FieldSpec, raw: str) -> bool:
    low = raw.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _parse_number(spec: FieldSpec, raw: str) -> int | float:
    if spec.kind == "optional-int" and raw.lower() in ("", "all", "none"):
        return None  # type: ignore[return-value]
    return int(raw) if spec.kind in ("int", "optional-int") else float(raw)


_PARSERS: dict[str, Callable[[FieldSpec, str], Any]] = {
    "choice": lambda spec, raw: raw.lower(),
    "bool": _parse_bool,
    "int": _parse_number,
    "optional-int": _parse_number,
    "float": _parse_number,
    "path": lambda spec, raw: os.path.expanduser(raw) if raw else None,
}

_T = TypeVar("_T")


def _field(
    default: _T,
    label: str,
    kind: str,
    choices: tuple[str, ...] = (),
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    also: Callable[[str], bool] | None = None,
    said: str = "",
) -> _T:
    """A `TrainConfig` field with its default and its `FieldSpec` (in the field's metadata; the
    spec's name is the field's, filled in by `FIELD_SPECS`)."""
    spec = FieldSpec("", label, kind, choices, low, high, low_open, also, said)
    return field(default=default, metadata={"spec": spec})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run does.

    Each field is declared once, with its default and its `FieldSpec` (label, kind, what is
    allowed: `_field`); `FIELD_SPECS` is read from them, in this order (the form's).
    """

    dataset: str = _field("fashion-mnist", "Dataset", "choice", tuple(DATASETS))
    """Which dataset to train on: a key of `DATASETS`."""

    source: str = _field("auto", "Data source", "choice", tuple(SOURCES))
    """Where the images come from: a key of `SOURCES`."""

    data_dir: str | None = _field(None, "Data folder", "path")
    """A folder with the four IDX files (plain or .gz) or torchvision's layout; None: none given."""

    noise: str = _field("gaussian", "Noise", "choice", tuple(NOISE_KINDS))
    """Noise kind added to the clean images: a key of `NOISE_KINDS`."""

    noise_factor: float = _field(
        0.5, "Noise factor", "float", low=0.0, high=5.0, said="a number in the noise kind's range"
    )  # judged with the kind in `validate`
    """Noise strength; its meaning and range depend on the kind (`NOISE_KINDS`). The reference:
    gaussian 0.5. A kind named without a factor (a flag, a form, a sweep, a config.json) takes
    its own default through `with_changes`; `TrainConfig(noise=...)` alone keeps 0.5."""

    clamp: bool = _field(False, "Clamp to 0-1", "bool")
    """Clamp noisy images to [0, 1]. Off by default, as in the reference."""

    model: str = _field("seed", "Model", "choice", tuple(MODELS))
    """Model architecture: a key of `MODELS`."""

    loss: str = _field("mse", "Loss", "choice", tuple(LOSSES))
    """Training loss: a key of `LOSSES`."""

    batch_size: int = _field(64, "Batch size", "int", low=1, high=8192)
    """Images per training step."""

    lr: float = _field(1e-3, "Learning rate", "float", low=0.0, high=1.0, low_open=True)
    """Adam learning rate."""

    weight_decay: float = _field(1e-5, "Weight decay", "float", low=0.0, high=1.0)
    """Adam weight decay (L2 penalty)."""

    epochs: int = _field(10, "Epochs", "int", low=1, high=10000)
    """Passes over the training set."""

    seed: int = _field(0, "Seed", "int", low=0, high=2**31 - 1)
    """Seed for weights, shuffling and noise; the same seed gives the same run."""

    device: str = _field(
        "auto", "Device", "choice", DEVICES, also=_is_cuda_index, said=f"one of {', '.join(DEVICES)} or cuda:N"
    )
    """Where to train: auto, cpu, cuda, cuda:N or mps."""

    train_limit: int | None = _field(None, "Train limit", "optional-int", low=1, high=10_000_000)
    """Train on only the first N training images (tests, quick demos); None: all of them."""

    threads: int = _field(0, "CPU threads", "int", low=0, high=1024)
    """CPU threads torch may use in the training thread; 0: torch's default (all cores)."""

    def validate(self, gpus: Sequence[GpuChoice] | None = None) -> list[FieldError]:
        """Every problem with this config, one `FieldError` per bad field; empty when it is good.

        Fields are judged alone, then together: the noise factor's range depends on the kind, and
        whether a data source can serve the dataset at all depends on both (`_source_errors`).
        With `gpus`, the GPUs of the machine that is to train it, a `cuda:N` it lacks is an error
        naming those it has (`device_problem`); without, the device is judged by its form only (a
        run read back may have trained on another machine).
        """
        errors = []
        for spec in FIELD_SPECS.values():
            message = spec.check(getattr(self, spec.name))
            if message:
                errors.append(FieldError(spec.name, message))
        missing = None if any(e.field == "device" for e in errors) else device_problem(self.device, gpus)
        if missing:
            errors.append(FieldError("device", missing))
        factor = self.noise_factor
        is_number = isinstance(factor, (int, float)) and not isinstance(factor, bool)
        finite = is_number and (isinstance(factor, int) or math.isfinite(factor))  # no float() of a huge int
        if finite and not any(e.field == "noise" for e in errors):
            # The kind's own range, said with its meaning, replaces the widest one.
            kind = NOISE_KINDS[self.noise]
            errors = [e for e in errors if e.field != "noise_factor"]
            if not kind.accepts(factor):
                errors.append(
                    FieldError(
                        "noise_factor",
                        (
                            f"must be {kind.allowed()} for {self.noise} noise, the {kind.factor} "
                            f"(got {_describe(self.noise_factor)})"
                        ),
                    )
                )
        if not any(e.field in ("dataset", "source", "data_dir") for e in errors):
            errors += self._source_errors()
        return errors

    def _source_errors(self) -> list[FieldError]:
        """A source that cannot serve the dataset whatever is on disk: judged here, as it is typed,
        rather than by the loader after Start (`dae_tui.training.data` raises the same for safety)."""
        if self.source == "bundled" and self.dataset not in BUNDLED:
            *others, last = (s for s in SOURCES if s != "bundled")
            return [
                FieldError(
                    "source",
                    (
                        f"must be {', '.join(others)} or {last} for {self.dataset}: its licence keeps it out of "
                        f"the bundled sample (got 'bundled')"
                    ),
                )
            ]
        if self.source == "local" and not self.data_dir and self.dataset != "fashion-mnist":
            return [
                FieldError(
                    "data_dir",
                    (
                        f"must name the folder holding {self.dataset}'s four IDX files when the source is "
                        f"local (only fashion-mnist has one without it: Debian's package)"
                    ),
                )
            ]
        return []

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from `to_dict()` output; unknown keys (from a newer version) are ignored.

        Nothing is judged: for data from outside (a file), use `from_json`.
        """
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def from_json(cls, data: object, *, folders_exist: bool = True) -> TrainConfig:
        """A config read from JSON (a run's config.json, a checkpoint), judged like any other.

        Raises `ConfigError` (one line) when `data` is not an object or any value is not allowed,
        e.g. `[]`, `{"dataset": 5}` or a 400-digit batch size. Unknown keys are ignored; fields
        missing take their defaults. `folders_exist=False` judges `data_dir` by type only: a
        run's data folder may be long gone by the time the run is read back.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"holds {_json_kind(data)}, expected an object of config fields")
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        for name, value in values.items():
            # JSON has one kind of number: 1 in a float field means 1.0 (a huge one stays as it
            # is, for the validator to refuse without overflowing).
            if FIELD_SPECS[name].kind == "float" and type(value) is int and value.bit_length() < 1000:
                values[name] = float(value)
        config = with_changes(cls(), values)
        # A run read back may have trained from a folder since gone, or named a source that cannot
        # serve it (it failed at once); source and folder may change on resume, so neither makes
        # the run unreadable.
        stale = set() if folders_exist else {(e.field, e.message) for e in config._source_errors()}
        errors = [
            error
            for error in config.validate()
            if (
                folders_exist
                or error.field != "data_dir"
                or not isinstance(config.data_dir, str)
                or not config.data_dir
            )
            and (error.field, error.message) not in stale
        ]
        if errors:
            raise ConfigError.from_errors(errors)
        return config


RESUME_OVERRIDABLE = frozenset({"epochs", "device", "threads", "source", "data_dir"})
"""Config fields a resumed run may change; the rest (the recipe) must match the checkpoint."""


def recipe_changes(saved: TrainConfig, values: Mapping[str, Any]) -> list[str]:
    """The fields of `saved`'s recipe (those outside `RESUME_OVERRIDABLE`) that `values` (field
    name -> typed value) would change, in `values`' order: the one rule of what a resumed run may
    not change, whether flags ask for it (`check_resume_overrides`) or its config.json says it."""
    return [name for name, value in values.items() if name not in RESUME_OVERRIDABLE and getattr(saved, name) != value]


def check_resume_overrides(saved: TrainConfig, overrides: Mapping[str, Any]) -> None:
    """Raise `ConfigError` (one line) when `overrides` would change `saved`'s recipe, i.e. any
    field outside `RESUME_OVERRIDABLE`; the CLI, the engine and the dashboard all judge by this."""
    fixed = sorted(recipe_changes(saved, overrides))
    if fixed:
        name = fixed[0]
        raise ConfigError(
            f"{FIELD_SPECS[name].flag} cannot change on --resume (the run used "
            f"{format_number(getattr(saved, name))}; only "
            f"{', '.join(FIELD_SPECS[n].flag for n in sorted(RESUME_OVERRIDABLE))} may change)"
        )


class FieldError(ValueError, DaeError):
    """One field's problem: `field` is the config field name, `message` says what is allowed.

    `str()` names the field by its command-line flag; `labelled` by its form label.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{FIELD_SPECS[field].flag} {message}")
        self.field = field
        self.message = message

    @property
    def labelled(self) -> str:
        """The error as the dashboard says it: 'Learning rate must be ...'."""
        return f"{FIELD_SPECS[self.field].label} {self.message}"


class ConfigError(ValueError, DaeError):
    """A config (or a request to run one) that cannot be used; `str()` is one line."""

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []

    @classmethod
    def from_errors(cls, errors: list[FieldError]) -> ConfigError:
        """Join several field errors into one line."""
        return cls("; ".join(str(e) for e in errors), errors)


def _named_spec(config_field: Field[Any]) -> FieldSpec:
    spec = config_field.metadata["spec"]
    assert isinstance(spec, FieldSpec)
    return replace(spec, name=config_field.name)


FIELD_SPECS: dict[str, FieldSpec] = {f.name: _named_spec(f) for f in fields(TrainConfig)}
"""One spec per `TrainConfig` field, in form order (the dataclass's: each is declared there)."""


def flags_to_labels(text: str) -> str:
    """A message written for the command line, with each config flag replaced by its form label."""
    for spec in sorted(FIELD_SPECS.values(), key=lambda s: -len(s.flag)):
        text = text.replace(spec.flag, spec.label)
    return text


def parse_field(name: str, text: str) -> Any:
    """Parse one field's text; raises `FieldError` naming the field and what is allowed."""
    return FIELD_SPECS[name].parse(text)


def carried_factor(old: str, new: str, factor: float | None) -> float | None:
    """The noise factor once the kind changes from `old` to `new` with no factor given.

    One kind's default is no sensible factor for another (gaussian's 0.5 blacks or whitens half
    the pixels as salt-pepper), so a factor still at the old kind's default, or none (None), becomes
    the new kind's default; a factor someone chose is kept, for the validator to judge.
    """
    old_kind, new_kind = NOISE_KINDS.get(old), NOISE_KINDS.get(new)
    if new_kind is None or old == new:
        return factor
    if factor is None or (old_kind is not None and factor == old_kind.default):
        return new_kind.default
    return factor


def with_changes(base: TrainConfig, changes: Mapping[str, Any]) -> TrainConfig:
    """`base` with `changes` (typed values), a new noise kind with no factor among them taking its
    own default factor (`carried_factor`): what the flags, a sweep's trial and a config.json
    naming only a kind all mean."""
    values = dict(changes)
    noise = values.get("noise")
    if "noise_factor" not in values and isinstance(noise, str):
        values["noise_factor"] = carried_factor(base.noise, noise, base.noise_factor)
    return replace(base, **values)


def read_config(
    values: Mapping[str, Any], base: TrainConfig | None = None, gpus: Sequence[GpuChoice] | None = None
) -> tuple[TrainConfig | None, list[FieldError]]:
    """Apply values (field name -> text, or an already typed value) over `base` and judge them.

    Text is parsed with the field's spec; anything else (a checkbox's bool) is taken as it is.
    Returns (config, []) when everything is allowed, else (None, every field's error in form order),
    so a user fixes them all at once. `gpus`: the machine's, to judge `cuda:N` by (`validate`).
    """
    errors: list[FieldError] = []
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        if not isinstance(value, str):
            parsed[name] = value
            continue
        try:
            parsed[name] = parse_field(name, value)
        except FieldError as err:
            errors.append(err)
    config = with_changes(base or TrainConfig(), parsed)
    failed = {e.field for e in errors}
    errors += [e for e in config.validate(gpus) if e.field not in failed]
    order = list(FIELD_SPECS)
    errors.sort(key=lambda e: order.index(e.field))
    return (None if errors else config), errors


def config_from_strings(values: Mapping[str, str], base: TrainConfig | None = None) -> TrainConfig:
    """Like `read_config`, but raises `ConfigError` (one line naming every bad field)."""
    config, errors = read_config(values, base)
    if config is None:
        raise ConfigError.from_errors(errors)
    return config


RUN_CONFIG_NAME = "config.json"
"""The file in each run folder that holds the run's `TrainConfig` as JSON."""
