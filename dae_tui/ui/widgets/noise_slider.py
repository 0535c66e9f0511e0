"""The Inspect tab's noise control: a kind and a factor on a one-line slider, for keys and mouse.

    gaussian (k)  1.25  ├──────●─────────────────────┤ 5  · trained 0.5 (o)

Click or drag on the track to set the factor, click the kind's name for the next kind; the app's
keys nudge the factor (- +), cycle the kind (k) and go back to the run's trained noise (o). Each
change posts `NoiseSlider.Changed`. The factor moves in round steps (`factor_step`), so a value
read off the screen can be typed into the form.
Imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from dae_tui.core.config import NOISE_KINDS, format_number
from dae_tui.ui.widgets.loss_chart import round_step

__all__ = ["NoiseSlider", "factor_step"]

TRACK_MIN = 10
"""The shortest track worth drawing (cells)."""


def factor_step(kind: str) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about 50 steps across the kind's range."""
    facts = NOISE_KINDS[kind]
    return round_step((facts.high - facts.low) / 50, tolerance=1e-3)


class NoiseSlider(Widget):
    """A noise kind and a factor within that kind's range."""

    DEFAULT_CSS = "NoiseSlider { height: 1; width: 1fr; padding: 0 1; }"

    kind: reactive[str] = reactive("gaussian")
    factor: reactive[float] = reactive(0.5)
    trained: reactive[tuple[str, float] | None] = reactive(None)
    """The run's own noise (kind, factor), marked on the track."""

    @dataclass
    class Changed(Message):
        """The user picked another kind or factor."""

        slider: NoiseSlider
        kind: str
        factor: float

        @property
        def control(self) -> NoiseSlider:
            return self.slider

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._track = (0, 0)
        """(first cell, width) of the track in the last render, for the mouse."""
        self._dragging = False

    # --- what the keys do ----------------------------------------------------------------------

    @property
    def low(self) -> float:
        facts = NOISE_KINDS[self.kind]
        return facts.low + (factor_step(self.kind) if facts.low_open else 0.0)

    @property
    def high(self) -> float:
        return NOISE_KINDS[self.kind].high

    def set_noise(self, kind: str, factor: float, announce: bool = True) -> None:
        """Show `kind` at `factor` (kept within the kind's range); post `Changed` if it changed."""
        if kind not in NOISE_KINDS:
            return
        before = (self.kind, self.factor)
        self.kind = kind
        self.factor = round(min(self.high, max(self.low, factor)), 6)
        if announce and (self.kind, self.factor) != before:
            self.post_message(self.Changed(self, self.kind, self.factor))

    def nudge(self, steps: int) -> None:
        """Move the factor by whole steps, landing on the step grid."""
        step = factor_step(self.kind)
        self.set_noise(self.kind, (round(self.factor / step) + steps) * step)

    def cycle_kind(self, step: int = 1) -> None:
        """The next kind, at the run's own factor if it trained on it, else the kind's default."""
        kinds = list(NOISE_KINDS)
        kind = kinds[(kinds.index(self.kind) + step) % len(kinds)]
        trained = self.trained
        self.set_noise(kind, trained[1] if trained and trained[0] == kind else NOISE_KINDS[kind].default)

    def to_trained(self) -> None:
        """Back to the noise the run was trained with."""
        if self.trained:
            self.set_noise(*self.trained)

    # --- drawing and the mouse ---------------------------------------------------------------------

    def _position(self, factor: float, width: int) -> int:
        span = self.high - self.low or 1.0
        return round((factor - self.low) / span * (width - 1))

    def render(self) -> Text:
        width = self.content_region.width or self.size.width
        head = Text.assemble((f"{self.kind}", "bold"), (" (k) ", "dim"), (f"{format_number(self.factor):>5} ", "bold"))
        trained = self.trained
        tail = Text(f" {format_number(self.high)}", style="dim")
        if trained:
            tail.append(f" · trained {trained[0]} {format_number(trained[1])} (o)", style="dim")
        track = width - len(head) - 2 - len(tail)
        if track < TRACK_MIN:  # a narrow terminal: the track first, the reminder goes
            tail = Text(f" {format_number(self.high)}", style="dim")
            track = max(TRACK_MIN, width - len(head) - 2 - len(tail))
        self._track = (len(head) + 1, track)
        cells = ["─"] * track
        if trained and trained[0] == self.kind:
            cells[self._position(trained[1], track)] = "┼"
        cells[self._position(self.factor, track)] = "●"
        bar = Text.assemble(("├", "dim"), ("".join(cells), "bold"), ("┤", "dim"))
        text = Text.assemble(head, bar, tail)
        text.truncate(width)
        return text

    def _factor_at(self, x: int) -> float | None:
        first, width = self._track
        if width <= 1 or not first - 1 <= x <= first + width:
            return None
        share = min(1.0, max(0.0, (x - first) / (width - 1)))
        step = factor_step(self.kind)
        return round((self.low + share * (self.high - self.low)) / step) * step

    def on_mouse_down(self, event: events.MouseDown) -> None:
        x = event.get_content_offset_capture(self).x  # the track is laid out inside the padding
        if x < self._track[0] - 1:  # on the kind's name
            self.cycle_kind(-1 if event.button == 3 else 1)
            return
        factor = self._factor_at(x)
        if factor is None:
            return
        self._dragging = True
        self.capture_mouse()
        self.set_noise(self.kind, factor)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            first, width = self._track
            x = event.get_content_offset_capture(self).x
            factor = self._factor_at(min(first + width - 1, max(first, x)))
            if factor is not None:
                self.set_noise(self.kind, factor)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()
