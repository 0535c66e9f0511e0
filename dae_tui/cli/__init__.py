"""The `dae-tui` command: the parser and `main` (`parser`), then one module per command:
`train` (headless), `runs`, `eval`, `denoise`, `sweep`; `invocation` is a parsed command line and
the exit codes. Imports neither torch nor textual at module level: the dashboard must draw its
first frame before torch loads, and `runs` and `sweep --status` never need it.

The names below load `parser` (argparse and every flag) only when asked for, so a front end that
imports `dae_tui.cli.invocation` or a command module does not pay for the parser."""

from __future__ import annotations

from typing import Any

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_STOPPED",
    "EXIT_USAGE",
    "Invocation",
    "UsageError",
    "build_parser",
    "main",
    "parse_invocation",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from dae_tui.cli import parser

        return getattr(parser, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
