"""`dae-tui sweep` (issue 13) on a real Optuna study: tiny runs on the bundled sample, separate
processes sharing one SQLite storage, pruning, a killed trial process, and one line for what is
wrong with a space or a storage. PostgreSQL: tests/unit/test_sweep_postgres.py."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dae_tui.cli import main
from dae_tui.core.config import ConfigError, TrainConfig
from dae_tui.sweeps.space import DEFAULT_SPACE, parse_space, read_space, tomllib

TINY = ["--dataset", "mnist", "--source", "bundled", "--train-limit", "256", "--batch-size", "32", "--threads", "1"]


def sweep_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "dae_tui", "sweep", *args]


def run_sweep(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(sweep_command(*args), capture_output=True, text=True, timeout=timeout)


def status(runs: Path, *args: str) -> dict:
    done = run_sweep("--runs-dir", str(runs), "--status", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def write_space(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.toml"
    path.write_text(text)
    return path


# --- the space ------------------------------------------------------------------------------------


def test_a_space_file_is_read_and_judged_by_the_config_rules(tmp_path):
    fixed = TrainConfig()
    space = read_space(
        write_space(
            tmp_path,
            "lr = {log = [1e-4, 1e-2]}\nbatch_size = {choice = [32, 64]}\n"
            'model = {choice = ["seed", "unet"]}\nnoise_factor = {range = [0.3, 0.7]}\n',
        ),
        fixed,
    )
    assert [(d.name, d.kind) for d in space] == [
        ("lr", "log"),
        ("batch_size", "choice"),
        ("model", "choice"),
        ("noise_factor", "range"),
    ]
    assert [d.name for d in DEFAULT_SPACE] == ["lr", "batch_size", "weight_decay"]
    bad = {
        "colour = {choice = [1]}": "'colour' is not a setting",
        "epochs = {choice = [1, 2]}": "epochs is fixed for a study (set it with --epochs)",
        "lr = {between = [1, 2]}": "lr must be one of",
        "lr = {log = [1e-2, 1e-4]}": "needs low < high",
        "lr = {log = [0, 1e-2]}": "log needs low > 0",
        "batch_size = {choice = [32, 0]}": "batch_size = 0",
        "model = {choice = ['seed', 'vit']}": "model = 'vit'",
        "noise_factor = {range = [0.5, 9]}": "noise_factor = 9",
        "lr = {choice = []}": "needs a list of values",
    }
    for text, expected in bad.items():
        with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            parse_space(tomllib.loads(text), fixed)


def test_a_bad_space_or_storage_is_one_line_and_exit_2(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    not_toml = write_space(tmp_path, "lr = {log = [1e-4")
    assert main(["sweep", *TINY, "--runs-dir", runs, "--space", str(not_toml)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dae-tui sweep: error: --space") and "not TOML" in err and err.count("\n") == 1
    assert main(["sweep", *TINY, "--runs-dir", runs, "--storage", "mysql://x/y"]) == 2
    assert "expected sqlite:///PATH or postgresql://" in capsys.readouterr().err
    # Nothing listens on port 1: refused at once, the password never shown.
    assert main(["sweep", *TINY, "--runs-dir", runs, "--storage", "postgresql://me:secret@127.0.0.1:1/db"]) == 2
    err = capsys.readouterr().err
    # (Without the postgres extra installed, the one line names the missing driver instead.)
    assert ("cannot open it" in err or "needs the driver" in err) and err.count("\n") == 1
    assert "secret" not in err and "me:***@" in err
    assert main(["sweep", *TINY, "--runs-dir", runs, "--trials", "0"]) == 2
    assert "--trials must be a whole number from 1" in capsys.readouterr().err
    assert main(["sweep", "--runs-dir", runs, "--status", "--study", "nothing-here"]) == 2
    assert "no such study" in capsys.readouterr().err


# --- real studies ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_processes_on_one_sqlite_study_share_the_trials(tmp_path):
    runs = tmp_path / "runs"
    space = write_space(tmp_path, "lr = {log = [1e-3, 1e-2]}\n")
    args = [
        *TINY,
        "--epochs",
        "2",
        "--runs-dir",
        str(runs),
        "--space",
        str(space),
        "--trials",
        "4",
        "--study",
        "shared",
    ]
    procs = [
        subprocess.Popen(
            sweep_command(*args, "--worker", str(i)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for i in (1, 2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all("trial #" in err for _, err in outputs)  # both took part
    doc = status(runs, "--study", "shared")
    assert len(doc["trials"]) == 4
    assert {t["state"] for t in doc["trials"]} <= {"complete", "pruned"}
    assert doc["best"] is not None and doc["best"]["value"] == max(
        t["value"] for t in doc["trials"] if t["state"] == "complete"
    )
    # Every trial is an ordinary run folder that knows its study and trial.
    listed = json.loads(
        "["
        + ",".join(
            subprocess.run(
                [sys.executable, "-m", "dae_tui", "runs", "--runs-dir", str(runs), "--json"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()
        )
        + "]"
    )
    assert sorted(r["trial"] for r in listed) == [0, 1, 2, 3]
    assert {r["study"] for r in listed} == {"shared"}
    assert {t["run_dir"] for t in doc["trials"]} == {r["path"] for r in listed}


@pytest.mark.slow
def test_jobs_run_the_study_in_several_processes_and_the_table_says_so(tmp_path):
    runs = tmp_path / "runs"
    space = write_space(tmp_path, "lr = {log = [1e-3, 1e-2]}\n")
    done = run_sweep(
        *TINY, "--epochs", "1", "--runs-dir", str(runs), "--space", str(space), "--trials", "3", "--jobs", "2"
    )
    assert done.returncode == 0, done.stderr
    assert "[job 1]" in done.stderr and "[job 2]" in done.stderr and "2 jobs done" in done.stderr
    (study,) = set(re.findall(r"study (\S+) in sqlite", done.stderr))
    doc = status(runs, "--study", study)
    assert len(doc["trials"]) == 3
    table = run_sweep("--runs-dir", str(runs), "--status", "--study", study)
    assert table.returncode == 0 and "3 trials" in table.stderr and "best: trial #" in table.stderr
    # Without the sweep's flags or --study, --status shows the newest study there.
    assert run_sweep("--runs-dir", str(runs), "--status").stderr == table.stderr


@pytest.mark.slow
def test_a_space_built_to_prune_prunes_and_the_run_says_pruned(tmp_path):
    runs = tmp_path / "runs"
    # One of four rates cannot learn at all: once two trials are complete (the pruner's start-up),
    # a trial on it is below the median after epoch 1 and stopped there.
    space = write_space(tmp_path, "lr = {choice = [5e-3, 4e-3, 3e-3, 1e-9]}\n")
    done = run_sweep(
        *TINY,
        "--epochs",
        "3",
        "--runs-dir",
        str(runs),
        "--space",
        str(space),
        "--trials",
        "8",
        "--study",
        "prune",
        "--seed",
        "2",
    )
    assert done.returncode == 0, done.stderr
    doc = status(runs, "--study", "prune")
    hopeless = [t for t in doc["trials"] if t["params"]["lr"] == 1e-9 and t["trial"] >= 2]
    assert hopeless and all(t["state"] == "pruned" and t["epochs"] == 1 for t in hopeless), doc["trials"]
    listed = [
        json.loads(line)
        for line in subprocess.run(
            [sys.executable, "-m", "dae_tui", "runs", "--runs-dir", str(runs), "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    ]
    by_trial = {r["trial"]: r for r in listed}
    for trial in doc["trials"]:
        assert by_trial[trial["trial"]]["status"] == ("pruned" if trial["state"] == "pruned" else "finished")
    assert "pruned after 1 epoch:" in done.stderr


@pytest.mark.slow
def test_a_killed_trial_process_does_not_hang_the_study(tmp_path):
    runs = tmp_path / "runs"
    space = write_space(tmp_path, "lr = {log = [1e-3, 1e-2]}\n")
    args = [
        *TINY,
        "--train-limit",
        "2000",
        "--batch-size",
        "8",
        "--epochs",
        "3",
        "--runs-dir",
        str(runs),
        "--space",
        str(space),
        "--study",
        "killed",
        "--heartbeat",
        "1",
    ]
    victim = subprocess.Popen(
        sweep_command(*args, "--trials", "3"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not any(runs.glob("*/metrics.jsonl")):  # its first epoch is saved: mid-trial now
            assert time.monotonic() < deadline and victim.poll() is None
            time.sleep(0.2)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        # Another process carries the study to its 3 trials; the dead one is failed, not waited for.
        start = time.monotonic()
        done = run_sweep(*args, "--train-limit", "256", "--batch-size", "32", "--trials", "3", timeout=240)
        assert done.returncode == 0, done.stderr
        assert time.monotonic() - start < 200
    finally:
        if victim.poll() is None:
            victim.kill()
    # The other process, on the same machine, saw the dead trial's process gone and failed it at
    # once; a failed trial does not count toward --trials, so three others carried the study.
    doc = status(runs, "--study", "killed")
    states = sorted(t["state"] for t in doc["trials"])
    assert len(states) == 4 and states.count("fail") == 1, states
    killed = next(t for t in doc["trials"] if t["state"] == "fail")
    # Its run folder is still there, interrupted, and can be resumed like any run.
    run = subprocess.run(
        [sys.executable, "-m", "dae_tui", "runs", "--runs-dir", str(runs), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    mine = [json.loads(line) for line in run.splitlines() if json.loads(line)["trial"] == killed["trial"]]
    assert mine and mine[0]["status"] == "interrupted"
