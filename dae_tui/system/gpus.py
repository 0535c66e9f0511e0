"""Which GPU each job of `dae-tui sweep --jobs J` trains on (job i gets GPU i mod N), and which
GPUs `--device cuda:N` can name here (`cuda_choices`, `choices_of`).

The `--jobs` parent never loads torch, so it counts GPUs through NVML (`sampler`), or takes the
set the user already gave in CUDA_VISIBLE_DEVICES; `--gpus 0,2` picks the GPUs instead (NVML's
numbering, as nvidia-smi shows it). Each child then sees one GPU alone in its CUDA_VISIBLE_DEVICES,
so its `--device auto` (cuda) is that GPU. Where there is no GPU the children's environment is
left as it is.

`cuda:N` counts the GPUs CUDA_VISIBLE_DEVICES leaves visible, in its order; `choices_of` maps
NVML's readings to that numbering, so the form, `dae-tui train` and the trainer judge a
`cuda:3` by the one rule (`dae_tui.core.config.device_problem`) and name the same GPUs.

Imports only the standard library, `dae_tui.core` and `sampler` (which loads NVML when a sampler
is made, not on import).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from dae_tui.core.config import ConfigError, GpuChoice
from dae_tui.system.sampler import NO_GPU, SystemSample, SystemSampler  # light: NVML loads with a sampler

__all__ = [
    "FAKED_NAME",
    "GPU_COUNT_ENV",
    "JOB_GPU_ENV",
    "assign_gpus",
    "choices_of",
    "count_gpus",
    "cuda_choices",
    "job_gpus",
    "parse_gpus",
]

GPU_COUNT_ENV = "DAE_TUI_GPU_COUNT"
"""For tests only: how many GPUs to take this machine for (NVML is not asked). A CPU machine can
then check the spreading of jobs (their CUDA_VISIBLE_DEVICES names GPUs that are not there, and
torch there finds no CUDA and trains on the CPU) and `--device cuda:N` against N GPUs named
`FAKED_NAME` (`cuda_choices`)."""

FAKED_NAME = "GPU faked by DAE_TUI_GPU_COUNT"
"""The name of each GPU `GPU_COUNT_ENV` makes up."""

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


def choices_of(sample: SystemSample, environ: Mapping[str, str] | None = None) -> tuple[GpuChoice, ...] | None:
    """The GPUs `cuda:0`, `cuda:1`... name, from a reading of NVML: through CUDA_VISIBLE_DEVICES
    when it lists indices (CUDA stops at the first entry that names none, so do we), all of
    NVML's in its order when unset; () where no GPU is visible; None where that cannot be told
    (NVML unreadable, or GPUs named by UUID or MIG instance)."""
    environ = os.environ if environ is None else environ
    if not sample.gpus:
        return () if sample.gpu_note == NO_GPU else None
    by_index = {gpu.index: gpu for gpu in sample.gpus}
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        order = [gpu.index for gpu in sample.gpus]
    else:
        entries = [part.strip() for part in visible.split(",") if part.strip()]
        if entries and not entries[0].startswith("-") and not all(part.isdigit() for part in entries):
            return None
        order = []
        for entry in entries:
            if not entry.isdigit() or int(entry) not in by_index:
                break
            order.append(int(entry))
    return tuple(
        GpuChoice(number, by_index[index].name, by_index[index].memory_free) for number, index in enumerate(order)
    )


def cuda_choices(environ: Mapping[str, str] | None = None) -> tuple[GpuChoice, ...] | None:
    """The GPUs `--device cuda:N` can name on this machine now (`choices_of` one reading of
    NVML); `GPU_COUNT_ENV` makes them up for a test. Opens NVML: call it off the UI thread, and
    only for a device that names a GPU."""
    environ = os.environ if environ is None else environ
    faked = environ.get(GPU_COUNT_ENV, "").strip()
    if faked.isdigit():
        return tuple(GpuChoice(i, FAKED_NAME) for i in range(int(faked)))
    sampler = SystemSampler()
    try:
        return choices_of(sampler.sample(), environ)
    finally:
        sampler.close()
