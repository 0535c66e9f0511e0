"""Regenerate docs/browser.png: the dashboard in a browser, through a real `dae-tui serve`.

    python docs/make_browser_screenshot.py

Starts `dae-tui serve` on a free loopback port (a throwaway runs folder, bundled MNIST, 3 epochs of
4,000 images), opens it in headless Chromium (Debian's `chromium`) at 1200x800, presses `s` in the
page to train, waits for the run to finish and its notice to fade, and saves the Train tab as a PNG.
Takes about a minute on 2 cores.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from helpers.chromium import Browser, chromium_version  # noqa: E402
from helpers.serve import ServeProcess  # noqa: E402


def finished(runs: Path) -> bool:
    for status in runs.glob("*/status.json"):
        try:
            if json.loads(status.read_text()).get("status") == "finished":
                return True
        except (OSError, ValueError):
            pass
    return False


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        runs = work / "runs"
        flags = [
            "--dataset",
            "mnist",
            "--source",
            "bundled",
            "--train-limit",
            "4000",
            "--epochs",
            "3",
            "--runs-dir",
            str(runs),
        ]
        with ServeProcess(work, *flags) as server:
            print(f"page answered {server.wait_ready():.2f} s after dae-tui serve started")
            browser = Browser(1200, 800)
            try:
                await browser.start()
                opened = time.monotonic()
                await browser.open(server.url)
                await browser.wait_for_terminal()
                print(f"first bytes in the page {time.monotonic() - opened:.2f} s after opening it")
                await browser.settled_screenshot()
                await browser.press("s")
                deadline = time.monotonic() + 300
                while not finished(runs):
                    if time.monotonic() > deadline:
                        raise SystemExit("the run did not finish in 5 minutes")
                    await asyncio.sleep(0.5)
                await asyncio.sleep(8)  # the "Run finished" notice fades
                shot = await browser.settled_screenshot()
            finally:
                await browser.close()
    (HERE / "browser.png").write_bytes(shot)
    print(f"wrote {HERE / 'browser.png'} with {chromium_version()}")


if __name__ == "__main__":
    asyncio.run(main())
