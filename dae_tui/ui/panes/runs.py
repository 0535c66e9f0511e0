"""The Runs tab: every run under the runs folder, live, to sort, filter, mark, open and reuse.

A thread worker polls `RunStore.refresh()` every second, or less often in a folder so big that
one look costs more than a twentieth of the wait (runs started by other processes appear, their
epochs advance), and posts `RunsView.Updated` naming the runs that changed; only those rows are
formatted again, and the table (`RunsTable`, virtual) draws only the lines on screen, so a poll,
a re-sort or a filter of 3,000 runs costs what changed, not what is there. Keys (on the table):
space marks a run for the chart overlay (up to 8, each keeping its colour and digit for the
session), Enter opens it, `/` filters, `o` sorts by the next column and `O` reverses the order,
`v` shows all settings or only those that differ, `c` copies a run's config into the form, `R`
resumes it, `d` deletes it, `f` shows the marked runs' figures side by side (`NumbersScreen`).
The device column says what trained each run and the most memory an
epoch of it took (`H200 2.1 GB`: a sweep spread over a GPU box is read per board). The view posts
messages for what the app must do; it never touches the form, the chart on the Train tab or the
disk itself (deleting is the app's, after asking).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input
from textual.worker import get_current_worker

from dae_tui.core.formatting import RUN_COLUMNS, plural, printable, run_cells
from dae_tui.runs.compare import differing, run_labels, settings_key, settings_text
from dae_tui.runs.store import RunInfo, RunStore, RunStoreError
from dae_tui.ui.keys import Key
from dae_tui.ui.messages import RunChosen, RunMarksChanged
from dae_tui.ui.widgets.fitted import FitLine
from dae_tui.ui.widgets.loss_chart import MARK_COLOURS, LossChart, Series
from dae_tui.ui.widgets.runs_table import RunsTable

__all__ = ["RunsView"]

POLL_S = 1.0
"""Seconds between two looks at the runs folder (new runs show up within two)."""
POLL_SHARE = 0.05
"""At most this share of the time goes on looking: a look that took 80 ms waits 1.6 s, so the
poller never takes the GIL from a training run for long."""
MAX_MARKS = 8
COLUMNS = (
    "mark",
    "run",
    "status",
    "best PSNR",
    "epochs",
    "device",
    "settings",
    "dataset",
    "model",
    "noise",
    "last PSNR",
    "s/epoch",
    "started",
)
"""The table's columns: what tells runs apart first (best PSNR, settings), then the rest; the
device (and its peak memory) beside the epochs, where it shows at 100 columns."""
SORT_KEYS: dict[str, Callable[[RunInfo], Any]] = {
    "run": lambda r: r.name,
    "status": lambda r: r.status,
    "dataset": lambda r: r.dataset or "",
    "model": lambda r: r.model or "",
    "noise": lambda r: (r.noise or "", r.noise_factor or 0.0),
    "epochs": lambda r: (r.epochs_done, r.epochs),
    "best PSNR": lambda r: r.best_test_psnr if r.best_test_psnr is not None else float("-inf"),
    "last PSNR": lambda r: r.last_test_psnr if r.last_test_psnr is not None else float("-inf"),
    "s/epoch": lambda r: r.seconds_per_epoch if r.seconds_per_epoch is not None else float("inf"),
    "started": lambda r: r.started,
    "settings": lambda r: settings_key(r.config),
    "device": lambda r: (r.device_name or "", r.peak_memory_mb or 0.0),
}
STATUS_COLOURS = {
    "running": "green",
    "failed": "red",
    "interrupted": "yellow",
    "stopped": "yellow",
    "pruned": "dim",
    "suspended": "magenta",
}


def device_cell(run: RunInfo) -> str:
    """'H200 2.1 GB': what trained the run's latest epoch and the most memory an epoch took (on
    a CPU the process's peak RSS); '—' for a run from before the records said."""
    name = run.device_name
    peak = run.peak_memory_mb
    parts = [name.removeprefix("NVIDIA ").strip() or name] if name else []
    if peak is not None:
        parts.append(f"{peak / 1024:.1f} GB" if peak >= 1024 else f"{peak:,.0f} MB")
    return " ".join(parts) or "—"


class RunsView(Vertical):
    """The run table, a filter line and a chart of the marked runs (and the one under the cursor)."""

    DEFAULT_CSS = """
    RunsView { height: 1fr; }
    RunsView #runs-info { height: 1; padding: 0 1; background: $boost; }
    RunsView #runs-filter { display: none; height: 1; border: none; padding: 0 1; }
    RunsView #runs-filter.-shown { display: block; }
    RunsView #runs-table { height: 1fr; min-height: 4; }
    RunsView #runs-chart { height: 45%; min-height: 8; }
    """

    BINDINGS = [
        Key(
            "space",
            "mark",
            "Mark",
            help="mark the run for the charts' overlay (up to 8; each keeps its digit and colour)",
        ),
        Key(
            "enter",
            "open",
            "Open",
            priority=True,
            help="open it: its curves on the Train chart, its pictures in Images",
        ),
        # Short words, so the tab's keys (with the app's `? Help`) fit 80 columns, none hidden by
        # the footer's last resort; the tooltips say the rest.
        Key(
            "slash",
            "filter",
            "Find",
            key_display="/",
            tooltip="keep the runs holding the words typed",
            help="filter by words in names and settings; Esc clears",
        ),
        Key(
            "o",
            "sort(1)",
            "Sort",
            help_keys="o  O",
            help="sort by the next / previous column (or click a column header)",
        ),
        Binding("O", "reverse_sort", "Reverse", show=False),
        Key(
            "v",
            "differing",
            "Diff",
            tooltip="all settings, or only those that differ",
            help="all settings, or only those that differ between the listed runs",
        ),
        Key(
            "c",
            "clone",
            "Copy",
            tooltip="copy the run's config into the form",
            help="copy its config into the form, to tweak and start a variant",
        ),
        Key(
            "n",
            "inspect",
            "Inspect",
            help="inspect its model on the Inspect tab (Enter also makes it the one inspected)",
        ),
        Key("R", "resume", "Resume", help="resume a stopped or interrupted run; extend a finished one"),
        Key("d", "delete", "Delete", help="delete it, after asking (never a run that is training)"),
        # After Delete: at 80 columns the footer drops the last keys first, and `?` lists this one.
        Key(
            "f",
            "numbers",
            "Figures",
            tooltip="the marked runs' figures side by side",
            help="the marked runs' figures side by side (the run under the cursor if none is marked): "
            "best and last PSNR, SSIM, MSE, speed, time, size, what differs; e there writes a CSV",
            palette="Numbers table",
            palette_help="Runs: the marked runs' figures side by side, to write as CSV",
            palette_always=True,
        ),
        Key(
            "A",
            "attach",
            "Attach",
            show=False,
            help="",
        ),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    @dataclass
    class Updated(Message):
        """The runs folder as the poller last read it (newest first), or why it cannot be read."""

        runs: tuple[RunInfo, ...]
        error: str | None = None
        changed: frozenset[str] | None = None
        """The runs added, changed or gone since the last message; None: any may have."""

    def __init__(self, runs_dir: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs_dir = runs_dir
        self.runs: dict[str, RunInfo] = {}
        """Every run by folder name, as last read."""
        self.marks: dict[str, int] = {}
        """Marked runs: name -> mark digit 1-8."""
        self._colour_of: dict[str, int] = {}  # a run keeps its digit for the session
        self.sort_column = "started"
        self.sort_reverse = True
        self.filter_text = ""
        self.only_differing = False
        self.error: str | None = None
        self._names: list[str] | None = None  # the settings the rows show (None: all)
        self._formatted: dict[str, tuple[RunInfo, int | None]] = {}
        """What each row in the table was formatted from: the run as read and its mark."""
        self._wake = threading.Event()

    def compose(self) -> ComposeResult:
        yield FitLine("Reading the runs folder…", id="runs-info")
        yield Input(placeholder="filter: words in names and settings (Enter keeps, Esc clears)", id="runs-filter")
        yield RunsTable(COLUMNS, id="runs-table")
        yield LossChart(id="runs-chart")

    def on_mount(self) -> None:
        self.query_one(LossChart).title = "the run under the cursor"
        self.poll()  # the app gives the table the focus once this mount is done

    # --- reading --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs")
    def poll(self) -> None:
        """Read the runs folder now and every `POLL_S`, posting what is there when it changed."""
        worker = get_current_worker()
        store = RunStore(self.runs_dir)
        first = True
        while not worker.is_cancelled:
            start = time.perf_counter()
            try:
                changes = store.refresh()
                if changes or first:
                    names = {r.name for r in (*changes.added, *changes.changed)} | set(changes.removed)
                    self.post_message(self.Updated(tuple(store.runs), changed=None if first else frozenset(names)))
            except RunStoreError as err:
                self.post_message(self.Updated((), str(err)))
            first = False
            self._wake.wait(max(POLL_S, (time.perf_counter() - start) / POLL_SHARE))
            self._wake.clear()

    def poll_now(self) -> None:
        """Look at the folder again at once (after a delete, say)."""
        self._wake.set()

    @on(Updated)
    def _updated(self, message: Updated) -> None:
        message.stop()
        self.error = message.error
        self.runs = {run.name: run for run in message.runs}
        gone = [name for name in self.marks if name not in self.runs]
        for name in gone:
            del self.marks[name]
        self.refill(message.changed)
        if message.changed is None or gone or not message.changed.isdisjoint(self.marks):
            self._post_marks()

    # --- the table ------------------------------------------------------------------------

    def visible_runs(self) -> list[RunInfo]:
        """The runs the filter lets through, in the table's order."""
        words = self.filter_text.lower().split()
        runs = [
            run
            for run in self.runs.values()
            if all(
                w
                in f"{run.name} {run.status} {run.dataset} {run.model} {run.noise} {settings_text(run.config)}".lower()
                for w in words
            )
        ]
        runs.sort(key=SORT_KEYS[self.sort_column], reverse=self.sort_reverse)
        return runs

    def _row(self, run: RunInfo, names: list[str] | None) -> list[Any]:
        cells: dict[str, Any] = dict(zip(RUN_COLUMNS, run_cells(run), strict=True))
        mark = self.marks.get(run.name)
        cells["best PSNR"] = Text(cells["best PSNR"], style="bold")
        cells["status"] = Text(cells["status"], style=STATUS_COLOURS.get(cells["status"], ""))
        cells["mark"] = Text(f"●{mark}", style=MARK_COLOURS[mark - 1][1]) if mark else Text(" ")
        cells["settings"] = settings_text(run.config, names)
        cells["device"] = device_cell(run)
        # The table draws a str as it is, never as markup; controls (a folder's name is
        # anything at all) are made visible as `plain` would.
        return [printable(cells[column]) if isinstance(cells[column], str) else cells[column] for column in COLUMNS]

    def refill(self, changed: frozenset[str] | None = None) -> None:
        """Bring the table to the runs, filter and order, keeping the cursor on the same run.

        A row is formatted again only when its run was read anew (the store keeps the same
        `RunInfo` for a run that did not change), its mark changed or every settings cell did
        (`v`); the rest is a new order of names, which the table draws only where it shows.
        `changed` is the poller's word on what changed (None: any may have), a hint the check
        of each run itself makes safe to ignore.
        """
        table = self.query_one(RunsTable)
        before = self.current()
        runs = self.visible_runs()
        names = differing(r.config for r in runs) if self.only_differing else None
        if names != self._names:
            self._names = names
            self._formatted.clear()
        gone = [name for name in self._formatted if name not in self.runs]
        table.forget(gone)
        for name in gone:
            del self._formatted[name]
        for run in runs:
            mark = self.marks.get(run.name)
            done = self._formatted.get(run.name)
            if done is None or done[0] is not run or done[1] != mark:
                table.put(run.name, self._row(run, names))
                self._formatted[run.name] = (run, mark)
        table.set_order([run.name for run in runs])
        self._update_info(len(runs))
        if self.current() is not before:
            self._show_current()

    def _update_info(self, shown: int) -> None:
        """The line over the table: counts, filter, order, settings shown, marks, the folder.

        Whole items are dropped from the end when the line is too narrow (the folder first),
        never a word or a path cut in two (`· in` was all that was left of it at 80 columns).
        """
        info = self.query_one("#runs-info", FitLine)
        where = printable(str(self.runs_dir))
        if self.error:
            error = printable(self.error)
            info.say(f"cannot read the runs: {error}", error, style="red")
            return
        if not self.runs:
            info.say(
                f"No runs yet in {where}: train one (s on the Train tab) and it shows here.",
                "No runs yet: train one (s on the Train tab) and it shows here.",
                "No runs yet: train one (s on the Train tab).",
                "No runs yet.",
            )
            return
        arrow = "↓" if self.sort_reverse else "↑"
        total = plural(len(self.runs), "run")
        parts = [f"{shown} of {total}" if self.filter_text else total]
        if self.filter_text:
            parts.append(f"filter: {printable(repr(self.filter_text))}")
        parts.append(f"sorted by {self.sort_column} {arrow}")
        parts.append("only differing settings" if self.only_differing else "all settings")
        if self.marks:
            parts.append(f"{len(self.marks)} marked")
        parts.append(f"in {where}")
        info.say(*(" · ".join(parts[:count]) for count in range(len(parts), 0, -1)))

    def current_name(self) -> str | None:
        """The run under the cursor."""
        return self.query_one(RunsTable).current_name()

    def current(self) -> RunInfo | None:
        name = self.current_name()
        return self.runs.get(name) if name else None

    @on(RunsTable.RowHighlighted)
    def _show_current(self, event: RunsTable.RowHighlighted | None = None) -> None:
        """The chart below shows the run under the cursor, over the marked ones."""
        chart = self.query_one(LossChart)
        run = self.current()
        if run is None:
            chart.reset("no run under the cursor")
            return
        chart.reset(run.name, Series.of_run(run, 1, "").points, run.epochs)

    @on(RunsTable.HeaderSelected)
    def _header(self, event: RunsTable.HeaderSelected) -> None:
        column = event.column
        if column in SORT_KEYS:
            self.sort_reverse = not self.sort_reverse if column == self.sort_column else column == "started"
            self.sort_column = column
            self.refill()

    # --- marks ----------------------------------------------------------------------------

    def labels(self) -> dict[str, str]:
        """A legend label for each marked run: the settings that tell the marked runs apart, or
        when it started where none does (`runs.compare.run_labels`)."""
        return run_labels(self.marked_runs())

    def marked_runs(self) -> list[RunInfo]:
        """The marked runs, in the order they were marked."""
        return [self.runs[name] for name in self.marks if name in self.runs]

    def _post_marks(self) -> None:
        labels = self.labels()
        marks = [(mark, self.runs[name], labels[name]) for name, mark in self.marks.items() if name in self.runs]
        self.query_one(LossChart).set_overlays(Series.of_run(run, mark, label) for mark, run, label in marks)
        self.post_message(RunMarksChanged(marks))

    def action_mark(self) -> None:
        """Mark or unmark the run under the cursor for the overlay."""
        name = self.current_name()
        if name is None:
            return
        if name in self.marks:
            del self.marks[name]
        elif len(self.marks) >= MAX_MARKS:
            self.notify(f"At most {MAX_MARKS} runs can be marked: unmark one first (space).", severity="warning")
            return
        else:
            taken = set(self.marks.values())
            mark = self._colour_of.get(name)
            if mark is None or mark in taken:
                # A digit no run has had yet this session, so earlier runs keep theirs.
                free = [m for m in range(1, MAX_MARKS + 1) if m not in taken]
                given = set(self._colour_of.values())
                mark = next((m for m in free if m not in given), free[0])
            self.marks[name] = self._colour_of[name] = mark
        self.refill()
        self._post_marks()

    # --- commands -------------------------------------------------------------------------

    def _choose(self, action: str) -> None:
        run = self.current()
        if run is None:
            self.notify("No run here yet.", severity="warning")
            return
        self.post_message(RunChosen(action, run))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Enter in the filter line keeps the filter; elsewhere on this tab it opens the run.
        if action == "open":
            return not self.query_one("#runs-filter").has_focus
        return True

    def action_open(self) -> None:
        self._choose("open")

    @on(RunsTable.RowSelected)
    def _row_selected(self, event: RunsTable.RowSelected) -> None:
        event.stop()
        self._choose("open")

    def action_clone(self) -> None:
        self._choose("clone")

    def action_inspect(self) -> None:
        self._choose("inspect")

    def action_resume(self) -> None:
        self._choose("resume")

    def action_delete(self) -> None:
        self._choose("delete")

    def action_attach(self) -> None:
        self._choose("attach")

    def action_sort(self, step: int) -> None:
        """Sort by the next (or previous) column."""
        columns = list(SORT_KEYS)
        self.sort_column = columns[(columns.index(self.sort_column) + step) % len(columns)]
        self.sort_reverse = self.sort_column in ("started", "best PSNR", "last PSNR", "epochs")
        self.refill()

    def action_reverse_sort(self) -> None:
        """The same column, the other way round (as a second click on its header does)."""
        self.sort_reverse = not self.sort_reverse
        self.refill()

    def action_numbers(self) -> None:
        """The numbers table of the marked runs (or of the run under the cursor)."""
        labels = self.labels()
        runs = [(self.marks[run.name], run, labels[run.name]) for run in self.marked_runs()]
        if not runs:
            current = self.current()
            if current is None:
                self.notify("No run here yet.", severity="warning")
                return
            runs = [(1, current, run_labels([current])[current.name])]
        from dae_tui.ui.dialogs.numbers import NumbersScreen  # a dialog loads on its first use

        self.app.push_screen(NumbersScreen(runs, self.runs_dir))

    def action_differing(self) -> None:
        """Show all settings, or only those that differ between the listed runs."""
        self.only_differing = not self.only_differing
        self.refill()

    def action_filter(self) -> None:
        field = self.query_one("#runs-filter", Input)
        field.add_class("-shown")
        field.focus()

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value.strip()
        self.refill()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(RunsTable).focus()
        if not self.filter_text:
            self.query_one("#runs-filter").remove_class("-shown")

    def action_clear_filter(self) -> None:
        """Esc in the filter: show every run again."""
        field = self.query_one("#runs-filter", Input)
        field.value = ""
        field.remove_class("-shown")
        self.query_one(RunsTable).focus()
