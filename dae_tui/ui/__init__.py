"""The Textual dashboard. Imports textual and rich; `training` and `sweeps` (torch, optuna) only
lazily, off the UI thread, so the first frame never waits for them.

`run_app()` is what `dae-tui` with no sub-command calls.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import NoReturn

from dae_tui.cli.invocation import EXIT_USAGE, Invocation
from dae_tui.core.config import ConfigError, check_resume_overrides
from dae_tui.ui import pixels
from dae_tui.ui.app import DaeApp
from dae_tui.ui.halfblock import RENDERERS
from dae_tui.ui.resume import ResumeInfo
from dae_tui.ui.signals import install_exit_signals, leave_within

__all__ = ["DaeApp", "make_app", "run_app"]


def make_app(invocation: Invocation, read_only: str | None = None) -> DaeApp:
    """The app as the command line describes it (the CLI and the tests build it the same way).

    With `--resume`, the form starts from the run's own config, with the flags given on top;
    a path that holds no run, or a flag that would change the run's recipe, raises `ConfigError`
    (one line), as `dae-tui train --resume` does. `read_only` (a runs folder that cannot be
    written, in one line) starts it for browsing only.
    """
    config, resume = invocation.config, None
    if invocation.attach:
        from dae_tui.runs.live import check_live

        check_live(invocation.attach)  # NotLive (a ConfigError): one line, exit 2
    if invocation.resume:
        resume = ResumeInfo.read(invocation.resume)
        check_resume_overrides(resume.config, invocation.given)
        config = replace(resume.config, **invocation.given)
    return DaeApp(
        config,
        runs_dir=invocation.runs_dir,
        resume=resume,
        storage=invocation.storage,
        read_only=read_only,
        on_hangup=invocation.on_hangup,
        attach=invocation.attach,
    )


TRAINER_EXIT_WAIT_S = 10.0
"""How long leaving the app waits for a stopping run to reach the end of its batch."""


def run_app(invocation: Invocation, read_only: str | None = None) -> NoReturn:
    """Run the dashboard until the user quits, then end the process.

    Quit has already asked the engine to stop at the next batch; once that thread is done (its
    last finished epoch's checkpoint is on disk, written atomically), a run quit mid-way gets one
    line on the restored terminal saying how to resume it, and the process leaves through
    `os._exit`: tearing down torch's interpreter state would otherwise keep the user waiting for
    most of a second after the terminal is back.
    """
    try:
        app = make_app(invocation, read_only)
    except ConfigError as err:
        print(f"dae-tui: error: {err}", file=sys.stderr)
        sys.stderr.flush()
        os._exit(EXIT_USAGE)
    # Until the app's loop takes the signals, and whatever happens to its shutdown after one.
    install_exit_signals(app.training_idle, TRAINER_EXIT_WAIT_S)

    def leaving(code: int) -> None:
        leave_within(app.training_idle, TRAINER_EXIT_WAIT_S, code)
        if app.stop_signal is not None:  # the loop may never turn again to serve the next one
            install_exit_signals(app.training_idle, TRAINER_EXIT_WAIT_S, already=app.stop_signal)

    app.on_leaving = leaving
    if not (sys.stdin.isatty() and sys.stdout.isatty()) and not os.environ.get("TEXTUAL_DRIVER"):
        # Without a terminal Textual would wait for keys that never come. A driver named in
        # TEXTUAL_DRIVER needs none: textual-serve's web driver (`dae-tui serve`, a browser tab)
        # speaks its own protocol over the pipes.
        print(
            "dae-tui: error: the dashboard needs a terminal (stdin and stdout are not one); "
            "to train without one, use: dae-tui train [flags]",
            file=sys.stderr,
        )
        sys.stderr.flush()
        os._exit(EXIT_USAGE)
    if os.environ.get("TEXTUAL_DRIVER"):
        from dae_tui.ui.web import use_tab_driver  # a browser tab's: it leaves, for sure, once the tab has gone

        use_tab_driver(app)
    else:
        # The pictures' renderer suits the user's terminal (a browser tab shows half blocks), read
        # here, not in the app, so tests and snapshots keep half blocks whatever terminal runs them;
        # true pixels are settled here too, before Textual reads the input (pixels.py).
        choice = pixels.settle(os.environ)
        pixels.install(choice)
        if choice.note:
            app.log_line(f"Pictures in {RENDERERS[choice.cells]}: {choice.note}.")
    app.run()
    install_exit_signals(app.training_idle, TRAINER_EXIT_WAIT_S, already=app.stop_signal)
    app.training_idle.wait(TRAINER_EXIT_WAIT_S)
    note = app.resume_note()
    try:
        if note:
            print(note, file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        pass  # the terminal is gone (SIGHUP): the run folder says the rest
    # return_code: 0 on quit, 128 + N after a signal, 1 when the app crashed (Textual has
    # printed the traceback by now), never a silent 0 after a crash.
    os._exit(app.return_code or 0)
