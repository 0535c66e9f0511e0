"""Datasets as resident uint8 tensors, read from real IDX files, from three kinds of source.

Images stay uint8 (N, 28, 28) until a batch is taken: a batch is an index into one tensor on the
training device, so there is no per-image PIL/ToTensor path.

Sources (`TrainConfig.source`), tried in this order by `auto`:
1. local: IDX files in `data_dir` (plain or .gz, flat or torchvision's `<Class>/raw/` layout);
   for fashion-mnist also Debian's `dataset-fashion-mnist` folder.
2. download: torchvision's own download into the user cache dir, with a short timeout.
3. bundled: the official 10k test sets shipped in `dae_tui/data`, split 8,000 / 2,000.

May import torch and torchvision; never textual or rich.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import ConfigError, TrainConfig

__all__ = [
    "DEBIAN_FASHION_DIR",
    "DataError",
    "DataSplit",
    "LoadedData",
    "bundled_dir",
    "load_data",
    "read_idx",
    "read_idx_pair",
]

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's `dataset-fashion-mnist` package puts the full Fashion-MNIST."""

DOWNLOAD_TIMEOUT_S = 8.0
"""Seconds a download may wait on the network before giving up."""

_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_TORCHVISION_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


class DataError(RuntimeError):
    """Data that is missing, unreachable or broken; `str()` is one line naming the file."""


@dataclass(frozen=True)
class DataSplit:
    """One split: `images` uint8 (N, 28, 28), `labels` int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.images.shape[0])


@dataclass(frozen=True)
class LoadedData:
    """Both splits plus where they came from."""

    train: DataSplit
    test: DataSplit
    source: str
    """The source actually used: local, download or bundled."""

    detail: str
    """Where exactly: the folder the files were read from."""

    notes: tuple[str, ...] = ()
    """Why earlier sources were passed over (for `auto`)."""

    @property
    def is_sample(self) -> bool:
        """True for the bundled offline sample, which every output must say."""
        return self.source == "bundled"


# --- IDX ------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as err:
            raise DataError(f"{path}: broken gzip data ({err})") from None
    return raw


def read_idx(path: str | Path, expect_magic: int | None = None) -> torch.Tensor:
    """Read one uint8 IDX file (plain or gzip) into a tensor of its stored shape.

    Raises `DataError` naming the file for a wrong magic number, a truncated body or bad gzip.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: too short for an IDX file ({len(raw)} bytes)")
    zero, dtype, ndim = raw[0] << 8 | raw[1], raw[2], raw[3]
    magic = struct.unpack(">i", raw[:4])[0]
    if zero != 0 or dtype != 0x08 or ndim == 0:
        raise DataError(f"{path}: not a uint8 IDX file (magic number {magic}, expected 2051 or 2049)")
    if expect_magic is not None and magic != expect_magic:
        raise DataError(f"{path}: wrong magic number {magic}, expected {expect_magic}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    count = 1
    for dim in shape:
        count *= dim
    body = len(raw) - header
    if body < count:
        raise DataError(f"{path}: truncated, {body} of {count} data bytes present")
    if body > count:
        raise DataError(f"{path}: {body - count} unexpected bytes after the data")
    # One writable copy (frombuffer wants one), read in place past the header: slicing first
    # would make a third copy of a 47 MB file at the peak.
    buffer = bytearray(raw)
    del raw
    data = torch.frombuffer(buffer, dtype=torch.uint8, offset=header, count=count)
    return data.reshape(shape)


def read_idx_pair(images_path: Path, labels_path: Path) -> DataSplit:
    """Read an images file and its labels file and check they belong together."""
    images = read_idx(images_path, _IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, _IDX_LABELS_MAGIC)
    if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        raise DataError(f"{images_path}: images are {tuple(images.shape)}, expected (N, 28, 28)")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{labels_path}: {labels.shape[0]} labels for {images.shape[0]} images in {images_path.name}"
        )
    return DataSplit(images, labels.long())


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _idx_folder_candidates(dataset: str, data_dir: Path) -> list[Path]:
    return [data_dir, data_dir / _TORCHVISION_FOLDER[dataset] / "raw", data_dir / "raw"]


def _read_folder(folder: Path) -> tuple[DataSplit, DataSplit] | None:
    """Both splits from a folder holding the four IDX files; None when any file is missing."""
    paths = {split: [_find(folder, stem) for stem in stems] for split, stems in _FILES.items()}
    if any(p is None for pair in paths.values() for p in pair):
        return None
    train = read_idx_pair(*paths["train"])  # type: ignore[arg-type]
    test = read_idx_pair(*paths["test"])  # type: ignore[arg-type]
    return train, test


def _load_local(config: TrainConfig) -> LoadedData:
    folders: list[Path] = []
    if config.data_dir:
        folders += _idx_folder_candidates(config.dataset, Path(config.data_dir))
    if config.dataset == "fashion-mnist":
        folders.append(DEBIAN_FASHION_DIR)
    for folder in folders:
        found = _read_folder(folder)
        if found:
            return LoadedData(*found, source="local", detail=str(folder))
    names = ", ".join(stems[0] for stems in _FILES.values())
    if not folders:
        raise ConfigError(
            f"--source local needs --data-dir DIR holding the four {config.dataset} IDX files"
        )
    where = " or ".join(str(f) for f in folders)
    raise DataError(f"no {config.dataset} IDX files ({names}, labels too; plain or .gz) in {where}")


# --- download ------------------------------------------------------------------------------

_timeout_lock = threading.Lock()


def _download(config: TrainConfig, root: Path) -> LoadedData:
    """torchvision's own download (or its cached copy) under `root`."""
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[config.dataset]
    # torchvision opens its URLs with no timeout; the socket default is the only handle on it.
    with _timeout_lock:
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
        try:
            train = cls(str(root), train=True, download=True)
            test = cls(str(root), train=False, download=True)
        except Exception as err:  # noqa: BLE001 - urllib, ssl, md5 and OS errors all mean "no data"
            reason = str(err).strip().splitlines()
            mirrors = ", ".join(cls.mirrors)
            raise DataError(
                f"download of {config.dataset} from {mirrors} failed: "
                f"{reason[-1] if reason else type(err).__name__}"
            ) from None
        finally:
            socket.setdefaulttimeout(previous)
    return LoadedData(
        DataSplit(train.data, train.targets.long()),
        DataSplit(test.data, test.targets.long()),
        source="download",
        detail=str(Path(root) / _TORCHVISION_FOLDER[config.dataset]),
    )


def default_cache_dir() -> Path:
    """The user cache folder downloads go to."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("dae-tui")) / "datasets"


# --- bundled --------------------------------------------------------------------------------

BUNDLED_TEST_EVERY = 5
"""In the bundled sample, image i is a test image when i % 5 == 4: 8,000 train, 2,000 test."""


def bundled_dir(dataset: str) -> Path:
    """The folder inside the package holding a dataset's bundled IDX files."""
    return Path(__file__).resolve().parent.parent / "data" / dataset


def _load_bundled(config: TrainConfig) -> LoadedData:
    folder = bundled_dir(config.dataset)
    stems = _FILES["test"]
    paths = [_find(folder, stem) for stem in stems]
    if None in paths:
        raise DataError(f"{folder}: the bundled {config.dataset} files are missing from the install")
    full = read_idx_pair(*paths)  # type: ignore[arg-type]
    index = torch.arange(len(full))
    is_test = index % BUNDLED_TEST_EVERY == BUNDLED_TEST_EVERY - 1
    train = DataSplit(full.images[~is_test], full.labels[~is_test])
    test = DataSplit(full.images[is_test], full.labels[is_test])
    return LoadedData(train, test, source="bundled", detail=str(folder))


# --- choosing ------------------------------------------------------------------------------


def load_data(config: TrainConfig, cache_dir: Path | None = None) -> LoadedData:
    """Load `config.dataset` from `config.source`; `auto` falls through local, download, bundled.

    Raises `ConfigError` for a source that cannot apply to this config, `DataError` for data that
    is missing, unreachable or broken. With `auto`, passed-over sources are listed in `notes`.
    """
    cache = cache_dir or default_cache_dir()
    loaders = {
        "local": lambda: _load_local(config),
        "download": lambda: _download(config, cache),
        "bundled": lambda: _load_bundled(config),
    }
    if config.source != "auto":
        return loaders[config.source]()
    notes: list[str] = []
    for name, loader in loaders.items():
        if name == "local" and not config.data_dir and config.dataset != "fashion-mnist":
            continue  # nothing local to look at: say nothing about it
        try:
            data = loader()
        except (DataError, ConfigError) as err:
            notes.append(f"{name}: {err}")
            continue
        return LoadedData(data.train, data.test, data.source, data.detail, tuple(notes))
    raise DataError("no source worked: " + " | ".join(notes))
