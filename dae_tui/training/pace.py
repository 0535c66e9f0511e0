"""The training pace behind the ETA: seconds per batch over the last few seconds, torch-free.

A mean over the whole run so far is far off early on: the first batches pay for allocation,
thread start-up and cache warm-up, so the first ETAs of an epoch were many times too long
(benchmarks/NOTES.md has the case).
`Pace` measures only a recent window, says nothing (None, shown as `—`) until that window has
settled, and starts a new window after a pause or between epochs (evaluation is not a batch);
until the new window settles, the last settled pace stands.

Imports only the standard library.
"""

from __future__ import annotations

from collections import deque

__all__ = ["Pace"]


class Pace:
    """Seconds per batch from the batches of the last `window_s` seconds.

    pace = Pace()
    pace.restart()                 # a new epoch, or after a pause
    pace.add(now, batches_done)    # after each batch (perf_counter seconds, a running count)
    pace.epoch_done(seconds, n)    # a whole epoch: the pace if no window settled in it
    pace.seconds_per_batch()       # None until settled
    """

    def __init__(self, window_s: float = 3.0, settle_s: float = 0.5, settle_batches: int = 5) -> None:
        self.window_s = window_s
        """How far back the pace looks: long enough to smooth batch jitter, short enough to follow
        a machine that got busier."""
        self.settle_s = settle_s
        """The least span a window needs before its pace counts."""
        self.settle_batches = settle_batches
        """The least batches a window needs before its pace counts."""
        self._points: deque[tuple[float, int]] = deque()
        self._settled: float | None = None

    def restart(self) -> None:
        """Forget the window (a pause or an evaluation is not training time); keep the last pace."""
        self._points.clear()

    def add(self, now: float, batches: int) -> None:
        """Record that `batches` batches (a running count) were done at `now`."""
        points = self._points
        points.append((now, batches))
        # Keep one point older than the window, so the window always spans `window_s` once full.
        while len(points) > 2 and now - points[1][0] >= self.window_s:
            points.popleft()
        first_t, first_n = points[0]
        span, done = now - first_t, batches - first_n
        if span >= self.settle_s and done >= self.settle_batches:
            self._settled = span / done

    def epoch_done(self, seconds: float, batches: int) -> None:
        """A whole epoch's training time: the pace when no window settled in it (an epoch shorter
        than `settle_s`), so the next epoch has an ETA from its start."""
        if self._settled is None and batches > 0:
            self._settled = seconds / batches

    def seconds_per_batch(self) -> float | None:
        """The pace of the latest settled window; None before any window settled."""
        return self._settled
