"""How long a run is without an owner when its dashboard leaves (issue 20), in a real terminal.

    python -m benchmarks.handover [--rounds 3]

The real `dae-tui` in tmux (100x30) trains the bundled MNIST sample (4,000 images, batch 16, one
thread); once its first epoch is saved it is left, --rounds times each way:

  quit   q, then Enter (keep training in the background): timed from sending Enter
  hangup tmux's server killed (the terminal goes: a real SIGHUP): timed from the kill

until run.lock names the new background process (it takes the folder before it imports torch,
`runs.handover.take_over`), and again until that process has trained its first batch (live.json
shows a batch past the one it took over at). Prints the medians and their ratio to the budget:
under 2 s from the key or the signal to the new process owning the run folder. The background
processes are stopped (SIGTERM, their checkpoint kept) after each round.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "helpers"))
from tmux import TmuxSession  # noqa: E402

from dae_tui.runs.files import pid_alive  # noqa: E402

DAE_TUI = str(Path(sys.executable).with_name("dae-tui"))
FLAGS = [
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
    "50",
]
BUDGET_S = 2.0


def _read(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def one_round(how: str, workdir: Path) -> tuple[float, float]:
    """(seconds to the new owner, seconds to its first batch) for one hand-over."""
    runs = workdir / "runs"
    session = TmuxSession(shlex.join([DAE_TUI, *FLAGS, "--runs-dir", str(runs)]), workdir)
    background = None
    try:
        session.wait_for("Start", "● idle")
        session.press("s")
        session.wait_for("Epoch 2/50", timeout=180)
        (run_dir,) = runs.iterdir()
        dashboard = _read(run_dir / "run.lock").get("pid")
        if how == "quit":
            session.press("q")
            session.wait_for("s: stop it")
            started = time.perf_counter()
            session.press("Enter")
        else:
            started = time.perf_counter()
            session.close()
        while True:
            pid = _read(run_dir / "run.lock").get("pid")
            if isinstance(pid, int) and pid != dashboard:
                owned = time.perf_counter() - started
                background = pid
                break
            if time.perf_counter() - started > 60:
                raise TimeoutError("no process took the run over")
            time.sleep(0.002)
        taken_at = None
        while True:
            live = _read(run_dir / "live.json")
            if live.get("pid") == background:
                if taken_at is None:
                    taken_at = (live.get("epoch"), live.get("batch"))
                elif (live.get("epoch"), live.get("batch")) != taken_at:
                    trained = time.perf_counter() - started
                    break
            if time.perf_counter() - started > 120:
                raise TimeoutError("the background process never trained a batch")
            time.sleep(0.01)
        return owned, trained
    finally:
        session.close()
        if background is not None and pid_alive(background):
            os.kill(background, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while pid_alive(background) and time.monotonic() < deadline:
                time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for how in ("quit", "hangup"):
        owned, trained = [], []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="dae-handover-") as tmp:
                first, second = one_round(how, Path(tmp))
            owned.append(first)
            trained.append(second)
        median = statistics.median(owned)
        print(
            f"{how:7s} to the new owner: median {median:.3f} s (min {min(owned):.3f}, max {max(owned):.3f}) "
            f"= {median / BUDGET_S:.2f}x the {BUDGET_S:.0f} s budget; to its first batch: median "
            f"{statistics.median(trained):.2f} s (torch's import and the data load in the new process)"
        )


if __name__ == "__main__":
    main()
