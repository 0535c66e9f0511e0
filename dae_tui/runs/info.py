"""One run folder read into a `RunInfo`, without torch: its figures, its status, what was skipped.

A run's status comes from its files (see `runs.files`): status.json's "finished", "stopped" or
"failed" is final; otherwise a live process training it means "running", and a dead process or a
stale heartbeat "interrupted". On this host the folder's flock tells a live trainer whatever its
heartbeat says: one holding it that is stopped (Ctrl-Z, SIGSTOP: state T) or whose heartbeat went
stale is "suspended", never "interrupted", since it goes on where it was when continued. A lock
from another host has only its heartbeat to go on. Folders from before those files existed are "finished" when every
epoch is in metrics.jsonl, else "interrupted".

Reading never fails on a bad run: garbage lines, half-written lines and unreadable files are
skipped and named once in `RunInfo.warnings`. `runs.store` builds on this to keep a whole runs
folder up to date; `FolderState`, `folder_signature`, `read_folder` and `rejudge` are for it alone.

Imports only the standard library, `dae_tui.core.config` and `dae_tui.runs.files`: never torch,
textual, rich or optuna.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dae_tui.core.config import ConfigError, TrainConfig
from dae_tui.core.psnr import best_epoch
from dae_tui.runs.files import (
    CONFIG_NAME,
    LOCK_NAME,
    MAX_DOC_BYTES,
    METRICS_NAME,
    STALE_AFTER_S,
    STATUS_NAME,
    FileTooLarge,
    folder_busy,
    loads_json,
    lock_is_live,
    parse_time,
    pid_alive,
    pid_stopped,
    read_json,
    read_tail,
    started_from_name,
    suspended_note,
    this_host,
)

__all__ = [
    "FAILED",
    "FINISHED",
    "INTERRUPTED",
    "PRUNED",
    "RUNNING",
    "STATUSES",
    "STOPPED",
    "SUSPENDED",
    "RunInfo",
    "read_metrics",
    "read_run",
]

RUNNING, FINISHED, STOPPED, FAILED, INTERRUPTED = "running", "finished", "stopped", "failed", "interrupted"
PRUNED = "pruned"
"""A sweep's trial that its study stopped early (it can be resumed like a stopped run)."""
SUSPENDED = "suspended"
"""A process on this host still owns the run (its flock) but is stopped or has gone quiet: it
can neither be resumed nor deleted, and goes on when continued (`kill -CONT`)."""
STATUSES: tuple[str, ...] = (RUNNING, FINISHED, STOPPED, FAILED, INTERRUPTED, PRUNED, SUSPENDED)
"""Every status a run can have."""

_FINAL = (FINISHED, STOPPED, FAILED, PRUNED)
SWEEP_NAME = "sweep.json"
"""A sweep trial's study and trial number (written by `sweeps.trials`, read here without optuna)."""
_WATCHED = (CONFIG_NAME, METRICS_NAME, STATUS_NAME, LOCK_NAME)  # a change in any means: read again


@dataclass(frozen=True)
class RunInfo:
    """One run folder, as read from its files."""

    name: str
    """The folder's name, e.g. 20240531-120000-mnist-seed."""
    path: Path
    """The run folder."""
    status: str
    """One of `STATUSES`."""
    config: TrainConfig | None
    """The run's config; None when config.json is missing or unreadable."""
    epochs_done: int
    """The last epoch in metrics.jsonl (0: none finished)."""
    epochs: int
    """Epochs the run is configured for (0: unknown)."""
    records: tuple[dict[str, Any], ...]
    """The readable lines of metrics.jsonl, by epoch: epoch, train_mse, test_mse, test_psnr, ...
    (plain dicts, shared between refreshes: read them, never change them)."""
    best_test_psnr: float | None
    """The highest test PSNR (dB) of any epoch; None before the first epoch."""
    best_epoch: int | None
    """The (first) epoch that reached `best_test_psnr`."""
    last_test_psnr: float | None
    """The test PSNR of the last finished epoch."""
    last_test_ssim: float | None
    """The test SSIM of the last finished epoch (None for runs from before SSIM was measured)."""
    seconds_per_epoch: float | None
    """Mean wall seconds per epoch (training and evaluation)."""
    started: datetime
    """When the run first started (timezone-aware): status.json, else run.lock, else the folder's
    name, else its modification time."""
    mtime: float
    """The latest modification time (Unix seconds) of the folder and its watched files."""
    message: str = ""
    """Why it ended (a failure's one line), or which process trains it; may be empty."""
    ended: datetime | None = None
    """When it finished, stopped or failed; None otherwise."""
    warnings: tuple[str, ...] = field(default=())
    """What could not be read and was skipped, one line each."""
    study: str | None = None
    """The sweep's study this run is a trial of, if it is one."""
    trial: int | None = None
    """Its trial number in that study."""
    partial_batch: int = 0
    """Batches of epoch `epochs_done` + 1 a stopped run kept in its mid-epoch checkpoint
    (partial.pt), as its status.json says; 0 when none (a resume starts that epoch afresh)."""

    @property
    def dataset(self) -> str | None:
        """The dataset, from the config or the metrics."""
        return self.config.dataset if self.config else self._from_records("dataset")

    @property
    def source(self) -> str | None:
        """The data source the run read (bundled, local, download), else the configured one."""
        return self._from_records("source") or (self.config.source if self.config else None)

    @property
    def model(self) -> str | None:
        """The model name; None without a config."""
        return self.config.model if self.config else None

    @property
    def noise(self) -> str | None:
        """The noise kind; None without a config."""
        return self.config.noise if self.config else None

    @property
    def noise_factor(self) -> float | None:
        """The noise strength; None without a config."""
        return self.config.noise_factor if self.config else None

    @property
    def curve(self) -> tuple[tuple[int, float, float], ...]:
        """(epoch, train MSE, test MSE) of each finished epoch whose two figures are numbers."""
        number = (int, float)
        return tuple(
            (r["epoch"], float(r["train_mse"]), float(r["test_mse"]))
            for r in self.records
            if isinstance(r.get("train_mse"), number) and isinstance(r.get("test_mse"), number)
        )

    @property
    def device_name(self) -> str | None:
        """What trained its latest epoch ('NVIDIA H200', 'cpu'); None for runs from before the
        records said (or none finished)."""
        names = (r.get("device_name") for r in reversed(self.records))
        return next((name for name in names if isinstance(name, str) and name), None)

    @property
    def peak_memory_mb(self) -> float | None:
        """The most memory any epoch peaked at, in MiB (CUDA: what torch allocated; CPU: the
        process's peak RSS); None where no record says."""
        peaks = [r["peak_memory_mb"] for r in self.records if isinstance(r.get("peak_memory_mb"), (int, float))]
        return max(peaks) if peaks else None

    def _from_records(self, key: str) -> Any:
        value = self.records[-1].get(key) if self.records else None
        return value if isinstance(value, str) else None

    def to_json(self) -> dict[str, Any]:
        """A plain JSON-able dict: what `dae-tui runs --json` prints for each run."""
        return {
            "run": self.name,
            "path": str(self.path),
            "status": self.status,
            "message": self.message,
            "dataset": self.dataset,
            "source": self.source,
            "model": self.model,
            "noise": self.noise,
            "noise_factor": self.noise_factor,
            "epochs_done": self.epochs_done,
            "epochs": self.epochs,
            "best_test_psnr": self.best_test_psnr,
            "best_epoch": self.best_epoch,
            "last_test_psnr": self.last_test_psnr,
            "last_test_ssim": self.last_test_ssim,
            "seconds_per_epoch": self.seconds_per_epoch,
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat() if self.ended else None,
            "config": self.config.to_dict() if self.config else None,
            "warnings": list(self.warnings),
            "study": self.study,
            "trial": self.trial,
            "partial_batch": self.partial_batch,
        }


# --- reading one folder -----------------------------------------------------------------------

FileKey = tuple[int, int, int]
"""(inode, mtime in ns, size) of a watched file; (-1, -1, -1) when it cannot be looked at."""
Signature = tuple[tuple[int, int], FileKey | None, FileKey | None, FileKey | None, FileKey | None]
"""The folder's (inode, mtime in ns), then one key for each of `_WATCHED`, in that order."""


@dataclass(frozen=True)
class FolderState:
    """What `RunStore` remembers of a folder: enough to tell a change and to re-judge liveness."""

    signature: Signature
    """(inode, mtime) of the folder, then (inode, mtime, size) or None for each watched file."""
    info: RunInfo | None
    """None: not a run."""
    lock: dict[str, Any] | None = None
    """run.lock as read ({} when unreadable); None: no lock."""
    lock_mtime: float | None = None
    """run.lock's modification time: the heartbeat when the lock says none."""
    status_doc: dict[str, Any] | None = None
    """status.json as read; None: none, or unreadable."""


def _stat_key(path: str) -> FileKey | None:
    # The inode too: an atomic replace makes a new file even within one mtime tick.
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return (-1, -1, -1)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def folder_signature(folder: str) -> Signature:
    """Stats of the folder and its watched files; raises FileNotFoundError if the folder is gone."""
    st = os.stat(folder)
    config, metrics, status, lock = (_stat_key(os.path.join(folder, n)) for n in _WATCHED)
    return ((st.st_ino, st.st_mtime_ns), config, metrics, status, lock)


def _read_doc(folder: str, name: str, warnings: list[str], limit: int = MAX_DOC_BYTES) -> dict[str, Any] | None:
    """The JSON object in the file, through `runs.files.read_json` (regular files only, at most
    `limit` bytes); None, with a line in `warnings`, when it cannot be used (None alone when the
    file is not there)."""
    try:
        doc = read_json(os.path.join(folder, name), limit)
    except FileNotFoundError:
        return None
    except FileTooLarge as err:  # a ValueError: before the bad-JSON case
        warnings.append(f"{name}: {err.size:,} bytes, more than any such file holds ({limit:,}); ignored")
        return None
    except OSError as err:
        warnings.append(f"{name}: unreadable ({err.strerror or err})")
        return None
    except ValueError:  # bad JSON or UTF-8, nested too deep
        doc = None
    if not isinstance(doc, dict):
        warnings.append(f"{name}: not a JSON object, ignored")
        return None
    return doc


def _read_config(folder: str, warnings: list[str]) -> TrainConfig | None:
    doc = _read_doc(folder, CONFIG_NAME, warnings)
    if doc is None:
        return None
    try:
        return TrainConfig.from_json(doc, folders_exist=False)
    except ConfigError as err:  # the one validator's judgement, e.g. {"dataset": 5}
        warnings.append(f"{CONFIG_NAME}: {err}; ignored")
        return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_BAD = object()  # stands for a line that is not JSON


def _parse_lines(lines: list[bytes]) -> list[Any]:
    """Each line's JSON value, or `_BAD` for a line that is not JSON."""
    try:
        # One parse of the whole file as an array is several times faster than one per line. If
        # the count differs, lines only made sense together (or broke apart): judge each alone.
        values: list[Any] = loads_json(b"[" + b",".join(lines) + b"]")  # an array: we bracket it
        if len(values) == len(lines):
            return values
    except ValueError:
        pass
    values = []
    for line in lines:
        try:
            values.append(loads_json(line))
        except ValueError:  # garbage, bad UTF-8, or a line cut short
            values.append(_BAD)
    return values


MAX_METRICS_BYTES = 64 * 1024 * 1024
"""What one read of metrics.jsonl may cost. A line is about 400 bytes, so 100,000 epochs (ten
times the most a run may be configured for) fit; past this only the file's last 64 MiB is read:
its newest epochs, the ones a status and "last" figures come from. A warning says so."""

MAX_LINE_BYTES = 4096
"""A metrics line is about 400 bytes; a longer one is not the trainer's and is skipped unparsed
(a 200 MB line would cost a gigabyte to parse)."""

MAX_EPOCH = 1_000_000
"""The largest epoch (and epoch count) a run file may name; past it the number is not believed."""

FIGURE_RANGES: dict[str, tuple[float, float]] = {
    "train_mse": (0.0, 1e12),
    "test_mse": (0.0, 1e12),
    "test_psnr": (-1e4, 1e4),
    "noisy_psnr": (-1e4, 1e4),
    "test_ssim": (-1.001, 1.001),
    "noisy_ssim": (-1.001, 1.001),
    "seconds": (0.0, 1e9),
    "images_per_s": (0.0, 1e12),
    "peak_memory_mb": (0.0, 1e9),
}
"""The plausible range of each figure in a metrics line. Outside it (or not finite: Python's json
reads `NaN` and `Infinity`, and a 401-digit integer overflows every float format) a figure is left
out of the record, so every later reader (the table, the chart's ticks, `--csv`, `--json`) sees
only numbers it can show. A record without a figure (`peak_memory_mb` and `device_name` came
later than the rest) is whole as it is; `device_name` is text, passed on as read."""


def plausible_int(value: object, low: int = 0, high: int = MAX_EPOCH) -> int | None:
    """`value` when it is an int (not a bool) in [low, high], else None."""
    return value if type(value) is int and low <= value <= high else None


def plausible_number(value: object, low: float, high: float) -> float | None:
    """`value` when it is a finite number (not a bool) in [low, high], else None.

    By exact type (JSON gives plain int and float; a bool is neither) and by comparison alone: NaN
    fails every comparison, infinities fall outside the finite bounds, and Python compares a
    401-digit int with a float exactly, without the float() that would overflow. Called for every
    figure of every epoch of every run a listing reads."""
    if type(value) is float or type(value) is int:
        return value if low <= value <= high else None
    return None


def clean_record(record: object) -> tuple[dict[str, Any] | None, int]:
    """(the metrics line `record` as a reader may use it, how many figures were left out).

    The one judge of a metrics line's numbers, used by every reader of metrics.jsonl: None for a
    line without a plausible `epoch` (1 to `MAX_EPOCH`); otherwise the record, with each figure
    that is not a plausible number (see `FIGURE_RANGES`) and an implausible `epochs` left out.
    A clean record is returned as it is (no copy: most are)."""
    if not isinstance(record, dict) or plausible_int(record.get("epoch"), 1) is None:
        return None, 0
    bad = [
        key
        for key, (low, high) in FIGURE_RANGES.items()
        if key in record and plausible_number(record[key], low, high) is None
    ]
    if "epochs" in record and plausible_int(record["epochs"], 1) is None:
        bad.append("epochs")
    if not bad:
        return record, 0
    return {k: v for k, v in record.items() if k not in bad}, len(bad)


def read_metrics(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records in a run folder's metrics.jsonl, one per epoch in epoch order ([] when there is
    none): the one hardened reader (capped, bad lines and implausible figures left out), which the
    listing and the training side both use."""
    return _read_records(os.fspath(folder), [])


def _read_records(folder: str, warnings: list[str]) -> list[dict[str, Any]]:
    try:
        data, skipped = read_tail(os.path.join(folder, METRICS_NAME), MAX_METRICS_BYTES)
    except FileNotFoundError:
        return []
    except OSError as err:
        warnings.append(f"{METRICS_NAME}: unreadable ({err.strerror or err})")
        return []
    if skipped:
        warnings.append(
            f"{METRICS_NAME}: larger than {MAX_METRICS_BYTES >> 20} MiB; read its last "
            f"{MAX_METRICS_BYTES >> 20} MiB only (the first {skipped:,} bytes left out)"
        )
    if not data:
        return []
    lines = [line for line in data.splitlines() if line.strip()]
    long = sum(len(line) > MAX_LINE_BYTES for line in lines)
    if long:
        lines = [line for line in lines if len(line) <= MAX_LINE_BYTES]
        warnings.append(f"{METRICS_NAME}: skipped {long} line{'s' if long > 1 else ''} over {MAX_LINE_BYTES:,} bytes")
    by_epoch: dict[int, dict[str, Any]] = {}
    bad = dropped = 0
    for value in _parse_lines(lines):
        record, left_out = clean_record(value)
        if record is None:
            bad += 1
            continue
        dropped += left_out
        by_epoch[record["epoch"]] = record  # a repeated epoch: the later line wins
    if bad:
        warnings.append(f"{METRICS_NAME}: skipped {bad} unreadable line{'s' if bad > 1 else ''}")
    if dropped:
        warnings.append(
            f"{METRICS_NAME}: left out {dropped} figure{'s' if dropped > 1 else ''} not "
            "plausible as a number (NaN, infinite or out of range)"
        )
    return [by_epoch[e] for e in sorted(by_epoch)]


def _judge(
    status_doc: dict[str, Any] | None,
    lock: dict[str, Any] | None,
    lock_mtime: float | None,
    epochs_done: int,
    epochs: int,
    now: float,
    folder: str | None = None,
) -> tuple[str, str]:
    """(status, message) by the rule in the module docstring; `folder` (the run's) lets this
    host's flock decide."""
    said = status_doc.get("status") if status_doc else None
    if said in _FINAL:
        message = status_doc.get("message") if status_doc else ""
        return said, message if isinstance(message, str) else ""
    if lock is not None:
        pid, host = lock.get("pid", "?"), lock.get("host", "?")
        where = f"process {pid} on {host}"
        live = _local_liveness(lock, lock_mtime, now, folder)
        if live == SUSPENDED:
            return SUSPENDED, suspended_note(pid, host)
        if live == RUNNING or (live is None and lock_is_live(lock, now, lock_mtime)):
            return RUNNING, f"{'paused' if lock.get('paused') else 'training'} in {where}"
        return INTERRUPTED, f"no heartbeat from {where}"
    if said == RUNNING:
        return INTERRUPTED, "the training process ended without a word"
    if epochs and epochs_done >= epochs:
        return FINISHED, ""
    return INTERRUPTED, ""


def _local_liveness(lock: dict[str, Any], lock_mtime: float | None, now: float, folder: str | None) -> str | None:
    """RUNNING, SUSPENDED or INTERRUPTED for a lock of this host; None for another host's (only
    its heartbeat tells). The flock decides who is alive (a pid in the lock may since belong to
    another program); the pid's state and the heartbeat decide whether it is suspended."""
    pid = lock.get("pid")
    if lock.get("host") != this_host() or not isinstance(pid, int) or isinstance(pid, bool):
        return None
    beat = parse_time(lock.get("updated"))
    moment = beat.timestamp() if beat else lock_mtime
    stale = moment is None or now - moment > STALE_AFTER_S
    busy = folder_busy(Path(folder)) if folder is not None else None
    if busy is False:
        # Nobody holds the flock: its trainer is gone, unless it is one that takes none (an older
        # dae-tui) and still beats.
        return RUNNING if not stale and pid_alive(pid) else INTERRUPTED
    if not pid_alive(pid):
        # busy: someone holds the folder (a delete, say) who is not the lock's pid
        return None if busy is None else (INTERRUPTED if stale else RUNNING)
    return SUSPENDED if stale or pid_stopped(pid) else RUNNING


def _started(status_doc: dict[str, Any] | None, lock: dict[str, Any] | None, name: str, fallback: float) -> datetime:
    for doc in (status_doc, lock):
        moment = parse_time(doc.get("started")) if doc else None
        if moment is not None:
            return moment
    return started_from_name(name) or datetime.fromtimestamp(fallback, timezone.utc).astimezone()


def _sane_lock(lock: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """The lock without a pid no process can have (a 401-digit one overflows `os.kill`): then it
    tells only that someone trains here, as an unreadable lock does."""
    pid = lock.get("pid")
    if pid is None or plausible_int(pid, 1, 2**31 - 1) is not None:
        return lock
    warnings.append(f"{LOCK_NAME}: its pid is not a process id; ignored")
    return {k: v for k, v in lock.items() if k != "pid"}


def read_folder(folder: str, name: str, signature: Signature, now: float) -> FolderState:
    config_key, metrics_key, status_key, lock_key = signature[1:]
    if config_key is None and metrics_key is None:
        return FolderState(signature, None)
    warnings: list[str] = []
    config = _read_config(folder, warnings)
    records = _read_records(folder, warnings)
    status_doc = _read_doc(folder, STATUS_NAME, warnings) if status_key else None
    lock = lock_mtime = None
    if lock_key is not None:
        # An unreadable lock still says someone trains here; its file time is then the heartbeat.
        lock = _sane_lock(_read_doc(folder, LOCK_NAME, warnings) or {}, warnings)
        lock_mtime = lock_key[1] / 1e9 if lock_key[1] >= 0 else None

    epochs_done = records[-1]["epoch"] if records else 0
    epochs = config.epochs if config else 0
    for candidate in ((status_doc or {}).get("epochs"), records[-1].get("epochs") if records else None):
        if not epochs and plausible_int(candidate, 1) is not None:
            epochs = candidate  # type: ignore[assignment]
    best = best_epoch(((r["epoch"], r["test_psnr"]) for r in records if _is_number(r.get("test_psnr"))), higher=True)
    seconds = [r["seconds"] for r in records if _is_number(r.get("seconds"))]
    last_psnr = records[-1].get("test_psnr") if records else None
    last_ssim = records[-1].get("test_ssim") if records else None
    mtimes = [signature[0][1]] + [k[1] for k in signature[1:] if k is not None and k[1] >= 0]
    mtime = max(mtimes) / 1e9

    status, message = _judge(status_doc, lock, lock_mtime, epochs_done, epochs, now, folder)
    sweep = _read_doc(folder, SWEEP_NAME, warnings) if os.path.exists(os.path.join(folder, SWEEP_NAME)) else None
    study = sweep.get("study") if sweep and isinstance(sweep.get("study"), str) else None
    trial = plausible_int(sweep.get("trial"), 0, 10**9) if sweep else None
    ended = parse_time(status_doc.get("ended")) if status_doc and status in _FINAL else None
    partial_batch = 0
    if status == STOPPED and status_doc is not None and status_doc.get("last_epoch") == epochs_done:
        partial_batch = plausible_int(status_doc.get("partial_batch"), 1) or 0
    info = RunInfo(
        name=name,
        path=Path(folder),
        status=status,
        config=config,
        epochs_done=epochs_done,
        epochs=epochs,
        records=tuple(records),
        best_test_psnr=best[1] if best else None,
        best_epoch=best[0] if best else None,
        last_test_psnr=last_psnr if _is_number(last_psnr) else None,
        last_test_ssim=last_ssim if _is_number(last_ssim) else None,
        seconds_per_epoch=sum(seconds) / len(seconds) if seconds else None,
        started=_started(status_doc, lock, name, mtime),
        mtime=mtime,
        message=message,
        ended=ended,
        warnings=tuple(warnings),
        study=study,
        trial=trial,
        partial_batch=partial_batch,
    )
    return FolderState(signature, info, lock, lock_mtime, status_doc)


def read_run(path: str | os.PathLike[str]) -> RunInfo | None:
    """The run in folder `path`; None when it is not a run (neither config.json nor metrics.jsonl)
    or not there at all."""
    folder = os.fspath(path)
    try:
        signature = folder_signature(folder)
    except OSError:
        return None
    return read_folder(folder, os.path.basename(os.path.normpath(folder)), signature, time.time()).info


def rejudge(state: FolderState, now: float) -> FolderState:
    """The state with its run's status judged again at `now`, from the lock and status read before."""
    info = state.info
    if info is None:
        return state
    status, message = _judge(
        state.status_doc, state.lock, state.lock_mtime, info.epochs_done, info.epochs, now, os.fspath(info.path)
    )
    if (status, message) == (info.status, info.message):
        return state
    return replace(state, info=replace(info, status=status, message=message))
