"""True pixels: which terminals get them from their environment (no query unless asked), tmux's
passthrough wrapping, and the kitty placeholders textual-image draws in the half blocks' cells."""

from __future__ import annotations

import subprocess

import pytest

from dae_tui.core.events import Picture
from dae_tui.ui import halfblock, pixels
from dae_tui.ui.pixels import Choice, passthrough, settle

KITTY = {"LANG": "en_US.UTF-8", "TERM": "xterm-kitty", "COLORTERM": "truecolor"}
PLAIN = {"LANG": "en_US.UTF-8", "TERM": "xterm-256color", "COLORTERM": "truecolor"}


def no_query():
    raise AssertionError("the terminal was queried")


def tmux_says(value: str, code: int = 0):
    """A stand-in for `subprocess.run` answering `tmux show -gv allow-passthrough`."""
    calls = []

    def run(args, **kwargs):
        calls.append(args)
        return subprocess.CompletedProcess(args, code, stdout=f"{value}\n", stderr="")

    return run, calls


@pytest.fixture(autouse=True)
def back_to_half_blocks(monkeypatch):
    monkeypatch.setattr(pixels, "_choice", Choice("halfblock", "halfblock"))
    monkeypatch.setattr(halfblock, "_renderer", "halfblock")
    monkeypatch.setattr(halfblock, "_note", "")
    monkeypatch.setattr(halfblock, "_cells", "halfblock")
    yield
    halfblock._lines.cache_clear()  # kitty lines stand for images sent to a terminal of this test's


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (PLAIN, Choice("halfblock", "halfblock")),  # no hint: no query, half blocks, nothing to switch to
        ({**PLAIN, "DAE_TUI_PICTURES": "kitty"}, Choice("kitty", "halfblock", "kitty")),
        (KITTY, Choice("halfblock", "halfblock", "kitty")),  # a hint: half blocks still, P switches
        ({**PLAIN, "KITTY_WINDOW_ID": "3"}, Choice("halfblock", "halfblock", "kitty")),
        ({**KITTY, "DAE_TUI_PICTURES": "auto"}, Choice("kitty", "halfblock", "kitty")),
        ({**KITTY, "DAE_TUI_PICTURES": "shade"}, Choice("shade", "shade", "kitty")),
        ({**KITTY, "LANG": "C", "DAE_TUI_PICTURES": "kitty"}, Choice("kitty", "ascii", "kitty")),
        (
            {**PLAIN, "TERM_PROGRAM": "WezTerm", "DAE_TUI_PICTURES": "auto"},
            Choice("halfblock", "halfblock", None, "sixel is not drawn yet, only kitty"),
        ),
        (
            {**PLAIN, "DAE_TUI_PICTURES": "auto", "SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"},
            Choice("halfblock", "halfblock", None, "auto: not asked over SSH, name kitty"),
        ),
        (
            {**KITTY, "COLORTERM": "", "DAE_TUI_PICTURES": "kitty"},
            Choice("halfblock", "halfblock", None, "kitty off: needs COLORTERM=truecolor"),
        ),
    ],
)
def test_the_environment_settles_the_pixels_without_asking_the_terminal(environ, expected):
    run, calls = tmux_says("on")
    assert settle(environ, run=run, query=no_query) == expected
    assert calls == []  # outside tmux, tmux is not asked either


def test_auto_without_a_hint_asks_the_terminal_once_before_the_app_starts():
    asked = []

    def query():
        asked.append(True)
        return "kitty"

    assert settle({**PLAIN, "DAE_TUI_PICTURES": "auto"}, query=query) == Choice("kitty", "halfblock", "kitty")
    assert asked == [True]
    nothing = settle({**PLAIN, "DAE_TUI_PICTURES": "auto"}, query=lambda: None)
    assert nothing.renderer == "halfblock"
    assert nothing.note == "auto: no kitty nor sixel answer"


@pytest.mark.parametrize(
    ("value", "code", "drawn"), [("on", 0, True), ("all", 0, True), ("off", 0, False), ("", 1, False)]
)
def test_inside_tmux_kitty_needs_allow_passthrough(value, code, drawn):
    run, calls = tmux_says(value, code)
    choice = settle({**PLAIN, "TMUX": "/tmp/tmux-0/default,1,0", "DAE_TUI_PICTURES": "kitty"}, run=run, query=no_query)
    assert calls == [["tmux", "show", "-gv", "allow-passthrough"]]
    if drawn:
        assert choice == Choice("kitty", "halfblock", "kitty")
    else:
        assert choice == Choice("halfblock", "halfblock", None, "kitty off: tmux allow-passthrough is off")


def test_passthrough_doubles_every_escape_inside_tmux_s_own_wrapper():
    sequence = "\x1b_Ga=p,i=7;AAAA\x1b\\"
    wrapped = passthrough(sequence)
    assert wrapped == "\x1bPtmux;\x1b\x1b_Ga=p,i=7;AAAA\x1b\x1b\\\x1b\\"
    # What tmux hands on: the inside with each doubled ESC made one again.
    assert wrapped[len("\x1bPtmux;") : -2].replace("\x1b\x1b", "\x1b") == sequence


def digit() -> Picture:
    return Picture(28, 28, bytes((x * y) % 256 for y in range(28) for x in range(28)))


@pytest.mark.parametrize("in_tmux", [False, True])
def test_kitty_lines_upload_once_and_take_the_half_blocks_cells(monkeypatch, in_tmux):
    sent: list[str] = []
    monkeypatch.setattr(pixels, "_write", sent.append)
    pixels.install(Choice("kitty", "halfblock", "kitty"), {"TMUX": "x"} if in_tmux else {})
    lines = halfblock.picture_lines(digit(), 14, pixels=True)
    assert len(lines) == 7
    assert all(sum(halfblock.Segment(s.text).cell_length for s in row) == 14 for row in lines)
    assert all(s.text.startswith(chr(0x10EEEE)) for row in lines for s in row)  # the placeholder cells
    assert sent and all(s.startswith("\x1bPtmux;\x1b\x1b_G" if in_tmux else "\x1b_G") for s in sent)
    assert any("a=p" in s and "U=1" in s for s in sent)  # the virtual placement the placeholders show
    count = len(sent)
    halfblock.picture_lines(digit(), 14, pixels=True)  # a repaint: the image is in the terminal already
    assert len(sent) == count
    # The Inspect canvas (a new picture at every stroke) stays in cells.
    assert {s.text for row in halfblock.picture_lines(digit(), 14) for s in row} == {"▀"}
    assert len(sent) == count
    assert pixels.switch() == "halfblock" and halfblock.renderer() == "halfblock"
    assert {s.text for row in halfblock.picture_lines(digit(), 14, pixels=True) for s in row} == {"▀"}
    assert pixels.switch() == "kitty"


def test_the_key_says_how_to_ask_where_there_are_no_pixels():
    pixels.install(Choice("halfblock", "halfblock"), {})
    assert pixels.switch() is None and halfblock.renderer() == "halfblock"
    assert "DAE_TUI_PICTURES=kitty" in pixels.how_to_ask()
    pixels.install(Choice("halfblock", "halfblock", None, "kitty off: tmux allow-passthrough is off"), {})
    assert pixels.switch() is None
    assert pixels.how_to_ask() == (
        "No true pixels here (kitty off: tmux allow-passthrough is off); the pictures stay in half blocks."
    )


def test_textual_image_never_asks_the_terminal_once_prepared(monkeypatch):
    """Its cell size would be asked of the terminal (ESC [16t, read from stdin) where the pty does
    not say; once prepared, the answer is ours."""
    pixels.prepare()
    from textual_image._terminal import get_cell_size

    monkeypatch.setattr("textual_image._terminal.capture_terminal_response", no_query)
    assert tuple(get_cell_size()) == pixels._cell_pixels()
