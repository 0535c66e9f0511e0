"""The Log tab's view: a RichLog that also lays out what was written while it was hidden.

RichLog holds every write made before it knows its width and lays them out on its first Resize.
When its tab was hidden through a few layouts (finish a run, i, z, ↓, l), that Resize never came
with a width, and the tab stayed blank until the terminal was resized. Showing the view with a
width now flushes those writes too: the app calls `flush_deferred` when the Log tab is shown.

RichLog also wraps a line once, at the width it had when written: after the terminal shrank, a
line written at 200 columns was clipped at 80. The view keeps what was written (as many writes
as it keeps lines) and lays it all out again when its width changes.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

__all__ = ["LogView"]


class LogView(RichLog):
    """A RichLog that never stays blank once shown and wraps its lines again at each new width."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._written: deque[tuple[Any, int | None, bool, bool]] = deque(maxlen=self.max_lines)
        """Each write laid out so far (content, width, expand, shrink), oldest first."""
        self._wrapped_at = 0
        """The width the lines were laid out at (0: not yet)."""
        self._rewrapping = False

    def write(
        self,
        content: Any,
        width: int | None = None,
        expand: bool = False,
        shrink: bool = True,
        scroll_end: bool | None = None,
        animate: bool = False,
    ) -> LogView:
        # Kept once laid out: a write made before the width is known comes back here from
        # RichLog's deferred queue then.
        if self._size_known and not self._rewrapping:
            self._written.append((content.copy() if isinstance(content, Text) else content, width, expand, shrink))
        super().write(content, self._width_for(width), expand, shrink, scroll_end, animate)
        return self

    def _width_for(self, width: int | None) -> int | None:
        """The view's own width for a write that names none: RichLog measures against the app
        console's width, which is not the view's (80 in a headless app, the starting size in a
        terminal), so lines wrapped at 78 in a 200-column log."""
        if width is None and self.wrap and self._size_known and self.scrollable_content_region.width:
            return self.scrollable_content_region.width
        return width

    def on_resize(self, event: Resize) -> None:
        super().on_resize(event)
        width = self.scrollable_content_region.width
        if not (self._size_known and width) or width == self._wrapped_at:
            return
        if self._wrapped_at and self._written:
            self._rewrap()
        self._wrapped_at = width

    def _rewrap(self) -> None:
        """Lay every kept write out again at the current width, staying at the end if there."""
        at_end = self.is_vertical_scroll_end
        self.clear()
        self._rewrapping = True
        try:
            for content, width, expand, shrink in self._written:
                super().write(content, self._width_for(width), expand, shrink, scroll_end=False)
        finally:
            self._rewrapping = False
        if at_end:
            self.scroll_end(animate=False)

    def flush_deferred(self) -> None:
        """Lay out writes still waiting for a width, if the view has one now."""
        if self._deferred_renders and self.size.width:
            self._size_known = False  # RichLog flushes on the first sized Resize only
            self.on_resize(Resize(self.size, self.virtual_size))
            self.refresh(layout=True)
