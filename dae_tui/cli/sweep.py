"""`dae-tui sweep`: a hyperparameter search on Optuna whose trials are ordinary runs.

    dae-tui sweep --trials 20 --source bundled --epochs 3        # lr, batch size, weight decay
    dae-tui sweep --space space.toml --jobs 2 --trials 12         # two trial processes here
    dae-tui sweep --storage postgresql://u:p@db/dae --trials 40   # the same on every machine
    dae-tui sweep --status [--json]                               # trials, best, importance

The train flags fix what every trial shares; the space (see `sweeps.space`) is what is searched.
Progress is one line per trial on stderr; `--status --json` prints the study as one JSON object
on stdout. Exit 0 when the study holds its trials, 2 for bad flags, a bad space or a storage that
cannot be opened (one line), 1 when every trial of this invocation failed or the storage stopped
taking writes (a full disk), 128 + the signal when stopped by Ctrl-C, SIGTERM or SIGHUP (130, 143,
129): the trial stops at its next batch, its run keeps its checkpoint; a second signal aborts.
With `--jobs` the signal is passed on to every trial process and waited for.

The storage URL reaches `--jobs`' trial processes in their environment (`STORAGE_ENV`), never on
their command line, where any local user could read a password in it with `ps`. On a GPU box job i
gets GPU i mod N in its CUDA_VISIBLE_DEVICES (`--gpus 0,2` picks them; `dae_tui.system.gpus`), and
each trial keeps the GPU it ran on (`--status` shows it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from dae_tui.cli.invocation import EXIT_FAILED, EXIT_OK, EXIT_STOPPED, EXIT_USAGE, Invocation, report, signal_exit
from dae_tui.core.errors import DaeError
from dae_tui.core.formatting import format_metric, format_setting, plural, printable

__all__ = ["STORAGE_ENV", "run_sweep", "status_lines"]

STORAGE_ENV = "DAE_TUI_SWEEP_STORAGE"
"""The storage URL, from a `--jobs` parent to its trial processes (read only with --worker)."""


def _params(params: dict[str, Any]) -> str:
    """Searched values as a user would type them (lr=1.25e-3)."""
    return " ".join(f"{k}={format_setting(v)}" for k, v in params.items())


def status_lines(doc: dict[str, Any], metric: str = "test_psnr") -> list[str]:
    """The study as a table of trials, then the best and the importance."""
    from dae_tui.runs.files import this_host

    lines = [f"study {doc['study']} ({doc['direction']} {metric}): {plural(len(doc['trials']), 'trial')}"]
    here = this_host()
    for t in doc["trials"]:
        run = Path(t["run_dir"]).name if t["run_dir"] else ""
        if t.get("host") not in (None, here):
            run = f"{run} on {t['host']}"  # the same runs path elsewhere holds other folders
        run = printable(run)
        gpu = f"  GPU {printable(str(t['gpu']))}" if t.get("gpu") is not None else ""
        lines.append(
            f"  #{t['trial']:<3} {t['state']:<8} {format_metric(t['value'], metric):>10}  "
            f"epochs {t['epochs']:<3} {_params(t['params'])}  {run}{gpu}"
        )
    best = doc["best"]
    if best:
        lines.append(
            f"best: trial #{best['trial']} {format_metric(best['value'], metric)} {_params(best['params'])} "
            f"in {best['run_dir']}"
        )
    if doc["importance"]:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in doc["importance"].items())
        lines.append(f"importance: {shares}")
    return lines


def run_sweep(invocation: Invocation, argv: list[str], err: TextIO | None = None, out: TextIO | None = None) -> int:
    """Sweep (or show the study) per `invocation`; return the exit code."""
    err = err or sys.stderr
    out = out or sys.stdout
    request = invocation.sweep
    assert request is not None
    from dae_tui.runs.files import default_runs_dir
    from dae_tui.sweeps.space import DEFAULT_SPACE, read_space

    runs_dir = Path(invocation.runs_dir) if invocation.runs_dir else default_runs_dir()
    fixed = invocation.config
    from dae_tui.sweeps import study as sweeps
    from dae_tui.sweeps.study import SQLAlchemyError

    try:
        space = read_space(request.space, fixed) if request.space else DEFAULT_SPACE
        given = request.storage or (os.environ.get(STORAGE_ENV) if request.worker else None)
        url = given or sweeps.default_storage(runs_dir)
        name = request.study or sweeps.study_name_for(fixed, space)
        gpus: list[str | None] = [None] * request.jobs
        if request.worker == 0 and not request.status and (request.jobs > 1 or request.gpus):
            from dae_tui.system.gpus import JOB_GPU_ENV, assign_gpus, count_gpus, job_gpus

            # Counted without torch (NVML), and only when the user's own set does not say already.
            known = request.gpus is not None or "CUDA_VISIBLE_DEVICES" not in os.environ
            gpus = assign_gpus(request.jobs, job_gpus(request.gpus, count_gpus() if known else None))
            if request.jobs == 1 and gpus[0] is not None:  # before torch loads, below
                os.environ.update({"CUDA_VISIBLE_DEVICES": gpus[0], JOB_GPU_ENV: gpus[0]})
        if request.jobs > 1 and request.worker == 0 and not request.status:
            # A bad URL: one line here, not one per job.
            sweeps.open_storage(url, request.heartbeat, create_folder=not given).engine.dispose()
            return _parallel(argv, request.jobs, name, url, err, gpus)
        storage = sweeps.open_storage(url, request.heartbeat, create_folder=not given)
        if request.status:
            if request.study is None:  # the flags' own study, else the newest one there
                names = sweeps.study_names(storage)
                name = name if name in names or not names else names[-1]
            study = sweeps.open_study(name, storage, create=False)
            sweeps.fail_dead_trials(study, storage)
            doc = sweeps.study_report(study)
            if invocation.json:
                out.write(json.dumps(doc, default=str) + "\n")
            else:
                print("\n".join(status_lines(doc, doc.get("metric", request.metric))), file=err)
            return EXIT_OK
        # An unseeded sampler unless --seed was given: the same command on several machines must
        # not propose the same trials (each worker of --jobs shifts a given seed apart).
        seed = fixed.seed + 1000 * request.worker if "seed" in invocation.given else None
        study = sweeps.open_study(name, storage, request.metric, seed=seed)
        sweeps.describe_study(study, request.metric, space, fixed, request.heartbeat)
    except DaeError as error:  # a ConfigError exits 2, a StorageFailed 1
        return report("sweep", error, err)
    except SQLAlchemyError as error:  # a storage that broke between opening and reading it
        return report("sweep", sweeps.storage_failure(error, url), err)
    if "threads" not in invocation.given and request.worker:
        # Trial processes side by side on this machine share its cores instead of each taking all.
        text = os.environ.get("DAE_TUI_SWEEP_JOBS", "1")
        jobs = int(text) if text.isdigit() else 1
        fixed = replace(fixed, threads=max(1, (os.cpu_count() or 1) // max(1, jobs)))
    tag = f"[job {request.worker}] " if request.worker else ""
    searched = ", ".join(d.describe() for d in space)
    from dae_tui.system.gpus import JOB_GPU_ENV

    gpu = os.environ.get(JOB_GPU_ENV) or None
    print(
        f"{tag}study {printable(name)} in {printable(sweeps.redact(url))}: searching {searched}; "
        f"{request.trials} trials in all"
        + (f"; packs of {request.pack}" if request.pack > 1 else "")
        + (f"; on GPU {printable(gpu)}" if gpu else ""),
        file=err,
        flush=True,
    )

    def on_trial(outcome: Any) -> None:
        took = f"{outcome.seconds:.1f} s"
        value = format_metric(outcome.value, request.metric)
        detail = f" ({outcome.message})" if outcome.message else ""
        print(
            f"{tag}trial #{outcome.number} {outcome.state} after {plural(outcome.epochs, 'epoch')}: {value}, "
            f"{_params(outcome.params)}, {took}{detail}",
            file=err,
            flush=True,
        )

    from dae_tui.sweeps import trials  # torch, through the trainer: only where trials run

    stopper = trials.Stopper()
    start = time.monotonic()
    with _stop_on_signals(stopper, f"{tag}dae-tui sweep", err) as stopped_by:
        try:
            tally = trials.run_trials(
                study,
                storage,
                fixed,
                space,
                runs_dir,
                request.trials,
                request.metric,
                request.prune,
                on_trial,
                storage_url=sweeps.redact(url),
                stopper=stopper,
                gpu=gpu,
                pack=request.pack,
            )
        except trials.TrialStopped:
            print(
                f"{tag}sweep stopped; the study keeps its trials (the stopped one is replaced by the next sweep)",
                file=err,
            )
            return signal_exit(stopped_by[0]) if stopped_by else EXIT_STOPPED
        except DaeError as error:  # a ConfigError exits 2, a StorageFailed 1
            return report("sweep", error, err)
        except SQLAlchemyError as error:  # the storage stopped taking writes: a full disk, a server gone
            return report("sweep", sweeps.storage_failure(error, url), err)
    if not request.worker:
        doc = sweeps.study_report(study)
        best = doc["best"]
        print(
            f"study {printable(name)}: {plural(len(doc['trials']), 'trial')}, {time.monotonic() - start:.1f} s here",
            file=err,
        )
        if best:
            print(
                f"best: trial #{best['trial']} {format_metric(best['value'], request.metric)} "
                f"{_params(best['params'])} in {printable(str(best['run_dir']))}",
                file=err,
            )
    if tally.gave_up or (tally.failed and not (tally.finished or tally.pruned)):
        why = (
            f"{trials.FAILURES_IN_A_ROW} trials failed in a row here, so this process stopped"
            if tally.gave_up
            else f"every trial here failed ({plural(tally.failed, 'trial')})"
        )
        print(f"{tag}dae-tui sweep: failed: {why}; the last: {printable(str(tally.last_failure))}", file=err)
        return EXIT_FAILED
    return EXIT_OK


@contextmanager
def _stop_on_signals(stopper: Any, who: str, err: TextIO) -> Iterator[list[int]]:
    """Ctrl-C, SIGTERM and SIGHUP as `dae-tui train` takes them: the first stops the trial at its
    next batch (checkpoint kept, status.json `stopped by SIGTERM`) and starts no other; a second
    one aborts at once. Yields the signals received, in order."""
    from dae_tui.cli.train import handle_stop_signals

    received: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if received:
            _say(f"{who}: aborted by {name}; the last finished epoch's checkpoint is kept", err)
            os._exit(signal_exit(received[0]))
        received.append(signum)
        _say(f"{who}: {name}: stopping the trial after this batch ({name} again aborts)", err)
        stopper.request(f"stopped by {name}")

    restore = handle_stop_signals(on_signal)
    try:
        yield received
    finally:
        restore()


def _say(text: str, err: TextIO) -> None:
    """One line from a signal handler: a closed terminal (SIGHUP) must not become a traceback."""
    try:
        print(printable(text), file=err, flush=True)
    except (OSError, ValueError):
        pass


def _parallel(argv: list[str], jobs: int, name: str, url: str, err: TextIO, gpus: list[str | None]) -> int:
    """Run `jobs` copies of this sweep as separate processes on one study; wait for them all.

    The children get the storage URL in their environment, not in argv (`ps` shows argv to every
    local user; /proc/PID/environ only to the same user). Each is its own process group, so a
    Ctrl-C at the terminal reaches them once, from here, like a `kill` of this process does: every
    stop signal is passed on and the children are waited for (a second one aborts them too). Job i
    sees `gpus[i - 1]` alone in its CUDA_VISIBLE_DEVICES (None: the environment as it is)."""
    from dae_tui.cli.train import handle_stop_signals
    from dae_tui.system.gpus import JOB_GPU_ENV

    child_argv = _without_jobs(argv)
    env = dict(os.environ, DAE_TUI_SWEEP_JOBS=str(jobs), **{STORAGE_ENV: url})
    start = time.monotonic()
    received: list[int] = []
    children: list[subprocess.Popen] = []

    def on_signal(signum: int, frame: Any) -> None:
        if not received:
            _say(
                f"dae-tui sweep: {signal.Signals(signum).name}: stopping every job after its batch "
                f"({signal.Signals(signum).name} again aborts them)",
                err,
            )
        received.append(signum)
        for child in children:
            if child.poll() is None:
                try:
                    child.send_signal(signum)
                except OSError:
                    pass

    # process_group is Python 3.11's; 3.10 sets the group in the child before it runs.
    own_group: dict[str, Any] = {"process_group": 0} if sys.version_info >= (3, 11) else {"preexec_fn": os.setpgrp}
    restore = handle_stop_signals(on_signal)
    try:
        for i in range(jobs):
            if received:
                break  # stopped while the jobs were starting: start no more
            gpu = gpus[i]
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "dae_tui", *child_argv, "--study", name, "--worker", str(i + 1)],
                    env=env if gpu is None else {**env, "CUDA_VISIBLE_DEVICES": gpu, JOB_GPU_ENV: gpu},
                    **own_group,
                )
            )
            if received:
                on_signal(received[0], None)  # the one just started missed it
        codes = [child.wait() for child in children]
    finally:
        restore()
    if received:
        print(f"dae-tui sweep: stopped by {signal.Signals(received[0]).name}; the study keeps its trials", file=err)
        return signal_exit(received[0])
    print(
        f"dae-tui sweep: {jobs} jobs done in {time.monotonic() - start:.1f} s "
        f"(exit codes {', '.join(map(str, codes))}); dae-tui sweep --status --study {name} shows the study",
        file=err,
    )
    if any(code == EXIT_USAGE for code in codes):
        return EXIT_USAGE
    return EXIT_OK if all(code == 0 for code in codes) else EXIT_FAILED


def _without_jobs(argv: list[str]) -> list[str]:
    """argv without --jobs, --study (given to each child explicitly), --gpus (each child is given
    its GPU in its environment) and --storage (a password in it must not reach the children's
    command lines: they read it from STORAGE_ENV)."""
    flags = ("--jobs", "--study", "--storage", "--gpus")
    out, skip = [], False
    for word in argv:
        if skip:
            skip = False
            continue
        if word in flags:
            skip = True
            continue
        if word.startswith(tuple(f"{flag}=" for flag in flags)):
            continue
        out.append(word)
    return out
