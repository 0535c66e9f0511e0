"""Messages from the worker threads to the app: engine events wrapped for Textual's queue.

Worker threads only ever `post_message` these; handlers on the UI thread turn them into widget
state. Progress messages replace one another in the queue, so a fast GPU cannot flood the UI.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ..engine.events import BatchProgress, Event

__all__ = ["EngineEvent", "EngineLoaded", "EngineProgress", "wrap"]


@dataclass
class EngineLoaded(Message):
    """The engine (and torch) finished importing in the background; `error` if it could not."""

    error: str | None = None


@dataclass
class EngineEvent(Message):
    """One event of the running engine."""

    event: Event


@dataclass
class EngineProgress(EngineEvent):
    """Batch progress: a newer one makes an older one still waiting in the queue redundant."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EngineProgress)


def wrap(event: Event) -> EngineEvent:
    """The message that carries `event`."""
    return EngineProgress(event) if isinstance(event, BatchProgress) else EngineEvent(event)
