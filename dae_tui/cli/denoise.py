"""`dae-tui denoise RUN INPUT.png`: a run's model on a picture of your own.

    dae-tui denoise RUN photo.jpg                           # writes photo-denoised.png
    dae-tui denoise RUN digit.png -o out.png --noise-factor 0.5 --side-by-side

The picture (any size, grayscale or colour) is fitted to 28x28 as the training images are (see
`training.pictures`), noised with the run's own noise kind when `--noise-factor` is given (from
the fixed test seed: the same output every time), and denoised. The PNG is the denoised picture, or
with `--side-by-side` the fitted input, the noisy one and the denoised one in a row; each pixel is
drawn `--scale` x `--scale` (default 4) so it can be seen. Exit 2, one line, for a bad run
folder, a file that is not a picture, or a factor out of the kind's range.

The output never destroys anything: the input picture itself (however it is named: the same
path, a symlink, a hard link) and any path inside a run folder or a runs folder are refused, an
existing file only goes with `--force`, and the PNG is written to a temp file and renamed, so a
full disk leaves the old file whole (exit 1, one line).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from dae_tui.cli.invocation import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Invocation, report
from dae_tui.core.config import ConfigError, TrainConfig, format_number
from dae_tui.core.errors import DaeError
from dae_tui.core.formatting import printable
from dae_tui.runs.files import CHECKPOINT_NAME, CONFIG_NAME, METRICS_NAME, SaveError, atomic_write, default_runs_dir

__all__ = ["output_problem", "run_denoise"]

RUN_FILES = (CONFIG_NAME, METRICS_NAME, CHECKPOINT_NAME)
"""Any one of these makes a folder a run folder, even a half-made or damaged one."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # device and inode: symlinks and hard links alike
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _run_folder_at_or_above(folder: Path) -> Path | None:
    for where in (folder, *folder.parents):
        if any((where / name).exists() for name in RUN_FILES):
            return where
    return None


def _runs_folders(target: Path) -> list[Path]:
    """The runs folders the output must stay out of: the default one and the one holding the
    run being used (its parent; a checkpoint file's grandparent)."""
    run = target.parent if target.is_file() else target
    return [default_runs_dir(), run.parent]


def output_problem(source: Path, output: Path, target: Path, force: bool) -> str | None:
    """Why `output` must not be written, in one line; None when it may. Judged on the real
    paths (symlinks resolved, hard links by inode), before any model loads."""
    if output.exists() and _same_file(source, output):
        return f"-o {output} is the input picture {source}; name another file"
    if output.is_dir():
        return f"-o {output} is a folder; name a file (OUTPUT.png)"
    # A symlink to a file elsewhere is judged where it points, though the rename replaces the link.
    parent = Path(os.path.realpath(output)).parent
    if not parent.is_dir():
        return f"-o {output}: the folder {output.parent} does not exist"
    run = _run_folder_at_or_above(parent)
    if run is not None:
        return f"-o {output} is inside the run folder {run}, which it could damage; write it elsewhere"
    for runs in _runs_folders(target):
        if runs.is_dir() and _same_file(parent, runs):
            return f"-o {output} is in the runs folder {runs}; write it elsewhere"
    if output.exists() and not force:
        return f"-o {output} exists; --force replaces it"
    return None


def _new_file_mode(output: Path) -> int:
    """The mode the PNG gets: an existing file's own, else what the umask allows (the temp file
    `atomic_write` makes is private, 0600)."""
    try:
        return output.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def run_denoise(invocation: Invocation, err: TextIO | None = None) -> int:
    """Denoise `invocation.picture` with the model of `invocation.target`; return the exit code."""
    err = err or sys.stderr
    from dae_tui.training.pictures import NotAPicture, denoise, read_picture, save_picture, side_by_side
    from dae_tui.training.robustness import load_run_model
    from dae_tui.training.trainer import fixed_noise

    assert invocation.target is not None and invocation.picture is not None
    source = Path(invocation.picture)
    output = Path(invocation.output) if invocation.output else source.with_name(f"{source.stem}-denoised.png")
    problem = output_problem(source, output, Path(invocation.target), invocation.force)
    if problem:
        print(f"dae-tui denoise: error: {printable(problem)}", file=err)
        return EXIT_USAGE
    try:
        picture = read_picture(source)
    except ConfigError as error:
        return report("denoise", error, err)
    except NotAPicture as error:
        print(f"dae-tui denoise: error: {printable(f'{source}: not a picture Pillow can read ({error})')}", file=err)
        return EXIT_USAGE
    try:
        run = load_run_model(invocation.target, invocation.device, with_data=False)
        model, config = run.model, run.config
        factor = invocation.noise_factor
        if factor is not None:
            errors = TrainConfig(noise=config.noise, noise_factor=factor).validate()
            if errors:
                raise ConfigError(str(errors[0]))
    except DaeError as error:  # a ConfigError exits 2, a DataError (an unreadable checkpoint, say) 1
        return report("denoise", error, err)
    if not picture.any():
        # Not an error (a blank page is a picture), but a blank result should never pass unremarked.
        print(
            f"note: {printable(str(source))} shows no figure (one flat colour): the model sees a blank frame", file=err
        )
    noisy = picture if factor is None else fixed_noise(picture, config.noise, factor, config.clamp)
    denoised = denoise(model, noisy)
    shown = side_by_side([picture, noisy, denoised]) if invocation.side_by_side else denoised
    mode = _new_file_mode(output)

    def write(handle) -> None:
        save_picture(shown, handle, scale=invocation.scale)
        os.fchmod(handle.fileno(), mode)

    try:
        atomic_write(output, write, what=output.name)
    except SaveError as error:
        print(f"dae-tui denoise: failed: {printable(str(error))}", file=err)
        return EXIT_FAILED
    noise = f", {config.noise} noise {format_number(factor)} added" if factor is not None else ""
    what = "input | noisy | denoised" if invocation.side_by_side else "denoised"
    print(
        f"wrote {printable(str(output))} ({what}; model {config.model} of "
        f"{printable(Path(invocation.target).name)}{noise})",
        file=err,
    )
    return EXIT_OK
