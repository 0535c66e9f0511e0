"""SIGTERM and SIGHUP in the dashboard: what `kill` and a dropped SSH session send.

Without handlers either one ends the process at once, leaving the terminal in the alternate screen
with the cursor hidden and mouse tracking on, and the epoch in progress cut short. With them, the
app treats each like a confirmed quit: the run stops at the next batch (its last finished epoch's
checkpoint is kept, status.json says which signal), Textual restores the terminal, and the process
exits 128 + the signal's number (143, 129). A second signal leaves at once.

Those handlers live on the event loop, which exists only while the app runs and serves them
only while it turns. Outside that, `install_exit_signals` keeps plain handlers, and once a signal
has asked the app to leave, `leave_within` makes sure the process does: a terminal gone in the
first half-second left the dashboard running with no terminal (5 of 9 tries), its shutdown
blocked for good in Textual's writer queue (the writer thread had died on the dead tty, so
the queue filled), and the loop that should have served the next SIGTERM never turned again.

Imports neither torch nor textual.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable

from dae_tui.cli.invocation import signal_exit

__all__ = ["EXIT_GRACE_S", "STOP_SIGNALS", "install_exit_signals", "install_stop_signals", "leave_within"]

EXIT_GRACE_S = 3.0
"""How long the app gets, after its run is idle, to restore the terminal and leave by itself
(it takes a fraction of a second) before the process is ended regardless."""

STOP_SIGNALS: tuple[int, ...] = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def install_stop_signals(on_signal: Callable[[int], None]) -> Callable[[], None]:
    """Call `on_signal(signum)` on the running event loop for each of `STOP_SIGNALS`; returns
    the function that puts the previous handlers back. Where the loop cannot take signal handlers
    (not the main thread, Windows), nothing is installed."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in STOP_SIGNALS:
        previous = signal.getsignal(signum)
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append((signum, previous))

    def remove() -> None:
        for signum, previous in installed:
            try:
                loop.remove_signal_handler(signum)
                # asyncio leaves SIG_DFL behind: a hang-up while the app closes would kill the
                # process mid-way instead of reaching `install_exit_signals`' handler.
                if previous is not None:
                    signal.signal(signum, previous)
            except (RuntimeError, ValueError, TypeError):
                pass
        installed.clear()

    return remove


def leave_within(idle: threading.Event, wait_s: float, code: int, grace_s: float = EXIT_GRACE_S) -> None:
    """End the process with `code` once `idle` is set (the run has reached the end of its batch
    and its checkpoint is on disk; at most `wait_s`) and `grace_s` more have passed, whatever the
    main thread is stuck in. A daemon thread: the normal way out, when it comes first, wins."""

    def leave() -> None:
        idle.wait(wait_s)
        time.sleep(grace_s)
        os._exit(code)

    threading.Thread(target=leave, name="dae-tui-exit-watchdog", daemon=True).start()


def install_exit_signals(idle: threading.Event, wait_s: float, already: int | None = None) -> None:
    """Plain handlers for `STOP_SIGNALS` for the times the event loop has none: from the start
    of `run_app` until the app mounts, and once it has closed. The first signal leaves as soon as
    `idle` is set (`leave_within`), the second at once. A signal the parent set to be ignored
    (`nohup`) stays ignored. `already`: the signal that came before (the next one leaves at once).
    Only for the real process: the tests' in-process apps never call it."""
    first: list[int] = [] if already is None else [already]

    def handler(signum: int, frame: object) -> None:
        if first:
            os._exit(signal_exit(first[0]))
        first.append(signum)
        leave_within(idle, wait_s, signal_exit(signum))

    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, handler)
