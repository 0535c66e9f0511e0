"""The dashboard: form -> validated config -> engine in a worker thread -> messages -> widgets.

The App composes the tabs, holds the keys that work on every tab, mounts each tab's pane when it
is first shown (the pane owns its keys: `keys.DashboardScreen`), and builds the help and the
command palette from the bindings. What it does with runs is in its parts (see `base`):
`RunControl` trains, pauses, stops, quits and resumes; `CurrentRun` keeps every figure on screen
about one run and applies the engine's events; `RunsActions` and `InspectActions` serve the Runs
and Inspect tabs; `SystemWatch` shows the machine's figures.

The layout follows the terminal: under 90 columns the form sits above the chart; from 160x45 the
Train tab also shows the latest pictures under the chart and the System pane (per GPU, CPU, RAM,
RSS) under the form; from 30 rows the status panel has a third line, the machine's (GPUs, CPU, RAM).
The footer shows only the keys that do something now.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.actions import parse as parse_action
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, TabbedContent, TabPane

from dae_tui.core.config import TrainConfig
from dae_tui.core.events import Samples
from dae_tui.core.formatting import printable
from dae_tui.runs.files import SaveError, atomic_write, default_runs_dir
from dae_tui.ui.current_run import READ_ONLY_STATUS, CurrentRun
from dae_tui.ui.inspect_actions import InspectActions
from dae_tui.ui.keys import DashboardScreen, Key, TabKeys, key_label, owners, palette_keys, tab_limits
from dae_tui.ui.panes import ImageBrowser
from dae_tui.ui.plain import plain
from dae_tui.ui.resume import ResumeInfo
from dae_tui.ui.run_control import RunControl
from dae_tui.ui.runs_actions import RunsActions
from dae_tui.ui.signals import install_stop_signals
from dae_tui.ui.system_watch import SystemWatch
from dae_tui.ui.widgets import ConfigForm, ImageStrip, KeysFooter, LossChart, RunStatus
from dae_tui.ui.widgets.run_status import ACTIVE_STATES

if TYPE_CHECKING:
    from rich.text import Text

    from dae_tui.runs.handover import Background
    from dae_tui.runs.live import AttachedRun
    from dae_tui.runs.store import RunInfo
    from dae_tui.system.sampler import SystemSample
    from dae_tui.training.trainer import Trainer
    from dae_tui.ui.panes.log import LogView

__all__ = ["READ_ONLY_STATUS", "DaeApp"]

HANGUP_WORDS = {"continue": "keep training in the background", "stop": "stop the run, its checkpoint kept"}
"""What each `--on-hangup` rule does, as the palette and its notice say it."""

PENDING_LOG_LINES = 10_000
"""Lines kept for a Log tab not shown yet (a run writes a few an epoch)."""


def breakpoint_class(size: int, breakpoints: list[tuple[int, str]]) -> str | None:
    """The class Textual's screen takes for `size` cells: the largest breakpoint it reaches."""
    reached = [(start, name) for start, name in breakpoints if size >= start]
    return max(reached)[1] if reached else None


class DaeApp(RunControl, CurrentRun, RunsActions, InspectActions, SystemWatch, App[int]):
    """Train a denoising autoencoder and watch it learn."""

    CSS_PATH = "app.tcss"
    TITLE = "dae-tui"
    AUTO_FOCUS = "#tabs Tabs"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-normal"), (160, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-medium"), (45, "-tall")]

    BINDINGS = [
        Key(
            "s",
            "start",
            "Start",
            help="start a run with the form's settings (or continue the run being resumed)",
            palette="Start a run",
            palette_help="Train with the form's settings",
        ),
        Key(
            "p",
            "pause",
            "Pause",
            help="pause the run at the next batch; p again continues",
            palette="Pause the run",
            palette_help="Hold at the next batch",
        ),
        Key("p", "unpause", "Continue", palette="Continue the run", palette_help="Go on after a pause"),
        Binding("p", "not_running('p')", show=False),
        Key(
            "x",
            "stop",
            "Stop",
            help="stop at the next batch (the last finished epoch is kept); cancels a pending start",
            palette="Stop the run",
            palette_help="Stop at the next batch, keeping the last epoch",
        ),
        Binding("x", "not_running('x')", show=False),
        Key(
            "N",
            "new_run",
            "New run",
            help="while resuming a run: forget it and start a new run instead",
            palette="New run instead of resuming",
            palette_help="Forget the run being resumed",
        ),
        Key(
            "q",
            "quit",
            "Quit",
            help_keys="q  Ctrl+C",
            help="quit; asks first while a run is going (a second q or Ctrl+C: yes), then says how to resume",
        ),
        # Ctrl+C quits as in any terminal program (Textual's own only says to press ctrl+q),
        # over a field's copy and over dialogs alike.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Key(
            "g",
            "log_scale",
            "Log scale",
            tabs=("train",),
            help="chart: linear or log MSE axis",
            palette="Log scale",
            palette_help="Chart: linear or log MSE axis",
            palette_always=True,
        ),
        Key(
            "m",
            "metric",
            "MSE/PSNR",
            tabs=("train", "runs"),
            help="charts (Train and Runs): MSE or PSNR on the y axis",
            palette="MSE or PSNR",
            palette_help="Charts: the y axis in MSE or PSNR",
            palette_always=True,
        ),
        Key(
            "a",
            "overlay_train",
            "Train curves",
            tabs=("train", "runs"),
            help="charts: the marked runs' train curves too, or only their test curves",
            palette="Train curves of marked runs",
            palette_help="Charts: show or hide them",
            palette_always=True,
        ),
        Key(
            "t",
            "show_tab('train')",
            "Train",
            show=False,
            help_keys="t  i  n  r  w  l",
            help="show the Train, Images, Inspect, Runs, Sweep or Log tab",
            palette="Train tab",
            palette_help="Show the Train tab",
            palette_always=True,
        ),
        Key(
            "i",
            "show_tab('images')",
            "Images",
            show=False,
            palette="Images tab",
            palette_help="Show the Images tab",
            palette_always=True,
        ),
        Key(
            "n",
            "show_tab('inspect')",
            "Inspect",
            show=False,
            palette="Inspect tab",
            palette_help="Show the Inspect tab",
            palette_always=True,
        ),
        Key(
            "r",
            "show_tab('runs')",
            "Runs",
            show=False,
            palette="Runs tab",
            palette_help="Show the Runs tab",
            palette_always=True,
        ),
        Key(
            "w",
            "show_tab('sweep')",
            "Sweep",
            show=False,
            palette="Sweep tab",
            palette_help="Show the Sweep tab",
            palette_always=True,
        ),
        Key(
            "l",
            "show_tab('log')",
            "Log",
            show=False,
            palette="Log tab",
            palette_help="Show the Log tab",
            palette_always=True,
        ),
        Key(
            "question_mark,f1",
            "help",
            "Help",
            key_display="?",
            help_keys="? F1",
            help="this help, at the tab's keys: ↑ ↓ PgUp PgDn Home End space scroll, / filters, Esc closes",
            palette="Keys",
            palette_help="Every key of every tab",
            palette_always=True,
        ),
        Key(
            "A",
            "attach_newest",
            "Attach",
            section="Runs",  # listed with the Runs tab's own A, which attaches the run under the cursor
            help="attach to the newest run another process trains here (on this tab: the one under the cursor)",
            palette="Attach to a background run",
            palette_help="The newest run another process trains here",
        ),
        Key(
            "escape",
            "leave_field",
            "Leave field",
            show=False,
            section="Train",
            help="leave a text field, so the keys above work again",
        ),
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
        on_hangup: str = "continue",
        attach: str | None = None,
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
        self.trainer: Trainer | AttachedRun | None = None
        """This dashboard's own run's trainer, or the run it attached to (`attached`)."""
        self.attached: AttachedRun | None = None
        """The run training in another process that this dashboard watches (`attach_run`)."""
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
        self.attach_to = attach
        """The run `--attach` asked for: attached to once the dashboard is up."""
        self.background_runs: tuple[RunInfo, ...] = ()
        """Runs other processes on this host train (newest first), as looked up at start."""
        self.on_hangup = on_hangup
        """What the terminal's hang-up (SIGHUP) does to a run training here: "continue" hands it
        over to a background process, "stop" stops it (`--on-hangup`)."""
        self.handed_to: Background | None = None
        """The background process a run was handed over to on leaving, if one was."""
        self.hand_over_error: str | None = None
        """Why a run could not be handed over on leaving (it was stopped instead)."""
        self.inspect_pick: Path | None = None
        """The run picked for the Inspect tab on the Runs tab (n or Enter); None: this dashboard's
        own run, else the newest run in the runs folder."""
        self.log_view: LogView | None = None
        """The Log tab's view, once the tab was first shown (`_mount_tab`)."""
        self.pending_log: deque[Text] = deque(maxlen=PENDING_LOG_LINES)
        """Lines logged before the Log tab was first shown, oldest first."""
        self.fixed_system: SystemSample | None = None
        """A reading of the machine to show instead of sampling it (`SystemWatch`): set by
        snapshot tests, whose screens must not change with the machine's load."""

    # --- layout ---------------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        """The first screen, born with the breakpoint classes of the terminal's size. Textual adds
        them at the screen's first resize, after every widget was styled, and restyling the
        whole tree for them held the first frame back (benchmarks/NOTES.md, "Profile first"); with
        them in place that resize changes nothing."""
        width, height = self.size
        classes = [
            breakpoint_class(width, self.HORIZONTAL_BREAKPOINTS),
            breakpoint_class(height, self.VERTICAL_BREAKPOINTS),
        ]
        self.dashboard = DashboardScreen(id="_default", classes=" ".join(c for c in classes if c))
        return self.dashboard

    def compose(self) -> ComposeResult:
        with TabbedContent(id="tabs", initial="train"):
            with TabPane("Train (t)", id="train"):
                with Horizontal(id="train-main"):
                    yield ConfigForm(self.initial_config, id="form")
                    with Vertical(id="right"):
                        # Its x axis spans the form's epochs from the first frame (one plot built).
                        yield LossChart(self.initial_config.epochs, id="chart")
                        yield ImageStrip(id="train-strip", height_share=0.5)
            with TabPane("Images (i)", id="images"):
                yield ImageBrowser(id="browser")
            # The Inspect tab too is mounted when first shown (its model loads then).
            yield TabPane("Inspect (n)", id="inspect")
            # The Runs tab's table, chart and poller are mounted when the tab is first shown.
            yield TabPane("Runs (r)", id="runs")
            # So is the Sweep tab (Optuna loads in its poller's thread).
            yield TabPane("Sweep (w)", id="sweep")
            # And the Log tab: its RichLog (rich.pretty, attrs) costs the first frame ~10 ms; the
            # lines written before it is shown wait in `pending_log`.
            yield TabPane("Log (l)", id="log")
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
        self.start_system_watch()  # after the first frame (a timer): the sampler opens NVML
        if self.attach_to is not None:
            self.call_after_refresh(self.attach_run, self.attach_to)
        else:
            # After the first frame: runs other processes train here are the first screen's news.
            self.set_timer(0.3, self.look_for_background_runs)

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
        if action == "attach_newest":
            return bool(self.background_runs) and self.state not in ACTIVE_STATES
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
        if tab == "log" and self.log_view is not None:
            self.call_after_refresh(self.log_view.flush_deferred)
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
            elif tab == "log":
                from dae_tui.ui.panes.log import LogView

                view = LogView(id="log-view", wrap=True)
                await pane.mount(view)
                while self.pending_log:
                    view.write(self.pending_log.popleft())
                self.log_view = view
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

    def exit(self, result: Any = None, return_code: int = 0, message: Any = None) -> None:
        """Leave, with the watchdog of `on_leaving` armed first (every way out comes here)."""
        self.on_leaving(return_code)
        super().exit(result, return_code, message)

    def on_unmount(self) -> None:
        self._remove_signal_handlers()
        if self.attached is not None:
            self.attached.detach()  # the watching thread ends with the app; the run goes on

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
        from dae_tui.ui.dialogs.screens import HelpScreen  # a dialog's module waits for its first use

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
                    node is self or node is self.dashboard.keys_owner
                )
                if key.palette_always or works:
                    yield SystemCommand(
                        key.palette,
                        f"{key.palette_help or key.help} ({key_label(key)})",
                        partial(self.run_action, key.action, node),
                    )
        other = "stop" if self.on_hangup == "continue" else "continue"
        yield SystemCommand(
            f"On hang-up: {HANGUP_WORDS[other]}",
            f"when the terminal hangs up (SSH dropped) mid-run; now: {HANGUP_WORDS[self.on_hangup]} (--on-hangup)",
            partial(self.set_on_hangup, other),
        )
        for command in super().get_system_commands(screen):
            if command.title != "Keys":
                yield command

    def set_on_hangup(self, rule: str) -> None:
        """The palette's setting of `--on-hangup` for this dashboard: what a hang-up of its terminal
        does to a run training here from now on."""
        self.on_hangup = rule
        self.log_line(f"on hang-up: {HANGUP_WORDS[rule]}")
        self.notify(f"If the terminal hangs up mid-run: {HANGUP_WORDS[rule]}.")

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
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
            self.notify(
                str(err)
                if isinstance(err, SaveError)
                else f"cannot save a screenshot in {folder}: {err.strerror or err}",
                severity="error",
            )
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

    # --- state ----------------------------------------------------------------------------

    def watch_state(self, state: str) -> None:
        self.query_one(RunStatus).state = state
        self.query_one(ConfigForm).disabled = state in ACTIVE_STATES
        self.refresh_bindings()

    def log_line(self, text: str, style: str = "") -> None:
        """Add a line to the Log tab (plain text: paths and messages are never read as markup)."""
        line = plain(text, style=style)
        if self.log_view is None:
            self.pending_log.append(line)  # written when the tab is first shown (`_mount_tab`)
        else:
            self.log_view.write(line)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification as plain text, whatever a caller asks (widgets' `notify` land here
        too): they carry run names, paths and messages read from files, never our own markup."""
        super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout, markup=False)
