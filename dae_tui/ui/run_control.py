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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import Worker, WorkerState, get_current_worker

from dae_tui.cli.invocation import signal_exit
from dae_tui.core.config import FIELD_SPECS, RESUME_OVERRIDABLE
from dae_tui.core.events import EpochEnd
from dae_tui.core.formatting import plural
from dae_tui.runs.live import AttachedRun
from dae_tui.ui.base import DashboardBase
from dae_tui.ui.messages import BackgroundRuns, EngineLoaded, while_shown, wrap
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
    def train(self, trainer: Trainer | AttachedRun) -> None:
        """Run the engine (or watch a run attached to), posting each event; the only thing this
        thread does to the UI."""
        worker = get_current_worker()
        try:
            for event in trainer.run():
                if worker.is_cancelled:
                    if isinstance(trainer, AttachedRun):
                        trainer.detach()  # leaving never stops a run this dashboard only watches
                    else:
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
            self._switch_run(
                None,
                form.config.dataset,
                form.config.epochs,
                where=f"new run: {form.config.model} on {form.config.dataset}",
            )
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
        self.trainer, self.attached = trainer, None
        self.last_epoch_done = self.resume.epochs_done if self.resume else 0
        self.run_epochs = config.epochs
        # Until RunStarted: no ETA or speed of a run that has not begun, and no "No run yet".
        self.query_one(RunStatus).message = "starting: loading the data and building the model"
        self.log_line(f"continuing {self.resume.path}" if self.resume else "starting a run")
        self.training_idle.clear()
        self.train(trainer)

    def action_pause(self) -> None:
        """Pause a training run at the next batch."""
        if self.trainer is not None and self.state == "training" and self._may_steer():
            self.trainer.pause()

    def action_unpause(self) -> None:
        """Continue a paused run."""
        if self.trainer is not None and self.state == "paused" and self._may_steer():
            self.trainer.unpause()

    def _may_steer(self) -> bool:
        """A run attached to is steered by one dashboard only: the others say who does."""
        attached = self.attached
        if attached is None or attached.controls:
            return True
        self.notify(f"Watching only: {attached.controller} controls this run.", severity="warning", timeout=4)
        return False

    @work(thread=True, exclusive=True, exit_on_error=False, group="background-runs")
    def look_for_background_runs(self) -> None:
        """Find the runs that train in other processes on this host (handed over, or any
        `dae-tui train`), off the UI thread; the first screen then says so (`BackgroundRuns`)."""
        from dae_tui.runs.files import live_lock, this_host
        from dae_tui.runs.store import RunStoreError, list_runs

        try:
            runs = list_runs(self.runs_folder)
        except (RunStoreError, OSError):
            return  # the Runs tab says what is wrong with the folder
        live = []
        for run in runs:
            lock = live_lock(run.path) if run.status == "running" else None
            if lock is not None and lock.get("host") == this_host() and lock.get("pid") != os.getpid():
                live.append(run)
        self.post_message(BackgroundRuns(tuple(live)))

    @while_shown
    def _on_background_runs(self, message: BackgroundRuns) -> None:
        self.background_runs = message.runs
        if message.runs and self.state not in ACTIVE_STATES and self.resume is None and self.attached is None:
            count = len(message.runs)
            text = (
                f"{plural(count, 'run')} training in the background: A attaches {'it' if count == 1 else 'the newest'}"
            )
            self.query_one(RunStatus).message = text
            self.log_line(f"{text} ({message.runs[0].name}); r lists them, A there attaches the one under the cursor")
        self.refresh_bindings()

    def _attached_run_ended(self) -> None:
        """The run attached to has ended: look again for runs training in the background (the
        footer's A must not offer it any more)."""
        if self.attached is not None:
            self.background_runs = ()
            self.refresh_bindings()
            self.look_for_background_runs()

    def action_attach_newest(self) -> None:
        """Attach to the newest run training in the background here."""
        if self.background_runs:
            self.attach_run(self.background_runs[0].path)

    def attach_run(self, path: str | Path) -> None:
        """Make a run that trains in another process on this host the current run, live: its
        chart, status lines, pictures and Inspect follow it, and p / x steer it (`runs.live`).
        A run of another host, or one nothing trains, is refused in one line."""
        from dae_tui.runs.info import read_run
        from dae_tui.runs.live import AttachedRun, NotLive

        if self.state in ACTIVE_STATES:
            self.notify("A run is going here: stop it (x) or leave it (q) first, then attach.", severity="warning")
            return
        try:
            handle = AttachedRun(path)
        except NotLive as err:
            self.notify(str(err), title="Cannot attach", severity="warning", timeout=6)
            elsewhere = read_run(path) if Path(path).is_dir() else None
            if elsewhere is not None and elsewhere.status == "running":
                self.open_run(elsewhere)  # another host's: shown read-only, its host named above
            return
        run = read_run(handle.run_dir)
        if run is None or run.config is None:
            handle.detach()
            self.notify(f"{path}: not a run folder with a readable config", title="Cannot attach", severity="error")
            return
        if self.resume:
            self._leave_resume()
        from dae_tui.ui.widgets.loss_chart import Series

        self._switch_run(
            str(handle.run_dir),
            run.config.dataset,
            run.config.epochs,
            name=run.name,
            points=Series.of_run(run, 1, "").points,
            title=run.name,
            epoch=run.epochs_done,
            ssim=run.last_test_ssim,
            where=f"run folder {handle.run_dir}",
            message=f"attaching to {run.name} (pid {handle.pid})",
        )
        self.query_one(ConfigForm).set_config(run.config)  # what it trains, greyed while it does
        self.attached, self.trainer = handle, handle
        self.background_runs = tuple(other for other in self.background_runs if other.path.resolve() != handle.run_dir)
        self.run_epochs, self.last_epoch_done = run.config.epochs, run.epochs_done
        self.state = "loading"
        how = "p pauses, x stops, q detaches" if handle.controls else f"watching only: {handle.controller} controls it"
        self.log_line(f"attached to {handle.run_dir} (pid {handle.pid} on {handle.host}): {how}")
        self.training_idle.clear()
        self.train(handle)

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
        self._switch_run(
            None,
            config.dataset if config else self.run_dataset,
            config.epochs if config else 0,
            epochs=0,
            where="New run: set up the form and press s.",
        )
        self.log_line(f"no longer resuming {name}: Start trains a new run")

    async def action_quit(self) -> None:
        """Quit, asking first while a run is going: keep it training in the background (the
        default), stop it at the next batch, or stay."""
        from dae_tui.ui.dialogs.screens import QuitScreen  # the dialogs' module waits for its first use

        if isinstance(self.screen, QuitScreen):
            self.screen.action_answer("keep")  # asked already: a second Ctrl+C is the default, like a second q
            return
        if self.trainer is None or self.state not in ACTIVE_STATES:
            self.start_when_loaded = False
            self.exit(0)
            return
        if self.attached is not None:
            self.attached.detach()  # q detaches without asking: the run is not this dashboard's
            self.quit_during_run = True
            self.exit(0)
            return

        def answered(answer: str | None) -> None:
            if answer and self.state not in ACTIVE_STATES:
                self.exit(0)  # the run ended while the question was open: nothing to keep or stop
            elif answer == "keep":
                self._leave_running()
            elif answer == "stop":
                self._quit_run()

        self.push_screen(QuitScreen(self._quit_question(), can_keep=self._can_hand_over()), answered)

    def _quit_question(self) -> str:
        """What quitting now keeps (the question is asked again as epochs finish behind it)."""
        epochs, done = self.run_epochs, self.last_epoch_done
        kept = f"epoch {done}/{epochs} is saved and can be resumed" if done else "no epoch has finished yet"
        if not self._can_hand_over():
            return f"A run is going. Quit? It stops at the next batch; {kept}."
        return (
            f"A run is going. Quit and leave it training in the background, or stop it at the "
            f"next batch? {kept[0].upper()}{kept[1:]}."
        )

    def _can_hand_over(self) -> bool:
        """Whether the run can go on in a process of its own: it has a run folder (it has
        started) that this dashboard may write."""
        return self.run_dir is not None and self.read_only is None and self.state in ("training", "paused")

    def _leave_running(self, signum: int | None = None) -> None:
        """Leave, handing the run over to a background process (`runs.handover`): it is started
        first and waits for the folder, then this trainer stops at the next batch (writing the
        mid-epoch checkpoint) and lets the folder go. Where the process cannot be started the run
        stops as on "stop it", and the line on leaving says why."""
        from dae_tui.runs.handover import continue_in_background

        assert self.trainer is not None and self.run_dir is not None
        try:
            self.handed_to = continue_in_background(self.run_dir)
        except OSError as err:
            self.hand_over_error = f"cannot continue it in the background ({err.strerror or err})"
            self.log_line(self.hand_over_error, "red")
            reason = f"stopped by {signal.Signals(signum).name}" if signum else "stopped on request"
        else:
            reason = f"handed over to pid {self.handed_to.pid} on {self.handed_to.host}"
            self.log_line(f"{reason}: {self.handed_to.describe()}")
        self.quit_during_run = True
        self.trainer.request_stop(reason)
        self.exit(return_code=signal_exit(signum) if signum else 0)

    def _stop_by_signal(self, signum: int) -> None:
        """SIGTERM stops the run, like a confirmed stop, without asking (see `signals`); SIGHUP
        (the terminal or SSH session gone) hands it over to a background process, unless
        `on_hangup` is "stop"."""
        name = signal.Signals(signum).name
        if self.stop_signal is not None:
            os._exit(signal_exit(self.stop_signal))  # a second signal: leave now
        self.stop_signal = signum
        self.start_when_loaded = False
        if self.attached is not None and self.state in ACTIVE_STATES:
            self.attached.detach()  # a run attached to goes on whatever ends this dashboard
            self.quit_during_run = True
        elif self.trainer is not None and self.state in ACTIVE_STATES:
            if signum == signal.SIGHUP and self.on_hangup == "continue" and self._can_hand_over():
                self._leave_running(signum)
                return
            self.quit_during_run = True
            self.trainer.request_stop(f"stopped by {name}")
        self.exit(return_code=signal_exit(signum))

    def hang_up(self) -> None:
        """The terminal went away without a signal (a browser tab closed, `ui.web`): as SIGHUP."""
        if self.stop_signal is None:
            self._stop_by_signal(signal.SIGHUP)

    def _quit_run(self) -> None:
        assert self.trainer is not None
        self.quit_during_run = self.state in ACTIVE_STATES
        self.trainer.request_stop()
        self.exit(0)

    def resume_note(self) -> str | None:
        """After a run was quit mid-way: where it is and how to watch it (handed over), or its
        last finished epoch and the command that continues it (None when no run was cut short)."""
        # Judged by what the user did (quit or a signal during a run), not by `state` afterwards:
        # the run's own RunStopped may be handled before the app has finished leaving.
        if self.trainer is None or not self.quit_during_run:
            return None
        run_dir = self.run_dir or (str(self.trainer.run_dir) if self.trainer.run_dir else None)
        if self.attached is not None and run_dir is not None:
            attach = shlex.join(["dae-tui", "--attach", run_dir])
            return (
                f"dae-tui: detached from {Path(run_dir).name}; it keeps training: pid {self.attached.pid} on "
                f"{self.attached.host}; watch it again with: {attach}"
            )
        if self.handed_to is not None and run_dir is not None:
            attach = shlex.join(["dae-tui", "--attach", run_dir])
            return (
                f"dae-tui: run {Path(run_dir).name} keeps training in the background: "
                f"{self.handed_to.describe()}; watch it again with: {attach} (or dae-tui, then r and A)"
            )
        epochs = self.run_epochs or "?"
        done = self.last_epoch_done
        why = f"{self.hand_over_error}; " if self.hand_over_error else ""
        batch = self._kept_batch(run_dir)
        if run_dir is not None and batch:
            command = shlex.join(["dae-tui", "--resume", run_dir])
            after = (
                f"after epoch {done}/{epochs} and {batch} batches of epoch {done + 1}"
                if done
                else f"in epoch 1 after {batch} batches"
            )
            return f"dae-tui: {why}run {run_dir} stopped {after}; resume it with: {command}"
        if run_dir is None or not done:
            where = f" (run folder {run_dir})" if run_dir else ""
            return f"dae-tui: {why}quit before the first epoch finished; nothing to resume{where}"
        command = shlex.join(["dae-tui", "--resume", run_dir])
        return f"dae-tui: {why}run {run_dir} stopped after epoch {done}/{epochs}; resume it with: {command}"

    @staticmethod
    def _kept_batch(run_dir: str | None) -> int:
        """The batches of the epoch in progress the stopped run kept (partial.pt), as its
        status.json says; 0 for none."""
        if run_dir is None:
            return 0
        from dae_tui.runs.info import read_run

        run = read_run(run_dir)
        return run.partial_batch if run is not None and run.status == "stopped" else 0

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
        self._switch_run(
            info.path,
            config.dataset,
            config.epochs,
            name=info.name,
            points=info.points,
            title=f"{config.model} on {config.dataset}",
            state=info.status,
            epoch=info.epochs_done,
            ssim=info.ssim,
            where=f"run folder {info.path}",
            message=info.status_line(overrides.get("epochs")),
        )
        self.log_line(f"Start continues the run in {info.path}")
        self.refresh_bindings()

    def _leave_resume(self) -> None:
        self.resume = None
        self.query_one(ConfigForm).lock_fields()
        self.refresh_bindings()
