"""The one base of the errors dae-tui shows its user, and the contract they keep.

Imports nothing, so every part of the package (core included) can derive from it.
"""

from __future__ import annotations

__all__ = ["DaeError"]


class DaeError(Exception):
    """An error a user sees: one line naming what was wrong and what is allowed.

    `str(err)` is that line, printed as it is (after `printable`) by the CLI and shown by the
    dashboard; it holds no newline, no traceback and no library's multi-line report. Each subclass
    also keeps the built-in base it had before this one existed (`ConfigError` is a ValueError,
    `SaveError` an OSError, `DataError` a RuntimeError, ...), so every `except ValueError` and the
    like still catches it. A front end that only prints the line and exits can catch `DaeError`
    once; what exit code a kind of error means is its own decision (`cli.invocation.report`).
    """
