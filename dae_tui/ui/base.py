"""What the dashboard's parts share: the App's state and the methods one part calls on another.

`DaeApp` is put together from parts, one module each: `RunControl` (start, pause, stop, quit,
resume: the run this dashboard trains), `CurrentRun` (the run every figure on screen speaks of,
and the engine's events that change it), `RunsActions` (what a run picked on the Runs tab does),
`InspectActions` (which run the Inspect tab shows) and `SystemWatch` (the machine's figures).
Each part is a `DashboardBase`: for the type checker an `App[int]` with the names below, declared
once here; at run time a plain class, and `DaeApp(..., App[int])` supplies the App. Each part
handles its messages by Textual's naming
convention (`_on_engine_loaded`): `@on` registers handlers on Textual's own classes only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

    from dae_tui.core.config import TrainConfig
    from dae_tui.core.events import Samples
    from dae_tui.runs.handover import Background
    from dae_tui.runs.live import AttachedRun
    from dae_tui.runs.store import RunInfo
    from dae_tui.system.sampler import SystemSample
    from dae_tui.training.trainer import Trainer
    from dae_tui.ui.keys import DashboardScreen
    from dae_tui.ui.resume import ResumeInfo

    _AppBase = App[int]
else:
    _AppBase = object

__all__ = ["DashboardBase"]


class DashboardBase(_AppBase):
    """The App, as the dashboard's parts see it (see the module's notes)."""

    if TYPE_CHECKING:
        # The App's state (DaeApp.__init__ gives each its value and says what it is).
        state: str
        read_only: str | None
        storage: str | None
        runs_dir: str | Path | None
        initial_config: TrainConfig
        resume: ResumeInfo | None
        engine_loaded: bool
        _engine_import_started: bool
        start_when_loaded: bool
        trainer: Trainer | AttachedRun | None
        attached: AttachedRun | None
        background_runs: tuple[RunInfo, ...]
        attach_to: str | None
        run_dir: str | None
        last_epoch_done: int
        run_epochs: int
        run_dataset: str
        _samples_cache: dict[str, tuple[Any, dict[int, Samples]]]
        exit_note: str | None
        training_idle: threading.Event
        quit_during_run: bool
        stop_signal: int | None
        on_leaving: Callable[[int], None]
        inspect_pick: Path | None
        dashboard: DashboardScreen
        on_hangup: str
        handed_to: Background | None
        hand_over_error: str | None
        fixed_system: SystemSample | None

        @property
        def runs_folder(self) -> Path: ...
        @property
        def _tab(self) -> str: ...
        def log_line(self, text: str, style: str = "") -> None: ...
        def action_show_tab(self, tab: str) -> None: ...

        # One part's methods that another calls.
        def action_new_run(self) -> None: ...
        def _quit_question(self) -> str: ...
        def _enter_resume(self, info: ResumeInfo, overrides: dict[str, Any] | None = None) -> None: ...
        def _leave_resume(self) -> None: ...
        def _switch_run(
            self,
            folder: str | None,
            dataset: str,
            planned: int,
            *,
            name: str | None = None,
            points: Iterable[tuple[int, float, float]] = (),
            title: str = "MSE per epoch",
            state: str | None = None,
            **figures: Any,
        ) -> None: ...
        def _read_pictures(self, folder: str) -> object: ...  # a @work method: it returns its Worker
        def inspect_run(self, run: RunInfo, show: bool = True) -> None: ...
        def open_run(self, run: RunInfo) -> None: ...
        def _show_inspect(self) -> None: ...
        def _inspect_own_run(self, run_dir: str) -> None: ...
        def _inspect_epoch_saved(self, run_dir: str) -> None: ...
        def attach_run(self, path: str | Path) -> None: ...
        def _attached_run_ended(self) -> None: ...
