"""`dae-tui sweep`: a hyperparameter search on Optuna whose trials are ordinary runs.

    dae-tui sweep --trials 20 --source bundled --epochs 3        # lr, batch size, weight decay
    dae-tui sweep --space space.toml --jobs 2 --trials 12         # two trial processes here
    dae-tui sweep --storage postgresql://u:p@db/dae --trials 40   # the same on every machine
    dae-tui sweep --status [--json]                               # trials, best, importance

The train flags fix what every trial shares; the space (see `engine.space`) is what is searched.
Progress is one line per trial on stderr; `--status --json` prints the study as one JSON object
on stdout. Exit 0 when the study holds its trials, 2 for bad flags, a bad space or a storage that
cannot be opened (one line), 130 when stopped by Ctrl-C (the trial's run keeps its checkpoint).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from .config import ConfigError
from .formatting import format_metric, format_setting, plural
from .invocation import EXIT_FAILED, EXIT_OK, EXIT_STOPPED, EXIT_USAGE, Invocation, report

__all__ = ["run_sweep", "status_lines"]


def _params(params: dict[str, Any]) -> str:
    """Searched values as a user would type them (lr=1.25e-3)."""
    return " ".join(f"{k}={format_setting(v)}" for k, v in params.items())


def status_lines(doc: dict[str, Any], metric: str = "test_psnr") -> list[str]:
    """The study as a table of trials, then the best and the importance."""
    lines = [f"study {doc['study']} ({doc['direction']} {metric}): {len(doc['trials'])} trials"]
    for t in doc["trials"]:
        run = Path(t["run_dir"]).name if t["run_dir"] else ""
        lines.append(f"  #{t['trial']:<3} {t['state']:<8} {format_metric(t['value'], metric):>10}  "
                     f"epochs {t['epochs']:<3} {_params(t['params'])}  {run}")
    best = doc["best"]
    if best:
        lines.append(f"best: trial #{best['trial']} {format_metric(best['value'], metric)} {_params(best['params'])} "
                     f"in {best['run_dir']}")
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
    from .engine.runfiles import default_runs_dir
    from .engine.space import DEFAULT_SPACE, read_space

    runs_dir = Path(invocation.runs_dir) if invocation.runs_dir else default_runs_dir()
    fixed = invocation.config
    try:
        space = read_space(request.space, fixed) if request.space else DEFAULT_SPACE
        from .engine import sweeps

        url = request.storage or sweeps.default_storage(runs_dir)
        name = request.study or sweeps.study_name_for(fixed, space)
        if request.jobs > 1 and request.worker == 0 and not request.status:
            sweeps.open_storage(url, request.heartbeat)  # a bad URL: one line here, not one per job
            return _parallel(argv, request.jobs, name, err)
        storage = sweeps.open_storage(url, request.heartbeat)
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
    except ConfigError as error:
        return report("sweep", error, err)
    if "threads" not in invocation.given and request.worker:
        # Trial processes side by side on this machine share its cores instead of each taking all.
        text = os.environ.get("DAE_TUI_SWEEP_JOBS", "1")
        jobs = int(text) if text.isdigit() else 1
        fixed = replace(fixed, threads=max(1, (os.cpu_count() or 1) // max(1, jobs)))
    tag = f"[job {request.worker}] " if request.worker else ""
    searched = ", ".join(d.describe() for d in space)
    print(f"{tag}study {name} in {sweeps.redact(url)}: searching {searched}; {request.trials} trials in all",
          file=err, flush=True)

    def on_trial(outcome: Any) -> None:
        took = f"{outcome.seconds:.1f} s"
        value = format_metric(outcome.value, request.metric)
        detail = f" ({outcome.message})" if outcome.message else ""
        print(f"{tag}trial #{outcome.number} {outcome.state} after {plural(outcome.epochs, 'epoch')}: {value}, "
              f"{_params(outcome.params)}, {took}{detail}", file=err, flush=True)

    start = time.monotonic()
    try:
        sweeps.run_trials(study, storage, fixed, space, runs_dir, request.trials, request.metric, request.prune,
                          on_trial, storage_url=sweeps.redact(url))
    except KeyboardInterrupt:
        print(f"{tag}sweep stopped; the study keeps its trials", file=err)
        return EXIT_STOPPED
    except ConfigError as error:
        return report("sweep", error, err)
    if not request.worker:
        doc = sweeps.study_report(study)
        best = doc["best"]
        print(f"study {name}: {len(doc['trials'])} trials, {time.monotonic() - start:.1f} s here", file=err)
        if best:
            print(f"best: trial #{best['trial']} {format_metric(best['value'], request.metric)} "
                  f"{_params(best['params'])} in {best['run_dir']}", file=err)
    return EXIT_OK


def _parallel(argv: list[str], jobs: int, name: str, err: TextIO) -> int:
    """Run `jobs` copies of this sweep as separate processes on one study; wait for them all."""
    child_argv = _without_jobs(argv)
    env = dict(os.environ, DAE_TUI_SWEEP_JOBS=str(jobs))
    start = time.monotonic()
    children = [
        subprocess.Popen([sys.executable, "-m", "dae_tui", *child_argv, "--study", name, "--worker", str(i + 1)],
                         env=env)
        for i in range(jobs)
    ]
    try:
        codes = [child.wait() for child in children]
    except KeyboardInterrupt:
        # Ctrl-C reached the children too (one process group): each stops its trial and leaves.
        # A second signal from here could cut their clean-up short.
        for child in children:
            try:
                child.wait(60)
            except subprocess.TimeoutExpired:
                child.kill()
        print("dae-tui sweep: stopped; the study keeps its trials", file=err)
        return EXIT_STOPPED
    print(f"dae-tui sweep: {jobs} jobs done in {time.monotonic() - start:.1f} s "
          f"(exit codes {', '.join(map(str, codes))}); dae-tui sweep --status --study {name} shows the study",
          file=err)
    if any(code == EXIT_USAGE for code in codes):
        return EXIT_USAGE
    return EXIT_OK if all(code == 0 for code in codes) else EXIT_FAILED


def _without_jobs(argv: list[str]) -> list[str]:
    """argv without --jobs (and --study, given to each child explicitly)."""
    out, skip = [], False
    for word in argv:
        if skip:
            skip = False
            continue
        if word in ("--jobs", "--study"):
            skip = True
            continue
        if word.startswith(("--jobs=", "--study=")):
            continue
        out.append(word)
    return out
