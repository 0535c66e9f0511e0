"""Shared fixtures: real IDX files written by the tests, an unreachable network, tiny configs."""

from __future__ import annotations

import gzip
import os
import struct
import sys
from pathlib import Path

import pytest

from dae_tui.core.config import TrainConfig


def idx_bytes(data: bytes, shape: tuple[int, ...], magic: int) -> bytes:
    """A uint8 IDX file: magic, dims, data (the official format)."""
    return struct.pack(">i", magic) + struct.pack(f">{len(shape)}I", *shape) + data


def write_idx_set(folder: Path, n_train: int = 40, n_test: int = 20, gz: bool = False, seed: int = 0) -> Path:
    """The four standard IDX files with random-ish images and labels 0..9 in `folder`."""
    import random

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = bytes(rng.randrange(256) for _ in range(n * 28 * 28))
        labels = bytes(i % 10 for i in range(n))
        for stem, payload in (
            (f"{prefix}-images-idx3-ubyte", idx_bytes(images, (n, 28, 28), 2051)),
            (f"{prefix}-labels-idx1-ubyte", idx_bytes(labels, (n,), 2049)),
        ):
            if gz:
                (folder / f"{stem}.gz").write_bytes(gzip.compress(payload))
            else:
                (folder / stem).write_bytes(payload)
    return folder


@pytest.fixture
def offline(monkeypatch):
    """torchvision's mirrors point at a closed loopback port: every download fails at once."""
    from torchvision import datasets

    from dae_tui.training import data

    for cls in (datasets.MNIST, datasets.FashionMNIST):
        monkeypatch.setattr(cls, "mirrors", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(data, "DOWNLOAD_TIMEOUT_S", 2.0)


@pytest.fixture
def no_debian(monkeypatch, tmp_path):
    """Hide Debian's fashion-mnist folder so `local` and `auto` behave as on a bare machine."""
    from dae_tui.training import data

    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian-data")


@pytest.fixture
def tiny_config() -> TrainConfig:
    """A run that takes about a second on 2 cores: bundled MNIST, 256 images, batch 32."""
    return TrainConfig(dataset="mnist", source="bundled", train_limit=256, batch_size=32, epochs=2)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A real run folder, trained once for the whole session: bundled MNIST, 1,024 images, 3 epochs
    (enough for the model to beat its noisy input by a few dB). Read it; do not resume it."""
    from dae_tui.core.events import RunFinished
    from dae_tui.training.trainer import Trainer

    config = TrainConfig(dataset="mnist", source="bundled", train_limit=1024, batch_size=32, epochs=3)
    events = list(Trainer(config, runs_dir=tmp_path_factory.mktemp("trained")).run())
    assert isinstance(events[-1], RunFinished)
    return Path(events[-1].run_dir)


@pytest.fixture(autouse=True)
def no_global_state_left_behind():
    """Every test leaves the process as it found it: torch's thread count and default dtype in
    this thread, and the environment (a run sets such things only in the thread that trains)."""
    torch = sys.modules.get("torch")
    before = (torch.get_num_threads(), torch.get_default_dtype()) if torch else None
    environ = dict(os.environ)
    yield
    torch = sys.modules.get("torch")
    if torch is not None and before is not None:
        assert (torch.get_num_threads(), torch.get_default_dtype()) == before, "a test changed torch's settings"
    # pytest's own marker, and the cache folder torch's compiler sets once, on its first import.
    ignored = ("PYTEST_CURRENT_TEST", "TORCHINDUCTOR_CACHE_DIR")
    changed = sorted(
        k for k in set(environ) | set(os.environ) if environ.get(k) != os.environ.get(k) and k not in ignored
    )
    assert not changed, f"a test changed the environment: {changed}"


def pytest_collection_modifyitems(config, items):
    """Markers by layer, so the lanes need no list to keep: everything under e2e/ drives real
    processes and terminals (e2e, slow); every ui/ test starts the real app (slow: one to a few
    seconds each); the PostgreSQL sweep needs its server (postgres, slow). Unit tests that train
    or start processes carry @pytest.mark.slow themselves (each took over a second here)."""
    for item in items:
        parts = item.path.parts
        if "ui" in parts:
            item.add_marker(pytest.mark.slow)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)
        if item.path.name == "test_sweep_postgres.py":
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.slow)
