"""SIGTERM and SIGHUP in the dashboard: what `kill` and a dropped SSH session send.

Without handlers either one ends the process at once, leaving the terminal in the alternate screen
with the cursor hidden and mouse tracking on, and the epoch in progress cut short. With them, the
app treats each like a confirmed quit: the run stops at the next batch (its last finished epoch's
checkpoint is kept, status.json says which signal), Textual restores the terminal, and the process
exits 128 + the signal's number (143, 129). A second signal leaves at once.

Imports neither torch nor textual.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

__all__ = ["STOP_SIGNALS", "install_stop_signals"]

STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def install_stop_signals(on_signal: Callable[[int], None]) -> Callable[[], None]:
    """Call `on_signal(signum)` on the running event loop for each of `STOP_SIGNALS`; returns
    the function that puts the previous handlers back. Where the loop cannot take signal handlers
    (not the main thread, Windows), nothing is installed."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(signum)

    def remove() -> None:
        for signum in installed:
            try:
                loop.remove_signal_handler(signum)
            except (RuntimeError, ValueError):
                pass
        installed.clear()

    return remove
