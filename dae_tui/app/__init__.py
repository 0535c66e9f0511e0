"""The Textual dashboard. Imports textual and rich, never torch at start-up.

`run_app()` is what `dae-tui` with no sub-command calls.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import NoReturn

from ..config import ConfigError, load_run_config
from ..invocation import Invocation
from .app import DaeApp

__all__ = ["DaeApp", "make_app", "run_app"]


def make_app(invocation: Invocation) -> DaeApp:
    """The app as the command line describes it (the CLI and the tests build it the same way).

    With `--resume`, the form starts from the run's own config, with the flags given on top.
    """
    config = invocation.config
    if invocation.resume:
        try:
            config = replace(load_run_config(invocation.resume), **invocation.given)
        except ConfigError:
            pass  # Start will report the bad path in the log and a notification
    return DaeApp(config, runs_dir=invocation.runs_dir, resume=invocation.resume)


TRAINER_EXIT_WAIT_S = 10.0
"""How long leaving the app waits for a stopping run to reach the end of its batch."""


def run_app(invocation: Invocation) -> NoReturn:
    """Run the dashboard until the user quits, then end the process.

    Quit has already asked the engine to stop at the next batch; once that thread is done (its
    last finished epoch's checkpoint is on disk, written atomically), the process leaves through
    `os._exit`: tearing down torch's interpreter state would otherwise keep the user waiting for
    most of a second after the terminal is back.
    """
    app = make_app(invocation)
    result = app.run()
    app.training_idle.wait(TRAINER_EXIT_WAIT_S)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(result or 0))
