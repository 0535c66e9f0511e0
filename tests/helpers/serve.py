"""A real `dae-tui serve` for the browser tests: a process of its own, in a session (and process group)
of its own, so that closing it takes every tab's dashboard with it whatever the test did; and what a
browser tab does over the websocket, with aiohttp's client (textual-serve's own dependency).

Shared by tests/e2e/test_serve.py and docs/make_browser_screenshot.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

DAE_TUI = str(Path(sys.executable).with_name("dae-tui"))

_CONTROL = re.compile(r"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


def free_port() -> int:
    """A loopback TCP port nobody listens on (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def screen_text(data: bytes) -> str:
    """What a tab's output bytes say, its escape sequences taken out."""
    return _CONTROL.sub("", data.decode("utf-8", "replace"))


def _stat(pid: int | str) -> list[str] | None:
    """/proc/PID/stat's fields after the command's name (state, ppid, ...); None when it is gone.
    The name may hold spaces and parentheses, so the split is after the last ')'."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Whether `pid` runs: a zombie has left (only its parent has not read its status yet)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def children(pid: int) -> list[int]:
    """The running processes whose parent is `pid` (each tab's dashboard, for the server)."""
    found = []
    for entry in Path("/proc").iterdir():
        fields = _stat(entry.name) if entry.name.isdigit() else None
        if fields is not None and int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


class ServeProcess:
    """`dae-tui serve --port PORT FLAGS...`, its stdout and stderr in files under `workdir`."""

    def __init__(self, workdir: Path, *flags: str, port: int | None = None, host: str = "127.0.0.1"):
        """`host`: where the page is fetched (give --host among `flags` too)."""
        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}/"
        self.stderr_path = workdir / f"serve-{self.port}.err"
        self.stdout_path = workdir / f"serve-{self.port}.out"
        self.started = time.monotonic()
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [DAE_TUI, "serve", "--port", str(self.port), *flags],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> float:
        """Wait until the page answers; the seconds since the process started."""

        def answers() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"dae-tui serve exited {self.proc.returncode}: {self.stderr()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    return bool(response.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        wait_until(answers, timeout, f"{self.url} to answer")
        return time.monotonic() - self.started

    def tabs(self) -> list[int]:
        """The dashboards running for its tabs: the server's child processes."""
        return children(self.proc.pid)

    def close(self) -> None:
        """End the server and everything in its process group (each tab's dashboard), for good."""
        for signum, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, signum)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
            # The server is gone; what it started may not be yet.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Tab:
    """A browser tab's side of the websocket, as textual-serve's page speaks it: JSON text
    messages in (["stdin", keys], ["resize", {"width", "height"}], ["ping", n]), the screen out
    as binary frames of terminal bytes, and JSON text for the rest (["pong", n])."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.output = bytearray()

    async def send(self, kind: str, data: Any = None) -> None:
        await self.ws.send_str(json.dumps([kind] if data is None else [kind, data]))

    async def wait_for(self, *words: str, timeout: float = 60) -> str:
        """Read the screen until every one of `words` has appeared in what came since the last call."""
        import aiohttp

        start = len(self.output)
        deadline = time.monotonic() + timeout
        while True:
            text = screen_text(bytes(self.output[start:]))
            if all(word in text for word in words):
                return text
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {words!r}; the tab last read: {text[-2000:]!r}")
            try:
                message = await self.ws.receive(timeout=min(left, 1.0))
            except asyncio.TimeoutError:
                continue
            if message.type == aiohttp.WSMsgType.BINARY:
                self.output += message.data
            elif message.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"the websocket closed ({message.type!r}) before {words!r} came")
