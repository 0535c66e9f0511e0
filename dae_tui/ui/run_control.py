"""The run this dashboard trains: the engine's import, start, pause, stop, quit and resume.

A part of `DaeApp` (see `base`). The first frame draws before torch is imported: the engine loads
in a background thread and Start waits for it (x cancels that wait). Training runs in one
exclusive thread worker that loops over the engine's events and only posts messages (`CurrentRun`
handles them). Quit asks first while a run is going, then asks the engine to stop at the next
batch, so the last finished epoch's checkpoint is kept; `resume_note` then says how to resume it.
"""

from __future__ import annotations

import os
import shlex
import signal
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import Worker, WorkerState, get_current_worker

from dae_tui.cli.invocation import signal_exit
from dae_tui.core.config import FIELD_SPECS, RESUME_OVERRIDABLE
from dae_tui.core.events import EpochEnd
from dae_tui.ui.base import DashboardBase
from dae_tui.ui.dialogs.screens import QuitScreen
from dae_tui.ui.messages import EngineLoaded, while_shown, wrap
from dae_tui.ui.resume import ResumeInfo
from dae_tui.ui.widgets import ConfigForm, RunStatus
from dae_tui.ui.widgets.run_status import ACTIVE_STATES

if TYPE_CHECKING:
    from dae_tui.training.trainer import Trainer

__all__ = ["RunControl"]


class RunControl(DashboardBase):
    """Start, pause, stop, quit and resume the run this dashboard trains."""

    def load_engine(self) -> None:
        """Import torch and the engine off the UI thread, so the first frame is instant.

        A plain daemon thread, not a Textual worker: thread workers run in asyncio's default
        executor, which the app's exit waits for, so quitting while torch loaded waited for the
        whole import (benchmarks/NOTES.md, "Quitting while torch loads").
        """
        if self._engine_import_started:
            return
        self._engine_import_started = True
        threading.Thread(target=self._load_engine, name="dae-tui-load-engine", daemon=True).start()

    def _load_engine(self) -> None:
        try:
            from dae_tui.training import steps, trainer  # noqa: F401 - the import is the work

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
                if isinstance(event, EpochEnd):
                    self.last_epoch_done = event.epoch
                self.post_message(wrap(event))
        finally:
            self.training_idle.set()

    @while_shown
    def _on_engine_loaded(self, message: EngineLoaded) -> None:
        if message.error:
            self.log_line(f"cannot load the engine: {message.error}", "red")
            self.notify(message.error, title="Engine failed to load", severity="error")
            self.start_when_loaded = False
            self.state = "failed"
            return
        self.engine_loaded = True
        self.log_line("engine loaded")
        if self.start_when_loaded:
            self.start_when_loaded = False
            self._launch()

    @while_shown
    def _on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker failure lands here: a log line and a notification, never a crash."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            text = f"{type(error).__name__}: {error}"
            self.log_line(f"worker {event.worker.name} failed: {text}", "red")
            title = "Training failed" if event.worker.group == "train" else "Something failed"
            self.notify(text, title=title, severity="error")
            if event.worker.group == "train":
                self.state = "failed"
                self.query_one(RunStatus).message = f"failed: {text}"

    def action_start(self) -> None:
        """Start a run with the form's config (once the engine is loaded)."""
        if self.state in ACTIVE_STATES:
            return
        if self.read_only:
            self.notify(self.read_only, title="Cannot start", severity="warning")
            return
        form = self.query_one(ConfigForm)
        if form.config is None:
            first = form.errors[0].labelled if form.errors else "the form is not valid"
            self.notify(f"Fix the form first: {first}", title="Cannot start", severity="error")
            return
        if self.resume and form.config.epochs <= self.resume.epochs_done:
            self.notify(self.resume.finished_hint(), title="Nothing to resume", severity="warning")
            return
        status = self.query_one(RunStatus)
        if self.resume:
            status.clear_speed()  # the figures of whatever ran here before stay out of its panel
            status.set_batch(0, 0)
        else:
            # A new run: nothing of the run shown before belongs to it (a start that fails at
            # once read `failed  Epoch 0/6 · best test MSE … @ epoch 6`, an earlier run's best).
            self._switch_run(None, form.config.dataset, form.config.epochs,
                             where=f"new run: {form.config.model} on {form.config.dataset}")
        self.state = "loading"
        if not self.engine_loaded:
            self.start_when_loaded = True
            self.log_line("start requested: waiting for torch to finish loading (x cancels)")
            self.query_one(RunStatus).message = "waiting for torch to load (x cancels)"
            return
        self._launch()

    def _launch(self) -> None:
        from dae_tui.training.trainer import Trainer

        config = self.query_one(ConfigForm).config
        if config is None:
            self.state = "idle"
            return
        if self.resume:
            # The form locks the recipe, so only what may change on a resume reaches the engine.
            overrides = {name: getattr(config, name) for name in RESUME_OVERRIDABLE}
            trainer = Trainer(resume=self.resume.path, overrides=overrides, runs_dir=self.runs_dir)
        else:
            trainer = Trainer(config, runs_dir=self.runs_dir)
        self.trainer = trainer
        self.last_epoch_done = self.resume.epochs_done if self.resume else 0
        self.run_epochs = config.epochs
        # Until RunStarted: no ETA or speed of a run that has not begun, and no "No run yet".
        self.query_one(RunStatus).message = "starting: loading the data and building the model"
        self.log_line(f"continuing {self.resume.path}" if self.resume else "starting a run")
        self.training_idle.clear()
        self.train(trainer)

    def action_pause(self) -> None:
        """Pause a training run at the next batch."""
        if self.trainer is not None and self.state == "training":
            self.trainer.pause()

    def action_unpause(self) -> None:
        """Continue a paused run."""
        if self.trainer is not None and self.state == "paused":
            self.trainer.unpause()

    def action_not_running(self, key: str) -> None:
        """p or x with nothing running: say so rather than do nothing silently."""
        self.notify(f"Nothing is running: {key} works during a run. s starts one.", timeout=3)

    def action_stop(self) -> None:
        """Stop the run at the next batch (the last finished epoch's checkpoint stays), or cancel
        a start that is still waiting for torch."""
        if self.start_when_loaded:
            self.start_when_loaded = False
            self.state = "idle"
            self.query_one(RunStatus).message = "start cancelled"
            self.log_line("start cancelled before torch had loaded")
            return
        if self.trainer is not None and self.state in ACTIVE_STATES:
            self.trainer.request_stop()
            self.log_line("stop requested")

    def action_new_run(self) -> None:
        """Forget the run being resumed: the next Start trains a new run from the form."""
        if self.resume is None or self.state in ACTIVE_STATES:
            return
        name = self.resume.name
        self._leave_resume()
        config = self.query_one(ConfigForm).config
        self._switch_run(None, config.dataset if config else self.run_dataset, config.epochs if config else 0,
                         epochs=0, where="New run: set up the form and press s.")
        self.log_line(f"no longer resuming {name}: Start trains a new run")

    async def action_quit(self) -> None:
        """Quit, asking first while a run is going; the run stops at the next batch."""
        if isinstance(self.screen, QuitScreen):
            self.screen.action_answer(True)  # asked already: a second Ctrl+C is yes, like a second q
            return
        if self.trainer is None or self.state not in ACTIVE_STATES:
            self.start_when_loaded = False
            self.exit(0)
            return
        def answered(quit_: bool | None) -> None:
            if quit_:
                self._quit_run()

        self.push_screen(QuitScreen(self._quit_question()), answered)

    def _quit_question(self) -> str:
        """What quitting now keeps (the question is asked again as epochs finish behind it)."""
        epochs, done = self.run_epochs, self.last_epoch_done
        kept = f"epoch {done}/{epochs} is saved and can be resumed" if done else "no epoch has finished yet"
        return f"A run is going. Quit? It stops at the next batch; {kept}."

    def _stop_by_signal(self, signum: int) -> None:
        """SIGTERM or SIGHUP: like a confirmed quit, without asking (see `signals`)."""
        name = signal.Signals(signum).name
        if self.stop_signal is not None:
            os._exit(signal_exit(self.stop_signal))  # a second signal: leave now
        self.stop_signal = signum
        self.start_when_loaded = False
        if self.trainer is not None and self.state in ACTIVE_STATES:
            self.quit_during_run = True
            self.trainer.request_stop(f"stopped by {name}")
        self.exit(return_code=signal_exit(signum))

    def _quit_run(self) -> None:
        assert self.trainer is not None
        self.quit_during_run = self.state in ACTIVE_STATES
        self.trainer.request_stop()
        self.exit(0)

    def resume_note(self) -> str | None:
        """After a run was quit mid-way: where it is, its last finished epoch and the command
        that continues it (None when no run was cut short)."""
        # Judged by what the user did (quit or a signal during a run), not by `state` afterwards:
        # the run's own RunStopped may be handled before the app has finished leaving.
        if self.trainer is None or not self.quit_during_run:
            return None
        run_dir = self.run_dir or (str(self.trainer.run_dir) if self.trainer.run_dir else None)
        epochs = self.run_epochs or "?"
        done = self.last_epoch_done
        if run_dir is None or not done:
            where = f" (run folder {run_dir})" if run_dir else ""
            return f"dae-tui: quit before the first epoch finished; nothing to resume{where}"
        command = shlex.join(["dae-tui", "--resume", run_dir])
        return f"dae-tui: run {run_dir} stopped after epoch {done}/{epochs}; resume it with: {command}"

    def _enter_resume(self, info: ResumeInfo, overrides: dict[str, Any] | None = None) -> None:
        """Show what Start will continue: the run's epochs on the chart, its recipe locked.

        The form shows the run's own config with `overrides` (only fields that may change on a
        resume; by default those of the command line)."""
        self.resume = info
        fixed = set(FIELD_SPECS) - RESUME_OVERRIDABLE
        form = self.query_one(ConfigForm)
        if overrides is None:
            overrides = {name: getattr(self.initial_config, name) for name in RESUME_OVERRIDABLE}
        config = replace(info.config, **overrides)
        form.set_config(config)
        form.lock_fields(fixed, f"Resuming {info.name}: greyed fields are its recipe (N: new run instead)")
        # The dashboard is about this run now, not the one it trained or showed before: its
        # state, epochs, best and SSIM, its curves, its saved pictures, its model on Inspect.
        self._switch_run(info.path, config.dataset, config.epochs, name=info.name, points=info.points,
                         title=f"{config.model} on {config.dataset}", state=info.status, epoch=info.epochs_done,
                         ssim=info.ssim, where=f"run folder {info.path}",
                         message=info.status_line(overrides.get("epochs")))
        self.log_line(f"Start continues the run in {info.path}")
        self.refresh_bindings()

    def _leave_resume(self) -> None:
        self.resume = None
        self.query_one(ConfigForm).lock_fields()
        self.refresh_bindings()
