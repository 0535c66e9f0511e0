"""The dashboard: form -> validated config -> engine in a worker thread -> messages -> widgets.

The first frame draws before torch is imported: the engine loads in a background thread and Start
waits for it (x cancels that wait). Training runs in one exclusive thread worker that loops over
the engine's events and only posts messages; handlers here set widget state. Quit asks first
while a run is going, then asks the engine to stop at the next batch, so the last finished
epoch's checkpoint is kept; `exit_note` then says how to resume it.

The layout follows the terminal: under 90 columns the form sits above the chart; from 160x45 the
Train tab also shows the latest pictures under the chart. The footer shows only the keys that do
something now.
"""

from __future__ import annotations

import os
import shlex
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import on, work
from textual.actions import parse as parse_action
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from dae_tui.cli.invocation import signal_exit
from dae_tui.core.config import CLASS_NAMES, FIELD_SPECS, RESUME_OVERRIDABLE, TrainConfig, flags_to_labels
from dae_tui.core.events import EpochEnd, RunStarted, Samples
from dae_tui.core.formatting import format_epoch, format_finished, format_started, plural, printable
from dae_tui.runs.files import SaveError, atomic_write, default_runs_dir
from dae_tui.ui.dialogs.screens import HelpScreen, QuitScreen
from dae_tui.ui.inspect_actions import InspectActions
from dae_tui.ui.keys import DashboardScreen, Key, TabKeys, key_label, owners, palette_keys, tab_limits
from dae_tui.ui.messages import (
    EngineEpochEnd,
    EngineLoaded,
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
    while_shown,
    wrap,
)
from dae_tui.ui.panes import ImageBrowser, LogView
from dae_tui.ui.plain import plain
from dae_tui.ui.resume import ResumeInfo
from dae_tui.ui.runs_actions import RunsActions
from dae_tui.ui.signals import install_stop_signals
from dae_tui.ui.widgets import ConfigForm, ImageStrip, KeysFooter, LossChart, RunStatus
from dae_tui.ui.widgets.image_strip import rows_of
from dae_tui.ui.widgets.run_status import ACTIVE_STATES

if TYPE_CHECKING:
    from dae_tui.training.trainer import Trainer

__all__ = ["DaeApp"]


def breakpoint_class(size: int, breakpoints: list[tuple[int, str]]) -> str | None:
    """The class Textual's screen takes for `size` cells: the largest breakpoint it reaches."""
    reached = [(start, name) for start, name in breakpoints if size >= start]
    return max(reached)[1] if reached else None


READ_ONLY_STATUS = "browsing only: runs folder not writable; --runs-dir to train elsewhere"
"""The status line of an app started on a runs folder it cannot write (fits 80 columns)."""


class DaeApp(InspectActions, RunsActions, App[int]):
    """Train a denoising autoencoder and watch it learn."""

    CSS_PATH = "app.tcss"
    TITLE = "dae-tui"
    AUTO_FOCUS = "#tabs Tabs"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-normal"), (160, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (45, "-tall")]

    BINDINGS = [
        Key("s", "start", "Start",
            help="start a run with the form's settings (or continue the run being resumed)",
            palette="Start a run", palette_help="Train with the form's settings"),
        Key("p", "pause", "Pause", help="pause the run at the next batch; p again continues",
            palette="Pause the run", palette_help="Hold at the next batch"),
        Key("p", "unpause", "Continue", palette="Continue the run", palette_help="Go on after a pause"),
        Binding("p", "not_running('p')", show=False),
        Key("x", "stop", "Stop",
            help="stop at the next batch (the last finished epoch is kept); cancels a pending start",
            palette="Stop the run", palette_help="Stop at the next batch, keeping the last epoch"),
        Binding("x", "not_running('x')", show=False),
        Key("N", "new_run", "New run", help="while resuming a run: forget it and start a new run instead",
            palette="New run instead of resuming", palette_help="Forget the run being resumed"),
        Key("q", "quit", "Quit", help_keys="q  Ctrl+C",
            help="quit; asks first while a run is going (a second q or Ctrl+C: yes), then says how to resume"),
        # Ctrl+C quits as in any terminal program (Textual's own only says to press ctrl+q),
        # over a field's copy and over dialogs alike.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Key("g", "log_scale", "Log scale", tabs=("train",), help="chart: linear or log MSE axis",
            palette="Log scale", palette_help="Chart: linear or log MSE axis", palette_always=True),
        Key("m", "metric", "MSE/PSNR", tabs=("train", "runs"),
            help="charts (Train and Runs): MSE or PSNR on the y axis",
            palette="MSE or PSNR", palette_help="Charts: the y axis in MSE or PSNR", palette_always=True),
        Key("a", "overlay_train", "Train curves", tabs=("train", "runs"),
            help="charts: the marked runs' train curves too, or only their test curves",
            palette="Train curves of marked runs", palette_help="Charts: show or hide them", palette_always=True),
        Key("t", "show_tab('train')", "Train", show=False, help_keys="t  i  n  r  w  l",
            help="show the Train, Images, Inspect, Runs, Sweep or Log tab",
            palette="Train tab", palette_help="Show the Train tab", palette_always=True),
        Key("i", "show_tab('images')", "Images", show=False,
            palette="Images tab", palette_help="Show the Images tab", palette_always=True),
        Key("n", "show_tab('inspect')", "Inspect", show=False,
            palette="Inspect tab", palette_help="Show the Inspect tab", palette_always=True),
        Key("r", "show_tab('runs')", "Runs", show=False,
            palette="Runs tab", palette_help="Show the Runs tab", palette_always=True),
        Key("w", "show_tab('sweep')", "Sweep", show=False,
            palette="Sweep tab", palette_help="Show the Sweep tab", palette_always=True),
        Key("l", "show_tab('log')", "Log", show=False,
            palette="Log tab", palette_help="Show the Log tab", palette_always=True),
        Key("question_mark,f1", "help", "Help", key_display="?", help_keys="? F1",
            help="this help, at the tab's keys: ↑ ↓ PgUp PgDn Home End space scroll, / filters, Esc closes",
            palette="Keys", palette_help="Every key of every tab", palette_always=True),
        Key("escape", "leave_field", "Leave field", show=False, section="Train",
            help="leave a text field, so the keys above work again"),
    ]

    dashboard: DashboardScreen
    """The first screen (`get_default_screen`), where the tabs are."""

    state: reactive[str] = reactive("idle", init=False)
    """The run's state: idle, loading, training, paused, finished, stopped or failed."""

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        runs_dir: str | Path | None = None,
        resume: str | Path | ResumeInfo | None = None,
        storage: str | None = None,
        read_only: str | None = None,
    ) -> None:
        super().__init__()
        self.read_only = read_only
        """Why runs cannot be started here (a runs folder that cannot be written), in one line;
        None when they can. Everything else works: the app is for browsing only."""
        self.storage = storage
        """The sweep storage the Sweep tab reads (None: SQLite in the runs folder)."""
        self.initial_config = config or TrainConfig()
        self.runs_dir = runs_dir
        if resume is not None and not isinstance(resume, ResumeInfo):
            resume = ResumeInfo.read(resume)  # ConfigError (one line) when nothing is there
        self.resume: ResumeInfo | None = resume
        """The run the next Start continues (from --resume) until it starts or N cancels it."""
        self.engine_loaded = False
        """True once torch and the engine are imported."""
        self._engine_import_started = False
        self.start_when_loaded = False
        self.trainer: Trainer | None = None
        self.run_dir: str | None = None
        """The folder of the current run: the one training here, else the one trained, resumed
        or opened last, which the status lines, chart, Images and Inspect tabs all speak of
        (None: none yet, or a new run about to start). Changed only through `_switch_run`
        and when a run starts."""
        self.last_epoch_done = 0
        """The current run's last finished epoch (written by the training thread)."""
        self.run_epochs = 0
        """Epochs the current run will train."""
        self.run_dataset = self.initial_config.dataset
        """The current run's dataset."""
        self._samples_cache: dict[str, tuple[Any, dict[int, Samples]]] = {}
        self.exit_note: str | None = None
        """A line for the terminal after the app has closed (how to resume a run quit mid-way)."""
        self.training_idle = threading.Event()
        """Set while no training thread is running (cleared for the life of each run)."""
        self.training_idle.set()
        self.quit_during_run = False
        """True once the user quit (or a signal ended the app) while a run was going."""
        self.stop_signal: int | None = None
        """The SIGTERM or SIGHUP that ended the app, if one did."""
        self.on_leaving: Callable[[int], None] = lambda code: None
        """Called with the exit code whenever the app is asked to leave (q, a signal): `run_app`
        makes sure the process then ends even if the shutdown gets stuck, on a dead terminal or
        joining a thread blocked in a read (see `signals`); an app in a test stays as it is."""
        self._remove_signal_handlers: Callable[[], None] = lambda: None
        self._status_line: RunStatus | None = None  # set by compose
        self.inspect_pick: Path | None = None
        """The run picked for the Inspect tab on the Runs tab (n or Enter); None: this dashboard's
        own run, else the newest run in the runs folder."""

    # --- layout ---------------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        """The first screen, born with the breakpoint classes of the terminal's size. Textual adds
        them at the screen's first resize, after every widget was styled, and restyling the
        whole tree for them held the first frame back (benchmarks/NOTES.md, "Profile first"); with
        them in place that resize changes nothing."""
        width, height = self.size
        classes = [breakpoint_class(width, self.HORIZONTAL_BREAKPOINTS),
                   breakpoint_class(height, self.VERTICAL_BREAKPOINTS)]
        self.dashboard = DashboardScreen(id="_default", classes=" ".join(c for c in classes if c))
        return self.dashboard

    def compose(self) -> ComposeResult:
        with TabbedContent(id="tabs", initial="train"):
            with TabPane("Train (t)", id="train"):
                with Horizontal(id="train-main"):
                    yield ConfigForm(self.initial_config, id="form")
                    with Vertical(id="right"):
                        yield LossChart(id="chart")
                        yield ImageStrip(id="train-strip", height_share=0.5)
            with TabPane("Images (i)", id="images"):
                yield ImageBrowser(id="browser")
            # The Inspect tab too is mounted when first shown (its model loads then).
            yield TabPane("Inspect (n)", id="inspect")
            # The Runs tab's table, chart and poller are mounted when the tab is first shown.
            yield TabPane("Runs (r)", id="runs")
            # So is the Sweep tab (Optuna loads in its poller's thread).
            yield TabPane("Sweep (w)", id="sweep")
            with TabPane("Log (l)", id="log"):
                yield LogView(id="log-view", wrap=True)
        self._status_line = RunStatus(id="status")
        yield self._status_line
        yield KeysFooter(on_first_keys=self.load_engine)

    @property
    def shown(self) -> bool:
        """Whether the app's widgets are in place: not yet composed, or torn down on the way out,
        they are not, and messages arriving then are dropped (`while_shown`)."""
        return self._status_line is not None and self._status_line.is_attached

    def on_mount(self) -> None:
        self._remove_signal_handlers = install_stop_signals(self._stop_by_signal)
        self.log_line("dae-tui ready: loading the engine (torch) in the background")
        if self.resume:
            self._enter_resume(self.resume)
        if self.read_only:
            # The whole reason (with its path) in the Log and on s; the status line has room for less.
            self.log_line(self.read_only)
            self.query_one(RunStatus).message = READ_ONLY_STATUS
        # The footer starts the import once its keys are painted, the last part of the first
        # frame: the import holds the GIL for long stretches (benchmarks/NOTES.md) and would hold
        # that frame back. In case the footer never builds its keys (no focus), a timer starts it
        # anyway.
        self.set_timer(1.0, self.load_engine)

    # --- background work ------------------------------------------------------------------

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

    @on(EngineLoaded)
    @while_shown
    def _engine_loaded(self, message: EngineLoaded) -> None:
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

    @on(Worker.StateChanged)
    @while_shown
    def _worker_changed(self, event: Worker.StateChanged) -> None:
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

    # --- which keys do something now -------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide (and disable) the keys that would do nothing in this state or on this tab."""
        limit = tab_limits(type(self)).get(action)  # where the key works, as its Key says
        if limit is not None:
            tabs, priority = limit
            return self._tab in tabs and not (priority and len(self.screen_stack) != 1)
        if action == "start":
            return self.state not in ACTIVE_STATES
        if action == "pause":
            return self.state == "training"
        if action == "unpause":
            return self.state == "paused"
        if action == "stop":
            return self.state in ACTIVE_STATES
        if action == "not_running":
            return self.state not in ACTIVE_STATES
        if action == "new_run":
            return self.resume is not None and self.state not in ACTIVE_STATES
        return True

    @property
    def _tab(self) -> str:
        return self.query_one(TabbedContent).active

    @on(TabbedContent.TabActivated)
    async def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()
        tab = event.pane.id
        await self._mount_tab(tab)
        if tab == "log":
            self.call_after_refresh(self.query_one(LogView).flush_deferred)
        elif tab == "runs":
            self.call_after_refresh(self._focus_table, "runs", "#runs-table")
        elif tab == "sweep":
            self.call_after_refresh(self._focus_table, "sweep", "#sweep-table")
        elif tab == "inspect":
            self.call_after_refresh(self._show_inspect)

    async def _mount_tab(self, tab: str | None) -> None:
        """Mount a tab's pane on its first showing (the Inspect, Runs and Sweep tabs' modules
        load then), and make its keys the screen's (`DashboardScreen`) if it is shown."""
        pane = self.query_one(f"#tabs TabPane#{tab}", TabPane)
        if not pane.children:
            if tab == "runs":
                from dae_tui.ui.panes.runs import RunsView  # the table's modules load on first use

                await pane.mount(RunsView(self.runs_folder, id="runs-view"))
            elif tab == "sweep":
                from dae_tui.ui.panes.sweep import SweepView  # Optuna loads in its poller's thread

                await pane.mount(SweepView(self.runs_folder, self.storage, id="sweep-view"))
            elif tab == "inspect":
                from dae_tui.ui.panes.inspect import InspectView  # its model loads when shown

                await pane.mount(InspectView(id="inspect-view"))
        if tab == self._tab:
            self.dashboard.keys_owner = next((child for child in pane.children if isinstance(child, TabKeys)), None)
            self.refresh_bindings()

    def _focus_table(self, tab: str, selector: str) -> None:
        """The Runs or Sweep tab's table takes the keys (space, Enter, /, ...) as soon as the tab
        shows. Its first showing mounts it, and the focus waits for that mount: asked before
        it (a loaded machine), it had stayed on the tab strip. Not if another tab came since."""
        if self._tab == tab and self.query(selector):
            self.query_one(selector).focus()

    # --- actions --------------------------------------------------------------------------

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

    def exit(self, result: Any = None, return_code: int = 0, message: Any = None) -> None:
        """Leave, with the watchdog of `on_leaving` armed first (every way out comes here)."""
        self.on_leaving(return_code)
        super().exit(result, return_code, message)

    def on_unmount(self) -> None:
        self._remove_signal_handlers()

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

    def action_log_scale(self) -> None:
        """Toggle the chart's MSE axis between linear and log."""
        self.query_one("#chart", LossChart).toggle_log_scale()

    def action_show_tab(self, tab: str) -> None:
        """Show a tab. The focus moves to the tab strip first: left inside the pane being hidden,
        Textual would hand it to another widget there (the Runs tab's filter line), and the
        tabs follow the focus back to that pane. Its keys work from the next key pressed."""
        tabs = self.query_one(TabbedContent)
        if tab != tabs.active and self.focused is not None and tabs.active_pane in self.focused.ancestors:
            self.query_one("#tabs Tabs").focus()
        tabs.active = tab
        self.call_next(self._mount_tab, tab)  # before the next key is handled

    def action_leave_field(self) -> None:
        """Esc in a form field hands the keys back to the app's bindings."""
        if isinstance(self.focused, Input):
            self.query_one("#tabs Tabs").focus()

    def action_help(self) -> None:
        """Every key of every tab."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self._tab))  # opened at this tab's keys

    def _charts(self) -> list[LossChart]:
        return list(self.query(LossChart))

    def action_metric(self) -> None:
        """Charts: MSE or PSNR on the y axis."""
        for chart in self._charts():
            chart.toggle_metric()

    def action_overlay_train(self) -> None:
        """Charts: the marked runs' train curves too, or only their test curves."""
        for chart in self._charts():
            chart.toggle_overlay_train()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette: the bindings that name a palette entry (`Key.palette`), those that
        would do something now or work from any tab, then Textual's own (its Keys is ours). A
        pane's entries run on the pane, and only while it is mounted."""
        for _, owner in owners():
            node = self if owner is type(self) else next(iter(self.query(cast("type[Widget]", owner))), None)
            if node is None:
                continue  # a tab not shown yet
            for key in palette_keys(owner):
                _, name, parameters = parse_action(key.action)
                works = node.check_action(name, parameters) is not False and (
                    node is self or node is self.dashboard.keys_owner)
                if key.palette_always or works:
                    yield SystemCommand(key.palette, f"{key.palette_help or key.help} ({key_label(key)})",
                                        partial(self.run_action, key.action, node))
        for command in super().get_system_commands(screen):
            if command.title != "Keys":
                yield command

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Save an SVG screenshot in the runs folder (or the current folder) and say where:
        a server over SSH has no Downloads folder to put it in."""
        folder = Path(path) if path else self._screenshot_folder()
        name = filename or f"dae-tui-{datetime.now():%Y%m%d-%H%M%S}.svg"
        svg = self.export_screenshot().encode("utf-8")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Through a temp file: a full disk left a 0-byte or cut SVG that looked like a screenshot.
            atomic_write(folder / name, lambda handle: handle.write(svg), what=f"the screenshot {name}")
        except OSError as err:
            self.notify(str(err) if isinstance(err, SaveError) else
                        f"cannot save a screenshot in {folder}: {err.strerror or err}", severity="error")
            return None
        self.notify(str(folder / name), title="Screenshot saved")
        return str(folder / name)

    def _screenshot_folder(self) -> Path:
        if os.access(self.runs_folder, os.W_OK):
            return self.runs_folder
        return Path.cwd()

    @property
    def runs_folder(self) -> Path:
        """Where runs are saved and listed (--runs-dir, else the user data dir)."""
        return Path(self.runs_dir) if self.runs_dir else default_runs_dir()

    # --- resuming ---------------------------------------------------------------------------

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

    # --- the current run ----------------------------------------------------------------------

    def _switch_run(self, folder: str | None, dataset: str, planned: int, *, name: str | None = None,
                    points: Iterable[tuple[int, float, float]] = (), title: str = "MSE per epoch",
                    state: str | None = None, **figures: Any) -> None:
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
        """A run's saved pictures (samples/), read off the UI thread; a newer read supersedes it."""
        from dae_tui.runs.samples import load_samples  # torch-free

        history = load_samples(folder)
        if not get_current_worker().is_cancelled:
            self.post_message(RunPictures(folder, history))

    @on(RunPictures)
    @while_shown
    def _pictures_read(self, message: RunPictures) -> None:
        browser = self.query_one(ImageBrowser)
        if browser.add_saved(message.folder, message.history) and message.folder == self.run_dir:
            self._show_strip(browser.latest)

    def _show_strip(self, samples: Samples | None) -> None:
        """The Train tab's pictures: the current run's latest epoch."""
        names = CLASS_NAMES.get(self.run_dataset, ())
        rows = rows_of(samples, names) if samples is not None else []
        self.query_one("#train-strip", ImageStrip).show(rows, self.query_one(ImageBrowser).selected)

    def _leave_resume(self) -> None:
        self.resume = None
        self.query_one(ConfigForm).lock_fields()
        self.refresh_bindings()

    # --- state ----------------------------------------------------------------------------

    def watch_state(self, state: str) -> None:
        self.query_one(RunStatus).state = state
        self.query_one(ConfigForm).disabled = state in ACTIVE_STATES
        self.refresh_bindings()

    def log_line(self, text: str, style: str = "") -> None:
        """Add a line to the Log tab (plain text: paths and messages are never read as markup)."""
        self.query_one(LogView).write(plain(text, style=style))

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification as plain text, whatever a caller asks (widgets' `notify` land here
        too): they carry run names, paths and messages read from files, never our own markup."""
        super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout,
                       markup=False)

    @on(ConfigForm.Changed)
    @while_shown
    def _form_changed(self, message: ConfigForm.Changed) -> None:
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
        if message.config and not chart.epochs and not chart.running:
            chart.planned_epochs = message.config.epochs
            chart.replot()

    # --- engine events: one message class each (ui/messages.py), one handler each ---------
    # Each handler's widget updates are painted together (`batch_update`).

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
            if isinstance(self.screen, QuitScreen):
                self.screen.set_question(self._quit_question())
            if self.run_dir:
                self._inspect_epoch_saved(self.run_dir)

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
            self.state = "finished"
            text = format_finished(event.epochs, event.best_test_mse)
            self.query_one(RunStatus).message = text
            self.notify(text, title="Run finished")
            self.log_line(f"{text}; saved in {event.run_dir}", "green")

    @while_shown
    def on_engine_run_stopped(self, message: EngineRunStopped) -> None:
        event = message.event
        with self.batch_update():
            status = self.query_one(RunStatus)
            self.state = "stopped"
            kept = f"epoch {event.last_epoch} kept" if event.last_epoch else "no epoch finished"
            status.message = f"stopped: {kept}"
            status.epoch = event.last_epoch  # not the epoch that was cut short
            status.set_batch(0, 0)
            self.log_line(f"stopped: {kept} in {event.run_dir}", "yellow")

    @while_shown
    def on_engine_run_failed(self, message: EngineRunFailed) -> None:
        with self.batch_update():
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
        status.where = (
            f"{event.dataset_label} · {event.train_size:,}/{event.test_size:,} train/test · {event.source}"
        )
        # A resumed run's chart starts where it left off.
        chart = self.query_one("#chart", LossChart)
        chart.reset(f"{event.config.model} on {event.config.dataset}", event.earlier, event.config.epochs)
        status.best = chart.best
        if not event.resumed_from:
            status.ssim = None  # a resumed run's last SSIM (shown on R) is still its latest
        browser = self.query_one(ImageBrowser)
        if browser.folder is not None and Path(browser.folder).resolve() == Path(event.run_dir).resolve():
            # A resumed run: the pictures of its earlier epochs (read on R) stay, the new ones join.
            browser.show_run(None, event.config.dataset, event.config.epochs, browser.history, event.run_dir,
                             reading=browser.reading)
        elif browser.folder is None:  # unless the user opened another run in Images meanwhile
            browser.reset(event.config.dataset, event.config.epochs, event.run_dir)
        self.log_line(format_started(event))
