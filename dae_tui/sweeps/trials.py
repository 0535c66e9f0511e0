"""A study's trials run as ordinary training runs: each process asks the study for trials until it
holds `total` of them (any state, from any process or machine; counted and asked under a lock, so
the total is exact), reports the per-epoch test figure and lets the median pruner stop the poor
ones.

    run_trials(study, storage, fixed, space, runs_dir, total=20)

Every trial is a run folder like any other, with `sweep.json` naming its study, trial and host; a
pruned trial's status.json says `pruned`.

Imports optuna and torch (through the trainer); never textual or rich.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import optuna

from dae_tui.core.config import ConfigError, TrainConfig, with_changes
from dae_tui.core.events import EpochEnd, Event, RunFailed, RunFinished, RunStarted, RunStopped
from dae_tui.runs.files import STATUS_NAME, atomic_write_json, read_json, this_host
from dae_tui.sweeps.space import Dimension
from dae_tui.sweeps.study import (
    HEARTBEAT_S,
    SWEEP_FILE,
    _quiet,
    _slot,
    counted,
    fail_stale_trials,
)
from dae_tui.training.data import DataError
from dae_tui.training.trainer import Trainer

__all__ = [
    "FAILURES_IN_A_ROW",
    "Stopper",
    "SweepTally",
    "TrialFailed",
    "TrialOutcome",
    "TrialStopped",
    "run_trials",
    "suggest",
]


class TrialFailed(Exception):
    """The trial's run failed (its message is the run's); the study goes on."""


def suggest(trial: optuna.Trial, space: tuple[Dimension, ...]) -> dict[str, Any]:
    """The trial's values for the searched settings."""
    values: dict[str, Any] = {}
    for dim in space:
        if dim.kind == "choice":
            values[dim.name] = trial.suggest_categorical(dim.name, list(dim.values))
        elif dim.is_int:
            values[dim.name] = trial.suggest_int(dim.name, *dim.values, log=dim.kind == "log")
        else:
            values[dim.name] = trial.suggest_float(dim.name, *map(float, dim.values), log=dim.kind == "log")
    return values


@dataclass(frozen=True)
class TrialOutcome:
    """How one trial ended, for the headless output."""

    number: int
    state: str
    """finished, pruned or failed."""
    params: dict[str, Any]
    value: float | None
    run_dir: str | None
    seconds: float
    epochs: int
    message: str = ""


def _metric(event: EpochEnd, metric: str) -> float:
    return event.test_psnr if metric == "test_psnr" else event.test_mse


FAILURES_IN_A_ROW = 3
"""Failed trials one after another in one process before it gives up: a failed trial does not
count toward the total, so a machine whose disk is full would otherwise fail trials for ever."""


@dataclass
class SweepTally:
    """What this process's trials came to; the sweep's exit code is judged from it."""

    finished: int = 0
    pruned: int = 0
    failed: int = 0
    last_failure: str = ""
    gave_up: bool = False
    """True when FAILURES_IN_A_ROW trials failed in a row and this process stopped asking."""


class Stoppable(Protocol):
    """What a stop goes to: a `Trainer`, or a `PackTrainer` (every member)."""

    def request_stop(self, reason: str = ...) -> None: ...


class Stopper:
    """A stop asked for from a signal handler (any thread): the trial running now stops at its next
    batch, its checkpoint kept, and no other trial starts."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._trainer: Stoppable | None = None

    def request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        trainer = self._trainer
        if trainer is not None:
            trainer.request_stop(self.reason)

    def attach(self, trainer: Stoppable | None) -> None:
        """The trainer a stop goes to from now on (None between trials)."""
        self._trainer = trainer
        if trainer is not None and self.reason is not None:
            trainer.request_stop(self.reason)  # asked for while the trial was being set up


class TrialStopped(Exception):
    """The trial's run stopped on a signal (its status.json says so); the sweep stops too."""


def run_trials(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    fixed: TrainConfig,
    space: tuple[Dimension, ...],
    runs_dir: str | Path,
    total: int,
    metric: str = "test_psnr",
    prune: bool = True,
    on_trial: Callable[[TrialOutcome], None] = lambda outcome: None,
    storage_url: str = "",
    stopper: Stopper | None = None,
    gpu: str | None = None,
    pack: int = 1,
) -> SweepTally:
    """Run trials in this process until the study holds `total` trials that count (`counted`: a
    failed one is replaced), from every process; return what this process's trials came to.

    Counting the study's trials and asking for a new one happen under a lock every process takes
    (a file lock beside an SQLite database, an advisory lock on PostgreSQL), so two processes that
    finish at the same moment cannot both start the last trial: the study ends with exactly
    `total` (Optuna's max-trials callback counts after a trial, which leaves that race open).
    Stale trials are failed when the sweep starts, before each trial and when it ends.

    A stop from `stopper` ends the trial at its next batch (status.json `stopped by SIGTERM`, its
    Optuna trial failed, so a later sweep replaces it) and raises `TrialStopped`.

    `gpu`: the GPU this process was given (`dae_tui.system.gpus`), kept with each trial (its user
    attribute `gpu`) so that the study can say which GPU gave which figure.

    `pack` > 1: up to `pack` trials are asked at once and those whose structure matches train
    together as one stacked model (`sweeps.packs`), each still its own run folder and trial."""
    stopper = stopper or Stopper()
    tally = SweepTally()
    in_a_row = 0
    try:
        while stopper.reason is None and in_a_row < FAILURES_IN_A_ROW:
            fail_stale_trials(study, storage)
            with _slot(storage, study.study_name):
                room = total - counted(study)
                if room <= 0:
                    break
                asked = [_ask(study, gpu) for _ in range(min(pack, room))]
            if len(asked) > 1:
                from dae_tui.sweeps.packs import run_asked  # the pack's trainer: only where packs run

                verdicts = run_asked(
                    study, storage, asked, fixed, space, runs_dir, metric, prune, on_trial, storage_url, stopper
                )
                for trial, verdict in zip(asked, verdicts, strict=True):
                    in_a_row = tell(study, trial, verdict, tally, in_a_row)
                continue
            trial = asked[0]
            with _Heartbeat(storage, trial._trial_id) as beat:
                try:
                    value: float | BaseException = _trial(
                        study, trial, fixed, space, runs_dir, metric, prune, on_trial, storage_url, beat, stopper
                    )
                except (optuna.TrialPruned, TrialFailed, ConfigError, DataError) as err:
                    value = err
                except BaseException:  # a signal's stop: the study goes on without this trial
                    study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
                    raise
                in_a_row = tell(study, trial, value, tally, in_a_row)
        tally.gave_up = in_a_row >= FAILURES_IN_A_ROW
    finally:
        try:
            fail_stale_trials(study, storage)
        except Exception:  # noqa: BLE001 - the storage's own error is the one to report, not this
            pass
    if stopper.reason is not None:
        raise TrialStopped(stopper.reason)
    return tally


def _ask(study: optuna.Study, gpu: str | None) -> optuna.Trial:
    """A new trial, marked with who runs it (so a sweep on this machine can fail it at once if it
    dies); under the study's slot lock."""
    with _quiet():
        trial = study.ask()
    trial.set_user_attr("host", this_host())
    trial.set_user_attr("pid", os.getpid())
    if gpu is not None:
        trial.set_user_attr("gpu", gpu)
    return trial


def tell(
    study: optuna.Study, trial: optuna.Trial, verdict: float | BaseException, tally: SweepTally, in_a_row: int
) -> int:
    """Tell the study how `trial` ended (its value, or TrialPruned, TrialFailed, ConfigError,
    DataError), count it in `tally`; return the failures in a row since. skip_if_finished: a trial
    another process already failed (stale heartbeat) stays so."""
    if isinstance(verdict, optuna.TrialPruned):
        study.tell(trial, state=optuna.trial.TrialState.PRUNED, skip_if_finished=True)
        tally.pruned += 1
        return 0
    if isinstance(verdict, BaseException):
        study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
        tally.failed += 1
        tally.last_failure = str(verdict)
        return in_a_row + 1
    study.tell(trial, verdict, skip_if_finished=True)
    tally.finished += 1
    return 0


class _Heartbeat:
    """The trial's heartbeat in the storage while it runs, from a daemon thread: a process that
    dies stops beating, and after the grace period any process marks its trial failed.

    Each beat first reads the trial's state: a trial the study failed meanwhile (this process was
    suspended past the grace period, then continued) is stopped at once through `on_lost`, and
    `check()` asks the same before an epoch is saved."""

    def __init__(self, storage: optuna.storages.RDBStorage, trial_id: int) -> None:
        self.storage, self.trial_id = storage, trial_id
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="dae-tui-sweep-heartbeat", daemon=True)
        self.last_beat = time.monotonic()
        self.lost: str | None = None
        """Why the trial must not go on: the study failed it; None while it is the trial's own."""
        self.on_lost: Callable[[str], None] = lambda reason: None

    def check(self) -> str | None:
        """The reason the study failed this trial, once it has; None while it runs (or when the
        storage cannot be read: the trial goes on, and the next beat asks again)."""
        if self.lost is None:
            try:
                state = self.storage.get_trial(self.trial_id).state
            except Exception:  # noqa: BLE001 - a storage that does not answer: not a verdict
                return None
            if state.is_finished() and not self.stopped.is_set():
                silent = time.monotonic() - self.last_beat
                self.lost = f"the study failed this trial (no heartbeat for {silent:.0f} s; was the process suspended?)"
        return self.lost

    def _beat(self) -> None:
        interval = self.storage.get_heartbeat_interval() or HEARTBEAT_S
        while not self.stopped.is_set():
            lost = self.check()
            if lost is not None:
                self.on_lost(lost)
                return
            try:
                self.storage.record_heartbeat(self.trial_id)
                self.last_beat = time.monotonic()
            except Exception:  # noqa: BLE001 - a missed beat is retried; the trial goes on
                pass
            self.stopped.wait(interval)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(5)


def _trial(
    study: optuna.Study,
    trial: optuna.Trial,
    fixed: TrainConfig,
    space: tuple[Dimension, ...],
    runs_dir: str | Path,
    metric: str,
    prune: bool,
    on_trial: Callable[[TrialOutcome], None],
    storage_url: str,
    beat: _Heartbeat,
    stopper: Stopper,
) -> float:
    """One trial: its run, reported epoch by epoch; raises `TrialPruned`, `TrialFailed` or
    `TrialStopped`. The study's verdict is read before each epoch is saved (`beat.check`) and by
    the heartbeat between batches: a trial it failed stops at once, its run folder `failed`."""
    start = time.monotonic()
    params, config = trial_config(trial, fixed, space, on_trial)
    trainer = Trainer(config, runs_dir=runs_dir, keep_epoch=lambda epoch: beat.check())
    beat.on_lost = trainer.request_stop
    stopper.attach(trainer)
    follower = Follower(study, trial, config, params, metric, prune, on_trial, storage_url, beat, stopper, start)
    follower.stop = trainer.request_stop
    try:
        for event in trainer.run():
            follower.on(event)
        return follower.result()
    finally:
        stopper.attach(None)


def trial_config(
    trial: optuna.Trial, fixed: TrainConfig, space: tuple[Dimension, ...], on_trial: Callable[[TrialOutcome], None]
) -> tuple[dict[str, Any], TrainConfig]:
    """The trial's searched values and its config; `TrialFailed` (told to `on_trial`) for a
    combination no single value showed (e.g. a factor the searched noise kind refuses)."""
    params = suggest(trial, space)
    config = with_changes(fixed, params)  # a searched noise kind without a factor: its default
    errors = config.validate()
    if errors:
        outcome: dict[str, Any] = dict(number=trial.number, params=params, run_dir=None, epochs=0)
        on_trial(TrialOutcome(state="failed", value=None, seconds=0.0, message=str(errors[0]), **outcome))
        raise TrialFailed(str(errors[0]))
    return params, config


class Follower:
    """One trial's run, event by event, turned into reports to the study and the trial's end:
    `on(event)` raises `TrialPruned`, `TrialFailed` or `TrialStopped` at the event that decides
    it; `result()` is the trial's value once its run has finished."""

    def __init__(
        self,
        study: optuna.Study,
        trial: optuna.Trial,
        config: TrainConfig,
        params: dict[str, Any],
        metric: str,
        prune: bool,
        on_trial: Callable[[TrialOutcome], None],
        storage_url: str,
        beat: _Heartbeat,
        stopper: Stopper,
        start: float,
    ) -> None:
        self.study, self.trial, self.config, self.params = study, trial, config, params
        self.metric, self.prune, self.on_trial, self.storage_url = metric, prune, on_trial, storage_url
        self.beat, self.stopper, self.start = beat, stopper, start
        self.stop: Callable[[str], None] = lambda reason: None
        """Stops the trial's run before its next batch (its trainer's, or its pack member's)."""
        self.outcome: dict[str, Any] = dict(number=trial.number, params=params, run_dir=None, epochs=0)
        self.pruned_at: int | None = None
        self.value: float | None = None

    def _end(self, state: str, message: str = "") -> None:
        seconds = time.monotonic() - self.start
        self.on_trial(TrialOutcome(state=state, value=self.value, seconds=seconds, message=message, **self.outcome))

    def result(self) -> float:
        assert self.value is not None and math.isfinite(self.value)
        return self.value

    def on(self, event: Event) -> None:
        study, trial = self.study, self.trial
        match event:
            case RunStarted():
                self.outcome["run_dir"] = event.run_dir
                trial.set_user_attr("run_dir", event.run_dir)
                atomic_write_json(
                    Path(event.run_dir) / SWEEP_FILE,
                    {
                        "study": study.study_name,
                        "trial": trial.number,
                        "storage": self.storage_url,
                        "params": self.params,
                        "metric": self.metric,
                        "host": this_host(),
                    },
                )
            case EpochEnd():
                self.value = _metric(event, self.metric)
                self.outcome["epochs"] = event.epoch
                try:
                    trial.report(self.value, event.epoch)
                    prunable = (
                        self.prune
                        and self.pruned_at is None
                        and event.epoch < self.config.epochs
                        and trial.should_prune()
                    )
                except optuna.exceptions.UpdateFinishedTrialError:
                    # Another process judged this trial dead (its heartbeat looked stale to it): the study
                    # has counted it as failed, so it stops here rather than report into a closed trial.
                    lost = self.beat.check() or "the study failed this trial meanwhile (a heartbeat it saw as stale)"
                    self.stop(lost)
                    self._end("failed", lost)
                    raise TrialFailed(lost) from None
                if prunable:
                    self.pruned_at = event.epoch
                    self.stop(f"pruned by study {study.study_name} after epoch {event.epoch}")
            case RunFailed():
                self._end("failed", event.message)
                raise TrialFailed(event.message)
            case RunStopped():
                assert event.run_dir is not None  # the trainer stops between epochs, in its folder
                if self.beat.lost is not None:  # the heartbeat found the trial failed by the study
                    _mark_status(Path(event.run_dir), "failed", self.beat.lost)
                    self._end("failed", self.beat.lost)
                    raise TrialFailed(self.beat.lost)
                if self.pruned_at is None:  # stopped by a signal: the sweep stops too
                    self._end("stopped", self.stopper.reason or "stopped")
                    raise TrialStopped(self.stopper.reason or "stopped")
                _mark_status(
                    Path(event.run_dir), "pruned", f"pruned by study {study.study_name} after epoch {self.pruned_at}"
                )
                self._end("pruned")
                raise optuna.TrialPruned(f"after epoch {self.pruned_at}")
            case RunFinished():
                assert self.value is not None
                self._end("finished")


def _mark_status(run_dir: Path, status: str, message: str) -> None:
    """status.json says `pruned` or `failed` where the trainer wrote `stopped` (the run stopped like
    any other; its checkpoint can be resumed)."""
    path = run_dir / STATUS_NAME
    try:
        doc = read_json(path)
    except (OSError, ValueError):
        doc = {}
    doc = doc if isinstance(doc, dict) else {}
    doc.update(status=status, message=message)
    atomic_write_json(path, doc)
