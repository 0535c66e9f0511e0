"""The real `dae-tui` command under signals, closed and full pipes, and bad folders (issue 10,
items 6, 7, 9 and 13): each a real subprocess, judged by its exit code, its one line and the run
folder it leaves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dae_tui.runs.info import read_run
from dae_tui.training import checkpoints as ckpt

DAE_TUI = str(Path(sys.executable).with_name("dae-tui"))
TINY = ["--dataset", "mnist", "--source", "bundled", "--train-limit", "512", "--batch-size", "32", "--threads", "1"]
SLOW = [
    "--dataset",
    "mnist",
    "--source",
    "bundled",
    "--train-limit",
    "4000",
    "--batch-size",
    "16",
    "--epochs",
    "50",
    "--threads",
    "1",
]


def wait_for_checkpoint(runs: Path, proc: subprocess.Popen, timeout: float = 90) -> Path:
    deadline = time.monotonic() + timeout
    while not list(runs.glob("*/checkpoint.pt")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.05)
    (run_dir,) = runs.iterdir()
    return run_dir


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_signal_stops_a_headless_run_at_the_next_batch_and_keeps_its_checkpoint(tmp_path, signum, code):
    runs = tmp_path / "runs"
    # --on-hangup stop: by default a hang-up keeps a headless run going (tests/e2e/test_leave.py).
    proc = subprocess.Popen(
        [DAE_TUI, "train", *SLOW, "--runs-dir", str(runs), "--on-hangup", "stop"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_dir = wait_for_checkpoint(runs, proc)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert "Traceback" not in err and out == ""
    name = signal.Signals(signum).name
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "stopped" and status["message"] == f"stopped by {name}"
    assert ckpt.load_checkpoint(run_dir / "checkpoint.pt")["epoch"] == status["last_epoch"] >= 1
    assert not (run_dir / "run.lock").exists()
    if signum != signal.SIGHUP:  # after a hang-up there is no terminal to tell
        assert f"{name}: stopping after this batch" in err and f"resume with --resume {run_dir}" in err


def test_a_second_signal_aborts_at_once_quietly(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [DAE_TUI, "train", *SLOW, "--runs-dir", str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    run_dir = wait_for_checkpoint(runs, proc)
    # The first stop is held until the next batch; the second comes before it can finish.
    # (Two of one kind would merge into one while it is stopped: the kernel keeps one pending.)
    os.kill(proc.pid, signal.SIGSTOP)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err
    assert "aborted by SIG" in err
    assert ckpt.load_checkpoint(run_dir / "checkpoint.pt")["epoch"] >= 1


def test_ctrl_c_while_torch_loads_is_quiet(tmp_path):
    script = (
        "import sys; from dae_tui.cli import main; print('ready', flush=True); "
        f"sys.exit(main(['train', *{TINY!r}, '--runs-dir', {str(tmp_path)!r}]))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout.readline() == "ready\n"
    # A moment for main() to begin (a signal landing on the print itself would be outside it);
    # torch's import takes seconds more.
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err == "dae-tui: interrupted\n"


def test_a_closed_stdout_stops_the_run_quietly_like_sigpipe(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [DAE_TUI, "train", *TINY, "--epochs", "4", "--json", "--runs-dir", str(runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = proc.stdout.readline()
    proc.stdout.close()  # `| head -n 1`
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 141
    assert json.loads(first)["epoch"] == 1
    assert "Traceback" not in err and "stdout was closed: stopping after this batch" in err
    (run_dir,) = runs.iterdir()
    info = read_run(str(run_dir))
    assert info.status == "stopped" and 1 <= info.epochs_done < 4
    assert ckpt.load_checkpoint(run_dir / "checkpoint.pt")["epoch"] == info.epochs_done


def test_a_full_stdout_is_one_line_and_exit_1(tmp_path):
    runs = tmp_path / "runs"
    with open("/dev/full", "w") as full:
        out = subprocess.run(
            [DAE_TUI, "train", *TINY, "--epochs", "3", "--json", "--runs-dir", str(runs)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    (run_dir,) = runs.iterdir()
    last = out.stderr.strip().splitlines()[-1]
    assert last == (
        f"dae-tui train: error: cannot write the JSON to stdout (No space left on device); "
        f"the run stopped, its checkpoint kept; resume with --resume {run_dir}"
    )
    assert ckpt.load_checkpoint(run_dir / "checkpoint.pt")["epoch"] == 1


@pytest.mark.parametrize("command", [["train"], [], ["runs"]])
def test_an_empty_runs_dir_is_usage_not_the_default(command):
    out = subprocess.run([DAE_TUI, *command, "--runs-dir", ""], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.endswith("error: --runs-dir needs a folder (got an empty string)\n")
    assert out.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "where, says",
    [
        ("a-file", "not a folder"),
        ("a-file/runs", "cannot write there (Not a directory)"),
    ],
)
def test_a_bad_runs_dir_is_judged_before_torch_loads(tmp_path, where, says):
    (tmp_path / "a-file").write_text("not a folder")
    target = tmp_path / where
    script = (
        "import sys; from dae_tui.cli import main; code = main(sys.argv[1:]); "
        "print('torch' in sys.modules); sys.exit(code)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, "train", *TINY, "--runs-dir", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and out.stdout == "False\n"
    assert out.stderr == f"dae-tui train: error: --runs-dir {target}: {says}\n"


def test_the_dashboard_without_a_terminal_says_so_and_exits_2(tmp_path):
    out = subprocess.run(
        [DAE_TUI, "--runs-dir", str(tmp_path)], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and out.stderr == (
        "dae-tui: error: the dashboard needs a terminal (stdin and stdout are not one); "
        "to train without one, use: dae-tui train [flags]\n"
    )


@pytest.mark.parametrize(
    "doc, says",
    [
        ([], "holds a JSON list, expected an object of config fields"),
        ({"dataset": 5}, "--dataset must be one of mnist, fashion-mnist, kmnist (got 5)"),
    ],
)
@pytest.mark.parametrize("command", [[], ["train"]])
def test_a_hostile_config_json_is_one_line_for_resume(tmp_path, doc, says, command):
    (tmp_path / "config.json").write_text(json.dumps(doc))  # killed before its first checkpoint
    out = subprocess.run(
        [DAE_TUI, *command, "--resume", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and says in out.stderr and str(tmp_path / "config.json") in out.stderr


def test_a_checkpoint_error_is_one_line_with_torch_s_words_only_in_a_note(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated zip")
    out = subprocess.run([DAE_TUI, "train", "--resume", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith(f"dae-tui train: failed: {tmp_path / 'checkpoint.pt'}: truncated or not a checkpoint file")
    assert "miniz" not in last and "note: detail:" in out.stderr


# --- issue 17: a dashboard whose terminal goes away at once still ends -------------------------


def launch_on_pty(argv: list[str]) -> tuple[subprocess.Popen, int]:
    """`argv` on a fresh pty as its controlling terminal (its own session, 80x24); the master."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def controlling_tty() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=controlling_tty,
        env={**os.environ, "TERM": "xterm-256color"},
        close_fds=True,
    )
    os.close(slave)
    return proc, master


def read_for(master: int, seconds: float) -> bytes:
    """What the terminal got for `seconds` (read, so the app never waits on a full pty)."""
    import select

    seen, deadline = b"", time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if select.select([master], [], [], left)[0]:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
    return seen


@pytest.mark.parametrize("delay", [0.1, 0.3, 0.4, 0.45, 0.5, 0.7, 1.0])
def test_a_terminal_closed_early_in_the_dashboards_life_ends_it(tmp_path, delay):
    """The pty's master closed at an early moment: the kernel hangs up the session. At about
    0.4 s the dashboard once stayed alive with no terminal, its shutdown stuck in Textual's
    writer queue; whatever the moment, it must now be gone within seconds."""
    proc, master = launch_on_pty([DAE_TUI, "--runs-dir", str(tmp_path / "runs")])
    read_for(master, delay)
    os.close(master)
    try:
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the dashboard was still running 20 s after its terminal closed at {delay} s")
    # 129 once the app has its handlers; killed by SIGHUP itself (-1) while Python still imports.
    assert code in (129, -signal.SIGHUP)


def test_a_hang_up_during_a_run_in_the_dashboard_keeps_the_last_epoch(tmp_path):
    """The terminal goes away mid-run: with --on-hangup stop the run stops at its next batch,
    status.json says why, and the process ends (with its checkpoint whole) even though nothing
    can be drawn."""
    runs = tmp_path / "runs"
    proc, master = launch_on_pty([DAE_TUI, *SLOW, "--runs-dir", str(runs), "--on-hangup", "stop"])
    seen = read_for(master, 3.0)
    assert b"Start" in seen
    os.write(master, b"s")
    deadline = time.monotonic() + 90
    while not list(runs.glob("*/checkpoint.pt")):
        read_for(master, 0.2)
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint in time"
    os.close(master)
    assert proc.wait(timeout=40) == 129
    (run_dir,) = runs.iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "stopped" and status["message"] == "stopped by SIGHUP"
    assert ckpt.load_checkpoint(run_dir / "checkpoint.pt")["epoch"] == status["last_epoch"] >= 1


@pytest.mark.parametrize("tab", [b"r", b"n"], ids=["runs", "inspect"])
def test_q_leaves_even_with_a_reader_blocked_on_a_fifo_in_the_runs_folder(tmp_path, tab):
    """A run file that is a FIFO with no writer blocks whoever opens it without O_NONBLOCK. Were a
    reader thread stuck there, Textual's shutdown would join it for ever; q must still end the
    process (a daemon thread and the exit watchdog: nothing the reader does can hold it)."""
    from helpers.runfolders import make_run

    runs = tmp_path / "runs"
    folder = make_run(runs, "20240101-120000-mnist-seed")
    (folder / "metrics.jsonl").unlink()
    os.mkfifo(folder / "metrics.jsonl")
    os.mkfifo(folder / "status.json.tmp")
    proc, master = launch_on_pty([DAE_TUI, "--runs-dir", str(runs)])
    try:
        assert b"Start" in read_for(master, 3.0)
        os.write(master, tab)
        read_for(master, 2.0)
        os.write(master, b"q")
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            read_for(master, 0.2)
        assert proc.poll() == 0, "the dashboard did not leave on q"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_a_screenshot_on_a_full_disk_leaves_no_file_and_says_so_in_one_line(tmp_path):
    """The palette's Screenshot in the real app with a file-size limit (RLIMIT_FSIZE, in the child
    only) below an SVG's size: no 0-byte or cut SVG is left, and the toast says what happened."""
    script = (
        "import asyncio, sys\n"
        "from dae_tui.ui import DaeApp\n"
        "async def main():\n"
        "    app = DaeApp(runs_dir=sys.argv[1])\n"
        "    async with app.run_test(size=(80, 24)) as pilot:\n"
        "        await pilot.pause()\n"
        "        returned = app.deliver_screenshot(path=sys.argv[1])\n"
        "        await pilot.pause(0.2)\n"
        "        print(returned)\n"
        "        print([n.message for n in app._notifications])\n"
        "asyncio.run(main())\n"
    )
    folder = tmp_path / "shots"
    folder.mkdir()

    def small_files() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, resource.RLIM_INFINITY))

    proc = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, preexec_fn=small_files, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    returned, messages = proc.stdout.splitlines()[-2:]
    assert returned == "None" and "disk full while saving the screenshot dae-tui-" in messages
    assert "nothing was saved" in messages and list(folder.iterdir()) == []


def test_eval_denoise_and_sweep_print_a_hostile_name_with_its_controls_visible(tmp_path):
    # The name of a run folder is the user's, and a hostile one's ESC would reach the terminal raw
    # in every line that echoes it: eval's header, denoise's "wrote" line, a sweep's study line.
    import subprocess
    import sys

    from dae_tui.cli import main

    runs = tmp_path / "runs"
    assert (
        main(
            [
                "train",
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
                "--runs-dir",
                str(runs),
            ]
        )
        == 0
    )
    (run,) = runs.iterdir()
    hostile = run.rename(runs / "\x1b]0;pwned\x07run\x1b[2J")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "dae_tui", *args], capture_output=True, timeout=240)

    done = cli("eval", str(hostile), "--factors", "0.5")
    assert done.returncode == 0 and b"pwned" in done.stderr, done.stderr
    assert b"\x1b" not in done.stderr and b"\x07" not in done.stderr, done.stderr
    picture = tmp_path / "digit.png"
    from PIL import Image

    Image.new("L", (28, 28), 0).save(picture)
    done = cli("denoise", str(hostile), str(picture), "-o", str(tmp_path / "out\x1b[31m.png"))
    assert done.returncode == 0 and b"wrote" in done.stderr and b"\x1b" not in done.stderr, done.stderr
    done = cli("sweep", "--status", "--study", "s\x1b[2Jx", "--runs-dir", str(runs))
    assert b"\x1b" not in done.stderr and b"\x1b" not in done.stdout, done.stderr
