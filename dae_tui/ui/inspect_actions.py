"""What the dashboard does for the Inspect tab: which run it shows (the tab's keys are its pane's).

A part of `DaeApp` (see `base`). The tab inspects the run last picked on the Runs tab
(n, or Enter), else this dashboard's own run (the one training, or the last), else the run being
resumed, else the newest run in the runs folder with a saved epoch. A run started here becomes
the one inspected; each epoch it saves reloads the model there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual.widgets import TabbedContent

from dae_tui.ui.base import DashboardBase

if TYPE_CHECKING:
    from dae_tui.runs.store import RunInfo
    from dae_tui.ui.panes.inspect import InspectView

__all__ = ["InspectActions"]


class InspectActions(DashboardBase):
    """The Inspect tab's run: a part of `DaeApp` (see `base`)."""

    def _inspect_view(self) -> InspectView:
        return cast("InspectView", self.query_one("#inspect-view"))  # its module loads on first use

    def inspect_target(self) -> Path | None:
        """The run the Inspect tab shows (None: the newest in the runs folder, looked up there)."""
        if self.inspect_pick is not None:
            return self.inspect_pick
        if self.run_dir:
            return Path(self.run_dir)
        if self.resume is not None:
            return Path(self.resume.path)
        return None

    def _show_inspect(self) -> None:
        """The tab is showing: inspect the target (loaded once; again after a new epoch)."""
        if not self.query("#inspect-view"):
            return
        view = self._inspect_view()
        target = self.inspect_target()
        if target is None:
            view.inspect_newest(self.runs_folder)
        else:
            view.inspect(target)
        view.shown()
        self.refresh_bindings()

    def inspect_run(self, run: RunInfo, show: bool = True) -> None:
        """Inspect `run` (picked on the Runs tab) from now on."""
        self.inspect_pick = run.path
        if show:
            self.query_one(TabbedContent).active = "inspect"
        elif self.query("#inspect-view"):
            self._inspect_view().inspect(run.path)

    def _inspect_own_run(self, run_dir: str) -> None:
        """A run started here: it is the one inspected from now on."""
        self.inspect_pick = None
        if self.query("#inspect-view") and self.query_one(TabbedContent).active == "inspect":
            self._inspect_view().inspect(run_dir)

    def _inspect_epoch_saved(self, run_dir: str) -> None:
        if self.query("#inspect-view"):
            self._inspect_view().checkpoint_saved(run_dir)
