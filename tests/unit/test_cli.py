"""`dae-tui train`: flags, output, exit codes and every error path, through the real entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dae_tui import cli
from dae_tui.training import checkpoints

TINY = ["--dataset", "mnist", "--source", "bundled", "--train-limit", "256", "--batch-size", "32"]


def train(capsys, tmp_path, *args):
    code = cli.main(["train", *args, "--runs-dir", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_json_prints_one_object_per_epoch_and_nothing_else(capsys, tmp_path):
    code, out, err = train(capsys, tmp_path, *TINY, "--epochs", "2", "--json")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    for key in (
        "epoch",
        "train_mse",
        "test_mse",
        "test_psnr",
        "noisy_psnr",
        "seconds",
        "images_per_s",
        "dataset",
        "source",
    ):
        assert key in records[0]
    assert records[0]["dataset"] == "mnist" and records[0]["source"] == "bundled"
    assert records[0]["offline_sample"] is True
    assert "mnist (bundled offline sample)" in err
    assert "epoch 2/2" in err and "finished 2 epochs" in err


@pytest.mark.slow
def test_without_json_stdout_stays_empty(capsys, tmp_path):
    code, out, err = train(capsys, tmp_path, *TINY, "--epochs", "1")
    assert code == 0 and out == ""
    assert "test PSNR" in err and "run folder:" in err


@pytest.mark.parametrize(
    "args, words",
    [
        (["--epochs", "0"], ["--epochs must be a whole number from 1 to 10000 (got 0)"]),
        (["--batch-size", "big"], ["--batch-size must be a whole number", "'big'"]),
        (["--dataset", "cifar"], ["--dataset must be one of mnist, fashion-mnist"]),
        (["--lr", "-1"], ["--lr must be a number above 0 to 1"]),
        (["--frobnicate"], ["unrecognized arguments: --frobnicate"]),
        (["--epochs"], ["--epochs: expected one argument"]),
        (["--data-dir", "/no/such/dir"], ["--data-dir must be an existing folder"]),
    ],
)
def test_bad_usage_exits_2_with_one_line(capsys, tmp_path, args, words):
    code, out, err = train(capsys, tmp_path, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("dae-tui train: error: ")
    for word in words:
        assert word in err


def test_local_source_without_data_dir_exits_2(capsys, tmp_path, no_debian):
    code, out, err = train(capsys, tmp_path, "--dataset", "mnist", "--source", "local")
    assert code == 2 and out == ""
    # Judged by the config's validator, so before torch loads and as the form is typed.
    assert err.strip() == (
        "dae-tui train: error: --data-dir must name the folder holding mnist's four IDX "
        "files when the source is local (only fashion-mnist has one without it: Debian's package)"
    )


def test_broken_local_data_exits_1_naming_the_file(capsys, tmp_path, no_debian):
    from conftest import write_idx_set

    folder = write_idx_set(tmp_path / "d")
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05")
    code, out, err = train(capsys, tmp_path, "--dataset", "mnist", "--source", "local", "--data-dir", str(folder))
    assert code == 1 and out == ""
    assert err.strip().splitlines()[-1].startswith("dae-tui train: failed: ")
    assert "train-images-idx3-ubyte: truncated header" in err


@pytest.mark.slow
def test_failure_mid_run_exits_1_and_keeps_the_run_folder(capsys, tmp_path, monkeypatch):
    def disk_full(path, state):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints, "save_checkpoint", disk_full)
    code, out, err = train(capsys, tmp_path, *TINY, "--epochs", "1", "--json")
    assert code == 1 and out == ""
    last = err.strip().splitlines()[-1]
    assert "No space left on device" in last and "run folder kept" in last
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "config.json").is_file()


@pytest.mark.slow
def test_resume_continues_and_refuses_a_changed_recipe(capsys, tmp_path):
    code, out, _ = train(capsys, tmp_path, *TINY, "--epochs", "1", "--json")
    assert code == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    code, out, err = train(capsys, tmp_path, "--resume", str(run_dir), "--epochs", "2", "--json")
    assert code == 0 and [json.loads(x)["epoch"] for x in out.splitlines()] == [2]
    assert "resuming at epoch 2" in err
    code, out, err = train(capsys, tmp_path, "--resume", str(run_dir), "--lr", "0.1")
    assert code == 2 and "--lr cannot change on --resume" in err
    # Named as they are typed: flags, and numbers as a user writes them.
    assert "the run used 1e-3" in err and "only --data-dir, --device, --epochs, --source, --threads may" in err
    code, out, err = train(capsys, tmp_path, "--resume", str(tmp_path / "nothing"))
    assert code == 2 and "no checkpoint there" in err


def test_help_lists_every_config_flag(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--dataset",
        "--source",
        "--data-dir",
        "--noise-factor",
        "--clamp",
        "--model",
        "--batch-size",
        "--lr",
        "--weight-decay",
        "--epochs",
        "--seed",
        "--device",
        "--train-limit",
        "--runs-dir",
        "--resume",
        "--json",
    ):
        assert flag in text


def _console_script() -> str:
    return str(Path(sys.executable).with_name("dae-tui"))


@pytest.mark.slow
def test_real_command_ctrl_c_stops_at_the_next_batch_and_exits_130(tmp_path):
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen(
        [
            _console_script(),
            "train",
            "--dataset",
            "mnist",
            "--source",
            "bundled",
            "--epochs",
            "50",
            "--batch-size",
            "16",
            "--runs-dir",
            str(tmp_path),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("*/config.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "stopping after this batch" in err and "resume with --resume" in err
    assert "Traceback" not in err


def test_real_command_usage_error_has_no_traceback(tmp_path):
    result = subprocess.run([_console_script(), "train", "--noise-factor", "nan"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        "dae-tui train: error: --noise-factor must be a number in the noise kind's range (got nan)"
    )
