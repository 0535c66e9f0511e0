"""Datasets as resident uint8 tensors, read from real IDX files, from three kinds of source.

Images stay uint8 (N, 28, 28) until a batch is taken: a batch is an index into one tensor on the
training device, so there is no per-image PIL/ToTensor path.

Sources (`TrainConfig.source`), tried in this order by `auto`:
1. local: IDX files in `data_dir` (plain or .gz, flat or torchvision's `<Class>/raw/` layout);
   with no `data_dir`, for fashion-mnist, Debian's `dataset-fashion-mnist` folder.
2. download: torchvision's own download into the user cache dir, once a mirror has answered
   within `MIRROR_PROBE_BUDGET_S` seconds in all.
3. bundled: the official 10k test sets shipped in `dae_tui/data`, split 8,000 / 2,000.

`auto` passes over a source that fails and says why in `notes`, except a folder the user named:
with `data_dir` set, the local source reads that folder or raises, under `auto` as under `local`.

An IDX file's header is judged before its body is read: only (N, 28, 28) images and (N,) labels
with 1 <= N <= `MAX_IMAGES` pass, and no more than the declared bytes (plus one, to notice trailing
data) are ever read or decompressed, so a corrupt or hostile file costs little time or memory.

May import torch, torchvision and `dae_tui.core`; never textual, rich or optuna.
"""

from __future__ import annotations

import gzip
import math
import os
import queue
import socket
import stat
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from io import BufferedIOBase
from pathlib import Path
from urllib.parse import urlsplit

import torch

from dae_tui.core.config import BUNDLED, ConfigError, TrainConfig
from dae_tui.core.errors import DaeError

__all__ = [
    "DEBIAN_FASHION_DIR",
    "MAX_IMAGES",
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

MAX_IMAGES = 200_000
"""Most images (or labels) one IDX file may declare: over 3x the largest real file (60,000), and it
caps what a lying header can make us read to 157 MB, well under a run's own footprint."""

MIRROR_PROBE_BUDGET_S = 5.0
"""Seconds, in all, for any download mirror to accept a connection before `download` gives up."""

DOWNLOAD_TIMEOUT_S = 8.0
"""Seconds a started download may wait on a silent socket; a slow download that moves goes on."""

_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049
_IDX_KINDS = {_IDX_IMAGES_MAGIC: ("images", (28, 28)), _IDX_LABELS_MAGIC: ("labels", ())}
_CHUNK = 1 << 20
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_TORCHVISION_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}

KMNIST_HOME = "https://github.com/rois-codh/kmnist"
"""Where Kuzushiji-MNIST comes from (its licence, CC BY-SA 4.0, keeps it out of the package)."""


class DataError(RuntimeError, DaeError):
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


def _one_line(err: BaseException) -> str:
    return " ".join(str(getattr(err, "strerror", None) or err).split()) or type(err).__name__


# --- IDX ------------------------------------------------------------------------------------


def _fill(stream: BufferedIOBase, view: memoryview) -> int:
    """Read into `view` until it is full or the stream ends; the number of bytes read."""
    got = 0
    while got < len(view):
        # Bounded chunks: gzip's readinto decompresses into a temporary bytes object of the request.
        n = stream.readinto(view[got : got + _CHUNK])
        if not n:
            break
        got += n
    return got


def _judge_header(path: Path, stream: BufferedIOBase, expect_magic: int | None) -> tuple[int, ...]:
    """The shape an IDX header declares, once it is one this module accepts."""
    head = bytearray(4)
    got = _fill(stream, memoryview(head))
    if got < 4:
        raise DataError(f"{path}: too short for an IDX file ({got} bytes)")
    magic = struct.unpack(">i", head)[0]
    wanted = [expect_magic] if expect_magic is not None else list(_IDX_KINDS)
    allowed = " or ".join(str(m) for m in wanted)
    if head[0] or head[1] or head[2] != 0x08 or head[3] == 0:
        raise DataError(f"{path}: not a uint8 IDX file (magic number {magic}, expected {allowed})")
    if magic not in wanted or magic not in _IDX_KINDS:
        raise DataError(f"{path}: wrong magic number {magic}, expected {allowed}")
    kind, tail = _IDX_KINDS[magic]
    dims = bytearray(4 * head[3])
    got = _fill(stream, memoryview(dims))
    if got < len(dims):
        raise DataError(f"{path}: truncated header ({4 + got} of {4 + len(dims)} bytes)")
    count, *rest = struct.unpack(f">{head[3]}I", dims)
    size = "x".join(str(d) for d in rest)
    if tuple(rest) != tail:
        raise DataError(f"{path}: declares {kind} of {size}; expected {kind} of {'x'.join(map(str, tail))}")
    if not 1 <= count <= MAX_IMAGES:
        what = f"{count:,} {kind}" + (f" of {size}" if size else "")
        raise DataError(f"{path}: declares {what}; expected 1 to {MAX_IMAGES:,}")
    return (count, *tail)


def _read_body(path: Path, stream: BufferedIOBase, shape: tuple[int, ...], file_size: int | None) -> torch.Tensor:
    count = math.prod(shape)
    header = 4 + 4 * len(shape)
    if file_size is not None:
        if file_size - header < count:
            raise DataError(f"{path}: truncated, {file_size - header:,} of {count:,} data bytes present")
        if file_size - header > count:
            extra = f"{file_size - header - count:,} unexpected bytes"
            raise DataError(f"{path}: {extra} after the {count:,} data bytes its header declares")
    # Read straight into the tensor's memory: the only copy. Pages a short file never reaches are
    # never touched, so a header that lies costs address space, not memory.
    data = torch.empty(count, dtype=torch.uint8)
    got = _fill(stream, data.numpy().data)
    if got < count:
        raise DataError(f"{path}: truncated, {got:,} of {count:,} data bytes present")
    # One byte more: enough to know there is trailing data, and for gzip to check its CRC and length.
    if stream.read(1):
        raise DataError(f"{path}: more data than its header declares ({count:,} data bytes)")
    return data.reshape(shape)


def read_idx(path: str | Path, expect_magic: int | None = None) -> torch.Tensor:
    """Read one uint8 IDX file (plain or gzip): images (N, 28, 28) or labels (N,).

    `expect_magic` is 2051 (images) or 2049 (labels); None takes either. Raises `DataError` naming
    the file for a wrong magic number or shape, a truncated or overlong body, or broken gzip.
    """
    path, packed = Path(path), False
    try:
        with path.open("rb") as file:
            packed = file.peek(2)[:2] == b"\x1f\x8b"
            if packed:
                with gzip.GzipFile(fileobj=file, mode="rb") as stream:
                    return _read_body(path, stream, _judge_header(path, stream, expect_magic), None)
            info = os.fstat(file.fileno())
            size = info.st_size if stat.S_ISREG(info.st_mode) else None
            return _read_body(path, file, _judge_header(path, file, expect_magic), size)
    except (OSError, EOFError, zlib.error) as err:
        # gzip reports a broken file in all of these (BadGzipFile is an OSError).
        raise DataError(f"{path}: {'broken gzip data' if packed else 'cannot read'} ({_one_line(err)})") from None


def read_idx_pair(images_path: Path, labels_path: Path) -> DataSplit:
    """Read an images file and its labels file and check they belong together."""
    images = read_idx(images_path, _IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, _IDX_LABELS_MAGIC)
    if labels.shape[0] != images.shape[0]:
        raise DataError(f"{labels_path}: {labels.shape[0]} labels for {images.shape[0]} images in {images_path.name}")
    return DataSplit(images, labels.long())


# --- local ----------------------------------------------------------------------------------


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _local_folders(config: TrainConfig) -> list[Path]:
    """Where the local source looks: the named folder only, when there is one."""
    if config.data_dir:
        root = Path(config.data_dir)
        return [root, root / _TORCHVISION_FOLDER[config.dataset] / "raw", root / "raw"]
    return [DEBIAN_FASHION_DIR] if config.dataset == "fashion-mnist" else []


def _load_local(config: TrainConfig) -> LoadedData:
    folders = _local_folders(config)
    if not folders:
        raise ConfigError(f"--source local needs --data-dir DIR holding the four {config.dataset} IDX files")
    incomplete: tuple[Path, list[str]] | None = None
    for folder in folders:
        found = {stem: _find(folder, stem) for stems in _FILES.values() for stem in stems}
        missing = [stem for stem, path in found.items() if path is None]
        if not missing:
            train = read_idx_pair(*(found[stem] for stem in _FILES["train"]))  # type: ignore[arg-type]
            test = read_idx_pair(*(found[stem] for stem in _FILES["test"]))  # type: ignore[arg-type]
            return LoadedData(train, test, source="local", detail=str(folder))
        if len(missing) < len(found) and incomplete is None:
            incomplete = folder, missing
    if incomplete:
        folder, missing = incomplete
        raise DataError(f"{folder}: incomplete {config.dataset} IDX set, missing {', '.join(missing)} (plain or .gz)")
    names = ", ".join(stems[0] for stems in _FILES.values())
    where = " or ".join(str(f) for f in folders)
    raise DataError(f"no {config.dataset} IDX files ({names}, labels too; plain or .gz) in {where}")


# --- download ------------------------------------------------------------------------------

_timeout_lock = threading.Lock()


def _first_answering(mirrors: list[str], budget: float) -> tuple[str | None, list[str]]:
    """The first mirror to accept a TCP connection within `budget` seconds, and why others failed.

    All are probed at once, each on a daemon thread, and the wait is on a queue with a deadline:
    a resolver that hangs (getaddrinfo has no timeout) cannot stretch the budget either.
    """
    answers: queue.Queue[tuple[str, str | None]] = queue.Queue()

    def probe(url: str) -> None:
        parts = urlsplit(url)
        try:
            address = (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
            with socket.create_connection(address, timeout=budget):
                answers.put((url, None))
        except (OSError, ValueError) as err:
            answers.put((url, _one_line(err)))

    for url in mirrors:
        threading.Thread(target=probe, args=(url,), name="dae-tui mirror probe", daemon=True).start()
    deadline = time.monotonic() + budget
    failures: list[str] = []
    for _ in mirrors:
        try:
            url, error = answers.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if error is None:
            return url, failures
        failures.append(f"{urlsplit(url).hostname}: {error}")
    return None, failures


def _download(config: TrainConfig, root: Path) -> LoadedData:
    """torchvision's own download (or its cached copy) under `root`."""
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST, "kmnist": datasets.KMNIST}[config.dataset]
    mirrors = list(cls.mirrors)
    raw = Path(root) / cls.__name__ / "raw"
    # The same test torchvision makes before it downloads: a cached copy needs no network.
    cached = all((raw / os.path.splitext(os.path.basename(name))[0]).is_file() for name, _ in cls.resources)
    if not cached:
        first, failures = _first_answering(mirrors, MIRROR_PROBE_BUDGET_S)
        if first is None:
            why = "; ".join(failures) or "no answer"
            raise DataError(
                f"download of {config.dataset} from {', '.join(mirrors)} failed: "
                f"no mirror answered within {MIRROR_PROBE_BUDGET_S:g} s ({why})"
            )
        # torchvision tries its mirrors in order for every file: the one that answered goes first.
        # A subclass of the same name keeps the `<Class>/raw` folder and leaves torchvision's class alone.
        ordered = [first] + [m for m in mirrors if m != first]
        cls = type(cls.__name__, (cls,), {"mirrors": ordered})
    # torchvision opens its URLs with no timeout; the socket default is the only handle on it.
    with _timeout_lock:
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
        try:
            train = cls(str(root), train=True, download=True)
            test = cls(str(root), train=False, download=True)
        except Exception as err:  # noqa: BLE001 - urllib, ssl, md5 and OS errors all mean "no data"
            reason = str(err).strip().splitlines()
            raise DataError(
                f"download of {config.dataset} from {', '.join(mirrors)} failed: "
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
    if config.dataset not in BUNDLED:
        raise ConfigError(
            f"{config.dataset} is not bundled (its licence keeps it out of the package): give --data-dir "
            f"DIR with its four IDX files (from {KMNIST_HOME}) or use --source download"
        )
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
    is missing, unreachable or broken. With `auto`, passed-over sources are listed in `notes`; a
    `data_dir` the user named is never passed over: its failure is raised.
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
        if name == "local" and not _local_folders(config):
            continue  # nothing local to look at: say nothing about it
        try:
            data = loader()
        except (DataError, ConfigError) as err:
            if name == "local" and config.data_dir:
                raise  # training on other data than the folder asked for would hide the problem
            notes.append(f"{name}: {err}")
            continue
        return LoadedData(data.train, data.test, data.source, data.detail, tuple(notes))
    if config.dataset not in BUNDLED:
        tried = " | ".join(note for note in notes if not note.startswith("bundled:"))
        raise DataError(
            f"no {config.dataset} data here: put its four IDX files (from {KMNIST_HOME}) in a folder and "
            f"give --data-dir DIR, or let the download through ({tried})"
        )
    raise DataError("no source worked: " + " | ".join(notes))
