"""Hyperparameter sweeps on Optuna: a study in a storage URL, trials that are ordinary runs.

    storage = open_storage(default_storage(runs_dir))          # or postgresql://user@host/db
    study = open_study("mnist-3f2a9c1d", storage, "test_psnr")
    run_trials(study, storage, fixed, space, runs_dir, total=20)   # until the study holds 20 trials

No scheduler of ours: each process asks the study for trials until it holds `total` of them (any
state, from any process or machine; counted and asked under a lock, so the total is exact),
reports the per-epoch test figure and lets the median pruner stop the poor ones. SQLite is the
default storage, in the runs folder, for one machine; the same code on a PostgreSQL URL is the
distributed mode. Heartbeats mark a trial whose process died as failed instead of leaving the
study waiting for it.

Every trial is a run folder like any other, with `sweep.json` naming its study and trial; a pruned
trial's status.json says `pruned`.

Imports optuna and torch (through the trainer); never textual or rich.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from ..config import ConfigError, TrainConfig, with_changes
from .data import DataError
from .events import EpochEnd, RunFailed, RunFinished, RunStarted, RunStopped
from .runfiles import STATUS_NAME, atomic_write_json, read_json
from .runinfo import SWEEP_NAME
from .space import Dimension
from .trainer import Trainer

__all__ = ["DEFAULT_DB", "METRICS", "SWEEP_FILE", "TrialOutcome", "default_storage", "describe_study",
           "fail_dead_trials", "open_storage", "open_study", "redact", "run_trials", "sqlite_file", "study_name_for",
           "study_names", "study_report", "suggest"]

DEFAULT_DB = "sweeps.db"
"""The SQLite file in the runs folder that holds this machine's studies."""
SWEEP_FILE = SWEEP_NAME
"""In a trial's run folder: the study and trial number it belongs to."""
METRICS = {"test_psnr": "maximize", "test_mse": "minimize"}
HEARTBEAT_S = 10
"""Seconds between a running trial's heartbeats; one silent for 3 of them is failed."""
CREATE_ATTEMPTS = 5
"""Tries at opening a storage whose tables another process is creating at the same moment."""
MIN_FOR_IMPORTANCE = 4
"""Finished trials before per-parameter importance means anything."""

# Our own one line a trial says how it ended; Optuna's warnings would say it again, with a traceback.
optuna.logging.set_verbosity(logging.ERROR)


@contextmanager
def _quiet() -> Iterator[None]:
    """Heartbeats and stale-trial checks are "experimental" in Optuna: stable since 2.9, but warned
    about on every use."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # We beat the heart ourselves (`_Heartbeat`) around trials we ask for under our lock.
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
        yield


class TrialFailed(Exception):
    """The trial's run failed (its message is the run's); the study goes on."""


def default_storage(runs_dir: str | Path) -> str:
    """SQLite in the runs folder: one machine only (never shared between machines or on NFS)."""
    return f"sqlite:///{(Path(runs_dir).expanduser() / DEFAULT_DB).resolve()}"


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (sqlite:///PATH); None for any other storage."""
    return Path(url[len("sqlite:///"):]).expanduser() if url.startswith("sqlite:///") else None


def redact(url: str) -> str:
    """`url` without its password, for messages and files."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def open_storage(url: str, heartbeat: int = HEARTBEAT_S) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage at `url` (sqlite:///PATH or postgresql://...), checked by connecting;
    `ConfigError` in one line for a bad URL, a missing driver or a server that does not answer."""
    shown = redact(url)
    engine_kwargs: dict[str, Any] = {}
    database = sqlite_file(url)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 60}}  # several processes write one file
    elif url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
        try:
            import psycopg  # noqa: F401 - only to say what is missing
        except ImportError:
            raise ConfigError(f"--storage {shown}: PostgreSQL needs the driver: pip install -e '.[postgres]'") from None
        engine_kwargs = {"connect_args": {"connect_timeout": 10}}
    elif not url.startswith("postgresql+"):
        raise ConfigError(f"--storage {shown}: expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB")

    def make() -> optuna.storages.RDBStorage:
        with _quiet():
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat,
                                              grace_period=3 * heartbeat)

    # On SQLite, processes on one machine take turns at creating the tables (the trials' lock).
    with _file_lock(database) if database is not None else nullcontext():
        return _retrying(make, f"--storage {shown}: cannot open it")


RACES = ("duplicate key", "UNIQUE constraint", "already exists", "locked", "deadlock", "could not serialize")
"""What a database says when another process created the same thing a moment before."""


def _retrying(make: Callable[[], Any], what: str) -> Any:
    """`make()`, again after a short wait when it lost a race with another process (several
    processes starting on a new database all create Optuna's tables and the study at once; once
    they exist, opening works); any other error is `ConfigError` "WHAT (REASON)" in one line."""
    for attempt in range(CREATE_ATTEMPTS):
        try:
            return make()
        except Exception as err:  # noqa: BLE001 - SQLAlchemy's many errors all mean "not usable"
            lines = str(getattr(err, "orig", None) or err).strip().splitlines()
            reason = lines[0] if lines else type(err).__name__
            if attempt + 1 < CREATE_ATTEMPTS and any(word in reason for word in RACES):
                time.sleep(0.5 * (attempt + 1))
                continue
            raise ConfigError(f"{what} ({reason})") from None
    raise AssertionError("unreachable")


def study_name_for(fixed: TrainConfig, space: tuple[Dimension, ...]) -> str:
    """A study name from what the trials share: the dataset and a digest of the fixed settings and
    the space, so the same command joins the same study and a changed one starts another."""
    searched = {d.name for d in space}
    shared = {k: v for k, v in fixed.to_dict().items() if k not in searched}
    text = json.dumps([shared, [d.describe() for d in space]], sort_keys=True, default=str)
    return f"{fixed.dataset}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def open_study(name: str, storage: optuna.storages.RDBStorage, metric: str = "test_psnr",
               seed: int | None = None, create: bool = True) -> optuna.Study:
    """The study `name`, created on first use; `ConfigError` when it exists for the other metric
    (or, with `create` False, does not exist)."""
    if not create:
        try:
            return optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
            known = f"; studies there: {', '.join(names)}" if names else "; it holds no study yet"
            raise ConfigError(f"--study {name}: no such study in {redact(storage.url)}{known}") from None
    direction = METRICS[metric]
    study = _retrying(lambda: optuna.create_study(
        study_name=name, storage=storage, direction=direction, load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=4),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
    ), f"--study {name}: cannot create it in {redact(storage.url)}")
    if study.direction.name.lower() != direction:
        raise ConfigError(f"--study {name} exists to {study.direction.name.lower()} its metric, not {metric}: "
                          "name another study")
    return study


def study_names(storage: optuna.storages.RDBStorage) -> list[str]:
    """The storage's studies, oldest first."""
    summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    return [s.study_name for s in sorted(summaries, key=lambda s: (s.datetime_start is not None,
                                                                       s.datetime_start or 0, s._study_id))]


def describe_study(study: optuna.Study, metric: str, space: tuple[Dimension, ...], fixed: TrainConfig,
                   heartbeat: int = HEARTBEAT_S) -> None:
    """Record what the study searches and optimises, and how often its trials beat, for
    `--status` and the dashboard."""
    if study.user_attrs.get("space") is None:
        study.set_user_attr("metric", metric)
        study.set_user_attr("space", {d.name: d.kind for d in space})
        study.set_user_attr("fixed", fixed.to_dict())
        study.set_user_attr("heartbeat", heartbeat)


def fail_dead_trials(study: optuna.Study, storage: optuna.storages.RDBStorage) -> None:
    """For a reader (`--status`, the Sweep tab): mark failed the trials whose process died, judged
    by the heartbeat the study's sweep processes beat (recorded in the study), never by this
    reader's own setting, so a reader cannot fail a trial that is alive. A study without the
    record is left as it is."""
    beat = study.user_attrs.get("heartbeat")
    if type(beat) is not int or beat < 1:
        return
    storage.heartbeat_interval, storage.grace_period = beat, 3 * beat  # this reader's storage only
    with _quiet():
        optuna.storages.fail_stale_trials(study)


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


def run_trials(study: optuna.Study, storage: optuna.storages.RDBStorage, fixed: TrainConfig,
               space: tuple[Dimension, ...], runs_dir: str | Path, total: int, metric: str = "test_psnr",
               prune: bool = True, on_trial: Callable[[TrialOutcome], None] = lambda outcome: None,
               storage_url: str = "") -> None:
    """Run trials in this process until the study holds `total` trials (from every process).

    Counting the study's trials and asking for a new one happen under a lock every process takes
    (a file lock beside an SQLite database, an advisory lock on PostgreSQL), so two processes that
    finish at the same moment cannot both start the last trial: the study ends with exactly
    `total` (Optuna's max-trials callback counts after a trial, which leaves that race open)."""
    while True:
        with _quiet():
            optuna.storages.fail_stale_trials(study)  # a process that died: its trial failed, not waited for
        with _slot(storage, study.study_name):
            if len(study.get_trials(deepcopy=False)) >= total:
                return
            with _quiet():
                trial = study.ask()
        with _Heartbeat(storage, trial._trial_id):
            # skip_if_finished: a trial another process already failed (stale heartbeat) stays so.
            try:
                value = _trial(study, trial, fixed, space, runs_dir, metric, prune, on_trial, storage_url)
            except optuna.TrialPruned:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED, skip_if_finished=True)
            except (TrialFailed, ConfigError, DataError):
                study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            except BaseException:  # Ctrl-C: the study goes on without this trial
                study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
                raise
            else:
                study.tell(trial, value, skip_if_finished=True)


class _Heartbeat:
    """The trial's heartbeat in the storage while it runs, from a daemon thread: a process that
    dies stops beating, and after the grace period any process marks its trial failed."""

    def __init__(self, storage: optuna.storages.RDBStorage, trial_id: int) -> None:
        self.storage, self.trial_id = storage, trial_id
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="dae-tui-sweep-heartbeat", daemon=True)

    def _beat(self) -> None:
        interval = self.storage.get_heartbeat_interval() or HEARTBEAT_S
        while not self.stopped.is_set():
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception:  # noqa: BLE001 - a missed beat is retried; the trial goes on
                pass
            self.stopped.wait(interval)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(5)


@contextmanager
def _slot(storage: optuna.storages.RDBStorage, study: str) -> Iterator[None]:
    """Hold the study's lock: an flock beside an SQLite file, a PostgreSQL advisory lock."""
    url = storage.url
    database = sqlite_file(url)
    if database is not None:
        with _file_lock(database):
            yield
        return
    if url.startswith("postgresql"):
        from sqlalchemy import text

        key = int.from_bytes(hashlib.sha256(study.encode()).digest()[:8], "big", signed=True)
        with storage.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        return
    yield  # another database: Optuna's own count is the only guard


@contextmanager
def _file_lock(database: Path) -> Iterator[None]:
    """An exclusive flock on DATABASE.lock, beside an SQLite file: processes on this machine."""
    with open(database.with_name(database.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _trial(study: optuna.Study, trial: optuna.Trial, fixed: TrainConfig, space: tuple[Dimension, ...],
           runs_dir: str | Path, metric: str, prune: bool, on_trial: Callable[[TrialOutcome], None],
           storage_url: str) -> float:
    """One trial: its run, reported epoch by epoch; raises `TrialPruned` or `TrialFailed`."""
    start = time.monotonic()
    params = suggest(trial, space)
    outcome: dict[str, Any] = dict(number=trial.number, params=params, run_dir=None, epochs=0)
    config = with_changes(fixed, params)  # a searched noise kind without a factor: its default
    errors = config.validate()
    if errors:  # a combination no single value showed (e.g. a factor the searched noise kind refuses)
        on_trial(TrialOutcome(state="failed", value=None, seconds=0.0, message=str(errors[0]), **outcome))
        raise TrialFailed(str(errors[0]))
    trainer = Trainer(config, runs_dir=runs_dir)
    pruned_at, value = None, None
    for event in trainer.run():
        if isinstance(event, RunStarted):
            outcome["run_dir"] = event.run_dir
            trial.set_user_attr("run_dir", event.run_dir)
            atomic_write_json(Path(event.run_dir) / SWEEP_FILE, {
                "study": study.study_name, "trial": trial.number, "storage": storage_url,
                "params": params, "metric": metric,
            })
        elif isinstance(event, EpochEnd):
            value = _metric(event, metric)
            outcome["epochs"] = event.epoch
            try:
                trial.report(value, event.epoch)
                prunable = prune and pruned_at is None and event.epoch < config.epochs and trial.should_prune()
            except optuna.exceptions.UpdateFinishedTrialError:
                # Another process judged this trial dead (its heartbeat looked stale to it): the study
                # has counted it as failed, so it stops here rather than report into a closed trial.
                lost = "the study marked this trial failed meanwhile (a heartbeat it saw as stale)"
                trainer.request_stop(lost)
                on_trial(TrialOutcome(state="failed", value=value, seconds=time.monotonic() - start,
                                      message=lost, **outcome))
                raise TrialFailed(lost) from None
            if prunable:
                pruned_at = event.epoch
                trainer.request_stop(f"pruned by study {study.study_name} after epoch {event.epoch}")
        elif isinstance(event, RunFailed):
            on_trial(TrialOutcome(state="failed", value=value, seconds=time.monotonic() - start,
                                  message=event.message, **outcome))
            raise TrialFailed(event.message)
        elif isinstance(event, RunStopped):
            if pruned_at is None:  # stopped by a signal: the sweep stops too
                raise KeyboardInterrupt
            _mark_pruned(Path(event.run_dir), study.study_name, pruned_at)
            on_trial(TrialOutcome(state="pruned", value=value, seconds=time.monotonic() - start, **outcome))
            raise optuna.TrialPruned(f"after epoch {pruned_at}")
        elif isinstance(event, RunFinished):
            assert value is not None
            on_trial(TrialOutcome(state="finished", value=value, seconds=time.monotonic() - start, **outcome))
    assert value is not None and math.isfinite(value)
    return value


def _mark_pruned(run_dir: Path, study: str, epoch: int) -> None:
    """status.json says `pruned` (the run stopped like any other; its checkpoint can be resumed)."""
    path = run_dir / STATUS_NAME
    try:
        doc = read_json(path)
    except (OSError, ValueError):
        doc = {}
    doc = doc if isinstance(doc, dict) else {}
    doc.update(status="pruned", message=f"pruned by study {study} after epoch {epoch}")
    atomic_write_json(path, doc)


def study_report(study: optuna.Study) -> dict[str, Any]:
    """The study as `--status` shows it: trials, the best, importance once it means something.

    Only reads: judging a trial dead is left to the sweep processes, which share its heartbeat
    settings (a reader with a shorter grace period would fail trials that are alive)."""
    trials = study.get_trials(deepcopy=False)
    rows = []
    for t in trials:
        last_epoch = max(t.intermediate_values, default=0)
        rows.append({
            "trial": t.number, "state": t.state.name.lower(), "params": t.params, "value": t.value,
            "epochs": last_epoch, "last": t.intermediate_values.get(last_epoch),
            "run_dir": t.user_attrs.get("run_dir"),
            "seconds": (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start else None,
        })
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = None
    if complete:
        b = study.best_trial
        best = {"trial": b.number, "value": b.value, "params": b.params, "run_dir": b.user_attrs.get("run_dir")}
    importance: dict[str, float] = {}
    if len(complete) >= MIN_FOR_IMPORTANCE and len({tuple(sorted(t.params.items())) for t in complete}) > 1:
        try:
            with _quiet():
                evaluator = optuna.importance.PedAnovaImportanceEvaluator()  # no scikit-learn needed
                importance = dict(optuna.importance.get_param_importances(study, evaluator=evaluator))
        except Exception:  # noqa: BLE001 - too few or too alike trials: no importance, not an error
            importance = {}
    attrs = study.user_attrs
    return {"study": study.study_name, "direction": study.direction.name.lower(),
            "metric": attrs.get("metric", "test_psnr"), "space": attrs.get("space") or {}, "trials": rows,
            "best": best, "importance": importance}
