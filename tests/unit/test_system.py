"""The system sampler (dae_tui.system.sampler): real CPU and RAM figures on this machine, and a
note instead of GPU figures where NVML cannot be had. There is no GPU here: NVML missing is
simulated by making its import fail, NVML failing by a stand-in module that raises its errors."""

from __future__ import annotations

import os
import sys
import types

import pytest

from dae_tui.system import sampler as system
from dae_tui.system.sampler import NO_GPU, GpuSample, SystemSample, SystemSampler, system_items


def test_a_reading_here_has_real_cpu_and_memory_figures():
    with_sampler = SystemSampler()
    try:
        reading = with_sampler.sample()
    finally:
        with_sampler.close()
    assert reading.cpu_percent is not None and 0.0 <= reading.cpu_percent <= 100.0
    assert reading.ram_total is not None and reading.ram_total > 256 * 2**20
    assert reading.ram_used is not None and 0 < reading.ram_used <= reading.ram_total
    # This process runs pytest and imports numpy-sized modules: tens of MB at least, never more than the RAM.
    assert reading.rss is not None and 10 * 2**20 < reading.rss < reading.ram_total
    items = system_items(reading)
    assert items[0].startswith("CPU ") and items[1].startswith("RAM ") and items[2].startswith("RSS ")


@pytest.mark.skipif(os.path.exists("/dev/nvidiactl"), reason="a GPU box")
def test_no_gpu_here_says_so():
    reading = SystemSampler().sample()
    assert reading.gpus == () and reading.gpu_note is not None
    assert reading.gpu_note == NO_GPU or reading.gpu_note.startswith("GPU metrics unavailable (")
    assert system_items(reading)[-1] == reading.gpu_note


def test_nvml_not_installed_is_no_gpu_never_an_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
    monkeypatch.setattr(system, "_nvidia_device_nodes", lambda: False)
    reading = SystemSampler().sample()
    assert (reading.gpus, reading.gpu_note) == ((), NO_GPU)
    monkeypatch.setattr(system, "_nvidia_device_nodes", lambda: True)  # a GPU box without the bindings
    assert SystemSampler().sample().gpu_note == "GPU metrics unavailable (nvidia-ml-py not installed)"


def stand_in_nvml(error_value: int, text: str) -> types.ModuleType:
    """A pynvml whose nvmlInit fails the way the real one does (NVMLError carrying a code)."""
    module = types.ModuleType("pynvml")

    class NVMLError(Exception):
        def __init__(self, value: int) -> None:
            super().__init__(text)
            self.value = value

    def init() -> None:
        raise NVMLError(error_value)

    module.NVMLError = NVMLError  # type: ignore[attr-defined]
    module.NVML_ERROR_LIBRARY_NOT_FOUND = 12  # type: ignore[attr-defined]
    module.NVML_ERROR_DRIVER_NOT_LOADED = 9  # type: ignore[attr-defined]
    module.nvmlInit = init  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize(
    ("code", "text", "nodes", "note"),
    [
        (12, "NVML Shared Library Not Found", False, NO_GPU),
        (12, "NVML Shared Library Not Found", True, "GPU metrics unavailable (libnvidia-ml not found)"),
        (9, "Driver Not Loaded", False, NO_GPU),
        (9, "Driver Not Loaded", True, "GPU metrics unavailable (driver not loaded)"),
        (18, "Driver/library version mismatch", True, "GPU metrics unavailable (driver/library version mismatch)"),
        (4, "Insufficient Permissions", False, "GPU metrics unavailable (insufficient permissions)"),
    ],
)
def test_nvml_failing_at_init_is_a_note_with_the_reason(monkeypatch, code, text, nodes, note):
    monkeypatch.setitem(sys.modules, "pynvml", stand_in_nvml(code, text))
    monkeypatch.setattr(system, "_nvidia_device_nodes", lambda: nodes)
    made = SystemSampler()
    reading = made.sample()
    assert (reading.gpus, reading.gpu_note) == ((), note)
    assert made.gpu_count == (0 if note == NO_GPU else None)
    assert reading.cpu_percent is not None  # the rest of the line still comes
    made.close()


def test_a_gpu_box_reads_each_gpu_and_a_missing_figure_is_left_out(monkeypatch):
    module = stand_in_nvml(0, "")
    module.nvmlInit = lambda: None  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    module.NVML_TEMPERATURE_GPU = 0  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda index: index  # type: ignore[attr-defined]
    module.nvmlDeviceGetName = lambda handle: b"NVIDIA H200" if handle == 0 else "NVIDIA A100-SXM4-80GB"  # type: ignore[attr-defined]
    module.nvmlDeviceGetUtilizationRates = lambda handle: types.SimpleNamespace(gpu=97)  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = (  # type: ignore[attr-defined]
        lambda handle: types.SimpleNamespace(used=int(12.3 * 2**30), total=int(139.8 * 2**30))
    )
    module.nvmlDeviceGetTemperature = lambda handle, sensor: 61  # type: ignore[attr-defined]

    def power(handle: int) -> int:
        if handle == 1:
            raise module.NVMLError(3)  # type: ignore[attr-defined]  # NOT_SUPPORTED on this board
        return 310_400  # milliwatts

    module.nvmlDeviceGetPowerUsage = power  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", module)
    made = SystemSampler()
    reading = made.sample()
    assert made.gpu_count == 2 and reading.gpu_note is None
    items = system_items(reading, images_per_s=5120.4, run_gpu=0)
    assert items[:2] == ["GPU0 H200 97% 5,120 img/s 12.3/140 GB 61°C 310 W", "GPU1 A100-SXM4-80GB 97% 12.3/140 GB 61°C"]
    assert items[2].startswith("CPU ")


def test_the_run_gpu_follows_cuda_visible_devices():
    assert system.run_gpu_index("cpu") is None
    assert system.run_gpu_index("cuda", visible="") == 0
    assert system.run_gpu_index("cuda:1", visible="") == 1
    assert system.run_gpu_index("cuda", visible="2,3") == 2
    assert system.run_gpu_index("cuda:1", visible="2,3") == 3
    assert system.run_gpu_index("cuda", visible="GPU-8f6e") == 0  # UUIDs: the first is the best guess


def test_items_say_nothing_they_cannot_read():
    assert system_items(SystemSample(gpu_note=NO_GPU)) == [NO_GPU]
    assert system.gpu_item(GpuSample(index=3, name="Tesla T4")) == "GPU3 Tesla T4"
    assert system_items(system.FIXED_SAMPLE) == ["CPU 12%", "RAM 3.0/16.0 GB", "RSS 512 MB", NO_GPU]


def test_each_gpu_lists_its_processes_so_a_run_knows_its_share(monkeypatch):
    module = stand_in_nvml(0, "")
    module.nvmlInit = lambda: None  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda index: index  # type: ignore[attr-defined]
    module.nvmlDeviceGetName = lambda handle: "NVIDIA H200"  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = (  # type: ignore[attr-defined]
        lambda handle: types.SimpleNamespace(used=8 * 2**30, total=140 * 2**30)
    )
    me, other = os.getpid(), os.getpid() + 1

    def running(handle: int) -> list[types.SimpleNamespace]:
        if handle == 1:
            return [types.SimpleNamespace(pid=me, usedGpuMemory=None)]  # a container hides the figure
        return [
            types.SimpleNamespace(pid=me, usedGpuMemory=2 * 2**30),
            types.SimpleNamespace(pid=other, usedGpuMemory=6 * 2**30),
        ]

    def not_supported(*args: object) -> None:
        raise module.NVMLError(3)  # type: ignore[attr-defined]

    module.nvmlDeviceGetComputeRunningProcesses = running  # type: ignore[attr-defined]
    module.NVML_TEMPERATURE_GPU = 0  # type: ignore[attr-defined]
    for name in ("nvmlDeviceGetUtilizationRates", "nvmlDeviceGetTemperature", "nvmlDeviceGetPowerUsage"):
        setattr(module, name, not_supported)
    monkeypatch.setitem(sys.modules, "pynvml", module)
    made = SystemSampler()
    first, second = made.sample().gpus
    made.close()
    assert [p.pid for p in first.processes] == [me, other] and first.memory_free == 132 * 2**30
    assert first.memory_of(me) == 2 * 2**30 and first.memory_of(other + 1) == 0 and first.memory_of(None) is None
    assert second.memory_of(me) is None  # held, but how much cannot be told
    # Figures a board does not support (utilization, temperature, power here) are left out, not an error.
    assert (first.utilization, first.temperature, first.power_w) == (None, None, None)
