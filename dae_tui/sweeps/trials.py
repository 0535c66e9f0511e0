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
from typing import Any

import optuna

from dae_tui.core.config import ConfigError, TrainConfig, with_changes
from dae_tui.core.events import EpochEnd, RunFailed, RunFinished, RunStarted, RunStopped
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


class Stopper:
    """A stop asked for from a signal handler (any thread): the trial running now stops at its next
    batch, its checkpoint kept, and no other trial starts."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._trainer: Trainer | None = None

    def request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        trainer = self._trainer
        if trainer is not None:
            trainer.request_stop(self.reason)

    def attach(self, trainer: Trainer | None) -> None:
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
    attribute `gpu`) so that the study can say which GPU gave which figure."""
    stopper = stopper or Stopper()
    tally = SweepTally()
    in_a_row = 0
    try:
        while stopper.reason is None and in_a_row < FAILURES_IN_A_ROW:
            fail_stale_trials(study, storage)
            with _slot(storage, study.study_name):
                if counted(study) >= total:
                    break
                with _quiet():
                    trial = study.ask()
                # Who runs it, so that a sweep on this machine can fail it at once if it dies.
                trial.set_user_attr("host", this_host())
                trial.set_user_attr("pid", os.getpid())
                if gpu is not None:
                    trial.set_user_attr("gpu", gpu)
            with _Heartbeat(storage, trial._trial_id) as beat:
                # skip_if_finished: a trial another process already failed (stale heartbeat) stays so.
                try:
                    value = _trial(
                        study, trial, fixed, space, runs_dir, metric, prune, on_trial, storage_url, beat, stopper
                    )
                except optuna.TrialPruned:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED, skip_if_finished=True)
                    tally.pruned += 1
                    in_a_row = 0
                except (TrialFailed, ConfigError, DataError) as err:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
                    tally.failed += 1
                    tally.last_failure = str(err)
                    in_a_row += 1
                except BaseException:  # a signal's stop: the study goes on without this trial
                    study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
                    raise
                else:
                    study.tell(trial, value, skip_if_finished=True)
                    tally.finished += 1
                    in_a_row = 0
        tally.gave_up = in_a_row >= FAILURES_IN_A_ROW
    finally:
        try:
            fail_stale_trials(study, storage)
        except Exception:  # noqa: BLE001 - the storage's own error is the one to report, not this
            pass
    if stopper.reason is not None:
        raise TrialStopped(stopper.reason)
    return tally


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
    params = suggest(trial, space)
    outcome: dict[str, Any] = dict(number=trial.number, params=params, run_dir=None, epochs=0)
    config = with_changes(fixed, params)  # a searched noise kind without a factor: its default
    errors = config.validate()
    if errors:  # a combination no single value showed (e.g. a factor the searched noise kind refuses)
        on_trial(TrialOutcome(state="failed", value=None, seconds=0.0, message=str(errors[0]), **outcome))
        raise TrialFailed(str(errors[0]))
    trainer = Trainer(config, runs_dir=runs_dir, keep_epoch=lambda epoch: beat.check())
    beat.on_lost = trainer.request_stop
    stopper.attach(trainer)
    try:
        return _follow(
            study, trial, trainer, config, params, metric, prune, on_trial, storage_url, beat, stopper, start
        )
    finally:
        stopper.attach(None)


def _follow(
    study: optuna.Study,
    trial: optuna.Trial,
    trainer: Trainer,
    config: TrainConfig,
    params: dict[str, Any],
    metric: str,
    prune: bool,
    on_trial: Callable[[TrialOutcome], None],
    storage_url: str,
    beat: _Heartbeat,
    stopper: Stopper,
    start: float,
) -> float:
    """The trial's run, event by event, turned into reports to the study and the trial's end."""
    outcome: dict[str, Any] = dict(number=trial.number, params=params, run_dir=None, epochs=0)
    pruned_at, value = None, None
    for event in trainer.run():
        match event:
            case RunStarted():
                outcome["run_dir"] = event.run_dir
                trial.set_user_attr("run_dir", event.run_dir)
                atomic_write_json(
                    Path(event.run_dir) / SWEEP_FILE,
                    {
                        "study": study.study_name,
                        "trial": trial.number,
                        "storage": storage_url,
                        "params": params,
                        "metric": metric,
                        "host": this_host(),
                    },
                )
            case EpochEnd():
                value = _metric(event, metric)
                outcome["epochs"] = event.epoch
                try:
                    trial.report(value, event.epoch)
                    prunable = prune and pruned_at is None and event.epoch < config.epochs and trial.should_prune()
                except optuna.exceptions.UpdateFinishedTrialError:
                    # Another process judged this trial dead (its heartbeat looked stale to it): the study
                    # has counted it as failed, so it stops here rather than report into a closed trial.
                    lost = beat.check() or "the study failed this trial meanwhile (a heartbeat it saw as stale)"
                    trainer.request_stop(lost)
                    on_trial(
                        TrialOutcome(
                            state="failed", value=value, seconds=time.monotonic() - start, message=lost, **outcome
                        )
                    )
                    raise TrialFailed(lost) from None
                if prunable:
                    pruned_at = event.epoch
                    trainer.request_stop(f"pruned by study {study.study_name} after epoch {event.epoch}")
            case RunFailed():
                on_trial(
                    TrialOutcome(
                        state="failed", value=value, seconds=time.monotonic() - start, message=event.message, **outcome
                    )
                )
                raise TrialFailed(event.message)
            case RunStopped():
                assert event.run_dir is not None  # the trainer stops between epochs, in its folder
                if beat.lost is not None:  # the heartbeat found the trial failed by the study
                    _mark_status(Path(event.run_dir), "failed", beat.lost)
                    on_trial(
                        TrialOutcome(
                            state="failed", value=value, seconds=time.monotonic() - start, message=beat.lost, **outcome
                        )
                    )
                    raise TrialFailed(beat.lost)
                if pruned_at is None:  # stopped by a signal: the sweep stops too
                    on_trial(
                        TrialOutcome(
                            state="stopped",
                            value=value,
                            seconds=time.monotonic() - start,
                            message=stopper.reason or "stopped",
                            **outcome,
                        )
                    )
                    raise TrialStopped(stopper.reason or "stopped")
                _mark_status(
                    Path(event.run_dir), "pruned", f"pruned by study {study.study_name} after epoch {pruned_at}"
                )
                on_trial(TrialOutcome(state="pruned", value=value, seconds=time.monotonic() - start, **outcome))
                raise optuna.TrialPruned(f"after epoch {pruned_at}")
            case RunFinished():
                assert value is not None
                on_trial(TrialOutcome(state="finished", value=value, seconds=time.monotonic() - start, **outcome))
    assert value is not None and math.isfinite(value)
    return value


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
