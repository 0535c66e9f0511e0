"""The dashboard's modal screens: every key of every tab (`?`), and quitting a run (`q`).

`KEYS` is the one list of the dashboard's keys: the help screen shows it, and a test checks that
each key the app binds is in it.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["KEYS", "HelpScreen", "QuitScreen"]

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Everywhere", (
        ("s", "start a run with the form's settings (or continue the run being resumed)"),
        ("p", "pause the run at the next batch; p again continues"),
        ("x", "stop at the next batch (the last finished epoch is kept); cancels a pending start"),
        ("q", "quit; asks first while a run is going, then prints how to resume it"),
        ("t  i  l", "show the Train, Images or Log tab"),
        ("N", "while resuming a run: forget it and start a new run instead"),
        ("? F1", "this help; Esc or ? closes it"),
        ("Ctrl+P", "command palette: the actions above, themes, a screenshot"),
    )),
    ("Train", (
        ("Tab Shift+Tab", "move through the form; a bad field turns red and says what is allowed"),
        ("Esc", "leave a text field, so the keys above work again"),
        ("Enter  ← →", "on a choice field: open its list / step to the previous or next option"),
        ("space", "toggle Clamp"),
        ("g", "chart: linear or log MSE axis"),
    )),
    ("Images", (
        ("← →", "select the previous / next picture (its noisy and denoised PSNR are shown)"),
        ("[  ]", "step back / forward through the run's epochs (0 is before training)"),
        ("z", "picture size: auto (the largest that fits), full, half"),
        ("↑ ↓", "scroll, when a fixed size is taller than the terminal"),
    )),
)
"""Every key, by the tab where it works."""


class HelpScreen(ModalScreen[None]):
    """Every key of every tab; Esc, ? or F1 closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90; max-width: 96%; height: auto; max-height: 96%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    HelpScreen VerticalScroll { height: auto; max-height: 100%; }
    HelpScreen #help-title { text-style: bold; width: 100%; }
    """
    BINDINGS = [Binding("escape,question_mark,f1", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("dae-tui keys  (Esc closes)", id="help-title")
            with VerticalScroll():
                yield Static(self._table(), id="help-keys")

    @staticmethod
    def _table() -> Table:
        table = Table(box=None, show_header=False, padding=(0, 1), expand=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("does")
        for section, keys in KEYS:
            table.add_row(Text(section, style="underline"), "")
            for key, does in keys:
                table.add_row(key, does)
        return table

    def action_close(self) -> None:
        self.dismiss(None)


class QuitScreen(ModalScreen[bool]):
    """Asks before quitting while a run is going: y or q quits, n or Esc keeps training."""

    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Static {
        width: auto; max-width: 90%; height: auto;
        border: round $warning; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("y,q", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Keep training"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.question}\n\ny / q: quit    n / Esc: keep training"), id="quit-question")

    def action_answer(self, quit_: bool) -> None:
        self.dismiss(quit_)
