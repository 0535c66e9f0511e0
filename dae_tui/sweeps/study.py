"""Optuna studies in a storage URL, read and written without torch: open a storage (SQLite in the
runs folder, or PostgreSQL), create or load a study, record what it searches, fail the trials of
dead processes, and report it for `--status` and the Sweep tab.

    storage = open_storage(default_storage(runs_dir))          # or postgresql://user@host/db
    study = open_study("mnist-3f2a9c1d", storage, "test_psnr")
    study_report(study)                                         # trials, the best, importance

`trials` runs a study's trials as ordinary training runs (the part that loads torch). SQLite is the
default storage, in the runs folder, for one machine; the same code on a PostgreSQL URL is the
distributed mode. Heartbeats mark a trial whose process died as failed instead of leaving the
study waiting for it.

Imports optuna and SQLAlchemy; never torch, textual or rich (the sweep parent, `--status` and the
Sweep tab read studies through this module, so none of them loads torch).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import stat
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Literal

import optuna
import sqlalchemy.exc
from sqlalchemy.exc import SQLAlchemyError

from dae_tui.core.config import ConfigError, TrainConfig, clip
from dae_tui.core.errors import DaeError
from dae_tui.runs.files import pid_alive, this_host
from dae_tui.runs.info import SWEEP_NAME
from dae_tui.sweeps.space import Dimension

__all__ = [
    "DEFAULT_DB",
    "METRICS",
    "SWEEP_FILE",
    "SQLAlchemyError",
    "StorageFailed",
    "counted",
    "default_storage",
    "describe_study",
    "fail_dead_trials",
    "fail_stale_trials",
    "open_storage",
    "open_study",
    "redact",
    "sqlite_file",
    "storage_failure",
    "study_name_for",
    "study_names",
    "study_report",
]

DEFAULT_DB = "sweeps.db"
"""The SQLite file in the runs folder that holds this machine's studies."""
SWEEP_FILE = SWEEP_NAME
"""In a trial's run folder: the study and trial number it belongs to."""
METRICS: dict[str, Literal["maximize", "minimize"]] = {"test_psnr": "maximize", "test_mse": "minimize"}
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


def default_storage(runs_dir: str | Path) -> str:
    """SQLite in the runs folder: one machine only (never shared between machines or on NFS)."""
    return f"sqlite:///{(Path(runs_dir).expanduser() / DEFAULT_DB).resolve()}"


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (sqlite:///PATH, a query after it left off); None for any
    other storage."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///") :].split("?", 1)[0]).expanduser()


def redact(url: str) -> str:
    """`url` with every credential in it hidden, for messages, files and the dashboard.

    SQLAlchemy's own parser reads the URL (what it would connect with), but the user part runs to
    the last `@` of the host part: `me:p@ss@host` hides all of `p@ss`, where the parser would
    stop at the first `@`. A query key that names a secret (`?password=`, `sslpassword`, `pwd`,
    a token) is hidden too; what cannot be parsed at all is only its scheme and `***`."""
    from sqlalchemy.engine import make_url

    scheme, sep, rest = url.partition("://")
    if not sep:
        # A bare word or path holds no user part or query to hide; anything else might.
        return clip(url, URL_CLIP) if url and not any(c in url for c in "@?:") else "***"
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    secret = False
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, colon, _ = userinfo.partition(":")
        secret = bool(colon)
        netloc = f"{user}@{host}"
    try:
        parsed = make_url(f"{scheme}://{netloc}{tail}")
    except Exception:  # noqa: BLE001 - SQLAlchemy's ArgumentError and ValueError alike
        return f"{clip(scheme, 40)}://***"
    shown = (parsed.set(password="***") if secret else parsed).set(query={})
    text = shown.render_as_string(hide_password=True)
    pairs = [(key, v) for key, value in parsed.query.items() for v in (value if isinstance(value, tuple) else (value,))]
    if pairs:
        text += "?" + "&".join(f"{key}={'***' if _secret_key(key) else value}" for key, value in pairs)
    return clip(text, URL_CLIP)


URL_CLIP = 200
"""Characters of a URL shown in a message: a long path whole, a 20 MB argument not."""
SECRET_WORDS = ("pass", "pwd", "secret", "token", "credential", "apikey", "api_key")
"""Query keys (any case, anywhere in the key) whose value is a credential: libpq's `password`
and `sslpassword`, ODBC's `pwd`, drivers' `passwd`, tokens."""


def _secret_key(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_WORDS)


class StorageFailed(DaeError):
    """The storage stopped taking writes mid-sweep (a full disk, a server gone): one line, exit 1,
    unlike a URL that cannot be opened at all (a bad request, exit 2)."""


FULL = ("disk is full", "disk full", "No space left", "File too large", "disk I/O error", "could not extend file")
"""What SQLite and PostgreSQL say when the disk under the database is full."""


def storage_failure(err: BaseException, url: str) -> StorageFailed:
    """A database error raised while sweeping, as the one line the sweep ends with."""
    lines = str(getattr(err, "orig", None) or err).strip().splitlines()
    reason = lines[0] if lines else type(err).__name__
    if any(word in reason for word in FULL):
        return StorageFailed(
            f"disk full under the storage {redact(url)} ({reason}); the trials already recorded are kept"
        )
    return StorageFailed(f"the storage {redact(url)} failed ({clip(reason, URL_CLIP)})")


def open_storage(url: str, heartbeat: int = HEARTBEAT_S, create_folder: bool = False) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage at `url` (sqlite:///PATH or postgresql://...), checked by connecting;
    `ConfigError` in one line for a bad URL, a missing driver or a server that does not answer.

    An SQLite file's folder must exist (a typo must not quietly create a chain of folders) unless
    `create_folder`, for the runs folder's own default; the file must be a regular file or not
    there yet, in a folder that can be written (a lock file goes beside it)."""
    shown = redact(url)
    engine_kwargs: dict[str, Any] = {}
    database = sqlite_file(url)
    if database is not None:
        _check_sqlite_file(database, shown, create_folder)
        engine_kwargs = {"connect_args": {"timeout": 60}}  # several processes write one file
    elif url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
        try:
            import psycopg  # noqa: F401 - only to say what is missing
        except ImportError:
            raise ConfigError(f"--storage {shown}: PostgreSQL needs the driver: pip install -e '.[postgres]'") from None
        engine_kwargs = {"connect_args": {"connect_timeout": 10}}
    elif not url.startswith("postgresql+"):
        raise ConfigError(f"--storage {shown}: expected sqlite:///PATH or postgresql://USER@HOST/DB")
    netloc = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
    if netloc.count("@") > 1:
        raise ConfigError(
            f"--storage {shown}: an @ in the user name or password must be written %40 "
            "(or leave the password out: PGPASSWORD or ~/.pgpass)"
        )

    def make() -> optuna.storages.RDBStorage:
        with _quiet(), warnings.catch_warnings():
            # SQLAlchemy's note that SQLite ignores a query key (a ?password= meant for another
            # database): harmless, and not worth a warning with a traceback-like source line.
            warnings.simplefilter("ignore", sqlalchemy.exc.SAWarning)
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat, grace_period=3 * heartbeat
            )

    # On SQLite, processes on one machine take turns at creating the tables (the trials' lock).
    try:
        with _file_lock(database) if database is not None else nullcontext():
            return _retrying(make, f"--storage {shown}: cannot open it")
    except OSError as err:
        raise ConfigError(f"--storage {shown}: cannot write beside the file ({err.strerror or err})") from None
    except ConfigError as err:
        if any(word in str(err) for word in FULL):
            raise StorageFailed(str(err)) from None  # not a bad request: a full disk
        raise


def _check_sqlite_file(database: Path, shown: str, create_folder: bool) -> None:
    """Refuse, in one line, an SQLite path that cannot be a database here."""
    if not database.name or str(database).endswith("/"):
        raise ConfigError(
            f"--storage {shown}: names no database file (sqlite:///PATH, e.g. "
            "sqlite:////home/me/sweeps.db or sqlite:///sweeps.db beside you)"
        )
    folder = database.parent
    try:
        if create_folder:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise ConfigError(
                f"--storage {shown}: the folder {clip(str(folder), URL_CLIP)} does not exist "
                "(create it first; nothing was created)"
            )
        if database.exists() and not database.is_file():
            raise ConfigError(f"--storage {shown}: {clip(str(database), URL_CLIP)} is not a regular file")
        if not os.access(folder, os.W_OK):
            raise ConfigError(
                f"--storage {shown}: the folder {clip(str(folder), URL_CLIP)} cannot be written "
                "(SQLite keeps a journal and our lock file beside the database)"
            )
    except OSError as err:
        raise ConfigError(
            f"--storage {shown}: {clip(str(folder), URL_CLIP)} cannot be used ({err.strerror or err})"
        ) from None


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
    text = json.dumps([shared, [d.describe(limit=None) for d in space]], sort_keys=True, default=str)
    return f"{fixed.dataset}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def open_study(
    name: str,
    storage: optuna.storages.RDBStorage,
    metric: str = "test_psnr",
    seed: int | None = None,
    create: bool = True,
) -> optuna.Study:
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
    study = _retrying(
        lambda: optuna.create_study(
            study_name=name,
            storage=storage,
            direction=direction,
            load_if_exists=True,
            sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=4),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
        ),
        f"--study {name}: cannot create it in {redact(storage.url)}",
    )
    if study.direction.name.lower() != direction:
        raise ConfigError(
            f"--study {name} exists to {study.direction.name.lower()} its metric, not {metric}: name another study"
        )
    return study


def study_names(storage: optuna.storages.RDBStorage) -> list[str]:
    """The storage's studies, oldest first."""
    summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    return [
        s.study_name
        for s in sorted(summaries, key=lambda s: (s.datetime_start is not None, s.datetime_start or 0, s._study_id))
    ]


def describe_study(
    study: optuna.Study, metric: str, space: tuple[Dimension, ...], fixed: TrainConfig, heartbeat: int = HEARTBEAT_S
) -> None:
    """Record what the study searches and optimises, and how often its trials beat, for
    `--status` and the dashboard."""
    if study.user_attrs.get("space") is None:
        searched = {d.name for d in space}
        study.set_user_attr("metric", metric)
        study.set_user_attr("space", {d.name: d.kind for d in space})
        # Only what every trial shares: the defaults of searched settings read as if they were fixed.
        study.set_user_attr("fixed", {k: v for k, v in fixed.to_dict().items() if k not in searched})
        study.set_user_attr("heartbeat", heartbeat)
    if study.metric_names is None:
        # optuna-dashboard and Optuna's CLI show the objective by this name, not "Objective 0".
        with _quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # set_metric_names is marked experimental
            study.set_metric_names([metric])


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


def counted(study: optuna.Study) -> int:
    """Trials that count toward `--trials`: complete, pruned, running or waiting. A failed trial
    (its run failed, its process died or was stopped) does not: the next trial replaces it."""
    return sum(t.state != optuna.trial.TrialState.FAIL for t in study.get_trials(deepcopy=False))


def fail_stale_trials(study: optuna.Study, storage: optuna.storages.RDBStorage) -> int:
    """Fail the running trials whose process is gone: any whose heartbeat is older than the grace
    period, and at once those of this machine whose process is no longer alive (a killed trial
    must not wait out the grace period, nor stay RUNNING when no sweep was left to judge it).
    Returns how many were failed."""
    with _quiet():
        before = counted(study)
        optuna.storages.fail_stale_trials(study)
    here, me = this_host(), os.getpid()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") != here or type(pid) is not int or pid == me or _alive(pid):
            continue
        try:
            storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # it ended meanwhile
    return before - counted(study)


def _alive(pid: int) -> bool:
    """`pid_alive`, with a zombie (killed, not yet reaped by its parent) counted as gone."""
    if not pid_alive(pid):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: the signal test alone
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


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
    path = database.with_name(database.name + ".lock")
    odd = f"{path}: the sweep's lock file is not a regular file; remove it"
    if path.exists() and not path.is_file():
        raise ConfigError(odd)
    # Not a plain open(): a FIFO put in its place would block the open until a reader came. An
    # OSError (a folder that cannot be written) is the storage's to report, as before.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigError(odd)
    with os.fdopen(fd, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def study_report(study: optuna.Study) -> dict[str, Any]:
    """The study as `--status` shows it: trials, the best, importance once it means something.

    Only reads: judging a trial dead is left to the sweep processes, which share its heartbeat
    settings (a reader with a shorter grace period would fail trials that are alive)."""
    trials = study.get_trials(deepcopy=False)
    rows = []
    for t in trials:
        last_epoch = max(t.intermediate_values, default=0)
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name.lower(),
                "params": t.params,
                "value": t.value,
                "epochs": last_epoch,
                "last": t.intermediate_values.get(last_epoch),
                "run_dir": t.user_attrs.get("run_dir"),
                "host": t.user_attrs.get("host"),
                "gpu": t.user_attrs.get("gpu"),
                "seconds": (t.datetime_complete - t.datetime_start).total_seconds()
                if t.datetime_complete and t.datetime_start
                else None,
            }
        )
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
    return {
        "study": study.study_name,
        "direction": study.direction.name.lower(),
        "metric": attrs.get("metric", "test_psnr"),
        "space": attrs.get("space") or {},
        "trials": rows,
        "best": best,
        "importance": importance,
    }
