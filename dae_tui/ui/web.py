"""The dashboard in a browser tab (`dae-tui serve`): Textual's web driver, made sure to leave when
its tab has gone.

textual-serve runs one dashboard per tab with Textual's `WebDriver` (named in TEXTUAL_DRIVER): the
screen and the keys travel over the process's pipes, and a closed tab arrives as a "quit" message.
Two ways that left a dashboard running for good, with no one to see or stop it:

- the server died without closing its tabs (SIGKILL, a crash): Textual's driver ignores the end
  of its input. `TabDriver` takes it as the tab closing and asks the app to exit.
- the tab closed before the first frame, after a resize (a page reloaded at once, a headless
  browser): Textual 8.2's app then spins in layout at full CPU and never exits.

A tab that goes is taken as a hang-up (the app's `hang_up`): its run keeps training in the
background unless `--on-hangup stop`. On either way out, the process also leaves as it does after
SIGTERM (`signals.leave_within`): once a run it trains has reached the end of its batch (at most
`TRAINER_EXIT_WAIT_S`), and `EXIT_GRACE_S` later, whatever the app is stuck in; an app that exits
by itself leaves first.
"""

from __future__ import annotations

import threading
from typing import Any

from textual import messages
from textual.app import App
from textual.drivers.web_driver import WebDriver

from dae_tui.ui.signals import leave_within

__all__ = ["TabDriver", "use_tab_driver"]


class TabDriver(WebDriver):
    """`WebDriver`, but a tab that has gone (its "quit", or the end of input) ends the process."""

    _leaving = False

    def on_meta(self, packet_type: str, payload: dict[str, object]) -> None:
        if packet_type == "quit":
            self._leave_for_sure()
        super().on_meta(packet_type, payload)

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # the input ended, not the app: nobody is left to read it
            self._leave_for_sure()
            self._app.post_message(messages.ExitApp())

    def _leave_for_sure(self) -> None:
        if self._leaving:
            return
        self._leaving = True
        from dae_tui.ui import TRAINER_EXIT_WAIT_S

        # A closed tab is a terminal that hung up: a run training here goes on in the background
        # (or stops, with --on-hangup stop), as after an SSH drop; the next tab can attach to it.
        hang_up = getattr(self._app, "hang_up", None)
        if callable(hang_up):
            try:
                self._app.call_from_thread(hang_up)
            except RuntimeError:
                pass  # the app is already on its way out

        idle = getattr(self._app, "training_idle", None)
        if not isinstance(idle, threading.Event):  # an app with no run to wait for
            idle = threading.Event()
            idle.set()
        leave_within(idle, TRAINER_EXIT_WAIT_S, 0)


def use_tab_driver(app: App[Any]) -> None:
    """Give `app` `TabDriver` where the environment named Textual's web driver (a textual-serve tab)."""
    if app.driver_class is WebDriver:
        app.driver_class = TabDriver
