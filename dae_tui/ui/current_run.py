"""The current run: the one every figure on screen speaks of, and the engine events that change it.

A part of `DaeApp` (see `base`). The current run is the one training here, else the one trained,
resumed or opened last; `_switch_run` is the one way to change it, so the chart, the status lines,
the Images tab, the Train tab's pictures and the Inspect tab always speak of the same run. Each
engine event arrives as its own message class (`ui/messages.py`) with one handler here; each
handler's widget updates are painted together (`batch_update`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.worker import get_current_worker

from dae_tui.core.config import CLASS_NAMES, flags_to_labels
from dae_tui.core.events import RunStarted, Samples
from dae_tui.core.formatting import format_epoch, format_finished, format_started, plural
from dae_tui.ui.base import DashboardBase
from dae_tui.ui.messages import (
    EngineEpochEnd,
    EngineNotice,
    EnginePaused,
    EngineProgress,
    EngineResumed,
    EngineRunFailed,
    EngineRunFinished,
    EngineRunStarted,
    EngineRunStopped,
    EngineSamples,
    RunPictures,
    RunWorst,
    while_shown,
)
from dae_tui.ui.panes import ImageBrowser
from dae_tui.ui.widgets import ConfigForm, ImageStrip, LossChart, RunStatus
from dae_tui.ui.widgets.image_strip import rows_of
from dae_tui.ui.widgets.run_status import ACTIVE_STATES

__all__ = ["READ_ONLY_STATUS", "CurrentRun"]

READ_ONLY_STATUS = "browsing only: runs folder not writable; --runs-dir to train elsewhere"
"""The status line of an app started on a runs folder it cannot write (fits 80 columns)."""


class CurrentRun(DashboardBase):
    """The run on screen, and the engine's events."""

    def _switch_run(
        self,
        folder: str | None,
        dataset: str,
        planned: int,
        *,
        name: str | None = None,
        points: Iterable[tuple[int, float, float]] = (),
        title: str = "MSE per epoch",
        state: str | None = None,
        **figures: Any,
    ) -> None:
        """Make `folder` the run that every figure on screen speaks of (None: a new run that has
        not started): the chart (its `points`, `planned` epochs), the status lines (`state` and
        `figures` as `RunStatus.show` takes them; the rest cleared, the best from the chart),
        the Images tab and the Train tab's strip (its saved pictures, read in the background),
        and the Inspect tab. Every way of changing the current run comes here (start, resume,
        open, N, delete), so none can leave the pictures or figures of the run before behind.

        Not while a run trains here: the panel, chart and pictures are that run's then."""
        self.run_dir, self.run_dataset = folder, dataset
        self.inspect_pick = None  # the Inspect tab follows the current run again
        chart = self.query_one("#chart", LossChart)
        chart.reset(title, points, planned)
        if self.state not in ACTIVE_STATES:
            self.state = "idle"  # this dashboard's own run is over; the panel speaks of this one
        figures.setdefault("epochs", planned)
        self.query_one(RunStatus).show(state=state or self.state, best=chart.best, **figures)
        if self.read_only and not figures.get("message"):
            self.query_one(RunStatus).message = READ_ONLY_STATUS  # still true whatever is shown
        browser = self.query_one(ImageBrowser)
        browser.show_run(name, dataset, planned, {}, folder, reading=folder is not None)
        self.query_one("#train-strip", ImageStrip).show([], browser.selected)
        if folder is not None:
            self._read_pictures(folder)
        if self.query("#inspect-view") and self._tab == "inspect":
            self._show_inspect()  # else it loads the run when the tab is next shown

    @work(thread=True, exclusive=True, exit_on_error=False, group="pictures")
    def _read_pictures(self, folder: str) -> None:
        """A run's saved pictures (samples/: the fixed and the worst ones) and per-class scores
        (metrics.jsonl), read off the UI thread; a newer read supersedes it."""
        from dae_tui.runs.classes import scores_by_epoch  # torch-free, all three
        from dae_tui.runs.info import read_metrics
        from dae_tui.runs.samples import load_samples
        from dae_tui.runs.worst import load_worst

        history = load_samples(folder)
        worst = load_worst(folder)
        classes = scores_by_epoch(read_metrics(folder))
        if not get_current_worker().is_cancelled:
            self.post_message(RunPictures(folder, history, worst, classes))

    @work(thread=True, exclusive=True, exit_on_error=False, group="worst")
    def _read_worst(self, folder: str, epoch: int) -> None:
        """The worst pictures of a run's epoch that just ended (the trainer wrote them before)."""
        from dae_tui.runs.worst import load_worst  # torch-free

        worst = load_worst(folder, epoch)
        if not get_current_worker().is_cancelled:
            self.post_message(RunWorst(folder, worst))

    @while_shown
    def _on_run_pictures(self, message: RunPictures) -> None:
        browser = self.query_one(ImageBrowser)
        if (
            browser.add_saved(message.folder, message.history, message.worst, message.classes)
            and message.folder == self.run_dir
        ):
            self._show_strip(browser.latest)

    @while_shown
    def _on_run_worst(self, message: RunWorst) -> None:
        self.query_one(ImageBrowser).add_worst(message.folder, message.worst)

    def _show_strip(self, samples: Samples | None) -> None:
        """The Train tab's pictures: the current run's latest epoch."""
        names = CLASS_NAMES.get(self.run_dataset, ())
        rows = rows_of(samples, names) if samples is not None else []
        self.query_one("#train-strip", ImageStrip).show(rows, self.query_one(ImageBrowser).selected)

    @while_shown
    def _on_config_form_changed(self, message: ConfigForm.Changed) -> None:
        if self.state in ACTIVE_STATES:
            return
        count = len(message.errors)
        status = self.query_one(RunStatus)
        if count:
            status.message = f"form: {plural(count, 'field')} to fix"
        elif self.resume:
            status.message = self.resume.status_line(message.config.epochs if message.config else None)
            if message.config:
                status.epochs = message.config.epochs  # `Epoch 3/5` as the message says, not the run's 3
        elif status.message.startswith("form:"):
            status.message = ""
        chart = self.query_one("#chart", LossChart)
        if message.config and not chart.epochs and not chart.running and chart.planned_epochs != message.config.epochs:
            chart.planned_epochs = message.config.epochs
            chart.replot()

    @while_shown
    def on_engine_progress(self, message: EngineProgress) -> None:
        event = message.event
        with self.batch_update():
            status = self.query_one(RunStatus)
            status.epoch, status.epochs = event.epoch, event.epochs
            status.set_batch(event.batch, event.batches)
            status.mse, status.images_per_s, status.eta_s = event.train_mse, event.images_per_s, event.eta_s
            self.query_one("#chart", LossChart).add_progress(event.epoch, event.batch, event.batches, event.train_mse)

    @while_shown
    def on_engine_epoch_end(self, message: EngineEpochEnd) -> None:
        event = message.event
        with self.batch_update():
            status = self.query_one(RunStatus)
            chart = self.query_one("#chart", LossChart)
            chart.add_epoch(event.epoch, event.train_mse, event.test_mse)
            status.epoch = event.epoch
            status.best = chart.best
            status.ssim = event.test_ssim
            status.set_batch(1, 1)
            self.log_line(format_epoch(event))
            self.log_line(f"checkpoint saved: {event.checkpoint}")
            from dae_tui.ui.dialogs.screens import QuitScreen

            if isinstance(self.screen, QuitScreen):
                self.screen.set_question(self._quit_question())
            if self.run_dir:
                self._inspect_epoch_saved(self.run_dir)
            browser = self.query_one(ImageBrowser)
            if browser.folder is not None and browser.folder == self.run_dir:
                browser.add_classes(event.epoch, (event.class_psnr, event.class_ssim))
                self._read_worst(browser.folder, event.epoch)

    @while_shown
    def on_engine_samples(self, message: EngineSamples) -> None:
        with self.batch_update():
            self._show_samples(message.event)

    @while_shown
    def on_engine_run_started(self, message: EngineRunStarted) -> None:
        with self.batch_update():
            self._started(message.event, self.query_one(RunStatus))

    @while_shown
    def on_engine_notice(self, message: EngineNotice) -> None:
        with self.batch_update():
            self.log_line(f"note: {flags_to_labels(message.event.text)}", "yellow")

    @while_shown
    def on_engine_paused(self, message: EnginePaused) -> None:
        with self.batch_update():
            self.state = "paused"
            self.log_line(f"paused at epoch {message.event.epoch}, batch {message.event.batch}")

    @while_shown
    def on_engine_resumed(self, message: EngineResumed) -> None:
        with self.batch_update():
            self.state = "training"
            self.log_line("continued after the pause")

    @while_shown
    def on_engine_run_finished(self, message: EngineRunFinished) -> None:
        event = message.event
        with self.batch_update():
            self._attached_run_ended()
            self.state = "finished"
            text = format_finished(event.epochs, event.best_test_mse)
            self.query_one(RunStatus).message = text
            self.notify(text, title="Run finished")
            self.log_line(f"{text}; saved in {event.run_dir}", "green")

    @while_shown
    def on_engine_run_stopped(self, message: EngineRunStopped) -> None:
        event = message.event
        with self.batch_update():
            self._attached_run_ended()
            status = self.query_one(RunStatus)
            self.state = "stopped"
            kept = f"epoch {event.last_epoch} kept" if event.last_epoch else "no epoch finished"
            if event.batch:  # and the epoch in progress, as far as it went (partial.pt)
                cut = f"{event.batch}/{event.batches or '?'} batches of epoch {event.last_epoch + 1}"
                kept = f"epoch {event.last_epoch} and {cut} kept" if event.last_epoch else f"{cut} kept"
            status.message = f"stopped: {kept}"
            status.epoch = event.last_epoch  # not the epoch that was cut short
            status.set_batch(0, 0)
            self.log_line(f"stopped: {kept} in {event.run_dir}", "yellow")

    @while_shown
    def on_engine_run_failed(self, message: EngineRunFailed) -> None:
        with self.batch_update():
            self._attached_run_ended()
            status = self.query_one(RunStatus)
            self.state = "failed"
            text = flags_to_labels(message.event.message)
            status.message = f"failed: {text}"
            if self.trainer is not None:  # the last finished epoch, as after a stop
                status.epoch = self.last_epoch_done
                status.set_batch(0, 0)
            self.log_line(f"failed: {text}", "red")
            self.notify(text, title="Run failed", severity="error", timeout=10)

    def _show_samples(self, samples: Samples) -> None:
        browser = self.query_one(ImageBrowser)
        if browser.folder == self.run_dir:  # not while the user looks at a run opened from the Runs tab
            browser.add(samples)
        self._show_strip(samples)

    def _started(self, event: RunStarted, status: RunStatus) -> None:
        self.state = "training"
        self.run_dir = event.run_dir
        self._inspect_own_run(event.run_dir)
        self.run_dataset = event.config.dataset
        if event.resumed_from:
            self._leave_resume()
            self.query_one(ConfigForm).set_config(event.config)
        status.clear_speed()
        status.message = ""
        status.epoch, status.epochs = event.start_epoch - 1, event.config.epochs
        status.set_batch(0, event.batches_per_epoch)
        status.device = f"{event.device} ×{event.threads}" if event.device == "cpu" else event.device
        status.where = f"{event.dataset_label} · {event.train_size:,}/{event.test_size:,} train/test · {event.source}"
        # A resumed run's chart starts where it left off.
        chart = self.query_one("#chart", LossChart)
        chart.reset(f"{event.config.model} on {event.config.dataset}", event.earlier, event.config.epochs)
        status.best = chart.best
        if not event.resumed_from:
            status.ssim = None  # a resumed run's last SSIM (shown on R) is still its latest
        browser = self.query_one(ImageBrowser)
        if browser.folder is not None and Path(browser.folder).resolve() == Path(event.run_dir).resolve():
            # A resumed run: the pictures of its earlier epochs (read on R) stay, the new ones join.
            browser.show_run(
                None, event.config.dataset, event.config.epochs, browser.history, event.run_dir, reading=browser.reading
            )
        elif browser.folder is None:  # unless the user opened another run in Images meanwhile
            browser.reset(event.config.dataset, event.config.epochs, event.run_dir)
        self.log_line(format_started(event))
