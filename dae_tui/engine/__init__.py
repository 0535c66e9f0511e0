"""The training engine: data, noise, models, metrics, checkpoints and the `Trainer`.

Runs without any UI: nothing in this package imports textual or rich (a test checks
`sys.modules`). Importing the package itself, or `dae_tui.engine.events`, does not import torch,
so the UI can name event types at start-up; `Trainer` and `load_data` load torch on first use.
"""

from typing import Any

from .events import (
    BatchProgress,
    EpochEnd,
    Event,
    Notice,
    Paused,
    Picture,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    Samples,
)

__all__ = [
    "BatchProgress",
    "DataError",
    "EpochEnd",
    "Event",
    "Notice",
    "Paused",
    "Picture",
    "Resumed",
    "RunFailed",
    "RunFinished",
    "RunStarted",
    "RunStopped",
    "Samples",
    "Trainer",
    "load_data",
]

_LAZY = {"Trainer": "trainer", "load_data": "data", "DataError": "data"}


def __getattr__(name: str) -> Any:
    """Import the torch-backed parts only when they are asked for."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
