"""The robustness curve: PSNR of the noisy input and of the model's output against the noise factor.

A `PlotextPlot` that owns its points and replots from scratch (as `LossChart` does). The model's
points are ● on a line, the noisy input's ○ on a dotted line, so the curves part without colour;
the trained factor is a vertical rule and the what-if factor a dotted one. The legend and what
the two rules are sit in the border title; progress while the curve is computed in the subtitle.
Imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual_plotext import PlotextPlot

from dae_tui.core.config import format_number
from dae_tui.core.formatting import fit_first
from dae_tui.ui.plain import plain
from dae_tui.ui.widgets.loss_chart import nice_ticks, with_margin

__all__ = ["RobustnessChart"]

CLEAN_PSNR = 99.0
"""An input PSNR this high is the clean picture itself (factor 0; metrics cap it at 100 dB):
not plotted, it would flatten every other point."""


class RobustnessChart(PlotextPlot):
    """PSNR against noise factor for one noise kind."""

    DEFAULT_CSS = """
    RobustnessChart {
        height: 1fr; min-height: 8;
        border-top: solid $foreground 20%; border-bottom: solid $foreground 20%;
        border-title-align: left; border-title-color: $text; border-subtitle-align: left;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.kind = "gaussian"
        self.points: list[Any] = []
        """`CurvePoint`s computed so far, by factor."""
        self.planned: Sequence[float] = ()
        """The factors the finished curve will have: the x axis spans them from the start."""
        self.trained: float | None = None
        """The factor the run was trained at, when it trained on this kind."""
        self.current: float | None = None
        """The what-if factor."""
        self.note = ""

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.replot())
        self.replot()

    def start(self, kind: str, planned: Sequence[float], trained: float | None, points: Sequence[Any] = ()) -> None:
        """A curve for `kind` over `planned` factors, with any points already known."""
        self.kind, self.planned, self.trained = kind, tuple(planned), trained
        self.points = list(points)
        self.replot()

    def add(self, point: Any) -> None:
        self.points.append(point)
        self.replot()

    def set_current(self, factor: float | None) -> None:
        self.current = factor
        self.replot()

    def on_resize(self) -> None:
        self.replot()  # the border title's wording follows the width

    def set_note(self, note: str) -> None:
        """A line under the chart: progress, or why the curve is old or missing."""
        self.note = note
        self.border_subtitle = plain(note)  # names the run and quotes errors: never markup

    @property
    def done(self) -> bool:
        return bool(self.planned) and len(self.points) >= len(self.planned)

    def headline(self) -> str:
        """The border title: axis, legend, the two rules. The fullest wording that fits: at 80x24
        Textual cut it to `what-if …`; the legend's words go first, then the rules' names, and
        the what-if factor (what the user is moving) stays longest."""
        trained = f"trained {format_number(self.trained)}" if self.trained is not None else ""
        current = f"what-if {format_number(self.current)}" if self.current is not None else ""
        rules = " ".join(r for r in (f"│ {trained}" if trained else "", f"┆ {current}" if current else "") if r)
        short = " ".join(
            r
            for r in (
                f"│ {format_number(self.trained)}" if self.trained is not None else "",
                f"┆ {format_number(self.current)}" if self.current is not None else "",
            )
            if r
        )
        room = self.size.width - 2 if self.size.width else 200  # a cell of rule either side
        tail = f" {rules}" if rules else ""
        return fit_first(
            room,
            f"PSNR dB ↑ vs {self.kind} factor · ● model ○ noisy input{tail}",
            f"PSNR dB ↑ vs {self.kind} · ● model ○ noisy{tail}",
            f"PSNR dB ↑ · ● model ○ noisy{tail}",
            f"PSNR dB ↑{tail}",
            f"PSNR dB ↑ {short}".rstrip(),
            "PSNR dB ↑",
        )

    def at(self, factor: float) -> tuple[float, float] | None:
        """(noisy PSNR, model PSNR) at `factor`, read off the curve between its points."""
        points = sorted(self.points, key=lambda p: p.factor)
        for a, b in zip(points, points[1:], strict=False):
            if a.factor <= factor <= b.factor:
                share = (factor - a.factor) / ((b.factor - a.factor) or 1.0)
                return (
                    a.noisy_psnr + share * (b.noisy_psnr - a.noisy_psnr),
                    a.test_psnr + share * (b.test_psnr - a.test_psnr),
                )
        return None

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self.border_title = plain(self.headline())
        plt.xlabel(f"{self.kind} noise factor")
        points = sorted(self.points, key=lambda p: p.factor)
        model = [(p.factor, p.test_psnr) for p in points]
        noisy = [(p.factor, p.noisy_psnr) for p in points if p.noisy_psnr < CLEAN_PSNR]
        values = [y for _, y in model + noisy]
        if values:
            low, high = min(values), max(values)
            plt.ylim(*with_margin(low, high))
            plt.yticks(nice_ticks(low, high))
        else:
            plt.scatter([0], [0], marker=" ")  # plotext draws no axes without a point
            plt.ylim(0, 30)
            plt.yticks(nice_ticks(0, 30))
        xs = list(self.planned) or [p.factor for p in points] or [0.0, 1.0]
        left, right = min(xs), max(xs)
        if right <= left:
            right = left + 1.0
        plt.xlim(left, right)
        plt.xticks(nice_ticks(left, right, 6))
        y_low, y_high = (min(values), max(values)) if values else (0.0, 30.0)
        if self.trained is not None:
            plt.vline(self.trained, color="red+")
        if self.current is not None and left <= self.current <= right:
            rule = [y_low + (y_high - y_low) * i / 24 for i in range(25)]
            plt.scatter([self.current] * len(rule), rule, marker="┆", color="yellow")
        if noisy:
            plt.plot([x for x, _ in noisy], [y for _, y in noisy], marker="·", color="gray")
            plt.scatter([x for x, _ in noisy], [y for _, y in noisy], marker="○", color="gray+")
        if model:
            plt.plot([x for x, _ in model], [y for _, y in model], marker="braille", color="green+")
            plt.scatter([x for x, _ in model], [y for _, y in model], marker="●", color="green+")
        self.refresh()
