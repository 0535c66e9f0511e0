"""Kuzushiji-MNIST (issue 11): read from IDX files in torchvision's layout, never bundled, and a
machine with neither a copy nor a network gets one line saying how to get it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_idx_set

from dae_tui.core.config import CLASS_NAMES, ConfigError, TrainConfig
from dae_tui.core.events import RunFinished, RunStarted
from dae_tui.training.data import DataError, load_data
from dae_tui.training.trainer import Trainer

DAE_TUI = str(Path(sys.executable).with_name("dae-tui"))


def test_kmnist_reads_idx_files_in_torchvisions_layout(tmp_path, offline):
    write_idx_set(tmp_path / "data" / "KMNIST" / "raw", n_train=40, n_test=20, gz=True)
    config = TrainConfig(dataset="kmnist", data_dir=str(tmp_path / "data"))
    loaded = load_data(config, cache_dir=tmp_path / "cache")
    assert loaded.source == "local" and loaded.detail == str(tmp_path / "data" / "KMNIST" / "raw")
    assert (len(loaded.train), len(loaded.test)) == (40, 20) and not loaded.is_sample
    assert CLASS_NAMES["kmnist"] == ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")


def test_a_kmnist_run_trains_from_local_files(tmp_path, offline):
    write_idx_set(tmp_path / "data", n_train=64, n_test=32)
    config = TrainConfig(dataset="kmnist", source="local", data_dir=str(tmp_path / "data"), batch_size=16, epochs=1)
    events = list(Trainer(config, runs_dir=tmp_path / "runs").run())
    assert isinstance(events[-1], RunFinished)
    started = next(e for e in events if isinstance(e, RunStarted))
    assert started.dataset_label == "kmnist" and "kmnist" in started.run_dir


def test_kmnist_is_not_bundled_and_auto_without_a_copy_or_network_says_how_to_get_it(tmp_path, offline):
    with pytest.raises(ConfigError, match="kmnist is not bundled"):
        load_data(TrainConfig(dataset="kmnist", source="bundled"), cache_dir=tmp_path)
    with pytest.raises(DataError) as caught:
        load_data(TrainConfig(dataset="kmnist"), cache_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith("no kmnist data here: put its four IDX files (from https://github.com/rois-codh/kmnist)")
    assert "download of kmnist" in message and "\n" not in message


@pytest.mark.slow
def test_the_command_says_it_in_one_line_without_a_traceback(tmp_path):
    # The download fails at once here (the sandbox has no route to the mirror) or within its 5 s budget.
    out = subprocess.run(
        [DAE_TUI, "train", "--dataset", "kmnist", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path)},
    )
    if out.returncode == 0:
        pytest.skip("this machine can download KMNIST")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("dae-tui train: failed: no kmnist data here") and "rois-codh/kmnist" in last
