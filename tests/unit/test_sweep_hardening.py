"""`dae-tui sweep` hardened (issue 17): signals to a sweep and to a `--jobs` parent, a trial the
study failed while its process was suspended, every trial failing, a full disk under SQLite,
storage URLs that cannot be a database, credentials in the URL (never in `ps`, stderr or files),
and space files built to break the reader. Real processes, signals, files and `ps`."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from test_sweep import TINY, status, sweep_command, write_space

from dae_tui.cli import main
from dae_tui.core.config import ConfigError, TrainConfig
from dae_tui.sweeps.space import SHOWN_CHOICES, parse_space, read_space, tomllib
from dae_tui.sweeps.study import redact

# Trials long enough to be caught mid-epoch: 2,000 images in batches of 8 (a few seconds an epoch).
SLOW = [*TINY, "--train-limit", "2000", "--batch-size", "8"]


def wait_for(condition, timeout: float = 120, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        assert proc is None or proc.poll() is None, f"the sweep ended early ({proc.returncode})"
        time.sleep(0.1)


def epochs_saved(runs: Path) -> dict[str, int]:
    """Run folder name -> epochs in its metrics.jsonl."""
    return {p.parent.name: len(p.read_text().splitlines()) for p in runs.glob("*/metrics.jsonl")}


def run_status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def trials_of(runs: Path, study: str) -> list[optuna.trial.FrozenTrial]:
    storage = optuna.storages.RDBStorage(f"sqlite:///{runs / 'sweeps.db'}")
    try:
        return optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)
    finally:
        storage.engine.dispose()


def kill_all(*procs: subprocess.Popen) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- credentials ----------------------------------------------------------------------------------


def test_every_credential_form_is_redacted():
    cases = {
        "postgresql://me:s3cret@db.example/dae": "postgresql://me:***@db.example/dae",
        # An @ in the password: everything up to the last @ of the host part is the user part.
        "postgresql://me:p@ss@db/dae": "postgresql://me:***@db/dae",
        "postgresql://db/dae?password=s3cret&application_name=x": "postgresql://db/dae?password=***&application_name=x",
        "postgresql://me@/dae?host=/run/pg&sslpassword=s3cret&PWD=s3cret&passwd=s3cret": "postgresql://me@/dae?host=/run/pg&sslpassword=***&PWD=***&passwd=***",
        "sqlite:////tmp/s.db?password=s3cret": "sqlite:////tmp/s.db?password=***",
        "postgresql://u:s3cret@[::1]:5432/dae": "postgresql://u:***@[::1]:5432/dae",
    }
    for url, shown in cases.items():
        assert redact(url) == shown, url
    # What SQLAlchemy cannot parse is only its scheme.
    assert redact("post gres://me:s3cret@db/x") == "post gres://***"
    assert "s3cret" not in redact("me:s3cret@db") and redact("sqlite:///sweeps.db") == "sqlite:///sweeps.db"


@pytest.mark.slow
def test_a_password_in_the_url_is_never_on_a_command_line_in_stderr_or_in_files(tmp_path):
    """A real --jobs 2 sweep on SQLite (which ignores the unknown ?password=), read with `ps`
    while its trials run; then SIGTERM to the parent: children stopped and gone, exit 143."""
    runs = tmp_path / "runs"
    url = f"sqlite:///{tmp_path / 'sweeps.db'}?password=s3cret"
    space = write_space(tmp_path, "lr = {log = [1e-3, 1e-2]}\n")
    parent = subprocess.Popen(
        sweep_command(
            *SLOW,
            "--epochs",
            "5",
            "--runs-dir",
            str(runs),
            "--space",
            str(space),
            "--trials",
            "4",
            "--jobs",
            "2",
            "--storage",
            url,
            "--no-prune",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(list(runs.glob("*/sweep.json"))) == 2, proc=parent)  # both trials started
        table = subprocess.run(["ps", "-ww", "-eo", "pid,ppid,args"], capture_output=True, text=True, check=True).stdout
        children = [
            int(line.split()[0])
            for line in table.splitlines()[1:]
            if line.split()[1] == str(parent.pid) and "--worker" in line
        ]
        assert len(children) == 2, table
        # (The parent's own command line is what the user typed: PGPASSWORD keeps it out of there.)
        lines = [line for line in table.splitlines() if "--worker" in line]
        assert len(lines) == 2 and not any("s3cret" in line or "--storage" in line for line in lines), lines
        for pid in children:
            assert b"s3cret" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        os.kill(parent.pid, signal.SIGTERM)
        _, err = parent.communicate(timeout=120)
    finally:
        kill_all(parent)
    assert parent.returncode == 143, err
    assert "s3cret" not in err and "password=***" in err
    for pid in children:  # waited for: gone, not left training
        assert not Path(f"/proc/{pid}").exists()
    folders = [p.parent for p in runs.glob("*/sweep.json")]
    assert len(folders) == 2
    for folder in folders:
        assert "s3cret" not in (folder / "sweep.json").read_text()
        assert run_status(folder)["status"] == "stopped" and run_status(folder)["message"] == "stopped by SIGTERM"
        assert not (folder / "run.lock").exists()
    (study,) = {json.loads((f / "sweep.json").read_text())["study"] for f in folders}
    storage = optuna.storages.RDBStorage(url.split("?")[0])
    try:
        states = [t.state for t in optuna.load_study(study_name=study, storage=storage).trials]
    finally:
        storage.engine.dispose()
    # Stopped trials are failed in the study: they do not count, a later sweep replaces them.
    assert states.count(optuna.trial.TrialState.FAIL) == 2 and optuna.trial.TrialState.RUNNING not in states


def test_an_at_sign_in_the_password_is_one_line_naming_the_fix(tmp_path, capsys):
    assert main(["sweep", *TINY, "--runs-dir", str(tmp_path), "--storage", "postgresql://me:p@ss@127.0.0.1:1/d"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "%40" in err and "ss@" not in err and "PGPASSWORD" in err


# --- signals --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_stops_a_sweep_mid_trial_like_train(tmp_path):
    runs = tmp_path / "runs"
    space = write_space(tmp_path, "lr = {log = [1e-3, 1e-2]}\n")
    proc = subprocess.Popen(
        sweep_command(
            *SLOW, "--epochs", "5", "--runs-dir", str(runs), "--space", str(space), "--trials", "3", "--study", "term"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: any(n >= 1 for n in epochs_saved(runs).values()), proc=proc)
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        kill_all(proc)
    assert proc.returncode == 143, err
    assert "SIGTERM: stopping the trial after this batch" in err and "Traceback" not in err
    (run,) = [p.parent for p in runs.glob("*/config.json")]
    assert run_status(run)["status"] == "stopped" and run_status(run)["message"] == "stopped by SIGTERM"
    assert (run / "checkpoint.pt").is_file() and not (run / "run.lock").exists()
    (trial,) = trials_of(runs, "term")
    assert trial.state == optuna.trial.TrialState.FAIL


# --- a trial the study failed while its process was suspended -------------------------------------


@pytest.mark.slow
def test_a_trial_failed_while_suspended_stops_at_sigcont_and_says_failed(tmp_path):
    runs = tmp_path / "runs"
    space = write_space(tmp_path, "lr = {log = [1e-3, 1e-2]}\n")
    args = [
        *SLOW,
        "--epochs",
        "6",
        "--runs-dir",
        str(runs),
        "--space",
        str(space),
        "--study",
        "paused",
        "--heartbeat",
        "1",
    ]
    proc = subprocess.Popen(
        sweep_command(*args, "--trials", "1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: any(n >= 1 for n in epochs_saved(runs).values()), proc=proc)
        os.kill(proc.pid, signal.SIGSTOP)
        (run,) = [p.parent for p in runs.glob("*/metrics.jsonl")]
        saved = epochs_saved(runs)[run.name]
        # A reader fails it once three beats (3 s) are missed, as another sweep process would.
        wait_for(lambda: status(runs, "--study", "paused")["trials"][0]["state"] == "fail", 60)
        os.kill(proc.pid, signal.SIGCONT)
        wait_for(lambda: run_status(run)["status"] == "failed", 60, proc)
        assert epochs_saved(runs)[run.name] == saved  # nothing after the verdict, nothing before it lost
        message = run_status(run)["message"]
        assert message.startswith("the study failed this trial (no heartbeat for ") and "suspended" in message
        assert (run / "checkpoint.pt").is_file() and not (run / "run.lock").exists()
        # It does not count: the process goes on with a replacement, which SIGTERM stops.
        wait_for(lambda: len(list(runs.glob("*/config.json"))) == 2, 60, proc)
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        kill_all(proc)
    assert proc.returncode == 143, err
    assert "trial #0 failed" in err and "no heartbeat for" in err


# --- failures and full disks ----------------------------------------------------------------------


def limited(size: int):
    """preexec_fn: files this process writes stop at `size` bytes, as on a full disk (Python
    ignores SIGXFSZ, so a write past it fails with EFBIG instead of killing the process)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


@pytest.mark.slow
def test_a_sweep_whose_every_trial_fails_exits_1_in_one_line(tmp_path):
    runs = tmp_path / "runs"
    space = write_space(tmp_path, "lr = {log = [1e-3, 1e-2]}\n")
    # 1 MB: the study's database fits, a trial's 2.5 MB checkpoint does not.
    done = subprocess.run(
        sweep_command(
            *TINY, "--epochs", "1", "--runs-dir", str(runs), "--space", str(space), "--trials", "2", "--study", "full"
        ),
        capture_output=True,
        text=True,
        timeout=240,
        preexec_fn=limited(1 << 20),
    )
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("dae-tui sweep: failed: 3 trials failed in a row here") and "Traceback" not in done.stderr
    states = [t.state for t in trials_of(runs, "full")]
    assert states == [optuna.trial.TrialState.FAIL] * 3
    assert all(run_status(p.parent)["status"] == "failed" for p in runs.glob("*/config.json"))


def test_a_full_disk_under_the_sqlite_storage_is_one_line_and_exit_1(tmp_path):
    runs = tmp_path / "runs"
    space = write_space(tmp_path, "lr = {log = [1e-3, 1e-2]}\n")
    # 16 KB: Optuna's tables do not fit in the new database. A full disk is a failure, not a bad
    # request: exit 1, not 2.
    done = subprocess.run(
        sweep_command(*TINY, "--epochs", "1", "--runs-dir", str(runs), "--space", str(space), "--trials", "1"),
        capture_output=True,
        text=True,
        timeout=240,
        preexec_fn=limited(16 << 10),
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert done.stderr.startswith("dae-tui sweep: failed: --storage sqlite:///") and "full" in done.stderr


# --- SQLite paths ---------------------------------------------------------------------------------


def test_sqlite_urls_that_cannot_be_a_database_are_one_line_and_exit_2(tmp_path, capsys):
    cases = {
        "sqlite:///": "names no database file",
        "sqlite:////proc/sweeps.db": "cannot",
        "sqlite:////proc/self/sweeps.db": "cannot be written",
        f"sqlite:///{tmp_path}/no/such/folders/s.db": "does not exist (create it first; nothing was created)",
        "sqlite:////dev/zero": "is not a regular file",
        f"sqlite:///{tmp_path}": "is not a regular file",
    }
    for url, expected in cases.items():
        assert main(["sweep", "--status", "--runs-dir", str(tmp_path / "runs"), "--storage", url]) == 2, url
        err = capsys.readouterr().err
        assert err.startswith("dae-tui sweep: error: --storage") and expected in err and err.count("\n") == 1, err
    assert not (tmp_path / "no").exists()


def test_a_read_only_filesystem_under_sqlite_is_one_line(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
        ).returncode
        == 0
    )
    if not mounted:
        pytest.skip("mounting a tmpfs needs root")
    try:
        assert main(["sweep", "--status", "--storage", f"sqlite:///{folder}/s.db"]) == 2
        err = capsys.readouterr().err
        assert "cannot be written" in err and err.count("\n") == 1
    finally:
        subprocess.run(["umount", str(folder)], check=True)


# --- space files built to break the reader -------------------------------------------------------


def test_space_files_nested_deep_huge_or_with_thousands_of_choices(tmp_path, capsys):
    fixed = TrainConfig()
    deep, huge, many = tmp_path / "deep.toml", tmp_path / "huge.toml", tmp_path / "many.toml"
    deep.write_text("lr = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deep"):
        read_space(deep, fixed)
    with pytest.raises(ConfigError, match="not lists or tables"):
        parse_space(tomllib.loads("lr = {choice = [" + "[" * 200 + "]" * 200 + "]}"), fixed)
    # A 500 KB value is cut in the message as the config errors are; a 20 MB file is not read at all.
    huge.write_text('model = {choice = ["' + "x" * 500_000 + '"]}\n')
    with pytest.raises(ConfigError) as caught:
        read_space(huge, fixed)
    assert len(str(caught.value)) < 400 and "500,002 characters" in str(caught.value)
    (tmp_path / "big.toml").write_text('model = {choice = ["' + "x" * 20_000_000 + '"]}\n')
    with pytest.raises(ConfigError, match="is not a space file"):
        read_space(tmp_path / "big.toml", fixed)
    fifo = tmp_path / "space.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="FIFO"):
        read_space(fifo, fixed)  # refused, not waited on
    # Thousands of choices: allowed, and the sweep's start line stays short.
    many.write_text("batch_size = {choice = [" + ", ".join(map(str, range(1, 3001))) + "]}\n")
    (dim,) = read_space(many, fixed)
    assert len(dim.values) == 3000 and len(dim.describe()) < 120 and "3,000 in all" in dim.describe()
    assert dim.describe(limit=None).count(",") == 2999 and SHOWN_CHOICES < 3000
    assert main(["sweep", *TINY, "--runs-dir", str(tmp_path / "runs"), "--space", str(huge)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 400


def test_a_fifo_as_the_sweeps_lock_file_is_one_line_not_a_hang(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    os.mkfifo(runs / "sweeps.db.lock")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dae_tui",
            "sweep",
            "--runs-dir",
            str(runs),
            "--trials",
            "1",
            "--source",
            "bundled",
            "--epochs",
            "1",
            "--train-limit",
            "64",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "sweeps.db.lock: the sweep's lock file is not a regular file; remove it" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
