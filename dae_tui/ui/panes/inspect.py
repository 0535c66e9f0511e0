"""The Inspect tab: a trained model's robustness curve, live what-if noise and a digit to draw.

    info line        run · model on dataset · epoch · test images
    noise slider     kind (k), factor (- + or the mouse), the run's own noise (o)
    curve            PSNR of noisy input and output against the factor (computed once per checkpoint)
    draw             28x28 canvas, its noisy version, the model's output
    what-if          the 8 fixed test pictures, clean / noisy / denoised, at the slider's noise

From 160x45 all three show at once; on smaller terminals one at a time (v cycles them). The model
is loaded from the run's checkpoint by a thread worker, and every change of noise or drawing is
worked out in a thread worker too (`training.inspection`), so the UI never waits for torch.
Results of an older request (a newer one was made meanwhile) are dropped. Imports no torch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.worker import get_current_worker

from dae_tui.core.config import CLASS_NAMES, format_number
from dae_tui.ui.halfblock import picture_lines
from dae_tui.ui.keys import Key, TabKeys
from dae_tui.ui.widgets.draw_panel import DrawCanvas, DrawPanel
from dae_tui.ui.widgets.fitted import FitLine
from dae_tui.ui.widgets.image_strip import ImageStrip, class_name, rows_of
from dae_tui.ui.widgets.noise_slider import NoiseSlider
from dae_tui.ui.widgets.robustness_chart import RobustnessChart

__all__ = ["VIEWS", "InspectView"]

VIEWS = {"curve": "curve", "whatif": "what-if", "draw": "draw"}
"""The tab's sections (and their labels), in the order v cycles them on terminals too small to
show all three."""
NO_RUN = "No run to inspect yet: train one (s), or pick one on the Runs tab (r, then n)."


class InspectView(TabKeys, Vertical):
    """Everything the Inspect tab shows, for one run's checkpoint."""

    BINDINGS = [
        # Priority keys, as the Images tab's (`TabKeys`); the Runs tab has its own c, o, v.
        Key(
            "minus",
            "noise(-1)",
            "Less noise",
            key_display="-",
            priority=True,
            help_keys="- +",
            help="less / more noise (or click and drag on the noise line); every picture follows",
        ),
        Binding("plus,equals_sign", "noise(1)", "More noise", key_display="+", priority=True),
        Key(
            "k",
            "noise_kind(1)",
            "Kind",
            priority=True,
            help_keys="k  K",
            help="the next / previous noise kind (or click its name)",
            palette="Next noise kind",
            palette_help="Inspect: what-if and drawing under the next kind",
        ),
        Binding("K", "noise_kind(-1)", "Kind back", show=False, priority=True),
        Key(
            "o",
            "trained_noise",
            "Trained noise",
            show=False,
            priority=True,
            help="back to the noise the run was trained with",
            palette="Trained noise",
            palette_help="Inspect: back to the run's own noise",
        ),
        Key(
            "v",
            "inspect_view",
            "View",
            priority=True,
            help="on terminals under 160x45: robustness curve, what-if pictures or the canvas",
        ),
        Key("c", "clear_drawing", "Clear drawing", show=False, priority=True, help="clear the canvas"),
        Key(
            "u",
            "compute_curve",
            "Curve",
            show=False,
            priority=True,
            help="compute the robustness curve now (not started on its own while a run trains here)",
            palette="Compute the robustness curve",
            palette_help="Inspect: now, even while a run trains here",
        ),
        Key(
            "left",
            "image(-1)",
            "Prev",
            show=False,
            priority=True,
            help_keys="← →",
            help="select the previous / next what-if picture",
        ),
        Binding("right", "image(1)", "Next", show=False, priority=True),
    ]

    DEFAULT_CSS = """
    InspectView { height: 1fr; }
    InspectView #inspect-info { height: 1; padding: 0 1; background: $boost; }
    InspectView #inspect-top { height: 1fr; }
    InspectView #inspect-draw { width: 1fr; height: 16; }
    InspectView #inspect-whatif {
        height: 1fr; border-top: solid $foreground 20%; border-title-align: left; border-title-color: $text;
    }
    InspectView .section { display: none; }
    InspectView.-view-curve #robustness { display: block; }
    InspectView.-view-draw #inspect-draw { display: block; }
    InspectView.-view-whatif #inspect-whatif { display: block; }
    InspectView.-view-whatif #inspect-top { display: none; }
    """
    # From 160x45 every section shows: those rules are in app.tcss, by the Screen's size classes
    # (a widget's own CSS is scoped to it and cannot start from the Screen).

    view: reactive[str] = reactive("curve")
    """The section shown when the terminal is too small for all three."""

    @dataclass
    class Loaded(Message):
        generation: int
        inspector: Any | None
        error: str = ""
        waiting: bool = False
        """No checkpoint yet in a run folder that exists: epoch 1 has not finished."""

    @dataclass
    class WhatIf(Message):
        generation: int
        samples: Any
        kind: str
        factor: float
        ms: float

    @dataclass
    class Drawn(Message):
        generation: int
        drawing: Any

    @dataclass
    class Newest(Message):
        run: Path | None

    @dataclass
    class CurvePoint(Message):
        generation: int
        kind: str
        point: Any | None
        """None when the curve is complete (or was stopped)."""
        error: str = ""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.target: Path | None = None
        """The run folder inspected (or about to be)."""
        self.inspector: Any | None = None
        self.samples: Any | None = None
        """The what-if pictures on screen."""
        self.selected = 0
        self.update_ms: float | None = None
        """How long the last what-if update took, request to result (ms)."""
        self.curve_busy = False
        self._generation = 0
        """Counts the runs loaded: a result of an earlier one is dropped."""
        self._stale = False
        self._keep_noise = False
        self._info_text: tuple[str, ...] = (NO_RUN,)
        """The top line's wordings, fullest first (`FitLine`)."""
        self._info_error = False

    def compose(self) -> ComposeResult:
        yield FitLine(NO_RUN, id="inspect-info")
        yield NoiseSlider(id="noise-slider")
        with Horizontal(id="inspect-top"):
            yield RobustnessChart(id="robustness", classes="section")
            with Vertical(id="inspect-draw", classes="section"):
                yield DrawPanel(id="draw-panel")
        with Vertical(id="inspect-whatif", classes="section"):
            yield ImageStrip(id="whatif-strip")

    def on_mount(self) -> None:
        self.watch_view(self.view)

    def on_resize(self) -> None:
        # All sections at once, or one with v: the top line and the footer follow the size.
        self._info(*self._info_text, error=self._info_error)
        self.app.refresh_bindings()

    def watch_view(self, view: str) -> None:
        for name in VIEWS:
            self.set_class(name == view, f"-view-{name}")

    def cycle_view(self) -> None:
        names = list(VIEWS)
        self.view = names[(names.index(self.view) + 1) % len(names)]
        self._info(*self._info_text, error=self._info_error)

    @property
    def all_shown(self) -> bool:
        """True when the terminal is big enough for every section at once."""
        return self.screen.has_class("-wide") and self.screen.has_class("-tall")

    # --- keys -----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "inspect_view":  # nothing to cycle when every section shows
            return not self.all_shown
        return True

    def action_noise(self, steps: int) -> None:
        """Less (-) or more (+) noise, one round step."""
        self.query_one(NoiseSlider).nudge(steps)

    def action_noise_kind(self, step: int) -> None:
        """The next (k) or previous (K) noise kind."""
        self.query_one(NoiseSlider).cycle_kind(step)

    def action_trained_noise(self) -> None:
        """Back to the noise the run was trained with."""
        self.query_one(NoiseSlider).to_trained()

    def action_inspect_view(self) -> None:
        """On terminals too small for all three: curve, what-if or drawing."""
        self.cycle_view()

    def action_clear_drawing(self) -> None:
        self.clear_drawing()

    def action_compute_curve(self) -> None:
        """The robustness curve now, even while a run trains here."""
        self.compute_curve()

    def action_image(self, step: int) -> None:
        self.select(step)

    # --- which run ------------------------------------------------------------------------------

    def inspect(self, run: str | Path | None, force: bool = False) -> None:
        """Inspect the run in folder `run` (its latest checkpoint); None: nothing to inspect."""
        path = Path(run).resolve() if run is not None else None
        if path == self.target and not force and (self.inspector is not None or path is None):
            return
        self._keep_noise = path == self.target and self.inspector is not None  # a new epoch of the same run
        self.target = path
        self._stop_curve()
        self._generation += 1
        self.inspector = None
        self.samples = None
        chart = self.query_one(RobustnessChart)
        chart.start(chart.kind, (), None)
        chart.set_note("")
        self.query_one(ImageStrip).show([], 0)
        self.query_one(DrawPanel).show(None)
        if path is None:
            self._info(NO_RUN)
            return
        self._info(f"loading {path.name} …")
        self._load(path, self._generation)

    def inspect_newest(self, runs_dir: Path) -> None:
        """Inspect the newest run in `runs_dir` that has a saved epoch (looked up in a worker)."""
        if self.target is None:
            self._info("looking for the newest run …")
            self._find_newest(runs_dir)

    @work(thread=True, group="inspect-load", exclusive=True, exit_on_error=False)
    def _find_newest(self, runs_dir: Path) -> None:
        from dae_tui.runs.store import RunStoreError, list_runs

        try:
            runs = list_runs(runs_dir)
        except RunStoreError:
            runs = []
        newest = next((run.path for run in runs if run.epochs_done > 0), None)
        self.post_message(self.Newest(newest))

    @on(Newest)
    def _newest(self, message: Newest) -> None:
        if self.target is None:
            self.inspect(message.run)

    def checkpoint_saved(self, run: str | Path) -> None:
        """The run `run` saved a new epoch: reload it if it is the one inspected (now, or when the
        tab is next shown)."""
        if self.target is not None and Path(run).resolve() == self.target:
            if self.is_on_screen:
                self.inspect(self.target, force=True)
            else:
                self._stale = True

    def shown(self) -> None:
        """The tab became visible."""
        if self._stale and self.target is not None:
            self._stale = False
            self.inspect(self.target, force=True)

    @property
    def is_on_screen(self) -> bool:
        return self.is_mounted and self.region.area > 0 and self.display

    @work(thread=True, group="inspect-load", exclusive=True, exit_on_error=False)
    def _load(self, path: Path, generation: int) -> None:
        try:
            from dae_tui.training.inspection import Inspector

            inspector = Inspector(path)
        except Exception as err:  # noqa: BLE001 - one line for the user, never a crash
            from dae_tui.training.checkpoints import NoCheckpoint

            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            # A run folder still in its first epoch: its model comes with the first checkpoint.
            waiting = isinstance(err, NoCheckpoint) and err.config_folder is not None
            self.post_message(self.Loaded(generation, None, first, waiting))
        else:
            self.post_message(self.Loaded(generation, inspector))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return
        if message.inspector is None:
            name = self.target.name if self.target else "the run"
            if message.waiting:
                self._info(f"{name} has no finished epoch yet: its model shows here once epoch 1 is saved")
            else:
                self._info(f"cannot inspect {name}: {message.error}", error=True)
            return
        inspector = self.inspector = message.inspector
        config = inspector.config
        # At 80x24 beside the view names the line once ended `· seed on`: it says less instead.
        run, model = inspector.name, f"{config.model} on {config.dataset}"
        epoch = f"epoch {inspector.epoch}/{config.epochs}"
        self._info(
            f"{run} · {model} · {epoch} · {inspector.test_size:,} test images ({inspector.source})",
            f"{run} · {model} · {epoch}",
            f"{run} · {epoch}",
            run,
        )
        slider = self.query_one(NoiseSlider)
        slider.trained = (config.noise, config.noise_factor)
        if not self._keep_noise:  # another run: start from the noise it was trained with
            slider.set_noise(config.noise, config.noise_factor, announce=False)
        self._noise_changed(slider.kind, slider.factor, new_kind=True)

    def _info(self, *wordings: str, error: bool = False) -> None:
        """The top line: which section shows (when not all fit), then the run or what is wrong,
        in the fullest of `wordings` that fits."""
        self._info_text, self._info_error = wordings, error
        views = ""
        if not self.all_shown:
            views = (
                "".join(
                    f"[reverse] {label} [/]" if name == self.view else f" {label} " for name, label in VIEWS.items()
                )
                + "[dim](v)[/] │ "
            )
        # The run's name is text, not markup (a `Text` is never parsed); the view names are ours.
        self.query_one("#inspect-info", FitLine).say(
            *wordings, prefix=Text.from_markup(views), style="red" if error else ""
        )

    # --- noise: what-if and the drawing -------------------------------------------------------------

    @on(NoiseSlider.Changed)
    def _slider_moved(self, message: NoiseSlider.Changed) -> None:
        message.stop()
        kind_changed = message.kind != self.query_one(RobustnessChart).kind
        self._noise_changed(message.kind, message.factor, new_kind=kind_changed)

    def _noise_changed(self, kind: str, factor: float, new_kind: bool) -> None:
        if self.inspector is None:
            return
        size = self.query_one(ImageStrip).fit.size  # read here: workers do not touch widgets
        self._what_if(self.inspector, kind, factor, self._generation, time.perf_counter(), size)
        self._redraw_drawing()
        chart = self.query_one(RobustnessChart)
        chart.set_current(factor)
        if new_kind:
            self._show_curve(kind)

    @work(thread=True, group="inspect-whatif", exclusive=True, exit_on_error=False)
    def _what_if(self, inspector: Any, kind: str, factor: float, generation: int, asked: float, size: int) -> None:
        samples = inspector.what_if(kind, factor)
        # The half blocks at the size on screen, made here rather than on the UI thread (they are
        # cached by picture and size): most of an update's UI time, which the event loop no longer
        # spends (benchmarks/NOTES.md, "Half blocks made in the worker").
        for picture in samples.noisy + samples.denoised:
            picture_lines(picture, size)
        if not get_current_worker().is_cancelled:
            self.post_message(self.WhatIf(generation, samples, kind, factor, (time.perf_counter() - asked) * 1000))

    @on(WhatIf)
    def _what_if_done(self, message: WhatIf) -> None:
        # A worker overtaken by a newer request is cancelled and posts nothing.
        if message.generation != self._generation:
            return
        self.samples = message.samples
        self.update_ms = message.ms
        self._redraw_strip()

    def select(self, step: int) -> None:
        """Move the what-if selection by `step` pictures (wrapping)."""
        if self.samples is not None:
            self.selected = (self.selected + step) % len(self.samples.clean)
            self._redraw_strip()

    def _redraw_strip(self) -> None:
        samples = self.samples
        if samples is None or self.inspector is None:
            return
        names = CLASS_NAMES.get(self.inspector.config.dataset, ())
        self.query_one(ImageStrip).show(rows_of(samples, names), self.selected)
        self.query_one("#inspect-whatif").border_title = self.caption()

    def caption(self) -> str:
        """The what-if line: the noise, the selected picture's PSNR before and after, the time taken."""
        samples, slider = self.samples, self.query_one(NoiseSlider)
        if samples is None:
            return "what-if"
        i = self.selected
        names = CLASS_NAMES.get(self.inspector.config.dataset, ()) if self.inspector else ()
        name = class_name(names, samples.labels[i])
        gain = samples.denoised_psnr[i] - samples.noisy_psnr[i]
        took = f" · {self.update_ms:.0f} ms" if self.update_ms is not None else ""
        return (
            f"what-if {slider.kind} {format_number(slider.factor)} · #{i + 1} {name}: noisy "
            f"{samples.noisy_psnr[i]:.1f} dB → denoised {samples.denoised_psnr[i]:.1f} dB ({gain:+.1f}){took}"
        )

    @on(DrawCanvas.Changed)
    def _canvas_changed(self, message: DrawCanvas.Changed) -> None:
        message.stop()
        self._redraw_drawing()

    def _redraw_drawing(self) -> None:
        canvas = self.query_one(DrawCanvas)
        if self.inspector is None:
            return
        if canvas.is_blank:
            self.query_one(DrawPanel).show(None)
            return
        slider = self.query_one(NoiseSlider)
        self._draw(self.inspector, canvas.pixels, slider.kind, slider.factor, self._generation)

    @work(thread=True, group="inspect-draw", exclusive=True, exit_on_error=False)
    def _draw(self, inspector: Any, pixels: bytes, kind: str, factor: float, generation: int) -> None:
        drawing = inspector.denoise_drawing(pixels, kind, factor)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Drawn(generation, drawing))

    @on(Drawn)
    def _drawn(self, message: Drawn) -> None:
        if message.generation == self._generation and not self.query_one(DrawCanvas).is_blank:
            self.query_one(DrawPanel).show(message.drawing)

    def clear_drawing(self) -> None:
        self.query_one(DrawCanvas).clear()

    # --- the robustness curve -----------------------------------------------------------------------

    def _stop_curve(self) -> None:
        """Cancel a curve being computed (another run or kind now): its points are not wanted."""
        self.workers.cancel_group(self, "inspect-curve")
        self.curve_busy = False

    def _show_curve(self, kind: str) -> None:
        inspector = self.inspector
        if inspector is None:
            return
        self._stop_curve()
        chart = self.query_one(RobustnessChart)
        trained = inspector.config.noise_factor if kind == inspector.config.noise else None
        cached = inspector.cached_curve(kind)
        chart.start(kind, inspector.factors(kind), trained, cached or ())
        chart.set_current(self.query_one(NoiseSlider).factor)
        if cached is not None:
            chart.set_note(f"{inspector.test_size:,} test images · from {inspector.name}'s cache")
        elif getattr(self.app, "state", "idle") in ("loading", "training", "paused"):
            chart.set_note("not computed while a run trains here: u computes it now (it slows the run)")
        else:
            self.compute_curve()

    def compute_curve(self) -> None:
        """Compute the curve of the slider's kind (a no-op when it is already there)."""
        inspector, chart = self.inspector, self.query_one(RobustnessChart)
        if inspector is None or chart.done or self.curve_busy:
            return
        chart.start(chart.kind, chart.planned, chart.trained)
        chart.set_note(f"computing on {inspector.test_size:,} test images: 0/{len(chart.planned)} factors")
        self.curve_busy = True
        self._curve(inspector, chart.kind, self._generation)

    @work(thread=True, group="inspect-curve", exclusive=True, exit_on_error=False)
    def _curve(self, inspector: Any, kind: str, generation: int) -> None:
        worker = get_current_worker()
        try:
            for point in inspector.curve(kind, cancelled=lambda: worker.is_cancelled):
                if worker.is_cancelled:
                    return
                self.post_message(self.CurvePoint(generation, kind, point))
        except Exception as err:  # noqa: BLE001 - shown under the chart, never a crash
            self.post_message(self.CurvePoint(generation, kind, None, str(err).splitlines()[0]))
            return
        if not worker.is_cancelled:
            self.post_message(self.CurvePoint(generation, kind, None))

    @on(CurvePoint)
    def _curve_point(self, message: CurvePoint) -> None:
        chart = self.query_one(RobustnessChart)
        if self.inspector is None or message.generation != self._generation or message.kind != chart.kind:
            return
        if message.point is None:
            self.curve_busy = False
            if message.error:
                chart.set_note(f"cannot compute the curve: {message.error}")
            elif chart.done and self.inspector.save_error:
                chart.set_note(f"{self.inspector.test_size:,} test images · not saved: {self.inspector.save_error}")
            elif chart.done:
                chart.set_note(f"{self.inspector.test_size:,} test images · saved in {self.inspector.name}")
            return
        chart.add(message.point)
        chart.set_note(
            f"computing on {self.inspector.test_size:,} test images: {len(chart.points)}/{len(chart.planned)} factors"
        )
