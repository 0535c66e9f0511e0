"""True pixels, probed for real: the app runs in a tmux pane with DAE_TUI_PICTURES=kitty, a tmux
client is attached inside a pty of ours, and the bytes tmux sends that client are read. With
`allow-passthrough on` the kitty graphics sequences (`ESC _G`) reach it; with it off the app
draws half blocks, its caption says why, and none do. At 80x24 and 200x60."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shlex
import shutil
import signal
import struct
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from helpers.tmux import TmuxSession

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

KITTY = b"\x1b_G"


class Client:
    """A tmux client attached to `session` in a pty of `width` x `height` cells; every byte tmux
    writes to it is kept in `received`."""

    def __init__(self, session: TmuxSession, width: int, height: int) -> None:
        self.received = bytearray()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its terminal
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, width * 10, height * 20))
            env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8"}
            env.pop("TMUX", None)
            os.execvpe("tmux", ["tmux", "-L", session.socket, "attach", "-t", "e2e"], env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.received += chunk

    def wait_for(self, data: bytes, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while data not in self.received:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{data!r} not received in {timeout} s ({len(self.received)} bytes came)")
            time.sleep(0.05)

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def open_on_images(session: TmuxSession, run: str) -> None:
    """Open `run` from the Runs tab (its pictures go to the Images tab) and show the Images tab."""
    session.press("r")
    session.wait_for(run[:10])
    session.press("Enter")
    session.wait_for("Opened")  # a key pressed before the table took the first one was lost under load
    session.press("i")


@pytest.mark.parametrize("width, height", [(80, 24), (200, 60)])
@pytest.mark.parametrize("passthrough", ["on", "off"])
def test_true_pixels_reach_the_terminal_through_tmux_only_with_passthrough_on(
    tmp_path, trained_run, passthrough, width, height
):
    runs = tmp_path / "runs"
    shutil.copytree(trained_run, runs / trained_run.name)
    config = tmp_path / "tmux.conf"
    # RGB: the placeholders' colour (the image's number) reaches the client as it is.
    config.write_text(f"set -g allow-passthrough {passthrough}\nset -as terminal-features ',xterm-256color:RGB'\n")
    dae_tui = str(Path(sys.executable).with_name("dae-tui"))
    command = shlex.join(["env", "DAE_TUI_PICTURES=kitty", "LANG=C.UTF-8", dae_tui, "--runs-dir", str(runs)])
    session = TmuxSession(command, tmp_path, width=width, height=height, config=config)
    client = None
    try:
        client = Client(session, width, height)
        session.wait_for("Start", "● idle")
        open_on_images(session, trained_run.name)
        if passthrough == "on":
            # The caption names the renderer (the run folder's path on screen holds no "kitty").
            named = "in kitty graphics" if width >= 200 else "px kitty"
            screen = session.wait_until(lambda text: "denoised" in text and named in text)
            client.wait_for(KITTY)
            assert chr(0x10EEEE) in screen and "▀" not in screen  # the placeholders, where half blocks were
            session.press("P")  # back to half blocks
            session.wait_until(lambda text: "▀" in text and named not in text and chr(0x10EEEE) not in text)
        else:
            wording = "halfblock (kitty off: tmux allow-passthrough is off)" if width >= 200 else "px halfblock"
            screen = session.wait_until(lambda text: wording in text and "denoised" in text and "▀" in text)
            session.press("P")  # asks for pixels: a notice says why there are none
            session.wait_for("No true pixels here")
            time.sleep(0.5)  # anything sent would have reached the client by now
            assert KITTY not in client.received and b"\x1bPtmux;" not in client.received
            assert chr(0x10EEEE) not in session.screen()
            session.press("l")  # the Log tab has the whole line
            session.wait_for("Pictures in half blocks: kitty off: tmux allow-passthrough is off.")
        assert len(client.received) > 1000  # the client did get the app's screens
        session.press("q")
        assert session.wait_exit() == 0
    finally:
        if client is not None:
            client.close()
        session.close()


def test_auto_asks_the_terminal_before_the_app_starts_and_keeps_the_keys(tmp_path, trained_run):
    """DAE_TUI_PICTURES=auto with no hint runs textual-image's queries (tmux answers the sixel
    one, without sixel, and drops kitty's): half blocks, said so, and the keys typed after work."""
    runs = tmp_path / "runs"
    shutil.copytree(trained_run, runs / trained_run.name)
    dae_tui = str(Path(sys.executable).with_name("dae-tui"))
    command = shlex.join(
        ["env", "-u", "KITTY_WINDOW_ID", "DAE_TUI_PICTURES=auto", "LANG=C.UTF-8", dae_tui, "--runs-dir", str(runs)]
    )
    session = TmuxSession(command, tmp_path, width=200, height=60)
    try:
        session.wait_for("Start", "● idle")
        open_on_images(session, trained_run.name)
        session.wait_until(lambda text: "halfblock (auto: no kitty nor sixel answer)" in text and "▀" in text)
        session.press("q")
        assert session.wait_exit() == 0
    finally:
        session.close()
