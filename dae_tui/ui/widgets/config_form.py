"""The hyperparameter form: one row per `TrainConfig` field, validated as you type.

Every change parses all fields with `parse_field` and judges the result with `TrainConfig.validate`,
the very code the CLI uses. A bad field is marked and shows its message; the form posts
`ConfigForm.Changed` with the config (None while anything is invalid).

The device field lists the GPUs of this machine (`cuda:0  H200, 127 GB free`) once the app's
sampler has read them (`set_gpus`, a second or so after start), and from then on a `cuda:N` the
machine lacks is an error naming those it has, as `dae-tui train` says it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Static

from dae_tui.core.config import (
    DATASETS,
    DEVICES,
    FIELD_SPECS,
    LOSSES,
    MODEL_PARAMETERS,
    MODELS,
    NOISE_KINDS,
    SOURCES,
    FieldError,
    FieldSpec,
    GpuChoice,
    TrainConfig,
    carried_factor,
    format_number,
    read_config,
)
from dae_tui.core.formatting import printable
from dae_tui.system.gpus import choices_of
from dae_tui.system.sampler import SystemSample
from dae_tui.ui.plain import plain
from dae_tui.ui.widgets.choice import Choice
from dae_tui.ui.widgets.fitted import FitLine

__all__ = ["ConfigForm"]

_CHOICE_HELP = {
    "dataset": DATASETS,
    "source": SOURCES,
    "model": MODELS,
    "loss": LOSSES,
    "noise": {name: f"{kind.description}; factor: {kind.factor}" for name, kind in NOISE_KINDS.items()},
}
_CHOICE_NOTES = {"model": {name: f"{count / 1000:,.0f}k params" for name, count in MODEL_PARAMETERS.items()}}
_PLACEHOLDERS = {"data_dir": "none", "train_limit": "all", "threads": "0 = all cores"}


def _text(value: Any) -> str:
    """A field value as the text an Input shows."""
    if value is None:
        return ""
    return format_number(value) if isinstance(value, float) else str(value)


class Toggle(Checkbox):
    """A checkbox that shows its state without colour: `▐X▌ on` or `▐ ▌ off` (NO_COLOR works)."""

    @property
    def _button(self):
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button

    def watch_value(self) -> None:
        super().watch_value()
        self.label = "on" if self.value else "off"


class ConfigForm(VerticalScroll):
    """The training config as a form; `config` is the valid config or None."""

    DEFAULT_CSS = """
    ConfigForm {
        width: 40;
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    ConfigForm .row { height: 1; margin-bottom: 0; }
    ConfigForm .row Label { width: 14; color: $text-muted; }
    ConfigForm .row > Input, ConfigForm .row > Choice { width: 1fr; }
    ConfigForm .row > Checkbox { border: none; padding: 0; height: 1; width: 1fr; background: transparent; }
    ConfigForm .error { color: $error; height: auto; display: none; padding-left: 14; }
    ConfigForm .error.-shown { display: block; }
    ConfigForm .row.-invalid Label { color: $error; text-style: bold; }
    ConfigForm .row.-invalid > Input { color: $error; }
    ConfigForm .row.-locked Label { color: $text-disabled; }
    ConfigForm #form-note { display: none; color: $warning; height: auto; }
    ConfigForm #noise-hint { color: $text-muted; height: 1; padding-left: 14; }
    """

    @dataclass
    class Changed(Message):
        """The form's content changed: `config` when valid, else None with `errors`."""

        form: ConfigForm
        config: TrainConfig | None
        errors: list[FieldError]

        @property
        def control(self) -> ConfigForm:
            return self.form

    def __init__(self, config: TrainConfig | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._initial = config or TrainConfig()
        self.config: TrainConfig | None = self._initial
        """The config the form describes, or None while a field is invalid."""
        self.errors: list[FieldError] = []
        """Every field's problem, in form order."""
        self._revalidate_pending = False
        self._error_lines: dict[str, Static] = {}
        self._controls: dict[str, Any] = {}  # field name -> its Input, Choice or Checkbox
        self._noise_kind = self._initial.noise
        """The noise kind the factor field is set for (its default is swapped on a change)."""
        self.gpus: tuple[GpuChoice, ...] | None = None
        """The GPUs `cuda:N` can name here (`set_gpus`); None until read, or where NVML cannot
        tell: then a `cuda:N` is judged when the run starts."""

    def compose(self) -> ComposeResult:
        # A row's error line is mounted the first time the field is wrong: fewer widgets to
        # style before the first frame (the form is most of the screen's widgets).
        yield Static("", id="form-note")
        for spec in FIELD_SPECS.values():
            with Horizontal(classes="row", id=f"row-{spec.name}"):
                yield Label(spec.label)
                control = self._control(spec, getattr(self._initial, spec.name))
                self._controls[spec.name] = control
                yield control
            if spec.name == "noise_factor":
                # What the factor means for the chosen kind (salt-pepper: a share of pixels, ...).
                yield FitLine(*self._noise_hint(self._initial.noise), id="noise-hint")

    def _control(self, spec: FieldSpec, value: Any) -> Widget:
        widget_id = f"field-{spec.name}"
        if spec.kind == "choice":
            helps = _CHOICE_HELP.get(spec.name, {})
            return Choice(
                list(spec.choices),
                value,
                id=widget_id,  # a value not listed (cuda:1) is kept
                tooltip="\n".join(f"{k}: {v}" for k, v in helps.items()) or None,
                notes=_CHOICE_NOTES.get(spec.name),
            )
        if spec.kind == "bool":
            return Toggle("on" if value else "off", value=bool(value), id=widget_id, compact=True)
        return Input(
            _text(value),
            placeholder=_PLACEHOLDERS.get(spec.name, ""),
            compact=True,
            id=widget_id,
            tooltip=f"{spec.allowed()}",
        )

    # --- reading and judging ----------------------------------------------------------------

    def read(self) -> tuple[TrainConfig | None, list[FieldError]]:
        """Parse and judge every field with the CLI's rules; (config, []) or (None, errors)."""
        # An Input's text, or the value a Choice or Checkbox (a bool) holds.
        return read_config({name: self._controls[name].value for name in FIELD_SPECS}, gpus=self.gpus)

    def set_gpus(self, sample: SystemSample) -> None:
        """List the GPUs of a reading of the machine among the device's choices (with each one's
        name and free memory), and judge the device by them; the form is judged again only when
        the GPUs themselves changed (free memory changes at every reading), or the device is wrong."""
        gpus = choices_of(sample)
        named = None if gpus is None else [(gpu.number, gpu.name) for gpu in gpus]
        known = None if self.gpus is None else [(gpu.number, gpu.name) for gpu in self.gpus]
        device = self._controls["device"]
        assert isinstance(device, Choice)
        self.gpus = gpus
        options = [*DEVICES, *(gpu.device for gpu in gpus or ())]
        device.options = options + ([device.value] if device.value not in options else [])  # cuda:7 stays shown
        device.notes = {gpu.device: gpu.note for gpu in gpus or ()}
        device.refresh()
        if named != known or any(e.field == "device" for e in self.errors):
            self.revalidate()

    def revalidate(self) -> None:
        """Re-read the form, mark bad fields and post `Changed`."""
        self.config, self.errors = self.read()
        bad = {e.field: e.message for e in self.errors}
        with self.app.batch_update():
            for name in FIELD_SPECS:
                row = self.get_child_by_id(f"row-{name}")
                row.set_class(name in bad, "-invalid")
                self._show_error(row, name, bad.get(name))
        self.post_message(self.Changed(self, self.config, self.errors))

    def _show_error(self, row: Widget, name: str, message: str | None) -> None:
        """Show `message` under the field's row, or hide its error line (None)."""
        error = self._error_lines.get(name)
        if error is None:
            if message is not None:
                error = Static(plain(message), classes="error -shown", id=f"error-{name}")  # quotes the input
                self._error_lines[name] = error
                self.mount(error, after=row)
            return
        error.set_class(message is not None, "-shown")
        if message is not None and str(error.render()) != printable(message):
            error.update(plain(message))  # only on change: an update asks for a relayout

    def set_config(self, config: TrainConfig) -> None:
        """Fill every field from `config` (a resumed run's, say)."""
        self._noise_kind = config.noise  # its factor comes with it: no default swapped in
        for name in FIELD_SPECS:
            widget = self.query_one(f"#field-{name}")
            value = getattr(config, name)
            if isinstance(widget, Input):
                widget.value = _text(value)
            else:
                assert isinstance(widget, (Choice, Toggle))  # what _control makes
                widget.value = value
        self.revalidate()

    def lock_fields(self, names: frozenset[str] | set[str] = frozenset(), note: str = "") -> None:
        """Disable the fields in `names` (a resumed run's recipe) with `note` above the form saying
        why; unlock the rest."""
        for name in FIELD_SPECS:
            locked = name in names
            row = self.get_child_by_id(f"row-{name}")
            row.set_class(locked, "-locked")
            self._controls[name].disabled = locked
            row.tooltip = "fixed: a resumed run keeps its recipe (N starts a new run instead)" if locked else None
        banner = self.query_one("#form-note", Static)
        banner.update(plain(note))  # names the run being resumed
        banner.display = bool(names and note)

    @property
    def locked_fields(self) -> set[str]:
        """The fields disabled by `lock_fields()`."""
        return {name for name in FIELD_SPECS if self.get_child_by_id(f"row-{name}").has_class("-locked")}

    def on_mount(self) -> None:
        self._schedule_revalidate()

    @staticmethod
    def _noise_hint(kind: str) -> tuple[str, ...]:
        """The hint's wordings: the 40-column form beside the chart has 22 cells for it, one
        short of `↳ share of pixels to 0/1`, so the arrow goes before a word does."""
        noise = NOISE_KINDS.get(kind)
        return (f"↳ {noise.short}", noise.short) if noise else ("",)

    @on(Choice.Changed, "#field-noise")
    def _noise_changed(self, event: Choice.Changed) -> None:
        """A new noise kind: say what its factor means, and take its default factor unless the
        user typed one (a factor still at the old kind's default counts as not typed)."""
        self.query_one("#noise-hint", FitLine).say(*self._noise_hint(event.value))
        if event.value == self._noise_kind:
            return  # set in code together with its factor (set_config)
        old, self._noise_kind = self._noise_kind, event.value
        factor = self._controls["noise_factor"]
        text = factor.value.strip()
        try:
            typed = float(text) if text else None
        except ValueError:
            return  # text being typed is the user's
        # The CLI's rule (`carried_factor`); it hands `typed` itself back when that is kept.
        carried = carried_factor(old, event.value, typed)
        if carried is not typed and not factor.disabled:
            factor.value = _text(carried)

    @on(Input.Changed)
    @on(Choice.Changed)
    @on(Checkbox.Changed)
    def _field_changed(self, event: Message) -> None:
        event.stop()
        self._schedule_revalidate()

    def _schedule_revalidate(self) -> None:
        """Judge the form once after this refresh, however many fields changed before it.

        Mounting the form posts a Changed for each of its 15 controls; judging each one held back
        the first frame (benchmarks/NOTES.md, "Judge the form once per refresh").
        """
        if not self._revalidate_pending:
            self._revalidate_pending = True
            self.call_after_refresh(self._revalidate_now)

    def _revalidate_now(self) -> None:
        self._revalidate_pending = False
        self.revalidate()
