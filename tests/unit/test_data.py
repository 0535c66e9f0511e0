"""IDX reading and every data source, on files the tests write and the files the package ships."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from functools import partial

import pytest
import torch
from conftest import idx_bytes, write_idx_set

from dae_tui.core.config import ConfigError, TrainConfig
from dae_tui.training import data
from dae_tui.training.data import DataError, load_data, read_idx


def test_read_idx_plain_and_gz_give_the_same_tensor(tmp_path):
    payload = idx_bytes(bytes(i % 256 for i in range(2 * 784)), (2, 28, 28), 2051)
    (tmp_path / "a").write_bytes(payload)
    (tmp_path / "a.gz").write_bytes(gzip.compress(payload))
    plain, packed = read_idx(tmp_path / "a", 2051), read_idx(tmp_path / "a.gz", 2051)
    assert plain.dtype == torch.uint8 and plain.shape == (2, 28, 28)
    assert torch.equal(plain, packed)
    assert plain[0, 0, 5].item() == 5


@pytest.mark.parametrize(
    "content, words",
    [
        (idx_bytes(bytes(784), (1, 28, 28), 2049), ["wrong magic number 2049, expected 2051"]),
        (b"\x89PNG\r\n\x1a\nabcdefgh", ["not a uint8 IDX file"]),
        (idx_bytes(bytes(700), (1, 28, 28), 2051), ["truncated, 700 of 784 data bytes"]),
        (idx_bytes(bytes(800), (1, 28, 28), 2051), ["16 unexpected bytes"]),
        (b"\x00\x00", ["too short"]),
        (b"\x1f\x8b\x08\x00garbage", ["broken gzip"]),
    ],
)
def test_broken_files_give_one_line_naming_the_file(tmp_path, content, words):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_idx(path, 2051)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    for word in words:
        assert word in message


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "nope", 2051)


@pytest.mark.parametrize("gz", [False, True])
def test_local_source_reads_a_flat_folder(tmp_path, gz, no_debian):
    write_idx_set(tmp_path, n_train=30, n_test=10, gz=gz)
    loaded = load_data(TrainConfig(dataset="mnist", source="local", data_dir=str(tmp_path)))
    assert (loaded.source, len(loaded.train), len(loaded.test)) == ("local", 30, 10)
    assert loaded.train.images.dtype == torch.uint8 and loaded.train.labels.dtype == torch.int64
    assert loaded.detail == str(tmp_path) and not loaded.is_sample


def test_local_source_reads_torchvisions_layout(tmp_path, no_debian):
    write_idx_set(tmp_path / "FashionMNIST" / "raw", n_train=12, n_test=6)
    loaded = load_data(TrainConfig(dataset="fashion-mnist", source="local", data_dir=str(tmp_path)))
    assert len(loaded.train) == 12 and loaded.detail.endswith("FashionMNIST/raw")


def test_local_source_with_mismatched_labels_names_the_file(tmp_path, no_debian):
    write_idx_set(tmp_path, n_train=10, n_test=5)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(bytes(9), (9,), 2049))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte: 9 labels for 10 images"):
        load_data(TrainConfig(dataset="mnist", source="local", data_dir=str(tmp_path)))


def test_local_source_without_data_dir_is_a_usage_error(no_debian):
    with pytest.raises(ConfigError, match="--source local needs --data-dir"):
        load_data(TrainConfig(dataset="mnist", source="local"))


def test_local_source_with_empty_folder_says_what_is_missing(tmp_path, no_debian):
    with pytest.raises(DataError, match="no mnist IDX files"):
        load_data(TrainConfig(dataset="mnist", source="local", data_dir=str(tmp_path)))


def test_local_fashion_mnist_uses_debians_folder(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "debian", n_train=8, n_test=4, gz=True)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    loaded = load_data(TrainConfig(dataset="fashion-mnist", source="local"))
    assert loaded.detail == str(tmp_path / "debian") and len(loaded.train) == 8


@pytest.mark.parametrize("dataset, mean", [("mnist", 33.8), ("fashion-mnist", 73.1)])
def test_bundled_sample_is_the_real_test_set_split_8000_2000(dataset, mean):
    loaded = load_data(TrainConfig(dataset=dataset, source="bundled"))
    assert (len(loaded.train), len(loaded.test)) == (8000, 2000)
    assert loaded.is_sample and loaded.detail == str(data.bundled_dir(dataset))
    everything = torch.cat([loaded.train.images, loaded.test.images]).float()
    assert everything.mean().item() == pytest.approx(mean, abs=0.1)
    assert torch.bincount(loaded.test.labels, minlength=10).min() > 150
    again = load_data(TrainConfig(dataset=dataset, source="bundled"))
    assert torch.equal(again.test.images, loaded.test.images)


def test_bundled_attribution_ships_with_the_package():
    text = (data.bundled_dir("mnist").parent / "ATTRIBUTION.md").read_text()
    assert "CC BY-SA 3.0" in text and "Zalando" in text and "MIT" in text


def test_download_fails_fast_with_one_line_when_offline(tmp_path, offline):
    with pytest.raises(DataError) as info:
        load_data(TrainConfig(dataset="mnist", source="download"), cache_dir=tmp_path)
    message = str(info.value)
    assert message.startswith("download of mnist from http://127.0.0.1:9/ failed") and "\n" not in message


def test_auto_falls_back_to_bundled_and_says_why(tmp_path, offline, no_debian):
    loaded = load_data(TrainConfig(dataset="mnist", source="auto"), cache_dir=tmp_path)
    assert loaded.source == "bundled"
    assert len(loaded.notes) == 1 and loaded.notes[0].startswith("download: download of mnist")


def test_auto_prefers_local_data(tmp_path, offline, no_debian):
    write_idx_set(tmp_path / "d", n_train=10, n_test=5)
    loaded = load_data(TrainConfig(dataset="mnist", data_dir=str(tmp_path / "d")), cache_dir=tmp_path)
    assert loaded.source == "local" and loaded.notes == ()


def test_auto_never_passes_over_a_folder_the_user_named(tmp_path, offline, no_debian):
    """Issue 10 item 4: a broken --data-dir is an error even under auto, naming the file."""
    write_idx_set(tmp_path / "d", n_train=10, n_test=5)
    (tmp_path / "d" / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: truncated header"):
        load_data(TrainConfig(dataset="mnist", data_dir=str(tmp_path / "d")), cache_dir=tmp_path)


def test_download_through_torchvision_from_a_loopback_mirror(tmp_path, monkeypatch):
    """The real torchvision download code, fetching real .gz IDX files from a local HTTP server."""
    from torchvision import datasets

    served = write_idx_set(tmp_path / "mirror", n_train=16, n_test=8, gz=True)
    resources = [(p.name, hashlib.md5(p.read_bytes()).hexdigest()) for p in sorted(served.iterdir())]
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(datasets.MNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
        monkeypatch.setattr(datasets.MNIST, "resources", resources)
        cache = tmp_path / "cache"
        loaded = load_data(TrainConfig(dataset="mnist", source="download"), cache_dir=cache)
        assert (loaded.source, len(loaded.train), len(loaded.test)) == ("download", 16, 8)
        assert (cache / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    finally:
        server.shutdown()
    # Cached now: a second load needs no server.
    again = load_data(TrainConfig(dataset="mnist", source="download"), cache_dir=cache)
    assert torch.equal(again.train.images, loaded.train.images)
