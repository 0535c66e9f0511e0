"""The Sweep tab: a study's trials live, from every process and machine on its storage.

    info line     the study ([ ] for another), trials by state, the best so far, the storage
    table         trial, state, value, epochs, GPU (of a sweep spread over GPUs), each searched
                  setting, host (of a storage several machines share), run folder
    charts        the metric against each searched setting (● complete, ○ pruned, its last value),
                  and the marked trials' curves, overlaid as on the Runs tab
    importance    each setting's share, once enough trials are complete

A thread worker reads the storage every `POLL_S` seconds (`sweeps.study`: Optuna loads in that
thread, never on the UI thread; torch never loads) and posts the study's report; the table keeps
its cursor. `space` marks a trial for the overlay (stable digits and colours), Enter opens its
run as the Runs tab does, n inspects it. Imports no torch and no optuna.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

from dae_tui.core.formatting import cells as text_cells
from dae_tui.core.formatting import fit_first, format_metric, format_setting, plural
from dae_tui.runs.compare import SEP, SETTING_NAMES, setting_text
from dae_tui.runs.files import this_host
from dae_tui.ui.keys import Key
from dae_tui.ui.messages import RunChosen
from dae_tui.ui.plain import plain
from dae_tui.ui.widgets.loss_chart import MARK_COLOURS, LossChart, Series, log_ticks
from dae_tui.ui.widgets.tables import add_row_fitted, update_cell_fitted

__all__ = ["POLL_S", "ScatterChart", "SweepView"]

POLL_S = 2.0
"""Seconds between two reads of the storage."""
COLUMNS = ("mark", "trial", "state", "value", "epochs")


def _elsewhere(report: dict[str, Any]) -> bool:
    """Whether any trial ran on another machine: then a host column says where each run folder
    is (the same runs path on two machines holds different folders)."""
    here = this_host()
    return any(t.get("host") not in (None, here) for t in report["trials"])


def _on_gpus(report: dict[str, Any]) -> bool:
    """Whether any trial was given a GPU (`sweep --jobs` on a GPU box, `--gpus`): then a GPU
    column says which one each trained on (`-` for one without)."""
    return any(t.get("gpu") is not None for t in report["trials"])


def _gpu(trial: dict[str, Any]) -> str:
    """The GPU the trial trained on, as its sweep job's CUDA_VISIBLE_DEVICES named it; `-`: none."""
    return "-" if trial.get("gpu") is None else str(trial["gpu"])


def _choice_order(text: str) -> tuple[int, float, str]:
    """A choice's place on its axis: numbers by value (32, 64, 128), then words."""
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


class ScatterChart(PlotextPlot):
    """The metric against one searched setting (a log setting on a log10 axis, a choice by its
    values): ● a complete trial, ○ a pruned one at its last reported value."""

    DEFAULT_CSS = """
    ScatterChart {
        width: 1fr; height: 1fr; min-height: 8; border-top: solid $foreground 20%; border-title-align: left;
    }
    """

    def __init__(self, setting: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.setting = setting
        self.report: dict[str, Any] | None = None

    def show(self, report: dict[str, Any] | None) -> None:
        self.report = report
        self.replot()

    def on_mount(self) -> None:
        super().on_mount()
        self.replot()

    def on_resize(self) -> None:
        self.replot()  # the title and the axis label follow the width

    def _title(self, metric: str) -> str:
        """The border title that fits: three charts side by side at 80 columns once read
        `PSNR dB ↑ vs l…`."""
        room = self.size.width - 2 if self.size.width else 80
        return fit_first(
            room,
            f"{metric} ↑ vs {self.setting} · ● complete ○ pruned",
            f"{metric} ↑ vs {self.setting}",
            f"↑ vs {self.setting}",
            self.setting,
        )

    def _log_axis(self, raws: list[float]) -> None:
        """A log setting's axis in the values a user types (`2e-4 1e-3`), not their exponents
        (`-3.09 -2.64`): round values at their log10 positions, as many as the width has room for."""
        low, high = min(raws), max(raws)
        ticks = log_ticks(low, high) if high > low else [low]
        room = max(2, (self.size.width - 8) // 6)  # a label is ~5 cells and a space
        ticks = ticks[:: math.ceil(len(ticks) / room)]
        self.plt.xticks([math.log10(t) for t in ticks], [format_setting(float(t)) for t in ticks])
        self.plt.xlim(math.log10(min(low, ticks[0])) - 0.05, math.log10(max(high, ticks[-1])) + 0.05)

    def points(self) -> list[tuple[float, float, str]]:
        """(x, metric, marker) of each trial that has a value, and the choices' labels by x."""
        report = self.report or {}
        kind = report.get("space", {}).get(self.setting, "")
        self.choices = sorted(
            {str(t["params"][self.setting]) for t in report.get("trials", []) if self.setting in t["params"]}
            if kind == "choice"
            else set(),
            key=_choice_order,
        )
        out = []
        for t in report.get("trials", []):
            raw = t["params"].get(self.setting)
            value = t["value"] if t["value"] is not None else (t.get("last") if t["state"] == "pruned" else None)
            if raw is None or value is None:
                continue
            if kind == "choice" or isinstance(raw, str):
                if str(raw) not in self.choices:
                    self.choices.append(str(raw))
                x = float(self.choices.index(str(raw)))
            else:
                x = math.log10(raw) if kind == "log" and raw > 0 else float(raw)
            out.append((x, value, "○" if t["state"] == "pruned" else "●"))
        return out

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        report = self.report or {}
        kind = report.get("space", {}).get(self.setting, "")
        metric = "PSNR dB" if report.get("metric", "test_psnr") == "test_psnr" else "MSE"
        self.border_title = plain(self._title(metric))
        points = self.points()
        if not points:
            plt.scatter([0], [0], marker=" ")
        for marker, colour in (("●", "green+"), ("○", "gray+")):
            chosen = [p for p in points if p[2] == marker]
            if chosen:
                plt.scatter([p[0] for p in chosen], [p[1] for p in chosen], marker=marker, color=colour)
        # plotext leaves out a label wider than the plot (the third chart had none at 100x30).
        plt.xlabel(fit_first(max(0, self.size.width - 6), self.setting, self.setting.split("_")[-1]))
        raws = [
            float(t["params"][self.setting])
            for t in report.get("trials", [])
            if isinstance(t["params"].get(self.setting), (int, float)) and t["params"][self.setting] > 0
        ]
        if kind == "log" and raws:
            self._log_axis(raws)
        if self.choices:
            plt.xticks(list(range(len(self.choices))), self.choices)
            plt.xlim(-0.5, len(self.choices) - 0.5)
        self.refresh()


class SweepView(Vertical):
    """One study of the storage, live."""

    DEFAULT_CSS = """
    SweepView { height: 1fr; }
    SweepView #sweep-info { height: 1; padding: 0 1; background: $boost; }
    SweepView #sweep-table { height: 2fr; min-height: 4; }
    SweepView #sweep-charts { height: 3fr; }
    SweepView #sweep-scatters { width: 2fr; }
    SweepView #sweep-curves { width: 1fr; }
    SweepView #sweep-importance { height: 1; padding: 0 1; }
    """

    BINDINGS = [
        Key("space", "mark", "Mark", help="mark the trial: its curves overlaid on the chart beside the scatter"),
        Key(
            "enter", "open", "Open", priority=True, help="open its run (curves on the Train chart, pictures in Images)"
        ),
        Key("n", "inspect", "Inspect", help="inspect its model on the Inspect tab"),
        Key(
            "right_square_bracket",
            "study(1)",
            "Next study",
            key_display="]",
            help_keys="[  ]",
            help="the previous / next study in the storage",
        ),
        Binding("left_square_bracket", "study(-1)", "Previous study", key_display="[", show=False),
    ]

    @dataclass
    class Report(Message):
        """What the poller read: the study asked for (None: the newest), the study names, the
        report of the one shown (or an error)."""

        requested: str | None
        studies: list[str]
        report: dict[str, Any] | None
        error: str = ""

    def __init__(self, runs_dir: Path, storage: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs_dir = runs_dir
        self.storage = storage
        """The storage URL (None: SQLite in the runs folder)."""
        self.studies: list[str] = []
        self.study: str | None = None
        """The study shown (None: none read yet)."""
        self.picked: str | None = None
        """The study the user picked with [ ] (None: follow the newest in the storage, so a
        sweep started after the tab opened shows up without a key)."""
        self.report: dict[str, Any] | None = None
        self.marks: dict[str, int] = {}
        """Run folder -> mark digit of the marked trials."""
        self._wake = threading.Event()
        """Set to make the poller read now rather than at its next tick."""

    def compose(self) -> ComposeResult:
        yield Static("reading the sweep storage …", id="sweep-info")
        table: DataTable[Any] = DataTable(id="sweep-table", cursor_type="row", zebra_stripes=True)
        yield table
        with Horizontal(id="sweep-charts"):
            yield Horizontal(id="sweep-scatters")
            yield LossChart(id="sweep-curves")
        yield Static("", id="sweep-importance")

    def on_mount(self) -> None:
        self._poll()

    # --- reading the storage ------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="sweep-poll", exit_on_error=False)
    def _poll(self) -> None:
        """Read the storage every `POLL_S` seconds, or at once when `[` `]` ask for another study.

        One storage (one database engine) for the life of the tab; each report names the study
        it was asked for, so a report read before the user moved on is dropped."""
        worker = get_current_worker()
        storage = None
        while not worker.is_cancelled:
            requested = self.picked
            try:
                from dae_tui.sweeps import study as sweeps

                if storage is None:
                    url = self.storage or sweeps.default_storage(self.runs_dir)
                    database = sweeps.sqlite_file(url)
                    if database is not None and not database.exists():
                        self.post_message(
                            self.Report(
                                requested, [], None, f"no sweeps yet in {self.runs_dir} (dae-tui sweep starts one)"
                            )
                        )
                        self._wake.wait(POLL_S)
                        self._wake.clear()
                        continue
                    storage = sweeps.open_storage(url)
                studies = sweeps.study_names(storage)
                name = requested if requested in studies else (studies[-1] if studies else None)
                report = None
                if name:
                    study = sweeps.open_study(name, storage, create=False)
                    sweeps.fail_dead_trials(study, storage)
                    report = sweeps.study_report(study)
                message = self.Report(requested, studies, report)
            except Exception as err:  # noqa: BLE001 - shown on the info line; the poller keeps trying
                text = str(err).splitlines()[0] if str(err) else type(err).__name__
                if self.storage and self.storage in text:  # a driver's error quoting the URL: no password
                    text = text.replace(self.storage, sweeps.redact(self.storage))
                message = self.Report(requested, self.studies, self.report, text)
            if not worker.is_cancelled:
                self.post_message(message)
            self._wake.wait(POLL_S)
            self._wake.clear()
        if storage is not None:
            storage.engine.dispose()

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "sweep-poll")
        self._wake.set()

    @on(Report)
    def _reported(self, message: Report) -> None:
        message.stop()
        if message.requested != self.picked:
            return  # read before [ or ] asked for another study
        self.studies = message.studies
        info = self.query_one("#sweep-info", Static)
        if message.error and message.report is None:
            info.update(plain(message.error, style="dim" if message.error.startswith("no sweeps") else "red"))
            return
        self.report = message.report
        if self.report is None:
            info.update(Text("no study in this storage yet: dae-tui sweep starts one"))
            return
        self.study = self.report["study"]
        self._fill()
        info.update(
            plain(self.headline() + (f" · {message.error}" if message.error else ""), no_wrap=True, overflow="ellipsis")
        )

    def on_resize(self) -> None:
        if self.report is not None:
            self._reported(self.Report(self.picked, self.studies, self.report))  # the headline follows the width

    def headline(self) -> str:
        """The info line in the fullest wording that fits: the study's name and the counts by
        state go before any of the best trial's settings do (at 120 columns its last one went)."""
        report = self.report
        assert report is not None
        trials = report["trials"]
        counts: dict[str, int] = {}
        for t in trials:
            counts[t["state"]] = counts.get(t["state"], 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        best = report["best"]
        metric = report.get("metric", "test_psnr")
        shown = ""
        if best:
            value = format_metric(best["value"], metric)
            params = " ".join(f"{k} {format_setting(v)}" for k, v in best["params"].items())
            shown = f" · best #{best['trial']} {value} ({params})"
        which = f"study {report['study']}" + (
            f" ({self.studies.index(report['study']) + 1}/{len(self.studies)}, [ ] other)"
            if len(self.studies) > 1
            else ""
        )
        room = self.query_one("#sweep-info").content_region.width or 200
        best_only = f" · best #{best['trial']} {format_metric(best['value'], metric)}" if best else ""
        count = plural(len(trials), "trial")  # `1 trials` read wrong
        return fit_first(
            room,
            f"{which} · {count}: {states}{shown}",
            f"{count}: {states}{shown}",
            f"{count}{shown}",
            f"{count}: {states}{best_only}",
            f"{count}{best_only}",
        )

    # --- the table and charts -------------------------------------------------------------------

    def _fill(self) -> None:
        report = self.report
        assert report is not None
        table = self.query_one(DataTable)
        params = sorted({k for t in report["trials"] for k in t["params"]})
        with_host, with_gpu = _elsewhere(report), _on_gpus(report)
        with_run = self._run_fits(report, params, with_host, with_gpu)
        columns = [
            *COLUMNS,
            *(["GPU"] if with_gpu else []),
            *params,
            *(["host"] if with_host else []),
            *(["run"] if with_run else []),
        ]
        if [str(c.label) for c in table.columns.values()] != columns:
            table.clear(columns=True)
            for column in columns:
                table.add_column(plain(column), key=column)  # a searched setting's name: a str is markup
        metric = report.get("metric", "test_psnr")
        rows = []
        for t in report["trials"]:
            mark = self.marks.get(t["run_dir"] or "")
            value = format_metric(t["value"], metric, missing="")
            style = {"complete": "", "pruned": "dim", "fail": "red", "running": "green"}.get(t["state"], "")
            cells = [
                Text(f"●{mark}", style=MARK_COLOURS[mark - 1][1]) if mark else Text(" "),
                f"#{t['trial']}",
                Text(t["state"], style=style),
                Text(value, style="bold"),
                str(t["epochs"]),
                *([_gpu(t)] if with_gpu else []),
                *(format_setting(t["params"].get(p, "")) for p in params),
            ]
            if with_host:
                cells.append(t.get("host") or "")
            if with_run:
                cells.append(Path(t["run_dir"]).name if t["run_dir"] else "")
            rows.append((str(t["trial"]), [plain(c) if isinstance(c, str) else c for c in cells]))
        cursor = table.cursor_row
        if [str(k.value) for k in table.rows] == [key for key, _ in rows]:
            for key, cells in rows:
                for column, cell in zip(columns, cells, strict=True):
                    if str(table.get_cell(key, column)) != str(cell):
                        update_cell_fitted(table, key, column, cell)
        else:
            table.clear()
            for key, cells in rows:
                add_row_fitted(table, cells, key)
            table.move_cursor(row=min(cursor, max(0, len(rows) - 1)), animate=False)
        self._scatters(report)
        importance = report.get("importance") or {}
        bar = " · ".join(f"{name} {'█' * max(1, round(share * 20))} {share:.0%}" for name, share in importance.items())
        self.query_one("#sweep-importance", Static).update(
            plain(
                f"importance: {bar}" if bar else "importance: after 4 complete trials that differ",
                style="dim" if not bar else "",
            )
        )
        self._overlay()

    def _run_fits(
        self, report: dict[str, Any], params: list[str], with_host: bool = False, with_gpu: bool = False
    ) -> bool:
        """Whether the run column fits whole beside the others: at 100x30 it was cut to `202`,
        which names nothing; without it, Enter still opens the trial's run."""
        room = self.query_one(DataTable).scrollable_content_region.width
        if not room:
            return True

        def width(values: list[str]) -> int:
            return max(text_cells(v) for v in values) + 2  # a cell of padding either side

        trials, metric = report["trials"], report.get("metric", "test_psnr")
        shown = {
            "mark": ["●8"],
            "trial": [f"#{t['trial']}" for t in trials],
            "state": [t["state"] for t in trials],
            "value": [format_metric(t["value"], metric, missing="") for t in trials],
            "epochs": [str(t["epochs"]) for t in trials],
        }
        if with_gpu:
            shown["GPU"] = [_gpu(t) for t in trials]
        shown.update({p: [format_setting(t["params"].get(p, "")) for t in trials] for p in params})
        if with_host:
            shown["host"] = [t.get("host") or "" for t in trials]
        needed = sum(width([name, *values]) for name, values in shown.items())
        runs = [Path(t["run_dir"]).name for t in trials if t["run_dir"]]
        return needed + width(["run", *runs]) <= room

    def _scatters(self, report: dict[str, Any]) -> None:
        """One scatter per searched setting (up to 3), made again when the study changes."""
        settings = list(report.get("space") or sorted({k for t in report["trials"] for k in t["params"]}))[:3]
        holder = self.query_one("#sweep-scatters", Horizontal)
        charts = list(holder.query(ScatterChart))
        if [c.setting for c in charts] != settings:
            holder.remove_children()
            charts = [ScatterChart(name) for name in settings]
            holder.mount_all(charts)
        for chart in charts:
            chart.show(report)

    def current(self) -> dict[str, Any] | None:
        """The trial under the cursor."""
        if not self.report or not self.report["trials"]:
            return None
        table = self.query_one(DataTable)
        key = [str(k.value) for k in table.rows][table.cursor_row] if table.row_count else None
        return next((t for t in self.report["trials"] if str(t["trial"]) == key), None)

    def _run_of(self, trial: dict[str, Any] | None):
        from dae_tui.runs.info import read_run

        if not trial or not trial["run_dir"]:
            self.notify("This trial has no run folder (it never started).", severity="warning")
            return None
        run = read_run(trial["run_dir"])
        if run is None:
            where = f"on {trial['host']}" if trial.get("host") and trial["host"] != this_host() else "elsewhere"
            self.notify(f"{trial['run_dir']} is not on this machine (the trial ran {where}).", severity="warning")
        return run

    def action_mark(self) -> None:
        trial = self.current()
        if not trial or not trial["run_dir"]:
            return
        path = trial["run_dir"]
        if path in self.marks:
            del self.marks[path]
        else:
            taken = set(self.marks.values())
            free = [m for m in range(1, 9) if m not in taken]
            if not free:
                self.notify("Eight trials are marked: unmark one first.", severity="warning")
                return
            self.marks[path] = free[0]
        self._fill()

    def _overlay(self) -> None:
        from dae_tui.runs.info import read_run

        series = []
        for path, mark in self.marks.items():
            run = read_run(path)
            trial = next((t for t in (self.report or {}).get("trials", []) if t["run_dir"] == path), None)
            if run is not None and trial is not None:
                # The searched settings as the Runs tab's labels write them (`lr 5.11e-3 · bs 32`).
                config = run.config
                said = [
                    setting_text(config, k) if config is not None and k in SETTING_NAMES else f"{k} {format_setting(v)}"
                    for k, v in trial["params"].items()
                ]
                label = f"#{trial['trial']} " + SEP.join(said)
                series.append(Series.of_run(run, mark, label))
        chart = self.query_one("#sweep-curves", LossChart)
        chart.title = "marked trials (space)"
        chart.set_overlays(series)

    def action_open(self) -> None:
        run = self._run_of(self.current())
        if run is not None:
            self.post_message(RunChosen("open", run))

    def action_inspect(self) -> None:
        run = self._run_of(self.current())
        if run is not None:
            self.post_message(RunChosen("inspect", run))

    def action_study(self, step: int) -> None:
        """Show the next or previous study of the storage."""
        if len(self.studies) < 2:
            self.notify("This storage holds one study.", timeout=3)
            return
        at = self.studies.index(self.study) if self.study in self.studies else 0
        self.picked = self.study = self.studies[(at + step) % len(self.studies)]
        self.query_one("#sweep-info", Static).update(plain(f"reading study {self.study} …"))
        self._wake.set()
