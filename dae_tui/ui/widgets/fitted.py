"""A one-line label that says as much as its width allows, never cutting a word.

Textual crops a line that is too long (`↳ share of pixels to`, `· seed on`) or ends it with `…`
mid-word; this widget is given its wordings, fullest first, and shows the first that fits the
width it has now (`formatting.fit_first`), again on every resize. Imports no torch.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from dae_tui.core.formatting import fit_first

__all__ = ["FitLine"]


class FitLine(Widget):
    """One line of text: the first of its wordings that fits, after an optional fixed prefix."""

    DEFAULT_CSS = "FitLine { height: 1; width: 1fr; }"

    def __init__(self, *wordings: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.wordings: tuple[str, ...] = wordings
        self.prefix = Text()
        self.line_style = ""

    def say(self, *wordings: str, prefix: Text | None = None, style: str = "") -> None:
        """Show the first of `wordings` that fits after `prefix` (kept whole), in `style`."""
        self.wordings, self.prefix, self.line_style = wordings, prefix or Text(), style
        self.refresh()

    @property
    def shown(self) -> str:
        """The wording the current width allows (what `render` draws after the prefix)."""
        width = (self.content_region.width or self.size.width) - self.prefix.cell_len
        return fit_first(max(0, width), *self.wordings)

    def render(self) -> Text:
        return Text.assemble(self.prefix, Text(self.shown, style=self.line_style), no_wrap=True, overflow="crop")
