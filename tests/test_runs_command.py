"""`dae-tui runs`: the table, JSON lines and CSV, its errors, and a live headless run seen through the store."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from runfolders import TINY_CONFIG, iso, lock, make_run

from dae_tui import cli
from dae_tui.config import FIELD_SPECS
from dae_tui.engine.runstore import FINISHED, RUNNING, RunStore
from dae_tui.formatting import RUN_COLUMNS

REPO = Path(__file__).resolve().parent.parent


def runs(capsys, *args):
    code = cli.main(["runs", *args])
    out, err = capsys.readouterr()
    return code, out, err


def two_runs(runs_dir: Path) -> None:
    make_run(runs_dir, "20240101-120000-mnist-seed", done=3, started=iso(7200))
    make_run(runs_dir, "20240102-120000-mnist-seed", done=1, status="running", lock=lock(), started=iso(60))


def test_table_lists_runs_newest_first_with_their_figures(capsys, tmp_path):
    two_runs(tmp_path)
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path))
    assert code == 0 and err == ""
    header, newest, oldest = out.splitlines()
    for column in ("run", "status", "dataset", "model", "noise", "epochs", "best PSNR", "last PSNR",
                   "s/epoch", "started"):
        assert column in header
    assert newest.split()[:2] == ["20240102-120000-mnist-seed", "running"]
    assert oldest.split()[:2] == ["20240101-120000-mnist-seed", "finished"]
    for cell in ("mnist", "seed", "gaussian 0.5", "3/3", "13.00 dB @ 3", "2.0"):
        assert cell in oldest


def test_json_prints_one_object_per_run_with_every_key(capsys, tmp_path):
    two_runs(tmp_path)
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path), "--json")
    assert code == 0 and err == ""
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["run"] for o in objects] == ["20240102-120000-mnist-seed", "20240101-120000-mnist-seed"]
    for key in ("run", "path", "status", "dataset", "source", "model", "noise", "noise_factor",
                "epochs_done", "epochs", "best_test_psnr", "best_epoch", "last_test_psnr",
                "seconds_per_epoch", "started", "config"):
        assert key in objects[0], key
    assert objects[1]["status"] == FINISHED and objects[1]["best_epoch"] == 3
    assert objects[1]["config"] == TINY_CONFIG.to_dict()


def test_csv_has_every_epoch_of_every_run_with_its_config(capsys, tmp_path):
    two_runs(tmp_path)
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path), "--csv")
    assert code == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["run", "epoch", "train_mse", "test_mse", "test_psnr", "noisy_psnr", "seconds",
                       *FIELD_SPECS, "test_ssim", "noisy_ssim"]
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(r["run"][:8], r["epoch"]) for r in body] == [
        ("20240102", "1"), ("20240101", "1"), ("20240101", "2"), ("20240101", "3")]
    assert float(body[-1]["test_psnr"]) == 13.0 and body[-1]["train_limit"] == "256"
    assert body[-1]["data_dir"] == "" and body[-1]["lr"] == "0.001"


RUN_COLUMNS_WORDS = " ".join(RUN_COLUMNS).split()


def test_an_empty_or_missing_runs_folder_is_not_an_error(capsys, tmp_path):
    for folder in (tmp_path, tmp_path / "missing"):
        code, out, err = runs(capsys, "--runs-dir", str(folder))
        # An empty table: its header on stdout, and why it is empty on stderr.
        assert code == 0 and out.split() == list(RUN_COLUMNS_WORDS)
        assert err == f"dae-tui runs: no runs in {folder}\n"
    code, out, _ = runs(capsys, "--runs-dir", str(tmp_path), "--csv")
    assert code == 0 and out.count("\n") == 1 and out.startswith("run,epoch,")
    assert runs(capsys, "--runs-dir", str(tmp_path), "--json")[:2] == (0, "")


def test_an_unreadable_runs_folder_exits_2_with_one_line(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path / "file"))
    assert code == 2 and out == ""
    assert err == f"dae-tui runs: error: {tmp_path / 'file'}: not a folder\n"


def test_json_and_csv_together_is_a_usage_error(capsys, tmp_path):
    code, out, err = runs(capsys, "--json", "--csv")
    assert code == 2 and out == ""
    assert err == "dae-tui runs: error: argument --csv: not allowed with argument --json\n"


def test_what_was_skipped_is_named_once_on_stderr(capsys, tmp_path):
    make_run(tmp_path, "20240101-120000-mnist-seed", extra_lines=(b"garbage\n", b"more garbage\n"))
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path))
    assert code == 0 and len(out.splitlines()) == 2
    assert err == ("dae-tui runs: warning: 20240101-120000-mnist-seed: "
                   "metrics.jsonl: skipped 2 unreadable lines\n")


def _env() -> dict[str, str]:
    """This checkout first on the path, so the subprocess runs the code under test."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(REPO) + (os.pathsep + path if path else "")}


def test_the_runs_command_never_imports_torch(tmp_path):
    make_run(tmp_path, "20240101-120000-mnist-seed")
    code = (
        "import sys; from dae_tui.cli import main; code = main(['runs', '--runs-dir', sys.argv[1]]);"
        "print(code, [m for m in sys.modules if m.split('.')[0] in ('torch', 'textual')])"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                            env=_env(), check=True)
    assert result.stdout.splitlines()[-1] == "0 []"


def test_a_headless_run_shows_up_running_then_finished(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "dae_tui", "train", "--dataset", "mnist", "--source", "bundled",
         "--train-limit", "512", "--batch-size", "32", "--epochs", "6", "--threads", "1",
         "--runs-dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(),
    )
    store = RunStore(tmp_path)
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            store.refresh()
            seen += [(r.status, r.epochs_done) for r in store.runs]
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    store.refresh()
    (info,) = store.runs
    assert (info.status, info.epochs_done, info.epochs) == (FINISHED, 6, 6)
    running_epochs = sorted({done for status, done in seen if status == RUNNING})
    assert len(running_epochs) >= 2, seen  # the store saw epochs advance while it trained
    assert all(status in (RUNNING, FINISHED) for status, _ in seen), seen


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    for i in range(40):
        make_run(tmp_path, f"20240101-1200{i:02d}-mnist-seed", config=replace(TINY_CONFIG, epochs=20), done=20)
    proc = subprocess.Popen([sys.executable, "-m", "dae_tui", "runs", "--runs-dir", str(tmp_path), "--csv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert proc.stdout.readline().startswith(b"run,epoch,")
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 0 and "Traceback" not in err, err


def test_without_runs_dir_it_lists_the_trainers_default_folder(capsys, tmp_path, monkeypatch):
    from dae_tui import listing

    monkeypatch.setattr(listing, "default_runs_dir", lambda: tmp_path / "default")
    make_run(tmp_path / "default", "20240101-120000-mnist-seed")
    code, out, _ = runs(capsys, "--json")
    assert code == 0 and json.loads(out)["path"] == str(tmp_path / "default" / "20240101-120000-mnist-seed")
