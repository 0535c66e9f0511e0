"""The speed benchmark: one command, every figure side by side with its reference, as ratios.

    python -m benchmarks.run                      # everything this machine can measure (~3 min on 2 cores)
    python -m benchmarks.run --parts train --rounds 5
    python -m benchmarks.run --json results.json  # the table's figures, machine-readable too

Parts (all by default; `gpu` only where CUDA is available):
  train  the notebook's training loop vs the engine (and the engine with its optimisations off),
         one epoch each from a fresh model in a fresh process, alternating, medians; plus the
         test PSNR of the engine against its plain self, and the peak RSS of `dae-tui train`
  tui    the same short run inside the app (Textual's headless driver) vs the engine alone, and
         the app's event-loop lag while it trains
  start  launch to first frame of the real `dae-tui` in tmux vs a minimal Textual app
  gpu    the notebook's loop vs the engine on CUDA

Data: full Fashion-MNIST from --data-dir or Debian's dataset-fashion-mnist when present, else the
bundled sample (the table says which). Never run it beside other heavy work: on 2 cores a second
training process slows both several times over.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from benchmarks.train_speed import Series, compare_training, headless_rss, prepare_data

PARTS = ("train", "tui", "start", "gpu")


@dataclass
class Row:
    """One line of the table."""

    figure: str
    reference: str
    ours: str
    ratio: str
    target: str
    met: bool | None = None

    def cells(self) -> list[str]:
        verdict = {True: "yes", False: "NO", None: ""}[self.met]
        return [self.figure, self.reference, self.ours, self.ratio, self.target, verdict]


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _in_thread(fn, *args):
    """fn(*args) in a thread that then ends, taking its OpenMP thread pool with it.

    On 2 cores, once a second thread of this process has run a parallel torch op, training in
    another thread runs at half speed (libgomp stops spinning when it manages more threads than
    there are CPUs; benchmarks/NOTES.md). The TUI part trains in threads, so the main thread
    must never run torch ops itself.
    """
    result: list = []
    worker = threading.Thread(target=lambda: result.append(fn(*args)))
    worker.start()
    worker.join()
    if not result:
        raise RuntimeError(f"{fn.__name__} failed (see the traceback above)")
    return result[0]


def _train_rows(series: dict[str, Series], device: str, rss: float | None, ref_rss: float) -> list[Row]:
    ref, plain, fast = series["reference"], series["plain"], series["engine"]
    speedup = ref.median / fast.median
    tag = device.upper()
    target_ratio = 10.0 if device == "cuda" else 1.6
    rows = [
        Row(
            f"{tag} s/epoch, notebook loop vs engine",
            f"{ref.median:.2f} ({ref.spread()})",
            f"{fast.median:.2f} ({fast.spread()})",
            f"{speedup:.2f}x faster",
            f">= {target_ratio:g}x",
            speedup >= target_ratio,
        ),
        Row(
            f"{tag} s/epoch, engine with optimisations off",
            f"{ref.median:.2f}",
            f"{plain.median:.2f} ({plain.spread()})",
            f"{ref.median / plain.median:.2f}x faster",
            "",
        ),
        Row(
            f"{tag} s/epoch incl. test evaluation (engine)",
            "",
            f"{statistics.median(fast.epoch_seconds):.2f}",
            "",
            "<= 0.5 s" if device == "cuda" else "",
            statistics.median(fast.epoch_seconds) <= 0.5 if device == "cuda" else None,
        ),
    ]
    if plain.psnr and fast.psnr:
        gap = abs(statistics.median(fast.psnr) - statistics.median(plain.psnr))
        rows.append(
            Row(
                f"{tag} test PSNR, plain vs engine (same epochs)",
                f"{statistics.median(plain.psnr):.3f} dB",
                f"{statistics.median(fast.psnr):.3f} dB",
                f"{gap:.3f} dB apart",
                "<= 0.3 dB",
                gap <= 0.3,
            )
        )
    if rss is not None:
        rows.append(
            Row(
                "peak RSS, notebook loop vs `dae-tui train`",
                f"{ref_rss:.0f} MB",
                f"{rss:.0f} MB",
                f"{rss / ref_rss:.2f}x",
                "<= the notebook's",
                rss <= ref_rss,
            )
        )
    return rows


def _tui_rows(app_runs: list, engine_runs: list) -> list[Row]:
    from benchmarks.tui_speed import percentile

    app = statistics.median(r.images_per_s for r in app_runs)
    alone = statistics.median(r.images_per_s for r in engine_runs)
    lags = [lag for r in app_runs for lag in r.lags_ms]
    p50, p99, worst = percentile(lags, 50), percentile(lags, 99), max(lags, default=float("nan"))
    return [
        Row(
            "training img/s, engine alone vs in the TUI",
            f"{alone:,.0f}",
            f"{app:,.0f}",
            f"{app / alone:.2f}x",
            ">= 0.95x",
            app / alone >= 0.95,
        ),
        Row(
            "event-loop lag while training p50 / p99 / max",
            "",
            f"{p50:.1f} / {p99:.1f} / {worst:.1f} ms",
            f"n={len(lags)}",
            "p99 <= 20 ms",
            p99 <= 20 if lags else None,
        ),
        Row(
            "UI thread CPU while training",
            "",
            f"{statistics.median(r.ui_cpu_share for r in app_runs):.1%} of a core",
            "",
            "",
        ),
    ]


def _start_rows(runs: int) -> list[Row]:
    from benchmarks.tui_latency import first_frames

    ref, app = first_frames(runs, _log)
    mine, base = statistics.median(app), statistics.median(ref)
    return [
        Row(
            "launch to first frame (tmux 100x30)",
            f"{base * 1000:.0f} ms (minimal app)",
            f"{mine * 1000:.0f} ms ({min(app) * 1000:.0f}-{max(app) * 1000:.0f})",
            f"{mine / base:.2f}x",
            "<= 2x",
            mine <= 2 * base,
        )
    ]


def format_table(rows: list[Row]) -> str:
    """A Markdown table (pastes into the README as it is)."""
    header = ["figure", "reference", "dae-tui", "ratio", "target", "met"]
    cells = [header] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |" for line in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS))
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per comparison")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per training child; the last counts")
    parser.add_argument("--data-dir", default=None, help="a folder with the Fashion-MNIST IDX files")
    parser.add_argument("--train-limit", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--tui-limit", type=int, default=20000, help="images per epoch in the TUI part")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--parts: unknown {', '.join(unknown)} (allowed: {', '.join(PARTS)})")

    import torch

    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = _in_thread(prepare_data, args.data_dir, Path(tmp), "fashion-mnist", args.train_limit)
        _log(f"data: {data.label}")
        if "train" in parts:
            _log(f"train: notebook loop / engine plain / engine, {args.epochs} epochs each, the last counts (CPU)")
            series = compare_training(data, "cpu", args.rounds, args.epochs, _log)
            cli, _ = headless_rss(data, "cpu")
            rows += _train_rows(series, "cpu", cli.max_rss_mb, statistics.median(series["reference"].rss_mb))
        if "tui" in parts:
            from benchmarks.tui_speed import compare_tui
            from dae_tui.core.config import TrainConfig

            config = TrainConfig(
                dataset=data.dataset,
                source=data.source,
                data_dir=data.data_dir,
                epochs=2,
                train_limit=min(args.tui_limit, data.train_size),
                device="cpu",
            )
            _log(f"tui: {config.epochs} epochs of {config.train_limit:,} images, in the app and alone")
            rows += _tui_rows(*compare_tui(config, max(2, args.rounds - 1), _log))
        if "start" in parts:
            if shutil.which("tmux"):
                _log("start: first frame in tmux")
                rows += _start_rows(max(5, args.rounds))
            else:
                notes.append("start: skipped, tmux is not installed")
        if "gpu" in parts:
            if torch.cuda.is_available():
                _log(f"gpu: {torch.cuda.get_device_name(0)}")
                series = compare_training(data, "cuda", args.rounds, args.epochs, _log)
                rows += _train_rows(series, "cuda", None, 0)
            else:
                notes.append("gpu: skipped, CUDA is not available here (figures still to be measured)")

    machine = (
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, Python {platform.python_version()}"
    )
    print(f"\ndae-tui speed benchmark — {data.label}\n{machine}\n")
    print(format_table(rows))
    for note in notes:
        print(f"\n{note}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "data": data.label,
                    "machine": machine,
                    "notes": notes,
                    "rows": [
                        dict(zip(["figure", "reference", "dae_tui", "ratio", "target", "met"], r.cells(), strict=True))
                        for r in rows
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
