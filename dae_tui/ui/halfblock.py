"""Half-block pictures: a grayscale image as a plain Rich renderable, testable without an App.

Each terminal cell is "▀" with the upper pixel as the foreground colour and the lower pixel as the
background colour, so a 28x28 image is 28 columns by 14 rows. Colours are true-colour grays; Rich
and Textual map them to the nearest of the 256-colour palette's gray ramp on lesser terminals.

Terminals that cannot show that get a fallback with the same cell geometry (one cell for two
pixel rows, so every layout stays as it is), chosen once at launch by `choose_renderer` from the
environment and used by `picture_lines` whoever calls it:

- `shade`: 16 colours (`TERM=xterm`, `TEXTUAL_COLOR_SYSTEM=standard`) mapped the grays to 4
  levels, so noisy and denoised looked alike; a shade-character ramp " ░▒▓█" has 5, and each
  character's own density carries the level, colour or not.
- `ascii`: no UTF-8 (`LANG=C`, a non-UTF-8 tmux client) showed every "▀" as `_`; a 10-step ASCII
  ramp " .:-=+*#%@" reads on any terminal.

Error maps (`heat_lines`, `heat_legend`) draw |denoised - clean| on a heat scale with each
renderer: colours from black through red and yellow to white in half blocks, the shade ramp in
those colours with 16, the ASCII ramp alone without UTF-8, so the scale reads on every terminal.

Imports rich only (no textual, no torch).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

from dae_tui.core.events import Picture

__all__ = [
    "HALF_BLOCK",
    "RENDERERS",
    "PIXEL_RENDERERS",
    "HalfBlockPicture",
    "choose_renderer",
    "error_picture",
    "gray_style",
    "heat_legend",
    "heat_lines",
    "picture_lines",
    "renderer",
    "renderer_note",
    "resize",
    "use_renderer",
]

HALF_BLOCK = "▀"
RENDERERS = {
    "halfblock": "half blocks",
    "shade": "shade characters",
    "ascii": "ASCII shades",
    "kitty": "kitty graphics",
}
"""Each picture renderer and how the captions name it; the first is the default. `kitty` draws
true pixels (dae_tui.ui.pixels, which settles when it may be used); the others draw in cells."""
PIXEL_RENDERERS = ("kitty",)
SHADE_RAMP = " ░▒▓█"
ASCII_RAMP = " .:-=+*#%@"
_RAMP_STYLE = Style(color="bright_white", bgcolor="black")
"""Light on dark whatever the theme, as the half blocks' grays are."""
_renderer = "halfblock"
_cells = "halfblock"
"""The cell renderer in use, or the one pixels fall back to (see `picture_lines`)."""
_note = ""


def renderer() -> str:
    """The renderer `picture_lines` uses now (a key of `RENDERERS`)."""
    return _renderer


def renderer_note() -> str:
    """Why the renderer is not the true pixels asked for ("" when there is nothing to say)."""
    return _note


def use_renderer(name: str, note: str = "") -> None:
    """Draw pictures with `name` (a key of `RENDERERS`) from now on; `note`: why not in pixels."""
    global _renderer, _cells, _note
    if name not in RENDERERS:
        raise ValueError(f"unknown picture renderer {name!r}; one of {', '.join(RENDERERS)}")
    _renderer, _note = name, note
    if name not in PIXEL_RENDERERS:
        _cells = name


def _utf8_locale(environ: Mapping[str, str]) -> bool:
    """Whether the locale the terminal was started with is UTF-8 (LC_ALL, LC_CTYPE, LANG, first set
    wins). Python coerces a C locale to C.UTF-8 at start-up (PEP 538) and writes LC_CTYPE=C.UTF-8
    into its own environment, so that value beside a C, POSIX or absent LANG is taken as Python's,
    not the terminal's: a `LANG=C` terminal still shows "▀" as `_`."""
    lc_all, lc_ctype, lang = (environ.get(k, "") for k in ("LC_ALL", "LC_CTYPE", "LANG"))
    if lc_ctype == "C.UTF-8" and not lc_all and lang in ("", "C", "POSIX"):
        lc_ctype = ""
    value = lc_all or lc_ctype or lang
    return "utf-8" in value.lower() or "utf8" in value.lower()


def _few_colours(environ: Mapping[str, str]) -> bool:
    """Whether Textual will draw in 16 colours: TEXTUAL_COLOR_SYSTEM says so, or Rich's own guess
    from COLORTERM and TERM does (TERM=xterm, screen or linux: no "256color" in the name)."""
    system = environ.get("TEXTUAL_COLOR_SYSTEM", "auto")
    if system in ("standard", "windows"):
        return True
    if system in ("256", "truecolor") or environ.get("COLORTERM", "") in ("truecolor", "24bit"):
        return False
    term = environ.get("TERM", "")
    return bool(term) and term != "dumb" and term.rpartition("-")[2] not in ("256color", "kitty", "truecolor")


def choose_renderer(environ: Mapping[str, str]) -> str:
    """The cell renderer for the terminal `environ` describes: DAE_TUI_PICTURES when it names one
    (true pixels are settled by dae_tui.ui.pixels), else
    `ascii` without UTF-8, `shade` with 16 colours, half blocks otherwise."""
    asked = environ.get("DAE_TUI_PICTURES", "")
    if asked in RENDERERS and asked not in PIXEL_RENDERERS:
        return asked
    if not _utf8_locale(environ):
        return "ascii"
    return "shade" if _few_colours(environ) else "halfblock"


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


def ramp_lines(picture: Picture, ramp: str) -> list[list[Segment]]:
    """`picture` as one character of `ramp` (darkest first) a cell, each cell the mean of its two
    pixel rows, so it takes the cells the half blocks do."""
    rows = []
    steps = len(ramp) - 1
    for y in range(0, picture.height, 2):
        row = []
        for x in range(picture.width):
            top = picture.at(x, y)
            bottom = picture.at(x, y + 1) if y + 1 < picture.height else top
            row.append(Segment(ramp[((top + bottom) * steps + 255) // 510], _RAMP_STYLE))
        rows.append(row)
    return rows


def picture_lines(picture: Picture, size: int, pixels: bool = False) -> tuple[tuple[Segment, ...], ...]:
    """The rows of segments of `picture` at `size` pixels, drawn by the renderer in use; true
    pixels only where `pixels` is asked (the picture strips), not for the Inspect canvas and its
    outputs, new pictures at every stroke that would each be a new image sent to the terminal."""
    return _lines(picture, size, _renderer if pixels or _renderer not in PIXEL_RENDERERS else _cells)


@lru_cache(maxsize=512)
def _lines(picture: Picture, size: int, name: str) -> tuple[tuple[Segment, ...], ...]:
    """Kept, since a strip repaints the same pictures on every selection move and every resize."""
    if name in PIXEL_RENDERERS:
        from dae_tui.ui.pixels import kitty_lines  # textual-image, only where pixels are drawn

        return kitty_lines(picture, size)
    small = resize(picture, size)
    if name == "halfblock":
        rows = HalfBlockPicture(small).lines()
    else:
        rows = ramp_lines(small, SHADE_RAMP if name == "shade" else ASCII_RAMP)
    return tuple(tuple(row) for row in rows)


# --- error maps -------------------------------------------------------------------------------

HEAT_STOPS = ((0, (0, 0, 0)), (90, (120, 0, 40)), (160, (220, 40, 0)), (215, (255, 190, 0)), (255, (255, 255, 255)))
"""The heat scale's colours at levels 0-255: black, crimson, red-orange, amber, white."""
SHADE_HEAT = ("black", "red", "red", "yellow", "bright_white")
"""The 16-colour palette's colour for each step of the shade ramp: the character carries the
level, the colour the heat."""


def error_picture(clean: Picture, denoised: Picture) -> Picture:
    """|denoised - clean| of each pixel, 0-255, as a `Picture` of the same size."""
    return Picture(
        clean.width, clean.height, bytes(abs(a - b) for a, b in zip(clean.pixels, denoised.pixels, strict=True))
    )


@lru_cache(maxsize=256)
def heat_rgb(level: int) -> tuple[int, int, int]:
    """The heat scale's colour at `level` (0-255), between the two `HEAT_STOPS` around it."""
    for (low, a), (high, b) in zip(HEAT_STOPS, HEAT_STOPS[1:], strict=False):
        if level <= high:
            t = (level - low) / (high - low)
            return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]
    return HEAT_STOPS[-1][1]


@lru_cache(maxsize=65536)
def _heat_style(top: int, bottom: int) -> Style:
    return Style(color=Color.from_rgb(*heat_rgb(top)), bgcolor=Color.from_rgb(*heat_rgb(bottom)))


def _scaled(picture: Picture, peak: int) -> Picture:
    """`picture` with `peak` (1-255) stretched to 255, so the largest error of a row is white."""
    peak = max(1, min(255, peak))
    return Picture(picture.width, picture.height, bytes(min(255, v * 255 // peak) for v in picture.pixels))


def heat_lines(picture: Picture, size: int, peak: int) -> tuple[tuple[Segment, ...], ...]:
    """The rows of segments of the error map `picture` (see `error_picture`) at `size` pixels, on a
    heat scale from 0 to `peak` (0-255: the largest error of its row), by the renderer in use."""
    return _heat(picture, size, peak, _renderer)


@lru_cache(maxsize=256)
def _heat(picture: Picture, size: int, peak: int, name: str) -> tuple[tuple[Segment, ...], ...]:
    small = _scaled(resize(picture, size), peak)
    if name == "halfblock":
        rows = [
            [
                Segment(HALF_BLOCK, _heat_style(small.at(x, y), small.at(x, y + 1) if y + 1 < small.height else 0))
                for x in range(small.width)
            ]
            for y in range(0, small.height, 2)
        ]
        return tuple(tuple(row) for row in rows)
    ramp = SHADE_RAMP if name == "shade" else ASCII_RAMP
    rows = ramp_lines(small, ramp)
    if name == "shade":
        steps = len(ramp) - 1
        colours = {
            ramp[i]: Style(color=SHADE_HEAT[i * (len(SHADE_HEAT) - 1) // steps], bgcolor="black")
            for i in range(len(ramp))
        }
        rows = [[Segment(seg.text, colours[seg.text]) for seg in row] for row in rows]
    return tuple(tuple(row) for row in rows)


def heat_legend(peak: int, cells: int = 10) -> list[Segment]:
    """The error maps' legend: `0 <the scale in cells> <peak>`, the peak as a fraction of full
    brightness (pictures are 0-1), in the renderer's own marks, so it reads as the maps do."""
    high = f"{max(1, peak) / 255:.2f}"
    levels = [round(i * 255 / (cells - 1)) for i in range(cells)]
    if _renderer == "halfblock":
        scale = [Segment("█", Style(color=Color.from_rgb(*heat_rgb(v)))) for v in levels]
    else:
        ramp = SHADE_RAMP if _renderer == "shade" else ASCII_RAMP
        steps = len(ramp) - 1
        scale = []
        for v in levels:
            i = (2 * v * steps + 255) // 510
            colour = SHADE_HEAT[i * (len(SHADE_HEAT) - 1) // steps] if _renderer == "shade" else "bright_white"
            scale.append(Segment(ramp[i], Style(color=colour, bgcolor="black")))
    return [Segment("0 "), *scale, Segment(f" {high}")]
