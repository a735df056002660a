"""MNIST and Fashion-MNIST: both folder layouts, items and transforms, the whole-batch
path, and download=True against a local HTTP server (never the internet)."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import struct
import threading

import numpy as np
import pytest

import ember
from ember.data.dataloader import DataLoader
from ember.data.transforms import ToTensor
from ember.datasets.idx import IDXFormatError
from ember.datasets.mnist import MNIST, FashionMNIST

SHARED = "/work/shared/datasets"
needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED),
                                  reason=f"the offline datasets are not at {SHARED}")


def one_sample_at_a_time(samples):
    """default_collate behind another name: the DataLoader then reads sample by sample."""
    return ember.data.default_collate(samples)



class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve(folder) -> the base URL of a local HTTP server for that folder."""
    servers = []

    def start(folder) -> str:
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                         daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def tiny_mnist_files(folder, n=6) -> dict:
    """Four small valid IDX .gz files in MNIST's names; returns {filename: md5}."""
    rng = np.random.default_rng(0)
    os.makedirs(folder, exist_ok=True)
    md5s = {}
    for prefix in ("train", "t10k"):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        image_header = b"\0\0\x08\x03" + struct.pack(">3I", n, 28, 28)
        label_header = b"\0\0\x08\x01" + struct.pack(">I", n)
        contents = {f"{prefix}-images-idx3-ubyte.gz": image_header + images.tobytes(),
                    f"{prefix}-labels-idx1-ubyte.gz": label_header + labels.tobytes()}
        for name, raw in contents.items():
            data = gzip.compress(raw, mtime=0)
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
            md5s[name] = hashlib.md5(data).hexdigest()
    return md5s


def tiny_mnist_class(md5s: dict, mirrors: list[str]):
    class TinyMNIST(MNIST):
        pass

    TinyMNIST.mirrors = mirrors
    TinyMNIST.resources = [(name, md5s[name]) for name in md5s]
    return TinyMNIST


@needs_shared
def test_mnist_from_the_shared_folder():
    train = MNIST(f"{SHARED}/mnist", train=True)
    test = MNIST(f"{SHARED}/mnist", train=False)
    assert len(train) == 60000 and len(test) == 10000
    assert train.data.shape == (60000, 28, 28) and train.data.dtype == ember.uint8
    assert train.targets.dtype == ember.int64
    image, label = train[0]
    assert image.shape == (28, 28) and image.dtype == ember.uint8
    assert isinstance(label, int) and label == 5           # MNIST's first digit is a 5


@needs_shared
def test_fashion_mnist_with_transform():
    test = FashionMNIST(f"{SHARED}/fashion-mnist", train=False, transform=ToTensor())
    image, label = test[0]
    assert image.shape == (1, 28, 28) and image.dtype == ember.float32
    assert 0.0 <= image.numpy().min() and image.numpy().max() <= 1.0
    assert test.classes[label] == "Ankle boot"


def test_torchvision_layout_and_raw_files(tmp_path):
    md5s = tiny_mnist_files(tmp_path / "data" / "MNIST" / "raw")
    for name in md5s:           # torchvision also leaves uncompressed copies: either works
        path = tmp_path / "data" / "MNIST" / "raw" / name
        path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    dataset = MNIST(tmp_path / "data", train=False)
    assert len(dataset) == 6 and dataset[3][1] == 3


def test_whole_batches_equal_sample_by_sample(tmp_path):
    tiny_mnist_files(tmp_path)
    dataset = MNIST(tmp_path)
    fast = list(DataLoader(dataset, batch_size=4))
    slow = list(DataLoader(dataset, batch_size=4, collate_fn=one_sample_at_a_time))
    assert len(fast) == len(slow) == 2
    for (xa, ya), (xb, yb) in zip(fast, slow):
        assert xa.dtype == xb.dtype == ember.uint8 and ya.dtype == yb.dtype == ember.int64
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    with_transform = MNIST(tmp_path, transform=ToTensor())
    assert with_transform.get_batch(np.array([0, 1])) is None
    xb, _ = next(iter(DataLoader(with_transform, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and xb.dtype == ember.float32


def test_missing_files_explain_how_to_get_them(tmp_path):
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte.*download=True"):
        MNIST(tmp_path)


def test_mismatched_label_count_names_the_labels_file(tmp_path):
    tiny_mnist_files(tmp_path, n=6)
    tiny_mnist_files(tmp_path / "other", n=5)
    shutil.copy(tmp_path / "other" / "train-labels-idx1-ubyte.gz",
                tmp_path / "train-labels-idx1-ubyte.gz")
    with pytest.raises(IDXFormatError, match="train-labels-idx1-ubyte.gz: holds 5 labels.*6"):
        MNIST(tmp_path)


def test_download_fetches_checks_and_keeps_good_files(tmp_path, serve):
    md5s = tiny_mnist_files(tmp_path / "server")
    TinyMNIST = tiny_mnist_class(md5s, [serve(tmp_path / "server")])
    dataset = TinyMNIST(tmp_path / "root", train=True, download=True)
    assert len(dataset) == 6
    raw = tmp_path / "root" / "TinyMNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(md5s)
    for name in md5s:
        assert (raw / name).read_bytes() == (tmp_path / "server" / name).read_bytes()


def test_download_rejects_a_checksum_mismatch_and_keeps_nothing(tmp_path, serve):
    md5s = tiny_mnist_files(tmp_path / "server")
    (tmp_path / "server" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not the real file")
    TinyMNIST = tiny_mnist_class(md5s, [serve(tmp_path / "server")])
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte.gz.*checksum mismatch"):
        TinyMNIST(tmp_path / "root", download=True)
    raw = tmp_path / "root" / "TinyMNIST" / "raw"
    assert "t10k-labels-idx1-ubyte.gz" not in os.listdir(raw)
    assert not [name for name in os.listdir(raw) if name.endswith(".part")]


def test_download_falls_back_to_the_next_mirror(tmp_path, serve):
    md5s = tiny_mnist_files(tmp_path / "server")
    (tmp_path / "empty").mkdir()
    TinyMNIST = tiny_mnist_class(md5s, [serve(tmp_path / "empty"), serve(tmp_path / "server")])
    assert len(TinyMNIST(tmp_path / "root", download=True)) == 6


def test_download_from_a_file_url(tmp_path):
    md5s = tiny_mnist_files(tmp_path / "mirror")
    TinyMNIST = tiny_mnist_class(md5s, [(tmp_path / "mirror").as_uri() + "/"])
    assert len(TinyMNIST(tmp_path / "root", train=False, download=True)) == 6


@needs_shared
def test_download_of_the_real_files_passes_the_published_checksums(tmp_path, serve):
    """The real files, served locally, pass the md5 check with MNIST's own checksums."""
    class LocalMNIST(MNIST):
        mirrors = [serve(f"{SHARED}/mnist")]

    dataset = LocalMNIST(tmp_path, train=False, download=True)
    assert len(dataset) == 10000
    assert sorted(os.listdir(tmp_path / "LocalMNIST" / "raw")) == sorted(
        name for name, _ in MNIST.resources)
