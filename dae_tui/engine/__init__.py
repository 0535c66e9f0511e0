"""The training engine: data, noise, models, metrics, checkpoints and the `Trainer`.

Runs without any UI: nothing in this package imports textual or rich (a test checks
`sys.modules`). Importing the package itself, or `dae_tui.engine.events`, does not import torch,
so the UI can name event types at start-up; `Trainer` and `load_data` load torch on first use.
`RunStore`, `list_runs`, `read_run` and `load_samples` read run folders and never load torch.
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
    "RunInfo",
    "RunStarted",
    "RunStopped",
    "RunStore",
    "RunStoreError",
    "Samples",
    "Trainer",
    "list_runs",
    "load_data",
    "load_samples",
    "read_run",
]

_LAZY = {
    "Trainer": "trainer", "load_data": "data", "DataError": "data",
    "RunInfo": "runstore", "RunStore": "runstore", "RunStoreError": "runstore", "list_runs": "runstore",
    "read_run": "runstore", "load_samples": "samplestore",
}


def __getattr__(name: str) -> Any:
    """Import the other parts only when they are asked for (the torch-backed ones load torch)."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
