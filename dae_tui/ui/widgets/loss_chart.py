"""The live loss chart: train and test MSE per epoch, train loss within the epoch, best test marked.

A `PlotextPlot` that owns its data (the textual-plotext weather example is the template):
`replot()` clears, plots and refreshes; it replots when the size or the theme changes. Curves of
the last run stay until `reset()` is called for a new one.

Readable without colour (`NO_COLOR=1`): train epochs are marked ○ on a fine line, test epochs ●
on a dotted one, the best test ◆. The y axis's name, the best test value and the legend sit in
the border title at the top left, where readers look for them and where plotext cannot drop them
when its own title is wider than the plot. Axes are drawn from the start, before the first point.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.color import Color as RichColor
from textual_plotext import PlotextPlot

from dae_tui.core.formatting import cells, fit_first, fit_words
from dae_tui.core.psnr import best_epoch, psnr_from_mse
from dae_tui.ui.plain import markup, plain

if TYPE_CHECKING:
    from textual.app import RenderResult
    from textual.geometry import Size

    from dae_tui.runs.store import RunInfo

__all__ = ["MARK_COLOURS", "LossChart", "Series", "nice_ticks", "round_step", "with_margin"]

MARK_COLOURS: tuple[tuple[str, str], ...] = (
    ("cyan+", "bright_cyan"),
    ("magenta+", "bright_magenta"),
    ("orange+", "orange1"),
    ("red+", "bright_red"),
    ("yellow", "yellow"),
    ("gray+", "grey70"),
    ("cyan", "cyan"),
    ("magenta", "magenta"),
)
"""(plotext colour, Rich colour) of marked runs 1-8: never the live run's blue and green."""


def mark_hex(mark: int) -> str:
    """The colour of marked run `mark` (1-8) as #rrggbb."""
    return RichColor.parse(MARK_COLOURS[(mark - 1) % 8][1]).get_truecolor().hex


@dataclass(frozen=True)
class Series:
    """Another run drawn under the main curves: its test curve (and train curve on a toggle)."""

    label: str
    """Short label for the legend, e.g. 'lr 3e-3'."""
    mark: int
    """1-8: the run's marker digit and colour (`MARK_COLOURS`), stable for the session."""
    epochs: Sequence[int]
    train_mse: Sequence[float]
    test_mse: Sequence[float]
    live: bool = False
    """Still training: drawn above the finished ones."""

    @classmethod
    def of_run(cls, run: RunInfo, mark: int, label: str) -> Series:
        """A run's per-epoch curves, from its metrics records."""
        curve = run.curve
        return cls(
            label,
            mark,
            [p[0] for p in curve],
            [p[1] for p in curve],
            [p[2] for p in curve],
            live=run.status == "running",
        )

    @property
    def points(self) -> list[tuple[int, float, float]]:
        """(epoch, train MSE, test MSE) of each epoch, as `LossChart.reset` takes them."""
        return list(zip(self.epochs, self.train_mse, self.test_mse, strict=True))


LEGEND_SEP = " │ "
"""Between two runs in the legend: unlike the ` · ` between the settings of one run's label."""
LEGEND_EDGE = 4
"""Columns of the bottom border the legend cannot use (its corners and a space each side)."""


def fit_legend(items: Sequence[tuple[str, str]], width: int, item_sep: str = " · ") -> list[str]:
    """The labels of `items` ((prefix, label): the mark digit and what tells the run apart) made to
    fit `width` cells together, prefixes and `LEGEND_SEP`s counted: whole as long as they fit, else
    the longest loses its last setting first (` …` says so), again and again, so every run keeps the
    settings that tell it apart first; a single setting still too long is word-fitted, or left out
    (the digit alone, in the run's colour)."""
    parts = [label.split(item_sep) for _, label in items]
    cut = [False] * len(items)

    def label(i: int) -> str:
        return item_sep.join(parts[i]) + (" …" if cut[i] else "")

    def total() -> int:
        return cells(LEGEND_SEP.join(f"{prefix} {label(i)}" for i, (prefix, _) in enumerate(items)))

    while total() > width:
        longest = max(range(len(parts)), key=lambda i: (len(parts[i]) > 1, cells(label(i))))
        if len(parts[longest]) <= 1:
            break
        parts[longest].pop()
        cut[longest] = True
    labels = [label(i) for i in range(len(items))]
    if total() > width:  # one setting each and still too wide: share the width out
        share = (width - cells(LEGEND_SEP) * (len(items) - 1)) // len(items)
        labels = [fit_words(text, share - cells(prefix) - 1) for (prefix, _), text in zip(items, labels, strict=True)]
    return labels


_FLOOR = 1e-12
IN_EPOCH_POINTS = 16
"""Points of the running train loss kept within an epoch."""
PROGRESS_REDRAW_S = 2.0
"""Least time between two redraws for in-epoch points: every plotext build takes the UI thread a
while, and training in the dashboard must keep pace with training alone (benchmarks/NOTES.md,
"The running train loss within an epoch")."""


def round_step(raw: float, tolerance: float = 0.0) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least `raw` (less `tolerance`, a
    share of it, so a raw step a hair above a round one from float arithmetic still gets it)."""
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - tolerance))


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering about low..high."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high = low + (abs(low) or 1.0)
    step = round_step((high - low) / max(1, count - 1))
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Round MSE values between low and high (both > 0) for a log axis: 1-2-5 per decade, or
    finer when the range spans less than that."""
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for mantissas in ((1,), (1, 2, 5), tuple(range(1, 10))):
        ticks = [m * 10.0**d for d in decades for m in mantissas]
        inside = [t for t in ticks if low <= t <= high]
        if len(inside) >= 3:
            return [float(f"{t:.3g}") for t in inside]
    return [t for t in nice_ticks(low, high) if t > 0]


def with_margin(low: float, high: float) -> tuple[float, float]:
    """y limits a little outside the curves, so no point sits on the frame."""
    span = high - low or abs(high) * 0.1 or 1.0
    return low - span * 0.05, high + span * 0.08


def _label(value: float) -> str:
    return f"{value:.3g}"


class LossChart(PlotextPlot):
    """Train/test MSE against epoch, and the train loss within the epoch in progress."""

    DEFAULT_CSS = """
    LossChart {
        height: 1fr; min-height: 8;
        border-top: solid $foreground 20%; border-title-align: left; border-title-color: $text;
        border-subtitle-align: left;
    }
    LossChart.-overlays { border-bottom: solid $foreground 20%; }
    """

    def __init__(self, planned_epochs: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.epochs: list[int] = []
        self.train_mse: list[float] = []
        self.test_mse: list[float] = []
        self.running: list[tuple[float, float]] = []
        """(fractional epoch, running train MSE) points within epochs, the last epoch's kept."""
        self.planned_epochs = planned_epochs
        """Epochs the run will train: the x axis spans them from the start."""
        self._last_progress_redraw = -PROGRESS_REDRAW_S
        self.log_scale = False
        """Plot MSE on a log10 axis."""
        self.metric = "mse"
        """The y axis: "mse" or "psnr" (dB, higher is better)."""
        self.overlays: list[Series] = []
        """Other runs drawn under the main curves."""
        self.overlay_train = False
        """Draw the other runs' train curves too (their test curves always)."""
        self.title = "MSE per epoch"
        self._plotted = 0
        """Counts replots: the plot built for a count, a size and a theme is kept (`render`)."""
        self._built: tuple[tuple[int, Size, str], RenderResult] | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.replot())
        self.replot()

    def on_resize(self) -> None:
        # The border title's wording follows the width, and so does the legend's. The plot needs
        # no replot: a render builds it at the widget's size (`render`).
        self.border_title = plain(self.headline())
        self._legend()

    def render(self) -> RenderResult:
        """The plot as last built, built again only when the curves, the size or the theme
        changed: any refresh re-renders the content, a new border title's too, and a plotext
        build is ~15 ms of the UI thread (the first frame built the same chart three times)."""
        key = (self._plotted, self.size, self.app.theme)
        if self._built is None or self._built[0] != key:
            self._built = (key, super().render())
        return self._built[1]

    def reset(
        self, title: str = "MSE per epoch", points: Iterable[tuple[int, float, float]] = (), planned_epochs: int = 0
    ) -> None:
        """Start the curves afresh (a new run), from `points` (epoch, train MSE, test MSE) if any."""
        points = list(points)
        self.epochs[:] = [p[0] for p in points]
        self.train_mse[:] = [p[1] for p in points]
        self.test_mse[:] = [p[2] for p in points]
        self.running = [(float(p[0]), p[1]) for p in points]
        self.planned_epochs = planned_epochs
        self.title = title
        self.replot()

    def add_epoch(self, epoch: int, train_mse: float, test_mse: float) -> None:
        """Append one epoch's point to both curves."""
        self.epochs.append(epoch)
        self.train_mse.append(train_mse)
        self.test_mse.append(test_mse)
        self.running = [p for p in self.running if p[0] < epoch] + [(float(epoch), train_mse)]
        self.replot()

    def add_progress(self, epoch: int, batch: int, batches: int, train_mse: float) -> None:
        """The running train loss `batch`/`batches` into `epoch`; drawn about 16 times an epoch."""
        if not batches or batch >= batches:
            return
        x = epoch - 1 + batch / batches
        last = self.running[-1][0] if self.running else epoch - 1.0
        if x - last >= 1.0 / IN_EPOCH_POINTS or (not self.running and batch):
            self.running.append((x, train_mse))
            now = time.monotonic()
            if now - self._last_progress_redraw >= PROGRESS_REDRAW_S:
                self._last_progress_redraw = now
                self.replot()

    def toggle_log_scale(self) -> None:
        """Switch the MSE axis between linear and log."""
        self.log_scale = not self.log_scale
        self.replot()

    def toggle_metric(self) -> None:
        """Switch the y axis between MSE and PSNR."""
        self.metric = "psnr" if self.metric == "mse" else "mse"
        self.replot()

    def toggle_overlay_train(self) -> None:
        """Show or hide the other runs' train curves."""
        self.overlay_train = not self.overlay_train
        self.replot()

    def set_overlays(self, overlays: Iterable[Series]) -> None:
        """Draw these runs under the main curves (finished first, live ones above)."""
        self.overlays = sorted(overlays, key=lambda s: (s.live, s.mark))
        self.set_class(bool(self.overlays), "-overlays")
        self._legend()
        self.replot()

    def _legend(self) -> None:
        """The legend in the bottom border, each run's label as whole as the width allows (all of
        it at 200 columns; the settings that tell runs apart first where it is narrower)."""
        labels = [s.label for s in self.overlays]
        if self.size.width > LEGEND_EDGE:
            labels = fit_legend([(str(s.mark), s.label) for s in self.overlays], self.size.width - LEGEND_EDGE)
        # The border takes Textual's markup, which knows CSS and hex colours, not Rich's names.
        self.border_subtitle = markup(
            LEGEND_SEP.join(f"[{mark_hex(s.mark)}]{s.mark} $label{i}[/]" for i, s in enumerate(self.overlays)),
            **{f"label{i}": label for i, label in enumerate(labels)},
        )

    @property
    def best(self) -> tuple[int, float] | None:
        """(epoch, test MSE) of the best epoch so far."""
        return best_epoch(zip(self.epochs, self.test_mse, strict=True))

    def headline(self) -> str:
        """The border title: the y axis's name, the best test value with its epoch, the legend.

        The legend lives here rather than inside the plot, where it would hide the first and
        highest points of a falling curve on a short chart. The fullest wording that fits the
        width: the PSNR, then the legend go before the best value does."""
        axis = "PSNR dB" if self.metric == "psnr" else "MSE (log)" if self.log_scale else "MSE"
        best = self.best
        room = self.size.width - 2 if self.size.width else 200  # a cell of rule either side
        if best is None:
            return fit_first(
                room, f"{axis} ↑ · ○ train ● test · {self.title}", f"{axis} ↑ · ○ train ● test", f"{axis} ↑"
            )
        epoch, mse = best
        shown, other = f"{mse:.5f}", f"{psnr_from_mse(mse):.2f} dB"
        if self.metric == "psnr":  # the value on the axis first
            shown, other = other, f"MSE {shown}"
        # At 100x30 in PSNR mode Textual cut the title to `(13.5…`: whole items go instead.
        return fit_first(
            room,
            f"{axis} ↑ · ○ train ● test ◆ best {shown} @ epoch {epoch} ({other})",
            f"{axis} ↑ · ○ train ● test ◆ best {shown} @ epoch {epoch}",
            f"{axis} ↑ · ◆ best {shown} @ epoch {epoch}",
            f"{axis} ↑ · ◆ {shown} @ {epoch}",
            f"{axis} ↑",
        )

    def replot(self) -> None:
        """Draw the curves from scratch: the other runs first, then this run's on top."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self.border_title = plain(self.headline())  # the title may name a run: never markup
        plt.xlabel("epoch")
        values = self.train_mse + self.test_mse + [y for _, y in self.running]
        for series in self.overlays:
            values += list(series.test_mse) + (list(series.train_mse) if self.overlay_train else [])
        y = self._y
        if values:
            low, high = min(y(v) for v in values), max(y(v) for v in values)
            if self.log_scale and self.metric == "mse":
                ticks = log_ticks(max(min(values), _FLOOR), max(max(values), _FLOOR * 10))
                plt.yticks([y(t) for t in ticks], [_label(t) for t in ticks])
            else:
                plt.yticks(nice_ticks(low, high))
            plt.ylim(*with_margin(low, high))
        else:
            plt.scatter([0], [0], marker=" ")  # plotext draws no axes without a point
            plt.ylim(0, 0.1)
            plt.yticks(nice_ticks(0, 0.1))
        for series in self.overlays:
            colour = MARK_COLOURS[(series.mark - 1) % 8][0]
            if not series.epochs:
                continue
            if self.overlay_train:
                plt.plot(series.epochs, [y(v) for v in series.train_mse], marker="·", color=colour)
            plt.plot(series.epochs, [y(v) for v in series.test_mse], marker="braille", color=colour)
            plt.scatter(series.epochs, [y(v) for v in series.test_mse], marker=str(series.mark), color=colour)
        if self.running:
            plt.plot([p[0] for p in self.running], [y(p[1]) for p in self.running], marker="braille", color="blue+")
        if self.epochs:
            plt.plot(self.epochs, [y(v) for v in self.test_mse], marker="·", color="green+")
            plt.scatter(self.epochs, [y(v) for v in self.train_mse], marker="○", color="blue+")
            plt.scatter(self.epochs, [y(v) for v in self.test_mse], marker="●", color="green+")
            best = self.best
            assert best is not None
            plt.scatter([best[0]], [y(best[1])], marker="◆", color="red+")
        last_x = max([p[0] for p in self.running] + self.epochs + [0] + [e for s in self.overlays for e in s.epochs])
        right = max(1, self.planned_epochs, math.ceil(last_x))
        first = min(self.epochs[0] - 1 if self.epochs else 0, 0)
        plt.xlim(first, right)
        plt.xticks(self._xticks(first, right))
        self._plotted += 1
        self.refresh()

    def _y(self, value: float) -> float:
        """An MSE as plotted: PSNR in dB, log10 (labelled in MSE) or as it is."""
        if self.metric == "psnr":
            return psnr_from_mse(value)
        # plotext's own log axis transforms its data in place on every build, so a second render
        # fails; log10 values are plotted on a linear axis and labelled in MSE.
        return math.log10(max(value, _FLOOR)) if self.log_scale else value

    @staticmethod
    def _xticks(first: int, last: int) -> list[float]:  # ints, in plotext's type for ticks
        """Whole epochs only, at most about eight ticks."""
        step = max(1, (last - first) // 8 + 1)
        return list(range(first, last + 1, step))
