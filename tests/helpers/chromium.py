"""Headless Chromium driven over the DevTools protocol (aiohttp's websocket client): open a page,
wait for textual-serve's terminal to get its first bytes, type keys, take screenshots.

`--screenshot` alone cannot wait for the dashboard: the page has loaded (and the shot is taken)
before the websocket has carried a byte, so the test and docs/make_browser_screenshot.py drive it
instead. Chromium runs in a session of its own, with a throwaway profile, and `close` ends its
whole process group.

Shared by tests/e2e/test_serve.py and docs/make_browser_screenshot.py.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
"""Debian's `chromium` package (`apt-get install chromium`); None when it is not installed."""


def chromium_version() -> str:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()


class Browser:
    """One headless Chromium with one page, `width` x `height` CSS pixels."""

    def __init__(self, width: int = 1200, height: int = 800) -> None:
        assert CHROMIUM is not None, "chromium is not installed"
        self.profile = Path(tempfile.mkdtemp(prefix="dae-tui-chromium-"))
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.size = (width, height)
        self._session: Any = None
        self._ws: Any = None
        self._id = 0
        self._devtools = ""
        self._page = ""

    async def start(self, timeout: float = 60) -> None:
        import aiohttp

        port_file = self.profile / "DevToolsActivePort"  # Chromium writes its port there
        deadline = time.monotonic() + timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                raise AssertionError(f"chromium exited {self.proc.returncode} at start")
            if time.monotonic() > deadline:
                raise AssertionError("chromium did not open its DevTools port")
            await asyncio.sleep(0.05)
        self._devtools = f"http://127.0.0.1:{int(port_file.read_text().split()[0])}"
        self._session = aiohttp.ClientSession()
        async with self._session.get(f"{self._devtools}/json/list") as response:
            targets = await response.json()
        page = next(target for target in targets if target["type"] == "page")
        self._page = page["id"]
        self._ws = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        width, height = self.size
        await self.call(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
        )

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; its result (events that come meanwhile are dropped)."""
        self._id += 1
        await self._ws.send_json({"id": self._id, "method": method, "params": params})
        while True:
            message = await self._ws.receive_json(timeout=60)
            if message.get("id") == self._id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    async def js(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def open(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def wait_for_terminal(self, timeout: float = 60) -> None:
        """Until textual-serve's page has had its first bytes from the app (it then hides its intro)."""
        deadline = time.monotonic() + timeout
        while not await self.js("!!document.body && document.body.classList.contains('-first-byte')"):
            if time.monotonic() > deadline:
                raise AssertionError("the page never got a byte from the dashboard")
            await asyncio.sleep(0.1)

    async def screenshot(self) -> bytes:
        return base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])

    async def settled_screenshot(self, timeout: float = 30, pause: float = 0.5) -> bytes:
        """A screenshot once two in a row, `pause` apart, are the same (the dashboard has drawn)."""
        deadline = time.monotonic() + timeout
        last = await self.screenshot()
        while time.monotonic() < deadline:
            await asyncio.sleep(pause)
            shot = await self.screenshot()
            if shot == last:
                return shot
            last = shot
        return last

    async def press(self, key: str) -> None:
        """Type one printable key into the terminal (its hidden textarea, as a user's typing goes)."""
        await self.js("document.querySelector('.xterm-helper-textarea').focus()")
        await self.call("Input.dispatchKeyEvent", type="keyDown", key=key, text=key)
        await self.call("Input.dispatchKeyEvent", type="keyUp", key=key)

    async def close_tab(self) -> None:
        """Close the page, as a user closes the tab (leaving it for another page may keep it, and
        its websocket, in the back-forward cache)."""
        await self._ws.close()
        self._ws = None
        async with self._session.get(f"{self._devtools}/json/close/{self._page}") as response:
            assert response.status == 200, await response.text()

    async def close(self) -> None:
        try:
            if self._ws is not None:
                await self._ws.close()
            if self._session is not None:
                await self._session.close()
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(30)
            shutil.rmtree(self.profile, ignore_errors=True)
