"""Half-block pictures: a grayscale image as a plain Rich renderable, testable without an App.

Each terminal cell is "▀" with the upper pixel as the foreground colour and the lower pixel as the
background colour, so a 28x28 image is 28 columns by 14 rows. Colours are true-colour grays; Rich
and Textual map them to the nearest of the 256-colour palette's gray ramp on lesser terminals.

Imports rich only (no textual, no torch).
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

from ..engine.events import Picture

__all__ = ["HALF_BLOCK", "HalfBlockPicture", "downsample", "gray_style"]

HALF_BLOCK = "▀"


@lru_cache(maxsize=65536)
def gray_style(top: int, bottom: int) -> Style:
    """The style of one cell: foreground gray `top`, background gray `bottom` (0-255)."""
    return Style(color=Color.from_rgb(top, top, top), bgcolor=Color.from_rgb(bottom, bottom, bottom))


def downsample(picture: Picture, factor: int) -> Picture:
    """Shrink by averaging `factor` x `factor` blocks (a ragged edge averages what it has)."""
    if factor <= 1:
        return picture
    width = (picture.width + factor - 1) // factor
    height = (picture.height + factor - 1) // factor
    out = bytearray(width * height)
    for by in range(height):
        for bx in range(width):
            total = count = 0
            for y in range(by * factor, min((by + 1) * factor, picture.height)):
                for x in range(bx * factor, min((bx + 1) * factor, picture.width)):
                    total += picture.at(x, y)
                    count += 1
            out[by * width + bx] = (total + count // 2) // count
    return Picture(width, height, bytes(out))


class HalfBlockPicture:
    """Renders a `Picture` as rows of "▀" cells; an odd last row gets a black lower half."""

    def __init__(self, picture: Picture) -> None:
        self.picture = picture

    @property
    def cell_size(self) -> tuple[int, int]:
        """(columns, rows) the picture takes on screen."""
        return self.picture.width, (self.picture.height + 1) // 2

    def lines(self) -> list[list[Segment]]:
        """One list of segments per terminal row."""
        pic = self.picture
        rows = []
        for y in range(0, pic.height, 2):
            row = []
            for x in range(pic.width):
                top = pic.at(x, y)
                bottom = pic.at(x, y + 1) if y + 1 < pic.height else 0
                row.append(Segment(HALF_BLOCK, gray_style(top, bottom)))
            rows.append(row)
        return rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for row in self.lines():
            yield from row
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.picture.width, self.picture.width)
