"""The machine's figures on the status panel: a thread worker reads them every second or so.

A part of `DaeApp` (see `base`). The sampler (`dae_tui.system.sampler`) imports psutil and NVML
and opens NVML when it is made, tens of milliseconds that must not hold the first frame back, so
the worker starts by a timer after the first frame; from then on each reading is a few /proc reads
and NVML calls, all in the worker's thread, posted as `SystemSampled`. A test or a screenshot that
needs figures that never change sets `DaeApp.fixed_system`, and no worker starts.

Each reading goes to the status panel's line and to the fuller `SystemPane` under the form (shown
from 160x45), which is mounted with the first reading, after the first frame. The form hears of
the GPUs too: its device field lists them (`ConfigForm.set_gpus`).
"""

from __future__ import annotations

import os
import time

from textual import work
from textual.worker import get_current_worker

from dae_tui.system.sampler import SystemSample, run_gpu_index
from dae_tui.ui.base import DashboardBase
from dae_tui.ui.messages import SystemSampled, while_shown
from dae_tui.ui.widgets import ConfigForm, RunStatus

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
            self.show_system(self.fixed_system)
        else:
            self.set_timer(START_AFTER_S, self.sample_system)

    @work(thread=True, exclusive=True, exit_on_error=False, group="system")
    def sample_system(self) -> None:
        """Post a reading of the machine every `SAMPLE_INTERVAL_S` until the app closes."""
        from dae_tui.system.sampler import SAMPLE_INTERVAL_S, SystemSampler

        worker = get_current_worker()

        def watching() -> bool:
            # Also the app's own state: a timer that fires as the app closes starts this worker
            # after Textual cancelled the workers, and nothing would cancel it; the loop's
            # executor then waits on this thread forever (a test's teardown hung on it).
            return not worker.is_cancelled and self.is_running

        sampler = SystemSampler()
        try:
            while watching():
                self.post_message(SystemSampled(sampler.sample()))
                deadline = time.monotonic() + SAMPLE_INTERVAL_S
                while watching() and time.monotonic() < deadline:
                    time.sleep(CANCEL_CHECK_S)
        finally:
            sampler.close()

    @while_shown
    def _on_system_sampled(self, message: SystemSampled) -> None:
        self.show_system(message.sample)

    def show_system(self, sample: SystemSample) -> None:
        """A reading on the status line, in the pane (mounted with the first reading) and in the
        form's device choices."""
        from dae_tui.ui.widgets.system_pane import SystemPane  # not needed for the first frame

        status = self.query_one(RunStatus)
        status.system = sample
        panes = self.query(SystemPane)
        if panes:
            pane = panes.first()
        else:
            pane = SystemPane(id="system-pane")
            self.query_one("#train-main").mount(pane)
        training = status.state == "training" and status.images_per_s is not None
        pane.show(
            sample,
            images_per_s=status.images_per_s if training else None,
            run_gpu=run_gpu_index(status.device) if status.device else None,
            run_pid=self.attached.pid if self.attached is not None else os.getpid(),
        )
        self.query_one(ConfigForm).set_gpus(sample)
