"""The progress panel: state, epoch, a batch bar, ETA, loss, speed; device, best test, data; the
machine (GPUs, CPU, RAM, RSS: `dae_tui.system`).

Its fields are reactives set by the app's message handlers. It is one widget that renders its two
lines itself: a progress message then costs a repaint of two lines, never a relayout of the
screen. (Built from Labels and a ProgressBar, each update re-laid out every widget; at ten
updates a second that slowed training in the dashboard, benchmarks/NOTES.md.)

The lines fit the width they get: the bar shrinks first, then the least useful parts go
(img/s, then the running MSE), so at 80 columns the state, epoch, ETA, device and best test
value are always on screen. A paused run says so instead of showing a frozen ETA and speed.

The machine's figures take a third line from 30 rows up (the app's `-medium` and `-tall`
breakpoints give the panel its height); in a shorter terminal, where a chart row is dear, they go
at the end of the second line, whole items only, and are the first thing dropped. While a run
trains on a GPU its img/s stands beside that GPU's utilization: NVML reads 100% for one tiny
kernel at a time as for a saturated GPU.
"""

from __future__ import annotations

from rich.console import Group
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from dae_tui.core.formatting import cells, fit_items, fit_words, format_eta, printable
from dae_tui.system.sampler import SystemSample, run_gpu_index, system_items

__all__ = ["ACTIVE_STATES", "NO_RUN", "RUN_STATES", "STATES", "RunStatus"]

STATES = ("idle", "loading", "training", "paused", "finished", "stopped", "failed")
"""Every state of this dashboard's own run, as the panel shows it."""
RUN_STATES = ("interrupted", "pruned", "suspended", "running")
"""What else a run opened from the Runs or Sweep tab can be (`runs.info`'s statuses): the panel
shows the state of the run it speaks of, and that run may not be this dashboard's."""
NO_RUN = "No run yet: set up the form and press s."
ACTIVE_STATES = ("loading", "training", "paused")
"""The states in which a run is going (or about to): the form is locked, quitting asks first."""

BAR_MAX, BAR_MIN = 22, 6
STATE_WIDTH = 11


class RunStatus(Widget):
    """Two lines about the current run (three with the machine's), docked under the main area."""

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
    RunStatus.-running > .run-status--state { color: $success; }
    RunStatus.-interrupted > .run-status--state { color: $warning; }
    RunStatus.-suspended > .run-status--state { color: magenta; }
    RunStatus.-pruned > .run-status--state { color: $text-muted; }
    """

    state: reactive[str] = reactive("idle", init=False)
    """One of `STATES`, or of `RUN_STATES` for a run opened from another tab."""
    epoch: reactive[int] = reactive(0)
    """The epoch in progress (or last finished)."""
    epochs: reactive[int] = reactive(0)
    """Epochs in the run."""
    batch_done: reactive[int] = reactive(0)
    """Batches done in the current epoch (not `batch`: that is `Widget.batch()`, which `recompose` calls)."""
    batches: reactive[int] = reactive(0)
    """Batches in an epoch."""
    mse: reactive[float | None] = reactive(None)
    """Running train MSE of the epoch in progress."""
    images_per_s: reactive[float | None] = reactive(None)
    """Training throughput of the epoch in progress."""
    eta_s: reactive[float | None] = reactive(None)
    """Seconds until the run's last epoch ends."""
    message: reactive[str] = reactive("")
    """A short word on the state (form errors, finished, stopped) shown after the bar."""
    device: reactive[str] = reactive("")
    """Where the run trains, e.g. 'cpu ×2'."""
    best: reactive[tuple[int, float] | None] = reactive(None)
    """(epoch, test MSE) of the run's best epoch so far."""
    ssim: reactive[float | None] = reactive(None)
    """Test SSIM of the latest finished epoch."""
    where: reactive[str] = reactive(NO_RUN)
    """Dataset (saying when it is the bundled sample), sizes and data source."""
    system: reactive[SystemSample | None] = reactive(None)
    """The machine's latest reading (None until the first, a second or so after start)."""

    def on_mount(self) -> None:
        self.set_class(True, f"-{self.state}")

    def watch_state(self, state: str) -> None:
        for other in (*STATES, *RUN_STATES):
            self.set_class(other == state, f"-{other}")

    def show(
        self,
        *,
        state: str | None = None,
        epoch: int = 0,
        epochs: int = 0,
        best: tuple[int, float] | None = None,
        ssim: float | None = None,
        device: str = "",
        where: str = NO_RUN,
        message: str = "",
        batches: int = 0,
    ) -> None:
        """Speak of another run: every figure is set at once, and what is not given is cleared.

        Set one by one, each path that changed the current run left some figure of the run
        before it behind (the best test MSE of an earlier run above a failed start, its img/s
        for half a second after a resume began); one call for the whole panel cannot."""
        if state is not None:
            self.state = state
        self.epoch, self.epochs, self.best, self.ssim = epoch, epochs, best, ssim
        self.device, self.where, self.message = device, where, message
        self.set_batch(0, batches)
        self.clear_speed()

    def set_batch(self, done: int, total: int) -> None:
        """Move the batch bar within the current epoch."""
        self.batch_done, self.batches = done, total

    def clear_speed(self) -> None:
        """Forget the running figures (between runs)."""
        self.mse = self.images_per_s = self.eta_s = None

    def _bar(self, width: int) -> Text:
        fraction = min(1.0, self.batch_done / self.batches) if self.batches else 0.0
        filled = round(fraction * width)
        bar = Text()
        bar.append("━" * filled, self.get_component_rich_style("run-status--bar"))
        bar.append("━" * (width - filled), self.get_component_rich_style("run-status--bar-back"))
        bar.append(f" {fraction:4.0%}")
        return bar

    def _figures(self) -> list[tuple[int, str]]:
        """(priority, text) of what follows the bar; lower numbers are kept longer."""
        if self.message:
            return [(0, printable(self.message))]  # a failed run's message is read from its files
        if self.state == "paused":
            return [(0, "paused: p resumes")]
        if self.state not in ("training", "loading"):
            return []
        parts = [(0, f"ETA {format_eta(self.eta_s)}")]
        if self.mse is not None:
            parts.append((1, f"MSE {self.mse:.5f}"))
        if self.images_per_s is not None:
            parts.append((2, f"{self.images_per_s:,.0f} img/s"))
        return parts

    def first_line(self, width: int) -> Text:
        """State, epoch, bar and figures fitted into `width` cells."""
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"● {self.state}".ljust(STATE_WIDTH), self.get_component_rich_style("run-status--state"))
        if self.epochs:
            line.append(f"Epoch {self.epoch}/{self.epochs}  ")
        figures = self._figures()
        show_bar = bool(self.batches) and self.state in ("training", "paused", "loading", "finished", "stopped")

        def length(parts: list[tuple[int, str]]) -> int:
            return sum(len(text) + 2 for _, text in parts)

        room = width - line.cell_len
        while figures and length(figures) + (BAR_MIN + 7 if show_bar else 0) > room:
            if len(figures) == 1:
                break
            figures.remove(max(figures, key=lambda p: p[0]))
        if show_bar:
            bar_width = min(BAR_MAX, room - length(figures) - 7)
            if bar_width >= BAR_MIN:
                line.append_text(self._bar(bar_width))
                line.append("  ")
        muted = self.get_component_rich_style("run-status--muted")
        # Whole words only: a long message lost its last word to Rich's `…` mid-word (`op…`).
        text = fit_words("  ".join(text for _, text in figures), max(0, width - line.cell_len))
        line.append(text, muted if not self.message else Style())
        return line

    def system_items(self) -> list[str]:
        """The machine's figures as items, the ones to keep longest first; img/s beside the
        utilization of the GPU the run trains on."""
        if self.system is None:
            return []
        training = self.state == "training" and self.images_per_s is not None
        return system_items(
            self.system,
            images_per_s=self.images_per_s if training else None,
            run_gpu=run_gpu_index(self.device) if training else None,
        )

    def system_line(self, width: int = 200) -> Text:
        """The machine's figures alone, as many whole items as fit."""
        return Text(
            fit_items(self.system_items(), width),
            style=self.get_component_rich_style("run-status--muted"),
            no_wrap=True,
            overflow="ellipsis",
        )

    def second_line(self, width: int = 200, system: bool = False) -> Text:
        """Device and best test value first (they must survive a narrow terminal), then the data;
        with `system`, then as many of the machine's items as still fit whole."""
        parts = []
        if self.device:
            parts.append(self.device)
        if self.best is not None:
            epoch, mse = self.best
            parts.append(f"best test MSE {mse:.5f} @ epoch {epoch}")
        if self.ssim is not None:
            parts.append(f"SSIM {self.ssim:.3f}")
        parts.append(printable(self.where))
        text = " · ".join(parts)
        if system and cells(text) < width:
            extra = self.system_items()
            while extra and cells(" · ".join([text, *extra])) > width:
                extra.pop()
            text = " · ".join([text, *extra])
        return Text(
            fit_words(text, width),
            style=self.get_component_rich_style("run-status--muted"),
            no_wrap=True,
            overflow="ellipsis",
        )

    def render(self) -> Group:
        width = self.content_region.width or self.size.width or 80
        if (self.content_region.height or self.size.height) >= 3:
            return Group(self.first_line(width), self.second_line(width), self.system_line(width))
        return Group(self.first_line(width), self.second_line(width, system=True))
