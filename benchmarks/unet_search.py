"""Search for the `unet` model: test PSNR against CPU training cost, each beside the seed model.

    python -m benchmarks.unet_search --models skip,u24 --train-limit 20000 --epochs 3   # screen
    python -m benchmarks.unet_search --models unet --epochs 10                          # full data
    python -m benchmarks.unet_search --models u24,u32 --time-only                       # ms/step only

Only the model (and, where a model carries one, its per-epoch lr multiplier `lr_factor`) differs
from the defaults: Fashion-MNIST from --data-dir, gaussian noise 0.5 unclamped, batch 64, fused Adam
lr 1e-3 wd 1e-5, MSE, seed 0. The loop mirrors `dae_tui.training.trainer`: uint8 images resident,
a seeded randperm per epoch, channels-last batches, `add_noise` with a seeded generator, the
engine's `make_optimizer`/`make_train_step`, denormals flushed, and the whole fixed-noise test split
from `Trainer._prepare_test` scored with `evaluate` after every epoch.

Each candidate runs in a fresh child process (one at a time) that trains the seed model and the
candidate side by side, epoch by epoch in alternating order, all torch work in the main thread
with torch's default threads, so machine drift hits both alike. s/epoch is the training pass
only, median over epochs 2..N; the ratio is the median of the per-epoch ratios to the seed.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dae_tui.training.models import SeedAutoencoder, UNet, count_parameters, full_conv, full_conv_transpose

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"

ACTS = {"relu": lambda x: F.relu(x, inplace=True), "silu": lambda x: F.silu(x, inplace=True), "gelu": F.gelu}


def cosine(epoch: int, epochs: int) -> float:
    """Cosine decay to ~0 over the run, from 1 at epoch 1."""
    return 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / epochs))


def warm_cosine(peak: float):
    """`peak` x lr in epoch 1, then cosine decay over the rest of the run."""
    return lambda epoch, epochs: peak * cosine(epoch, epochs)


class Search(nn.Module):
    """A configurable 2-level U-Net (28 -> 14 -> 7 -> optional 1x1 global latent and back).

    stem: 3x3 stride-2 conv 1->c1 (as the seed), or pixel-unshuffle 1x28x28 -> 4x14x14 then 3x3 4->c1.
    14x14: `refine` 3x3 c1->c1; down 3x3 s2 c1->c2; 7x7: `refine` 3x3 c2->c2; latent: a 7x7 conv
    c2->`latent` as one matmul (None: none). Decoder mirrors it: 7x7 transposed full conv back, skip
    (cat + 3x3 to c2, or add), `refine` 3x3, 3x3 s2 transposed to 14x14, skip, `refine` 3x3, head
    (3x3 s2 transposed to 28x28, or 3x3 c1->4 + pixel-shuffle) then `out`: sigmoid, or residual
    clamp(x - head) (predicts the noise). `norm`: none, or BatchNorm after every inner conv.
    """

    def __init__(
        self,
        c1: int = 16,
        c2: int = 32,
        latent: int | None = 64,
        refine: int = 1,
        unshuffle: bool = False,
        skip: str = "cat",
        act: str = "relu",
        norm: bool = False,
        out: str = "sigmoid",
        lr_factor=None,
        refine7: int | None = None,
    ) -> None:
        super().__init__()
        self.act, self.unshuffle, self.skip, self.out = ACTS[act], unshuffle, skip, out
        if lr_factor is not None:
            self.lr_factor = lr_factor

        def conv(cin: int, cout: int, stride: int = 1) -> nn.Module:
            layer = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=not norm)
            return nn.Sequential(layer, nn.BatchNorm2d(cout)) if norm else layer

        self.stem = nn.Conv2d(4, c1, 3, padding=1) if unshuffle else nn.Conv2d(1, c1, 3, stride=2, padding=1)
        self.enc1 = nn.ModuleList(conv(c1, c1) for _ in range(refine))
        self.down = conv(c1, c2, 2)
        refine7 = refine if refine7 is None else refine7
        self.enc2 = nn.ModuleList(conv(c2, c2) for _ in range(refine7))
        self.latent = nn.Conv2d(c2, latent, 7) if latent else None
        self.expand = nn.ConvTranspose2d(latent, c2, 7) if latent else None
        self.merge2 = conv(2 * c2, c2) if latent and skip == "cat" else None
        self.dec2 = nn.ModuleList(conv(c2, c2) for _ in range(refine7))
        self.up = nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1)
        self.merge1 = conv(2 * c1, c1) if skip == "cat" else None
        self.dec1 = nn.ModuleList(conv(c1, c1) for _ in range(refine))
        self.head = (
            nn.Conv2d(c1, 4, 3, padding=1)
            if unshuffle
            else nn.ConvTranspose2d(c1, 1, 3, stride=2, padding=1, output_padding=1)
        )

    def _run(self, layers, h: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            h = self.act(layer(h))
        return h

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(x, 14x14 features, 7x7 features, latent or None)."""
        h = F.pixel_unshuffle(x, 2) if self.unshuffle else x
        e1 = self._run(self.enc1, self.act(self.stem(h)))
        e2 = self._run(self.enc2, self.act(self.down(e1)))
        z = full_conv(e2, self.latent) if self.latent is not None else None
        return x, e1, e2, z

    def _join(self, h: torch.Tensor, e: torch.Tensor, merge) -> torch.Tensor:
        if merge is None:
            return h + e
        return self.act(merge(torch.cat((h, e), 1)))

    def decode(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, e1, e2, z = feats
        h = e2 if z is None else self._join(self.act(full_conv_transpose(z, self.expand)), e2, self.merge2)
        h = self._run(self.dec2, h)
        h = self._join(self.act(self.up(h)), e1, self.merge1)
        h = self.head(self._run(self.dec1, h))
        if self.unshuffle:
            h = F.pixel_shuffle(h, 2)
        return torch.sigmoid(h) if self.out == "sigmoid" else (x - h).clamp(0.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


# The winner, `psa16bnr14` above, ships as `dae_tui.training.models.UNet` (measured here as "unet").


CANDIDATES = {
    "seed": SeedAutoencoder,
    "skip": lambda: Search(16, 32, 64, refine=0),
    "skipadd": lambda: Search(16, 32, 64, refine=0, skip="add"),
    "u16": lambda: Search(16, 32, 64, refine=1),
    "ua16": lambda: Search(16, 32, 64, refine=1, skip="add"),
    "ua24": lambda: Search(24, 48, 64, refine=1, skip="add"),
    "psa16": lambda: Search(16, 32, 64, refine=1, unshuffle=True, skip="add"),
    "psa24": lambda: Search(24, 48, 64, refine=1, unshuffle=True, skip="add"),
    "psa16res": lambda: Search(16, 32, 64, refine=1, unshuffle=True, skip="add", out="residual"),
    "psa16silu": lambda: Search(16, 32, 64, refine=1, unshuffle=True, skip="add", act="silu"),
    "psa16bn": lambda: Search(16, 32, 64, refine=1, unshuffle=True, skip="add", norm=True),
    "psa16cos": lambda: Search(16, 32, 64, refine=1, unshuffle=True, skip="add", lr_factor=cosine),
    "psa16wc2": lambda: Search(16, 32, 64, refine=1, unshuffle=True, skip="add", lr_factor=warm_cosine(2.0)),
    "psa16l128": lambda: Search(16, 32, 128, refine=1, unshuffle=True, skip="add"),
    "psa16_48": lambda: Search(16, 48, 64, refine=1, unshuffle=True, skip="add"),
    "psa16r72": lambda: Search(16, 32, 64, refine=1, unshuffle=True, skip="add", refine7=2),
    "psa16bnwc2": lambda: Search(
        16, 32, 64, refine=1, unshuffle=True, skip="add", norm=True, lr_factor=warm_cosine(2.0)
    ),
    "psa20bn": lambda: Search(20, 40, 64, refine=1, unshuffle=True, skip="add", norm=True),
    "psa24bn": lambda: Search(24, 48, 64, refine=1, unshuffle=True, skip="add", norm=True),
    "psa16bnr72": lambda: Search(16, 32, 64, refine=1, unshuffle=True, skip="add", norm=True, refine7=2),
    "pscat16bn": lambda: Search(16, 32, 64, refine=0, unshuffle=True, norm=True),
    "psa24bnwc2": lambda: Search(
        24, 48, 64, refine=1, unshuffle=True, skip="add", norm=True, lr_factor=warm_cosine(2.0)
    ),
    "psa16bnr14": lambda: Search(
        16, 32, 64, refine=2, unshuffle=True, skip="add", norm=True, refine7=1, lr_factor=warm_cosine(2.0)
    ),
    "pscat16bnr1": lambda: Search(16, 32, 64, refine=1, unshuffle=True, norm=True, lr_factor=warm_cosine(2.0)),
    "psa24_32bn": lambda: Search(
        24, 32, 64, refine=1, unshuffle=True, skip="add", norm=True, lr_factor=warm_cosine(2.0)
    ),
    "psa24bnwc3": lambda: Search(
        24, 48, 64, refine=1, unshuffle=True, skip="add", norm=True, lr_factor=warm_cosine(3.0)
    ),
    "unet": UNet,
    "u24": lambda: Search(24, 48, 64, refine=1),
    "u32": lambda: Search(32, 64, 128, refine=1),
    "ps16": lambda: Search(16, 32, 64, refine=1, unshuffle=True),
    "ps24": lambda: Search(24, 48, 64, refine=1, unshuffle=True),
    "ps32": lambda: Search(32, 64, 128, refine=1, unshuffle=True),
    "u24res": lambda: Search(24, 48, 64, refine=1, out="residual"),
    "ps24res": lambda: Search(24, 48, 64, refine=1, unshuffle=True, out="residual"),
    "u24silu": lambda: Search(24, 48, 64, refine=1, act="silu"),
    "u24bn": lambda: Search(24, 48, 64, refine=1, norm=True),
    "u24cos": lambda: Search(24, 48, 64, refine=1, lr_factor=cosine),
    "u24nolat": lambda: Search(24, 48, None, refine=1),
    "u24r2": lambda: Search(24, 48, 64, refine=2),
}


# --- one child: the seed and one candidate, side by side ------------------------------------------


def child(name: str, data_dir: str, train_limit: int | None, epochs: int) -> dict:
    from dae_tui.core.config import TrainConfig
    from dae_tui.training.data import load_data
    from dae_tui.training.device import flush_denormals
    from dae_tui.training.metrics import psnr_from_mse
    from dae_tui.training.noise import add_noise
    from dae_tui.training.steps import make_optimizer, make_train_step, memory_format
    from dae_tui.training.trainer import Trainer, evaluate

    flush_denormals()  # before the first torch op of this (the only) torch thread
    config = TrainConfig(source="local", data_dir=data_dir, epochs=epochs, train_limit=train_limit)
    device = torch.device("cpu")
    layout = memory_format(device)
    data = load_data(config)
    images = data.train.images[:train_limit].contiguous() if train_limit else data.train.images.contiguous()
    test = Trainer._prepare_test(data, config, device, layout)
    n = len(images)
    batches = math.ceil(n / config.batch_size)

    runs = []
    for label in ("seed", name):
        torch.manual_seed(config.seed)
        model = CANDIDATES[label]().to(device, memory_format=layout)
        optimizer = make_optimizer(model, config, device)
        runs.append(
            {
                "label": label,
                "model": model,
                "optimizer": optimizer,
                "step": make_train_step(model, optimizer, device, config.batch_size),
                "shuffle": torch.Generator().manual_seed(config.seed),
                "noise": torch.Generator().manual_seed(config.seed + 1),
                "seconds": [],
                "psnr": [],
                "params": count_parameters(model),
            }
        )

    def train_epoch(run: dict, epoch: int) -> None:
        factor = getattr(run["model"], "lr_factor", None)
        if factor is not None:
            for group in run["optimizer"].param_groups:
                group["lr"] = config.lr * factor(epoch, epochs)
        start = time.perf_counter()
        perm = torch.randperm(n, generator=run["shuffle"])
        loss_sum = torch.zeros(())
        for b in range(batches):
            idx = perm[b * config.batch_size : (b + 1) * config.batch_size]
            clean = images[idx].unsqueeze(1).float().div_(255.0).contiguous(memory_format=layout)
            noisy = add_noise(clean, config.noise, config.noise_factor, run["noise"], config.clamp)
            loss_sum += run["step"](noisy.contiguous(memory_format=layout), clean) * idx.numel()
        loss = loss_sum.item() / n  # one sync per epoch, as the engine's progress reads do
        run["seconds"].append(time.perf_counter() - start)
        if not math.isfinite(loss):
            raise SystemExit(f"{run['label']}: loss not finite at epoch {epoch}")
        mse = evaluate(run["model"], test.clean, test.noisy).mean().item()
        run["psnr"].append(psnr_from_mse(mse))

    for epoch in range(1, epochs + 1):
        order = runs if epoch % 2 else runs[::-1]
        for run in order:
            train_epoch(run, epoch)
    seed, cand = runs
    later = slice(1, None) if epochs > 1 else slice(None)
    ratios = [c / s for c, s in zip(cand["seconds"][later], seed["seconds"][later], strict=True)]
    return {
        "model": name,
        "train_size": n,
        "epochs": epochs,
        "threads": torch.get_num_threads(),
        "ratio": statistics.median(ratios),
        **{
            f"{k}_{key}": (statistics.median(r["seconds"][later]) if key == "s_epoch" else r[key])
            for k, r in (("seed", seed), ("cand", cand))
            for key in ("params", "psnr", "s_epoch")
        },
    }


def time_steps(names: list[str], steps: int = 60, rounds: int = 3) -> None:
    """ms per training step on random batches, each candidate alternated with the seed (fast screen)."""
    from dae_tui.core.config import TrainConfig
    from dae_tui.training.device import flush_denormals
    from dae_tui.training.steps import make_optimizer, make_train_step, memory_format

    flush_denormals()
    device, config = torch.device("cpu"), TrainConfig()
    layout = memory_format(device)
    clean = torch.rand(64, 1, 28, 28).contiguous(memory_format=layout)
    noisy = (clean + 0.5 * torch.randn(clean.shape)).contiguous(memory_format=layout)
    print(f"{'model':10} {'params':>8} {'ms/step':>8} {'seed':>6} {'ratio':>6}")
    for name in names:
        steps_by = {}
        for label in ("seed", name):
            torch.manual_seed(0)
            model = CANDIDATES[label]().to(device, memory_format=layout)
            steps_by[label] = (
                make_train_step(model, make_optimizer(model, config, device), device, 64),
                count_parameters(model),
            )
        times: dict[str, list[float]] = {"seed": [], name: []}
        for _ in range(rounds):
            for label, (step, _) in steps_by.items():
                for _ in range(5):
                    step(noisy, clean)
                start = time.perf_counter()
                for _ in range(steps):
                    step(noisy, clean)
                times[label].append((time.perf_counter() - start) / steps * 1000)
        s, c = statistics.median(times["seed"]), statistics.median(times[name])
        print(f"{name:10} {steps_by[name][1]:8,} {c:8.2f} {s:6.2f} {c / s:6.2f}", flush=True)


def wait_for_quiet(busy_max: float = 0.25, timeout_s: float = 900.0) -> float:
    """Wait until the other processes use under `busy_max` of the CPUs over a 2 s window; the busy share."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    deadline = time.monotonic() + timeout_s
    while True:
        t0, i0 = sample()
        time.sleep(2.0)
        t1, i1 = sample()
        busy = 1.0 - (i1 - i0) / max(t1 - t0, 1)
        if busy < busy_max or time.monotonic() > deadline:
            return busy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="unet", help="comma-separated names: " + ",".join(CANDIDATES))
    parser.add_argument("--train-limit", type=int, default=None, help="first N training images (default: all)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--time-only", action="store_true", help="ms/step on random batches, no training")
    parser.add_argument("--json", help="append each child's result to this JSON-lines file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.data_dir, args.train_limit, args.epochs)))
        return
    names = [m for m in args.models.split(",") if m]
    unknown = [m for m in names if m not in CANDIDATES]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; known: {', '.join(CANDIDATES)}")
    if args.time_only:
        time_steps(names)
        return
    print(
        f"{'model':10} {'params':>8} {'s/ep':>6} {'seed s/ep':>9} {'ratio':>6} {'PSNR':>6} "
        f"{'seed':>6} {'delta':>6}  PSNR by epoch (candidate | seed)",
        flush=True,
    )
    for name in names:
        if Path("/proc/stat").exists():
            wait_for_quiet()
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.unet_search",
            "--child",
            name,
            "--epochs",
            str(args.epochs),
            "--data-dir",
            args.data_dir,
        ]
        if args.train_limit:
            cmd += ["--train-limit", str(args.train_limit)]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(f"{name:10} failed: {proc.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        r = json.loads(line[len("RESULT ") :])
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(r) + "\n")
        by_epoch = " ".join(f"{p:.2f}" for p in r["cand_psnr"]) + " | " + " ".join(f"{p:.2f}" for p in r["seed_psnr"])
        print(
            f"{name:10} {r['cand_params']:8,} {r['cand_s_epoch']:6.2f} {r['seed_s_epoch']:9.2f} "
            f"{r['ratio']:6.2f} {r['cand_psnr'][-1]:6.2f} {r['seed_psnr'][-1]:6.2f} "
            f"{r['cand_psnr'][-1] - r['seed_psnr'][-1]:+6.2f}  {by_epoch}",
            flush=True,
        )


if __name__ == "__main__":
    main()
