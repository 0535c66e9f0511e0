"""The Textual dashboard. Imports textual and rich, never torch at start-up.

`run_app()` is what `dae-tui` with no sub-command calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .app import DaeApp

if TYPE_CHECKING:
    from ..cli import Invocation

__all__ = ["DaeApp", "make_app", "run_app"]


def make_app(invocation: Invocation) -> DaeApp:
    """The app as the command line describes it (the CLI and the tests build it the same way)."""
    return DaeApp(
        invocation.config,
        runs_dir=invocation.runs_dir,
        resume=invocation.resume,
        overrides=invocation.given,
    )


def run_app(invocation: Invocation) -> int:
    """Run the dashboard until the user quits; the process exit code."""
    result = make_app(invocation).run()
    return int(result or 0)
