"""Pictures on terminals that cannot show half blocks, in tmux with the real environment variables:
a C locale gets the ASCII ramp, 16 colours (TERM=xterm, TEXTUAL_COLOR_SYSTEM=standard) the
shade ramp, and the caption names it; at 80x24 and 200x60."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import pytest
from helpers.tmux import TmuxSession

from dae_tui.ui.halfblock import ASCII_RAMP, SHADE_RAMP

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ENVIRONMENTS = {
    "ascii": ("LANG=C", "LC_ALL=C", "TERM=xterm-256color"),
    "shade": ("-u", "COLORTERM", "LANG=C.UTF-8", "TERM=xterm"),  # TmuxSession sets COLORTERM
    "shade-standard": ("LANG=C.UTF-8", "TERM=xterm-256color", "TEXTUAL_COLOR_SYSTEM=standard"),
}


@pytest.mark.parametrize("width, height", [(80, 24), (200, 60)])
@pytest.mark.parametrize("case", list(ENVIRONMENTS))
def test_a_fallback_renderer_draws_the_pictures_and_says_so(tmp_path, trained_run, case, width, height):
    runs = tmp_path / "runs"
    shutil.copytree(trained_run, runs / trained_run.name)
    dae_tui = str(Path(sys.executable).with_name("dae-tui"))
    # `env` in the pane's command: tmux sets TERM in a pane itself, so it is given here.
    command = shlex.join(["env", *ENVIRONMENTS[case], dae_tui, "--runs-dir", str(runs)])
    name = case.split("-")[0]
    ramp = ASCII_RAMP if name == "ascii" else SHADE_RAMP
    session = TmuxSession(command, tmp_path, width=width, height=height)
    try:
        session.wait_for("Start", "● idle")
        session.press("r")
        session.wait_for(trained_run.name[:10])
        session.press("Enter")  # open the run: its pictures go to the Images tab
        session.press("i")
        wording = ("in ASCII shades" if name == "ascii" else "in shade characters") if width >= 200 else f"px {name}"
        screen = session.wait_until(
            # The "Opened" notice (Textual's, its border a "▌") covers the pictures' right end at first.
            lambda text: (
                wording in text and "denoised" in text and "Opened" not in text and sum(map(text.count, ramp[1:])) > 200
            )
        )
        pictures = [line for line in screen.splitlines() if line.startswith(("clean", "noisy", "denoised"))]
        assert pictures and "▀" not in screen
        if name == "ascii":
            assert [line for line in pictures if not line.isascii()] == []
        session.press("q")
        assert session.wait_exit() == 0
    finally:
        session.close()
