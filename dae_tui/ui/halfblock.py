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

from dae_tui.core.events import Picture

__all__ = ["HALF_BLOCK", "HalfBlockPicture", "gray_style", "picture_lines", "resize"]

HALF_BLOCK = "▀"


@lru_cache(maxsize=65536)
def gray_style(top: int, bottom: int) -> Style:
    """The style of one cell: foreground gray `top`, background gray `bottom` (0-255)."""
    return Style(color=Color.from_rgb(top, top, top), bgcolor=Color.from_rgb(bottom, bottom, bottom))


@lru_cache(maxsize=1024)
def resize(picture: Picture, size: int) -> Picture:
    """Shrink to `size` x `size` pixels by area averaging (each output pixel is the mean of the
    input area it covers, partly covered pixels weighted by their share), so strokes keep their
    weight at any size, not only at whole factors."""
    if size >= picture.width and size >= picture.height:
        return picture
    weights_x = _area_weights(picture.width, size)
    weights_y = _area_weights(picture.height, size)
    out = bytearray(size * size)
    for oy, ys in enumerate(weights_y):
        for ox, xs in enumerate(weights_x):
            total = 0.0
            for y, wy in ys:
                row = y * picture.width
                for x, wx in xs:
                    total += picture.pixels[row + x] * wx * wy
            out[oy * size + ox] = min(255, int(total + 0.5))
    return Picture(size, size, bytes(out))


@lru_cache(maxsize=64)
def _area_weights(length: int, size: int) -> tuple[tuple[tuple[int, float], ...], ...]:
    """For each of `size` output pixels, the (input index, weight) pairs covering it; weights sum to 1."""
    scale = length / size
    cells = []
    for o in range(size):
        start, end = o * scale, (o + 1) * scale
        pairs = []
        for i in range(int(start), min(length, int(end + 0.999999))):
            overlap = min(end, i + 1) - max(start, i)
            if overlap > 1e-9:
                pairs.append((i, overlap / scale))
        cells.append(tuple(pairs))
    return tuple(cells)


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


@lru_cache(maxsize=512)
def picture_lines(picture: Picture, size: int) -> tuple[tuple[Segment, ...], ...]:
    """The rows of segments of `picture` at `size` pixels: kept, since a strip repaints the same
    pictures on every selection move and every resize."""
    return tuple(tuple(row) for row in HalfBlockPicture(resize(picture, size)).lines())
