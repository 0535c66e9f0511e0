"""The dashboard's modal screens: every key of every tab (`?`), yes/no questions (quitting a
run, deleting one) and the epoch count for extending a finished run.

The help's rows are generated from the bindings (`dae_tui.ui.keys`), so it can never miss a key
or describe one that is gone.
"""

from __future__ import annotations

import re
from typing import TypeVar

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from dae_tui.core.formatting import plural, printable_lines
from dae_tui.ui.plain import plain

__all__ = ["ConfirmScreen", "EpochsScreen", "HelpScreen", "QuitScreen"]

Sections = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
"""The help's contents: (section, ((keys, what they do), ...)) by the tab where they work."""


SCROLL = Binding.Group("Scroll", compact=True)


def dialog_footer() -> Footer:
    """The footer a dialog shows in place of the tab's: only the dialog's own keys (Textual's
    footer shows the bindings up to the nearest modal screen), so none of the tab's keys it
    hides seems to promise something it would not do (`t` typed into a field instead)."""
    return Footer(show_command_palette=False)


class HelpScreen(ModalScreen[None]):
    """Every key of every tab, opened at the keys of the tab it was asked from.

    It scrolls with the keys people try first (↑ ↓, PgUp PgDn, Home End, space) whatever has the
    focus, and `/` opens a filter line that keeps only the rows whose key, description or tab
    name hold every word typed; Esc closes the filter, then the help.
    """

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 92; max-width: 96%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    /* stable: its auto height is measured at the width its scrollbar leaves, or a filtered list
       one wrapped row too tall would show a scrollbar for one line */
    HelpScreen VerticalScroll { height: auto; max-height: 100%; scrollbar-gutter: stable; }
    HelpScreen #help-title { text-style: bold; width: 100%; }
    HelpScreen #help-filter { display: none; margin-bottom: 1; }
    HelpScreen #help-filter.-shown { display: block; }
    HelpScreen #help-none { display: none; color: $text-muted; }
    HelpScreen .help-section { padding-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("question_mark,f1", "close", "Close", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        # priority: the filter line (a scroll view itself) would take ↑ ↓ PgUp PgDn for its own
        # single line; Home, End and space stay the field's while it has the focus.
        Binding("up", "scroll('scroll_up')", "Up", key_display="↑", group=SCROLL, priority=True),
        Binding("down", "scroll('scroll_down')", "Down", key_display="↓", group=SCROLL, priority=True),
        Binding("pageup", "scroll('page_up')", "Page up", key_display=" PgUp", group=SCROLL, priority=True),
        Binding("pagedown", "scroll('page_down')", "Page down", key_display=" PgDn", group=SCROLL, priority=True),
        Binding("space", "scroll('page_down')", "Page down", show=False),
        Binding("home", "scroll('scroll_home')", "Top", show=False),
        Binding("end", "scroll('scroll_end')", "End", show=False),
    ]

    def __init__(self, tab: str | None = None, sections: Sections | None = None) -> None:
        """`tab`: the id of the tab the help is asked from (train, runs, ...); its section opens.
        `sections`: what it lists; by default every binding's row (`keys.help_sections`)."""
        super().__init__()
        self.tab = tab
        if sections is None:
            from dae_tui.ui.keys import help_sections  # walks the App and panes, which import this module

            sections = help_sections()
        self.sections = sections
        self.key_width = max(cell_len(key) for _, keys in sections for key, _ in keys)
        """The key column's width, the same in every section so they line up as one table."""
        self.words: tuple[str, ...] = ()
        """The filter's words, lower case; empty: every row."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("dae-tui keys", id="help-title")
            yield Input(
                placeholder="filter: words in a key or what it does (Esc closes)", compact=True, id="help-filter"
            )
            with VerticalScroll(id="help-scroll", can_focus=False):
                for section, keys in self.sections:
                    table = self._table(section, keys)  # None only for a section without rows
                    yield Static(
                        table if table is not None else "", id=f"help-{section.lower()}", classes="help-section"
                    )
                yield Static("", id="help-none")
        yield dialog_footer()

    def on_mount(self) -> None:
        if self.tab and self.query(f"#help-{self.tab}"):
            # Once laid out: the section's place is only known then.
            self.call_after_refresh(self._open_at_tab)

    def _open_at_tab(self) -> None:
        """The tab's section at the top, unless it is in full view already under the keys that
        work everywhere (the Train tab's, from about 100x30)."""
        section = self.query_one(f"#help-{self.tab}")
        scroll = self.query_one("#help-scroll", VerticalScroll)
        if section.virtual_region.bottom > scroll.scrollable_content_region.height:
            scroll.scroll_to_widget(section, animate=False, top=True)

    def _table(self, section: str, keys: tuple[tuple[str, str], ...]) -> Table | None:
        """One section's rows that hold every filter word at the start of a word (`del` finds
        delete, not model), or None when no row does."""
        rows = [
            (key, does)
            for key, does in keys
            if all(re.search(rf"(?<!\w){re.escape(word)}", f"{section} {key} {does}".lower()) for word in self.words)
        ]
        if not rows:
            return None
        table = Table(box=None, show_header=False, padding=(0, 1), expand=False)
        table.add_column("key", style="bold", no_wrap=True, min_width=self.key_width)
        table.add_column("does")
        here = section.lower() == self.tab
        table.add_row(Text(section, style="underline"), Text("(this tab)", style="italic") if here else "")
        for key, does in rows:
            table.add_row(key, does)
        return table

    def show_only(self, text: str) -> None:
        """Keep the rows that hold every word of `text` (all of them for an empty one)."""
        self.words = tuple(text.lower().split())
        shown = 0
        with self.app.batch_update():
            for section, keys in self.sections:
                table = self._table(section, keys)
                widget = self.query_one(f"#help-{section.lower()}", Static)
                widget.display = table is not None
                if table is not None:
                    widget.update(table)
                    shown += 1
            none = self.query_one("#help-none", Static)
            none.update(plain(f"no key matches {text.strip()!r}"))
            none.display = not shown
            self.query_one("#help-scroll", VerticalScroll).scroll_home(animate=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.show_only(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.set_focus(None)  # Enter keeps the filter and gives the keys back (space scrolls again)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter":  # typing in the filter, `/` is a character like any other
            return self.focused is not self.query_one("#help-filter")
        return True

    def action_filter(self) -> None:
        field = self.query_one("#help-filter", Input)
        field.add_class("-shown")
        field.focus()
        self.refresh_bindings()

    def action_scroll(self, how: str) -> None:
        getattr(self.query_one("#help-scroll", VerticalScroll), f"action_{how}")()

    def action_close(self) -> None:
        """Esc closes the filter first (showing every row again), then the help."""
        field = self.query_one("#help-filter", Input)
        if field.has_class("-shown"):
            field.remove_class("-shown")
            field.value = ""
            self.set_focus(None)
            self.show_only("")
            return
        self.dismiss(None)


AnswerType = TypeVar("AnswerType")


class QuestionScreen(ModalScreen[AnswerType]):
    """A question and its answers (`choices`, as the keys show them) in a box over the screen."""

    DEFAULT_CSS = """
    QuestionScreen { align: center middle; }
    QuestionScreen > Static {
        width: auto; max-width: 90%; height: auto;
        border: round $warning; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, question: str, choices: str) -> None:
        super().__init__()
        self.question = question
        self.choices = choices

    def compose(self) -> ComposeResult:
        yield Static(self._text(), id="confirm-question")
        yield dialog_footer()

    def _text(self) -> Text:
        # Line by line: the question's own line breaks stay, a name's controls are made visible.
        return Text(printable_lines(self.question) + f"\n\n{self.choices}")

    def set_question(self, question: str) -> None:
        """Ask afresh: what the answer means changed while the question was open."""
        self.question = question
        if self.is_mounted:
            self.query_one("#confirm-question", Static).update(self._text())


class ConfirmScreen(QuestionScreen[bool]):
    """A yes/no question: y (or the extra `yes_keys`) answers yes; n or Esc answers no."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    YES_KEYS = "y"
    """The keys that answer yes, as the question shows them."""

    def __init__(self, question: str, yes: str = "yes", no: str = "no") -> None:
        super().__init__(question, f"{self.YES_KEYS}: {yes}    n / Esc: {no}")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class QuitScreen(QuestionScreen["str | None"]):
    """Quitting while a run is going: keep it training in the background (the default: Enter, or
    a second q), stop it (s), or stay (n / Esc). Answers "keep", "stop" or None."""

    BINDINGS = [
        Binding("k,enter,q", "answer('keep')", "Keep training", key_display="Enter"),
        Binding("s", "answer('stop')", "Stop it"),
        Binding("n,escape", "answer('')", "Cancel", key_display="Esc"),
    ]
    CHOICES = "Enter / q: keep it training in the background   s: stop it   Esc: stay"
    """The answers, as the question shows them."""

    def __init__(self, question: str, can_keep: bool = True) -> None:
        super().__init__(question, self.CHOICES if can_keep else "Enter / q / s: stop it   Esc: stay")
        self.can_keep = can_keep
        """False where the run cannot go on in the background (no run folder yet, a runs folder
        this dashboard cannot write): then Enter and q stop it, and the answers say so."""

    def action_answer(self, answer: str) -> None:
        if answer == "keep" and not self.can_keep:
            answer = "stop"
        self.dismiss(answer or None)


class EpochsScreen(ModalScreen[int | None]):
    """Asks how many epochs a finished run should be extended to; Enter confirms, Esc cancels.

    The count is judged as it is typed, by the config's own rule plus "more than are done", so
    the reason a value will not do is on screen before Enter is pressed.
    """

    DEFAULT_CSS = """
    EpochsScreen { align: center middle; }
    EpochsScreen > Vertical {
        width: 64; max-width: 96%; height: auto;
        border: round $accent; background: $surface; padding: 0 1;
    }
    EpochsScreen Input { width: 100%; }
    EpochsScreen #epochs-error { color: $error; height: auto; }
    """
    BINDINGS = [
        # priority: ahead of the field's own Enter, so the footer shows it and it does the same.
        Binding("enter", "submit", "Extend", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, name: str, done: int) -> None:
        super().__init__()
        self.run_name, self.done = name, done

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                plain(f"{self.run_name} finished {plural(self.done, 'epoch')}. Train it to how many epochs in all?")
            )
            yield Input(str(self.done * 2), id="epochs-input")
            yield Static("", id="epochs-error")
        yield dialog_footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def judge(self, text: str) -> tuple[int | None, str]:
        """(the epochs `text` asks for, "") or (None, the one-line reason it will not do)."""
        from dae_tui.core.config import FIELD_SPECS, ConfigError, config_from_strings

        try:
            epochs = config_from_strings({"epochs": text}).epochs
        except ConfigError as err:
            return None, err.errors[0].labelled if err.errors else str(err)
        if epochs <= self.done:
            spec = FIELD_SPECS["epochs"]
            return None, (
                f"{spec.label} must be a whole number from {self.done + 1} to {int(spec.high or 0)}: "
                f"{self.done} are done (got {epochs})"
            )
        return epochs, ""

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#epochs-error", Static).update(plain(self.judge(event.value)[1]))

    def action_submit(self) -> None:
        epochs, reason = self.judge(self.query_one(Input).value)
        if epochs is None:
            self.query_one("#epochs-error", Static).update(plain(reason))
            return
        self.dismiss(epochs)

    def action_cancel(self) -> None:
        self.dismiss(None)
