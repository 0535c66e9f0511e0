"""The progress panel: state, `Epoch N/M`, a batch bar, images/s, ETA, device and data source.

Its fields are reactives set by the app's message handlers. It is one widget that renders its two
lines itself: a progress message then costs a repaint of two lines, never a relayout of the
screen. (Built from Labels and a ProgressBar, each update re-laid out ~180 widgets; at ten
updates a second that took a third of a core from training, benchmarks/NOTES.md.)
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

__all__ = ["STATES", "RunStatus"]

STATES = ("idle", "loading", "training", "paused", "finished", "stopped", "failed")
"""Every state a run can be in, as the panel shows it."""

BAR_WIDTH = 22
STATE_WIDTH = 12
EPOCH_WIDTH = 14


class RunStatus(Widget):
    """Two lines about the current run, docked under the main area."""

    COMPONENT_CLASSES = {"run-status--state", "run-status--bar", "run-status--bar-back", "run-status--muted"}

    DEFAULT_CSS = """
    RunStatus { height: 2; padding: 0 1; background: $boost; }
    RunStatus > .run-status--state { text-style: bold; }
    RunStatus > .run-status--bar { color: $accent; }
    RunStatus > .run-status--bar-back { color: $foreground 20%; }
    RunStatus > .run-status--muted { color: $text-muted; }
    RunStatus.-idle > .run-status--state { color: $text-muted; }
    RunStatus.-loading > .run-status--state, RunStatus.-paused > .run-status--state { color: $warning; }
    RunStatus.-training > .run-status--state, RunStatus.-finished > .run-status--state { color: $success; }
    RunStatus.-stopped > .run-status--state { color: $warning; }
    RunStatus.-failed > .run-status--state { color: $error; }
    RunStatus.-finished > .run-status--bar { color: $success; }
    """

    state: reactive[str] = reactive("idle", init=False)
    """One of `STATES`."""
    epoch: reactive[int] = reactive(0)
    """The epoch in progress (or last finished)."""
    epochs: reactive[int] = reactive(0)
    """Epochs in the run."""
    batch: reactive[int] = reactive(0)
    """Batches done in the current epoch."""
    batches: reactive[int] = reactive(0)
    """Batches in an epoch."""
    speed: reactive[str] = reactive("")
    """Loss, images per second and ETA, as shown."""
    where: reactive[str] = reactive("No run yet: set up the form and press s.")
    """Dataset (saying when it is the bundled sample), data source and device."""

    def on_mount(self) -> None:
        self.set_class(True, f"-{self.state}")

    def watch_state(self, state: str) -> None:
        for other in STATES:
            self.set_class(other == state, f"-{other}")

    def set_batch(self, done: int, total: int) -> None:
        """Move the batch bar within the current epoch."""
        self.batch, self.batches = done, total

    def bar_text(self) -> Text:
        """The batch bar and its percentage, as plain cells."""
        fraction = min(1.0, self.batch / self.batches) if self.batches else 0.0
        filled = round(fraction * BAR_WIDTH)
        bar = Text()
        bar.append("━" * filled, self.get_component_rich_style("run-status--bar"))
        bar.append("━" * (BAR_WIDTH - filled), self.get_component_rich_style("run-status--bar-back"))
        bar.append(f" {fraction:4.0%}  ")
        return bar

    def render(self) -> Group:
        muted = self.get_component_rich_style("run-status--muted")
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"● {self.state}".ljust(STATE_WIDTH), self.get_component_rich_style("run-status--state"))
        epoch = f"Epoch {self.epoch}/{self.epochs}" if self.epochs else ""
        line.append(epoch.ljust(EPOCH_WIDTH))
        line.append_text(self.bar_text())
        line.append(self.speed, muted)
        return Group(line, Text(self.where, style=muted, no_wrap=True, overflow="ellipsis"))
