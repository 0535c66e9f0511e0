"""Messages to the app: engine events from the worker threads, wrapped for Textual's queue, and
what the Runs tab asks of the app.

Worker threads only ever `post_message` these; handlers on the UI thread turn them into widget
state. Progress messages replace one another in the queue, so a fast GPU cannot flood the UI.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from textual.message import Message

from dae_tui.core.events import (
    BatchProgress,
    EpochEnd,
    Event,
    Notice,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    Samples,
)

if TYPE_CHECKING:
    from dae_tui.runs.store import RunInfo
    from dae_tui.system.sampler import SystemSample

__all__ = [
    "BackgroundRuns",
    "EngineEpochEnd",
    "EngineEvent",
    "EngineLoaded",
    "EngineNotice",
    "EnginePaused",
    "EngineProgress",
    "EngineResumed",
    "EngineRunFailed",
    "EngineRunFinished",
    "EngineRunStarted",
    "EngineRunStopped",
    "EngineSamples",
    "RunChosen",
    "RunMarksChanged",
    "RunPictures",
    "RunWorst",
    "SystemSampled",
    "while_shown",
    "wrap",
]

Handler = TypeVar("Handler", bound=Callable[..., Any])


def while_shown(handler: Handler) -> Handler:
    """Drop the message when the app's widgets are already gone.

    Quitting tears the widgets down while messages posted a moment earlier (the form judging
    itself after its first refresh, an engine event) are still on their way; a handler that
    reached for the status line then crashed the app on its way out (q at the first frame).
    The app says whether its widgets are there (`DaeApp.shown`).
    """

    @functools.wraps(handler)
    def wrapper(self: Any, *args: Any) -> Any:
        if not self.shown:
            return None
        return handler(self, *args)

    return wrapper  # type: ignore[return-value]


@dataclass
class EngineLoaded(Message):
    """The engine (and torch) finished importing in the background; `error` if it could not."""

    error: str | None = None


@dataclass
class EngineEvent(Message):
    """One event of the running engine: the base of the one message class per event below.

    Each event has its own class, so the app handles each in its own `on_engine_...` method
    rather than one handler telling the events apart; the base lets tests collect them all.
    """

    event: Event


@dataclass
class EngineProgress(EngineEvent):
    """Batch progress: a newer one makes an older one still waiting in the queue redundant."""

    event: BatchProgress

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EngineProgress)


@dataclass
class EngineEpochEnd(EngineEvent):
    """An epoch finished and its checkpoint was saved."""

    event: EpochEnd


@dataclass
class EngineSamples(EngineEvent):
    """The fixed test pictures after an epoch (or before the first)."""

    event: Samples


@dataclass
class EngineRunStarted(EngineEvent):
    """Data loaded, model built: the run is about to train."""

    event: RunStarted


@dataclass
class EngineNotice(EngineEvent):
    """A fallback taken or a setting adjusted, worth a line in the Log."""

    event: Notice


@dataclass
class EnginePaused(EngineEvent):
    """The run paused between batches."""

    event: Paused


@dataclass
class EngineResumed(EngineEvent):
    """The paused run went on."""

    event: Resumed


@dataclass
class EngineRunFinished(EngineEvent):
    """Every epoch trained."""

    event: RunFinished


@dataclass
class EngineRunStopped(EngineEvent):
    """The run stopped early; its last finished epoch is kept."""

    event: RunStopped


@dataclass
class EngineRunFailed(EngineEvent):
    """The run failed."""

    event: RunFailed


@dataclass
class RunChosen(Message):
    """On the Runs tab the user asked for `action` ('open', 'clone', 'resume', 'delete', 'inspect'
    or 'attach') on `run`."""

    action: str
    run: RunInfo


@dataclass
class RunMarksChanged(Message):
    """The runs marked on the Runs tab changed: (mark digit, run, legend label) of each."""

    marks: list[tuple[int, RunInfo, str]]


@dataclass
class RunPictures(Message):
    """A run's saved pictures, read in a background thread: every epoch's samples of `folder`,
    its worst pictures and its per-class scores by epoch (empty for runs from before them)."""

    folder: str
    history: dict[int, Samples]
    worst: dict[int, Samples] = field(default_factory=dict)
    classes: dict[int, tuple[tuple[float | None, ...], tuple[float | None, ...]]] = field(default_factory=dict)


@dataclass
class RunWorst(Message):
    """A run's worst pictures, read again in a background thread after one of its epochs ended."""

    folder: str
    worst: dict[int, Samples]


@dataclass
class BackgroundRuns(Message):
    """The runs training in other processes on this host (newest first), looked up at start."""

    runs: tuple[RunInfo, ...]


@dataclass
class SystemSampled(Message):
    """A reading of the machine, every `SAMPLE_INTERVAL_S`: a newer one makes an older one still
    waiting in the queue redundant."""

    sample: SystemSample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SystemSampled)


MESSAGES: dict[type, type[EngineEvent]] = {
    BatchProgress: EngineProgress,
    EpochEnd: EngineEpochEnd,
    Samples: EngineSamples,
    RunStarted: EngineRunStarted,
    Notice: EngineNotice,
    Paused: EnginePaused,
    Resumed: EngineResumed,
    RunFinished: EngineRunFinished,
    RunStopped: EngineRunStopped,
    RunFailed: EngineRunFailed,
}
"""The message class of each engine event; an event without one is a KeyError here, in the worker,
rather than a message no handler takes."""


def wrap(event: Event) -> EngineEvent:
    """The message that carries `event`."""
    return MESSAGES[type(event)](event)
