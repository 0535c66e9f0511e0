"""`dae-tui serve` before it serves: its flags, what it refuses (one line, exit 2), the command
each browser tab runs, and that no other command loads textual-serve. The server itself, its page,
its websocket and a browser: tests/e2e/test_serve.py."""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys

import pytest

from dae_tui import cli
from dae_tui.cli.invocation import ServeRequest
from dae_tui.cli.parser import parse_invocation
from dae_tui.cli.serve import host_problem, tab_command


def serve(capsys, *args):
    code = cli.main(["serve", *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org", "127.0.0.2"])
def test_a_host_past_loopback_needs_allow_remote(capsys, tmp_path, host):
    code, out, err = serve(capsys, "--host", host, "--runs-dir", str(tmp_path))
    assert code == 2 and out == ""
    assert one_line(err) == (
        f"dae-tui serve: error: --host {host} is not loopback: anyone who reaches it would "
        "control the runs; pass --allow-remote to serve it anyway (or use ssh -L to 127.0.0.1)"
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "LocalHost"])
def test_loopback_hosts_need_nothing_more(host):
    assert host_problem(ServeRequest(host=host)) is None
    assert host_problem(ServeRequest(host="0.0.0.0", allow_remote=True)) is None


@pytest.mark.parametrize(
    "args, words",
    [
        (["--port", "0"], "--port must be a whole number from 1 to 65535 (got '0')"),
        (["--port", "70000"], "--port must be a whole number from 1 to 65535 (got '70000')"),
        (["--port", "http"], "--port must be a whole number from 1 to 65535 (got 'http')"),
        (["--host", " "], "--host needs an address (got an empty string)"),
        (["--host", "no-such-host.invalid", "--allow-remote"], "--host no-such-host.invalid: not an address or name"),
        (["--lr", "5"], "--lr must be a number above 0 to 1"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(capsys, tmp_path, args, words):
    code, out, err = serve(capsys, *args, "--runs-dir", str(tmp_path))
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith("dae-tui serve: error: ") and words in line


def test_a_busy_port_is_one_line_and_exit_2(capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = serve(capsys, "--port", str(port), "--runs-dir", str(tmp_path))
    assert code == 2 and out == ""
    assert one_line(err) == (
        f"dae-tui serve: error: port {port} on 127.0.0.1 is in use (another dae-tui serve?); pick another with --port"
    )


def test_a_runs_folder_no_dashboard_could_open_is_refused_before_serving(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, out, err = serve(capsys, "--runs-dir", str(blocker))
    assert code == 2 and out == ""
    assert one_line(err) == f"dae-tui serve: error: --runs-dir {blocker}: not a folder"


def test_resume_is_judged_once_before_serving(capsys, tmp_path):
    code, out, err = serve(capsys, "--resume", str(tmp_path / "nothing"), "--runs-dir", str(tmp_path))
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith("dae-tui serve: error: --resume ") and "no checkpoint there" in line


def test_each_tab_runs_the_dashboard_with_the_global_flags_given(tmp_path):
    argv = [
        "--dataset",
        "mnist",
        "--storage",
        "sqlite:///s.db",
        "serve",
        "--no-clamp",
        "--lr",
        "2e-3",
        "--runs-dir",
        str(tmp_path / "my runs"),
        "--port",
        "9000",
        "--host",
        "localhost",
        "--train-limit",
        "500",
    ]
    invocation = parse_invocation(argv)
    request = invocation.serve
    assert request is not None and (request.host, request.port, request.allow_remote) == ("localhost", 9000, False)
    assert sorted(request.dashboard_flags) == sorted(
        [
            "--dataset=mnist",
            "--storage=sqlite:///s.db",
            "--no-clamp",
            "--lr=2e-3",
            f"--runs-dir={tmp_path / 'my runs'}",
            "--train-limit=500",
        ]
    )
    words = shlex.split(tab_command(request))
    assert words[:4] == ["exec", sys.executable, "-m", "dae_tui"]
    # The tab's own command line parses to the same dashboard: no serve flag, nothing lost.
    tab = parse_invocation(words[4:])
    assert tab.command == "app" and tab.serve is None
    assert (tab.config, tab.runs_dir, tab.storage) == (invocation.config, invocation.runs_dir, "sqlite:///s.db")
    assert tab.given == invocation.given


def test_a_value_starting_with_a_dash_stays_a_value(tmp_path):
    odd = tmp_path / "-runs"
    request = parse_invocation(["serve", f"--runs-dir={odd}"]).serve
    assert request is not None
    assert parse_invocation(shlex.split(tab_command(request))[4:]).runs_dir == str(odd)


def test_help_lists_the_flags_one_line_each(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["serve", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--host ADDR",
        "--port N",
        "--allow-remote",
        "--runs-dir DIR",
        "--storage URL",
        "--dataset",
        "--epochs N",
    ):
        assert flag in text
    assert "ssh -L" in text and "Anyone who reaches the port controls the runs" in " ".join(text.split())
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "serve" in capsys.readouterr().out  # listed among the commands


@pytest.mark.slow
def test_only_serve_loads_textual_serve(tmp_path):
    code = (
        "import sys; from dae_tui.cli import main\n"
        "for argv in (['--help'], ['serve', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        f"main(['runs', '--runs-dir', {str(tmp_path)!r}])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual_serve', 'aiohttp', 'aiohttp_jinja2'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr
