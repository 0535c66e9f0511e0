"""The Images tab: clean / noisy / denoised / error-map rows for 8 test images, per epoch.

The 8 are the fixed pictures (the same every epoch) or, after `f`, that epoch's 8 worst test
pictures by PSNR (`runs.worst`); the error map is |denoised - clean| on a heat scale with its own
legend (`e`: on where there is room, else on asking, in place of the noisy row). `c` shows the
per-class test PSNR bars of the epoch shown (`widgets.class_bars`) beside the pictures, or
instead of them where the width is short of `BARS_BESIDE` columns.

Keeps every epoch's `Samples` of the run shown. Its keys work whatever has focus on the tab:
←/→ move the selection across images (its PSNR, noisy vs denoised, is shown); [ and ] step back
and forward through earlier epochs; while the latest epoch is shown, new epochs replace it,
otherwise the view stays where the user put it. z cycles the picture size auto / full / half;
auto fits all three rows in the height (see `image_strip.choose_fit`); ↑/↓ scroll when a fixed
size is taller than the terminal. P switches the pictures between true pixels (kitty graphics, where
the terminal shows them: `dae_tui.ui.pixels`) and half blocks.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from dae_tui.core.config import CLASS_NAMES
from dae_tui.core.events import Samples
from dae_tui.core.formatting import fit_first, plural
from dae_tui.runs.classes import ClassScores
from dae_tui.ui import pixels
from dae_tui.ui.keys import Key, TabKeys
from dae_tui.ui.plain import plain
from dae_tui.ui.widgets.class_bars import ClassBars
from dae_tui.ui.widgets.image_strip import (
    ZOOMS,
    Fit,
    ImageStrip,
    PictureRow,
    class_name,
    error_row,
    rows_of,
    size_wordings,
)

__all__ = ["BARS_BESIDE", "ImageBrowser"]

NO_IMAGES = "No images yet: press s to train."
ERRORS_MIN = 14
"""The least picture size at which the error maps join the three rows unasked (e shows them
anyway)."""
BARS_BESIDE = 120
"""From this width the per-class bars sit beside the pictures; below it they take their place."""


class ImageBrowser(TabKeys, Vertical):
    """Browse a run's reconstructions by image and by epoch."""

    BINDINGS = [
        # Priority keys: the tab strip, focused, would take ← → otherwise (`TabKeys`).
        Key(
            "left",
            "image(-1)",
            "Prev",
            show=False,
            priority=True,
            help_keys="← →",
            help="select the previous / next picture (its noisy and denoised PSNR are shown)",
        ),
        Binding("right", "image(1)", "Next", show=False, priority=True),
        Key(
            "left_square_bracket",
            "epoch(-1)",
            "Earlier",
            key_display="[",
            priority=True,
            help_keys="[  ]",
            help="step back / forward through the run's epochs (0 is before training)",
        ),
        Binding("right_square_bracket", "epoch(1)", "Later", key_display="]", priority=True),
        Key(
            "z",
            "zoom",
            "Size",
            priority=True,
            help="picture size: auto (the largest that fits), full, half",
            palette="Picture size",
            palette_help="Images: auto, full or half size",
            palette_always=True,
        ),
        Key(
            "e",
            "errors",
            "Errors",
            priority=True,
            help="error maps |denoised - clean| on a heat scale, with their legend: on / off "
            "(on where there is room; on a short terminal they take the noisy row's place)",
            palette="Error maps",
            palette_help="Images: |denoised - clean| of each picture as a heat map",
            palette_always=True,
        ),
        Key(
            "f",
            "worst",
            "Worst",
            priority=True,
            help="the fixed 8 test pictures / the epoch's 8 worst by PSNR",
            palette="Worst pictures",
            palette_help="Images: the 8 test pictures the model denoises worst, or the fixed 8",
            palette_always=True,
        ),
        Key(
            "c",
            "classes",
            "Classes",
            priority=True,
            help="per-class test PSNR bars of the epoch shown, the worst class marked",
            palette="Per-class scores",
            palette_help="Images: test PSNR of each class as bars",
            palette_always=True,
        ),
        Key(
            "b",
            "compare",
            "Compare",
            priority=True,
            help="compare: the marked runs' denoised rows one above the other",
            palette="Compare marked runs",
            palette_help="Images: their denoised rows one above the other",
            palette_always=True,
        ),
        Key(
            "P",
            "pixels",
            "Pixels",
            priority=True,
            help="pictures in true pixels (kitty graphics) or half blocks, where the terminal shows pixels",
            palette="Pixels or half blocks",
            palette_help="Images: true pixels (kitty graphics) or half blocks",
            palette_always=True,
        ),
        Key(
            "up",
            "scroll_images(-1)",
            "Up",
            show=False,
            priority=True,
            help_keys="↑ ↓",
            help="scroll, when a fixed size is taller than the terminal",
        ),
        Binding("down", "scroll_images(1)", "Down", show=False, priority=True),
    ]

    DEFAULT_CSS = """
    ImageBrowser { height: 1fr; }
    ImageBrowser #info { height: 1; padding: 0 1; background: $boost; }
    ImageBrowser #body { height: 1fr; }
    ImageBrowser #pictures { width: 1fr; height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    ImageBrowser ClassBars { display: none; }
    ImageBrowser.-classes ClassBars { display: block; }
    ImageBrowser.-classes.-narrow ClassBars { width: 1fr; }
    ImageBrowser.-classes.-narrow #pictures { display: none; }
    """

    selected: reactive[int] = reactive(0)
    """Index (0-7) of the highlighted image."""
    viewing: reactive[int | None] = reactive(None)
    """The epoch shown, or None to follow the latest."""
    zoom: reactive[str] = reactive("auto")
    """Picture size: auto (the largest that fits), full or half."""
    compare: reactive[bool] = reactive(False)
    """Show the marked runs' denoised rows one above the other (see `compare_sources`)."""
    worst: reactive[bool] = reactive(False)
    """Show each epoch's 8 worst test pictures (by PSNR) instead of the fixed 8."""
    errors: reactive[bool | None] = reactive(None)
    """Draw the error-map row: True or False as `e` set it; None: where there is room."""
    per_class: reactive[bool] = reactive(False)
    """Show the per-class test PSNR bars."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history: dict[int, Samples] = {}
        """Every epoch's samples of the run shown, by epoch (0: before training)."""
        self.dataset = "mnist"
        self.epochs = 0
        self.run_name: str | None = None
        """The run opened from the Runs tab, or None for this dashboard's own run."""
        self.folder: str | None = None
        """The folder of the run whose pictures these are (None: no run, or a new one not yet
        started): pictures read or trained for another folder are not added."""
        self.reading = False
        """True while the run's saved pictures are being read (the info line says so)."""
        self.compare_sources: list[tuple[str, dict[int, Samples], str | None]] = []
        """(label, every epoch's samples, dataset) of each marked run, for the comparison rows."""
        self.worst_history: dict[int, Samples] = {}
        """Every epoch's 8 worst test pictures of the run shown, by epoch (from epoch 1)."""
        self.class_scores: dict[int, ClassScores] = {}
        """Every epoch's per-class (PSNR, SSIM) of the run shown, by epoch."""

    def compose(self) -> ComposeResult:
        yield Static(NO_IMAGES, id="info")
        with Horizontal(id="body"):
            with VerticalScroll(id="pictures", can_focus=False):
                yield ImageStrip(id="browser-strip")
            yield ClassBars(id="class-bars")

    def reset(self, dataset: str, epochs: int, folder: str | None = None) -> None:
        """A new run of this dashboard (in `folder`, once it has one): forget the old images."""
        self.show_run(None, dataset, epochs, {}, folder)

    def show_run(
        self,
        name: str | None,
        dataset: str,
        epochs: int,
        history: dict[int, Samples],
        folder: str | None = None,
        reading: bool = False,
    ) -> None:
        """Show another run's pictures (`name`), at its last epoch; `reading`: they are still
        being read from `folder` (see `add_saved`)."""
        if folder != self.folder or not history:
            self.worst_history, self.class_scores = {}, {}
        self.history = dict(history)
        self.run_name, self.dataset, self.epochs, self.folder = name, dataset, epochs, folder
        self.reading = reading
        self.viewing = None
        self._redraw()

    def add_saved(
        self,
        folder: str,
        history: dict[int, Samples],
        worst: dict[int, Samples] | None = None,
        classes: dict[int, ClassScores] | None = None,
    ) -> bool:
        """The pictures (fixed and worst) and per-class scores read from `folder`'s files, kept
        if this is still the run shown (epochs trained here meanwhile win); False when the user
        has moved on to another run."""
        if folder != self.folder:
            return False
        self.history = {**history, **self.history}
        self.worst_history = {**(worst or {}), **self.worst_history}
        self.class_scores = {**(classes or {}), **self.class_scores}
        self.reading = False
        self._redraw()
        return True

    def add_worst(self, folder: str, worst: dict[int, Samples]) -> None:
        """The worst pictures read again from `folder` after an epoch ended, if it is still shown."""
        if folder == self.folder:
            self.worst_history = {**self.worst_history, **worst}
            self._redraw()

    def add_classes(self, epoch: int, scores: ClassScores) -> None:
        """A new epoch's per-class scores (from its `EpochEnd`); nothing for an older run's none."""
        if scores[0]:
            self.class_scores[epoch] = scores
            self._redraw()

    def set_compare_sources(self, sources: list[tuple[str, dict[int, Samples], str | None]]) -> None:
        """The marked runs' pictures; redrawn at once when comparing."""
        self.compare_sources = sources
        if len(sources) < 2:
            self.compare = False
        self._redraw()

    def toggle_compare(self) -> bool:
        """Compare the marked runs' denoised rows, or stop; False when fewer than two are marked."""
        if not self.compare and len(self.compare_sources) < 2:
            return False
        self.compare = not self.compare
        return True

    def add(self, samples: Samples) -> None:
        """Keep a new epoch's samples; shown at once when following the latest."""
        self.history[samples.epoch] = samples
        self._redraw()

    @property
    def latest(self) -> Samples | None:
        """The newest epoch's samples, if any."""
        return self.history[max(self.history)] if self.history else None

    @property
    def pool(self) -> dict[int, Samples]:
        """The pictures browsed now: the worst ones of each epoch, or the fixed ones."""
        return self.worst_history if self.worst else self.history

    @property
    def shown_epoch(self) -> int | None:
        """The epoch on screen (None when there are no images)."""
        pool = self.pool
        if not pool:
            return None
        return self.viewing if self.viewing in pool else max(pool)

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES.get(self.dataset, ())

    def select(self, step: int) -> None:
        """Move the selection by `step` images (wrapping)."""
        count = len(next(iter(self.pool.values())).clean) if self.pool else 8
        self.selected = (self.selected + step) % count

    def step_epoch(self, step: int) -> None:
        """Show an earlier (-1) or later (+1) epoch; the newest one follows new epochs again."""
        if not self.pool:
            return
        epochs = sorted(self.pool)
        at = epochs.index(self.shown_epoch)  # type: ignore[arg-type]
        target = epochs[max(0, min(len(epochs) - 1, at + step))]
        self.viewing = None if target == epochs[-1] else target

    def scroll_rows(self, step: int) -> None:
        """Scroll by one picture row, for fixed sizes taller than the terminal."""
        strip = self.query_one(ImageStrip)
        self.query_one("#pictures").scroll_relative(y=step * (strip.fit.cell_rows + 1), animate=False)

    def cycle_zoom(self) -> None:
        names = list(ZOOMS)
        self.zoom = names[(names.index(self.zoom) + 1) % len(names)]

    def action_image(self, step: int) -> None:
        self.select(step)

    def action_epoch(self, step: int) -> None:
        self.step_epoch(step)

    def action_zoom(self) -> None:
        self.cycle_zoom()

    def action_scroll_images(self, step: int) -> None:
        self.scroll_rows(step)

    def action_pixels(self) -> None:
        """True pixels or half blocks, for every picture strip (the Train tab's too)."""
        if pixels.switch() is None:
            self.notify(pixels.how_to_ask(), timeout=6)
            return
        for strip in self.app.query(ImageStrip):
            strip.refresh()
        self._redraw()  # the caption names the renderer

    def action_errors(self) -> None:
        self.errors = not self.errors_shown

    def action_worst(self) -> None:
        self.worst = not self.worst

    def action_classes(self) -> None:
        self.per_class = not self.per_class

    def action_compare(self) -> None:
        """The marked runs' denoised rows one above the other, or back; says which marked runs
        it leaves out, and why, in one line."""
        if not self.toggle_compare():
            self.notify("Mark two or more runs on the Runs tab (space) to compare them here.", timeout=4)
            return
        samples = self.history.get(self.shown_epoch) if self.shown_epoch is not None else None
        if self.compare and samples is not None:
            rows, left_out = self._compared(samples)
            if left_out:
                self.notify(
                    f"Comparing {len(rows)} of {plural(len(self.compare_sources), 'marked run')}: {left_out}.",
                    severity="warning",
                    timeout=8,
                )

    def watch_selected(self) -> None:
        self._redraw()

    def watch_viewing(self) -> None:
        self._redraw()

    def watch_zoom(self) -> None:
        self._redraw()

    def watch_compare(self) -> None:
        self._redraw()

    def watch_errors(self) -> None:
        self._redraw()

    def watch_worst(self) -> None:
        self.selected = 0  # the worst first: the first of one epoch's pictures is its worst
        self._redraw()

    def watch_per_class(self, shown: bool) -> None:
        self.set_class(shown, "-classes")
        self._redraw()

    def on_resize(self) -> None:
        self.set_class(self.size.width < BARS_BESIDE, "-narrow")
        self._redraw()  # the info line's wording follows the width

    def on_image_strip_refitted(self) -> None:
        self._redraw()  # the info line names the picture size drawn

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        info = self.query_one("#info", Static)
        strip = self.query_one(ImageStrip)
        epoch = self.shown_epoch
        self._show_bars(epoch)
        if epoch is None:
            if self.worst and self.history:
                info.update("No worst pictures saved: they come after each epoch, from epoch 1 (f: the fixed 8).")
            elif self.folder is None:
                info.update(NO_IMAGES)
            elif self.reading:
                info.update("Reading the run's pictures …")
            elif self.run_name:
                info.update(plain(f"No pictures saved in {self.run_name}."))
            else:
                info.update("No pictures yet: the first come before epoch 1 trains.")
            strip.show([], 0, self.zoom)
            return
        samples = self.pool[epoch]
        rows = rows_of(samples, self.class_names)
        compared, left_out = self._compared(samples) if self.compare and not self.worst else ([], "")
        strip.show(rows[:2] + compared if compared else self._with_errors(rows, samples), self.selected, self.zoom)
        width = info.content_region.width or self.size.width
        info.update(plain(self.caption(samples, len(compared), width, left_out)))

    @property
    def errors_shown(self) -> bool:
        """Whether the error maps are drawn: as `errors` says, else where there is room."""
        return self.errors if self.errors is not None else self._room_for_errors()

    def _room_for_errors(self) -> bool:
        """Whether four rows and a legend fit the height at `ERRORS_MIN` pixels or more (from
        about 200x60): below that the three rows keep the size they had before error maps."""
        room = self.query_one("#pictures").size.height
        return bool(room) and Fit(ERRORS_MIN, 1, 4, 1).height <= room

    def _with_errors(self, rows: list[PictureRow], samples: Samples) -> list[PictureRow]:
        """The rows, and the error maps under them when shown; where four rows do not fit
        (e at 80x24), the error maps take the noisy row's place (its PSNR stays on the info
        line), so the map and its legend are in view without scrolling."""
        if not self.errors_shown:
            return rows
        room = self.query_one("#pictures").size.height
        if self.zoom == "auto" and room and not self._room_for_errors():
            return [rows[0], rows[2], error_row(samples)]
        return [*rows, error_row(samples)]

    def _show_bars(self, epoch: int | None) -> None:
        """The per-class bars of the epoch shown (its latest scored one, before training)."""
        if not self.per_class:
            return
        bars = self.query_one(ClassBars)
        scored = [e for e in self.class_scores if epoch is None or e <= epoch] or sorted(self.class_scores)[-1:]
        if not scored:
            trained = any(e > 0 for e in self.history) or self.run_name is not None
            older = self.folder is not None and not self.reading and trained
            empty = "None kept: the run is older than them." if older else "None yet: they come with epoch 1."
            bars.show(self.class_names, None, "Per-class test PSNR", empty)
            return
        at = max(scored)
        bars.show(self.class_names, self.class_scores[at], f"Per-class test PSNR · epoch {at} · c: hide")

    def _compared(self, samples: Samples) -> tuple[list[PictureRow], str]:
        """Each marked run's denoised row at the shown epoch (or its last, if it has fewer), for
        the same test pictures; and which runs are left out and why, as one phrase ("" for
        none): `left out 3 lr 1e-2 (fashion-mnist, not mnist)`."""
        rows, dropped = [], []
        for label, history, dataset in self.compare_sources:
            epochs = [e for e in history if e <= samples.epoch] or sorted(history)[:1]
            if not epochs:
                dropped.append(f"{label} (no pictures saved)")
                continue
            theirs = history[max(epochs)]
            if theirs.indices != samples.indices:
                other = dataset and dataset != self.dataset
                dropped.append(f"{label} ({f'{dataset}, not {self.dataset}' if other else 'other test pictures'})")
                continue
            rows.append(PictureRow(label, theirs.denoised, [f"{v:.1f} dB" for v in theirs.denoised_psnr]))
        return rows, f"left out {', '.join(dropped)}" if dropped else ""

    def caption(self, samples: Samples, compared: int = 0, width: int = 0, left_out: str = "") -> str:
        """The info line: the run, epoch, the selected image, its PSNRs and the picture size mode.

        With a `width`, the longest wording that fits: SSIM, then the hints and the run go before
        the PSNRs and the size do (at 80 columns the line once ran out before the denoised value,
        and below 120 it dropped the size `z` sets)."""
        i, epoch = self.selected, samples.epoch
        name = class_name(self.class_names, samples.labels[i])
        gain = samples.denoised_psnr[i] - samples.noisy_psnr[i]
        when = "before training" if epoch == 0 else f"epoch {epoch}/{self.epochs}"
        latest = " (latest)" if epoch == max(self.pool) else " ([ ] to step)"
        run = f"{self.run_name} · " if self.run_name else ""
        which = f"{'worst ' if self.worst else ''}#{i + 1}/{len(samples.clean)} {name}"
        size_long, size_mid, size_short = size_wordings(self.zoom, self.query_one(ImageStrip).fit)
        if compared:
            total = len(self.compare_sources)
            of = f"{compared} of {total}" if left_out else str(compared)
            told = [  # which runs are not compared, and why, before anything else goes
                f"{run}{when}{latest} · comparing {of} marked runs, {left_out} (b: back) · {which} · {size_long}",
                f"{when} · comparing {of} marked runs, {left_out} (b: back) · {which} · {size_short}",
            ]
            variants = [
                *(told if left_out else []),
                f"{run}{when}{latest} · comparing {of} marked runs (b: back) · {which} · {size_long}",
                f"{run}{when} · comparing {compared} runs (b: back) · {which} · {size_mid}",
                f"{when} · comparing {compared} runs (b: back) · {which} · {size_short}",
                f"{when} · {compared} runs · {which} · {size_short}",
            ]
        else:
            has_ssim = len(samples.noisy_ssim) > i and len(samples.denoised_ssim) > i  # older runs have none
            noisy, denoised = f"{samples.noisy_psnr[i]:.2f} dB", f"{samples.denoised_psnr[i]:.2f} dB"
            full = (
                (f"{noisy} SSIM {samples.noisy_ssim[i]:.2f} → denoised {denoised} SSIM {samples.denoised_ssim[i]:.2f}")
                if has_ssim
                else f"{noisy} → denoised {denoised}"
            )
            variants = [
                f"{run}{when}{latest} · {which}: noisy {full} ({gain:+.2f} dB) · {size_long}",
                f"{run}{when}{latest} · {which}: noisy {noisy} → denoised {denoised} ({gain:+.2f} dB) · {size_mid}",
                f"{run}{when}{latest} · {which}: noisy {noisy} → {denoised} ({gain:+.2f}) · {size_short}",
                f"{run}{when} · {which}: noisy {noisy} → {denoised} ({gain:+.2f}) · {size_short}",
                f"{when} · {which}: noisy {noisy} → {denoised} ({gain:+.2f}) · {size_short}",
                f"{which}: noisy {noisy} → {denoised} ({gain:+.2f}) · {size_short}",
            ]
        return fit_first(width, *variants) if width else variants[0]
