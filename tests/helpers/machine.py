"""A GPU box as the sampler reads one, for the tests of the system pane and the device choice:
there is no GPU here, so the readings are the sampler's own dataclasses, made by hand."""

from __future__ import annotations

import os

from dae_tui.system.sampler import GpuProcess, GpuSample, SystemSample

GIB = 2**30


def two_gpus() -> SystemSample:
    """Two H200s of 140 GB, 12 GB used on each; this process holds 2 GB of the first one's."""
    gpus = tuple(
        GpuSample(
            index=i,
            name="NVIDIA H200",
            utilization=100.0 if i == 0 else 3.0,
            memory_used=12 * GIB,
            memory_total=140 * GIB,
            temperature=61 - 20 * i,
            power_w=310.0 - 200 * i,
            processes=(GpuProcess(os.getpid(), 2 * GIB), GpuProcess(1, 10 * GIB)) if i == 0 else (),
        )
        for i in range(2)
    )
    return SystemSample(cpu_percent=37.0, ram_used=6 * GIB, ram_total=24 * GIB, rss=812 * 2**20, gpus=gpus)
