"""A run seen live from another process: what it publishes, how it is steered, and a watcher.

The process that trains a run (`dae-tui train`, a run handed over by a dashboard, a dashboard's
own run) writes `live.json` in the run folder: what `RunStarted` said, then the latest batch
(epoch, batch, running train MSE, img/s, ETA) at most every `LIVE_INTERVAL_S`, and whether it is
paused. It reads `control.json` at each batch: a dashboard that attached to the run writes
`{"seq": N, "command": "pause" | "continue" | "stop", ...}` there, and the trainer applies each
command once, in order (a file left behind by a dead dashboard, or garbled, is ignored: only a
`seq` above the one there when training began counts). One dashboard controls a run at a time:
it holds `control.lock` (flock); any other watches and says who controls.

`AttachedRun` turns those files into the same events a local `Trainer` yields (`RunStarted`,
`BatchProgress`, `EpochEnd`, `Samples`, `Paused`, `Resumed`, and the run's end), so the dashboard
shows an attached run with the handlers it uses for its own.

Torch-free, like the rest of `runs`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from dae_tui.core.config import ConfigError, TrainConfig
from dae_tui.core.events import (
    BatchProgress,
    EpochEnd,
    Event,
    Notice,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
)
from dae_tui.core.psnr import best_epoch
from dae_tui.runs.classes import class_scores
from dae_tui.runs.files import (
    CHECKPOINT_NAME,
    LOCK_NAME,
    STATUS_NAME,
    folder_busy,
    live_lock,
    load_run_config,
    now_iso,
    pid_alive,
    read_json,
    this_host,
)
from dae_tui.runs.info import read_metrics
from dae_tui.runs.samples import load_samples

__all__ = [
    "COMMANDS",
    "CONTROL_LOCK_NAME",
    "CONTROL_NAME",
    "LIVE_INTERVAL_S",
    "LIVE_NAME",
    "AttachedRun",
    "ControlReader",
    "LiveWriter",
    "NotLive",
    "check_live",
]

LIVE_NAME = "live.json"
CONTROL_NAME = "control.json"
CONTROL_LOCK_NAME = "control.lock"
LIVE_INTERVAL_S = 0.1
"""Least time between two writes of live.json's batch figures, as often as the trainer's own
progress events (a rename of a few hundred bytes; a pause or an epoch's end is written at once).
At 0.5 s an epoch of half a second showed a watcher no batch at all."""
COMMANDS = ("pause", "continue", "stop")
POLL_S = 0.25
"""How often a watcher looks at the run's files."""


def _write_json_quick(path: Path, value: Any) -> None:
    """Whole or not at all (a temp file renamed over), without fsync: live.json is rewritten
    twice a second and only ever describes the moment."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(value, handle)
    os.replace(tmp, path)


class LiveWriter:
    """The trainer's side of live.json. Every write is best effort: a full disk must not stop a
    run for the sake of a watcher."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LIVE_NAME
        self._started: dict[str, Any] = {}
        self._state: dict[str, Any] = {}
        self._last = -float("inf")
        self.paused = False

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < LIVE_INTERVAL_S:
            return
        self._last = now
        try:
            _write_json_quick(
                self.path,
                {
                    "pid": os.getpid(),
                    "host": this_host(),
                    "updated": now_iso(),
                    "paused": self.paused,
                    "started": self._started,
                    **self._state,
                },
            )
        except OSError:
            pass

    def started(self, event: RunStarted) -> None:
        self._started = {name: value for name, value in asdict(event).items() if name not in ("config", "earlier")}
        self._state = {
            "epoch": event.start_epoch,
            "epochs": event.config.epochs,
            "batch": event.start_batch,
            "batches": event.batches_per_epoch,
            "train_mse": None,
            "images_per_s": None,
            "eta_s": None,
        }
        self._write(force=True)

    def progress(self, event: BatchProgress) -> None:
        self._state.update(
            epoch=event.epoch,
            epochs=event.epochs,
            batch=event.batch,
            batches=event.batches,
            train_mse=event.train_mse,
            images_per_s=event.images_per_s,
            eta_s=event.eta_s,
        )
        self._write()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self._write(force=True)

    def epoch_done(self, event: EpochEnd) -> None:
        self._write(force=True)  # the epoch's last figures; the next epoch's first batch follows

    def close(self) -> None:
        """The run has ended (status.json says how): nothing live to show any more."""
        try:
            os.unlink(self.path)
        except OSError:
            pass


class ControlReader:
    """The trainer's side of control.json: `poll()` (one stat when nothing changed, cheap enough
    for every batch) returns the commands written since the last poll, in order."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / CONTROL_NAME
        self._key: tuple[int, int] | None = None
        self.seq = 0
        self.notes: list[str] = []
        """One line per control file that could not be used (garbled), for the run's log."""
        doc = self._read()  # a command from before this process trained the run is not for it
        if doc is not None:
            self.seq = doc["seq"]

    def _read(self) -> dict[str, Any] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            self._key = None
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        if key == self._key:
            return None
        self._key = key
        try:
            doc = read_json(self.path)
        except (OSError, ValueError) as err:
            self.notes.append(f"{CONTROL_NAME}: ignored ({err})")
            return None
        if not isinstance(doc, dict) or type(doc.get("seq")) is not int or doc.get("command") not in COMMANDS:
            self.notes.append(f"{CONTROL_NAME}: ignored (not a control command)")
            return None
        return doc

    def poll(self) -> dict[str, Any] | None:
        """The newest command not applied yet, or None."""
        doc = self._read()
        if doc is None or doc["seq"] <= self.seq:
            return None
        self.seq = doc["seq"]
        return doc


def _event_from_record(record: dict[str, Any], epochs: int, run_dir: Path) -> EpochEnd:
    """An `EpochEnd` from one metrics.jsonl record (its figures, as the trainer wrote them)."""
    values: dict[str, Any] = {}
    for item in fields(EpochEnd):
        value = record.get(item.name)
        if item.name == "epochs":
            value = value if isinstance(value, int) else epochs
        elif item.name == "checkpoint":
            value = str(run_dir / CHECKPOINT_NAME)
        elif item.name == "epoch":
            value = value if isinstance(value, int) else 0
        elif item.name == "device_name":
            value = value if isinstance(value, str) else ""
        elif item.name in ("class_psnr", "class_ssim"):
            scores = class_scores(record)  # none in records written before they were kept
            value = () if scores is None else scores[item.name == "class_ssim"]
        elif item.name == "peak_memory_mb":
            value = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        elif not isinstance(value, (int, float)) or isinstance(value, bool):
            value = float("nan")
        values[item.name] = value
    return EpochEnd(**values)


class NotLive(ConfigError):
    """The run folder has no process training it on this host."""


def check_live(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The lock of the process on this host that trains the run in `run_dir`; `NotLive` (one
    line) when none does, or when it trains on another host."""
    path = Path(run_dir)
    if not path.is_dir():
        raise NotLive(f"{run_dir}: no such run folder")
    owner = live_lock(path)
    if owner is None:
        raise NotLive(f"{path} is not training: no process holds it (open it instead: Enter on the Runs tab)")
    if owner.get("host") != this_host():
        raise NotLive(
            f"{path.name} trains on {owner.get('host')} (pid {owner.get('pid')}): it can be shown "
            "read-only here; attach from that machine"
        )
    return owner


class AttachedRun:
    """A run trained by another process on this host, watched through its files: `run()` yields
    the events a `Trainer` would; `pause()`, `unpause()` and `request_stop()` steer it through
    control.json when this watcher holds control.lock (`controls`), else they say who does."""

    def __init__(self, run_dir: str | os.PathLike[str], poll_s: float = POLL_S) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.poll_s = poll_s
        self._leave = threading.Event()
        self._control_fd: int | None = None
        self.controller: str | None = None
        """Who controls the run when this watcher does not ('pid 123 on host'); None when it does."""
        self._stop_requested = False
        self._paused = False
        self.no_lease: str | None = None
        """Why control could not be made exclusive (no flock here); None when it is."""
        self.pid: int | None = None
        """The training process."""
        self.host: str | None = None
        owner = check_live(self.run_dir)
        self.pid, self.host = owner.get("pid"), owner.get("host")
        self._take_control()

    # --- control ------------------------------------------------------------------------------

    def _take_control(self) -> None:
        path = self.run_dir / CONTROL_LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            self.controller = f"nobody (cannot open {CONTROL_LOCK_NAME}: {err.strerror or err})"
            return
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another dashboard"
            except OSError:
                holder = "another dashboard"
            os.close(fd)
            self.controller = holder
            return
        except OSError as err:
            # A filesystem without flock (some network mounts): this dashboard steers the run,
            # but cannot keep a second one from steering it too, and says so.
            self.no_lease = f"{CONTROL_LOCK_NAME}: no flock on this filesystem ({err.strerror or err})"
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {this_host()}".encode(), 0)
        self._control_fd = fd

    @property
    def controls(self) -> bool:
        """Whether p and x of this dashboard steer the run (only one dashboard's do)."""
        return self._control_fd is not None

    def _command(self, command: str) -> bool:
        if not self.controls:
            return False
        path = self.run_dir / CONTROL_NAME
        try:
            doc = read_json(path)
            seq = doc["seq"] if isinstance(doc, dict) and type(doc.get("seq")) is int else 0
        except (OSError, ValueError):
            seq = 0
        seq = max(seq, int(time.time() * 1000))  # above any command a dead dashboard left
        try:
            _write_json_quick(
                path, {"seq": seq, "command": command, "pid": os.getpid(), "host": this_host(), "at": now_iso()}
            )
        except OSError:
            return False
        return True

    def pause(self) -> bool:
        return self._command("pause")

    def unpause(self) -> bool:
        return self._command("continue")

    def request_stop(self, reason: str = "") -> None:
        if self._command("stop"):
            self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def paused(self) -> bool:
        return self._paused

    def detach(self) -> None:
        """Stop watching (the run goes on) and let control go."""
        self._leave.set()
        fd, self._control_fd = self._control_fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    # --- watching -------------------------------------------------------------------------------

    def _live(self) -> dict[str, Any] | None:
        try:
            doc = read_json(self.run_dir / LIVE_NAME)
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def _status(self) -> dict[str, Any]:
        try:
            doc = read_json(self.run_dir / STATUS_NAME)
        except (OSError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}

    def _started_event(
        self,
        config: TrainConfig,
        records: list[dict[str, Any]],
        live: dict[str, Any] | None,
    ) -> RunStarted:
        started = (live or {}).get("started") or {}

        def get(name: str, kind: type, default: Any) -> Any:
            value = started.get(name, default)
            return value if isinstance(value, kind) and not isinstance(value, bool) else default

        done = records[-1]["epoch"] if records else 0
        return RunStarted(
            config=config,
            run_dir=str(self.run_dir),
            source=get("source", str, config.source),
            source_detail=get("source_detail", str, ""),
            dataset_label=get("dataset_label", str, config.dataset),
            device=get("device", str, "?"),
            train_size=get("train_size", int, 0),
            test_size=get("test_size", int, 0),
            batches_per_epoch=get("batches_per_epoch", int, 0),
            start_epoch=done + 1,
            parameters=get("parameters", int, 0),
            threads=get("threads", int, 0),
            resumed_from=None,
            earlier=tuple(
                (r["epoch"], r.get("train_mse", float("nan")), r.get("test_mse", float("nan"))) for r in records
            ),
            start_batch=(live or {}).get("batch", 0) if isinstance((live or {}).get("batch"), int) else 0,
        )

    def run(self) -> Iterator[Event]:
        """The run's events as its files show them, until it ends or `detach()`."""
        try:
            config = load_run_config(self.run_dir)
        except (ConfigError, OSError, ValueError) as err:
            yield RunFailed(f"cannot attach: {err}", str(self.run_dir))
            self.detach()
            return
        records = read_metrics(self.run_dir)
        live = self._live()
        yield self._started_event(config, records, live)
        if not self.controls:
            yield Notice(f"watching only: {self.controller} controls this run (p and x work there)")
        elif self.no_lease:
            yield Notice(f"{self.no_lease}: another dashboard attached to this run could steer it too")
        seen_epochs = {r["epoch"] for r in records}
        seen_samples = set(load_samples(self.run_dir))
        last_batch: tuple[Any, ...] | None = None
        try:
            while not self._leave.is_set():
                # The files in the order the trainer writes them: an epoch's figures, its pictures,
                # then where the next epoch stands.
                for record in read_metrics(self.run_dir):
                    if record["epoch"] not in seen_epochs:
                        seen_epochs.add(record["epoch"])
                        records.append(record)
                        yield _event_from_record(record, config.epochs, self.run_dir)
                new = (
                    {
                        epoch: samples
                        for epoch, samples in load_samples(self.run_dir).items()
                        if epoch not in seen_samples
                    }
                    if len(seen_samples) < len(seen_epochs) + 1
                    else {}
                )
                for epoch in sorted(new):
                    seen_samples.add(epoch)
                    yield new[epoch]
                live = self._live() or live
                if live is not None:
                    paused = bool(live.get("paused"))
                    if paused != self._paused:
                        self._paused = paused
                        position = (live.get("epoch", 0), live.get("batch", 0))
                        yield (Paused if paused else Resumed)(*(int(v) if isinstance(v, int) else 0 for v in position))
                    figures = tuple(
                        live.get(k)
                        for k in ("epoch", "epochs", "batch", "batches", "train_mse", "images_per_s", "eta_s")
                    )
                    if (
                        figures != last_batch
                        and not paused
                        and figures[2]
                        and all(isinstance(v, (int, float)) for v in figures[:6])
                    ):
                        last_batch = figures
                        yield BatchProgress(*figures)  # type: ignore[arg-type]
                end = self._end(records)
                if end is not None:
                    yield end
                    return
                self._leave.wait(self.poll_s)
        finally:
            self.detach()

    def _end(self, records: list[dict[str, Any]]) -> Event | None:
        """The run's last event once its process has let the folder go (status.json says how it
        ended; no word from a process that is gone means it was killed)."""
        if (self.run_dir / LOCK_NAME).exists() and self.pid is not None and pid_alive(self.pid):
            return None
        if folder_busy(self.run_dir):
            return None  # still held: the lock file was just rewritten, or a new owner took over
        status = self._status()
        message = str(status.get("message") or "")
        if status.get("status") == "stopped" and message.startswith("handed over to pid "):
            # A dashboard handed the run to a process of its own: watch that one from now on.
            successor = message.split()[3]
            if successor.isdigit() and pid_alive(int(successor)):
                self.pid = int(successor)
                return None
        done = records[-1]["epoch"] if records else 0
        kind = status.get("status")
        if kind == "finished":
            best = best_epoch((r["epoch"], r["test_mse"]) for r in records if "test_mse" in r)
            return RunFinished(str(self.run_dir), int(status.get("epochs") or done), best[1] if best else None)
        if kind == "stopped":
            batch, batches = status.get("partial_batch"), status.get("batches")
            return RunStopped(
                str(self.run_dir), done, batch if type(batch) is int else 0, batches if type(batches) is int else 0
            )
        if kind in ("failed", "pruned"):
            return RunFailed(str(status.get("message") or kind), str(self.run_dir))
        return RunFailed(
            f"its process (pid {self.pid}) ended without a word (killed?); the run is interrupted "
            f"after epoch {done}: resume it",
            str(self.run_dir),
        )
