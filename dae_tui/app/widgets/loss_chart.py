"""The live loss chart: train and test MSE per epoch, a log-scale toggle, the best test MSE marked.

A `PlotextPlot` that owns its data (the textual-plotext weather example is the template):
`replot()` clears, plots and refreshes; it replots when the size or the theme changes. Curves of
the last run stay until `reset()` is called for a new one.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

__all__ = ["LossChart"]


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

    def reset(self, title: str = "MSE per epoch") -> None:
        """Forget the curves (a new run starts)."""
        self.epochs.clear()
        self.train_mse.clear()
        self.test_mse.clear()
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
        plt.ylabel("MSE")
        plt.yscale("log" if self.log_scale else "linear")
        if self.epochs:
            plt.plot(self.epochs, self.train_mse, label="train MSE", marker="braille")
            plt.plot(self.epochs, self.test_mse, label="test MSE", marker="braille")
            assert best is not None
            plt.scatter([best[0]], [best[1]], marker="◆", label="best test")
            plt.xticks(self._xticks())
            if len(self.epochs) == 1:
                plt.xlim(self.epochs[0] - 1, self.epochs[0] + 1)
        else:
            plt.xlim(0, 1)
            plt.ylim(0, 0.1)
        self.refresh()

    def _xticks(self) -> list[int]:
        """Whole epochs only, at most about eight ticks."""
        first, last = self.epochs[0], self.epochs[-1]
        step = max(1, (last - first) // 8 + 1)
        return list(range(first, last + 1, step))
