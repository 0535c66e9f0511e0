"""The form's device field lists the GPUs the sampler reads (name and free memory), and judges a
`cuda:N` by them as `dae-tui train` does (issue 21). The readings are the sampler's own dataclasses:
there is no GPU here."""

from __future__ import annotations

from helpers.machine import two_gpus
from helpers.pilot import screen_text, wait_until
from textual.widgets import Static

from dae_tui.core.config import TrainConfig
from dae_tui.system.sampler import FIXED_SAMPLE
from dae_tui.ui import DaeApp
from dae_tui.ui.widgets import ConfigForm
from dae_tui.ui.widgets.choice import Choice

CONFIG = TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=1, threads=1)
BOTH = "cuda:0 (H200, 128 GB free), cuda:1 (H200, 128 GB free)"


async def test_the_device_lists_each_gpu_and_a_missing_one_is_named_with_those_there(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    app = DaeApp(CONFIG, runs_dir=tmp_path)
    app.fixed_system = two_gpus()
    async with app.run_test(size=(120, 36)) as pilot:
        form = app.query_one(ConfigForm)
        device = app.query_one("#field-device", Choice)
        await wait_until(pilot, lambda: form.gpus is not None)
        assert device.options == ["auto", "cpu", "cuda", "mps", "cuda:0", "cuda:1"]
        assert device.notes == {"cuda:0": "H200, 128 GB free", "cuda:1": "H200, 128 GB free"}
        device.value = "cuda:3"
        await wait_until(pilot, lambda: bool(app.query("#error-device.-shown")), timeout=10)
        assert str(app.query_one("#error-device", Static).render()) == (
            f"must be auto, cpu, cuda or a GPU this machine has: {BOTH} (got 'cuda:3')"
        )
        assert form.config is None and "cuda:3" in device.options  # kept, and shown, for the user to fix
        device.value = "cuda:1"
        await wait_until(pilot, lambda: form.config is not None)
        assert form.config.device == "cuda:1"
        device.focus()
        await pilot.press("enter")  # the open list: each GPU with its name and free memory
        await wait_until(pilot, lambda: "cuda:1  H200, 128 GB free" in screen_text(app))
        assert "cuda:0  H200, 128 GB free" in screen_text(app)


async def test_cuda_visible_devices_numbers_the_gpus_as_torch_will(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    app = DaeApp(CONFIG, runs_dir=tmp_path)
    app.fixed_system = two_gpus()
    async with app.run_test(size=(120, 36)) as pilot:
        form = app.query_one(ConfigForm)
        await wait_until(pilot, lambda: form.gpus is not None)
        assert [(gpu.device, gpu.name) for gpu in form.gpus or ()] == [("cuda:0", "NVIDIA H200")]
        app.query_one("#field-device", Choice).value = "cuda:1"
        await wait_until(pilot, lambda: form.config is None)
        assert "(got 'cuda:1')" in form.errors[0].message and "cuda:0 (H200, 128 GB free)" in form.errors[0].message


async def test_no_gpu_here_and_cuda_is_refused_at_once(tmp_path):
    app = DaeApp(CONFIG, runs_dir=tmp_path)
    app.fixed_system = FIXED_SAMPLE  # no GPU
    async with app.run_test(size=(120, 36)) as pilot:
        form = app.query_one(ConfigForm)
        await wait_until(pilot, lambda: form.gpus == ())
        assert app.query_one("#field-device", Choice).options == ["auto", "cpu", "cuda", "mps"]
        app.query_one("#field-device", Choice).value = "cuda"
        await wait_until(pilot, lambda: form.config is None)
        assert form.errors[0].labelled == "Device must be auto or cpu: no NVIDIA GPU is visible here (got 'cuda')"
