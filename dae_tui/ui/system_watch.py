"""The machine's figures on the status panel: a thread worker reads them every second or so.

A part of `DaeApp` (see `base`). The sampler (`dae_tui.system.sampler`) imports psutil and NVML
and opens NVML when it is made, tens of milliseconds that must not hold the first frame back, so
the worker starts by a timer after the first frame; from then on each reading is a few /proc reads
and NVML calls, all in the worker's thread, posted as `SystemSampled`. A test or a screenshot that
needs figures that never change sets `DaeApp.fixed_system`, and no worker starts.
"""

from __future__ import annotations

import time

from textual import work
from textual.worker import get_current_worker

from dae_tui.ui.base import DashboardBase
from dae_tui.ui.messages import SystemSampled, while_shown
from dae_tui.ui.widgets import RunStatus

__all__ = ["SystemWatch"]

START_AFTER_S = 0.5
"""Seconds from the app's mount to the sampler's start: the first frame is drawn by then."""
CANCEL_CHECK_S = 0.1
"""How often the worker looks whether it was cancelled while it waits for the next reading: a
thread cannot be killed, and quitting must not wait out a whole interval."""


class SystemWatch(DashboardBase):
    """Reads the machine in a thread worker and shows it on the status panel."""

    def start_system_watch(self) -> None:
        """Show the machine's figures: the fixed ones of a test at once, else the sampler's from
        `START_AFTER_S` on (after the first frame)."""
        if self.fixed_system is not None:
            self.query_one(RunStatus).system = self.fixed_system
        else:
            self.set_timer(START_AFTER_S, self.sample_system)

    @work(thread=True, exclusive=True, exit_on_error=False, group="system")
    def sample_system(self) -> None:
        """Post a reading of the machine every `SAMPLE_INTERVAL_S` until the app closes."""
        from dae_tui.system.sampler import SAMPLE_INTERVAL_S, SystemSampler

        worker = get_current_worker()
        sampler = SystemSampler()
        try:
            while not worker.is_cancelled:
                self.post_message(SystemSampled(sampler.sample()))
                deadline = time.monotonic() + SAMPLE_INTERVAL_S
                while not worker.is_cancelled and time.monotonic() < deadline:
                    time.sleep(CANCEL_CHECK_S)
        finally:
            sampler.close()

    @while_shown
    def _on_system_sampled(self, message: SystemSampled) -> None:
        self.query_one(RunStatus).system = message.sample
