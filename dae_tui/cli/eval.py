"""`dae-tui eval RUN`: a trained model at a range of noise strengths, its robustness curve.

    dae-tui eval runs/20240531-120000-mnist-seed                    # table on stderr
    dae-tui eval RUN --noise salt-pepper --factors 0,0.1,0.2 --json  # one JSON object per factor

The model runs on the run's own held-out test split (from the source it trained on) with noise
from the fixed test seed, so the figures repeat exactly and the point at the trained factor equals
the run's last test figures. Exit 0 with the curve, 2 for a bad run folder or factor list (one
line; an empty `--factors=` too, and more than `MAX_FACTORS`), 1 when its data cannot be read. A
curve that will take a while says how long after its first point.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from dae_tui.cli.invocation import EXIT_OK, Invocation, report
from dae_tui.core.config import format_number
from dae_tui.core.errors import DaeError
from dae_tui.core.formatting import format_eta, plural, printable

__all__ = ["MAX_FACTORS", "run_eval"]

MAX_FACTORS = 100
"""Most factors one curve takes. Each is a pass over the whole test split (as long as one epoch's
test, benchmarks/NOTES.md), so 100 is minutes on CPU; steps finer than 1% of a kind's range show
nothing more on a plot, and 10,000 factors would run for hours."""

ESTIMATE_AFTER_S = 10.0
"""A curve projected to take longer than this says so after its first point."""


def run_eval(invocation: Invocation, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the curve of `invocation.target`; return the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    from dae_tui.training.robustness import default_factors, load_run_model, parse_factors, robustness

    assert invocation.target is not None
    try:
        run = load_run_model(invocation.target, invocation.device)
        model, config, data = run.model, run.config, run.data
        assert data is not None
        kind = invocation.noise or config.noise
        trained = config.noise_factor if kind == config.noise else None
        factors = parse_factors(invocation.factors, kind) if invocation.factors else default_factors(kind, trained)
    except DaeError as error:  # a ConfigError exits 2, a DataError (an unreadable checkpoint, say) 1
        return report("eval", error, err)
    print(
        f"{printable(str(invocation.target))}: model {config.model} on {len(data.test):,} {config.dataset} "
        f"test images ({data.source}), {kind} noise{' (clamped)' if config.clamp else ''}; trained at "
        f"{config.noise} {format_number(config.noise_factor)}",
        file=err,
    )
    print(f"{'factor':>8} {'noisy PSNR':>10} {'PSNR':>7} {'gain':>7} {'SSIM':>6} {'MSE':>8}", file=err)
    started = time.monotonic()
    for done, point in enumerate(robustness(model, data.test.images, kind, factors, config.clamp), 1):
        mark = "  ← trained" if trained is not None and point.factor == trained else ""
        clean = point.noisy_psnr >= 100.0  # no noise: the input is the clean image (PSNR capped)
        noisy = f"{'∞' if clean else f'{point.noisy_psnr:.2f}':>10}"
        gain = f"{'' if clean else f'{point.test_psnr - point.noisy_psnr:+.2f}':>7}"
        print(
            f"{format_number(point.factor):>8} {noisy} {point.test_psnr:>7.2f} {gain} {point.test_ssim:>6.3f} "
            f"{point.test_mse:>8.5f}{mark}",
            file=err,
            flush=True,
        )
        if invocation.json:
            out.write(json.dumps(point.to_json()) + "\n")
            out.flush()
        if done == 1 and len(factors) > 1:
            each = time.monotonic() - started
            if each * len(factors) > ESTIMATE_AFTER_S:
                print(
                    f"  ({plural(len(factors), 'factor')} at about {each:.1f} s each: "
                    f"{format_eta(each * (len(factors) - 1))} more)",
                    file=err,
                    flush=True,
                )
    return EXIT_OK
