"""A parsed `dae-tui` command line and the exit codes: what the CLI hands to each front end.

`cli.parser` builds an `Invocation`; `cli.train` (`dae-tui train`), `cli.runs` (`dae-tui runs`),
the other commands and `dae_tui.ui` (the dashboard) take one. Keeping it in this leaf module means
none of them imports `cli.parser`, so there is no import cycle between the command line and the
front ends it starts.

Imports only `dae_tui.core.config` and the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

from dae_tui.core.config import ConfigError, TrainConfig

__all__ = [
    "COMMANDS",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_SIGNAL_BASE",
    "EXIT_STOPPED",
    "EXIT_USAGE",
    "HANGUP_CHOICES",
    "HANGUP_ENV",
    "Invocation",
    "report",
    "signal_exit",
]

HANGUP_CHOICES = ("continue", "stop")
"""What the terminal's hang-up (SIGHUP: an SSH session dropped) does to a run: keep it training
in the background, or stop it (its last checkpoint kept)."""

HANGUP_ENV = "DAE_TUI_ON_HANGUP"
"""The environment variable that sets `--on-hangup` for every run started where it is set."""

EXIT_OK = 0
"""Done: the run finished, or the listing was printed."""

EXIT_FAILED = 1
"""The run failed (one line on stderr; the run folder is kept)."""

EXIT_USAGE = 2
"""Bad usage, config or runs folder: one line on stderr, nothing on stdout."""

EXIT_STOPPED = 130
"""Stopped by Ctrl-C; the last finished epoch's checkpoint is kept."""

EXIT_SIGNAL_BASE = 128
"""Stopped by a signal: 128 + its number, as shells report it (SIGHUP 129, SIGINT 130, SIGPIPE
141 for a closed stdout, SIGTERM 143); the last finished epoch's checkpoint is kept."""


def report(command: str, error: Exception, err: TextIO) -> int:
    """`error` as the one line `dae-tui COMMAND` prints for it, and its exit code: a `ConfigError`
    is a bad request (2, "error"); anything else (data that cannot be read) a failure (1)."""
    from dae_tui.core.formatting import printable  # errors echo paths and names: no raw control byte out

    usage = isinstance(error, ConfigError)
    print(f"dae-tui {command}: {'error' if usage else 'failed'}: {printable(str(error))}", file=err)
    return EXIT_USAGE if usage else EXIT_FAILED


def signal_exit(signum: int) -> int:
    """The exit code of a run stopped by signal `signum`."""
    return EXIT_SIGNAL_BASE + int(signum)


COMMANDS: tuple[str, ...] = ("app", "train", "runs", "eval", "denoise", "sweep", "serve")
"""What an invocation can ask for: the dashboard, a headless run, the list of runs, a run's
robustness curve, a picture denoised by a run's model, a hyperparameter sweep, or the dashboard
served to a browser."""


@dataclass(frozen=True)
class Invocation:
    """A parsed command line."""

    command: str
    """One of `COMMANDS`: 'app' (no sub-command), 'train', 'runs', 'eval' or 'denoise'."""

    config: TrainConfig
    """The config the flags describe (defaults for what was not given)."""

    given: dict[str, Any]
    """Config fields given explicitly on the command line (used as overrides on --resume)."""

    runs_dir: str | None = None
    """`--runs-dir`: where run folders go (and where `runs` looks); None: the default."""

    resume: str | None = None
    """`--resume`: the run folder or checkpoint to continue; None: a new run."""

    json: bool = False
    """`--json`: one JSON object a line on stdout (per epoch for `train`, per run for `runs`)."""

    csv: bool = False
    """`runs --csv`: every epoch of every run as CSV rows on stdout."""

    compare: tuple[str, ...] = ()
    """`runs --compare RUN ...`: the runs (folder names or paths) whose numbers go side by side."""

    target: str | None = None
    """`eval RUN`: the run folder (or checkpoint) to evaluate."""

    noise: str | None = None
    """`eval --noise KIND`: the noise kind of the curve; None: the run's own."""

    factors: str | None = None
    """`eval --factors LIST`: comma-separated noise factors; None: the kind's default grid."""

    device: str = "auto"
    """`eval` / `denoise --device`: where the model runs."""

    picture: str | None = None
    """`denoise RUN INPUT`: the picture file."""

    output: str | None = None
    """`denoise -o`: where the PNG goes; None: next to the input, `<name>-denoised.png`."""

    noise_factor: float | None = None
    """`denoise --noise-factor`: noise of the run's kind added first; None: none."""

    side_by_side: bool = False
    """`denoise --side-by-side`: input, noisy and denoised in one PNG."""

    scale: int = 4
    """`denoise --scale`: each pixel drawn scale x scale."""

    force: bool = False
    """`denoise --force`: replace an existing output file (never the input, never in a run folder)."""

    sweep: SweepRequest | None = None
    """`sweep`: what to search and where."""

    serve: ServeRequest | None = None
    """`serve`: where to listen, and the flags each browser tab's dashboard gets."""

    storage: str | None = None
    """The dashboard's `--storage`: the sweep storage its Sweep tab shows; None: SQLite in the runs dir."""

    on_hangup: str = "continue"
    """`--on-hangup` (or $DAE_TUI_ON_HANGUP): what SIGHUP does to a run, one of `HANGUP_CHOICES`."""

    take_over: int | None = None
    """`train --take-over PID` (hidden): continue the run a dashboard (process PID) hands over,
    taking its folder as soon as that process lets it go."""

    attach: str | None = None
    """The dashboard's `--attach RUN`: open on a run training in another process, live."""


@dataclass(frozen=True)
class SweepRequest:
    """`dae-tui sweep`'s own flags (the train flags fix the settings every trial shares)."""

    study: str | None = None
    """`--study`: the study's name; None: one derived from the fixed settings and the space."""
    storage: str | None = None
    """`--storage`: an Optuna storage URL; None: SQLite in the runs folder."""
    trials: int = 20
    """`--trials`: trials the study ends with, across every process and machine."""
    jobs: int = 1
    """`--jobs`: trial processes on this machine."""
    space: str | None = None
    """`--space`: a TOML file of searched settings; None: lr, batch size and weight decay."""
    metric: str = "test_psnr"
    """`--metric`: test_psnr (maximised) or test_mse (minimised), reported every epoch."""
    prune: bool = True
    """`--prune` / `--no-prune`: the median pruner stops poor trials early."""
    status: bool = False
    """`--status`: show the study instead of sweeping."""
    heartbeat: int = 10
    """`--heartbeat`: seconds between a trial's heartbeats (3 missed: failed)."""
    worker: int = 0
    """Which of --jobs processes this is (0: the one you started); seeds its sampler apart."""
    gpus: tuple[int, ...] | None = None
    """`--gpus`: the GPUs (NVML's numbers) the jobs share, job i on GPU i mod N; None: every GPU
    (or those CUDA_VISIBLE_DEVICES lists)."""
    pack: int = 1
    """`--pack`: trials each process trains at once as one stacked model (those of one structure;
    1: one trial at a time). Each job of `--jobs` packs its own."""


@dataclass(frozen=True)
class ServeRequest:
    """`dae-tui serve`'s own flags, and the dashboard's that every browser tab runs with."""

    host: str = "127.0.0.1"
    """`--host`: the address to listen on; loopback unless `allow_remote`."""
    port: int = 8000
    """`--port`: the TCP port."""
    allow_remote: bool = False
    """`--allow-remote`: a `host` other than loopback is allowed (and warned about on every start)."""
    dashboard_flags: tuple[str, ...] = ()
    """The global flags given (config flags, --runs-dir, --storage, ...), as `--flag=value` words."""
