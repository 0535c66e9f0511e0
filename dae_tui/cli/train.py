"""`dae-tui train`: the engine's events as a rich progress display on stderr (+ JSON on stdout).

stdout carries nothing but, with `--json`, one JSON object per finished epoch, so it can be piped
into jq or a file. Everything for people goes to stderr. Ctrl-C and SIGTERM ask the engine to
stop at the next batch (exit 128 + the signal: 130, 143); a second one aborts at once. SIGHUP (the
terminal gone) does the same with `--on-hangup stop` (129); by default the run trains on and its
lines go to the run folder's train.log. A closed stdout stops the run (141, as SIGPIPE would); a
full one is an error (1). `--take-over PID` (hidden) continues a run a dashboard hands over.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
)

from dae_tui.cli.invocation import EXIT_FAILED, EXIT_OK, EXIT_STOPPED, EXIT_USAGE, Invocation, signal_exit
from dae_tui.core.config import ConfigError, FieldError, device_problem
from dae_tui.core.events import (
    BatchProgress,
    EpochEnd,
    Notice,
    Paused,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
)
from dae_tui.core.formatting import (
    format_epoch,
    format_eta,
    format_finished,
    format_kept,
    format_started,
    printable_lines,
)

__all__ = ["run_headless"]


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
"""Signals that stop a run at the next batch, keeping its checkpoint: Ctrl-C, `kill`, and the
hang-up a dropped SSH session sends. A second one aborts at once."""


class _Output:
    """stderr for people and stdout for JSON, surviving a closed pipe, a full disk or a terminal
    that went away: a failed write is noted once and never becomes a traceback."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.hung_up = False
        """True once the terminal hung up and the run went on (`--on-hangup continue`)."""
        self.stderr_ok = True
        self.stdout_error: str | None = None
        """Why stdout could not be written ('closed' for a closed pipe), once it could not."""

    def say(self, text: str, style: str | None = None) -> None:
        if not self.stderr_ok:
            return
        try:
            self.console.print(printable_lines(text), style=style)
        except OSError:
            self.stderr_ok = False

    def line(self, text: str) -> None:
        """One line on stderr, plain (errors; what scripts grep for)."""
        if not self.stderr_ok:
            return
        try:
            print(printable_lines(text), file=sys.stderr, flush=True)
        except OSError:
            self.stderr_ok = False

    def json(self, value: Any) -> bool:
        """One JSON line on stdout; False once stdout cannot take it."""
        if self.stdout_error is not None:
            return False
        try:
            print(json.dumps(value), flush=True)
            return True
        except BrokenPipeError:
            self.stdout_error = "closed"
        except OSError as err:
            self.stdout_error = err.strerror or str(err)
        # Point stdout at /dev/null, so the interpreter's last flush at exit cannot fail again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        return False


def _output_to_log(run_dir: str | None, out: _Output) -> None:
    """Point stderr (and stdout, where it was the terminal) at the run folder's train.log, so a
    run that outlives its terminal keeps its lines; where that cannot be, drop them."""
    from dae_tui.runs.handover import LOG_NAME

    try:
        if run_dir is None:
            raise OSError("no run folder yet")
        log = os.open(os.path.join(run_dir, LOG_NAME), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        log = os.open(os.devnull, os.O_WRONLY)
        out.stderr_ok = False
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is sys.stderr or stream.isatty():
                os.dup2(log, stream.fileno())
    except (OSError, ValueError):
        out.stderr_ok = False
    finally:
        os.close(log)
    out.say("the terminal hung up: training goes on (--on-hangup continue); lines go to this log")


def _start(progress: Progress, out: _Output) -> None:
    if not progress.console.is_terminal:
        return
    try:
        progress.start()
    except OSError:
        out.stderr_ok = False


def _stop(progress: Progress, out: _Output) -> None:
    if not progress.live.is_started:
        return
    try:
        progress.stop()  # clears the transient bar
    except OSError:
        out.stderr_ok = False


def handle_stop_signals(handler: Callable[[int, Any], None]) -> Callable[[], None]:
    """`handler` for each of `STOP_SIGNALS`; returns the function that puts the previous ones back
    (train and sweep install theirs this one way)."""
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore


@contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Note each stop signal that comes meanwhile (a second one leaves at once); the handlers
    that were there before are put back after."""
    held: list[int] = []

    def note(signum: int, frame: Any) -> None:
        if held:
            os._exit(signal_exit(held[0]))
        held.append(signum)

    restore = handle_stop_signals(note)
    try:
        yield held
    finally:
        restore()


def check_device(invocation: Invocation) -> None:
    """A `--device cuda:N` this machine lacks is a `ConfigError` naming the GPUs it has, before
    torch loads (seconds) to say so: NVML counts them (`system.gpus.cuda_choices`), and only
    for a device that names a GPU. Where NVML cannot tell, torch judges when the run starts."""
    device = invocation.given.get("device") if invocation.resume else invocation.config.device
    if not isinstance(device, str) or not device.startswith("cuda"):
        return
    from dae_tui.system.gpus import cuda_choices

    problem = device_problem(device, cuda_choices())
    if problem:
        raise ConfigError(str(FieldError("device", problem)))


def run_headless(invocation: Invocation) -> int:
    """Train per `invocation`, report on stderr/stdout, return the exit code."""
    try:
        if invocation.take_over is None:  # a run handed over was judged where it started
            check_device(invocation)
    except ConfigError as err:
        print(f"dae-tui train: error: {printable_lines(str(err))}", file=sys.stderr)
        return EXIT_USAGE
    marker = None
    if invocation.take_over is not None:
        # A dashboard hands its run over (`runs.handover`): own the folder as soon as it lets go,
        # before torch is imported, so the run is never without an owner for long.
        from dae_tui.runs.handover import take_over

        try:
            marker = take_over(Path(invocation.resume or "."), invocation.take_over)
        except ConfigError as err:
            print(f"dae-tui train: error: {printable_lines(str(err))}", file=sys.stderr)
            return EXIT_USAGE
    with _signals_held() as held:
        # torch's import swallowed a Ctrl-C in 3 of 8 tries here (the run then trained to the end):
        # while it loads, our own handler notes the signal instead of a KeyboardInterrupt.
        from dae_tui.training.trainer import Trainer
    stops = [signum for signum in held if not (signum == signal.SIGHUP and invocation.on_hangup == "continue")]
    if stops:
        print("dae-tui: interrupted", file=sys.stderr)
        return signal_exit(stops[0])

    # markup=False: paths and messages are printed as they are, never read as markup.
    # soft_wrap: a long path stays one line (a terminal wraps it; a log keeps it whole).
    console = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
    out = _Output(console)
    trainer = Trainer(
        None if invocation.resume else invocation.config,
        resume=invocation.resume,
        overrides=invocation.given,
        runs_dir=invocation.runs_dir,
        marker=marker,
    )
    stopped_by: list[int] = []  # the signals received, in order
    run_dir: str | None = invocation.resume if invocation.take_over is not None else None

    def on_signal(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP and invocation.on_hangup == "continue" and not stopped_by:
            # The terminal is gone (an SSH session dropped): the run goes on, and what it would
            # have printed goes to its run folder's train.log instead.
            out.hung_up = True
            _output_to_log(run_dir, out)
            return
        if stopped_by:
            # A second signal: leave now. The last epoch's checkpoint is on disk (written
            # atomically); a temp file cut short is removed when the run is next opened.
            out.line(f"dae-tui train: aborted by {name}; the last finished epoch's checkpoint is kept")
            os._exit(signal_exit(stopped_by[0]))
        stopped_by.append(signum)
        if signum == signal.SIGHUP:
            out.stderr_ok = False  # the terminal is gone: nothing more can be shown
        again = "Ctrl-C" if signum == signal.SIGINT else name
        out.say(f"{name}: stopping after this batch ({again} again aborts)", style="yellow")
        trainer.request_stop(f"stopped by {name}")

    restore = handle_stop_signals(on_signal)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("MSE {task.fields[mse]}  {task.fields[speed]} img/s  ETA {task.fields[eta]}"),
        console=console,
        transient=True,
        auto_refresh=False,  # refreshed on each progress event: no thread writing to the terminal
    )
    dataset = source = ""
    task = None
    code = EXIT_FAILED
    try:
        _start(progress, out)
        try:
            for event in trainer.run():
                match event:
                    case RunStarted():
                        dataset, source, run_dir = event.config.dataset, event.source, event.run_dir
                        out.say(format_started(event))
                    case Notice():
                        out.say(f"note: {event.text}", style="dim")
                    case BatchProgress():
                        if not out.stderr_ok or not console.is_terminal:
                            continue  # the bar is for people at a terminal, not for a log file
                        description = f"epoch {event.epoch}/{event.epochs}"
                        fields: dict[str, Any] = dict(  # rich's task fields: any values
                            mse=f"{event.train_mse:.5f}",
                            speed=f"{event.images_per_s:,.0f}",
                            eta=format_eta(event.eta_s),
                        )
                        if task is None:
                            task = progress.add_task(description, total=event.batches, **fields)
                        progress.update(
                            task,
                            description=description,
                            completed=event.batch,
                            total=event.batches,
                            **fields,
                        )
                        try:
                            progress.refresh()
                        except OSError:
                            out.stderr_ok = False
                    case EpochEnd():
                        out.say(format_epoch(event))
                        if invocation.json and not out.json(event.to_json(dataset, source)):
                            if not trainer.stop_requested and not out.hung_up:
                                why = "was closed" if out.stdout_error == "closed" else f"failed ({out.stdout_error})"
                                out.say(f"stdout {why}: stopping after this batch", style="yellow")
                                trainer.request_stop(f"stopped: stdout {why}")
                    case Paused():
                        out.say("paused")
                    case RunFinished():
                        out.say(f"{format_finished(event.epochs, event.best_test_mse)}; saved in {event.run_dir}")
                        code = EXIT_OK
                    case RunStopped():
                        kept = format_kept(event.last_epoch, event.batch, event.batches)
                        out.say(f"stopped{'; ' + kept if kept else ''}; resume with --resume {event.run_dir}")
                        code = EXIT_STOPPED
                    case RunFailed():
                        prefix = "dae-tui train: error" if event.usage else "dae-tui train: failed"
                        kept = f" (run folder kept: {event.run_dir})" if event.run_dir else ""
                        out.line(f"{prefix}: {event.message}{kept}")
                        code = EXIT_USAGE if event.usage else EXIT_FAILED
        finally:
            _stop(progress, out)
    finally:
        restore()
    if out.stdout_error is not None and code in (EXIT_OK, EXIT_STOPPED) and not stopped_by:
        if out.stdout_error == "closed":
            return signal_exit(signal.SIGPIPE) if hasattr(signal, "SIGPIPE") else EXIT_STOPPED
        where = f"; resume with --resume {run_dir}" if code == EXIT_STOPPED and run_dir else ""
        out.line(
            f"dae-tui train: error: cannot write the JSON to stdout ({out.stdout_error}); "
            f"the run stopped, its checkpoint kept{where}"
        )
        return EXIT_FAILED
    if stopped_by and code == EXIT_STOPPED:
        return signal_exit(stopped_by[0])
    return code
