"""`dae-tui sweep --pack K`: the trials asked together, trained as packs of one structure.

    verdicts = run_asked(study, storage, asked, fixed, space, runs_dir, ...)   # one per trial

The asked trials are grouped by what a pack must share (`training.pack.pack_key`: every setting
but the learning rate, weight decay, noise and seed); each group of two or more trains as one
stacked model (`training.pack.PackTrainer`), a group of one as an ordinary trial, one group after
another. Every trial keeps what it has alone: its run folder (sweep.json, status.json `pruned`),
its heartbeat, its reports to the study epoch by epoch and its pruning (a pruned member leaves
the stack before the next batch, the others train on).

Imports optuna and torch (through the pack's trainer); never textual or rich.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import optuna

from dae_tui.core.config import ConfigError, TrainConfig
from dae_tui.core.events import RunFinished
from dae_tui.sweeps.space import Dimension
from dae_tui.sweeps.trials import (
    Follower,
    Stopper,
    TrialFailed,
    TrialOutcome,
    TrialStopped,
    _Heartbeat,
    _trial,
    trial_config,
)
from dae_tui.training.data import DataError
from dae_tui.training.pack import PackTrainer, pack_key

__all__ = ["run_asked"]

Verdict = float | BaseException
"""A trial's end: its value, or the TrialPruned / TrialFailed / ConfigError / DataError it ended with."""


def run_asked(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    asked: list[optuna.Trial],
    fixed: TrainConfig,
    space: tuple[Dimension, ...],
    runs_dir: str | Path,
    metric: str,
    prune: bool,
    on_trial: Callable[[TrialOutcome], None],
    storage_url: str,
    stopper: Stopper,
) -> list[Verdict]:
    """Run the `asked` trials, packed where their structure matches; their verdicts, in order.

    A stop from `stopper` stops every trial at its next batch: the stopped trials are failed in
    the study (a later sweep replaces them), those already decided keep their verdicts, and
    `TrialStopped` is raised."""
    verdicts: dict[int, Verdict] = {}
    with ExitStack() as beating:
        beats = [beating.enter_context(_Heartbeat(storage, trial._trial_id)) for trial in asked]
        groups: dict[tuple[object, ...], list[tuple[int, dict[str, object], TrainConfig]]] = {}
        for i, trial in enumerate(asked):
            try:
                params, config = trial_config(trial, fixed, space, on_trial)
            except TrialFailed as err:
                verdicts[i] = err
                continue
            groups.setdefault(pack_key(config), []).append((i, dict(params), config))
        try:
            for group in groups.values():
                if stopper.reason is not None:
                    break
                if len(group) == 1:
                    i = group[0][0]
                    args = (study, asked[i], fixed, space, runs_dir, metric, prune, on_trial, storage_url, beats[i])
                    try:
                        verdicts[i] = _trial(*args, stopper)
                    except (optuna.TrialPruned, TrialFailed, ConfigError, DataError) as err:
                        verdicts[i] = err
                    continue
                _run_pack(study, asked, group, beats, runs_dir, metric, prune, on_trial, storage_url, stopper, verdicts)
        except BaseException:  # a signal's stop (a solo trial's TrialStopped): the study goes on without these
            _tell_all(study, asked, verdicts)
            raise
    if stopper.reason is not None or any(isinstance(v, TrialStopped) for v in verdicts.values()):
        _tell_all(study, asked, verdicts)
        raise TrialStopped(stopper.reason or "stopped")
    return [verdicts[i] for i in range(len(asked))]


def _verdict_reader(beat: _Heartbeat) -> Callable[[int], str | None]:
    """The member's `keep_epoch`: the study's verdict, read before each epoch is saved."""
    return lambda epoch: beat.check()


def _tell_all(study: optuna.Study, asked: list[optuna.Trial], verdicts: dict[int, Verdict]) -> None:
    """A stopped round: the trials decided keep their verdicts, every other one is failed (a later
    sweep replaces it), as a stopped solo trial is."""
    for i, trial in enumerate(asked):
        verdict = verdicts.get(i)
        if isinstance(verdict, float):
            study.tell(trial, verdict, skip_if_finished=True)
        elif isinstance(verdict, optuna.TrialPruned):
            study.tell(trial, state=optuna.trial.TrialState.PRUNED, skip_if_finished=True)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)


def _run_pack(
    study: optuna.Study,
    asked: list[optuna.Trial],
    group: list[tuple[int, dict[str, object], TrainConfig]],
    beats: list[_Heartbeat],
    runs_dir: str | Path,
    metric: str,
    prune: bool,
    on_trial: Callable[[TrialOutcome], None],
    storage_url: str,
    stopper: Stopper,
    verdicts: dict[int, Verdict],
) -> None:
    """One pack: its members' events to their trials' followers, each verdict into `verdicts`."""
    start = time.monotonic()
    members = [i for i, _, _ in group]
    keep: list[Callable[[int], str | None] | None] = [_verdict_reader(beats[i]) for i in members]
    pack = PackTrainer([config for _, _, config in group], runs_dir=runs_dir, keep_epoch=keep)
    followers = []
    for k, (i, params, config) in enumerate(group):
        follower = Follower(
            study, asked[i], config, params, metric, prune, on_trial, storage_url, beats[i], stopper, start
        )

        def stop(reason: str, k: int = k) -> None:
            pack.request_stop_member(k, reason)

        follower.stop = stop
        beats[i].on_lost = stop
        followers.append(follower)
    stopper.attach(pack)
    try:
        for k, event in pack.run():
            i = members[k]
            if i in verdicts:
                continue  # decided already (a failure the study saw first); its run is leaving
            try:
                followers[k].on(event)
            except (optuna.TrialPruned, TrialFailed, TrialStopped) as verdict:
                verdicts[i] = verdict
            else:
                if isinstance(event, RunFinished):
                    verdicts[i] = followers[k].result()
    finally:
        stopper.attach(None)
