"""Rows of half-block pictures (clean / noisy / denoised) sized to the space they are given.

`choose_fit()` is the one sizing rule, judged on width and height together: the largest picture
size at which every row fits the height, preferring a size at which all 8 pictures fit side by
side as long as that size stays readable (`MIN_ALL` pixels); otherwise as many pictures as fit,
a window around the selected one, with ◀ / ▶ hints for the ones off to the side. Pictures never
scroll sideways, so the row labels stay put and the selected picture is always in view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget

from dae_tui.core.events import Picture, Samples
from dae_tui.core.formatting import fit_first, fit_words
from dae_tui.ui.halfblock import (
    RENDERERS,
    error_picture,
    heat_legend,
    heat_lines,
    picture_lines,
    renderer,
    renderer_note,
)

__all__ = [
    "Fit",
    "ImageStrip",
    "PictureRow",
    "StripRenderable",
    "choose_fit",
    "class_name",
    "error_row",
    "rows_of",
    "size_wordings",
]

SIZES = (28, 24, 20, 18, 16, 14, 12, 10, 8)
"""Picture sizes in pixels (square), largest first; each takes size/2 terminal rows."""
MIN_ALL = 10
"""The smallest size worth shrinking to just to show every picture at once."""
LABEL_WIDTH = 9


def label_lines(label: str, rows: int, width: int = LABEL_WIDTH) -> list[str]:
    """A row's label over the `rows` lines beside its pictures, centred: one line when it fits,
    else a setting a line (a compared run's `2 lr 5.11e-3 · 10 ep` as `2`, `lr`, `5.11e-3`,
    `10 ep`: a setting too wide goes a word a line), where `[:9]` once cut it to `2 lr 5.11`."""
    parts = [label]
    if len(label) > width and rows > 1:
        parts = []
        for item in label.split(" · "):
            parts.extend([item] if len(item) <= width else item.split(" "))
        if len(parts) > rows:  # too few lines for a setting each: the first ones, word-fitted
            parts = [fit_words(" ".join(parts[:2]), width) or parts[0], *parts[2 : rows + 1]]
    parts = parts[:rows]
    top = min(max(0, rows // 2 - (len(parts) - 1) // 2), rows - len(parts))
    return [""] * top + parts + [""] * (rows - top - len(parts))


GAP = 2
HINT_WIDTH = 2
ZOOMS = {"auto": None, "full": 28, "half": 14}
"""Picture size modes: auto (choose_fit) or a fixed size in pixels."""


@dataclass(frozen=True)
class Fit:
    """How pictures are laid out: `size` pixels a side, `visible` of them side by side."""

    size: int
    visible: int
    rows: int = 3
    """Picture rows (clean, noisy, denoised, and any compared runs or error maps)."""
    extra: int = 0
    """Lines besides the rows: one legend line under each error-map row."""

    @property
    def cell_rows(self) -> int:
        """Terminal rows one picture takes."""
        return (self.size + 1) // 2

    @property
    def height(self) -> int:
        """Terminal rows of the whole strip: each picture row and its caption line."""
        return self.rows * (self.cell_rows + 1) + self.extra


def _fitting(width: int, size: int, count: int) -> int:
    """How many pictures of `size` fit side by side in `width` cells (at least one)."""
    if LABEL_WIDTH + count * (size + GAP) <= width:
        return count
    return max(1, min(count, (width - LABEL_WIDTH - 2 * HINT_WIDTH) // (size + GAP)))


def choose_fit(width: int, height: int, count: int = 8, rows: int = 3, zoom: str = "auto", extra: int = 0) -> Fit:
    """The layout for `count` pictures in `rows` rows (and `extra` legend lines) within `width` x
    `height` cells."""
    fixed = ZOOMS.get(zoom)
    if fixed is not None:
        return Fit(fixed, _fitting(width, fixed, count), rows, extra)
    tall_enough = [s for s in SIZES if Fit(s, count, rows, extra).height <= height] or [SIZES[-1]]
    for size in tall_enough:
        if size >= MIN_ALL and _fitting(width, size, count) == count:
            return Fit(size, count, rows, extra)
    size = tall_enough[0]
    return Fit(size, _fitting(width, size, count), rows, extra)


def size_wordings(zoom: str, fit: Fit) -> tuple[str, str, str]:
    """What `z` set, fullest first, always with the size drawn: at 100x30 `auto` picks 14 px,
    the same as `half`, and a bare `auto` left a user pressing z wondering why nothing changed.
    A fallback renderer is named too (`ascii` on a terminal without UTF-8, `shade` with 16
    colours, `kitty` for true pixels), so pictures that look coarse say why; the default half
    blocks go unsaid, unless pixels were asked for and could not be drawn (then the why)."""
    if zoom == "auto":
        wordings = (f"z: auto size {fit.size} px, the largest that fits", f"auto {fit.size} px", f"auto {fit.size}px")
    else:
        wordings = (f"z: {zoom} size {fit.size} px", f"{zoom} {fit.size} px", f"{zoom} {fit.size}px")
    name, note = renderer(), renderer_note()
    if name == next(iter(RENDERERS)) and not note:
        return wordings
    long, mid, short = wordings
    why = f" ({note})" if note else ""  # true pixels asked for and not drawn: say why
    return f"{long}, in {RENDERERS[name]}{why}", f"{mid}, {name}{why}", f"{short} {name}"


@dataclass(frozen=True)
class PictureRow:
    """One row of the strip: a label, its pictures and a caption under each."""

    label: str
    pictures: Sequence[Picture]
    captions: Sequence[str | tuple[str, ...]]
    """Under each picture: its text, or its wordings fullest first (the first that fits the
    picture's width is shown, see `fit_first`)."""
    peak: int | None = None
    """For an error-map row (`error_row`): the largest error of its pictures (0-255), the top of
    its heat scale and legend; None for a row of ordinary pictures."""


def class_name(names: Sequence[str], label: int) -> str:
    """The class of `label` by the dataset's `names` ("digit 3", "Pullover"), else its number."""
    return names[label] if label < len(names) else str(label)


def number_and_class(number: int, name: str) -> tuple[str, ...]:
    """A clean picture's caption, fullest first: `#1 T-shirt/top`, `#1 T-shirt`, `T-shirt/top`,
    `T-shirt`, `#1`. A 10-pixel picture once read `#3 Pullove`; now it says `Pullover`."""
    first = name.split("/")[0]
    wordings = [f"#{number} {name}", f"#{number} {first}", name, first, f"#{number}"]
    return tuple(dict.fromkeys(wordings))


def rows_of(samples: Samples, names: Sequence[str]) -> list[PictureRow]:
    """Clean (captioned with number and class), noisy and denoised (with PSNR) rows of `samples`."""
    classes = [class_name(names, label) for label in samples.labels]
    return [
        PictureRow("clean", samples.clean, [number_and_class(i + 1, c) for i, c in enumerate(classes)]),
        PictureRow("noisy", samples.noisy, [f"{v:.1f} dB" for v in samples.noisy_psnr]),
        PictureRow("denoised", samples.denoised, [f"{v:.1f} dB" for v in samples.denoised_psnr]),
    ]


def error_row(samples: Samples) -> PictureRow:
    """The error maps of `samples`: |denoised - clean| of each picture on one heat scale (0 to
    the row's largest error, in its legend), captioned with the picture's mean error."""
    maps = [error_picture(c, d) for c, d in zip(samples.clean, samples.denoised, strict=True)]
    peak = max((max(m.pixels, default=0) for m in maps), default=0)
    captions = []
    for m in maps:
        mean = sum(m.pixels) / max(1, len(m.pixels)) / 255
        captions.append((f"mean {mean:.3f}", f"{mean:.3f}", f"{mean:.2f}"))
    return PictureRow("error", maps, captions, peak=max(1, peak))


class StripRenderable:
    """The rows at `fit`, pictures `first` .. `first + fit.visible - 1`, `selected` highlighted."""

    def __init__(
        self, rows: Sequence[PictureRow], fit: Fit, first: int, selected: int, highlight: Style, muted: Style
    ) -> None:
        self.rows, self.fit, self.first, self.selected = rows, fit, first, selected
        self.highlight, self.muted = highlight, muted

    def _hint(self, text: str) -> Segment:
        return Segment(text.center(HINT_WIDTH)[:HINT_WIDTH], self.muted)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        fit = self.fit
        count = len(self.rows[0].pictures)
        shown = range(self.first, min(count, self.first + fit.visible))
        windowed = fit.visible < count
        before, after = self.first, count - shown.stop
        left, right = ("<", ">") if renderer() == "ascii" else ("◀", "▶")  # a C locale shows ◀ as _
        for r, row in enumerate(self.rows):
            if row.peak is None:
                pictures = [picture_lines(row.pictures[i], fit.size, pixels=True) for i in shown]
            else:
                pictures = [heat_lines(row.pictures[i], fit.size, row.peak) for i in shown]
            last_row = r == len(self.rows) - 1
            labels = label_lines(row.label, fit.cell_rows)
            for y in range(fit.cell_rows):
                middle = y == fit.cell_rows // 2
                yield Segment(labels[y].ljust(LABEL_WIDTH)[:LABEL_WIDTH], self.muted)
                if windowed:
                    yield self._hint(left if middle and before else "")
                for lines in pictures:
                    yield from lines[y]
                    yield Segment(" " * GAP)
                if windowed:
                    yield self._hint(right if middle and after else "")
                yield Segment.line()
            yield Segment(" " * LABEL_WIDTH)
            if windowed:
                yield self._hint(f"+{before}" if last_row and before else "")
            for i in shown:
                style = self.highlight if i == self.selected else self.muted
                caption = row.captions[i]
                wordings = (caption,) if isinstance(caption, str) else caption
                yield Segment(fit_first(fit.size, *wordings).center(fit.size), style)
                yield Segment(" " * GAP)
            if windowed:
                yield self._hint(f"+{after}" if last_row and after else "")
            yield Segment.line()
            if row.peak is not None:
                yield from self._legend(row.peak)

    def _legend(self, peak: int) -> RenderResult:
        """The line under an error-map row: what each colour (or character) of it means."""
        yield Segment(" " * LABEL_WIDTH)
        yield Segment("|denoised - clean|: ", self.muted)
        yield from heat_legend(peak)
        yield Segment(" (the row's largest)", self.muted)
        yield Segment.line()


class ImageStrip(Widget):
    """Picture rows sized to the width it has and a share of its container's height."""

    DEFAULT_CSS = "ImageStrip { width: 1fr; height: auto; }"

    class Refitted(Message):
        """The layout (`fit`) changed in a render: a caption naming the size follows it."""

    def __init__(self, *, height_share: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.height_share = height_share
        """The part of the container's height the strip may take (the rest is for others)."""
        self.rows: list[PictureRow] = []
        self.selected = 0
        self.first = 0
        """The first picture in view (when not all fit)."""
        self.zoom = "auto"
        self.fit = Fit(SIZES[0], 8)
        """The layout of the last render."""
        self._room = Size(0, 0)

    def show(self, rows: list[PictureRow], selected: int, zoom: str = "auto") -> None:
        """Draw `rows` with picture `selected` highlighted, at `zoom` (auto, full or half)."""
        changed_shape = (len(rows), zoom) != (len(self.rows), self.zoom)
        self.rows, self.selected, self.zoom = rows, selected, zoom
        self.refresh(layout=changed_shape or not self._room.height)

    def _fit(self, width: int) -> Fit:
        count = len(self.rows[0].pictures) if self.rows else 8
        height = int(self._room.height * self.height_share)
        legends = sum(row.peak is not None for row in self.rows)
        return choose_fit(width, height, count, max(1, len(self.rows)), self.zoom, legends)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._room = container
        return self._fit(width).height if self.rows else 0

    def _window(self, fit: Fit) -> int:
        """The first picture in view: moves only as far as needed to keep the selected one shown."""
        count = len(self.rows[0].pictures)
        first = min(self.first, self.selected)
        first = max(first, self.selected - fit.visible + 1)
        return max(0, min(first, count - fit.visible))

    def render(self):
        if not self.rows:
            return ""
        fit = self._fit(self.content_region.width or self.size.width)
        if fit != self.fit:
            self.post_message(self.Refitted())
        self.fit = fit
        self.first = self._window(self.fit)
        highlight = Style(reverse=True, bold=True)
        return StripRenderable(self.rows, self.fit, self.first, self.selected, highlight, Style(dim=True))

    @property
    def hidden_sides(self) -> tuple[int, int]:
        """(pictures off to the left, pictures off to the right) in the last render."""
        if not self.rows:
            return 0, 0
        count = len(self.rows[0].pictures)
        return self.first, max(0, count - self.first - self.fit.visible)
