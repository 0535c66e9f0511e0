"""What the dashboard costs training, and how responsive it stays while training.

Used by `python -m benchmarks.run`. The same short run trains inside the real app (Textual's
headless driver, 100x30, the app's own worker thread) and through the engine alone (a plain
thread consuming `Trainer.run()`), alternating. Throughput is the engine's own images/s over the
training passes. While the app trains, a probe task on its event loop sleeps 20 ms at a time and
records how late it woke: that lateness is what a key press or a repaint waits.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from dae_tui.core.config import TrainConfig

PROBE_INTERVAL_S = 0.02
SIZE = (100, 30)


@dataclass
class TuiRun:
    """One run's training throughput and, for the app, its event-loop lag samples."""

    images_per_s: float
    lags_ms: list[float] = field(default_factory=list)
    ui_cpu_share: float = 0.0
    """CPU seconds the app's main thread used while training, per wall second."""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def _throughput(epoch_ends: list) -> float:
    """Images per second over the training passes (evaluation excluded), all epochs together."""
    return statistics.mean(e.images_per_s for e in epoch_ends)


async def _in_app(config: TrainConfig) -> TuiRun:
    from dae_tui.core.events import EpochEnd, RunFailed, RunFinished, RunStarted
    from dae_tui.ui import DaeApp
    from dae_tui.ui.messages import EngineEvent

    events: list = []

    def hook(message: object) -> None:
        if isinstance(message, EngineEvent):
            events.append(message.event)

    def done() -> bool:
        return any(isinstance(e, (RunFinished, RunFailed)) for e in events)

    lags: list[float] = []
    cpu: list[float] = []

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        cpu_start, wall_start = time.thread_time(), time.perf_counter()
        while not done():
            due = loop.time() + PROBE_INTERVAL_S
            await asyncio.sleep(PROBE_INTERVAL_S)
            lags.append((loop.time() - due) * 1000)
        wall = time.perf_counter() - wall_start
        cpu.append((time.thread_time() - cpu_start) / wall if wall > 0.5 else float("nan"))

    with tempfile.TemporaryDirectory() as runs:
        app = DaeApp(config, runs_dir=Path(runs))
        async with app.run_test(size=SIZE, message_hook=hook) as pilot:
            await pilot.press("s")
            while not any(isinstance(e, RunStarted) for e in events) and not done():
                await asyncio.sleep(0.05)
            task = asyncio.create_task(probe())
            while not done():
                # Not pilot.pause(): that forces a full screen update on every call, which is
                # the harness's own cost, not the app's.
                await asyncio.sleep(0.1)
            await task
            app.training_idle.wait(30)
    failed = [e for e in events if isinstance(e, RunFailed)]
    if failed:
        raise RuntimeError(f"the run in the app failed: {failed[0].message}")
    return TuiRun(_throughput([e for e in events if isinstance(e, EpochEnd)]), lags, cpu[0])


def _engine_alone(config: TrainConfig) -> TuiRun:
    from dae_tui.core.events import EpochEnd, RunFailed
    from dae_tui.training.trainer import Trainer

    events: list = []
    with tempfile.TemporaryDirectory() as runs:
        thread = threading.Thread(target=lambda: events.extend(Trainer(config, runs_dir=runs).run()))
        thread.start()
        thread.join()
    failed = [e for e in events if isinstance(e, RunFailed)]
    if failed:
        raise RuntimeError(f"the engine run failed: {failed[0].message}")
    return TuiRun(_throughput([e for e in events if isinstance(e, EpochEnd)]))


def compare_tui(config: TrainConfig, rounds: int, log=print) -> tuple[list[TuiRun], list[TuiRun]]:
    """(app runs, engine-alone runs), alternating app and engine `rounds` times."""
    import dae_tui.training.trainer  # noqa: F401 - import torch before any timing

    app_runs, engine_runs = [], []
    for r in range(rounds):
        start = time.perf_counter()
        app_runs.append(asyncio.run(_in_app(config)))
        log(
            f"  round {r + 1}/{rounds} in the app: {app_runs[-1].images_per_s:,.0f} img/s, UI thread "
            f"{app_runs[-1].ui_cpu_share:.0%} of a core ({time.perf_counter() - start:.1f} s)"
        )
        engine_runs.append(_engine_alone(config))
        log(f"  round {r + 1}/{rounds} engine alone: {engine_runs[-1].images_per_s:,.0f} img/s")
    return app_runs, engine_runs
