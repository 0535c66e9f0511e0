"""Draw a digit: a 28x28 canvas painted with the mouse, beside its noisy version and the model's output.

The left button paints with a soft brush, the right button erases; strokes are joined between
mouse reports, so a fast stroke is a line, not dots. Each terminal cell is one pixel wide and two
tall (half blocks), so the brush covers both pixels of a cell and softly its neighbours. Every
change posts `DrawCanvas.Changed` with the 28x28 uint8 pixels; the Inspect tab runs them through
the model and shows the results in the two `PictureBox`es. Imports no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget

from dae_tui.core.events import Picture
from dae_tui.ui.halfblock import picture_lines
from dae_tui.ui.widgets.image_strip import SIZES

__all__ = ["BRUSH_SIGMA", "DrawCanvas", "DrawPanel", "PictureBox"]

SIDE = 28
BRUSH_SIGMA = 0.9
"""The soft brush's spread in pixels: a stroke is about 3 pixels wide, as MNIST's are."""
BRUSH_REACH = 2


class _Lines:
    """Rows of half-block segments as a renderable."""

    def __init__(self, lines) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for row in self.lines:
            yield from row
            yield Segment.line()


class DrawCanvas(Widget):
    """A 28x28 grayscale canvas (28 columns by 14 rows) painted with the mouse."""

    DEFAULT_CSS = """
    DrawCanvas {
        width: 30; height: 16; border: round $accent; border-title-align: left; border-subtitle-align: right;
    }
    """

    @dataclass
    class Changed(Message):
        """The drawing changed: `pixels` is 28x28 uint8, row-major, light on dark."""

        canvas: DrawCanvas
        pixels: bytes

        @property
        def control(self) -> DrawCanvas:
            return self.canvas

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.values = [0.0] * (SIDE * SIDE)
        """Ink per pixel, 0 to 1."""
        self._button = 0
        self._last: tuple[float, float] | None = None
        self.border_title = "draw"
        self.border_subtitle = "c clears"

    @property
    def pixels(self) -> bytes:
        return bytes(min(255, round(v * 255)) for v in self.values)

    @property
    def picture(self) -> Picture:
        return Picture(SIDE, SIDE, self.pixels)

    @property
    def is_blank(self) -> bool:
        return not any(self.values)

    def clear(self) -> None:
        self.values = [0.0] * (SIDE * SIDE)
        self._changed()

    def set_pixels(self, pixels: bytes) -> None:
        """Replace the drawing (28x28 uint8)."""
        self.values = [p / 255 for p in pixels[: SIDE * SIDE]]
        self._changed()

    def _changed(self) -> None:
        self.refresh()
        self.post_message(self.Changed(self, self.pixels))

    def dab(self, x: float, y: float, erase: bool = False) -> None:
        """One touch of the brush centred at pixel coordinates (x, y)."""
        two_s2 = 2 * BRUSH_SIGMA * BRUSH_SIGMA
        for py in range(max(0, math.floor(y - BRUSH_REACH)), min(SIDE, math.ceil(y + BRUSH_REACH) + 1)):
            for px in range(max(0, math.floor(x - BRUSH_REACH)), min(SIDE, math.ceil(x + BRUSH_REACH) + 1)):
                d2 = (px + 0.5 - x) ** 2 + (py + 0.5 - y) ** 2
                if d2 > BRUSH_REACH * BRUSH_REACH:
                    continue
                strength = math.exp(-d2 / two_s2)
                i = py * SIDE + px
                old = self.values[i]
                self.values[i] = old * (1 - strength) if erase else old + (1 - old) * strength

    def stroke(self, start: tuple[float, float], end: tuple[float, float], erase: bool = False) -> None:
        """Dabs every half pixel from `start` to `end` (pixel coordinates)."""
        (x0, y0), (x1, y1) = start, end
        steps = max(1, math.ceil(2 * max(abs(x1 - x0), abs(y1 - y0))))
        for s in range(1, steps + 1):
            t = s / steps
            self.dab(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, erase)

    def _point(self, event: events.MouseEvent) -> tuple[float, float] | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        # A cell is one pixel wide and two tall: aim at the middle of the pair.
        return offset.x + 0.5, offset.y * 2 + 1.0

    def on_mouse_down(self, event: events.MouseDown) -> None:
        point = self._point(event)
        if point is None or event.button not in (1, 3):
            return
        self._button, self._last = event.button, point
        self.capture_mouse()
        self.dab(*point, erase=event.button == 3)
        self._changed()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if not self._button or self._last is None:
            return
        offset = event.get_content_offset_capture(self)
        point = (min(SIDE - 0.5, max(0.5, offset.x + 0.5)), min(SIDE - 1.0, max(1.0, offset.y * 2 + 1.0)))
        if point != self._last:
            self.stroke(self._last, point, erase=self._button == 3)
            self._last = point
            self._changed()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._button:
            self._button, self._last = 0, None
            self.release_mouse()

    def render(self):
        if self.is_blank:
            lines = ["draw here:", "left button paints", "right button erases"]
            top = (self.content_region.height - len(lines)) // 2
            return Text("\n" * max(0, top) + "\n".join(line.center(SIDE) for line in lines), style="dim")
        return _Lines(picture_lines(self.picture, SIDE))


class PictureBox(Widget):
    """One picture at the largest size that fits, with a title and a caption in its border."""

    DEFAULT_CSS = """
    PictureBox {
        width: 1fr; max-width: 30; height: 16;
        border: round $foreground 30%; border-title-align: left; border-subtitle-align: right;
    }
    """

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.picture: Picture | None = None
        self.border_title = title

    def show(self, picture: Picture | None, caption: str = "") -> None:
        self.picture = picture
        self.border_subtitle = caption
        self.refresh()

    def render(self):
        if self.picture is None:
            return Text("")
        width, height = self.content_region.width, self.content_region.height
        size = next((s for s in SIZES if s <= width and (s + 1) // 2 <= height), SIZES[-1])
        return _Lines(picture_lines(self.picture, size))


class DrawPanel(Horizontal):
    """The canvas, its noisy version and the model's output, side by side."""

    DEFAULT_CSS = """
    DrawPanel { height: 16; width: 1fr; }
    DrawPanel > * { margin-right: 1; }
    """

    def compose(self) -> ComposeResult:
        yield DrawCanvas(id="canvas")
        yield PictureBox("noisy", id="draw-noisy")
        yield PictureBox("denoised", id="draw-denoised")

    def show(self, drawing) -> None:
        """The model's view of the drawing (an engine `Drawing`), or nothing (None)."""
        noisy, denoised = self.query_one("#draw-noisy", PictureBox), self.query_one("#draw-denoised", PictureBox)
        if drawing is None:
            noisy.show(None)
            denoised.show(None)
            return
        noisy.show(drawing.noisy, f"{drawing.noisy_psnr:.1f} dB")
        denoised.show(drawing.denoised, f"{drawing.denoised_psnr:.1f} dB")
