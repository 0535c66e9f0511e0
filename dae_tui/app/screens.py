"""The dashboard's modal screens: every key of every tab (`?`), yes/no questions (quitting a
run, deleting one) and the epoch count for extending a finished run.

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
from textual.widgets import Input, Static

__all__ = ["KEYS", "ConfirmScreen", "EpochsScreen", "HelpScreen", "QuitScreen"]

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Everywhere", (
        ("s", "start a run with the form's settings (or continue the run being resumed)"),
        ("p", "pause the run at the next batch; p again continues"),
        ("x", "stop at the next batch (the last finished epoch is kept); cancels a pending start"),
        ("q", "quit; asks first while a run is going, then prints how to resume it"),
        ("t  i  n  r  w  l", "show the Train, Images, Inspect, Runs, Sweep or Log tab"),
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
        ("m", "charts (Train and Runs): MSE or PSNR on the y axis"),
        ("a", "charts: the marked runs' train curves too, or only their test curves"),
    )),
    ("Images", (
        ("← →", "select the previous / next picture (its noisy and denoised PSNR are shown)"),
        ("[  ]", "step back / forward through the run's epochs (0 is before training)"),
        ("z", "picture size: auto (the largest that fits), full, half"),
        ("↑ ↓", "scroll, when a fixed size is taller than the terminal"),
        ("b", "compare: the marked runs' denoised rows one above the other"),
    )),
    ("Inspect", (
        ("- +", "less / more noise (or click and drag on the noise line); every picture follows"),
        ("k  K", "the next / previous noise kind (or click its name)"),
        ("o", "back to the noise the run was trained with"),
        ("← →", "select the previous / next what-if picture"),
        ("mouse", "on the canvas: the left button paints, the right button erases"),
        ("c", "clear the canvas"),
        ("u", "compute the robustness curve now (not started on its own while a run trains here)"),
        ("v", "on terminals under 160x45: robustness curve, what-if pictures or the canvas"),
    )),
    ("Runs", (
        ("space", "mark the run for the charts' overlay (up to 8; each keeps its digit and colour)"),
        ("Enter", "open it: its curves on the Train chart, its pictures in Images"),
        ("/", "filter by words in names and settings; Esc clears"),
        ("o  O", "sort by the next / previous column (or click a column header)"),
        ("v", "all settings, or only those that differ between the listed runs"),
        ("c", "copy its config into the form, to tweak and start a variant"),
        ("n", "inspect its model on the Inspect tab (Enter also makes it the one inspected)"),
        ("R", "resume a stopped or interrupted run; extend a finished one"),
        ("d", "delete it, after asking (never a run that is training)"),
    )),
    ("Sweep", (
        ("space", "mark the trial: its curves overlaid on the chart beside the scatter"),
        ("Enter", "open its run (curves on the Train chart, pictures in Images)"),
        ("n", "inspect its model on the Inspect tab"),
        ("[  ]", "the previous / next study in the storage"),
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


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y (or the extra `yes_keys`) answers yes; n or Esc answers no."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Static {
        width: auto; max-width: 90%; height: auto;
        border: round $warning; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    YES_KEYS = "y"
    """The keys that answer yes, as the question shows them."""

    def __init__(self, question: str, yes: str = "yes", no: str = "no") -> None:
        super().__init__()
        self.question = question
        self.choices = f"{self.YES_KEYS}: {yes}    n / Esc: {no}"

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.question}\n\n{self.choices}"), id="confirm-question")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def set_question(self, question: str) -> None:
        """Ask afresh: what the answer means changed while the question was open."""
        self.question = question
        if self.is_mounted:
            self.query_one("#confirm-question", Static).update(Text(f"{self.question}\n\n{self.choices}"))


class QuitScreen(ConfirmScreen):
    """Quitting while a run is going: a second q confirms too."""

    BINDINGS = [Binding("q", "answer(True)", "Quit", show=False)]
    YES_KEYS = "y / q"

    def __init__(self, question: str) -> None:
        super().__init__(question, "quit", "keep training")


class EpochsScreen(ModalScreen[int | None]):
    """Asks how many epochs a finished run should be extended to; Enter confirms, Esc cancels."""

    DEFAULT_CSS = """
    EpochsScreen { align: center middle; }
    EpochsScreen > Vertical {
        width: 64; max-width: 96%; height: auto;
        border: round $accent; background: $surface; padding: 0 1;
    }
    EpochsScreen Input { width: 100%; }
    EpochsScreen #epochs-error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, name: str, done: int) -> None:
        super().__init__()
        self.run_name, self.done = name, done

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.run_name} finished {self.done} epochs. Train it to how many epochs in all?")
            yield Input(str(self.done * 2), id="epochs-input")
            yield Static("", id="epochs-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from ..config import ConfigError, config_from_strings

        try:
            epochs = config_from_strings({"epochs": event.value}).epochs
        except ConfigError as err:
            self.query_one("#epochs-error", Static).update(err.errors[0].labelled if err.errors else str(err))
            return
        if epochs <= self.done:
            self.query_one("#epochs-error", Static).update(f"Epochs must be more than {self.done}")
            return
        self.dismiss(epochs)

    def action_cancel(self) -> None:
        self.dismiss(None)
