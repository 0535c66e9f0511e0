"""`dae-tui serve` for real: the process, its page over HTTP, a tab over the websocket, the signals
that end it, and headless Chromium opening the dashboard. Offline: everything is on loopback.

Every server runs in a process group of its own (`helpers.serve.ServeProcess`), ended with its
tabs' dashboards at the end of each test whatever happened in it; so does Chromium.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers.chromium import CHROMIUM, Browser
from helpers.serve import ServeProcess, Tab, alive, wait_until

pytestmark = pytest.mark.e2e


def fetch(url: str, host: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def test_the_page_is_textual_serves_and_sigterm_ends_it(tmp_path):
    with ServeProcess(tmp_path, "--runs-dir", str(tmp_path / "runs")) as server:
        server.wait_ready()
        status, page = fetch(server.url)
        assert status == 200
        # textual-serve's page: its terminal element, its script, and the websocket to this port.
        assert 'class="textual-terminal"' in page and "/static/js/textual.js" in page
        assert f'data-session-websocket-url="ws://127.0.0.1:{server.port}/ws"' in page
        assert "dae-tui" in page  # the title on its intro card
        status, script = fetch(f"{server.url}static/js/textual.js")
        assert status == 200 and "WebSocket" in script
        # Through a tunnel to another local port, the page names the websocket as the browser saw it.
        status, page = fetch(server.url, host=f"localhost:{server.port + 1}")
        assert status == 200 and f'data-session-websocket-url="ws://localhost:{server.port + 1}/ws"' in page
        # A name that is not loopback is another site pointed at 127.0.0.1 (DNS rebinding).
        status, body = fetch(server.url, host=f"evil.example:{server.port}")
        assert status == 403 and "not a loopback address" in body
        lines = server.stderr().splitlines()
        assert lines[0] == (
            f"dae-tui serve: the dashboard at http://127.0.0.1:{server.port}/ (each browser tab "
            "gets its own; Ctrl-C stops)"
        )
        assert f"ssh -L {server.port}:127.0.0.1:{server.port} user@host" in lines[1]
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 143
        err = server.stderr()
        assert err.rstrip().splitlines()[-1] == "dae-tui serve: stopped by SIGTERM"
        assert "Traceback" not in err
        assert server.stdout_path.read_text() == ""


async def test_a_tab_over_the_websocket_drives_the_dashboard(tmp_path):
    import aiohttp

    runs = tmp_path / "runs"
    with ServeProcess(tmp_path, "--dataset", "mnist", "--runs-dir", str(runs), "--epochs", "3") as server:
        server.wait_ready()
        async with aiohttp.ClientSession() as session:
            # As textual-serve's page connects: the size in the URL, then a resize message.
            async with session.ws_connect(f"ws://127.0.0.1:{server.port}/ws?width=120&height=36") as ws:
                tab = Tab(ws)
                await tab.send("resize", {"width": 120, "height": 36})
                await tab.wait_for("Train (t)", "Start", "idle")
                (dashboard,) = server.tabs()
                # The ordinary dashboard, with the flags serve was given.
                words = cmdline(dashboard)
                assert words[1:3] == ["-m", "dae_tui"]
                assert sorted(words[3:]) == sorted(["--dataset=mnist", f"--runs-dir={runs}", "--epochs=3"])
                await tab.send("stdin", "?")
                await tab.wait_for("dae-tui keys")
                await tab.send("stdin", "\x1b")  # the help closes
                await asyncio.sleep(0.5)  # a lone Esc, not the start of Alt+r
                await tab.send("stdin", "r")
                await tab.wait_for("No runs yet")
                await tab.send("ping", "42")
                reply = await ws.receive(timeout=30)
                while reply.type == aiohttp.WSMsgType.BINARY:
                    reply = await ws.receive(timeout=30)
                assert json.loads(reply.data) == ["pong", "42"]
            # The tab closed: its dashboard leaves.
            await asyncio.to_thread(wait_until, lambda: not alive(dashboard), 30, "the tab's dashboard to leave")
            # A page of another site may not drive the dashboard through the user's browser.
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"ws://127.0.0.1:{server.port}/ws", origin="http://evil.example")
            assert refused.value.status == 403
            assert server.tabs() == []
        assert server.proc.poll() is None


async def test_a_closed_tab_leaves_its_run_training_and_the_next_tab_attaches(tmp_path):
    """A closed tab is a dashboard that left (issue 20): its run goes on in a background process,
    and the next tab's dashboard says so and attaches to it with A."""
    import aiohttp

    runs = tmp_path / "runs"
    flags = (
        "--dataset",
        "mnist",
        "--source",
        "bundled",
        "--train-limit",
        "4000",
        "--batch-size",
        "16",
        "--threads",
        "1",
        "--epochs",
        "40",
        "--runs-dir",
        str(runs),
    )
    background = None
    with ServeProcess(tmp_path, *flags) as server:
        server.wait_ready()
        try:
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"ws://127.0.0.1:{server.port}/ws?width=100&height=30") as ws:
                    tab = Tab(ws)
                    await tab.send("resize", {"width": 100, "height": 30})
                    await tab.wait_for("Start", "idle")
                    (dashboard,) = server.tabs()
                    await tab.send("stdin", "s")
                    await tab.wait_for("training", timeout=120)
                    run_dir = await asyncio.to_thread(
                        wait_until, lambda: next(iter(runs.glob("*/run.lock")), None), 60, "the run to start"
                    )
                # The tab closed mid-run: the run is handed over, the tab's dashboard leaves.
                await asyncio.to_thread(wait_until, lambda: not alive(dashboard), 60, "the tab's dashboard to leave")

                def new_owner():
                    try:
                        pid = json.loads(run_dir.read_text()).get("pid")
                    except (OSError, ValueError):
                        return None
                    return pid if pid not in (None, dashboard) and alive(pid) else None

                background = await asyncio.to_thread(wait_until, new_owner, 60, "a background process to take the run")
                async with session.ws_connect(f"ws://127.0.0.1:{server.port}/ws?width=100&height=30") as ws:
                    tab = Tab(ws)
                    await tab.send("resize", {"width": 100, "height": 30})
                    await tab.wait_for("1 run training in the background", timeout=60)
                    await tab.send("stdin", "A")
                    await tab.wait_for("training", "img/s", timeout=60)
        finally:
            if background is not None and alive(background):
                os.kill(background, signal.SIGTERM)
                await asyncio.to_thread(wait_until, lambda: not alive(background), 60, "the background run to stop")


async def test_a_tab_closed_before_the_first_frame_still_leaves(tmp_path):
    # A page reloaded at once: the size and a resize, then the tab closes before the dashboard has
    # drawn. Textual 8.2's app then spins in layout for good; the tab's driver ends the process.
    import aiohttp

    with ServeProcess(tmp_path, "--runs-dir", str(tmp_path / "runs")) as server:
        server.wait_ready()
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://127.0.0.1:{server.port}/ws?width=133&height=39") as ws:
                await Tab(ws).send("resize", {"width": 133, "height": 44})
                # Closed as soon as the process is there: it has not drawn yet (Python and
                # Textual take a good half-second to load).
                (dashboard,) = wait_until(server.tabs, 30, "the tab's dashboard to start")
            await asyncio.to_thread(wait_until, lambda: not alive(dashboard), 60, "the dashboard to leave")
        assert server.proc.poll() is None


@pytest.mark.parametrize(
    "signum, code",
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)],
    ids=["SIGINT", "SIGTERM", "SIGKILL"],
)
async def test_a_signal_ends_the_server_and_every_tabs_dashboard(tmp_path, signum, code):
    import aiohttp

    with ServeProcess(tmp_path, "--runs-dir", str(tmp_path / "runs")) as server:
        server.wait_ready()
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://127.0.0.1:{server.port}/ws?width=100&height=30") as ws:
                tab = Tab(ws)
                await tab.wait_for("Train (t)")
                (dashboard,) = server.tabs()
                os.kill(server.proc.pid, signum)  # the server alone, as `kill` would
                # As a browser does, the tab reads on until the server closes it (or the
                # connection ends): the server's close waits for the tab's answer.
                while (await ws.receive(timeout=60)).type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                    pass
                assert await asyncio.to_thread(server.proc.wait, 60) == code
                # Stopped by a signal, the server closed the tab and its dashboard left; killed
                # (no goodbye), the dashboard leaves by itself once its input is gone.
                await asyncio.to_thread(wait_until, lambda: not alive(dashboard), 30, "the dashboard to leave")
        if signum != signal.SIGKILL:
            name = signal.Signals(signum).name
            assert server.stderr().rstrip().splitlines()[-1] == f"dae-tui serve: stopped by {name}"
            assert f"dae-tui serve: {name}: closing every tab's dashboard" in server.stderr()
            assert "Traceback" not in server.stderr()


def test_allow_remote_serves_another_address_and_warns(tmp_path):
    # 127.0.0.2 answers on this machine only, but is not one of the names serve takes as loopback.
    with ServeProcess(
        tmp_path, "--host", "127.0.0.2", "--allow-remote", "--runs-dir", str(tmp_path / "runs"), host="127.0.0.2"
    ) as server:
        server.wait_ready()
        status, page = fetch(server.url)
        assert status == 200 and f"ws://127.0.0.2:{server.port}/ws" in page
        first = server.stderr().splitlines()[0]
        assert first.startswith(
            "dae-tui serve: warning: listening on 127.0.0.2, not loopback: anyone who reaches "
            f"port {server.port} controls the dashboard and its runs"
        )
        assert f"ssh -L {server.port}:127.0.0.2:{server.port}" in server.stderr()


def judge_screenshot(png: bytes) -> dict[str, float]:
    """What tells the screenshot's story: the shares of Textual's dark greys (the dashboard) and of
    textual-serve's blue-black page behind its intro card, and the pixels of the footer's orange key
    letters and of the blue line under the active tab."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    total = image.width * image.height
    colours = image.getcolors(maxcolors=total) or []
    return {
        "grey": sum(n for n, (r, g, b) in colours if r == g == b and r < 64) / total,
        "intro": sum(n for n, c in colours if c in ((12, 24, 31), (18, 35, 45))) / total,
        "orange": sum(n for n, (r, g, b) in colours if r > 200 and 100 < g < 200 and b < 100),
        "blue": sum(n for n, (r, g, b) in colours if b > 150 and b - r > 120 and b - g > 50),
    }


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
async def test_chromium_opens_the_dashboard_and_types_into_it(tmp_path):
    with ServeProcess(tmp_path, "--runs-dir", str(tmp_path / "runs")) as server:
        server.wait_ready()
        browser = Browser(1200, 800)
        try:
            await browser.start()
            await browser.open(server.url)
            await browser.wait_for_terminal()
            train = await browser.settled_screenshot()
            (tmp_path / "train.png").write_bytes(train)
            shares = judge_screenshot(train)
            # The dashboard fills the page: its greys, not the intro card, and its footer keys.
            assert shares["grey"] > 0.6 and shares["intro"] < 0.05, shares
            assert shares["orange"] > 100 and shares["blue"] > 100, shares
            (dashboard,) = server.tabs()  # the page started a session: a dashboard of its own
            assert cmdline(dashboard)[1:3] == ["-m", "dae_tui"]
            await browser.press("?")  # a key typed in the page reaches the dashboard
            keys = await browser.settled_screenshot()
            (tmp_path / "help.png").write_bytes(keys)
            assert keys != train
            await browser.close_tab()
            await asyncio.to_thread(wait_until, lambda: not alive(dashboard), 30, "the tab's dashboard to leave")
        finally:
            await browser.close()
        log = " ".join(server.stderr().split())  # the log wraps at 80 columns
        assert '"GET /ws?width=' in log and 'HTTP/1.1" 101' in log
