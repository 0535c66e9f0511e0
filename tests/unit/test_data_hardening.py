"""Corrupt, hostile and unreachable data: every failure is one `DataError` line, found cheaply.

Regression tests for the hardening issue: corrupt gzip escaping as zlib.error, whole-file reads
before the header is judged, a named --data-dir passed over under `auto`, and slow download
fallback with no route to the mirrors. No test here asserts wall-clock time.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import random
import resource
import socket
import threading
import tracemalloc
import zlib
from functools import partial

import pytest
import torch
from conftest import idx_bytes, write_idx_set

from dae_tui.core.config import TrainConfig
from dae_tui.training import data
from dae_tui.training.data import MAX_IMAGES, DataError, load_data, read_idx

MB = 1 << 20


def _images_payload(n: int = 3) -> bytes:
    # Real digits: their deflate stream has Huffman tables and back-references for a fuzz to break
    # (random pixels compress to stored literals, where every corruption is a mere CRC mismatch).
    real = gzip.decompress((data.bundled_dir("mnist") / "t10k-images-idx3-ubyte.gz").read_bytes())
    return idx_bytes(real[16 : 16 + n * 784], (n, 28, 28), 2051)


def _corrupt(rng: random.Random, blob: bytes) -> bytes:
    out = bytearray(blob)
    how = rng.choice(["flip", "flip", "truncate", "insert", "append", "drop"])
    if how == "flip":
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] ^= rng.randrange(1, 256)
    elif how == "truncate":
        del out[rng.randrange(len(out)) :]
    elif how == "insert":
        at = rng.randrange(len(out))
        out[at:at] = rng.randbytes(rng.randint(1, 16))
    elif how == "append":
        out += rng.randbytes(rng.randint(1, 64))
    else:
        at = rng.randrange(len(out))
        del out[at : at + rng.randint(1, 32)]
    return bytes(out)


def _assert_one_line_naming(err: DataError, path) -> str:
    message = str(err)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


# --- 1. any decode failure is a DataError ------------------------------------------------------


@pytest.mark.parametrize(
    "payload", [_images_payload(), idx_bytes(bytes(range(10)) * 5, (50,), 2049)], ids=["images", "labels"]
)
def test_fuzzed_gzip_files_load_or_give_one_dataerror_line(tmp_path, payload):
    valid = gzip.compress(payload, mtime=0)
    rng = random.Random(4000)
    loaded = refused = zlib_errors = 0
    for i in range(300):
        blob = _corrupt(rng, valid)
        path = tmp_path / f"fuzz-{i:03d}.gz"
        path.write_bytes(blob)
        try:
            gzip.decompress(blob)
        except zlib.error:
            zlib_errors += 1  # what used to escape read_idx
        except (OSError, EOFError):
            pass
        try:
            tensor = read_idx(path)
        except DataError as err:
            _assert_one_line_naming(err, path)
            refused += 1
        else:
            assert tensor.dtype == torch.uint8 and tensor.shape[1:] in ((28, 28), ())
            loaded += 1
    assert loaded and refused and zlib_errors, (loaded, refused, zlib_errors)


def test_a_deflate_stream_that_zlib_rejects_is_a_broken_gzip_line(tmp_path):
    valid = gzip.compress(_images_payload(), mtime=0)
    rng = random.Random(105)
    while True:  # deterministic: the first flip inside the deflate body that zlib refuses
        blob = bytearray(valid)
        blob[rng.randrange(10, len(blob) - 8)] ^= rng.randrange(1, 256)
        try:
            gzip.decompress(bytes(blob))
        except zlib.error:
            break
        except (OSError, EOFError):
            continue
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(bytes(blob))
    with pytest.raises(DataError) as info:
        read_idx(path, 2051)
    assert "broken gzip data" in _assert_one_line_naming(info.value, path)


@pytest.mark.parametrize("trailer_byte, words", [(-8, "CRC check failed"), (-2, "Incorrect length")])
def test_a_gzip_trailer_that_does_not_match_is_refused(tmp_path, trailer_byte, words):
    blob = bytearray(gzip.compress(_images_payload(), mtime=0))
    blob[trailer_byte] ^= 0xFF
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(bytes(blob))
    with pytest.raises(DataError) as info:
        read_idx(path, 2051)
    message = _assert_one_line_naming(info.value, path)
    assert "broken gzip data" in message and words in message


# --- 2. bounded reads --------------------------------------------------------------------------


def _write_gzip(path, header: bytes, zeros: int) -> None:
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(header)
        chunk = bytes(4 * MB)
        for _ in range(zeros // len(chunk)):
            out.write(chunk)


@pytest.mark.parametrize(
    "magic, dims, words",
    [
        (2051, (2**31, 28, 28), f"declares 2,147,483,648 images of 28x28; expected 1 to {MAX_IMAGES:,}"),
        (2049, (2**32 - 1,), f"declares 4,294,967,295 labels; expected 1 to {MAX_IMAGES:,}"),
        (2051, (0, 28, 28), "declares 0 images of 28x28; expected 1 to"),
        (2051, (10, 32, 32), "declares images of 32x32; expected images of 28x28"),
        (2050, (10, 784), "wrong magic number 2050, expected 2051 or 2049"),
    ],
)
def test_a_gzip_declaring_an_absurd_shape_is_refused_from_its_header(tmp_path, magic, dims, words):
    path = tmp_path / "bomb.gz"
    _write_gzip(path, idx_bytes(b"", dims, magic), zeros=4 * MB)
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert words in _assert_one_line_naming(info.value, path)
    assert peak < 4 * MB


def test_a_gzip_that_expands_past_its_header_stops_one_byte_after_the_data(tmp_path, monkeypatch):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    _write_gzip(path, _images_payload(10), zeros=64 * MB)
    decompressed = []

    class Counting(gzip.GzipFile):
        def read(self, size=-1):
            got = super().read(size)
            decompressed.append(len(got))
            return got

    monkeypatch.setattr(gzip, "GzipFile", Counting)
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            read_idx(path, 2051)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = _assert_one_line_naming(info.value, path)
    assert "more data than its header declares (7,840 data bytes)" in message
    assert 0 < sum(decompressed) <= 16 + 10 * 784 + 1
    assert peak < 4 * MB


def test_a_sparse_plain_file_of_the_wrong_size_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    with path.open("wb") as out:
        out.write(idx_bytes(b"", (60000, 28, 28), 2051))
        out.truncate(1 << 30)  # sparse: no disk, but a whole-file read would cost 1 GB
    before = _maxrss_mb()
    with pytest.raises(DataError) as info:
        read_idx(path, 2051)
    message = _assert_one_line_naming(info.value, path)
    assert "1,026,701,808 unexpected bytes after the 47,040,000 data bytes its header declares" in message
    assert _maxrss_mb() - before < 50


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_a_short_file_declaring_the_most_images_costs_only_what_it_holds(tmp_path, packed):
    """Plain: refused on its size before anything is allocated; gzip: pages the stream never
    reaches are never touched."""
    payload = idx_bytes(bytes(7840), (MAX_IMAGES, 28, 28), 2051)
    path = tmp_path / ("train-images-idx3-ubyte" + (".gz" if packed else ""))
    path.write_bytes(gzip.compress(payload) if packed else payload)
    before = _maxrss_mb()
    with pytest.raises(DataError) as info:
        read_idx(path, 2051)
    assert f"truncated, 7,840 of {MAX_IMAGES * 784:,} data bytes present" in _assert_one_line_naming(info.value, path)
    assert _maxrss_mb() - before < 50


def test_a_valid_file_reads_into_one_writable_contiguous_tensor(tmp_path):
    payload = _images_payload(5)
    (tmp_path / "a.gz").write_bytes(gzip.compress(payload))
    images = read_idx(tmp_path / "a.gz", 2051)
    assert images.shape == (5, 28, 28) and images.is_contiguous()
    assert bytes(images.flatten().tolist()) == payload[16:]
    images[0, 0, 0] = 7  # owned memory, not a view of a read-only buffer


# --- 3. a named --data-dir is never passed over ------------------------------------------------


def test_auto_with_a_broken_named_folder_raises_naming_the_file(tmp_path, offline, no_debian):
    folder = write_idx_set(tmp_path / "d", n_train=10, n_test=5, gz=True)
    broken = folder / "train-images-idx3-ubyte.gz"
    broken.write_bytes(broken.read_bytes()[:-20])
    with pytest.raises(DataError) as info:
        load_data(TrainConfig(dataset="mnist", source="auto", data_dir=str(folder)), cache_dir=tmp_path)
    assert "broken gzip data" in _assert_one_line_naming(info.value, broken)


def test_auto_with_a_named_folder_holding_no_idx_files_raises(tmp_path, offline, no_debian):
    (tmp_path / "empty").mkdir()
    config = TrainConfig(dataset="mnist", source="auto", data_dir=str(tmp_path / "empty"))
    with pytest.raises(DataError, match="^no mnist IDX files .* in " + str(tmp_path / "empty")):
        load_data(config, cache_dir=tmp_path)


def test_a_named_folder_with_some_files_says_which_are_missing(tmp_path, no_debian):
    folder = write_idx_set(tmp_path / "d", n_train=10, n_test=5)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=f"^{folder}: incomplete mnist IDX set, missing t10k-labels-idx1-ubyte"):
        load_data(TrainConfig(dataset="mnist", source="auto", data_dir=str(folder)), cache_dir=tmp_path)


def test_a_named_folder_is_not_swapped_for_debians(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "debian", n_train=8, n_test=4)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    (tmp_path / "mine").mkdir()
    for source in ("auto", "local"):
        config = TrainConfig(dataset="fashion-mnist", source=source, data_dir=str(tmp_path / "mine"))
        with pytest.raises(DataError, match="no fashion-mnist IDX files"):
            load_data(config, cache_dir=tmp_path)


def test_auto_without_a_named_folder_still_falls_back_and_says_why(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "debian", n_train=8, n_test=4)
    broken = tmp_path / "debian" / "train-labels-idx1-ubyte"
    broken.write_bytes(b"\x00\x00\x08\x01")
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "debian")

    def no_download(config, root):
        raise DataError("download of fashion-mnist failed: no network in this test")

    monkeypatch.setattr(data, "_download", no_download)
    loaded = load_data(TrainConfig(dataset="fashion-mnist", source="auto"), cache_dir=tmp_path)
    assert loaded.source == "bundled" and len(loaded.notes) == 2
    assert loaded.notes[0].startswith(f"local: {broken}: truncated header")
    assert loaded.notes[1] == "download: download of fashion-mnist failed: no network in this test"


# --- 4. download gives up within its budget when no mirror answers ------------------------------


@pytest.fixture
def connections(monkeypatch):
    """socket.create_connection as the mirrors see it: 10.* never answers, loopback is real."""
    real = socket.create_connection
    calls: list[tuple[tuple[str, int], float | None, str]] = []
    release = threading.Event()

    def fake(address, timeout=None, *args, **kwargs):
        calls.append((address, timeout, threading.current_thread().name))
        if not address[0].startswith("10."):
            return real(address, timeout, *args, **kwargs)
        release.wait(timeout if isinstance(timeout, (int, float)) else socket.getdefaulttimeout())
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", fake)
    yield calls
    release.set()


def test_download_gives_up_when_no_mirror_answers_within_the_budget(tmp_path, monkeypatch, connections):
    from torchvision import datasets

    monkeypatch.setattr(datasets.MNIST, "mirrors", ["https://10.255.255.1/mnist/", "http://10.255.255.2/"])
    monkeypatch.setattr(data, "MIRROR_PROBE_BUDGET_S", 0.2)
    with pytest.raises(DataError) as info:
        load_data(TrainConfig(dataset="mnist", source="download"), cache_dir=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("download of mnist from https://10.255.255.1/mnist/, http://10.255.255.2/ failed: ")
    assert "no mirror answered within 0.2 s" in message
    assert {address for address, _, _ in connections} == {("10.255.255.1", 443), ("10.255.255.2", 80)}
    assert all(timeout is not None and timeout <= 0.2 for _, timeout, _ in connections)
    assert not (tmp_path / "MNIST").exists()  # torchvision was never asked


def test_a_resolver_that_hangs_cannot_stretch_the_budget(tmp_path, monkeypatch):
    from torchvision import datasets

    release, finished = threading.Event(), threading.Event()

    def hangs(address, timeout=None, *args, **kwargs):
        release.wait(30)  # ignores its timeout, like getaddrinfo
        finished.set()
        raise OSError("resolver gave up")

    monkeypatch.setattr(socket, "create_connection", hangs)
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://mirror.invalid/"])
    monkeypatch.setattr(data, "MIRROR_PROBE_BUDGET_S", 0.2)
    try:
        with pytest.raises(DataError, match="no mirror answered within 0.2 s \\(no answer\\)"):
            load_data(TrainConfig(dataset="mnist", source="download"), cache_dir=tmp_path)
        assert not finished.is_set()  # the error came back while the probe was still stuck
    finally:
        release.set()


def test_download_tries_the_mirror_that_answered_first(tmp_path, monkeypatch, connections):
    from torchvision import datasets

    served = write_idx_set(tmp_path / "mirror", n_train=16, n_test=8, gz=True)
    resources = [(p.name, hashlib.md5(p.read_bytes()).hexdigest()) for p in sorted(served.iterdir())]
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        live = f"http://127.0.0.1:{server.server_port}/"
        monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://10.255.255.1/", live])
        monkeypatch.setattr(datasets.MNIST, "resources", resources)
        loaded = load_data(TrainConfig(dataset="mnist", source="download"), cache_dir=tmp_path / "cache")
    finally:
        server.shutdown()
    assert (loaded.source, len(loaded.train), len(loaded.test)) == ("download", 16, 8)
    assert (tmp_path / "cache" / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    dead = [name for (host, _), _, name in connections if host == "10.255.255.1"]
    assert dead and all(name == "dae-tui mirror probe" for name in dead)  # torchvision never waited on it
    assert datasets.MNIST.mirrors == ["http://10.255.255.1/", live]


def test_a_cached_download_needs_no_mirror(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "MNIST" / "raw", n_train=12, n_test=6)

    def no_network(*args, **kwargs):
        raise AssertionError("a cached copy must not touch the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    loaded = load_data(TrainConfig(dataset="mnist", source="download"), cache_dir=tmp_path)
    assert (loaded.source, len(loaded.train), len(loaded.test)) == ("download", 12, 6)
