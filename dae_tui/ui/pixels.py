"""True-pixel pictures: the kitty graphics protocol through textual-image, where the terminal shows it.

Half blocks stay the default and the fallback. What the terminal can show is settled once, before
the app starts (`settle`), from the environment and the user's choice, never by a query of its own
by default:

- `DAE_TUI_PICTURES=kitty` (or `sixel`) says so outright;
- `DAE_TUI_PICTURES=auto` takes the environment's hint (`TERM=xterm-kitty` or `KITTY_WINDOW_ID`:
  kitty; `TERM_PROGRAM` WezTerm, iTerm.app, `TERM=foot`, mlterm: sixel) and, without one, asks the
  terminal with textual-image's own queries, then and only then: once Textual runs, its input thread
  takes the answer. Not over SSH: the queries wait 0.1 s, and an answer that comes later is read by
  Textual as keys typed;
- without `DAE_TUI_PICTURES`, a hint only lets `P` on the Images tab switch to pixels.

textual-image is imported only when pixels are drawn (`prepare`): its package asks the terminal at
import (0.1 s timeouts), which is kept from happening, and it brings Pillow. Its kitty renderable
writes the image upload itself; `_send` takes that over so that inside tmux the upload goes in
tmux's passthrough (`passthrough`), which tmux forwards only with `allow-passthrough on`; off, the
pictures stay half blocks and the caption says why. Its Unicode placeholders are plain text, which
tmux keeps like any other. Sixel is recognised but not drawn yet (its images do not sit in Textual's
cells the way kitty's placeholders do): such a terminal gets half blocks and is told so.

Imports rich only at start-up (textual-image and Pillow lazily, in `prepare`).
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.segment import Segment

from dae_tui.core.events import Picture
from dae_tui.ui import halfblock

__all__ = [
    "Choice",
    "current",
    "hinted",
    "install",
    "kitty_lines",
    "passthrough",
    "prepare",
    "settle",
    "switch",
]

PROTOCOLS = ("kitty", "sixel")
"""The true-pixel protocols `DAE_TUI_PICTURES` may name (with `auto`: find out)."""
DRAWN = ("kitty",)
"""The protocols dae-tui draws today."""
SIXEL_PROGRAMS = ("WezTerm", "iTerm.app", "mintty")
SIXEL_TERMS = ("foot", "foot-extra", "mlterm", "yaft-256color", "contour")
KITTY_START = "\x1b_G"
"""The kitty graphics protocol's sequences begin so (an APC with `G`) and end with ST (ESC \\)."""
CELL_PIXELS = (10, 20)
"""A cell's size when the terminal does not report it (textual-image's own guess, a VT340's)."""


def passthrough(sequence: str) -> str:
    """`sequence` wrapped in tmux's passthrough: tmux hands what is inside to its outer terminal as
    it is (with `allow-passthrough on`), once every ESC inside is doubled."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def hinted(environ: Mapping[str, str]) -> str | None:
    """The true-pixel protocol the environment names the terminal for, if it does."""
    term = environ.get("TERM", "")
    if term == "xterm-kitty" or environ.get("KITTY_WINDOW_ID"):
        return "kitty"
    if environ.get("TERM_PROGRAM", "") in SIXEL_PROGRAMS or term in SIXEL_TERMS:
        return "sixel"
    return None


def _over_ssh(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("SSH_CONNECTION") or environ.get("SSH_TTY") or environ.get("SSH_CLIENT"))


def _truecolor(environ: Mapping[str, str]) -> bool:
    """Whether Textual will draw in 24-bit colour: the placeholders carry the image's number in
    their colour, which a 256-colour terminal would round to another."""
    system = environ.get("TEXTUAL_COLOR_SYSTEM", "auto")
    if system != "auto":
        return system == "truecolor"
    return environ.get("COLORTERM", "") in ("truecolor", "24bit")


def tmux_passthrough(run: Callable[..., Any] = subprocess.run) -> str:
    """tmux's `allow-passthrough` ("on", "all", "off"; "" when tmux does not say)."""
    try:
        result = run(["tmux", "show", "-gv", "allow-passthrough"], capture_output=True, text=True, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def query_terminal() -> str | None:
    """Ask the terminal (before the app starts: textual-image's queries, 0.1 s each) which
    protocol it shows, kitty's first (the one drawn)."""
    _quiet_import()  # its package's own queries at import: sixel first, then kitty's; asked here in order
    from textual_image.renderable import sixel, tgp

    if tgp.query_terminal_support():
        return "kitty"
    return "sixel" if sixel.query_terminal_support() else None


@dataclass(frozen=True)
class Choice:
    """What the pictures are drawn with, settled at launch."""

    renderer: str
    """The renderer to start with: "kitty", or a cell renderer of `halfblock.RENDERERS`."""
    cells: str
    """The cell renderer `P` switches back to (and the fallback)."""
    pixels: str | None = None
    """The protocol `P` switches to; None where there is none to switch to."""
    note: str = ""
    """Why pixels are off where they were asked for or the terminal shows them; "" otherwise."""


def settle(
    environ: Mapping[str, str],
    run: Callable[..., Any] = subprocess.run,
    query: Callable[[], str | None] = query_terminal,
) -> Choice:
    """The pictures' renderer for the terminal `environ` describes (see the module's notes); `run`
    asks tmux, `query` the terminal (only for `DAE_TUI_PICTURES=auto` with no hint, not over SSH)."""
    asked = environ.get("DAE_TUI_PICTURES", "")
    cells = halfblock.choose_renderer({k: v for k, v in environ.items() if k != "DAE_TUI_PICTURES"})
    if asked not in (*PROTOCOLS, "auto"):
        cells = halfblock.choose_renderer(environ)
    protocol = asked if asked in PROTOCOLS else hinted(environ)
    if asked == "auto" and protocol is None:
        if _over_ssh(environ):
            return Choice(cells, cells, None, "auto: not asked over SSH, name kitty")
        protocol = query()
        if protocol is None:
            return Choice(cells, cells, None, "auto: no kitty nor sixel answer")
    if protocol is None:
        return Choice(cells, cells)
    if protocol not in DRAWN:
        return Choice(cells, cells, None, f"{protocol} is not drawn yet, only kitty")
    if environ.get("TMUX") and tmux_passthrough(run) not in ("on", "all"):
        return Choice(cells, cells, None, "kitty off: tmux allow-passthrough is off")
    if not _truecolor(environ):
        return Choice(cells, cells, None, "kitty off: needs COLORTERM=truecolor")
    return Choice(protocol if asked in (*PROTOCOLS, "auto") else cells, cells, protocol)


_choice = Choice("halfblock", "halfblock")
_in_tmux = False
_prepared = False


def _write(text: str) -> None:
    """Where the kitty sequences go: the terminal, beside Textual's own output (replaced in tests)."""
    stream = sys.__stdout__
    if stream is not None:
        stream.write(text)
        stream.flush()


def current() -> Choice:
    """The choice `install` made (half blocks, nothing to switch to, until then)."""
    return _choice


def install(choice: Choice, environ: Mapping[str, str] | None = None) -> None:
    """Draw with `choice` from now on; textual-image is prepared when it starts in pixels."""
    global _choice, _in_tmux
    _choice = choice
    _in_tmux = bool((os.environ if environ is None else environ).get("TMUX"))
    if choice.renderer in DRAWN:
        prepare()
    halfblock.use_renderer(choice.cells, choice.note)  # what the Inspect canvas draws with, pixels or not
    halfblock.use_renderer(choice.renderer, choice.note)


def switch() -> str | None:
    """`P`: pixels ↔ the cell renderer; the renderer now, or None when there are no pixels to
    switch to (`current().note` or `how_to_ask()` says why)."""
    if halfblock.renderer() in DRAWN:
        halfblock.use_renderer(_choice.cells, _choice.note)
        return _choice.cells
    if _choice.pixels is None:
        return None
    prepare()
    halfblock.use_renderer(_choice.pixels)
    return _choice.pixels


def how_to_ask() -> str:
    """The one line `P` answers with where there are no pixels to switch to."""
    if _choice.note:
        return f"No true pixels here ({_choice.note}); the pictures stay in {halfblock.RENDERERS[_choice.cells]}."
    return (
        "This terminal does not say it shows true pixels: start dae-tui with DAE_TUI_PICTURES=kitty "
        "(or auto, to ask it); the pictures stay in " + halfblock.RENDERERS[_choice.cells] + "."
    )


def _quiet_import() -> None:
    """Import textual-image's renderables without the terminal queries its package runs at import
    when stdout is a terminal: inside the running app Textual's input thread would take the
    answers (or the keys typed meanwhile)."""
    if "textual_image.renderable" in sys.modules:
        return
    stdout = sys.__stdout__
    setattr(sys, "__stdout__", None)  # noqa: B010 (typeshed: Final). Its package asks only when `sys.__stdout__.isatty()`
    try:
        import textual_image.renderable  # noqa: F401
    finally:
        setattr(sys, "__stdout__", stdout)  # noqa: B010


def _cell_pixels() -> tuple[int, int]:
    """A cell's size in pixels as the terminal reports it (TIOCGWINSZ), else `CELL_PIXELS`."""
    stream = sys.__stdout__
    try:
        if stream is not None and stream.isatty():
            reply = fcntl.ioctl(stream.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
            rows, cols, width, height = struct.unpack("HHHH", reply)
            if rows and cols and width and height:
                return width // cols, height // rows
    except (OSError, ValueError):
        pass
    return CELL_PIXELS


def prepare() -> None:
    """Import textual-image quietly, tell it the cell size (its own fallback asks the terminal,
    which must not happen once Textual reads the input) and send its kitty sequences through
    `_send`."""
    global _prepared
    if _prepared:
        return
    _quiet_import()
    from textual_image._terminal import CellSize, get_cell_size
    from textual_image.renderable import tgp

    # get_cell_size keeps its answer here: set, it never asks the terminal.
    setattr(get_cell_size, "_result", CellSize(*_cell_pixels()))  # noqa: B010 (a function attribute)
    tgp._send_tgp_message = _send  # its uploads, placements and deletes all go through it
    _prepared = True


def _send(*, payload: str | None = None, **keys: int | str | None) -> None:
    """One kitty graphics command, as textual-image's own sender builds it, in tmux's passthrough
    inside tmux."""
    fields = ",".join(f"{k}={v}" for k, v in keys.items() if v is not None)
    sequence = f"{KITTY_START}{fields}{';' + payload if payload else ''}\x1b\\"
    _write(passthrough(sequence) if _in_tmux else sequence)


def kitty_lines(picture: Picture, size: int) -> tuple[tuple[Segment, ...], ...]:
    """`picture` as kitty Unicode placeholders, `size` cells wide and size/2 rows high like the
    half blocks (so every layout stays as it is); the picture is uploaded once, at its full
    resolution, and the terminal scales it to the cells, sharp at any size."""
    from PIL import Image
    from textual_image.renderable import tgp

    prepare()
    console = Console(width=size, height=size, color_system="truecolor")  # only its options are read
    image = Image.frombytes("L", (picture.width, picture.height), picture.pixels)
    renderable = tgp.Image(image, width=size, height=(size + 1) // 2)
    options = console.options.update(width=size, height=(size + 1) // 2)
    rows = [
        (Segment(segment.text.rstrip("\n"), segment.style),)
        for segment in renderable.__rich_console__(console, options)
        if isinstance(segment, Segment)
    ]
    return tuple(rows)
