"""Handing a run over to a process of its own: how a run outlives the dashboard that started it.

A dashboard that leaves while its run trains (q and "keep training", or the terminal's hang-up)
starts `dae-tui train --resume RUN --take-over PID` in a session of its own (no terminal, output
into the run folder's `train.log`), then stops its own trainer at the next batch, which writes the
mid-epoch checkpoint and lets the folder go. The new process waits for the folder (`take_over`)
while it loads, so the run is owned again as soon as the dashboard lets go, and it continues
from the exact batch where the dashboard stopped.

Torch-free: the new process takes the folder before it imports torch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dae_tui.core.config import ConfigError
from dae_tui.runs.files import STATUS_NAME, RunMarker, pid_alive, read_json, this_host

__all__ = ["HANDOVER_WAIT_S", "LOG_NAME", "Background", "continue_in_background", "take_over"]

LOG_NAME = "train.log"
"""The run folder's log of its background process: what `dae-tui train` prints, appended."""

HANDOVER_WAIT_S = 60.0
"""How long the new process waits for the dashboard to let the folder go: it stops at the next
batch, which takes a batch's time (under a second here) and the mid-epoch checkpoint's write."""


@dataclass(frozen=True)
class Background:
    """The process a run was handed to."""

    pid: int
    host: str
    log: Path

    def describe(self) -> str:
        """'pid 1234 on host, log RUN/train.log'."""
        return f"pid {self.pid} on {self.host}, log {self.log}"


def continue_in_background(run_dir: str | os.PathLike[str], env: dict[str, str] | None = None) -> Background:
    """Start the process that continues the run in `run_dir` once this one lets the folder go.

    Its own session (the terminal's hang-up never reaches it), stdin from /dev/null, stdout and
    stderr appended to the run's `train.log`. `OSError` when it cannot be started (the caller then
    stops the run as before: nothing is lost)."""
    folder = Path(run_dir)
    log_path = folder / LOG_NAME
    command = [sys.executable, "-m", "dae_tui", "train", "--resume", str(folder), "--take-over", str(os.getpid())]
    with open(log_path, "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}: taking over from pid {os.getpid()}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            close_fds=True,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    return Background(process.pid, this_host(), log_path)


def _progress(run_dir: Path) -> tuple[int, int]:
    """(the last finished epoch, the epochs planned) as status.json has them ((0, 0) when it
    cannot say; the trainer writes both again once it has read the checkpoint)."""
    try:
        status = read_json(run_dir / STATUS_NAME)
        return int(status["last_epoch"]), int(status["epochs"])
    except (OSError, ValueError, TypeError, KeyError):
        return 0, 0


def take_over(run_dir: Path, from_pid: int, wait_s: float = HANDOVER_WAIT_S) -> RunMarker:
    """Own the run folder as soon as process `from_pid` lets it go (waiting up to `wait_s`);
    `ConfigError` in one line when it does not, or when another process took it meanwhile."""
    marker = RunMarker(run_dir, 0)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            marker.acquire()
            # Say so at once (status "running", run.lock naming this pid), not seconds later
            # once torch has loaded: readers must not take the run for stopped meanwhile.
            last_epoch, marker.epochs = _progress(run_dir)
            marker.start(last_epoch)
            return marker
        except ConfigError:
            if not pid_alive(from_pid):
                raise  # the process handing over is gone, and another holds the folder
            if time.monotonic() >= deadline:
                raise ConfigError(
                    f"{run_dir}: process {from_pid} did not let the run folder go within "
                    f"{wait_s:.0f} s; resume it later with: dae-tui train --resume {run_dir}"
                ) from None
            time.sleep(0.02)
