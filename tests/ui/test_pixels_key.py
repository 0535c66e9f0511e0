"""The Images tab's `P`: true pixels (kitty graphics) ↔ half blocks, the caption naming the
renderer, on a real run's saved pictures; at 80x24 and 200x60."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers.pilot import screen_text, wait_until
from textual.widgets import Static

from dae_tui.runs.samples import load_samples
from dae_tui.ui import DaeApp, halfblock, pixels
from dae_tui.ui.panes import ImageBrowser
from dae_tui.ui.pixels import Choice
from dae_tui.ui.widgets.image_strip import ImageStrip

PLACEHOLDER = chr(0x10EEEE)
"""kitty's Unicode placeholder: each cell of a picture drawn in true pixels."""


@pytest.fixture
def sent(monkeypatch):
    """The kitty graphics sequences the app sends (to the terminal, in a real run)."""
    sent: list[str] = []
    monkeypatch.setattr(pixels, "_write", sent.append)
    monkeypatch.setattr(pixels, "_choice", Choice("halfblock", "halfblock"))
    monkeypatch.setattr(halfblock, "_renderer", "halfblock")
    monkeypatch.setattr(halfblock, "_note", "")
    monkeypatch.setattr(halfblock, "_cells", "halfblock")
    halfblock._lines.cache_clear()
    yield sent
    halfblock._lines.cache_clear()


async def open_images(pilot, app, trained_run) -> ImageBrowser:
    await pilot.press("i")
    browser = app.query_one(ImageBrowser)
    browser.show_run(trained_run.name, "mnist", 3, load_samples(trained_run), str(trained_run))
    await wait_until(pilot, lambda: "#1 digit" in screen_text(app) and "▀" in screen_text(app))
    return browser


def caption(browser: ImageBrowser) -> str:
    return str(browser.query_one("#info", Static).render())


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_p_switches_the_pictures_between_true_pixels_and_half_blocks(trained_run, sent, size):
    pixels.install(Choice("halfblock", "halfblock", "kitty"), {})  # a kitty terminal, started in half blocks
    app = DaeApp()
    async with app.run_test(size=size) as pilot:
        browser = await open_images(pilot, app, trained_run)
        assert "▀" in screen_text(app) and PLACEHOLDER not in screen_text(app) and sent == []
        assert "kitty" not in caption(browser)
        await pilot.press("P")
        named = "in kitty graphics" if size[0] >= 200 else "px kitty"
        await wait_until(pilot, lambda: named in caption(browser))
        await wait_until(pilot, lambda: PLACEHOLDER in screen_text(app))
        text = screen_text(app)
        assert "▀" not in text  # every picture, the Train tab's strip too where it shows
        assert len(caption(browser)) <= size[0] - 2  # the info line's padding: nothing cut
        strip = app.query_one("#browser-strip", ImageStrip)
        uploads = [s for s in sent if "f=100" in s]  # one PNG upload (in chunks) a picture shown
        assert len({s.split("i=")[1].split(",")[0] for s in uploads}) >= 3 * strip.fit.visible
        # The pictures keep the half blocks' cells: the captions under them stay in place.
        assert "clean" in text and "noisy" in text and "denoised" in text and "#1 digit" in text
        await pilot.press("P")
        await wait_until(pilot, lambda: "▀" in screen_text(app) and PLACEHOLDER not in screen_text(app))
        assert "kitty" not in caption(browser)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_p_says_why_where_there_are_no_pixels(trained_run, sent, size):
    pixels.install(Choice("halfblock", "halfblock", None, "kitty off: tmux allow-passthrough is off"), {})
    app = DaeApp()
    async with app.run_test(size=size) as pilot:
        browser = await open_images(pilot, app, trained_run)
        if size[0] >= 200:
            assert "halfblock (kitty off: tmux allow-passthrough is off)" in caption(browser)
        else:
            assert caption(browser).endswith("px halfblock")
        await pilot.press("P")
        why = "No true pixels here (kitty off: tmux allow-passthrough is off); the pictures stay in half blocks."
        await wait_until(pilot, lambda: any(n.message == why for n in app._notifications))
        assert halfblock.renderer() == "halfblock" and sent == []
        assert PLACEHOLDER not in screen_text(app)


async def test_p_is_in_the_help_and_the_palette():
    from dae_tui.ui.keys import help_sections, palette_keys

    rows = dict(help_sections())["Images"]
    assert any(keys == "P" and "true pixels" in text for keys, text in rows)
    assert [key.key for key in palette_keys(ImageBrowser) if key.palette == "Pixels or half blocks"] == ["P"]


def test_the_first_frame_loads_no_textual_image_without_pixels():
    """The launch path settles the pictures as `dae-tui` does; a terminal that asks for no pixels
    (nor hints at them) loads neither textual-image nor Pillow, nor asks tmux."""
    code = """
import os, sys, asyncio
from dae_tui.ui import DaeApp, pixels
DaeApp.load_engine = lambda self: None
os.environ.pop("DAE_TUI_PICTURES", None); os.environ.pop("KITTY_WINDOW_ID", None)
os.environ["TERM"] = "xterm-256color"
pixels.install(pixels.settle(os.environ, run=None))
async def main():
    async with DaeApp().run_test(size=(80, 24)) as pilot:
        await pilot.press("i")
        await pilot.pause()
asyncio.run(main())
print(sorted(m for m in sys.modules if m.split(".")[0] in ("textual_image", "PIL")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1:] == ["[]"], out.stderr
