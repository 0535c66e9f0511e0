"""The Log tab's view: a RichLog that also lays out what was written while it was hidden.

RichLog holds every write made before it knows its width and lays them out on its first Resize.
When its tab was hidden through a few layouts (finish a run, i, z, ↓, l), that Resize never came
with a width, and the tab stayed blank until the terminal was resized. Showing the view with a
width now flushes those writes too: the app calls `flush_deferred` when the Log tab is shown.
"""

from __future__ import annotations

from textual.events import Resize
from textual.widgets import RichLog

__all__ = ["LogView"]


class LogView(RichLog):
    """A RichLog that never stays blank once shown."""

    def flush_deferred(self) -> None:
        """Lay out writes still waiting for a width, if the view has one now."""
        if self._deferred_renders and self.size.width:
            self._size_known = False  # RichLog flushes on the first sized Resize only
            self.on_resize(Resize(self.size, self.virtual_size))
            self.refresh(layout=True)
