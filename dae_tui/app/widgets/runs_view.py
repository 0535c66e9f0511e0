"""The Runs tab: every run under the runs folder, live, to sort, filter, mark, open and reuse.

A thread worker polls `RunStore.refresh()` every second, or less often in a folder so big that
one look costs more than a twentieth of the wait (runs started by other processes appear, their
epochs advance), and posts `RunsView.Updated` naming the runs that changed; the table then
changes only those rows, and a re-sort moves rows without measuring a cell again, so 3,000 runs
cost what changed, not what is there. Keys (on the table): space marks a run for the chart overlay (up to 8, each keeping its
colour and digit for the session), Enter opens it, `/` filters, `o` sorts by the next column and
`O` reverses the order, `v` shows all settings or only those that differ, `c` copies a run's
config into the form, `R` resumes it, `d` deletes it. The view posts messages for what the app
must do; it never touches the form, the chart on the Train tab or the disk itself (deleting is
the app's, after asking).
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
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from ...engine.runstore import RunInfo, RunStore, RunStoreError
from ...formatting import RUN_COLUMNS, plural, run_cells
from ..messages import RunChosen, RunMarksChanged
from ..runlabels import differing, settings_key, settings_text, short_label
from .loss_chart import MARK_COLOURS, LossChart, Series
from .tables import add_row_fitted, update_cell_fitted

__all__ = ["RunsView"]

POLL_S = 1.0
"""Seconds between two looks at the runs folder (new runs show up within two)."""
POLL_SHARE = 0.05
"""At most this share of the time goes on looking: a look that took 80 ms waits 1.6 s, so the
poller never takes the GIL from a training run for long."""
MAX_MARKS = 8
FIRST_ROWS = 60
CHUNK_ROWS = 60
COLUMNS = ("mark", "run", "status", "best PSNR", "epochs", "settings", "dataset", "model", "noise",
           "last PSNR", "s/epoch", "started")
"""The table's columns: what tells runs apart first (best PSNR, settings), then the rest."""
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
}
STATUS_COLOURS = {"running": "green", "failed": "red", "interrupted": "yellow", "stopped": "yellow",
                  "pruned": "dim", "suspended": "magenta"}
RUN_INDEX = COLUMNS.index("run")


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
        Binding("space", "mark", "Mark"),
        Binding("enter", "open", "Open", priority=True),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("o", "sort(1)", "Sort"),
        Binding("O", "reverse_sort", "Reverse", show=False),
        # Short words, so the tab's keys fit 80 columns; the tooltips say the rest.
        Binding("v", "differing", "Diff", tooltip="all settings, or only those that differ"),
        Binding("c", "clone", "Copy", tooltip="copy the run's config into the form"),
        Binding("n", "inspect", "Inspect"),
        Binding("R", "resume", "Resume"),
        Binding("d", "delete", "Delete"),
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
        self._shown: list[str] = []  # the names in the table, in order
        self._fill = 0  # which rebuild of the table is being filled
        self._pending: list[str] = []  # rows still to add, a chunk at a time
        self._names: list[str] | None = None  # the settings the rows show (None: all)
        self._mark_shown: dict[str, int | None] = {}  # the mark each row's cell shows
        self._cursor_to: str | None = None  # the run the cursor goes back to once its row is in
        self._wake = threading.Event()

    def compose(self) -> ComposeResult:
        yield Static("Reading the runs folder…", id="runs-info")
        yield Input(placeholder="filter: words in names and settings (Enter keeps, Esc clears)", id="runs-filter")
        table: DataTable[Any] = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        for column in COLUMNS:
            table.add_column(column, key=column)
        yield table
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
                    self.post_message(self.Updated(tuple(store.runs), None if first else frozenset(names)))
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
            run for run in self.runs.values()
            if all(w in f"{run.name} {run.status} {run.dataset} {run.model} {run.noise} "
                   f"{settings_text(run.config)}".lower() for w in words)
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
        return [cells[column] for column in COLUMNS]

    def refill(self, changed: frozenset[str] | None = None) -> None:
        """Bring the table to the runs, filter and order, keeping the cursor on the same run.

        Only the rows of `changed` runs (None: any) are formatted again, rows that the filter
        lets in or out are added or removed, and a new order moves the rows (`DataTable.sort`)
        without measuring a cell: with 3,000 runs a poll or a re-sort costs what changed.
        """
        table = self.query_one(DataTable)
        runs = self.visible_runs()
        names = differing(r.config for r in runs) if self.only_differing else None
        current = self.current_name()
        order = [run.name for run in runs]
        if not self._shown or names != self._names:
            # The first fill, or every settings cell changes: lay the table out afresh, a
            # screenful at once, then the rest a chunk per turn of the event loop (measuring 500
            # rows' cells in one go held the UI for a third of a second).
            table.clear()
            for column in table.columns.values():
                # clear() keeps the widths of the widest cells ever seen; start from the header's.
                column.content_width = column.label.cell_len
            self._mark_shown.clear()
            self._names = names
            self._shown = order
            self._fill += 1
            self._pending = list(order)
            self._cursor_to = current if current in order else None
            self._add_rows(self._fill, FIRST_ROWS)
        else:
            wanted = set(order)
            for key in [key for key in table.rows if key.value not in wanted]:
                table.remove_row(key)
                self._mark_shown.pop(str(key.value), None)
            present = {str(key.value) for key in table.rows}
            waiting = {name for name in self._pending if name in wanted}
            self._shown = order
            self._pending = [name for name in order if name not in present]
            fresh = present if changed is None else present & changed
            for name in fresh:  # only the cells that changed
                for column, value in zip(COLUMNS, self._row(self.runs[name], names), strict=True):
                    if column != "mark" and str(table.get_cell(name, column)) != str(value):
                        update_cell_fitted(table, name, column, value)
            for name in present:
                mark = self.marks.get(name)
                if self._mark_shown.get(name) != mark:
                    update_cell_fitted(table, name, "mark", self._mark_cell(mark))
                    self._mark_shown[name] = mark
            if current in present:
                self._cursor_to = current
            # A few new runs go in at once; many (a filter cleared) a chunk at a time.
            new = len(self._pending) - len(waiting)
            self._add_rows(self._fill, max(new, FIRST_ROWS) if new <= CHUNK_ROWS else FIRST_ROWS,
                           chained=bool(waiting))
        self._update_info(len(runs))
        self._show_current()

    def _mark_cell(self, mark: int | None) -> Text:
        return Text(f"●{mark}", style=MARK_COLOURS[mark - 1][1]) if mark else Text(" ")

    def _add_rows(self, fill: int, count: int, chained: bool = False) -> None:
        """Add up to `count` pending rows of fill number `fill` (a newer fill makes it stale),
        then put the rows in the table's order; `chained`: a timer already adds the rest."""
        if fill != self._fill:
            return
        table = self.query_one(DataTable)
        chunk, self._pending = self._pending[:count], self._pending[count:]
        for name in chunk:
            run = self.runs.get(name)
            if run is not None and name not in table.rows:
                add_row_fitted(table, self._row(run, self._names), name)
                self._mark_shown[name] = self.marks.get(name)
        self._order_rows(table)
        if self._cursor_to is not None and self._cursor_to in table.rows:
            row = table.get_row_index(self._cursor_to)
            if row != table.cursor_row:
                table.move_cursor(row=row, animate=False)
            self._cursor_to = None
        if self._pending and not chained:
            self.set_timer(0.005, lambda: self._add_rows(fill, CHUNK_ROWS))

    def _order_rows(self, table: DataTable[Any]) -> None:
        """Put the table's rows in `_shown`'s order, if they are not already."""
        present = [name for name in self._shown if name in table.rows]
        if [key.value for key in table.rows] == present:
            return
        # By identity of each row's run cell: the key function sees cells, not row keys.
        position = {id(table.get_cell(name, "run")): i for i, name in enumerate(present)}
        table.sort(key=lambda cells: position[id(cells[RUN_INDEX])])
        # `rows` iterates in the order rows were added; keep it the order they are shown in.
        table.rows = {row.key: row for row in table.ordered_rows}

    def _update_info(self, shown: int) -> None:
        info = self.query_one("#runs-info", Static)
        if self.error:
            info.update(Text(f"cannot read the runs: {self.error}", style="red"))
            return
        arrow = "↓" if self.sort_reverse else "↑"
        total = plural(len(self.runs), "run")
        parts = [f"{shown} of {total}" if self.filter_text else total]
        if self.filter_text:
            parts.append(f"filter: {self.filter_text!r}")
        parts.append(f"sorted by {self.sort_column} {arrow}")
        parts.append("only differing settings" if self.only_differing else "all settings")
        if self.marks:
            parts.append(f"{len(self.marks)} marked")
        parts.append(f"in {self.runs_dir}")
        if not self.runs:
            parts = [f"No runs yet in {self.runs_dir}: train one (s on the Train tab) and it shows here."]
        info.update(Text(" · ".join(parts), no_wrap=True, overflow="ellipsis"))

    def current_name(self) -> str | None:
        """The run under the cursor."""
        table = self.query_one(DataTable)
        if not 0 <= table.cursor_row < table.row_count:
            return None
        return str(table.ordered_rows[table.cursor_row].key.value)

    def current(self) -> RunInfo | None:
        name = self.current_name()
        return self.runs.get(name) if name else None

    @on(DataTable.RowHighlighted)
    def _show_current(self, event: DataTable.RowHighlighted | None = None) -> None:
        """The chart below shows the run under the cursor, over the marked ones."""
        chart = self.query_one(LossChart)
        run = self.current()
        if run is None:
            chart.reset("no run under the cursor")
            return
        chart.reset(run.name, Series.of_run(run, 1, "").points, run.epochs)

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column in SORT_KEYS:
            self.sort_reverse = not self.sort_reverse if column == self.sort_column else column == "started"
            self.sort_column = column
            self.refill()

    # --- marks ----------------------------------------------------------------------------

    def labels(self) -> dict[str, str]:
        """A legend label for each marked run: the settings that tell the marked runs apart."""
        marked = [self.runs[name] for name in self.marks if name in self.runs]
        names = differing(run.config for run in marked)
        return {run.name: short_label(run.config, names, run.name[9:15] or run.name) for run in marked}

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

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
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

    def action_differing(self) -> None:
        """Show all settings, or only those that differ between the listed runs."""
        self.only_differing = not self.only_differing
        self._shown = []  # every settings cell changes: lay the table out afresh, widths too
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
        self.query_one(DataTable).focus()
        if not self.filter_text:
            self.query_one("#runs-filter").remove_class("-shown")

    def action_clear_filter(self) -> None:
        """Esc in the filter: show every run again."""
        field = self.query_one("#runs-filter", Input)
        field.value = ""
        field.remove_class("-shown")
        self.query_one(DataTable).focus()

