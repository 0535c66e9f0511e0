"""`dae-tui runs`: every run in the runs folder, newest first, as a table, JSON lines or CSV.

    dae-tui runs                 # a table for people
    dae-tui runs --json          # one JSON object a run (`RunInfo.to_json()`)
    dae-tui runs --csv           # every epoch of every run, long form, with each run's config
    dae-tui runs --compare A B   # these runs side by side: best/last figures, settings that differ
    dae-tui runs --compare A B --csv   # the same, one CSV row a run (what the Runs tab's `f` writes)

Reads the run folders through `dae_tui.runs.store`, so it never imports torch (a test checks): it
answers at once, even while torch-heavy runs train beside it. What could not be read is named once
on stderr; stdout carries only the listing. Names and paths come from the disk, so every one is
passed through `formatting.printable` on its way out (JSON is escaped by `json.dumps` itself).

Imports only the standard library, `dae_tui.core`, `dae_tui.runs` and `cli.invocation`: never torch.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from typing import TextIO

from dae_tui.cli.invocation import EXIT_OK, EXIT_USAGE, Invocation
from dae_tui.core.config import FIELD_SPECS
from dae_tui.core.formatting import RUN_COLUMNS, printable, run_cells
from dae_tui.runs.compare import number_rows, run_labels, write_numbers_csv
from dae_tui.runs.files import default_runs_dir
from dae_tui.runs.info import read_run
from dae_tui.runs.store import RunInfo, RunStoreError, list_runs

__all__ = ["CSV_COLUMNS", "compared_runs", "run_listing", "write_csv", "write_numbers", "write_table"]

EPOCH_FIGURES = ("train_mse", "test_mse", "test_psnr", "noisy_psnr", "seconds")
LATER_FIGURES = ("test_ssim", "noisy_ssim")
"""Figures recorded since SSIM exists: after the config fields, so the first columns stay as they were."""
CSV_COLUMNS: tuple[str, ...] = ("run", "epoch", *EPOCH_FIGURES, *FIELD_SPECS, *LATER_FIGURES, "label")
"""The header of `--csv`: the run, one epoch's figures, every config field, then the SSIMs and
the run's label (the settings that differ among the runs listed: `lr 3e-3 · 10 ep`)."""

_RIGHT = {"epochs", "best PSNR", "last PSNR", "s/epoch"}  # numbers line up on the right


def write_table(runs: list[RunInfo], out: TextIO) -> None:
    """`RUN_COLUMNS` as aligned text, a header line and a line per run."""
    # Names come from the disk: a folder named with ESC]0;... would set the terminal's title.
    rows = [RUN_COLUMNS, *(tuple(printable(c) for c in run_cells(info)) for info in runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(RUN_COLUMNS))]
    for row in rows:
        cells = (
            cell.rjust(width) if name in _RIGHT else cell.ljust(width)
            for name, cell, width in zip(RUN_COLUMNS, row, widths, strict=True)
        )
        out.write("  ".join(cells).rstrip() + "\n")


def write_csv(runs: list[RunInfo], out: TextIO) -> None:
    """A header, then a row per epoch per run; empty cells where a value is unknown."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    labels = run_labels(runs)
    for info in runs:
        config = info.config.to_dict() if info.config else {}
        settings = ["" if config.get(name) is None else config[name] for name in FIELD_SPECS]
        for record in info.records:
            figures = [record.get(name) for name in ("epoch", *EPOCH_FIGURES)]
            later = [record.get(name) for name in LATER_FIGURES]  # empty for runs from before SSIM
            writer.writerow(
                [
                    printable(info.name),
                    *("" if v is None else v for v in figures),
                    *(printable(v) if isinstance(v, str) else v for v in settings),
                    *("" if v is None else v for v in later),
                    labels[info.name],
                ]
            )


def write_numbers(runs: list[RunInfo], out: TextIO) -> None:
    """The numbers table as aligned text: a column a run, headed by its label, a row a figure."""
    labels = run_labels(runs)
    rows = [("", *(labels[r.name] for r in runs)), *((name, *cells) for name, cells in number_rows(runs))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")


def compared_runs(names: tuple[str, ...], runs_dir: str) -> list[RunInfo]:
    """The runs `names` name, in that order (each once): a folder's name in `runs_dir`, or a path
    to a run folder. Raises `RunStoreError` naming the first that is neither."""
    listed = {info.name: info for info in list_runs(runs_dir)}
    found: dict[str, RunInfo] = {}
    for name in names:
        info = listed.get(name)
        if info is None and name.strip() and os.path.isdir(name):
            info = read_run(name)
        if info is None:
            raise RunStoreError(
                f"--compare: no run {printable(repr(name))} in {printable(runs_dir)} "
                "(give a run folder's name as `dae-tui runs` lists it, or its path)"
            )
        found.setdefault(str(info.path.resolve()), info)
    return list(found.values())


def run_listing(invocation: Invocation, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """List the runs per `invocation` (`--runs-dir`, `--json`, `--csv`, `--compare`); return the
    exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    runs_dir = invocation.runs_dir or str(default_runs_dir())
    try:
        runs = compared_runs(invocation.compare, runs_dir) if invocation.compare else list_runs(runs_dir)
    except RunStoreError as error:
        print(f"dae-tui runs: error: {printable(str(error))}", file=err)
        return EXIT_USAGE
    try:
        if invocation.json:
            for info in runs:
                out.write(json.dumps(info.to_json()) + "\n")
        elif invocation.compare:
            (write_numbers_csv if invocation.csv else write_numbers)(runs, out)
        elif invocation.csv:
            write_csv(runs, out)
        else:
            write_table(runs, out)  # with no runs: the header alone, an empty table
            if not runs:
                print(f"dae-tui runs: no runs in {printable(runs_dir)}", file=err)
        out.flush()
    except BrokenPipeError:
        # `dae-tui runs --csv | head` closed the pipe: it has read all it wants, which is no error.
        # Point stdout at devnull so the interpreter's own flush at exit does not fail again.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    for info in runs:
        if info.warnings:
            print(f"dae-tui runs: warning: {printable(info.name)}: {printable('; '.join(info.warnings))}", file=err)
    return EXIT_OK
