"""The numbers table (`f` on the Runs tab): the marked runs side by side, one column each.

Rows: best and last test PSNR, SSIM and MSE (each best with its epoch), img/s, time, parameters,
the settings that differ among the runs and when each started (the CSV adds its folder). The rows come from
`dae_tui.runs.compare.number_rows`, as `dae-tui runs --compare` prints them, and `e` writes
`write_numbers_csv`'s CSV (what `runs --compare ... --csv` prints) into the runs folder. Each
column is headed by the run's mark digit and label, a setting a line, so a column is as wide as
its widest figure; the row names stay put while the table scrolls sideways.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable

from dae_tui.core.formatting import plural, printable
from dae_tui.runs.compare import SEP, number_rows, write_numbers_csv
from dae_tui.runs.info import RunInfo
from dae_tui.ui.dialogs.screens import dialog_footer
from dae_tui.ui.widgets.fitted import FitLine
from dae_tui.ui.widgets.loss_chart import MARK_COLOURS

__all__ = ["NumbersScreen", "csv_path"]


def csv_path(runs_dir: Path, now: datetime | None = None) -> Path:
    """Where `e` writes the table: `compare-YYYYMMDD-HHMMSS.csv` in the runs folder (a file, so
    the run list never takes it for a run), `-2`, `-3`... after it when that name is taken."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = runs_dir / f"compare-{stamp}.csv"
    count = 2
    while path.exists():
        path = runs_dir / f"compare-{stamp}-{count}.csv"
        count += 1
    return path


class NumbersScreen(ModalScreen[None]):
    """The figures of `runs` side by side; Esc (or `f` again) goes back to the Runs tab."""

    DEFAULT_CSS = """
    NumbersScreen { align: center middle; }
    NumbersScreen > Vertical {
        width: 100%; height: 100%; background: $surface; border-top: solid $accent; padding: 0 1;
    }
    NumbersScreen #numbers-info { height: 1; }
    NumbersScreen DataTable { height: 1fr; scrollbar-size: 1 1; }
    """
    BINDINGS = [
        Binding("escape,f", "close", "Back", key_display="Esc"),
        Binding("e", "export", "Write CSV"),
    ]

    def __init__(self, runs: Sequence[tuple[int, RunInfo, str]], runs_dir: Path) -> None:
        """`runs`: (mark digit, run, label) of each run, in the order of the columns."""
        super().__init__()
        self.runs = list(runs)
        self.runs_dir = runs_dir
        self.written: Path | None = None
        """The CSV file `e` wrote last (None: none yet)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield FitLine(id="numbers-info")
            yield DataTable(id="numbers-table", cursor_type="column", zebra_stripes=True, fixed_columns=1)
        yield dialog_footer()

    def on_mount(self) -> None:
        count = plural(len(self.runs), "run")
        self.query_one("#numbers-info", FitLine).say(
            f"The numbers of {count} side by side · e writes them to a CSV file in the runs folder · Esc: back",
            f"The numbers of {count} · e: CSV · Esc: back",
            f"{count} · e: CSV",
        )
        table: DataTable[str | Text] = self.query_one(DataTable)
        heads = [[str(mark), *label.split(SEP)] for mark, _, label in self.runs]
        table.header_height = max(len(head) for head in heads)
        table.add_column("", key="row")
        for (mark, _, _), head in zip(self.runs, heads, strict=True):
            table.add_column(Text("\n".join(head), style=MARK_COLOURS[(mark - 1) % 8][1]), key=str(mark))
        # Without the folders' names (the Runs table shows them): three runs fit 80 columns.
        for name, cells in number_rows([run for _, run, _ in self.runs], folders=False):
            table.add_row(Text(name, style="bold"), *cells, key=name)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_export(self) -> None:
        """Write the table as CSV into the runs folder and say where, in one line."""
        try:
            path = csv_path(self.runs_dir)
            with open(path, "x", encoding="utf-8", newline="") as out:
                write_numbers_csv([run for _, run, _ in self.runs], out)
        except OSError as err:
            reason = err.strerror or str(err)
            self.notify(f"Cannot write the CSV into {printable(str(self.runs_dir))}: {reason}.", severity="error")
            return
        self.written = path
        self.notify(f"Wrote the numbers of {plural(len(self.runs), 'run')} to {printable(str(path))}.", timeout=8)
