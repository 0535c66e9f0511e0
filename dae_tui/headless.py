"""`dae-tui train`: the engine's events as a rich progress display on stderr (+ JSON on stdout).

stdout carries nothing but, with `--json`, one JSON object per finished epoch, so it can be piped
into jq or a file. Everything for people goes to stderr. Ctrl-C asks the engine to stop at the next
batch; a second Ctrl-C aborts at once.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
)

from .engine.events import (
    BatchProgress,
    EpochEnd,
    Notice,
    Paused,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
)
from .formatting import format_epoch, format_eta, format_finished, format_started
from .invocation import EXIT_FAILED, EXIT_OK, EXIT_STOPPED, EXIT_USAGE, Invocation

__all__ = ["run_headless"]


def run_headless(invocation: Invocation) -> int:
    """Train per `invocation`, report on stderr/stdout, return the exit code."""
    from .engine.trainer import Trainer

    # markup=False: paths and messages are printed as they are, never read as markup.
    console = Console(stderr=True, highlight=False, markup=False)
    trainer = Trainer(
        None if invocation.resume else invocation.config,
        resume=invocation.resume,
        overrides=invocation.given,
        runs_dir=invocation.runs_dir,
    )

    def on_sigint(signum: int, frame: Any) -> None:
        console.print("stopping after this batch (Ctrl-C again aborts)", style="yellow")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        trainer.request_stop()

    previous = signal.signal(signal.SIGINT, on_sigint)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("MSE {task.fields[mse]}  {task.fields[speed]} img/s  ETA {task.fields[eta]}"),
        console=console,
        transient=True,
    )
    dataset = source = ""
    task = None
    code = EXIT_FAILED
    try:
        with progress:
            for event in trainer.run():
                if isinstance(event, RunStarted):
                    dataset, source = event.config.dataset, event.source
                    console.print(format_started(event))
                elif isinstance(event, Notice):
                    console.print(f"note: {event.text}", style="dim")
                elif isinstance(event, BatchProgress):
                    description = f"epoch {event.epoch}/{event.epochs}"
                    fields = dict(
                        mse=f"{event.train_mse:.5f}", speed=f"{event.images_per_s:,.0f}",
                        eta=format_eta(event.eta_s),
                    )
                    if task is None:
                        task = progress.add_task(description, total=event.batches, **fields)
                    progress.update(
                        task, description=description, completed=event.batch,
                        total=event.batches, **fields,
                    )
                elif isinstance(event, EpochEnd):
                    console.print(format_epoch(event))
                    if invocation.json:
                        print(json.dumps(event.to_json(dataset, source)), flush=True)
                elif isinstance(event, Paused):
                    console.print("paused")
                elif isinstance(event, RunFinished):
                    console.print(f"{format_finished(event.epochs, event.best_test_mse)}; saved in {event.run_dir}")
                    code = EXIT_OK
                elif isinstance(event, RunStopped):
                    kept = f"; checkpoint of epoch {event.last_epoch} kept" if event.last_epoch else ""
                    console.print(f"stopped{kept}; resume with --resume {event.run_dir}")
                    code = EXIT_STOPPED
                elif isinstance(event, RunFailed):
                    prefix = "dae-tui train: error" if event.usage else "dae-tui train: failed"
                    kept = f" (run folder kept: {event.run_dir})" if event.run_dir else ""
                    print(f"{prefix}: {event.message}{kept}", file=sys.stderr)
                    code = EXIT_USAGE if event.usage else EXIT_FAILED
    finally:
        signal.signal(signal.SIGINT, previous)
    return code
