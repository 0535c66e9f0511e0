"""`dae-tui sweep` on PostgreSQL (issue 13's distributed mode): two separate processes share one
study through a real server on localhost. `.ci/run` starts the server and names it in
DAE_TUI_TEST_POSTGRES; without that, the fixture starts a throwaway one from Debian's binaries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import pgserver

TINY = ["--dataset", "mnist", "--source", "bundled", "--train-limit", "256", "--batch-size", "32", "--threads", "1"]


@pytest.fixture(scope="module")
def postgres_url() -> str:
    named = os.environ.get("DAE_TUI_TEST_POSTGRES")
    if named:
        yield named
        return
    if pgserver.binaries() is None:
        pytest.skip("no PostgreSQL here (.ci/run installs Debian's postgresql)")
    # Not under pytest's own folder: as root that is closed to the postgres user who runs the server.
    folder = Path(tempfile.mkdtemp(prefix="dae-tui-pg-"))
    folder.chmod(0o755)
    try:
        yield pgserver.start(folder / "server")
    finally:
        pgserver.stop(folder / "server")
        shutil.rmtree(folder, ignore_errors=True)


def sweep(*args: str) -> list[str]:
    return [sys.executable, "-m", "dae_tui", "sweep", *args]


def test_two_processes_sweep_one_study_through_postgresql(postgres_url, tmp_path):
    study = f"pg-{os.getpid()}-{tmp_path.name}"[:60]  # a server CI keeps may hold earlier studies
    space = tmp_path / "space.toml"
    space.write_text("lr = {log = [1e-3, 1e-2]}\n")
    # Each process has its own runs folder, as on two machines; only the storage is shared.
    procs = [
        subprocess.Popen(
            sweep(
                *TINY,
                "--epochs",
                "2",
                "--runs-dir",
                str(tmp_path / f"machine{i}"),
                "--space",
                str(space),
                "--trials",
                "4",
                "--study",
                study,
                "--storage",
                postgres_url,
                "--worker",
                str(i),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (1, 2)
    ]
    try:
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0], outputs
    done = subprocess.run(
        sweep(
            "--status", "--json", "--study", study, "--storage", postgres_url, "--runs-dir", str(tmp_path / "machine1")
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert len(doc["trials"]) == 4 and doc["best"] is not None
    folders = {Path(t["run_dir"]).parent.name for t in doc["trials"]}
    assert folders <= {"machine1", "machine2"} and all(Path(t["run_dir"]).is_dir() for t in doc["trials"])
