"""Training speed and memory: the notebook's loop against the engine, each run in a fresh process.

Used by `python -m benchmarks.run`. Rounds alternate reference, plain engine, engine (A B C A B C),
so drift in the machine's speed hits all alike; figures are medians over rounds. Each child trains
a fresh model for a few epochs on the same images and the last epoch counts: the first also pays
for one-off set-up (CUDA and cuDNN start-up, oneDNN kernel choice, the engine's CUDA-graph
capture). Peak RSS is read from each child's rusage, and the real `dae-tui train` is run once for
the headless peak-RSS figure.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Data:
    """Where the benchmark's training images come from."""

    dataset: str
    source: str
    data_dir: str | None
    label: str
    train_size: int
    train_limit: int | None
    root: Path
    """A torchvision root with the same images, for the reference loop."""


@dataclass
class ChildResult:
    """One child's report plus its peak resident memory."""

    report: dict
    max_rss_mb: float


@dataclass
class Series:
    """Repeated measurements of one contender."""

    name: str
    seconds: list[float] = field(default_factory=list)
    """Training seconds per epoch, one per round."""
    epoch_seconds: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def spread(self) -> str:
        return f"{min(self.seconds):.2f}-{max(self.seconds):.2f}"


def prepare_data(
    data_dir: str | None, workdir: Path, dataset: str = "fashion-mnist", train_limit: int | None = None
) -> Data:
    """Full Fashion-MNIST from `data_dir` or Debian's package when present, else the bundled sample.

    With `train_limit`, both sides train on the first N training images only.
    """
    from benchmarks.reference import write_torchvision_root
    from dae_tui.core.config import ConfigError, TrainConfig
    from dae_tui.training.data import DataError, load_data

    try:
        config = TrainConfig(dataset=dataset, source="local", data_dir=data_dir)
        loaded = load_data(config)
        source, label = "local", f"{dataset}, {len(loaded.train):,} train images ({loaded.detail})"
    except (ConfigError, DataError):  # no full copy here: use the sample
        config = TrainConfig(dataset=dataset, source="bundled")
        loaded = load_data(config)
        source, label = "bundled", f"{dataset} bundled sample, {len(loaded.train):,} train images"
    train = (loaded.train.images[:train_limit], loaded.train.labels[:train_limit])
    if train_limit is not None:
        label += f", first {len(train[0]):,} only"
    root = write_torchvision_root(workdir / "torchvision", dataset, train, (loaded.test.images, loaded.test.labels))
    return Data(dataset, source, data_dir, label, len(train[0]), train_limit, root)


def run_child(args: list[str], timeout: float = 900.0) -> ChildResult:
    """Run a command, return its last stdout line as JSON and its peak RSS (Linux: kB -> MB)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])}... exited {proc.returncode}: {err.strip()[-800:]}")
    lines = [line for line in out.splitlines() if line.strip()]
    return ChildResult(json.loads(lines[-1]) if lines else {}, usage.ru_maxrss / 1024)


def _child(kind: str, data: Data, device: str, epochs: int, extra: list[str] = ()) -> ChildResult:
    args = [
        sys.executable,
        "-m",
        "benchmarks.child",
        kind,
        "--dataset",
        data.dataset,
        "--device",
        device,
        "--epochs",
        str(epochs),
    ]
    if kind == "reference":
        args += ["--root", str(data.root)]
    else:
        args += ["--source", data.source] + (["--data-dir", data.data_dir] if data.data_dir else [])
        args += ["--train-limit", str(data.train_limit)] if data.train_limit else []
    return run_child(args + list(extra))


def compare_training(data: Data, device: str, rounds: int, epochs: int = 2, log=print) -> dict[str, Series]:
    """Reference loop, plain engine and engine, alternating; the last of `epochs` counts."""
    contenders = {
        "reference": Series("notebook loop"),
        "plain": Series("engine, optimisations off"),
        "engine": Series("engine"),
    }
    for r in range(rounds):
        for key, series in contenders.items():
            kind = "reference" if key == "reference" else "engine"
            extra = ["--plain"] if key == "plain" else []
            result = _child(kind, data, device, epochs, extra)
            series.seconds.append(result.report["train_seconds"][-1])
            series.epoch_seconds.append(result.report["epoch_seconds"][-1])
            series.psnr.extend(result.report.get("test_psnr", [])[-1:])
            series.rss_mb.append(result.max_rss_mb)
            log(
                f"  round {r + 1}/{rounds} {device} {series.name}: {series.seconds[-1]:.2f} s/epoch, "
                f"peak RSS {result.max_rss_mb:.0f} MB"
            )
    return contenders


def headless_rss(data: Data, device: str = "cpu") -> tuple[ChildResult, float]:
    """The real `dae-tui train` for one epoch: (its result, its wall seconds per epoch)."""
    with tempfile.TemporaryDirectory() as runs:
        args = [
            sys.executable,
            "-m",
            "dae_tui",
            "train",
            "--dataset",
            data.dataset,
            "--source",
            data.source,
            "--epochs",
            "1",
            "--device",
            device,
            "--json",
            "--runs-dir",
            runs,
        ]
        if data.data_dir:
            args += ["--data-dir", data.data_dir]
        if data.train_limit:
            args += ["--train-limit", str(data.train_limit)]
        result = run_child(args)
    return result, float(result.report.get("seconds", float("nan")))
