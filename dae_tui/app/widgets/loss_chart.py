"""The live loss chart: train and test MSE per epoch, a log-scale toggle, the best test MSE marked.

A `PlotextPlot` that owns its data (the textual-plotext weather example is the template):
`replot()` clears, plots and refreshes; it replots when the size or the theme changes. Curves of
the last run stay until `reset()` is called for a new one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from textual_plotext import PlotextPlot

__all__ = ["LossChart"]

_FLOOR = 1e-12


def _log10(values: list[float]) -> list[float]:
    return [math.log10(max(v, _FLOOR)) for v in values]


def _with_legend_room(values: list[float]) -> tuple[float, float]:
    """y limits with a band above the curves: plotext draws its legend in the top-left corner,
    where the first, highest points of a falling loss curve would otherwise hide under it."""
    low, high = min(values), max(values)
    span = high - low or abs(high) * 0.1 or 1.0
    return low - span * 0.05, high + span * 0.45


def _log_ticks(logs: list[float], count: int = 5) -> tuple[list[float], list[str]]:
    """Evenly spaced tick positions over log10 values, labelled with the MSE they stand for."""
    low, high = min(logs), max(logs)
    if high - low < 1e-9:
        low, high = low - 0.1, high + 0.1
    positions = [low + (high - low) * i / (count - 1) for i in range(count)]
    return positions, [f"{10 ** p:.3g}" for p in positions]


class LossChart(PlotextPlot):
    """Train/test MSE against epoch."""

    DEFAULT_CSS = """
    LossChart { height: 1fr; min-height: 8; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.epochs: list[int] = []
        self.train_mse: list[float] = []
        self.test_mse: list[float] = []
        self.log_scale = False
        """Plot MSE on a log10 axis."""
        self.title = "MSE per epoch"

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.replot())
        self.replot()

    def reset(self, title: str = "MSE per epoch", points: Iterable[tuple[int, float, float]] = ()) -> None:
        """Start the curves afresh (a new run), from `points` (epoch, train MSE, test MSE) if any."""
        points = list(points)
        self.epochs[:] = [p[0] for p in points]
        self.train_mse[:] = [p[1] for p in points]
        self.test_mse[:] = [p[2] for p in points]
        self.title = title
        self.replot()

    def add_epoch(self, epoch: int, train_mse: float, test_mse: float) -> None:
        """Append one epoch's point to both curves."""
        self.epochs.append(epoch)
        self.train_mse.append(train_mse)
        self.test_mse.append(test_mse)
        self.replot()

    def toggle_log_scale(self) -> None:
        """Switch the MSE axis between linear and log."""
        self.log_scale = not self.log_scale
        self.replot()

    @property
    def best(self) -> tuple[int, float] | None:
        """(epoch, test MSE) of the best epoch so far."""
        if not self.test_mse:
            return None
        i = min(range(len(self.test_mse)), key=self.test_mse.__getitem__)
        return self.epochs[i], self.test_mse[i]

    def replot(self) -> None:
        """Draw the curves from scratch."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        best = self.best
        title = self.title
        if best:
            title += f"  best test MSE {best[1]:.5f} @ epoch {best[0]}"
        plt.title(title)
        plt.xlabel("epoch")
        plt.ylabel("MSE (log)" if self.log_scale else "MSE")
        if best is not None:
            train, test, best_y = self.train_mse, self.test_mse, best[1]
            if self.log_scale:
                # plotext's own log axis transforms its data in place on every build, so a
                # second render fails; plot log10 values on a linear axis and label in MSE.
                train, test = _log10(train), _log10(test)
                best_y = math.log10(max(best_y, _FLOOR))
                plt.yticks(*_log_ticks(train + test))
            plt.plot(self.epochs, train, label="train MSE", marker="braille")
            plt.plot(self.epochs, test, label="test MSE", marker="braille")
            plt.scatter([best[0]], [best_y], marker="◆", label="best test")
            plt.xticks(self._xticks())
            if len(self.epochs) == 1:
                plt.xlim(self.epochs[0] - 1, self.epochs[0] + 1)
            plt.ylim(*_with_legend_room(train + test))
        else:
            plt.xlim(0, 1)
            plt.ylim(0, 0.1)
        self.refresh()

    def _xticks(self) -> list[int]:
        """Whole epochs only, at most about eight ticks."""
        first, last = self.epochs[0], self.epochs[-1]
        step = max(1, (last - first) // 8 + 1)
        return list(range(first, last + 1, step))
