"""The machine in full under the form from 160x45 (issue 21): per GPU its utilization with the run's
img/s beside it, memory with the run's share, temperature and power; the host. Under 160x45 the
status panel's line alone. There is no GPU here: the GPU-shaped readings are the sampler's own
dataclasses, posted as the sampler's thread posts them; the real sampler says `no GPU` (or why
the GPUs cannot be read) in the pane as on the line."""

from __future__ import annotations

import os

import pytest
from helpers.machine import two_gpus
from helpers.pilot import screen_text, wait_until

from dae_tui.core.config import TrainConfig
from dae_tui.system.sampler import NO_GPU, GpuSample, SystemSample
from dae_tui.ui import DaeApp
from dae_tui.ui.messages import SystemSampled
from dae_tui.ui.widgets import ConfigForm, RunStatus
from dae_tui.ui.widgets.system_pane import SystemPane

CONFIG = TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=1, threads=1)


@pytest.mark.parametrize("size", [(160, 45), (200, 60)])
async def test_from_160x45_the_pane_shows_every_gpu_figure_and_the_host(tmp_path, monkeypatch, size):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    app = DaeApp(CONFIG, runs_dir=tmp_path)
    app.fixed_system = two_gpus()
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: bool(app.query(SystemPane)) and app.query_one(SystemPane).region.height > 0)
        pane = app.query_one(SystemPane)
        form = app.query_one(ConfigForm)
        assert pane.region.x == form.region.x and pane.region.y >= form.region.bottom  # the corner under the form
        assert pane.lines() == [
            "GPU0 H200 · 61°C 310 W",
            "  util 100% ██████████",
            "  mem 12.0/140 GB · run 2.0 GB (17%)",
            "GPU1 H200 · 41°C 110 W",
            "  util   3% ░░░░░░░░░░",
            "  mem 12.0/140 GB",
            "CPU  37% ████░░░░░░",
            "RAM  25% ██░░░░░░░░ 6.0/24.0 GB",
            "RSS 812 MB (dae-tui)",
        ]
        text = screen_text(app)
        assert all(line.strip() in text for line in pane.lines())
        assert len(pane.lines()) == pane.region.height - 1  # every line shown, under its title rule
        # A run training on GPU1: its img/s beside that GPU's utilization at the next reading.
        status = app.query_one(RunStatus)
        status.state, status.device, status.images_per_s = "training", "cuda:1", 5120.0
        app.post_message(SystemSampled(two_gpus()))
        await wait_until(pilot, lambda: "img/s" in pane.lines()[4])
        assert pane.lines()[4] == "  util   3% ░░░░░░░░░░ 5,120 img/s" and "img/s" not in pane.lines()[1]
        await pilot.pause()
        assert "util   3% ░░░░░░░░░░ 5,120 img/s" in screen_text(app)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_under_160x45_the_line_alone(tmp_path, size):
    app = DaeApp(CONFIG, runs_dir=tmp_path)
    app.fixed_system = two_gpus()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert app.query_one(SystemPane).region.height == 0  # mounted, for a resize, but not shown
        assert "util 100%" not in screen_text(app)
        status = app.query_one(RunStatus)
        width = size[0] - 2
        line = status.system_line(width) if size[1] >= 30 else status.second_line(width, system=True)
        assert screen_text(app).splitlines()[-2].strip() == line.plain  # the status panel's, as ever
        if size[1] >= 30:
            assert line.plain.startswith("GPU0 H200 100% 12.0/140 GB 61°C 310 W · GPU1")


async def test_growing_the_terminal_shows_the_pane(tmp_path):
    app = DaeApp(CONFIG, runs_dir=tmp_path)
    app.fixed_system = two_gpus()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(160, 45)
        await wait_until(pilot, lambda: app.query_one(SystemPane).region.height > 0)
        assert "util 100%" in screen_text(app)


async def test_without_nvml_the_pane_says_why_never_an_error(tmp_path):
    app = DaeApp(CONFIG, runs_dir=tmp_path)  # the real sampler, in its thread
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(pilot, lambda: bool(app.query(SystemPane)) and app.query_one(SystemPane).sample, timeout=30)
        await pilot.pause()
        pane = app.query_one(SystemPane)
        lines = pane.lines()
        if not os.path.exists("/dev/nvidiactl"):
            assert lines[0] == NO_GPU or lines[0].startswith("GPU metrics unavailable ("), lines
        assert lines[-3].startswith("CPU ") and lines[-2].startswith("RAM ") and lines[-1].startswith("RSS ")
        assert lines[0] in screen_text(app)


def test_many_gpus_take_a_line_each():
    gpus = tuple(GpuSample(index=i, name="NVIDIA A100-SXM4-80GB", utilization=50.0) for i in range(8))
    pane = SystemPane()
    pane.show(SystemSample(gpus=gpus), images_per_s=900.0, run_gpu=5)
    assert pane.lines()[:8] == [f"GPU{i} A100-SXM4-80GB 50%" + (" 900 img/s" if i == 5 else "") for i in range(8)]
