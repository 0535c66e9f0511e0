"""Which GPU each job of `dae-tui sweep --jobs J` trains on: job i gets GPU i mod N.

The `--jobs` parent never loads torch, so it counts GPUs through NVML (`sampler`), or takes the
set the user already gave in CUDA_VISIBLE_DEVICES; `--gpus 0,2` picks the GPUs instead (NVML's
numbering, as nvidia-smi shows it). Each child then sees one GPU alone in its CUDA_VISIBLE_DEVICES,
so its `--device auto` (cuda) is that GPU. Where there is no GPU the children's environment is
left as it is.

Imports only the standard library and `dae_tui.core` (NVML through `sampler`, lazily).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from dae_tui.core.config import ConfigError

__all__ = ["GPU_COUNT_ENV", "JOB_GPU_ENV", "assign_gpus", "count_gpus", "job_gpus", "parse_gpus"]

GPU_COUNT_ENV = "DAE_TUI_GPU_COUNT"
"""For tests only: how many GPUs to take this machine for (NVML is not asked). A CPU machine can
then check the spreading of jobs; their CUDA_VISIBLE_DEVICES names GPUs that are not there, and
torch there finds no CUDA and trains on the CPU."""

JOB_GPU_ENV = "DAE_TUI_SWEEP_GPU"
"""The GPU the `--jobs` parent gave a child (also its CUDA_VISIBLE_DEVICES): the child records it
in its trials (Optuna's user attribute `gpu`)."""


def count_gpus(environ: Mapping[str, str] | None = None) -> int | None:
    """GPUs on this machine by NVML's count (every one, whatever CUDA_VISIBLE_DEVICES says); 0 on
    a machine without any, None when NVML cannot say (no libnvidia-ml on a GPU box)."""
    environ = os.environ if environ is None else environ
    faked = environ.get(GPU_COUNT_ENV, "").strip()
    if faked.isdigit():
        return int(faked)
    from dae_tui.system.sampler import SystemSampler

    sampler = SystemSampler()
    try:
        return sampler.gpu_count
    finally:
        sampler.close()


def parse_gpus(text: str) -> tuple[int, ...]:
    """`--gpus 0,2` as indices; a `ConfigError` in one line for anything else."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or not all(part.isdigit() for part in parts):
        raise ConfigError(f"--gpus must be GPU numbers separated by commas, e.g. 0,2 (got {text[:40]!r})")
    indices = tuple(int(part) for part in parts)
    repeated = sorted({i for i in indices if indices.count(i) > 1})
    if repeated:
        raise ConfigError(f"--gpus names GPU {repeated[0]} twice; give each GPU once (got {text[:40]!r})")
    return indices


def job_gpus(
    chosen: Sequence[int] | None, count: int | None, environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """The GPUs the jobs share, as CUDA_VISIBLE_DEVICES entries: `chosen` (`--gpus`, checked
    against `count` when it is known), else the user's own CUDA_VISIBLE_DEVICES, else every one of
    the `count` GPUs; () for none (no GPU here, or CUDA_VISIBLE_DEVICES empty or -1)."""
    environ = os.environ if environ is None else environ
    if chosen:
        if count is not None:
            beyond = [i for i in chosen if i >= count]
            if beyond:
                allowed = "this machine has no GPU" if count == 0 else f"this machine's are 0 to {count - 1}"
                raise ConfigError(f"--gpus names GPU {beyond[0]}: {allowed}")
        return tuple(str(i) for i in chosen)
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        entries = tuple(part.strip() for part in visible.split(",") if part.strip())
        # CUDA stops at the first invalid entry: -1 (or nothing) hides every GPU.
        return () if not entries or entries[0].startswith("-") else entries
    return tuple(str(i) for i in range(count or 0))


def assign_gpus(jobs: int, gpus: Sequence[str]) -> list[str | None]:
    """The GPU of each job, 1 to `jobs`: job i gets `gpus[(i - 1) mod len(gpus)]`; None each when
    there are none."""
    return [gpus[i % len(gpus)] if gpus else None for i in range(jobs)]
