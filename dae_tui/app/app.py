"""The dashboard: form -> validated config -> engine in a worker thread -> messages -> widgets.

The first frame draws before torch is imported: the engine loads in a background thread and Start
waits for it. Training runs in one exclusive thread worker that loops over the engine's events and
only posts messages; handlers here set widget state. Quit asks the engine to stop at the next
batch, so the last finished epoch's checkpoint is kept and the terminal comes back at once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Footer, Input, RichLog, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from ..config import TrainConfig
from ..engine.events import (
    BatchProgress,
    EpochEnd,
    Notice,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    Samples,
)
from ..formatting import format_epoch, format_eta, format_started
from .messages import EngineEvent, EngineLoaded, wrap
from .widgets import ConfigForm, ImageBrowser, LossChart, RunStatus

if TYPE_CHECKING:
    from ..engine.trainer import Trainer

__all__ = ["DaeApp"]

ACTIVE_STATES = ("loading", "training", "paused")


class DaeApp(App[int]):
    """Train a denoising autoencoder and watch it learn."""

    CSS_PATH = "app.tcss"
    TITLE = "dae-tui"
    AUTO_FOCUS = "#tabs Tabs"

    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause/Resume"),
        Binding("x", "stop", "Stop"),
        Binding("q", "quit", "Quit"),
        Binding("g", "log_scale", "Log scale"),
        Binding("t", "show_tab('train')", "Train", show=False),
        Binding("i", "show_tab('images')", "Images", show=False),
        Binding("l", "show_tab('log')", "Log", show=False),
        Binding("escape", "leave_field", "Leave field", show=False),
    ]

    state: reactive[str] = reactive("idle", init=False)
    """The run's state: idle, loading, training, paused, finished, stopped or failed."""

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        runs_dir: str | Path | None = None,
        resume: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.initial_config = config or TrainConfig()
        self.runs_dir = runs_dir
        self.resume = resume
        """A run to continue on the first Start (from --resume), with the form's settings."""
        self.engine_loaded = False
        """True once torch and the engine are imported."""
        self.start_when_loaded = False
        self.trainer: Trainer | None = None
        self.training_idle = threading.Event()
        """Set while no training thread is running (cleared for the life of each run)."""
        self.training_idle.set()

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with TabbedContent(id="tabs", initial="train"):
            with TabPane("Train (t)", id="train"):
                with Horizontal(id="train-main"):
                    yield ConfigForm(self.initial_config, id="form")
                    with Vertical(id="right"):
                        yield LossChart(id="chart")
            with TabPane("Images (i)", id="images"):
                yield ImageBrowser(id="browser")
            with TabPane("Log (l)", id="log"):
                yield RichLog(id="log-view", wrap=True)
        yield RunStatus(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.log_line("dae-tui ready: loading the engine (torch) in the background")
        if self.resume:
            self.log_line(f"Start continues the run in {self.resume}")
        # After the first frame is on screen: the import holds the GIL much of the time and
        # would otherwise slow the first paint down.
        self.call_after_refresh(self.load_engine)

    # --- background work ------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="engine")
    def load_engine(self) -> None:
        """Import torch and the engine off the UI thread, so the first frame is instant."""
        try:
            from ..engine import steps, trainer  # noqa: F401 - the import is the work

            steps.preload()
        except Exception as err:  # noqa: BLE001 - shown to the user, not raised
            self.post_message(EngineLoaded(f"{type(err).__name__}: {err}"))
        else:
            self.post_message(EngineLoaded())

    @work(thread=True, exclusive=True, exit_on_error=False, group="train")
    def train(self, trainer: Trainer) -> None:
        """Run the engine, posting each event; the only thing this thread does to the UI."""
        worker = get_current_worker()
        try:
            for event in trainer.run():
                if worker.is_cancelled:
                    trainer.request_stop()
                self.post_message(wrap(event))
        finally:
            self.training_idle.set()

    @on(EngineLoaded)
    def _engine_loaded(self, message: EngineLoaded) -> None:
        if message.error:
            self.log_line(f"cannot load the engine: {message.error}", "red")
            self.notify(message.error, title="Engine failed to load", severity="error")
            self.state = "failed"
            return
        self.engine_loaded = True
        self.log_line("engine loaded")
        if self.start_when_loaded:
            self.start_when_loaded = False
            self._launch()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """Every worker failure lands here: a log line and a notification, never a crash."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            text = f"{type(error).__name__}: {error}"
            self.log_line(f"worker {event.worker.name} failed: {text}", "red")
            self.notify(text, title="Training failed", severity="error")
            if event.worker.group == "train" or self.state in ACTIVE_STATES:
                self.state = "failed"

    # --- actions --------------------------------------------------------------------------

    def action_start(self) -> None:
        """Start a run with the form's config (once the engine is loaded)."""
        if self.state in ACTIVE_STATES:
            self.notify("A run is already going: stop it first (x).", severity="warning")
            return
        form = self.query_one(ConfigForm)
        if form.config is None:
            first = form.errors[0] if form.errors else None
            text = f"{first.field}: {first.message}" if first else "the form is not valid"
            self.notify(f"Fix the form first — {text}", title="Cannot start", severity="error")
            return
        self.state = "loading"
        if not self.engine_loaded:
            self.start_when_loaded = True
            self.log_line("start requested: waiting for torch to finish loading")
            return
        self._launch()

    def _launch(self) -> None:
        from ..engine.trainer import Trainer

        config = self.query_one(ConfigForm).config
        if config is None:
            self.state = "idle"
            return
        if self.resume:
            # The engine refuses any change to the recipe and names it; epochs may grow.
            trainer = Trainer(resume=self.resume, overrides=config.to_dict(), runs_dir=self.runs_dir)
            self.resume = None
        else:
            trainer = Trainer(config, runs_dir=self.runs_dir)
        self.trainer = trainer
        self.log_line("starting a run")
        self.training_idle.clear()
        self.train(trainer)

    def action_pause(self) -> None:
        """Pause a training run, or resume a paused one."""
        if self.trainer is None or self.state not in ("training", "paused"):
            return
        if self.trainer.paused:
            self.trainer.unpause()
        else:
            self.trainer.pause()

    def action_stop(self) -> None:
        """Stop the run at the next batch; the last finished epoch's checkpoint stays."""
        if self.trainer is not None and self.state in ACTIVE_STATES:
            self.trainer.request_stop()
            self.log_line("stop requested")

    async def action_quit(self) -> None:
        """Stop any run at the next batch and leave."""
        if self.trainer is not None:
            self.trainer.request_stop()
        self.exit(0)

    def action_log_scale(self) -> None:
        """Toggle the chart's MSE axis between linear and log."""
        self.query_one(LossChart).toggle_log_scale()

    def action_show_tab(self, tab: str) -> None:
        """Show the Train, Images or Log tab."""
        self.query_one(TabbedContent).active = tab
        if tab == "images":
            self.query_one(ImageBrowser).focus()

    def action_leave_field(self) -> None:
        """Esc in a form field hands the keys back to the app's bindings."""
        if isinstance(self.focused, Input):
            self.query_one("#tabs Tabs").focus()

    # --- state ----------------------------------------------------------------------------

    def watch_state(self, state: str) -> None:
        self.query_one(RunStatus).state = state
        self.query_one(ConfigForm).disabled = state in ACTIVE_STATES

    def log_line(self, text: str, style: str = "") -> None:
        """Add a line to the Log tab (plain text: paths and messages are never read as markup)."""
        self.query_one("#log-view", RichLog).write(Text(text, style=style))

    @on(ConfigForm.Changed)
    def _form_changed(self, message: ConfigForm.Changed) -> None:
        if self.state not in ACTIVE_STATES:
            status = self.query_one(RunStatus)
            count = len(message.errors)
            status.speed = f"form: {count} field{'s' if count > 1 else ''} to fix" if count else ""

    @on(EngineEvent)
    def _engine_event(self, message: EngineEvent) -> None:
        with self.batch_update():
            self._apply(message.event)

    def _apply(self, event: Any) -> None:
        status = self.query_one(RunStatus)
        if isinstance(event, BatchProgress):
            status.epoch, status.epochs = event.epoch, event.epochs
            status.set_batch(event.batch, event.batches)
            status.speed = (
                f"MSE {event.train_mse:.5f}  {event.images_per_s:,.0f} img/s  "
                f"ETA {format_eta(event.eta_s)}"
            )
        elif isinstance(event, EpochEnd):
            self.query_one(LossChart).add_epoch(event.epoch, event.train_mse, event.test_mse)
            status.epoch = event.epoch
            status.set_batch(1, 1)
            self.log_line(format_epoch(event))
            self.log_line(f"checkpoint saved: {event.checkpoint}")
        elif isinstance(event, Samples):
            self.query_one(ImageBrowser).add(event)
        elif isinstance(event, RunStarted):
            self._started(event, status)
        elif isinstance(event, Notice):
            self.log_line(f"note: {event.text}", "yellow")
        elif isinstance(event, Paused):
            self.state = "paused"
            self.log_line(f"paused at epoch {event.epoch}, batch {event.batch}")
        elif isinstance(event, Resumed):
            self.state = "training"
            self.log_line("resumed")
        elif isinstance(event, RunFinished):
            self.state = "finished"
            best = f", best test MSE {event.best_test_mse:.5f}" if event.best_test_mse else ""
            status.speed = f"finished {event.epochs} epochs{best}"
            self.notify(f"{event.epochs} epochs{best}", title="Run finished")
            self.log_line(f"finished {event.epochs} epochs{best}; saved in {event.run_dir}", "green")
        elif isinstance(event, RunStopped):
            self.state = "stopped"
            kept = f"checkpoint of epoch {event.last_epoch} kept" if event.last_epoch else "no epoch finished"
            status.speed = f"stopped: {kept}"
            self.log_line(f"stopped: {kept} in {event.run_dir}", "yellow")
        elif isinstance(event, RunFailed):
            self.state = "failed"
            status.speed = "failed: see the Log tab (l)"
            self.log_line(f"failed: {event.message}", "red")
            self.notify(event.message, title="Run failed", severity="error", timeout=10)

    def _started(self, event: RunStarted, status: RunStatus) -> None:
        self.state = "training"
        status.epoch, status.epochs = event.start_epoch - 1, event.config.epochs
        status.set_batch(0, event.batches_per_epoch)
        status.where = (
            f"{event.dataset_label} · {event.train_size:,}/{event.test_size:,} train/test · "
            f"{event.source} · {event.device} ×{event.threads}"
        )
        # A resumed run's chart starts where it left off.
        self.query_one(LossChart).reset(f"{event.config.model} on {event.config.dataset}", event.earlier)
        self.query_one(ImageBrowser).reset(event.config.dataset, event.config.epochs)
        if event.resumed_from:
            self.query_one(ConfigForm).set_config(event.config)
        self.log_line(format_started(event))
