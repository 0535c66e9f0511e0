"""The machine in full, under the form from 160x45 up: per GPU its name, utilization (with the
run's img/s beside it), memory used and total with this run's share, temperature and power; the
host's CPU and RAM; this process's RSS. Under 160x45 the status panel's one line says less of it.

It draws the readings the app's sampler posts (`SystemWatch`: a thread worker, never the UI
thread) and samples nothing itself. One widget that renders its lines, like `RunStatus`: a new
reading repaints a few lines and never relays out the screen. It is mounted with the first
reading, after the first frame (`SystemWatch.show_system`), and the app's stylesheet shows it
only at -wide.-tall. Where NVML cannot be had it says why in the sampler's words ("no GPU",
"GPU metrics unavailable (why)").
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from dae_tui.core.formatting import fit_words
from dae_tui.system.sampler import MIB, GpuSample, SystemSample, gb, gpu_item, short_gpu_name

__all__ = ["FULL_GPUS", "SystemPane"]

FULL_GPUS = 4
"""GPUs shown three lines each; a box with more gets one line a GPU (the status line's item). At
45 rows four GPUs (16 rows with the host's) leave the form its 17 rows: the pane is never cut."""
BAR = 10
"""Cells of a utilization bar."""


def bar(percent: float, width: int = BAR) -> str:
    """`percent` as a bar of `width` cells, in block characters (readable with NO_COLOR)."""
    filled = round(max(0.0, min(100.0, percent)) / 100 * width)
    return "█" * filled + "░" * (width - filled)


class SystemPane(Widget):
    """The latest reading of the machine, a few lines a GPU, then the host."""

    DEFAULT_CSS = """
    SystemPane {
        height: auto; padding: 0 1;
        border-top: solid $foreground 20%; border-title-align: left; color: $text-muted;
    }
    """

    sample: reactive[SystemSample | None] = reactive(None, layout=True)
    """The machine's latest reading (None until the first)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "System"
        self.images_per_s: float | None = None
        """The img/s of the run training now, shown beside the utilization of `run_gpu`."""
        self.run_gpu: int | None = None
        """The NVML index of the GPU the current run trains on (None: not on a GPU)."""
        self.run_pid: int | None = None
        """The process that trains the current run (this one, or the one attached to): its
        share of each GPU's memory is the run's."""

    def show(
        self,
        sample: SystemSample,
        *,
        images_per_s: float | None = None,
        run_gpu: int | None = None,
        run_pid: int | None = None,
    ) -> None:
        """Show `sample`, with the run's img/s beside the utilization of `run_gpu` and its memory
        (`run_pid`'s) beside each GPU's."""
        self.images_per_s, self.run_gpu, self.run_pid = images_per_s, run_gpu, run_pid
        self.sample = sample
        self.refresh(layout=True)

    def gpu_lines(self, gpu: GpuSample) -> list[str]:
        """Three lines: the board, its temperature and power; its utilization (and the run's
        img/s on it); its memory (and the run's share of what is used)."""
        heat = " ".join(
            part
            for part in (
                f"{gpu.temperature}°C" if gpu.temperature is not None else "",
                f"{gpu.power_w:.0f} W" if gpu.power_w is not None else "",
            )
            if part
        )
        lines = [f"GPU{gpu.index} {short_gpu_name(gpu.name)}" + (f" · {heat}" if heat else "")]
        if gpu.utilization is not None:
            busy = f"  util {gpu.utilization:3.0f}% {bar(gpu.utilization)}"
            if self.images_per_s is not None and gpu.index == self.run_gpu:
                busy += f" {self.images_per_s:,.0f} img/s"
            lines.append(busy)
        if gpu.memory_used is not None and gpu.memory_total:
            memory = f"  mem {gb(gpu.memory_used)}/{gb(gpu.memory_total)} GB"
            own = gpu.memory_of(self.run_pid)
            if own:
                share = f" ({own / gpu.memory_used:.0%})" if gpu.memory_used else ""
                memory += f" · run {gb(own)} GB{share}"
            lines.append(memory)
        return lines

    def lines(self) -> list[str]:
        """The pane's lines, before fitting to its width."""
        sample = self.sample
        if sample is None:
            return ["reading the machine …"]
        out: list[str] = []
        for gpu in sample.gpus:
            if len(sample.gpus) <= FULL_GPUS:
                out += self.gpu_lines(gpu)
            else:
                out.append(gpu_item(gpu, self.images_per_s if gpu.index == self.run_gpu else None))
        if sample.gpu_note:
            out.append(sample.gpu_note)
        if sample.cpu_percent is not None:
            out.append(f"CPU {sample.cpu_percent:3.0f}% {bar(sample.cpu_percent)}")
        if sample.ram_used is not None and sample.ram_total:
            out.append(
                f"RAM {100 * sample.ram_used / sample.ram_total:3.0f}% {bar(100 * sample.ram_used / sample.ram_total)}"
                f" {gb(sample.ram_used)}/{gb(sample.ram_total)} GB"
            )
        if sample.rss is not None:
            out.append(f"RSS {sample.rss / MIB:,.0f} MB (dae-tui)")
        return out

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.lines())

    def render(self) -> Text:
        width = self.content_region.width or 38
        return Text("\n".join(fit_words(line, width) for line in self.lines()), no_wrap=True, overflow="crop")
