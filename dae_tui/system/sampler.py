"""What the machine is doing now: each GPU (NVML), the host's CPU and RAM, this process's RSS.

A GPU box is rented by the hour: the dashboard shows whether the GPUs are busy, and a sweep
spreads its jobs over them (`gpus`). `SystemSampler.sample()` takes one reading; the dashboard
calls it every `SAMPLE_INTERVAL_S` in a thread worker, never on the UI thread (NVML calls and
/proc reads block for a moment, and the first NVML call loads a shared library).

NVML comes from nvidia-ml-py (`import pynvml`), psutil for the rest, both imported lazily by the
first sampler, so importing this module costs nothing. Where NVML cannot be had (a CPU box, a
container without libnvidia-ml, no driver) a sample says so in `gpu_note` -- "no GPU" or "GPU
metrics unavailable (why)" -- and never raises; a figure one GPU does not report (power on some
boards) is None.

Imports only the standard library and `dae_tui.core`: no torch, textual or optuna.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FIXED_SAMPLE",
    "NO_GPU",
    "SAMPLE_INTERVAL_S",
    "GpuProcess",
    "GpuSample",
    "SystemSample",
    "SystemSampler",
    "gb",
    "gpu_item",
    "run_gpu_index",
    "short_gpu_name",
    "system_items",
    "unavailable",
]

SAMPLE_INTERVAL_S = 1.5
"""Seconds between two readings in the dashboard: fresh enough to see a stall, and the figures of
NVML's utilization are averaged over about that long anyway."""

NO_GPU = "no GPU"
"""What a sample says on a machine without an NVIDIA GPU."""

GIB = 2**30
MIB = 2**20


def unavailable(why: str) -> str:
    """The note of a machine whose GPUs cannot be read, with the reason in one short phrase."""
    return f"GPU metrics unavailable ({why})"


@dataclass(frozen=True)
class GpuProcess:
    """One process holding memory on a GPU (NVML's running compute processes)."""

    pid: int
    """Its process id, as NVML sees it: in a container with its own process ids NVML may report
    the host's, and no process of ours matches."""
    memory_used: int | None = None
    """Bytes it holds on the GPU; None where the driver will not say (some containers, Windows WDDM)."""


@dataclass(frozen=True)
class GpuSample:
    """One GPU at one moment, as NVML numbers it (not as CUDA_VISIBLE_DEVICES renumbers it)."""

    index: int
    name: str
    """The board's name, e.g. 'NVIDIA H200'."""
    utilization: float | None = None
    """Percent of the last sample period in which a kernel ran: 100 for one tiny kernel at a time
    as well as for a saturated GPU, which is why the dashboard puts img/s beside it."""
    memory_used: int | None = None
    """Bytes allocated on the GPU, by every process."""
    memory_total: int | None = None
    temperature: int | None = None
    """Degrees Celsius of the GPU die."""
    power_w: float | None = None
    """Watts drawn by the board."""
    processes: tuple[GpuProcess, ...] = ()
    """The compute processes on it now, each with its memory: which share of `memory_used` is a
    run's own (`memory_of`)."""

    @property
    def memory_free(self) -> int | None:
        """Bytes not allocated by any process; None when the memory cannot be read."""
        if self.memory_used is None or self.memory_total is None:
            return None
        return max(0, self.memory_total - self.memory_used)

    def memory_of(self, pid: int | None) -> int | None:
        """The bytes process `pid` holds on this GPU: 0 when it holds none, None when that cannot
        be told (no pid, or the driver lists processes without their memory)."""
        if pid is None:
            return None
        held = [p.memory_used for p in self.processes if p.pid == pid]
        if not held:
            return 0
        return None if None in held else sum(m for m in held if m is not None)


@dataclass(frozen=True)
class SystemSample:
    """One reading of the machine. A figure that could not be read is None."""

    cpu_percent: float | None = None
    """The host's CPU use since the previous reading, 0-100 over all cores."""
    ram_used: int | None = None
    """Bytes of RAM in use on the host (psutil's `used`)."""
    ram_total: int | None = None
    rss: int | None = None
    """This process's resident set size in bytes."""
    gpus: tuple[GpuSample, ...] = ()
    gpu_note: str | None = None
    """Why `gpus` is empty (`NO_GPU`, or `unavailable(...)`); None when GPUs were read."""


def _nvidia_device_nodes() -> bool:
    """Whether the kernel shows NVIDIA devices: a box without libnvidia-ml that has them is a
    GPU box whose figures cannot be read (a container started without the driver's libraries)."""
    return bool(glob.glob("/dev/nvidia[0-9]*")) or os.path.exists("/proc/driver/nvidia")


class SystemSampler:
    """Takes readings of the machine; holds NVML open between them (`close` lets it go).

    Made and used in one thread worker: NVML and psutil are imported and NVML initialised in the
    constructor, which may take tens of milliseconds."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._handles: list[tuple[int, Any, str]] = []
        self.gpu_note: str | None = None
        """Why no GPU is read (`SystemSample.gpu_note`), fixed when the sampler starts."""
        self._psutil: Any = None
        self._process: Any = None
        try:
            import psutil

            self._psutil = psutil
            self._process = psutil.Process()
            psutil.cpu_percent(interval=None)  # the first call only starts the count
        except Exception:  # psutil missing or /proc unreadable: the figures read as None
            self._psutil = self._process = None
        self._open_nvml()

    def _open_nvml(self) -> None:
        try:
            import pynvml
        except ImportError:
            self.gpu_note = NO_GPU if not _nvidia_device_nodes() else unavailable("nvidia-ml-py not installed")
            return
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as err:
            code = getattr(err, "value", None)
            absent = (
                getattr(pynvml, "NVML_ERROR_LIBRARY_NOT_FOUND", 12),
                getattr(pynvml, "NVML_ERROR_DRIVER_NOT_LOADED", 9),
            )
            if code in absent and not _nvidia_device_nodes():
                self.gpu_note = NO_GPU
            elif code == absent[0]:
                self.gpu_note = unavailable("libnvidia-ml not found")
            else:
                self.gpu_note = unavailable(_phrase(err))
            return
        except Exception as err:  # a broken install of the library: say so, never raise
            self.gpu_note = unavailable(_phrase(err))
            return
        self._nvml = pynvml
        try:
            for index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                name = pynvml.nvmlDeviceGetName(handle)
                self._handles.append((index, handle, name.decode() if isinstance(name, bytes) else str(name)))
        except pynvml.NVMLError as err:
            self._handles = []
            self.gpu_note = unavailable(_phrase(err))
            return
        if not self._handles:
            self.gpu_note = NO_GPU

    @property
    def gpu_count(self) -> int | None:
        """GPUs NVML sees (every one on the box, whatever CUDA_VISIBLE_DEVICES says); None when
        NVML could not be read, 0 on a box without any."""
        if self._handles:
            return len(self._handles)
        return 0 if self.gpu_note == NO_GPU else None

    def sample(self) -> SystemSample:
        """One reading now. Never raises: what cannot be read is None."""
        cpu = ram_used = ram_total = rss = None
        if self._psutil is not None:
            cpu = _read(lambda: float(self._psutil.cpu_percent(interval=None)))
            memory = _read(self._psutil.virtual_memory)
            if memory is not None:
                ram_used, ram_total = int(memory.used), int(memory.total)
            rss = _read(lambda: int(self._process.memory_info().rss))
        return SystemSample(
            cpu_percent=cpu,
            ram_used=ram_used,
            ram_total=ram_total,
            rss=rss,
            gpus=tuple(self._gpu(index, handle, name) for index, handle, name in self._handles),
            gpu_note=self.gpu_note,
        )

    def _gpu(self, index: int, handle: Any, name: str) -> GpuSample:
        nvml = self._nvml
        utilization = _read(lambda: float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu), nvml.NVMLError)
        memory = _read(lambda: nvml.nvmlDeviceGetMemoryInfo(handle), nvml.NVMLError)
        temperature = _read(
            lambda: int(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)), nvml.NVMLError
        )
        power = _read(lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0, nvml.NVMLError)  # milliwatts
        # (AttributeError: a build of the bindings without the call; the memory share is lost, not the GPU.)
        running = _read(lambda: nvml.nvmlDeviceGetComputeRunningProcesses(handle), (nvml.NVMLError, AttributeError))
        return GpuSample(
            index=index,
            name=name,
            utilization=utilization,
            memory_used=None if memory is None else int(memory.used),
            memory_total=None if memory is None else int(memory.total),
            temperature=temperature,
            power_w=power,
            processes=tuple(_process(p) for p in running or ()),
        )

    def close(self) -> None:
        """Let NVML go (the library counts its users: one shutdown for our one init)."""
        if self._nvml is not None:
            _read(self._nvml.nvmlShutdown, Exception)
            self._nvml, self._handles = None, []


def _process(entry: Any) -> GpuProcess:
    """NVML's process entry as ours: `usedGpuMemory` is None (or a huge sentinel from older
    drivers) where it is not available."""
    memory = getattr(entry, "usedGpuMemory", None)
    known = isinstance(memory, int) and 0 <= memory < 2**62
    return GpuProcess(pid=int(entry.pid), memory_used=memory if known else None)


def _read(reading: Any, errors: type[BaseException] | tuple[type[BaseException], ...] = Exception) -> Any:
    """`reading()`, or None when it fails: one figure a board does not report (power on some, a
    GPU fallen off the bus) loses that figure, not the line."""
    try:
        return reading()
    except errors:
        return None


def _phrase(err: BaseException) -> str:
    """An error as a short lower-case phrase ('driver/library version mismatch'): NVML's are in
    Title Case ('Insufficient Permissions')."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:60].lower()


def gb(count: int) -> str:
    """Bytes in GB of 2**30 bytes (as htop and nvidia-smi count), three figures at most: 6.1, 139."""
    value = count / GIB
    return f"{value:.0f}" if value >= 99.5 else f"{value:.1f}"


def short_gpu_name(name: str) -> str:
    """'NVIDIA H200' -> 'H200': every board NVML lists is NVIDIA's."""
    return name.removeprefix("NVIDIA ").strip() or name


def gpu_item(gpu: GpuSample, images_per_s: float | None = None) -> str:
    """'GPU0 H200 97% 5,120 img/s 12.3/139 GB 61°C 310 W': what is not reported is left out;
    `images_per_s`, the run's on that GPU, goes beside the utilization it explains."""
    parts = [f"GPU{gpu.index}", short_gpu_name(gpu.name)]
    if gpu.utilization is not None:
        parts.append(f"{gpu.utilization:.0f}%")
    if images_per_s is not None:
        parts.append(f"{images_per_s:,.0f} img/s")
    if gpu.memory_used is not None and gpu.memory_total:
        parts.append(f"{gb(gpu.memory_used)}/{gb(gpu.memory_total)} GB")
    if gpu.temperature is not None:
        parts.append(f"{gpu.temperature}°C")
    if gpu.power_w is not None:
        parts.append(f"{gpu.power_w:.0f} W")
    return " ".join(parts)


def run_gpu_index(device: str, visible: str | None = None) -> int | None:
    """The NVML index of the GPU a run on `device` ('cuda', 'cuda:1') uses, through
    CUDA_VISIBLE_DEVICES (`visible`, default the environment's) when that lists indices; None for
    a run not on CUDA."""
    if not device.startswith("cuda"):
        return None
    _, _, number = device.partition(":")
    cuda = int(number) if number.isdigit() else 0
    listed = (os.environ.get("CUDA_VISIBLE_DEVICES") if visible is None else visible) or ""
    indices = [part.strip() for part in listed.split(",") if part.strip()]
    if indices and all(part.isdigit() for part in indices):
        return int(indices[cuda]) if cuda < len(indices) else None
    return cuda


def system_items(sample: SystemSample, *, images_per_s: float | None = None, run_gpu: int | None = None) -> list[str]:
    """The reading as items for one line, the ones to keep longest first: each GPU (img/s of the
    run beside the utilization of `run_gpu`), CPU %, RAM, RSS, then why no GPU is shown."""
    items = [gpu_item(gpu, images_per_s if gpu.index == run_gpu else None) for gpu in sample.gpus]
    if sample.cpu_percent is not None:
        items.append(f"CPU {sample.cpu_percent:.0f}%")
    if sample.ram_used is not None and sample.ram_total:
        items.append(f"RAM {gb(sample.ram_used)}/{gb(sample.ram_total)} GB")
    if sample.rss is not None:
        items.append(f"RSS {sample.rss / MIB:,.0f} MB")
    if sample.gpu_note:
        items.append(sample.gpu_note)
    return items


FIXED_SAMPLE = SystemSample(cpu_percent=12.0, ram_used=3 * GIB, ram_total=16 * GIB, rss=512 * MIB, gpu_note=NO_GPU)
"""A reading that never changes, for screenshots and tests: CPU 12% · RAM 3.0/16.0 GB · RSS 512 MB ·
no GPU."""
