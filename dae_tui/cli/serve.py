"""`dae-tui serve`: the dashboard in a web browser, through Textual's own textual-serve.

    dae-tui serve                                # http://127.0.0.1:8000/, this machine only
    dae-tui serve --port 8080 --runs-dir ~/runs  # the dashboard's flags, for every tab
    ssh -L 8000:127.0.0.1:8000 user@host         # on your own machine; then open http://127.0.0.1:8000/

Every browser tab gets a dashboard of its own: the ordinary `dae-tui` with the global flags given
here (the config flags, --runs-dir, --storage, ...), run by textual-serve under Textual's web
driver, its screen and keys carried to the page over a websocket. A closed tab is a dashboard that
left. The page is built for the address the browser used, so a tunnel to another local port works.

Anyone who reaches the port controls the runs (start, stop, delete), so it listens on loopback
only: a --host other than 127.0.0.1, ::1 or localhost is refused (exit 2) unless --allow-remote is
given, and then every start warns on stderr. The websocket refuses a page from another origin (a
web site open in the same browser must not drive the dashboard) and, on loopback, a Host header
that names no loopback address (DNS rebinding).

What it prints goes to stderr: the URL and the ssh hint, then textual-serve's log of each request.
Exit 2 for a bad --host or --port, a port it cannot have (in use, privileged) or a runs folder the
dashboard could not open (one line); 128 + the signal once stopped (130 Ctrl-C, 143 SIGTERM, 129
SIGHUP), after every tab's dashboard has been asked to leave and has left (a second signal leaves at
once; the dashboards then leave by themselves, their input gone: `dae_tui.ui.web`).

textual-serve (and aiohttp under it) is imported only inside `run_serve`: no other command pays for
it, and neither does the help.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shlex
import signal
import socket
import sys
from typing import Any, TextIO
from urllib.parse import urlsplit

from dae_tui.cli.invocation import EXIT_OK, EXIT_USAGE, Invocation, ServeRequest, report, signal_exit
from dae_tui.core.errors import DaeError
from dae_tui.core.formatting import printable

__all__ = ["LOOPBACK_HOSTS", "TAB_EXIT_WAIT_S", "host_problem", "run_serve", "tab_command"]

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
"""The --host values served without --allow-remote: reachable from this machine only."""

TAB_EXIT_WAIT_S = 15.0
"""How long stopping waits for the tabs' dashboards to leave: a run training in one first reaches
the end of its batch (at most 10 s, `dae_tui.ui.TRAINER_EXIT_WAIT_S`)."""

STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _bare(host: str) -> str:
    """`host` without the brackets an IPv6 address may come in ([::1])."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _is_loopback(host: str) -> bool:
    return _bare(host).lower() in LOOPBACK_HOSTS


def _in_url(host: str) -> str:
    """`host` as a URL or an `ssh -L` spec writes it: IPv6 in brackets."""
    host = _bare(host)
    return f"[{host}]" if ":" in host else host


def host_problem(request: ServeRequest) -> str | None:
    """Why `request` may not listen where it asks, in one line; None when it may."""
    if request.allow_remote or _is_loopback(request.host):
        return None
    return (
        f"--host {request.host} is not loopback: anyone who reaches it would control the runs; "
        f"pass --allow-remote to serve it anyway (or use ssh -L to 127.0.0.1)"
    )


def tab_command(request: ServeRequest) -> str:
    """The shell command textual-serve runs for each browser tab: this very dashboard, with the
    flags given. `exec`, so the process textual-serve watches is the dashboard, not a shell."""
    return "exec " + shlex.join([sys.executable, "-m", "dae_tui", *request.dashboard_flags])


def _port_problem(host: str, port: int, error: OSError) -> str:
    if isinstance(error, socket.gaierror):
        return f"--host {host}: not an address or name this machine knows ({error.strerror or error})"
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use (another dae-tui serve?); pick another with --port"
    if error.errno == errno.EACCES:
        return f"port {port} on {host}: permission denied (ports below 1024 need root); pick another with --port"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"--host {host} is not an address of this machine"
    return f"cannot listen on {host} port {port} ({error.strerror or error})"


def _check_port(host: str, port: int) -> None:
    """Bind every address `host` stands for, as aiohttp will, and let go: a busy port or a foreign
    address is one line now, before the URL is printed. Raises `OSError`."""
    for family, kind, proto, _, address in socket.getaddrinfo(
        _bare(host), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    ):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server does
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind(address)


def _check_resume(invocation: Invocation) -> None:
    """`--resume` judged once here, as the dashboard judges it, rather than in every tab (where it
    would only end the tab's session). Raises `ConfigError`."""
    if invocation.resume:
        from dae_tui.core.config import check_resume_overrides
        from dae_tui.ui.resume import ResumeInfo

        check_resume_overrides(ResumeInfo.read(invocation.resume).config, invocation.given)


def _say(line: str, err: TextIO) -> None:
    try:
        print(line, file=err, flush=True)
    except (OSError, ValueError):
        pass  # no terminal left to say it on (SIGHUP)


def run_serve(invocation: Invocation, err: TextIO | None = None) -> int:
    """Serve the dashboard per `invocation` until a signal stops it; return the exit code."""
    err = err or sys.stderr
    request = invocation.serve
    assert request is not None
    problem = host_problem(request)
    if problem:
        print(f"dae-tui serve: error: {printable(problem)}", file=err)
        return EXIT_USAGE
    try:
        _check_resume(invocation)
        _check_port(request.host, request.port)
    except DaeError as error:
        return report("serve", error, err)
    except OSError as error:
        print(f"dae-tui serve: error: {printable(_port_problem(request.host, request.port, error))}", file=err)
        return EXIT_USAGE
    server = _make_server(request, err)
    _greet(request, err)
    asyncio.set_event_loop(asyncio.new_event_loop())  # textual-serve asks for the current one
    try:
        server.serve()
    except OSError as error:  # taken between the check and now
        print(f"dae-tui serve: error: {printable(_port_problem(request.host, request.port, error))}", file=err)
        return EXIT_USAGE
    finally:
        asyncio.set_event_loop(None)
    stopped_by: int | None = server.stopped_by
    if stopped_by is None:
        return EXIT_OK
    _say(f"dae-tui serve: stopped by {signal.Signals(stopped_by).name}", err)
    return signal_exit(stopped_by)


def _greet(request: ServeRequest, err: TextIO) -> None:
    port = request.port
    wildcard = _bare(request.host) in ("0.0.0.0", "::")
    shown = socket.gethostname() if wildcard else request.host
    if not _is_loopback(request.host):
        _say(
            f"dae-tui serve: warning: listening on {request.host}, not loopback: anyone who reaches port {port} "
            "controls the dashboard and its runs (no password, no encryption)",
            err,
        )
    _say(
        f"dae-tui serve: the dashboard at http://{_in_url(shown)}:{port}/ (each browser tab gets its own; "
        "Ctrl-C stops)",
        err,
    )
    target = "127.0.0.1" if wildcard else _in_url(request.host)
    _say(
        f"dae-tui serve: from another machine: ssh -L {port}:{target}:{port} user@host, then open "
        f"http://127.0.0.1:{port}/ there",
        err,
    )


def _make_server(request: ServeRequest, err: TextIO) -> Any:
    """textual-serve's `Server`, made to fit: its log on stderr, the page's URLs from the address
    the browser used, foreign pages refused, the signal that stopped it kept, and every tab's
    dashboard asked to leave, and waited for, when it stops."""
    from aiohttp import web
    from aiohttp.web_runner import GracefulExit
    from rich.console import Console
    from textual_serve.server import Server

    class DashboardServer(Server):
        def __init__(self) -> None:
            super().__init__(tab_command(request), host=_bare(request.host), port=request.port, title="dae-tui")
            self.console = Console(file=err)
            self.stopped_by: int | None = None
            self.tabs: set[asyncio.Task[Any]] = set()

        def refusal(self, req: web.Request) -> str | None:
            """Why a request is not served: a Host that names no loopback address (DNS
            rebinding: another site's name pointed at 127.0.0.1) or a page of another origin."""
            host = urlsplit("//" + req.host).hostname or ""
            if not request.allow_remote and host not in LOOPBACK_HOSTS:
                return f"Host {req.host!r} is not a loopback address"
            origin = req.headers.get("Origin")
            if origin is not None and urlsplit(origin).netloc.lower() != req.host.lower():
                return f"a page from {origin} may not open this dashboard"
            return None

        async def handle_index(self, req: web.Request) -> web.StreamResponse:
            if refused := self.refusal(req):
                raise web.HTTPForbidden(text=f"dae-tui serve: {refused}\n")
            # The page names the websocket in full: build it for the address the browser used (a
            # tunnel to another local port, or --host 0.0.0.0), not the one listened on. The
            # handler reads it before its first await, so no other request sees it changed.
            self.public_url = f"{req.scheme}://{req.host}"
            response: web.StreamResponse = await super().handle_index(req)
            return response

        async def handle_websocket(self, req: web.Request) -> web.WebSocketResponse:
            if refused := self.refusal(req):
                raise web.HTTPForbidden(text=f"dae-tui serve: {refused}\n")
            task = asyncio.current_task()
            assert task is not None
            self.tabs.add(task)
            try:
                return await super().handle_websocket(req)
            finally:
                self.tabs.discard(task)

        async def on_startup(self, app: web.Application) -> None:
            # Instead of the banner: the URL is printed already. The signals, with their numbers.
            loop = asyncio.get_running_loop()
            for signum in STOP_SIGNALS:
                try:
                    loop.add_signal_handler(signum, self.stop, signum)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass

        def stop(self, signum: int) -> None:
            if self.stopped_by is not None:  # a second signal: now (each tab's dashboard leaves with its input)
                os._exit(signal_exit(self.stopped_by))
            self.stopped_by = signum
            name = signal.Signals(signum).name
            _say(f"dae-tui serve: {name}: closing every tab's dashboard ({name} again leaves at once)", err)
            raise GracefulExit()

        async def on_shutdown(self, app: web.Application) -> None:
            # Each tab's handler, cancelled, asks its dashboard to quit and waits for it to leave.
            tabs = list(self.tabs)
            for task in tabs:
                task.cancel()
            if tabs:
                await asyncio.wait(tabs, timeout=TAB_EXIT_WAIT_S)

    return DashboardServer()
