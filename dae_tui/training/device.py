"""Device choice and CPU thread count, in one place.

May import torch and `dae_tui.core`; never textual, rich or optuna.
"""

from __future__ import annotations

import sys

import torch

from dae_tui.core.config import ConfigError, FieldError, GpuChoice, device_problem

__all__ = ["apply_threads", "device_name", "flush_denormals", "peak_memory_mb", "reset_peak_memory", "resolve_device"]


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(name: str) -> torch.device:
    """`auto` -> cuda, then mps, then cpu; a named device that is not there is a `ConfigError`
    (a `cuda:N` beyond the GPUs torch sees names them, by the front ends' rule: `device_problem`).

    A CUDA device becomes the calling thread's current one: the fast step's side stream and CUDA
    graph (`steps`) are made on the current device, which is cuda:0 unless set, so a run on
    `cuda:1` would capture its graph on the wrong GPU.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: CUDA is not available here; use --device cpu or auto")
        gpus = [GpuChoice(i, torch.cuda.get_device_name(i)) for i in range(torch.cuda.device_count())]
        problem = device_problem(name, gpus)
        if problem:
            raise ConfigError(str(FieldError("device", problem)))
        return _current(device)
    if device.type == "mps" and not _mps_available():
        raise ConfigError(f"--device {name}: Apple MPS is not available here; use --device cpu or auto")
    return device


def _current(device: torch.device) -> torch.device:
    """`device`, made the calling thread's current CUDA device (`resolve_device`); plain `cuda`
    is the current one already."""
    if device.index is not None:
        torch.cuda.set_device(device)
    return device


def flush_denormals() -> None:
    """Flush denormal floats to zero in the calling thread; call it before its first torch op.

    As training goes on, Adam's second moments, some weights and the Sigmoid's outputs for black
    background pixels sink into the denormal range, where x86 arithmetic is many times slower:
    without it a 10-epoch Fashion-MNIST run's epochs grew longer and longer (benchmarks/NOTES.md).
    The setting is per thread; the OpenMP workers this thread starts inherit it (threads inherit
    their creator's floating-point environment), hence before the first parallel op.
    """
    torch.set_flush_denormal(True)


def apply_threads(threads: int) -> int:
    """Set torch's CPU threads for the calling thread (0 keeps the default); returns the count.

    Called inside the thread that trains: the setting is per thread in practice, and one made on
    the UI thread would not carry over.
    """
    if threads > 0:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def device_name(device: torch.device) -> str:
    """What trains, for the per-epoch record: the CUDA device's own name ('NVIDIA H200'), else the
    device type ('cpu', 'mps'): a sweep spread over a mixed box says which board gave which epoch."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type


def reset_peak_memory(device: torch.device) -> None:
    """Start the epoch's count of CUDA memory afresh (`peak_memory_mb`); nothing elsewhere."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float | None:
    """The epoch's peak memory in MiB: on CUDA the most torch allocated since `reset_peak_memory`
    (tensors only, not the caching allocator's reserve nor the CUDA context); elsewhere this
    process's peak resident set size (`ru_maxrss`), which is the process's high-water mark since it
    started, not the epoch's: it never goes down. None where neither can be read (Windows)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux
