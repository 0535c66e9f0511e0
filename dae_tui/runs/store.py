"""Every run under a runs folder, kept up to date without torch: for `dae-tui runs` and the Runs tab.

    runs = list_runs(runs_dir)            # newest first; [] when the folder does not exist
    store = RunStore(runs_dir)            # for polling, e.g. every second from a worker thread
    changes = store.refresh()             # re-reads only the folders whose files changed
    store.runs                            # every run, newest first
    delete_run(run.path)                  # refuses a running or suspended run

Each run is a `RunInfo` (see `runs.info` for how status is judged and what a bad file does). Only a
runs folder that cannot be listed raises `RunStoreError`.

Imports only the standard library, `dae_tui.core.config` and `runs.files` / `runs.info`: never
torch, textual, rich or optuna (a test checks `sys.modules`).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from dae_tui.core.config import ConfigError
from dae_tui.core.errors import DaeError
from dae_tui.runs.files import own_folder, release_folder
from dae_tui.runs.info import (
    FAILED,
    FINISHED,
    INTERRUPTED,
    RUNNING,
    STATUSES,
    STOPPED,
    SUSPENDED,
    FolderState,
    RunInfo,
    folder_signature,
    read_folder,
    read_run,
    rejudge,
)

__all__ = [
    "FAILED",
    "FINISHED",
    "INTERRUPTED",
    "RUNNING",
    "STATUSES",
    "STOPPED",
    "SUSPENDED",
    "RunChanges",
    "RunInfo",
    "RunStore",
    "RunStoreError",
    "delete_run",
    "list_runs",
    "read_run",
]


class RunStoreError(DaeError):
    """The runs folder (or a run to delete) cannot be used; `str()` is one line."""


def _is_folder(entry: os.DirEntry[str]) -> bool:
    """Whether the entry is (or links to) a folder. A symlink loop, a link into an unreadable
    place or an entry gone meanwhile is not one: that entry alone is left out, never the listing
    (`is_dir()` raises for a loop)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _list_folders(runs_dir: str) -> dict[str, str]:
    """name -> path of every visible sub-folder; {} when `runs_dir` does not exist."""
    try:
        with os.scandir(runs_dir) as entries:
            return {e.name: e.path for e in entries if not e.name.startswith(".") and _is_folder(e)}
    except FileNotFoundError:
        return {}
    except NotADirectoryError:
        raise RunStoreError(f"{runs_dir}: not a folder") from None
    except OSError as err:
        raise RunStoreError(f"{runs_dir}: cannot read the runs folder ({err.strerror or err})") from None


@dataclass(frozen=True)
class RunChanges:
    """What one `RunStore.refresh()` found; false when nothing changed."""

    added: tuple[RunInfo, ...] = ()
    """Runs seen for the first time."""
    changed: tuple[RunInfo, ...] = ()
    """Runs whose files or status changed (a new epoch, a heartbeat, an end), as they are now."""
    removed: tuple[str, ...] = ()
    """Names of runs that are gone."""

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


class RunStore:
    """The runs under one folder, kept up to date by `refresh()`.

    A refresh lists the folder and stats each settled run's folder alone: the trainer replaces
    every file atomically, and a rename inside a folder changes the folder's modification time.
    Only the runs that may still change by themselves (running, suspended, a lock present, or
    changed within `SETTLE_S`) have their four files stat'ed too, and are re-judged (a process may
    die, a heartbeat go stale, with no file changing). So with 3,000 finished runs a refresh costs
    3,000 stats, not 15,000; it reads only the runs that changed. Not thread-safe: use each store
    from one thread.
    """

    def __init__(self, runs_dir: str | os.PathLike[str]) -> None:
        self.runs_dir = Path(runs_dir)
        self._entries: dict[str, FolderState] = {}
        self._runs: list[RunInfo] = []

    @property
    def runs(self) -> list[RunInfo]:
        """Every run as of the last refresh, newest first (a new list each time)."""
        return list(self._runs)

    def get(self, name: str) -> RunInfo | None:
        """The run named `name` as of the last refresh."""
        entry = self._entries.get(name)
        return entry.info if entry else None

    def refresh(self) -> RunChanges:
        """Bring the runs up to date; raises `RunStoreError` when the runs folder cannot be read."""
        folders = _list_folders(os.fspath(self.runs_dir))
        now = time.time()
        added: list[RunInfo] = []
        changed: list[RunInfo] = []
        entries: dict[str, FolderState] = {}
        for name, folder in folders.items():
            old = self._entries.get(name)
            if old is not None and _settled(old, now):
                try:
                    st = os.stat(folder)
                except OSError:  # deleted since the listing: counts as removed
                    continue
                if (st.st_ino, st.st_mtime_ns) == old.signature[0]:
                    entries[name] = old
                    continue
            try:
                signature = folder_signature(folder)
            except OSError:  # deleted since the listing: counts as removed
                continue
            if old is not None and old.signature == signature:
                entry = old
                if old.info is not None and old.info.status in _LIVE:
                    entry = rejudge(old, now)
                    if entry.info != old.info:
                        changed.append(entry.info)  # type: ignore[arg-type]
            else:
                entry = read_folder(folder, name, signature, now)
                if entry.info is not None:
                    (changed if old is not None and old.info is not None else added).append(entry.info)
            entries[name] = entry
        removed = tuple(
            n for n, e in self._entries.items() if e.info is not None and (n not in entries or entries[n].info is None)
        )
        self._entries = entries
        changes = RunChanges(tuple(added), tuple(changed), removed)
        if changes:
            infos = [e.info for e in entries.values() if e.info is not None]
            self._runs = sorted(infos, key=lambda i: (i.started, i.name), reverse=True)
        return changes


_LIVE = (RUNNING, SUSPENDED)
SETTLE_S = 2.0
"""A folder changed this recently is looked at file by file: the kernel's clock for file times is
coarse (milliseconds), so two changes within one tick leave one folder time."""


def _settled(state: FolderState, now: float) -> bool:
    """Whether only a change of the folder's own time can change what `state` says."""
    info = state.info
    if state.lock is not None or (info is not None and info.status in _LIVE):
        return False
    return now - state.signature[0][1] / 1e9 > SETTLE_S


def list_runs(runs_dir: str | os.PathLike[str]) -> list[RunInfo]:
    """Every run under `runs_dir`, newest first; [] when it does not exist.

    Raises `RunStoreError` (one line) when `runs_dir` is not a folder or cannot be read.
    """
    store = RunStore(runs_dir)
    store.refresh()
    return store.runs


def delete_run(path: str | os.PathLike[str]) -> None:
    """Delete a run folder with everything in it.

    The folder is taken as a trainer takes it (`runs.files.own_folder`: its flock, held while the
    files go), so no trainer can start or continue in it meanwhile, and one that holds it, even
    suspended with a heartbeat long stale, makes the delete refuse. Raises `RunStoreError` (one
    line) when `path` is not a run folder, when the run is running or suspended, or when
    deleting fails.
    """
    info = read_run(path)
    if info is None:
        raise RunStoreError(f"{path}: not a run folder")
    if info.status in _LIVE:
        raise RunStoreError(_still_live(info))
    try:
        fd = own_folder(info.path)
    except ConfigError as err:  # taken since it was read
        again = read_run(info.path)
        raise RunStoreError(
            _still_live(again) if again and again.status in _LIVE else f"{info.name} is not deleted: {err}"
        ) from None
    try:
        shutil.rmtree(info.path)
    except OSError as err:
        raise RunStoreError(f"{info.path}: cannot delete ({err.strerror or err})") from None
    finally:
        release_folder(fd)


def _still_live(info: RunInfo) -> str:
    if info.status == SUSPENDED:
        return f"{info.name} is not deleted: {info.message}"
    return f"{info.name} is still running ({info.message}); stop it first"
