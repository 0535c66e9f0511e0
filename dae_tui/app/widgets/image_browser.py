"""The image browser: clean / noisy / denoised rows for 8 fixed test images, per epoch.

Keeps every epoch's `Samples` of the current run. ←/→ move the selection across images (its PSNR,
noisy vs denoised, is shown); [ and ] step back and forward through earlier epochs; while the
latest epoch is shown, new epochs replace it, otherwise the view stays where the user put it.
Pictures are drawn at full size (28x28 pixels in 28x14 cells) when the three rows fit the height,
else at half size; z cycles auto / full / half; ↑/↓ scroll when the rows still do not fit.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer, Vertical
from textual.geometry import Region
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from ...config import CLASS_NAMES
from ...engine.events import Samples
from ..halfblock import HalfBlockPicture, downsample

__all__ = ["ImageBrowser", "ImageStrip"]

ROW_LABEL_WIDTH = 10
GAP = 2
ROWS = ("clean", "noisy", "denoised")


def strip_size(cell_size: tuple[int, int], count: int) -> tuple[int, int]:
    """(width, height) in cells of a strip of `count` pictures of `cell_size` each."""
    cols, rows = cell_size
    return ROW_LABEL_WIDTH + count * (cols + GAP), 3 * rows + 2


class StripRenderable:
    """Rows of half-block pictures with PSNR captions under the noisy and denoised rows."""

    def __init__(self, samples: Samples, selected: int, highlight: Style, muted: Style,
                 scale: int = 1) -> None:
        self.samples, self.selected = samples, selected
        self.highlight, self.muted = highlight, muted
        self.scale = scale
        self.rows = {
            kind: [HalfBlockPicture(downsample(p, scale)) for p in getattr(samples, kind)]
            for kind in ROWS
        }

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in cells."""
        return strip_size(self.rows["clean"][0].cell_size, len(self.samples.clean))

    def _caption(self, texts: list[str], width: int) -> list[Segment]:
        line = [Segment(" " * ROW_LABEL_WIDTH)]
        for i, text in enumerate(texts):
            style = self.highlight if i == self.selected else self.muted
            line.append(Segment(text[:width].center(width), style))
            line.append(Segment(" " * GAP))
        return line

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        s = self.samples
        width = self.rows["clean"][0].cell_size[0]
        for kind in ROWS:
            pictures = [picture.lines() for picture in self.rows[kind]]
            for y in range(len(pictures[0])):
                label = kind if y == len(pictures[0]) // 2 else ""
                yield Segment(label.ljust(ROW_LABEL_WIDTH), self.muted)
                for lines in pictures:
                    yield from lines[y]
                    yield Segment(" " * GAP)
                yield Segment.line()
            if kind == "noisy":
                yield from self._caption([f"#{i + 1} {v:.1f} dB" for i, v in enumerate(s.noisy_psnr)], width)
                yield Segment.line()
            elif kind == "denoised":
                yield from self._caption([f"{v:.1f} dB" for v in s.denoised_psnr], width)
                yield Segment.line()


class ImageStrip(Widget):
    """The pictures of one epoch's samples, sized to their content (the parent scrolls)."""

    DEFAULT_CSS = "ImageStrip { width: auto; height: auto; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.samples: Samples | None = None
        self.selected = 0
        self.scale = 1

    def show(self, samples: Samples, selected: int, scale: int) -> None:
        """Draw these samples with image `selected` highlighted, shrunk by `scale`."""
        self.samples, self.selected, self.scale = samples, selected, scale
        width, height = self._renderable().size
        self.styles.width, self.styles.height = width, height
        self.refresh(layout=True)

    def _renderable(self) -> StripRenderable:
        assert self.samples is not None
        highlight = Style(reverse=True, bold=True)
        return StripRenderable(self.samples, self.selected, highlight, Style(dim=True), self.scale)

    def render(self):
        if self.samples is None:
            return ""
        return self._renderable()

    def region_of(self, index: int) -> Region:
        """The cells image `index` occupies, for scrolling it into view."""
        if self.samples is None:
            return Region(0, 0, 1, 1)
        cols = -(-self.samples.clean[0].width // self.scale)
        x = ROW_LABEL_WIDTH + index * (cols + GAP)
        return Region(max(0, x - ROW_LABEL_WIDTH), 0, cols + ROW_LABEL_WIDTH, 1)


class ImageBrowser(Vertical, can_focus=True):
    """Browse the current run's reconstructions by image and by epoch."""

    DEFAULT_CSS = """
    ImageBrowser { height: 1fr; }
    ImageBrowser #info { height: 1; padding: 0 1; background: $boost; }
    ImageBrowser ScrollableContainer { height: 1fr; }
    ImageBrowser:focus #info { background: $accent 30%; }
    """

    BINDINGS = [
        Binding("left", "select(-1)", "Prev image", show=False),
        Binding("right", "select(1)", "Next image", show=False),
        Binding("left_square_bracket", "epoch(-1)", "Earlier", key_display="["),
        Binding("right_square_bracket", "epoch(1)", "Later", key_display="]"),
        Binding("z", "zoom", "Zoom"),
        Binding("up", "scroll_rows(-1)", "Scroll up", show=False),
        Binding("down", "scroll_rows(1)", "Scroll down", show=False),
    ]

    ZOOMS = ("auto", "full", "half")

    selected: reactive[int] = reactive(0)
    """Index (0-7) of the highlighted image."""
    viewing: reactive[int | None] = reactive(None)
    """The epoch shown, or None to follow the latest."""
    zoom: reactive[str] = reactive("auto")
    """Picture size: auto (full when the rows fit the height), full or half."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history: dict[int, Samples] = {}
        """Every epoch's samples of the current run, by epoch (0: before training)."""
        self.dataset = "mnist"
        self.epochs = 0

    def compose(self) -> ComposeResult:
        yield Static("No images yet: press s to train.", id="info")
        with ScrollableContainer():
            yield ImageStrip()

    def reset(self, dataset: str, epochs: int) -> None:
        """A new run: forget the old images."""
        self.history.clear()
        self.dataset, self.epochs = dataset, epochs
        self.viewing = None
        self._redraw()

    def add(self, samples: Samples) -> None:
        """Keep a new epoch's samples; shown at once when following the latest."""
        self.history[samples.epoch] = samples
        self._redraw()

    @property
    def shown_epoch(self) -> int | None:
        """The epoch on screen (None when there are no images)."""
        if not self.history:
            return None
        return self.viewing if self.viewing in self.history else max(self.history)

    def action_select(self, step: int) -> None:
        count = len(next(iter(self.history.values())).clean) if self.history else 8
        self.selected = (self.selected + step) % count

    def action_epoch(self, step: int) -> None:
        if not self.history:
            return
        epochs = sorted(self.history)
        at = epochs.index(self.shown_epoch)  # type: ignore[arg-type]
        target = epochs[max(0, min(len(epochs) - 1, at + step))]
        self.viewing = None if target == epochs[-1] else target

    def action_scroll_rows(self, step: int) -> None:
        """Scroll by one picture row, for terminals too short to show all three."""
        strip = self.query_one(ImageStrip)
        rows = -(-28 // strip.scale) // 2 + 1
        self.query_one(ScrollableContainer).scroll_relative(y=step * rows, animate=False)

    def action_zoom(self) -> None:
        self.zoom = self.ZOOMS[(self.ZOOMS.index(self.zoom) + 1) % len(self.ZOOMS)]

    def watch_selected(self) -> None:
        self._redraw()

    def watch_viewing(self) -> None:
        self._redraw()

    def watch_zoom(self) -> None:
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _scale(self, samples: Samples) -> int:
        if self.zoom != "auto":
            return 1 if self.zoom == "full" else 2
        full = HalfBlockPicture(samples.clean[0]).cell_size
        _, height = strip_size(full, len(samples.clean))
        # The horizontal scrollbar takes a row when the strip is wider than the view.
        return 1 if height + 1 <= self.query_one(ScrollableContainer).size.height else 2

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        info = self.query_one("#info", Static)
        epoch = self.shown_epoch
        if epoch is None:
            info.update("No images yet: press s to train.")
            return
        samples = self.history[epoch]
        names = CLASS_NAMES.get(self.dataset, ())
        strip = self.query_one(ImageStrip)
        strip.show(samples, self.selected, self._scale(samples))
        i = self.selected
        label = samples.labels[i]
        name = names[label] if label < len(names) else str(label)
        gain = samples.denoised_psnr[i] - samples.noisy_psnr[i]
        when = "before training" if epoch == 0 else f"epoch {epoch}/{self.epochs}"
        latest = " (latest)" if epoch == max(self.history) else " ([ ] to step)"
        info.update(
            f"{when}{latest} · #{i + 1}/{len(samples.clean)} {name}: noisy "
            f"{samples.noisy_psnr[i]:.2f} dB → denoised {samples.denoised_psnr[i]:.2f} dB "
            f"({gain:+.2f}) · {self.zoom} size"
        )
        self.query_one(ScrollableContainer).scroll_to_region(
            strip.region_of(i), animate=False, immediate=False
        )
