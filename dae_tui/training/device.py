"""Device choice and CPU thread count, in one place.

May import torch and `dae_tui.core`; never textual, rich or optuna.
"""

from __future__ import annotations

import torch

from dae_tui.core.config import ConfigError

__all__ = ["apply_threads", "flush_denormals", "resolve_device"]


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(name: str) -> torch.device:
    """`auto` -> cuda, then mps, then cpu; a named device that is not there is a `ConfigError`."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: CUDA is not available here; use --device cpu or auto")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ConfigError(f"--device {name}: only {count} CUDA device(s), numbered from 0")
    if device.type == "mps" and not _mps_available():
        raise ConfigError(f"--device {name}: Apple MPS is not available here; use --device cpu or auto")
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
