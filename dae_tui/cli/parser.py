"""The `dae-tui` command: the dashboard by default, `dae-tui train` for a headless run,
`dae-tui runs` to list the run folders, `dae-tui eval RUN` for a run's robustness curve,
`dae-tui denoise RUN INPUT` for a picture of your own, `dae-tui serve` for the dashboard in a
web browser.

The first two take the same flags, one per `TrainConfig` field (from `FIELD_SPECS`), parsed and
judged by `config_from_strings`, the very code the dashboard's form uses.

Exit codes (`invocation`): 0 done, 1 the run failed, 2 bad usage, config or runs folder (one line
on stderr, nothing on stdout), 128 + the signal's number when a signal stopped the run (130 Ctrl-C,
143 SIGTERM, 129 SIGHUP, 141 a closed stdout); the last finished epoch's checkpoint is kept.

Imports neither torch nor textual at module level: the dashboard must draw its first frame before
torch loads.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from dae_tui import __version__
from dae_tui.cli.invocation import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_STOPPED,
    EXIT_USAGE,
    HANGUP_CHOICES,
    HANGUP_ENV,
    Invocation,
    ServeRequest,
    SweepRequest,
)
from dae_tui.core.config import (
    FIELD_SPECS,
    NOISE_KINDS,
    SOURCES,
    TrainConfig,
    clip,
    config_from_strings,
    format_number,
)
from dae_tui.core.errors import DaeError
from dae_tui.core.formatting import printable

# The exit codes and Invocation live in the leaf `invocation` module; named here too, as before.
__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_STOPPED",
    "EXIT_USAGE",
    "Invocation",
    "build_parser",
    "main",
    "parse_invocation",
]


class UsageError(DaeError):
    """Bad command-line usage; the message is one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors become one-line `UsageError`s instead of usage dumps and exits."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def format_help(self) -> str:
        if STATUS_LIST in (self.description or ""):
            # Read from the run store's own list, so the help names every status there is; imported
            # only for the help, as importing it would slow every command and the first frame
            # (benchmarks/NOTES.md).
            from dae_tui.runs.info import STATUSES

            self.description = (self.description or "").replace(STATUS_LIST, ", ".join(STATUSES))
        return super().format_help()


STATUS_LIST = "<statuses>"
"""Where a description names every run status (`runs --help`), filled in when help is shown."""


def _help(name: str) -> str:
    spec = FIELD_SPECS[name]
    default = getattr(TrainConfig(), name)
    shown = "none" if default is None else str(default).lower() if isinstance(default, bool) else default
    if name == "noise_factor":
        kinds = "; ".join(
            f"{kind}: {facts.factor}, {facts.allowed()}, default {format_number(facts.default)}"
            for kind, facts in NOISE_KINDS.items()
        )
        return f"{spec.label}, by noise kind ({kinds})".replace("%", "%%")
    return f"{spec.label}: {spec.allowed()} (default {shown})".replace("%", "%%")


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training config")
    for name, spec in FIELD_SPECS.items():
        if spec.kind == "bool":
            group.add_argument(spec.flag, dest=name, action="store_const", const="true", help=_help(name))
            group.add_argument(
                "--no-" + spec.flag[2:],
                dest=name,
                action="store_const",
                const="false",
                help=f"turn {spec.flag} off",
            )
        else:
            metavar = "{" + ",".join(spec.choices) + "}" if spec.kind == "choice" else "N"
            if spec.kind == "path":
                metavar = "DIR"
            group.add_argument(spec.flag, dest=name, metavar=metavar, help=_help(name))
    runs = parser.add_argument_group("run folders")
    runs.add_argument("--runs-dir", metavar="DIR", help="where run folders go (default: the user data dir)")
    runs.add_argument("--resume", metavar="PATH", help="continue the run in this folder (or checkpoint file)")
    runs.add_argument(
        "--on-hangup",
        metavar="{continue,stop}",
        help="when the terminal hangs up (SSH dropped) mid-run: continue training in the "
        f"background or stop (default: ${HANGUP_ENV} if set, else continue)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full parser: `dae-tui [flags]`, `dae-tui train [flags] [--json]` and `dae-tui runs`."""
    from dae_tui.cli.eval import MAX_FACTORS

    sources = "; ".join(f"{k}: {v}" for k, v in SOURCES.items())
    parser = _Parser(
        prog="dae-tui",
        description="Train and inspect denoising autoencoders. With no command, opens the dashboard "
        "with its form filled from the flags.",
        epilog=f"Data sources: {sources}.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("--version", action="version", version=f"dae-tui {__version__}")
    _add_config_flags(parser)
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="the sweep storage the Sweep tab shows (default: sqlite in the runs dir; see dae-tui sweep)",
    )
    parser.add_argument(
        "--attach",
        metavar="RUN",
        help="open the dashboard on a run training in another "
        "process here (a run folder): watch it live, p pauses, x stops it",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    train = sub.add_parser(
        "train",
        help="train headless: progress on stderr, results in the run folder",
        description="Train without the dashboard. Progress goes to stderr; with --json, stdout "
        "carries one JSON object per epoch and nothing else.",
        argument_default=argparse.SUPPRESS,
    )
    _add_config_flags(train)
    train.add_argument("--json", action="store_true", help="one JSON object per epoch on stdout")
    train.add_argument("--take-over", metavar="PID", help=argparse.SUPPRESS)  # a dashboard's hand-over
    runs = sub.add_parser(
        "runs",
        help="list the runs in the runs folder, newest first",
        description=f"List the run folders, newest first: status ({STATUS_LIST}), dataset, model, noise, "
        "epochs, best and last test PSNR, seconds per epoch. --json adds the last test SSIM, the config "
        "and more (the README lists every key).",
        argument_default=argparse.SUPPRESS,
    )
    runs.add_argument("--runs-dir", metavar="DIR", help="the runs folder (default: the user data dir)")
    output = runs.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object per run on stdout")
    output.add_argument(
        "--csv",
        action="store_true",
        help="every epoch of every run as CSV: run, epoch, figures, then every config field",
    )
    runs.add_argument(
        "--compare",
        nargs="+",
        metavar="RUN",
        help="these runs side by side (folder names in the runs folder, or paths): best and last test "
        "PSNR, SSIM and MSE with their epochs, img/s, time, parameters and the settings that differ; "
        "with --csv one CSV row a run, with --json each run's JSON object as without --compare",
    )
    evaluate = sub.add_parser(
        "eval",
        help="a run's model at a range of noise strengths: its robustness curve",
        description="The model of RUN on the run's own held-out test set at each noise factor, with "
        "noise from a fixed seed (repeatable): the noisy input's and the model's PSNR, SSIM and MSE. "
        "The table goes to stderr; with --json, one JSON object per factor goes to stdout.",
        argument_default=argparse.SUPPRESS,
    )
    evaluate.add_argument("target", metavar="RUN", help="a run folder (or its checkpoint.pt)")
    evaluate.add_argument(
        "--noise",
        metavar="{" + ",".join(NOISE_KINDS) + "}",
        help="the noise kind (default: the one the run trained with)",
    )
    evaluate.add_argument(
        "--factors",
        metavar="LIST",
        help=f"comma-separated factors, at most {MAX_FACTORS} (default: 0 to the kind's largest in "
        "11 steps, plus the one the run trained at)",
    )
    evaluate.add_argument("--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    evaluate.add_argument("--json", action="store_true", help="one JSON object per factor on stdout")
    denoise = sub.add_parser(
        "denoise",
        help="a run's model on a picture of your own, written as a PNG",
        description="Fit INPUT (any size, grayscale or colour) to 28x28 as the training images are "
        "(grayscale, light on dark, cropped, scaled, centred), optionally add the run's kind of noise, "
        "and write the denoised picture as a PNG.",
        argument_default=argparse.SUPPRESS,
    )
    denoise.add_argument("target", metavar="RUN", help="a run folder (or its checkpoint.pt)")
    denoise.add_argument("picture", metavar="INPUT", help="a picture file Pillow reads (PNG, JPEG, ...)")
    denoise.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT.png",
        help="where to write it (default: INPUT's folder, <name>-denoised.png); never the "
        "input itself nor inside a run folder",
    )
    denoise.add_argument("--force", action="store_true", help="replace OUTPUT if it exists (refused without it)")
    denoise.add_argument(
        "--noise-factor",
        dest="picture_noise",
        metavar="F",
        help="add the run's kind of noise at this factor first (fixed seed)",
    )
    denoise.add_argument("--side-by-side", action="store_true", help="input, noisy and denoised in one PNG")
    denoise.add_argument("--scale", metavar="N", help="draw each pixel N x N (1 to 32; default 4)")
    denoise.add_argument("--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    sweep = sub.add_parser(
        "sweep",
        help="search hyperparameters with Optuna: trials are ordinary runs",
        description="Search settings with Optuna: each trial is a run folder; the train flags fix what "
        "every trial shares, --space names what is searched. SQLite in the runs folder by default (one "
        "machine); the same command with a PostgreSQL --storage on several machines shares one study.",
        argument_default=argparse.SUPPRESS,
    )
    _add_config_flags(sweep)
    sweep.add_argument("--study", metavar="NAME", help="the study (default: named after the fixed settings)")
    sweep.add_argument(
        "--storage",
        metavar="URL",
        help="sqlite:///PATH or postgresql://USER@HOST/DB, the password in PGPASSWORD or ~/.pgpass "
        "(default: sqlite in the runs dir)",
    )
    sweep.add_argument("--trials", metavar="N", help="trials in the study in all, every process counted (default 20)")
    sweep.add_argument("--jobs", metavar="J", help="trial processes on this machine (default 1)")
    sweep.add_argument(
        "--gpus",
        metavar="LIST",
        help="with --jobs: the GPUs the jobs share, e.g. 0,2 (job i gets "
        "GPU i mod N; default: every GPU, or those CUDA_VISIBLE_DEVICES lists)",
    )
    sweep.add_argument(
        "--pack",
        metavar="K",
        help="train K trials of one structure at once as one stacked model, each still its own run "
        "and trial (default 1)",
    )
    sweep.add_argument(
        "--space", metavar="FILE", help="TOML file of searched settings (default: lr, batch size, weight decay)"
    )
    sweep.add_argument("--metric", metavar="{test_psnr,test_mse}", help="what the study optimises (default test_psnr)")
    sweep.add_argument(
        "--prune",
        dest="prune",
        action="store_const",
        const=True,
        help="stop poor trials early (median pruner; the default)",
    )
    sweep.add_argument("--no-prune", dest="prune", action="store_const", const=False, help="never prune")
    sweep.add_argument("--status", action="store_true", help="show the study's trials, the best, importance")
    sweep.add_argument("--json", action="store_true", help="with --status: one JSON object")
    sweep.add_argument("--heartbeat", metavar="S", help="seconds between a trial's heartbeats (default 10)")
    sweep.add_argument("--worker", metavar="I", help=argparse.SUPPRESS)
    serve = sub.add_parser(
        "serve",
        help="the dashboard in a web browser: a dashboard of its own for each tab",
        description="Serve the dashboard to web browsers through textual-serve: each tab runs its own "
        "dashboard, with the flags given here. Loopback only unless --allow-remote: from another machine, "
        "forward the port with ssh -L. Anyone who reaches the port controls the runs.",
        argument_default=argparse.SUPPRESS,
    )
    _add_config_flags(serve)
    serve.add_argument(
        "--storage",
        metavar="URL",
        help="the sweep storage the Sweep tab shows (default: sqlite in the runs dir; see dae-tui sweep)",
    )
    serve.add_argument(
        "--host",
        metavar="ADDR",
        help="the address to listen on (default 127.0.0.1); other than "
        "127.0.0.1, ::1 or localhost only with --allow-remote",
    )
    serve.add_argument("--port", metavar="N", help="the TCP port to listen on (default 8000)")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --host be an address other machines reach (warned about on every start)",
    )
    return parser


def _dashboard_flags(parser: argparse.ArgumentParser, args: dict[str, Any]) -> tuple[str, ...]:
    """The global flags in `args` (the config flags, --runs-dir, --storage, ...: what `dae-tui
    [flags]` takes, given before or after `serve`), written out again for the dashboard each
    browser tab runs. `--flag=value`, so that a value starting with '-' stays a value."""
    words: list[str] = []
    for action in parser._actions:  # the top level's own flags: the dashboard's
        if not action.option_strings or action.dest not in args:
            continue
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:  # --clamp and --no-clamp share a dest: the one whose constant it holds
            if action.const == args[action.dest]:
                words.append(flag)
        else:
            words.append(f"{flag}={args[action.dest]}")
    return tuple(words)


def _serve_request(parser: argparse.ArgumentParser, args: dict[str, Any]) -> ServeRequest:
    host = args.get("host", "127.0.0.1").strip()
    if not host:
        raise UsageError("--host needs an address (got an empty string)")
    return ServeRequest(
        host=host,
        port=_whole(args, "port", 8000, 1, 65535),
        allow_remote=bool(args.get("allow_remote", False)),
        dashboard_flags=_dashboard_flags(parser, args),
    )


def _whole(args: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    text = str(args.get(name, default))
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise UsageError(f"--{name} must be a whole number from {low} to {high} (got {clip(text)!r})")
    return int(text)


def _sweep_request(args: dict[str, Any]) -> SweepRequest:
    if "resume" in args:
        raise UsageError("--resume does not go with sweep: resume a trial's run folder with dae-tui train --resume")
    metric = args.get("metric", "test_psnr")
    if metric not in ("test_psnr", "test_mse"):
        raise UsageError(f"--metric must be test_psnr or test_mse (got {clip(metric)!r})")
    for flag in ("study", "storage", "space"):
        if flag in args and not args[flag].strip():
            raise UsageError(f"--{flag} needs a value (got an empty string)")
    from dae_tui.system.gpus import parse_gpus

    return SweepRequest(
        gpus=parse_gpus(args["gpus"]) if "gpus" in args else None,
        study=args.get("study"),
        storage=args.get("storage"),
        trials=_whole(args, "trials", 20, 1, 100_000),
        jobs=_whole(args, "jobs", 1, 1, 64),
        pack=_whole(args, "pack", 1, 1, 64),
        space=args.get("space"),
        metric=metric,
        prune=args.get("prune", True),
        status=bool(args.get("status", False)),
        heartbeat=_whole(args, "heartbeat", 10, 1, 3600),
        worker=_whole(args, "worker", 0, 0, 64),
    )


def _check_factor_count(text: str) -> None:
    """An empty `--factors=` (an unset shell variable) must not quietly run the default curve, and
    a list past the cap is refused before torch loads, not hours into the curve."""
    from dae_tui.cli.eval import MAX_FACTORS

    if not text.strip():
        raise UsageError(
            "--factors needs comma-separated numbers (got an empty string; leave it out for the default curve)"
        )
    count = text.count(",") + 1
    if count > MAX_FACTORS:
        raise UsageError(f"--factors takes at most {MAX_FACTORS} factors (got {count:,})")


def parse_invocation(argv: Sequence[str]) -> Invocation:
    """Parse argv; raises `UsageError` or `ConfigError` with a one-line message."""
    parser = build_parser()
    args = vars(parser.parse_args(list(argv)))
    for flag in ("runs_dir", "resume"):
        if flag in args and not args[flag].strip():
            # An empty value (an unset shell variable) must not quietly mean "the default".
            raise UsageError(f"--{flag.replace('_', '-')} needs a folder (got an empty string)")
    texts = {name: args[name] for name in FIELD_SPECS if name in args}
    config = config_from_strings(texts)
    given = {name: getattr(config, name) for name in texts}
    evaluating = args.get("command") in ("eval", "denoise")  # --noise, --device: judged as config fields
    picture_noise, scale = None, 4
    if args.get("command") == "denoise":
        try:
            picture_noise = float(args["picture_noise"]) if "picture_noise" in args else None
            if picture_noise is not None and not picture_noise == picture_noise:  # NaN
                raise ValueError
        except ValueError:
            raise UsageError(f"--noise-factor must be a number (got {clip(args['picture_noise'])!r})") from None
        scale = _whole(args, "scale", 4, 1, 32)
    if args.get("command") == "eval" and "factors" in args:
        _check_factor_count(args["factors"])
    sweep = _sweep_request(args) if args.get("command") == "sweep" else None
    serve = _serve_request(parser, args) if args.get("command") == "serve" else None
    on_hangup = args.get("on_hangup") or os.environ.get(HANGUP_ENV, "").strip() or "continue"
    if on_hangup not in HANGUP_CHOICES and "on_hangup" not in args and args.get("command") not in (None, "train"):
        on_hangup = "continue"  # the variable is for runs: listing them or a picture never trips on it
    if on_hangup not in HANGUP_CHOICES:
        where = "--on-hangup" if "on_hangup" in args else f"${HANGUP_ENV}"
        raise UsageError(f"{where} must be one of {', '.join(HANGUP_CHOICES)} (got {clip(on_hangup)!r})")
    take_over = None
    if "take_over" in args:
        take_over = _whole(args, "take_over", 0, 1, 2**31)
        if "resume" not in args:
            raise UsageError("--take-over needs --resume RUN")
    if "attach" in args and (not args["attach"].strip() or "resume" in args):
        raise UsageError(
            "--attach needs a run folder"
            if not args["attach"].strip()
            else "--attach and --resume do not go together: attach watches a run training elsewhere"
        )
    return Invocation(
        on_hangup=on_hangup,
        take_over=take_over,
        attach=args.get("attach") if not args.get("command") else None,
        sweep=sweep,
        serve=serve,
        storage=args.get("storage") if not args.get("command") else None,
        command=args.get("command") or "app",
        config=config,
        given=given,
        runs_dir=args.get("runs_dir"),
        resume=args.get("resume"),
        json=bool(args.get("json", False)),
        csv=bool(args.get("csv", False)),
        compare=tuple(args.get("compare", ())),
        target=args.get("target"),
        noise=config.noise if evaluating and "noise" in texts else None,
        factors=args.get("factors"),
        device=config.device if evaluating else "auto",
        picture=args.get("picture"),
        output=args.get("output"),
        noise_factor=picture_noise,
        side_by_side=bool(args.get("side_by_side", False)),
        scale=scale,
        force=bool(args.get("force", False)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dae-tui` console script."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C before a run has started (while torch loads, say): nothing to keep, no traceback.
        print("dae-tui: interrupted", file=sys.stderr)
        return EXIT_STOPPED


def _main(argv: Sequence[str]) -> int:
    named = [word for word in argv if word in ("train", "runs", "eval", "denoise", "sweep", "serve")]
    command = f"dae-tui {named[0]}" if named else "dae-tui"
    try:
        invocation = parse_invocation(argv)
    except DaeError as err:  # a UsageError or a ConfigError: what parse_invocation raises, both exit 2
        print(f"{command}: error: {printable(str(err))}", file=sys.stderr)
        return EXIT_USAGE
    if invocation.command == "runs":
        from dae_tui.cli.runs import run_listing

        return run_listing(invocation)
    if invocation.command == "eval":
        from dae_tui.cli.eval import run_eval

        return run_eval(invocation)
    if invocation.command == "denoise":
        from dae_tui.cli.denoise import run_denoise

        return run_denoise(invocation)
    read_only = None
    if not invocation.resume:
        # Judged before torch loads (seconds): a runs folder that cannot take a run is one line now.
        from dae_tui.runs.files import browse_only_reason, check_runs_dir

        problem = check_runs_dir(invocation.runs_dir)
        if problem and invocation.command in ("app", "serve"):
            # The dashboard can still show what is there: it starts for browsing only (each
            # browser tab's dashboard judges it again, and says so).
            read_only = browse_only_reason(invocation.runs_dir, problem)
        if problem and read_only is None:
            print(f"{command}: error: {printable(problem)}", file=sys.stderr)
            return EXIT_USAGE
    if invocation.command == "serve":
        from dae_tui.cli.serve import run_serve

        return run_serve(invocation)
    if invocation.command == "sweep":
        from dae_tui.cli.sweep import run_sweep

        return run_sweep(invocation, list(argv))
    if invocation.command == "train":
        from dae_tui.cli.train import run_headless

        return run_headless(invocation)
    from dae_tui.ui import run_app

    run_app(invocation, read_only=read_only)
