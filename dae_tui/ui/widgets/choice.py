"""A one-line choice field: the value and a ▼; Enter, space or a click opens the list below it.

A lighter stand-in for Textual's `Select` (one widget instead of six, the list built only when
opened): as Selects, the form's five choices were a good part of the time to the first frame
(benchmarks/NOTES.md, "A one-widget choice field instead of Select").
←/→ step through the options without opening the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Offset
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import OptionList

__all__ = ["Choice", "ChoiceMenu"]


class ChoiceMenu(ModalScreen[str | None]):
    """The open list of a Choice, placed under it; dismissed with the picked value or None."""

    DEFAULT_CSS = """
    ChoiceMenu { align: left top; background: $background 20%; }
    ChoiceMenu > OptionList {
        width: auto; min-width: 12; max-height: 12; height: auto;
        border: round $accent; padding: 0; background: $surface;
    }
    """
    BINDINGS = [Binding("escape", "dismiss_menu", "Close", show=False)]

    def __init__(
        self, options: list[str], value: str, at: Offset, width: int, notes: dict[str, str] | None = None
    ) -> None:
        super().__init__()
        self.options = options
        self.notes = notes or {}
        self.value = value
        self.at = at
        self.width = width

    def compose(self) -> ComposeResult:
        pad = max(len(option) for option in self.options) + 2
        labels = [Text(option.ljust(pad)) + Text(self.notes.get(option, ""), style="dim") for option in self.options]
        menu = OptionList(*labels, id="choices")
        menu.styles.offset = (max(0, self.at.x - 1), self.at.y)
        menu.styles.min_width = self.width + 2
        yield menu

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        menu.highlighted = self.options.index(self.value)
        menu.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.options[event.option_index])

    def on_click(self, event: Click) -> None:
        if self.get_widget_at(event.screen_x, event.screen_y)[0] is self:
            self.dismiss(None)  # a click outside the list closes it

    def action_dismiss_menu(self) -> None:
        self.dismiss(None)


class Choice(Widget, can_focus=True):
    """Pick one of `options`; `value` is the picked one and a change posts `Choice.Changed`."""

    DEFAULT_CSS = """
    Choice { height: 1; width: 1fr; background: $boost; padding: 0 1 0 0; }
    Choice:focus { background: $block-cursor-background; color: $block-cursor-foreground; }
    Choice:disabled { color: $text-disabled; }
    """
    BINDINGS = [
        Binding("enter,space", "open", "Choose", show=False),
        Binding("left", "step(-1)", "Previous", show=False),
        Binding("right", "step(1)", "Next", show=False),
    ]

    value: reactive[str] = reactive("")
    """The option picked."""

    @dataclass
    class Changed(Message):
        """`choice.value` changed (by the user or in code)."""

        choice: Choice
        value: str

        @property
        def control(self) -> Choice:
            return self.choice

    def __init__(
        self,
        options: list[str],
        value: str,
        *,
        tooltip: str | None = None,
        notes: dict[str, str] | None = None,
        **kwargs,
    ) -> None:
        """`notes`: a few words shown dim after an option (a model's parameter count, say)."""
        super().__init__(**kwargs)
        self.tooltip = tooltip
        self.notes = notes or {}
        self.options = list(options)
        self.set_reactive(Choice.value, self.validate_value(value))

    def render(self) -> Text:
        width = max(1, self.content_region.width - 2)
        note = self.notes.get(self.value, "")
        if note and len(self.value) + 2 + len(note) <= width:
            text = Text(self.value + "  ") + Text(note, style="dim")
            text.pad_right(width - text.cell_len)
            return text + Text(" ▼")
        return Text(self.value[:width].ljust(width) + " ▼", no_wrap=True)

    def validate_value(self, value: str) -> str:
        """Any value is accepted; one outside the options joins them, so `value` is always listed."""
        if value not in self.options:
            self.options.append(value)  # e.g. cuda:1 from a resumed run's config
        return value

    def watch_value(self, value: str) -> None:
        self.post_message(self.Changed(self, value))

    def action_step(self, delta: int) -> None:
        index = self.options.index(self.value)
        self.value = self.options[(index + delta) % len(self.options)]

    def action_open(self) -> None:
        region = self.region
        menu = ChoiceMenu(self.options, self.value, Offset(region.x, region.y + 1), region.width, self.notes)

        def picked(value: str | None) -> None:
            if value is not None:
                self.value = value
            self.focus()

        self.app.push_screen(menu, picked)

    def on_click(self, event: Click) -> None:
        event.stop()
        if not self.disabled:
            self.action_open()
