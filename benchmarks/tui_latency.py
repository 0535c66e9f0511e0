"""How fast the real `dae-tui` appears and goes away, measured in a real terminal (tmux).

    python -m benchmarks.tui_latency [--runs 5]

1. Launch to first frame: from starting the command in tmux to the footer and idle state being on
   screen, against a minimal Textual app measured the same way (the reference); then again on a
   bare pseudo-terminal, timed to the byte that completes the frame (no tmux polling).
2. Quit mid-epoch: training Fashion-MNIST (Debian's full copy when installed, else the bundled
   sample), press q in the middle of an epoch, then s (stop it), and time from s until the process exited.
3. Quit while torch loads: s then q at the first frame, timed until the process exited; printed
   as a ratio to quitting mid-epoch.

Prints medians, min/max and the ratio to the reference. tmux polling adds up to ~10 ms to each figure.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "helpers"))
from tmux import TmuxSession  # noqa: E402

DAE_TUI = str(Path(sys.executable).with_name("dae-tui"))

REFERENCE_APP = """
from textual.app import App
from textual.widgets import Footer, Label
class Hello(App):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Label("● idle")
        yield Footer()
Hello().run()
"""


def first_frame(command: str, texts: tuple[str, ...]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        session = TmuxSession(command, Path(tmp), width=100, height=30)
        try:
            seconds = session.wait_for(*texts, timeout=30, interval=0.005)
            session.press("q")
            session.wait_exit()
            return seconds
        finally:
            session.close()


def first_frame_pty(argv: list[str], markers: tuple[bytes, ...], size: tuple[int, int] = (100, 30)) -> float:
    """The same on a bare pseudo-terminal: from fork to the moment the app has written every
    marker. No tmux server or polling in between, so the spread is the app's own."""
    import fcntl
    import os
    import pty
    import select
    import signal
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of `size`, then the app
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        os.execvpe(argv[0], argv, {**os.environ, "TERM": "xterm-256color"})
    start, seen = time.perf_counter(), b""
    try:
        while time.perf_counter() - start < 30:
            if select.select([fd], [], [], 0.5)[0]:
                seen += os.read(fd, 65536)
                if all(marker in seen for marker in markers):
                    return time.perf_counter() - start
        raise TimeoutError(f"{argv[:3]} never showed {markers}")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def first_frames_pty(runs: int) -> tuple[list[float], list[float]]:
    """(minimal app, dae-tui) first-frame seconds on a bare pty, alternating."""
    compile_package()
    ref, app = [], []
    for _ in range(runs):
        ref.append(first_frame_pty([sys.executable, "-c", REFERENCE_APP], (b"idle", b"Quit")))
        app.append(first_frame_pty([sys.executable, "-m", "dae_tui"], (b"idle", b"Quit", b"Dataset")))
    return ref, app


def quit_mid_epoch() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        command = shlex.join(
            [DAE_TUI, "--dataset", "fashion-mnist", "--epochs", "5", "--runs-dir", str(Path(tmp) / "runs")]
        )
        session = TmuxSession(command, Path(tmp), width=100, height=30)
        try:
            session.wait_for("● idle")
            session.press("s")
            session.wait_for("● training", "img/s", timeout=120)
            time.sleep(1.0)
            session.press("q")
            session.wait_for("s: stop it")  # quitting a run asks first; timed from the answer
            pressed = time.perf_counter()
            session.press("s")  # stop it (Enter would hand it over: benchmarks.handover)
            session.wait_exit(interval=0.005)
            return time.perf_counter() - pressed
        finally:
            session.close()


def quit_while_loading() -> float:
    """s then q at the first frame, while torch is still being imported: nothing to ask about."""
    with tempfile.TemporaryDirectory() as tmp:
        command = shlex.join([DAE_TUI, "--runs-dir", str(Path(tmp) / "runs")])
        session = TmuxSession(command, Path(tmp), width=100, height=30)
        try:
            session.wait_for("● idle", "Quit", interval=0.005)
            session.press("s")
            pressed = time.perf_counter()
            session.press("q")
            session.wait_exit(interval=0.005)
            return time.perf_counter() - pressed
        finally:
            session.close()


def compile_package() -> None:
    """Write dae_tui's bytecode, as any install does: textual's came with pip, and an editable
    checkout run with PYTHONDONTWRITEBYTECODE (set on the VM these figures come from) would
    otherwise compile every module at each launch (~50 ms) and the ratio would measure that."""
    import compileall

    import dae_tui

    compileall.compile_dir(str(Path(dae_tui.__file__).parent), quiet=1)


def first_frames(runs: int, log=None) -> tuple[list[float], list[float]]:
    """(minimal app, dae-tui) first-frame seconds, alternating so drift hits both alike."""
    compile_package()
    reference = shlex.join([sys.executable, "-c", REFERENCE_APP])
    ours = shlex.join([sys.executable, "-m", "dae_tui"])
    ref, app = [], []
    for r in range(runs):
        ref.append(first_frame(reference, ("● idle", "Quit")))
        app.append(first_frame(ours, ("● idle", "Quit", "Dataset")))
        if log:
            log(
                f"  round {r + 1}/{runs} first frame: minimal app {ref[-1] * 1000:.0f} ms, "
                f"dae-tui {app[-1] * 1000:.0f} ms"
            )
    return ref, app


def describe(name: str, values: list[float]) -> str:
    return (
        f"{name:<34} median {statistics.median(values) * 1000:7.0f} ms   "
        f"min {min(values) * 1000:5.0f}   max {max(values) * 1000:5.0f}   (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ref, app = first_frames(args.runs)
    pty_ref, pty_app = first_frames_pty(args.runs * 2)
    quits = [quit_mid_epoch() for _ in range(max(1, args.runs // 2))]
    loading = [quit_while_loading() for _ in range(args.runs)]
    print(describe("minimal Textual app, first frame", ref))
    print(describe("dae-tui, first frame", app))
    print(f"{'first-frame ratio dae-tui / minimal':<34} {statistics.median(app) / statistics.median(ref):.2f}x")
    print(describe("minimal app, first frame (pty)", pty_ref))
    print(describe("dae-tui, first frame (pty)", pty_app))
    print(f"{'first-frame ratio on a bare pty':<34} {statistics.median(pty_app) / statistics.median(pty_ref):.2f}x")
    print(describe("dae-tui, quit mid-epoch to exit", quits))
    print(describe("dae-tui, quit while torch loads", loading))
    print(f"{'ratio while loading / mid-epoch':<34} {statistics.median(loading) / statistics.median(quits):.2f}x")


if __name__ == "__main__":
    main()
