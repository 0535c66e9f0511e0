"""The machine's line on the status panel: sampled in a thread worker, a third line from 30 rows,
the end of the second line under 30, and img/s beside the utilization of the GPU a run trains on."""

from __future__ import annotations

import os
import re
import threading

from helpers.pilot import screen_text, wait_until

from dae_tui.core.config import TrainConfig
from dae_tui.system.sampler import FIXED_SAMPLE, NO_GPU, GpuSample, SystemSample, SystemSampler
from dae_tui.ui import DaeApp
from dae_tui.ui.messages import SystemSampled
from dae_tui.ui.widgets import RunStatus

CONFIG = TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=1, threads=1)


def cpu_figure(text: str) -> int | None:
    found = re.search(r"CPU (\d+)%", text)
    return int(found.group(1)) if found else None


async def test_the_line_shows_this_machine_sampled_off_the_ui_thread(tmp_path, monkeypatch):
    threads: list[str] = []
    sample = SystemSampler.sample

    def sample_where(self):
        threads.append(threading.current_thread().name)
        return sample(self)

    monkeypatch.setattr(SystemSampler, "sample", sample_where)
    posted: list[SystemSampled] = []

    def hook(message):
        if isinstance(message, SystemSampled):
            posted.append(message)

    app = DaeApp(CONFIG, runs_dir=tmp_path)
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        status = app.query_one(RunStatus)
        await wait_until(pilot, lambda: status.system is not None, timeout=30)
        await pilot.pause()
        line = screen_text(app).splitlines()[-2]  # the panel's third line, above the footer
        figure = cpu_figure(line)
        assert figure is not None and 0 <= figure <= 100, line
        assert re.search(r"RAM \d+\.\d/\d+(\.\d)? GB · RSS [\d,]+ MB", line), line
        if not os.path.exists("/dev/nvidiactl"):
            assert line.rstrip().endswith(NO_GPU) or "GPU metrics unavailable (" in line, line
        assert status.size.height == 3
        assert posted and threads and threading.main_thread().name not in threads


async def test_under_30_rows_the_figures_end_the_second_line_and_go_first(tmp_path):
    app = DaeApp(CONFIG, runs_dir=tmp_path)
    app.fixed_system = FIXED_SAMPLE
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        status = app.query_one(RunStatus)
        assert status.size.height == 2
        lines = screen_text(app).splitlines()
        assert lines[-2].strip() == "No run yet: set up the form and press s. · CPU 12% · RAM 3.0/16.0 GB"
        # A run's data line is long: the machine's items give way, whole, before a word of it does.
        status.where = "mnist (bundled offline sample) · 8,000/2,000 train/test · bundled"
        status.device = "cpu ×2"
        await pilot.pause()
        assert screen_text(app).splitlines()[-2].strip() == status.second_line(78).plain
        assert "CPU" not in status.second_line(78).plain and "bundled" in status.second_line(78).plain


async def test_a_run_on_a_gpu_puts_its_img_s_beside_that_gpus_utilization(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    gpus = tuple(
        GpuSample(
            index=i,
            name="NVIDIA H200",
            utilization=100.0,
            memory_used=12 * 2**30,
            memory_total=140 * 2**30,
            temperature=61,
            power_w=310.0,
        )
        for i in range(2)
    )
    app = DaeApp(CONFIG, runs_dir=tmp_path)
    app.fixed_system = SystemSample(
        cpu_percent=37.0, ram_used=6 * 2**30, ram_total=23 * 2**30, rss=812 * 2**20, gpus=gpus
    )
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        status = app.query_one(RunStatus)
        assert status.system_items()[0] == "GPU0 H200 100% 12.0/140 GB 61°C 310 W"  # idle: no img/s
        status.state, status.device, status.images_per_s = "training", "cuda:1", 5120.0
        await pilot.pause()
        line = screen_text(app).splitlines()[-2].strip()
        assert line == (
            "GPU0 H200 100% 12.0/140 GB 61°C 310 W · GPU1 H200 100% 5,120 img/s 12.0/140 GB 61°C 310 W · "
            "CPU 37% · RAM 6.0/23.0 GB · RSS 812 MB"
        )


async def test_a_narrow_line_keeps_whole_items(tmp_path):
    app = DaeApp(CONFIG, runs_dir=tmp_path)
    app.fixed_system = FIXED_SAMPLE
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        status = app.query_one(RunStatus)
        assert [status.system_line(width).plain for width in (10, 30, 40, 47)] == [
            "CPU 12%",
            "CPU 12% · RAM 3.0/16.0 GB",
            "CPU 12% · RAM 3.0/16.0 GB · RSS 512 MB",
            "CPU 12% · RAM 3.0/16.0 GB · RSS 512 MB · no GPU",
        ]
