"""A real terminal for end-to-end checks: the program runs in a private tmux server.

Shared by the end-to-end test and the latency benchmark.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path


class TmuxSession:
    """One detached tmux session on its own server socket, running one shell command."""

    def __init__(
        self,
        command: str,
        workdir: Path,
        width: int = 100,
        height: int = 30,
        hold: bool = False,
        config: Path | None = None,
    ) -> None:
        """`hold`: keep the pane open after the command ends, to read what it left on screen;
        `config`: the server's configuration file, read before the command starts."""
        if not shutil.which("tmux"):
            raise FileNotFoundError("tmux")
        self.socket = f"dae-tui-{os.getpid()}-{time.monotonic_ns()}"
        self.exit_file = workdir / "exit-code"
        wrapped = f"{command}; echo $? > {shlex.quote(str(self.exit_file))}"
        if hold:
            wrapped += "; sleep 120"
        env = {**os.environ, "COLORTERM": "truecolor"}
        self.started = time.perf_counter()
        self._tmux(
            *(("-f", str(config)) if config else ()),
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            str(width),
            "-y",
            str(height),
            f"bash -c {shlex.quote(wrapped)}",
            env=env,
        )

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, env=env)
        return result.stdout

    def screen(self) -> str:
        """The visible pane as text."""
        return self._tmux("capture-pane", "-p", "-t", "e2e")

    def press(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "e2e", *keys)

    def drag(self, points: list[tuple[int, int]], button: int = 0) -> None:
        """Press mouse `button` (0 left, 2 right) at the first of `points` (0-based column, row),
        move through the rest with it held and release it at the last: the SGR mouse reports a
        terminal sends, typed into the pane as they are."""
        (x, y), *rest = points
        reports = [f"\x1b[<{button};{x + 1};{y + 1}M"]
        reports += [f"\x1b[<{button + 32};{px + 1};{py + 1}M" for px, py in rest]
        last_x, last_y = points[-1]
        reports.append(f"\x1b[<{button};{last_x + 1};{last_y + 1}m")
        for report in reports:
            self._tmux("send-keys", "-t", "e2e", "-l", report)

    def wait_for(self, *texts: str, timeout: float = 60.0, interval: float = 0.01) -> float:
        """Wait until every text is on screen; seconds since the session started."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            screen = self.screen()
            if all(t in screen for t in texts):
                return time.perf_counter() - self.started
            time.sleep(interval)
        raise TimeoutError(f"{texts} not on screen after {timeout} s:\n{self.screen()}")

    def wait_until(self, check, timeout: float = 30.0, interval: float = 0.05) -> str:
        """Wait until `check(screen)` is true; the screen it was true on."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(interval)
        raise TimeoutError(f"condition not met after {timeout} s:\n{self.screen()}")

    def wait_exit(self, timeout: float = 30.0, interval: float = 0.01) -> int:
        """Wait for the command to end; its exit code."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.exit_file.exists() and self.exit_file.read_text().strip():
                return int(self.exit_file.read_text())
            time.sleep(interval)
        raise TimeoutError(f"still running after {timeout} s:\n{self.screen()}")

    def close(self) -> None:
        self._tmux("kill-server")
