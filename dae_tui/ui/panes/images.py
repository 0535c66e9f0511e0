"""The Images tab: clean / noisy / denoised rows for 8 fixed test images, per epoch.

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
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from dae_tui.core.config import CLASS_NAMES
from dae_tui.core.events import Samples
from dae_tui.core.formatting import fit_first, plural
from dae_tui.ui import pixels
from dae_tui.ui.keys import Key, TabKeys
from dae_tui.ui.plain import plain
from dae_tui.ui.widgets.image_strip import ZOOMS, ImageStrip, PictureRow, class_name, rows_of, size_wordings

__all__ = ["ImageBrowser"]

NO_IMAGES = "No images yet: press s to train."


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
    ImageBrowser #pictures { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    """

    selected: reactive[int] = reactive(0)
    """Index (0-7) of the highlighted image."""
    viewing: reactive[int | None] = reactive(None)
    """The epoch shown, or None to follow the latest."""
    zoom: reactive[str] = reactive("auto")
    """Picture size: auto (the largest that fits), full or half."""
    compare: reactive[bool] = reactive(False)
    """Show the marked runs' denoised rows one above the other (see `compare_sources`)."""

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

    def compose(self) -> ComposeResult:
        yield Static(NO_IMAGES, id="info")
        with VerticalScroll(id="pictures", can_focus=False):
            yield ImageStrip(id="browser-strip")

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
        self.history = dict(history)
        self.run_name, self.dataset, self.epochs, self.folder = name, dataset, epochs, folder
        self.reading = reading
        self.viewing = None
        self._redraw()

    def add_saved(self, folder: str, history: dict[int, Samples]) -> bool:
        """The pictures read from `folder`'s files, kept if this is still the run shown (epochs
        trained here meanwhile win); False when the user has moved on to another run."""
        if folder != self.folder:
            return False
        self.history = {**history, **self.history}
        self.reading = False
        self._redraw()
        return True

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
    def shown_epoch(self) -> int | None:
        """The epoch on screen (None when there are no images)."""
        if not self.history:
            return None
        return self.viewing if self.viewing in self.history else max(self.history)

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES.get(self.dataset, ())

    def select(self, step: int) -> None:
        """Move the selection by `step` images (wrapping)."""
        count = len(next(iter(self.history.values())).clean) if self.history else 8
        self.selected = (self.selected + step) % count

    def step_epoch(self, step: int) -> None:
        """Show an earlier (-1) or later (+1) epoch; the newest one follows new epochs again."""
        if not self.history:
            return
        epochs = sorted(self.history)
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

    def on_resize(self) -> None:
        self._redraw()  # the info line's wording follows the width

    def on_image_strip_refitted(self) -> None:
        self._redraw()  # the info line names the picture size drawn

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        info = self.query_one("#info", Static)
        strip = self.query_one(ImageStrip)
        epoch = self.shown_epoch
        if epoch is None:
            if self.folder is None:
                info.update(NO_IMAGES)
            elif self.reading:
                info.update("Reading the run's pictures …")
            elif self.run_name:
                info.update(plain(f"No pictures saved in {self.run_name}."))
            else:
                info.update("No pictures yet: the first come before epoch 1 trains.")
            strip.show([], 0, self.zoom)
            return
        samples = self.history[epoch]
        rows = rows_of(samples, self.class_names)
        compared, left_out = self._compared(samples) if self.compare else ([], "")
        strip.show(rows[:2] + compared if compared else rows, self.selected, self.zoom)
        width = info.content_region.width or self.size.width
        info.update(plain(self.caption(samples, len(compared), width, left_out)))

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
        latest = " (latest)" if epoch == max(self.history) else " ([ ] to step)"
        run = f"{self.run_name} · " if self.run_name else ""
        which = f"#{i + 1}/{len(samples.clean)} {name}"
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
