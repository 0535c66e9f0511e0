"""The footer of key bindings, rebuilt at most once a refresh."""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

COMPACT_BELOW = 100
"""Footers narrower than this many columns show their keys without padding."""


class KeysFooter(Footer):
    """Textual's Footer, rebuilding its keys once however often the bindings changed since the
    last refresh.

    Each `refresh_bindings()` (a state change, a tab shown, the focus moving) makes Textual's
    footer schedule a rebuild of all its keys; at start-up four came in one frame, each
    composing and styling the 13 keys again, two of them before the first frame
    (benchmarks/NOTES.md, "One footer rebuild a refresh"). Keys are read when the rebuild runs,
    so a change that arrives while one is waiting is shown by it.
    """

    def __init__(self, *args, on_first_keys: Callable[[], None] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._rebuild_queued = False
        self._on_first_keys = on_first_keys

    def on_resize(self, event: events.Resize) -> None:
        """Under 100 columns the keys drop their padding and the ^p palette hint goes (ctrl+p
        still opens it; `?` lists it), so a tab's keys fit: at 80 columns the Runs tab lost
        Inspect, Resume and Delete."""
        narrow = event.size.width < COMPACT_BELOW
        self.compact = narrow
        if self.show_command_palette == narrow:
            self.show_command_palette = not narrow
            self.bindings_changed(self.screen)
        for key in self.query(FooterKey):
            key.display = True  # a wider footer may have room for keys dropped before
        self.call_after_refresh(self._drop_overflow)

    def _drop_overflow(self) -> None:
        """Hide whole keys, the last declared first, until the rest fit: Textual crops the last
        key mid-word (the Runs tab read `s St` at 80 columns, the Train tab `m MSE` beside the
        palette hint at 120). The keys come in their bindings' order, so the last declared go
        first, but `? Help` stays: it lists them all."""
        keys = [key for key in self.query(FooterKey) if key.display]
        room = self.content_region.width
        palette = [key for key in keys if key.has_class("-command-palette")]
        if palette:
            room -= palette[0].region.width
        kept = [key for key in keys if key not in palette]
        droppable = [key for key in kept if not key.action.endswith("help")]
        gap = max(0, kept[1].region.x - kept[0].region.right) if len(kept) > 1 else 0  # the grid's gutter
        while droppable and sum(key.region.width + gap for key in kept) - gap > room:
            kept.remove(droppable.pop())
        for key in keys:
            if key not in kept and key not in palette:
                key.display = False

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_queued:
            self._rebuild_queued = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_queued = False  # before the keys are read: a later change queues anew
        await self.recompose()
        self.call_after_refresh(self._drop_overflow)
        if self._on_first_keys is not None:
            self.call_after_refresh(self._on_first_keys)  # once the keys are painted
            self._on_first_keys = None
