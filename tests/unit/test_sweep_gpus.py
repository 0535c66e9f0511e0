"""`dae-tui sweep --jobs J` spreads its jobs over the GPUs (dae_tui.system.gpus): job i gets GPU
i mod N in its CUDA_VISIBLE_DEVICES, `--gpus` picks the GPUs, each trial keeps its GPU. There is no
GPU here: the count is faked through DAE_TUI_GPU_COUNT, and the children, finding no CUDA, train
on the CPU while their environment says which GPU they were given."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from dae_tui.cli import main
from dae_tui.core.config import ConfigError
from dae_tui.system.gpus import GPU_COUNT_ENV, assign_gpus, count_gpus, job_gpus, parse_gpus

TINY = [
    "--dataset",
    "mnist",
    "--source",
    "bundled",
    "--train-limit",
    "128",
    "--batch-size",
    "64",
    "--threads",
    "1",
    "--device",
    "cpu",
    "--epochs",
    "1",
]


def test_job_i_gets_gpu_i_mod_n():
    assert assign_gpus(5, ("0", "1")) == ["0", "1", "0", "1", "0"]
    assert assign_gpus(2, ("2", "0", "3")) == ["2", "0"]
    assert assign_gpus(3, ()) == [None, None, None]  # no GPU: the environment as it is


def test_the_gpus_come_from_the_flag_the_users_set_or_the_count():
    assert job_gpus(None, 3, environ={}) == ("0", "1", "2")
    assert job_gpus(None, 0, environ={}) == ()
    assert job_gpus(None, None, environ={}) == ()  # NVML could not say: nothing is changed
    assert job_gpus(None, None, environ={"CUDA_VISIBLE_DEVICES": "3, 5"}) == ("3", "5")
    assert job_gpus(None, 8, environ={"CUDA_VISIBLE_DEVICES": "GPU-8f6e,GPU-11aa"}) == ("GPU-8f6e", "GPU-11aa")
    assert job_gpus(None, 8, environ={"CUDA_VISIBLE_DEVICES": ""}) == ()
    assert job_gpus(None, 8, environ={"CUDA_VISIBLE_DEVICES": "-1"}) == ()
    assert job_gpus((2, 0), 4, environ={"CUDA_VISIBLE_DEVICES": "1"}) == ("2", "0")  # --gpus says it outright
    assert job_gpus((7,), None, environ={}) == ("7",)  # a count NVML cannot give checks nothing


@pytest.mark.parametrize(
    ("text", "count", "message"),
    [
        ("0,x", 4, "--gpus must be GPU numbers separated by commas, e.g. 0,2 (got '0,x')"),
        ("", 4, "--gpus must be GPU numbers separated by commas, e.g. 0,2 (got '')"),
        ("-1", 4, "--gpus must be GPU numbers separated by commas, e.g. 0,2 (got '-1')"),
        ("1,2,1", 4, "--gpus names GPU 1 twice; give each GPU once (got '1,2,1')"),
        ("0,4", 4, "--gpus names GPU 4: this machine's are 0 to 3"),
        ("0", 0, "--gpus names GPU 0: this machine has no GPU"),
    ],
)
def test_a_bad_gpu_list_is_one_line(text, count, message):
    with pytest.raises(ConfigError) as caught:
        job_gpus(parse_gpus(text), count, environ={})
    assert str(caught.value) == message


def test_the_fake_count_is_read_only_as_a_whole_number():
    assert count_gpus({GPU_COUNT_ENV: "4"}) == 4
    assert count_gpus({GPU_COUNT_ENV: "x"}) in (0, None) or os.path.exists("/dev/nvidiactl")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--gpus", "0,0", "--jobs", "2"], "--gpus names GPU 0 twice"),
        (["--gpus", "a", "--jobs", "2"], "--gpus must be GPU numbers separated by commas"),
        (["--gpus", "2", "--jobs", "2"], "--gpus names GPU 2: this machine's are 0 to 1"),
    ],
)
def test_the_command_refuses_a_bad_list_before_any_job_starts(argv, says, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(GPU_COUNT_ENV, "2")
    assert main(["sweep", *TINY, "--runs-dir", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1 and "[job" not in err
    assert not list(tmp_path.rglob("*.json"))  # no trial ran


@pytest.mark.slow
def test_each_job_sees_its_gpu_and_each_trial_keeps_it(tmp_path):
    runs = tmp_path / "runs"
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env[GPU_COUNT_ENV] = "3"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dae_tui",
            "sweep",
            *TINY,
            "--runs-dir",
            str(runs),
            "--trials",
            "2",
            "--jobs",
            "2",
            "--gpus",
            "2,0",
            "--no-prune",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    # What each child saw in its environment, in its own first line.
    seen = dict(re.findall(r"\[job (\d)\] study .*; on GPU (\S+)", done.stderr))
    assert seen == {"1": "2", "2": "0"}, done.stderr
    (study,) = set(re.findall(r"study (\S+) in sqlite", done.stderr))
    shown = subprocess.run(
        [sys.executable, "-m", "dae_tui", "sweep", "--runs-dir", str(runs), "--status", "--study", study, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    doc = json.loads(shown.stdout)
    assert len(doc["trials"]) == 2 and {t["gpu"] for t in doc["trials"]} <= {"2", "0"}
    table = subprocess.run(
        [sys.executable, "-m", "dae_tui", "sweep", "--runs-dir", str(runs), "--status", "--study", study],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    rows = [line for line in table.stderr.splitlines() if line.lstrip().startswith("#")]
    assert len(rows) == 2 and all(re.search(r"  GPU [02]$", row) for row in rows), table.stderr
