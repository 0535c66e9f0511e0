"""`dae-tui denoise RUN INPUT.png`: a run's model on a picture of your own.

    dae-tui denoise RUN photo.jpg                           # writes photo-denoised.png
    dae-tui denoise RUN digit.png -o out.png --noise-factor 0.5 --side-by-side

The picture (any size, grayscale or colour) is fitted to 28x28 as the training images are (see
`engine.pictures`), noised with the run's own noise kind when `--noise-factor` is given (from the
fixed test seed: the same output every time), and denoised. The PNG is the denoised picture, or
with `--side-by-side` the fitted input, the noisy one and the denoised one in a row; each pixel is
drawn `--scale` x `--scale` (default 4) so it can be seen. Exit 2, one line, for a bad run
folder, a file that is not a picture, or a factor out of the kind's range.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TextIO

from .config import ConfigError, TrainConfig, format_number
from .invocation import EXIT_OK, EXIT_USAGE, Invocation, report

__all__ = ["run_denoise"]


def run_denoise(invocation: Invocation, err: TextIO | None = None) -> int:
    """Denoise `invocation.picture` with the model of `invocation.target`; return the exit code."""
    err = err or sys.stderr
    import torch
    from PIL import Image

    from .engine.data import DataError
    from .engine.pictures import MAX_PIXELS, fit_picture, save_picture, side_by_side
    from .engine.robustness import load_run_model
    from .engine.trainer import fixed_noise

    assert invocation.target is not None and invocation.picture is not None
    source = Path(invocation.picture)
    output = Path(invocation.output) if invocation.output else source.with_name(f"{source.stem}-denoised.png")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ConfigError(f"{source}: {image.width}x{image.height} is more than {MAX_PIXELS:,} pixels")
                image.load()
                picture = fit_picture(image)
    except ConfigError as error:
        return report("denoise", error, err)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        print(f"dae-tui denoise: error: {source}: not a picture Pillow can read ({first})", file=err)
        return EXIT_USAGE
    try:
        run = load_run_model(invocation.target, invocation.device, with_data=False)
        model, config = run.model, run.config
        factor = invocation.noise_factor
        if factor is not None:
            errors = TrainConfig(noise=config.noise, noise_factor=factor).validate()
            if errors:
                raise ConfigError(str(errors[0]))
    except (ConfigError, DataError) as error:
        return report("denoise", error, err)
    noisy = picture if factor is None else fixed_noise(picture, config.noise, factor, config.clamp)
    with torch.inference_mode():
        denoised = model(noisy.to(next(model.parameters()).device)).cpu()
    shown = side_by_side([picture, noisy, denoised]) if invocation.side_by_side else denoised
    try:
        save_picture(shown, output, scale=invocation.scale)
    except (OSError, ValueError) as error:
        print(f"dae-tui denoise: error: cannot write {output} ({getattr(error, 'strerror', None) or error})",
              file=err)
        return EXIT_USAGE
    noise = f", {config.noise} noise {format_number(factor)} added" if factor is not None else ""
    what = "input | noisy | denoised" if invocation.side_by_side else "denoised"
    print(f"wrote {output} ({what}; model {config.model} of {Path(invocation.target).name}{noise})", file=err)
    return EXIT_OK
