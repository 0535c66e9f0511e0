"""`dae-tui runs`: the table, JSON lines and CSV, its errors, and a live headless run seen through the store."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.runfolders import TINY_CONFIG, iso, lock, make_run

from dae_tui import cli
from dae_tui.core.config import FIELD_SPECS
from dae_tui.core.formatting import RUN_COLUMNS
from dae_tui.runs.store import FINISHED, RUNNING, RunStore

REPO = Path(__file__).resolve().parents[2]


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
    for column in (
        "run",
        "status",
        "dataset",
        "model",
        "noise",
        "epochs",
        "best PSNR",
        "last PSNR",
        "s/epoch",
        "started",
    ):
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
    for key in (
        "run",
        "path",
        "status",
        "dataset",
        "source",
        "model",
        "noise",
        "noise_factor",
        "epochs_done",
        "epochs",
        "best_test_psnr",
        "best_epoch",
        "last_test_psnr",
        "seconds_per_epoch",
        "started",
        "config",
    ):
        assert key in objects[0], key
    assert objects[1]["status"] == FINISHED and objects[1]["best_epoch"] == 3
    assert objects[1]["config"] == TINY_CONFIG.to_dict()


def test_csv_has_every_epoch_of_every_run_with_its_config(capsys, tmp_path):
    two_runs(tmp_path)
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path), "--csv")
    assert code == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == [
        "run",
        "epoch",
        "train_mse",
        "test_mse",
        "test_psnr",
        "noisy_psnr",
        "seconds",
        *FIELD_SPECS,
        "test_ssim",
        "noisy_ssim",
        "label",
    ]
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    # The label is the Runs tab's: the two share every setting, so each is named by its start.
    starts = {r["run"]: r["label"] for r in body}
    assert len(set(starts.values())) == 2 and all(
        re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", v) for v in starts.values()
    )
    assert [(r["run"][:8], r["epoch"]) for r in body] == [
        ("20240102", "1"),
        ("20240101", "1"),
        ("20240101", "2"),
        ("20240101", "3"),
    ]
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
    assert err == ("dae-tui runs: warning: 20240101-120000-mnist-seed: metrics.jsonl: skipped 2 unreadable lines\n")


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
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=_env(), check=True
    )
    assert result.stdout.splitlines()[-1] == "0 []"


@pytest.mark.slow
def test_a_headless_run_shows_up_running_then_finished(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dae_tui",
            "train",
            "--dataset",
            "mnist",
            "--source",
            "bundled",
            "--train-limit",
            "512",
            "--batch-size",
            "32",
            "--epochs",
            "6",
            "--threads",
            "1",
            "--runs-dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "dae_tui", "runs", "--runs-dir", str(tmp_path), "--csv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdout.readline().startswith(b"run,epoch,")
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 0 and "Traceback" not in err, err


def test_without_runs_dir_it_lists_the_trainers_default_folder(capsys, tmp_path, monkeypatch):
    from dae_tui.cli import runs as listing

    monkeypatch.setattr(listing, "default_runs_dir", lambda: tmp_path / "default")
    make_run(tmp_path / "default", "20240101-120000-mnist-seed")
    code, out, _ = runs(capsys, "--json")
    assert code == 0 and json.loads(out)["path"] == str(tmp_path / "default" / "20240101-120000-mnist-seed")


# --- hostile files in run folders (issue 17) -------------------------------------------------------


def runs_process(runs_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The real `dae-tui runs` in a process of its own: a hang fails the test in 20 s (never the
    whole session), and what it printed is checked byte for byte."""
    return subprocess.run(
        [sys.executable, "-m", "dae_tui", "runs", "--runs-dir", str(runs_dir), *args],
        capture_output=True,
        env=_env(),
        timeout=20,
    )


GOOD = "20240101-120000-mnist-seed"
BAD = "20240102-120000-mnist-seed"


def good_and_bad(runs_dir: Path) -> Path:
    make_run(runs_dir, GOOD, done=3, started=iso(7200))
    return make_run(runs_dir, BAD, done=2, started=iso(60))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["status.json", "metrics.jsonl", "config.json", "run.lock", "sweep.json"])
def test_a_fifo_named_like_a_run_file_never_hangs_the_listing(tmp_path, name):
    bad = good_and_bad(tmp_path)
    (bad / name).unlink(missing_ok=True)
    os.mkfifo(bad / name)  # nobody ever writes to it: a plain open() would block for ever
    for args in ((), ("--json",), ("--csv",)):
        result = runs_process(tmp_path, *args)
        assert result.returncode == 0, result.stderr
        assert GOOD.encode() in result.stdout
        # Listed, unless it is the CSV (a row an epoch) and its epochs were behind the FIFO.
        assert (BAD.encode() in result.stdout) is not (args == ("--csv",) and name == "metrics.jsonl")
    assert f"{name}: unreadable (a FIFO, not a regular file)".encode() in result.stderr


def test_an_endless_device_as_metrics_is_refused_not_read(tmp_path):
    bad = good_and_bad(tmp_path)
    (bad / "metrics.jsonl").unlink()
    (bad / "metrics.jsonl").symlink_to("/dev/zero")  # read() never ends and never fails
    result = runs_process(tmp_path, "--json")
    assert result.returncode == 0
    listed = {doc["run"]: doc for doc in map(json.loads, result.stdout.splitlines())}
    assert listed[GOOD]["epochs_done"] == 3 and listed[BAD]["epochs_done"] == 0
    assert listed[BAD]["warnings"] == ["metrics.jsonl: unreadable (a character device, not a regular file)"]


def test_one_huge_metrics_line_is_skipped_and_named(capsys, tmp_path):
    huge = b'{"epoch": 4, "pad": "' + b"x" * 5_000_000 + b'"}\n'
    make_run(tmp_path, GOOD, done=3, extra_lines=(huge,))
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["epochs_done"] == 3
    assert doc["warnings"] == ["metrics.jsonl: skipped 1 line over 4,096 bytes"]


def test_a_metrics_file_past_its_cap_keeps_its_newest_epochs(capsys, tmp_path, monkeypatch):
    from dae_tui.runs import info as runinfo

    folder = make_run(tmp_path, GOOD, done=3)
    size = (folder / "metrics.jsonl").stat().st_size
    monkeypatch.setattr(runinfo, "MAX_METRICS_BYTES", size // 2)  # the cap, not 64 MB of file
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["epochs_done"] == 3 and doc["last_test_psnr"] == 13.0
    assert len(doc["warnings"]) == 1 and "read its last" in doc["warnings"][0]
    assert "unreadable line" not in doc["warnings"][0]  # the cut lands on a line's start


HOSTILE_NUMBERS = [b"1" * 401, b"-" + b"9" * 401, b"1.7e308", b"-1e300", b"NaN", b"Infinity", b"-Infinity"]


@pytest.mark.parametrize("number", HOSTILE_NUMBERS)
@pytest.mark.parametrize("key", ["seconds", "test_psnr", "test_mse", "test_ssim"])
def test_numbers_no_figure_can_be_are_left_out_and_said(capsys, tmp_path, key, number):
    line = json.dumps({"epoch": 4, "epochs": 4, "test_psnr": 14.0, "seconds": 2.0})
    line = line.replace("}", f', "{key}": 0}}') if key not in line else line
    line = line.replace(f'"{key}": {json.loads(line)[key]}', f'"{key}": {number.decode()}')
    make_run(tmp_path, BAD, done=3, extra_lines=(line.encode() + b"\n",))
    make_run(tmp_path, GOOD, done=3, started=iso(9000))
    for args in ((), ("--json",), ("--csv",)):
        code, out, err = runs(capsys, "--runs-dir", str(tmp_path), *args)
        assert code == 0 and GOOD in out and BAD in out
        assert "metrics.jsonl: left out 1 figure not plausible as a number" in err
    docs = [
        json.loads(line, parse_constant=pytest.fail)
        for line in runs(capsys, "--runs-dir", str(tmp_path), "--json")[1].splitlines()
    ]
    bad = next(d for d in docs if d["run"] == BAD)
    assert bad["epochs_done"] == 4
    if key == "test_psnr":
        assert bad["best_test_psnr"] == 13.0 and bad["last_test_psnr"] is None


@pytest.mark.parametrize("number", HOSTILE_NUMBERS)
def test_an_epoch_that_is_no_epoch_skips_its_line(capsys, tmp_path, number):
    make_run(tmp_path, GOOD, done=3, extra_lines=(b'{"epoch": ' + number + b', "test_psnr": 99.0}\n',))
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["epochs_done"] == 3 and doc["best_test_psnr"] == 13.0
    assert doc["warnings"] == ["metrics.jsonl: skipped 1 unreadable line"]


def test_huge_numbers_in_the_status_and_lock_files_are_not_believed(capsys, tmp_path):
    folder = make_run(tmp_path, GOOD, config=None, done=2, status=None, lock=lock(pid=10**401))
    status = {"status": "finished", "epochs": 10**401, "started": "9999-12-31T23:59:59-12:00"}
    (folder / "status.json").write_text(json.dumps(status))
    for args in ((), ("--json",), ("--csv",)):
        code, out, err = runs(capsys, "--runs-dir", str(tmp_path), *args)
        assert code == 0 and GOOD in out
    doc = json.loads(runs(capsys, "--runs-dir", str(tmp_path), "--json")[1])
    assert doc["epochs"] == 3  # from the metrics lines, not the 401-digit count


def test_a_symlink_loop_or_a_dangling_link_leaves_out_that_entry_alone(capsys, tmp_path):
    make_run(tmp_path, GOOD)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "linked").symlink_to(tmp_path / GOOD)  # a link to a run is a run
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path))
    assert code == 0
    assert sorted(line.split()[0] for line in out.splitlines()[1:]) == [GOOD, "linked"]


CONTROLS = "\x1b]0;owned\x07\x1b[2J\nsecond line\r\x9b\u202e\x7f"


def _raw_controls(data: bytes) -> list[str]:
    text = data.decode()
    return [c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u202e")]


def test_control_characters_in_a_folder_name_never_reach_the_terminal(tmp_path):
    name = f"20240101-120000-mnist-{CONTROLS}"
    folder = make_run(tmp_path, name, extra_lines=(b"garbage\n",))  # a warning names it on stderr
    for args in ((), ("--csv",), ("--json",)):
        result = runs_process(tmp_path, *args)
        assert result.returncode == 0
        assert _raw_controls(result.stdout) == [] and _raw_controls(result.stderr) == []
        # The name splits no row: a header and a run, a header and 3 epochs, one object.
        assert result.stdout.count(b"\n") == {(): 2, ("--csv",): 4, ("--json",): 1}[args]
    assert json.loads(result.stdout)["run"] == name  # JSON keeps the name exactly, escaped
    table = runs_process(tmp_path).stdout.decode()
    assert "20240101-120000-mnist-␛]0;owned␇␛[2J␊second line␍\\x9b\\u202e␡" in table
    assert b"warning: 20240101-120000-mnist-\xe2\x90\x9b" in runs_process(tmp_path).stderr
    rows = list(csv.reader(io.StringIO(runs_process(tmp_path, "--csv").stdout.decode())))
    assert rows[1][0].startswith("20240101-120000-mnist-␛]0;owned")
    assert folder.name == name


def test_a_figure_that_still_is_no_number_reads_unreadable_in_the_table(tmp_path):
    from dae_tui.cli.runs import write_table
    from dae_tui.core.formatting import UNREADABLE, format_eta, format_metric, run_cells
    from dae_tui.runs.store import read_run

    # What the readers let through is clean; the cells must still never crash on what is not.
    info = read_run(make_run(tmp_path, GOOD))
    odd = replace(info, best_test_psnr=float("inf"), last_test_psnr=float("nan"), seconds_per_epoch=10**401)
    out = io.StringIO()
    write_table([info, odd], out)
    assert run_cells(odd)[6:9] == (f"{UNREADABLE} @ 3", UNREADABLE, UNREADABLE)
    assert out.getvalue().count(UNREADABLE) == 3
    assert format_eta(float("inf")) == format_eta(float("nan")) == "—"
    assert format_metric(-float("inf"), "test_psnr") == format_metric(10**401, "test_mse") == UNREADABLE


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_a_start_time_no_clock_can_show_falls_back_to_the_folder_name(capsys, tmp_path, moment):
    folder = make_run(tmp_path, GOOD)
    status = json.loads((folder / "status.json").read_text())
    (folder / "status.json").write_text(json.dumps({**status, "started": moment, "ended": moment}))
    code, out, err = runs(capsys, "--runs-dir", str(tmp_path))
    assert code == 0 and out.splitlines()[1].endswith("2024-01-01 12:00")


@pytest.mark.slow
def test_train_and_its_errors_print_a_hostile_runs_folder_with_its_controls_visible(tmp_path):
    runs_dir = tmp_path / f"runs{CONTROLS}"
    tiny = [
        "--dataset",
        "mnist",
        "--source",
        "bundled",
        "--train-limit",
        "64",
        "--batch-size",
        "32",
        "--epochs",
        "1",
        "--threads",
        "1",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "dae_tui", "train", *tiny, "--runs-dir", str(runs_dir)],
        capture_output=True,
        env={**_env(), "COLUMNS": "200"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert _raw_controls(result.stderr) == [] and "runs␛]0;owned␇".encode() in result.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "dae_tui", "eval", str(runs_dir / "none")], capture_output=True, env=_env(), timeout=120
    )
    assert refused.returncode == 2 and _raw_controls(refused.stderr) == []
    assert len(refused.stderr.splitlines()) == 1


def test_a_folder_name_that_is_not_utf8_reaches_the_terminal_as_escapes_not_raw_bytes(tmp_path):
    folder = make_run(tmp_path, GOOD)
    # b"\x9b" is CSI to a terminal taking 8-bit controls; Python carries it as a lone surrogate.
    os.rename(folder, os.fsdecode(os.fsencode(folder) + b"-\x9b2J\xff"))
    for args in ((), ("--csv",)):
        result = runs_process(tmp_path, *args)
        assert result.returncode == 0
        assert b"\x9b" not in result.stdout and b"\xff" not in result.stdout
        assert rb"-\x9b2J\xff" in result.stdout
