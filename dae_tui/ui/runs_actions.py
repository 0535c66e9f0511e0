"""What the dashboard does with a run picked on the Runs tab: open, copy, resume, delete, overlay.

A part of `DaeApp` (see `base`); the Runs tab (`RunsView`)
posts `RunChosen` and `RunMarksChanged`, and these handlers act on the form, the chart, the
Images tab and the disk. The run store and the sample files are imported on first use, so the
first frame does not wait for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from dae_tui.core.config import ConfigError, flags_to_labels
from dae_tui.core.events import Samples
from dae_tui.ui.base import DashboardBase
from dae_tui.ui.messages import RunChosen, RunMarksChanged, while_shown
from dae_tui.ui.panes import ImageBrowser
from dae_tui.ui.resume import ResumeInfo
from dae_tui.ui.widgets import ConfigForm, LossChart
from dae_tui.ui.widgets.loss_chart import Series
from dae_tui.ui.widgets.run_status import ACTIVE_STATES

if TYPE_CHECKING:
    from dae_tui.runs.store import RunInfo
    from dae_tui.ui.panes.inspect import InspectView
    from dae_tui.ui.panes.runs import RunsView

__all__ = ["RunsActions"]


class RunsActions(DashboardBase):
    """The Runs tab's commands: a part of `DaeApp` (see `base`)."""

    @while_shown
    def on_run_chosen(self, message: RunChosen) -> None:
        {
            "open": self.open_run,
            "clone": self.clone_run,
            "resume": self.resume_run,
            "delete": self.delete_run,
            "inspect": self.inspect_run,
            "attach": lambda run: self.attach_run(run.path),
        }[message.action](message.run)

    @while_shown
    def on_run_marks_changed(self, message: RunMarksChanged) -> None:
        """Overlay the marked runs on the Train tab's chart and offer them to the Images tab."""
        own = str(Path(self.run_dir).resolve()) if self.run_dir and self.state in ACTIVE_STATES else None
        self.query_one("#chart", LossChart).set_overlays(
            Series.of_run(run, mark, label) for mark, run, label in message.marks if str(run.path.resolve()) != own
        )
        self.query_one(ImageBrowser).set_compare_sources(
            [(f"{mark} {label}", self._samples_of(run), run.dataset) for mark, run, label in message.marks]
        )

    def _samples_of(self, run: RunInfo) -> dict[int, Samples]:
        """A run's saved pictures, read again only when its folder changed."""
        key = (str(run.path), run.mtime)
        if self._samples_cache.get(str(run.path), (None,))[0] != key:
            from dae_tui.runs.samples import load_samples

            self._samples_cache[str(run.path)] = (key, load_samples(run.path))
        return self._samples_cache[str(run.path)][1]

    def open_run(self, run: RunInfo) -> None:
        """Make a run (from the Runs or Sweep tab) the current one: its state, figures and curves,
        its saved pictures (read in the background) and its model on Inspect. While this
        dashboard trains, only the Images and Inspect tabs show it (their captions name it)."""
        dataset = run.dataset or "mnist"
        if self.state in ACTIVE_STATES:
            browser = self.query_one(ImageBrowser)
            browser.show_run(run.name, dataset, run.epochs, {}, str(run.path), reading=True)
            self._read_pictures(str(run.path))
            self.inspect_run(run, show=False)
            self.notify(
                f"Opened {run.name} in the Images tab (i); the chart keeps the run that is "
                "training here: mark the other with space to overlay it.",
                timeout=6,
            )
            return
        # Its own state (finished, pruned, stopped…), never what this dashboard's last run ended in.
        self._switch_run(
            str(run.path),
            dataset,
            run.epochs,
            name=run.name,
            title=run.name,
            points=Series.of_run(run, 1, "").points,
            state=run.status,
            epoch=run.epochs_done,
            ssim=run.last_test_ssim,
            where=f"run folder {run.path}",
            message=f"showing {run.name}: s trains the form's settings",
        )
        pictures = (
            "its pictures in the Images tab (i), [ ] step epochs"
            if (run.path / "samples").is_dir()
            else "no pictures saved"
        )
        self.notify(f"Opened {run.name}: its curves on the Train tab (t), {pictures}.", timeout=6)

    def clone_run(self, run: RunInfo) -> None:
        """Copy a run's config into the form, to tweak and start a variant."""
        if run.config is None:
            self.notify(f"{run.name} has no readable config to copy.", severity="error")
            return
        if self.state in ACTIVE_STATES:
            self.notify("A run is going here: stop it first (x), then copy.", severity="warning")
            return
        if self.resume:
            self._leave_resume()
        self.query_one(ConfigForm).set_config(run.config)
        self.action_show_tab("train")
        self.notify(f"Copied the settings of {run.name}: change what you like and press s.")

    def resume_run(self, run: RunInfo) -> None:
        """Continue a stopped, interrupted or failed run; extend a finished one (asking how far)."""
        if run.status == "running":
            self.notify(f"{run.name} is training right now; it cannot be resumed twice.", severity="warning")
            return
        if run.status == "suspended":
            self.notify(f"{run.name}: {run.message}", title="Cannot resume", severity="warning")
            return
        if self.state in ACTIVE_STATES:
            self.notify("A run is going here: stop it first (x), then resume.", severity="warning")
            return
        if self.read_only:
            self.notify(self.read_only, title="Cannot resume", severity="warning")
            return
        try:
            info = ResumeInfo.read(run.path)
        except ConfigError as err:
            self.notify(flags_to_labels(str(err)), title="Cannot resume", severity="error")
            return
        if info.epochs_done < info.config.epochs:
            self._enter_resume(info, {})
            self.action_show_tab("train")
            return

        def extend(epochs: int | None) -> None:
            if epochs:
                self._enter_resume(info, {"epochs": epochs})
                self.action_show_tab("train")

        from dae_tui.ui.dialogs.screens import EpochsScreen  # the dialogs' module waits for its first use

        self.push_screen(EpochsScreen(run.name, info.epochs_done), extend)

    def delete_run(self, run: RunInfo) -> None:
        """Delete a run's folder after asking, never one that is training or suspended (the run
        store takes the folder's lock to delete, so a trainer that holds it makes it refuse even
        when the table is a second behind)."""
        mine = self.run_dir is not None and Path(self.run_dir).resolve() == run.path.resolve()
        if run.status == "running" or (mine and self.state in ACTIVE_STATES):
            self.notify(f"{run.name} is training: stop it before deleting it.", severity="warning")
            return
        if run.status == "suspended":
            self.notify(f"{run.name} is not deleted: {run.message}", title="Not deleted", severity="warning")
            return
        if self.read_only:
            self.notify(self.read_only, title="Not deleted", severity="warning")
            return
        best = f", best {run.best_test_psnr:.2f} dB" if run.best_test_psnr is not None else ""
        question = (
            f"Delete run {run.name} ({run.epochs_done}/{run.epochs} epochs{best})?\n"
            f"Its folder {run.path} and its checkpoint are removed for good."
        )

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            from dae_tui.runs.store import RunStoreError
            from dae_tui.runs.store import delete_run as delete_stored_run

            try:
                delete_stored_run(run.path)
            except RunStoreError as err:
                self.notify(str(err), title="Not deleted", severity="error")
                return
            if self.inspect_pick is not None and Path(self.inspect_pick).resolve() == run.path.resolve():
                self.inspect_pick = None
            if self.query("#inspect-view"):
                # The panes load on first use: their classes are not imported here to check the type.
                view = cast("InspectView", self.query_one("#inspect-view"))
                if view.target == run.path.resolve():
                    view.inspect(None)  # not a model whose folder is gone
            if self.resume and Path(self.resume.path) == run.path.resolve():
                self.action_new_run()
            elif mine:  # the current run: its figures and pictures go with it
                self._switch_run(
                    None,
                    self.run_dataset,
                    run.epochs,
                    epochs=0,
                    message=f"deleted {run.name}",
                    where="New run: set up the form and press s.",
                )
            self.log_line(f"deleted {run.path}")
            self.notify(f"Deleted {run.name}.")
            cast("RunsView", self.query_one("#runs-view")).poll_now()

        from dae_tui.ui.dialogs.screens import ConfirmScreen

        self.push_screen(ConfirmScreen(question, "delete", "keep it"), answered)
