"""How long the dashboard's Runs tab takes to show a big runs folder, against reading it alone.

    python -m benchmarks.runs_tab                 # 3,000 runs of 10 epochs, 3 rounds (~2 min)
    python -m benchmarks.runs_tab --runs 500 --train-rounds 0

Writes synthetic run folders (the same as `benchmarks.runstore`), then, alternating, --rounds of:

  reference   list_runs() on the folder: reading and parsing every run, nothing drawn
  Runs tab    the real app (Textual's headless driver, 120x36): press r, until the table holds
              every run and has painted (the tab is composed on first visit, the poller reads the
              folder in its thread, the view formats every row once and the virtual table
              draws the lines on screen);
              measured once torch has loaded in the background, as a user would meet it

and prints the medians and their ratio. It also reports the event loop's worst lag while the
table fills (a task that sleeps 10 ms at a time, as benchmarks.tui_latency does), and a re-sort:
from `o` (the next sort column) to the repainted table, against the first showing.

Then, alternating, --train-rounds of a short training run in the app (Start on the Train tab
after the Runs tab has been shown, so its poller watches the folder the whole time) in an empty
runs folder (the reference) and in the big one: the training pass's images/s, and the ratio (the
target is >= 0.95x: polling must never slow training).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.runstore import write_runs
from dae_tui.core.config import TrainConfig
from dae_tui.runs.store import list_runs
from dae_tui.ui import DaeApp
from dae_tui.ui.panes.runs import RunsView


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
        start = time.perf_counter()
        await pilot.press("o")
        await pilot.pause()
        resort = time.perf_counter() - start
    return seconds, max(lags, default=0.0), resort


TRAIN = TrainConfig(dataset="mnist", source="bundled", train_limit=4000, batch_size=32, epochs=3, threads=1)


async def train_in_app(runs_dir: Path) -> float:
    """Images/s of the training passes of `TRAIN` in the app, its Runs tab polling `runs_dir`."""
    from dae_tui.core.events import EpochEnd, RunFailed, RunFinished
    from dae_tui.ui.messages import EngineEvent

    events: list = []

    def hook(message: object) -> None:
        if isinstance(message, EngineEvent):
            events.append(message.event)

    app = DaeApp(TRAIN, runs_dir=runs_dir)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        while not app.engine_loaded:
            await pilot.pause(0.05)
        await pilot.press("r")
        count = sum(1 for entry in runs_dir.iterdir() if entry.is_dir())
        while not (app.query(RunsView) and len(app.query_one("#runs-table").rows) >= count):
            await asyncio.sleep(0.05)  # filled: what is measured is polling, not the first showing
        await pilot.press("t", "s")
        while not any(isinstance(e, (RunFinished, RunFailed)) for e in events):
            await asyncio.sleep(0.1)
        app.training_idle.wait(30)
    failed = [e for e in events if isinstance(e, RunFailed)]
    if failed:
        raise RuntimeError(f"the run in the app failed: {failed[0].message}")
    return statistics.mean(e.images_per_s for e in events if isinstance(e, EpochEnd))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.runs_tab", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000, help="run folders to write (3000)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs in each run's metrics (10)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each; the median counts (3)")
    parser.add_argument(
        "--train-rounds",
        type=int,
        default=1,
        help="training runs in the app in each folder, empty and big (1; 0: none)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(tmp) / "runs"
        write_runs(runs_dir, args.runs, args.epochs)
        reference, tab, lag, resort = [], [], [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            assert len(list_runs(runs_dir)) == args.runs
            reference.append(time.perf_counter() - start)
            seconds, worst, sort_s = asyncio.run(tab_seconds(runs_dir, args.runs))
            tab.append(seconds)
            lag.append(worst)
            resort.append(sort_s)
        empty_speed, big_speed = [], []
        for i in range(args.train_rounds):
            empty = Path(tmp) / f"empty-{i}"
            empty.mkdir()
            empty_speed.append(asyncio.run(train_in_app(empty)))
            big_speed.append(asyncio.run(train_in_app(runs_dir)))
    ref_ms, tab_ms = statistics.median(reference) * 1000, statistics.median(tab) * 1000
    sort_ms = statistics.median(resort) * 1000
    print(f"{args.runs} runs x {args.epochs} epochs, median of {args.rounds}")
    print("| figure | reference (list_runs) | Runs tab | ratio |")
    print("|---|---|---|---|")
    print(f"| r to a painted table | {ref_ms:.0f} ms | {tab_ms:.0f} ms | {tab_ms / ref_ms:.1f}x |")
    print(f"| worst event-loop lag while it fills | | {statistics.median(lag):.0f} ms | |")
    print(
        f"| re-sort (o) to a painted table | {tab_ms:.0f} ms (first showing) | {sort_ms:.0f} ms | "
        f"{sort_ms / tab_ms:.2f}x |"
    )
    if empty_speed:
        empty_ips, big_ips = statistics.median(empty_speed), statistics.median(big_speed)
        print(
            f"| training img/s in the app, empty folder vs {args.runs} runs | {empty_ips:,.0f} | "
            f"{big_ips:,.0f} | {big_ips / empty_ips:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
