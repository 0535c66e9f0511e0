"""Helpers for the Pilot tests: what the terminal shows, waiting on the real app, its events."""

from __future__ import annotations

import time

from dae_tui.ui.messages import EngineEvent


def screen_text(app) -> str:
    """What the terminal shows (the current screen, modal ones over the rest), as text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_until(pilot, predicate, timeout: float = 60.0) -> None:
    """Let the app run until `predicate()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            # What the terminal showed tells a flake on a loaded CI machine from a real fault.
            raise AssertionError(f"condition not met in {timeout:g} s; the screen showed:\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)


def collector():
    """(the engine events the app received, a message hook for `run_test` that collects them)."""
    seen: list = []

    def hook(message):
        if isinstance(message, EngineEvent):
            seen.append(message.event)

    return seen, hook
