"""Does every noise kind train? Each kind at its default factor, on the same data, with the defaults.

    python -m benchmarks.noise_kinds [--dataset fashion-mnist] [--source bundled] [--epochs 10]
                                     [--model seed] [--kinds gaussian,mask]

Runs `dae-tui train --json` once per kind (a fresh process each, one after the other) and prints,
per kind, the noisy input's and the model's test PSNR and SSIM after the last epoch, and the gain:
a kind the model cannot learn would show a model no better than its input.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from dae_tui.core.config import NOISE_KINDS, format_number

DAE_TUI = str(Path(sys.executable).with_name("dae-tui"))


def train(kind: str, args: argparse.Namespace, runs: Path) -> dict:
    command = [
        DAE_TUI,
        "train",
        "--json",
        "--noise",
        kind,
        "--noise-factor",
        format_number(NOISE_KINDS[kind].default),
        "--dataset",
        args.dataset,
        "--source",
        args.source,
        "--epochs",
        str(args.epochs),
        "--model",
        args.model,
        "--runs-dir",
        str(runs),
    ]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--source", default="bundled")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--model", default="seed")
    parser.add_argument("--kinds", default=",".join(NOISE_KINDS))
    args = parser.parse_args()
    print(f"{args.dataset} ({args.source}), model {args.model}, {args.epochs} epochs, defaults otherwise")
    print(
        f"{'noise':<12} {'factor':>6} {'noisy PSNR':>10} {'test PSNR':>9} {'gain':>7} "
        f"{'noisy SSIM':>10} {'test SSIM':>9} {'s/epoch':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            last = train(kind, args, Path(tmp))
            print(
                f"{kind:<12} {format_number(NOISE_KINDS[kind].default):>6} {last['noisy_psnr']:>10.2f} "
                f"{last['test_psnr']:>9.2f} {last['test_psnr'] - last['noisy_psnr']:>+7.2f} "
                f"{last['noisy_ssim']:>10.3f} {last['test_ssim']:>9.3f} {last['seconds']:>7.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
