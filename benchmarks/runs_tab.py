"""How long the dashboard's Runs tab takes to show a big runs folder, against reading it alone.

    python -m benchmarks.runs_tab                 # 500 runs of 10 epochs, 3 rounds (~30 s)
    python -m benchmarks.runs_tab --runs 2000

Writes synthetic run folders (the same as `benchmarks.runstore`), then, alternating, --rounds of:

  reference   list_runs() on the folder: reading and parsing every run, nothing drawn
  Runs tab    the real app (Textual's headless driver, 120x36): press r, until the table holds
              every run and has painted (the tab is composed on first visit, the poller reads the
              folder in its thread, the table fills a screenful at once, then in chunks);
              measured once torch has loaded in the background, as a user would meet it

and prints the medians and their ratio. It also reports the event loop's worst lag while the
table fills (a task that sleeps 10 ms at a time, as benchmarks.tui_latency does).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.runstore import write_runs
from dae_tui.app import DaeApp
from dae_tui.app.widgets.runs_view import RunsView
from dae_tui.config import TrainConfig
from dae_tui.engine.runstore import list_runs


async def tab_seconds(runs_dir: Path, count: int) -> tuple[float, float]:
    """(seconds from r to a painted table of `count` runs, worst event-loop lag in ms)."""
    app = DaeApp(TrainConfig(), runs_dir=runs_dir)
    lags: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        # torch loads in a thread at start-up and holds the GIL in long stretches: measure after.
        while not app.engine_loaded:
            await pilot.pause(0.05)
        await pilot.pause(0.2)

        async def probe() -> None:
            while True:
                start = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append((time.perf_counter() - start - 0.01) * 1000)

        task = asyncio.create_task(probe())
        start = time.perf_counter()
        await pilot.press("r")
        while not (app.query(RunsView) and len(app.query_one("#runs-table").rows) >= count):
            await asyncio.sleep(0.02)
        await pilot.pause()  # the paint after the table filled
        seconds = time.perf_counter() - start
        task.cancel()
    return seconds, max(lags, default=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.runs_tab", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="run folders to write (500)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs in each run's metrics (10)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each; the median counts (3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(tmp) / "runs"
        write_runs(runs_dir, args.runs, args.epochs)
        reference, tab, lag = [], [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            assert len(list_runs(runs_dir)) == args.runs
            reference.append(time.perf_counter() - start)
            seconds, worst = asyncio.run(tab_seconds(runs_dir, args.runs))
            tab.append(seconds)
            lag.append(worst)
    ref_ms, tab_ms = statistics.median(reference) * 1000, statistics.median(tab) * 1000
    print(f"{args.runs} runs x {args.epochs} epochs, median of {args.rounds}")
    print("| figure | reference (list_runs) | Runs tab | ratio |")
    print("|---|---|---|---|")
    print(f"| r to a painted table | {ref_ms:.0f} ms | {tab_ms:.0f} ms | {tab_ms / ref_ms:.1f}x |")
    print(f"| worst event-loop lag while it fills | | {statistics.median(lag):.0f} ms | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
