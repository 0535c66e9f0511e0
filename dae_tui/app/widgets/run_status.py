"""The progress panel: state, `Epoch N/M`, a batch bar, images/s, ETA, device and data source.

Its fields are reactives set by the app's message handlers; rendering follows them.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Label, ProgressBar

__all__ = ["STATES", "RunStatus"]

STATES = ("idle", "loading", "training", "paused", "finished", "stopped", "failed")
"""Every state a run can be in, as the panel shows it."""


class RunStatus(Vertical):
    """Two lines about the current run, docked under the main area."""

    DEFAULT_CSS = """
    RunStatus { height: 2; padding: 0 1; background: $boost; }
    RunStatus Horizontal { height: 1; }
    RunStatus #state { width: 12; text-style: bold; }
    RunStatus #epoch { width: 14; }
    RunStatus ProgressBar { width: 30; }
    RunStatus #bar Bar { width: 22; }
    RunStatus #speed { width: 1fr; color: $text-muted; }
    RunStatus #where { width: 1fr; color: $text-muted; }
    RunStatus.-idle #state { color: $text-muted; }
    RunStatus.-loading #state, RunStatus.-paused #state { color: $warning; }
    RunStatus.-training #state, RunStatus.-finished #state { color: $success; }
    RunStatus.-stopped #state { color: $warning; }
    RunStatus.-failed #state { color: $error; }
    """

    # init=False: the labels get their first text in compose, before any watcher could run.
    state: reactive[str] = reactive("idle", init=False)
    """One of `STATES`."""
    epoch: reactive[int] = reactive(0, init=False)
    """The epoch in progress (or last finished)."""
    epochs: reactive[int] = reactive(0, init=False)
    """Epochs in the run."""
    speed: reactive[str] = reactive("", init=False)
    """Images per second and ETA, as shown."""
    where: reactive[str] = reactive("No run yet: set up the form and press s.", init=False)
    """Dataset (saying when it is the bundled sample), data source and device."""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(f"● {self.state}", id="state")
            yield Label("", id="epoch")
            # A known total from the start: an indeterminate bar animates forever while idle.
            yield ProgressBar(total=1, show_eta=False, id="bar")
            yield Label("", id="speed")
        yield Label(self.where, id="where")

    def on_mount(self) -> None:
        self.set_class(True, f"-{self.state}")

    def watch_state(self, state: str) -> None:
        for other in STATES:
            self.set_class(other == state, f"-{other}")
        self.query_one("#state", Label).update(f"● {state}")

    def _show_epoch(self) -> None:
        text = f"Epoch {self.epoch}/{self.epochs}" if self.epochs else ""
        self.query_one("#epoch", Label).update(text)

    def watch_epoch(self) -> None:
        self._show_epoch()

    def watch_epochs(self) -> None:
        self._show_epoch()

    def watch_speed(self, text: str) -> None:
        self.query_one("#speed", Label).update(text)

    def watch_where(self, text: str) -> None:
        self.query_one("#where", Label).update(text)

    def set_batch(self, done: int, total: int) -> None:
        """Move the batch bar within the current epoch."""
        self.query_one("#bar", ProgressBar).update(total=total, progress=done)
