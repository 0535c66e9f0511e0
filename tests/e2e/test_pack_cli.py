"""`dae-tui sweep --pack 2` for real: one process trains the two trials as one pack, and the study
and the run folders read as two ordinary trials' (issue 21)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TINY = ["--dataset", "mnist", "--source", "bundled", "--train-limit", "256", "--batch-size", "32", "--threads", "1"]


def test_a_packed_sweep_leaves_two_ordinary_trials(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text("lr = {log = [1e-4, 1e-2]}\nweight_decay = {log = [1e-6, 1e-3]}\n")
    runs = tmp_path / "runs"
    args = [*TINY, "--runs-dir", str(runs), "--epochs", "2", "--trials", "2", "--pack", "2", "--seed", "3"]
    done = subprocess.run(
        [sys.executable, "-m", "dae_tui", "sweep", *args, "--space", str(space)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "packs of 2" in done.stderr
    shown = subprocess.run(
        [sys.executable, "-m", "dae_tui", "sweep", "--runs-dir", str(runs), "--status", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    doc = json.loads(shown.stdout)
    assert [t["state"] for t in doc["trials"]] == ["complete", "complete"]
    folders = [Path(t["run_dir"]) for t in doc["trials"]]
    assert len(set(folders)) == 2
    for trial, folder in zip(doc["trials"], folders, strict=True):
        assert json.loads((folder / "status.json").read_text())["status"] == "finished"
        assert json.loads((folder / "sweep.json").read_text())["trial"] == trial["trial"]
        assert len((folder / "metrics.jsonl").read_text().splitlines()) == 2
        assert (folder / "checkpoint.pt").is_file() and (folder / "samples" / "index.json").is_file()
