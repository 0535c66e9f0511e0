"""Per-class test PSNR as ten horizontal bars, the worst class marked: which classes a model
denoises worst, at the epoch the Images tab shows.

`ClassBarsRenderable` is a plain Rich renderable (testable without an App); `ClassBars` is the
widget the Images tab shows it in. Bars are "█" cells in colour terminals and "#" in the ASCII
renderer (`halfblock.renderer`), and the worst class carries a word as well as a colour, so it
reads with NO_COLOR too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.widget import Widget

from dae_tui.core.formatting import fit_first
from dae_tui.ui.halfblock import renderer
from dae_tui.ui.widgets.image_strip import class_name

__all__ = ["BARS_WIDTH", "ClassBars", "ClassBarsRenderable", "bar_scale"]

BARS_WIDTH = 52
"""Columns the bars take beside the pictures: the longest class name (11), a 20-cell bar, the
figures and the worst mark."""
BAR_CELLS = 20
NAME_WIDTH = 11


def bar_scale(values: Sequence[float | None]) -> tuple[float, float]:
    """(the PSNR at a bar's start, at a full bar): from 1 dB under the lowest class, rounded down
    to a whole dB, so the worst class still has a stub and the differences (often a dB or two)
    fill the width instead of a common 20 dB every bar shares."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return 0.0, 1.0
    low, high = math.floor(min(known) - 1), max(known)
    return float(low), max(high, low + 1.0)


class ClassBarsRenderable:
    """The title, one bar a class and the scale line, in `width` columns."""

    def __init__(
        self,
        names: Sequence[str],
        psnr: Sequence[float | None],
        ssim: Sequence[float | None],
        title: str,
        width: int,
    ) -> None:
        self.names, self.psnr, self.ssim, self.title, self.width = names, psnr, ssim, title, width

    def lines(self) -> list[list[Segment]]:
        ascii_only = renderer() == "ascii"
        full = "#" if ascii_only else "█"
        known = [(v, i) for i, v in enumerate(self.psnr) if v is not None]
        worst = min(known)[1] if known else None
        low, high = bar_scale(self.psnr)
        muted, bad = Style(dim=True), Style(color="red", bold=True)
        cells = max(4, min(BAR_CELLS, self.width - NAME_WIDTH - 24))
        rows = [[Segment(fit_first(self.width, *self._titles()), Style(bold=True))]]
        for i, value in enumerate(self.psnr):
            name = class_name(self.names, i)[:NAME_WIDTH].ljust(NAME_WIDTH)
            row = [Segment(name + " ", bad if i == worst else Style())]
            if value is None:
                row.append(Segment("no test images".ljust(cells + 14), muted))
            else:
                filled = max(1, round((value - low) / (high - low) * cells))
                row.append(Segment((full * filled).ljust(cells), bad if i == worst else Style(color="cyan")))
                ssim = self.ssim[i] if i < len(self.ssim) else None
                figures = f" {value:5.1f} dB" + (f" {ssim:.2f}" if ssim is not None else "     ")
                row.append(Segment(figures))
            if i == worst:
                row.append(Segment(" < worst" if ascii_only else " ◀ worst", bad))
            rows.append(row)
        rows.append(
            [Segment(fit_first(self.width, f"bars from {low:g} dB · dB, then SSIM", f"from {low:g} dB"), muted)]
        )
        if ascii_only:  # a C locale shows "·" as "_" too
            rows = [[Segment(seg.text.replace("·", "-"), seg.style) for seg in row] for row in rows]
        return rows

    def _titles(self) -> tuple[str, ...]:
        return (self.title, self.title.split(" · ")[0])

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for row in self.lines():
            yield from row
            yield Segment.line()


class ClassBars(Widget):
    """The per-class bars of one epoch, or a line saying why there are none."""

    DEFAULT_CSS = "ClassBars { width: 52; height: auto; padding: 0 0 0 1; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.names: Sequence[str] = ()
        self.psnr: tuple[float | None, ...] = ()
        self.ssim: tuple[float | None, ...] = ()
        self.title = ""
        self.empty = "No per-class scores yet."

    def show(
        self,
        names: Sequence[str],
        scores: tuple[tuple[float | None, ...], tuple[float | None, ...]] | None,
        title: str,
        empty: str = "",
    ) -> None:
        """Draw `scores` (per-class PSNR, SSIM) under `title`; without scores, the line `empty`."""
        self.names, self.title = names, title
        self.psnr, self.ssim = scores if scores is not None else ((), ())
        self.empty = empty or self.empty
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.psnr) + 2 if self.psnr else 2

    def render(self):
        width = self.content_region.width or self.size.width or BARS_WIDTH
        if not self.psnr:
            return f"{self.title}\n{self.empty}" if self.title else self.empty
        return ClassBarsRenderable(self.names, self.psnr, self.ssim, self.title, width)
