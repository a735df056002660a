"""The IDX reader on files the tests write (good and broken, raw and gzipped) and on the
real MNIST / Fashion-MNIST files in the shared dataset folder."""
from __future__ import annotations

import gzip
import hashlib
import os
import struct

import numpy as np
import pytest

from ember.datasets.idx import IDXFormatError, read_idx

SHARED = "/work/shared/datasets"
needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED),
                                  reason=f"the offline datasets are not at {SHARED}")


def idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data: bytes, compress: bool = False) -> str:
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)
    return str(path)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype, code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B),
                                         (np.int32, 0x0C), (np.float32, 0x0D),
                                         (np.float64, 0x0E)])
def test_reads_every_element_type(tmp_path, dtype, code, compress):
    array = (np.arange(24).reshape(2, 3, 4) * 37 - 300).astype(dtype)
    if dtype in (np.uint8, np.int8):
        array = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    path = write(tmp_path / "a.idx", idx_bytes(array, code), compress)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    path = write(tmp_path / "labels-no-gz-suffix", idx_bytes(array, 0x08), compress=True)
    np.testing.assert_array_equal(read_idx(path), array)


def good() -> bytes:
    """A well-formed IDX file: two 4x4 uint8 images."""
    return idx_bytes(np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4), 0x08)


def broken(how: str) -> bytes:
    data = good()
    if how == "data cut short":
        return data[:-5]
    if how == "sizes cut short":
        return data[:10]
    if how == "magic cut short":
        return data[:2]
    if how == "bad magic":
        return b"\x1f\x00" + data[2:]
    if how == "unknown type":
        return data[:2] + b"\x07" + data[3:]
    if how == "zero dimensions":
        return data[:3] + b"\x00" + data[4:]
    if how == "trailing bytes":
        return data + b"extra"
    raise ValueError(how)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("how, message", [
    ("data cut short", r"truncated IDX file.*shape \(2, 4, 4\).*32 bytes.*only 27"),
    ("sizes cut short", "truncated IDX file.*dimension sizes"),
    ("magic cut short", "truncated IDX file.*magic"),
    ("bad magic", "bad magic number 0x1f000803"),
    ("unknown type", "unknown IDX element type 0x07"),
    ("zero dimensions", "0 dimensions"),
    ("trailing bytes", "unexpected bytes after"),
])
def test_broken_files_raise_errors_naming_the_file(tmp_path, how, message, compress):
    path = write(tmp_path / "broken-idx3-ubyte", broken(how), compress)
    with pytest.raises(IDXFormatError, match=message) as info:
        read_idx(path)
    assert str(info.value).startswith(path)


def test_wrong_type_or_dimension_count_is_reported(tmp_path):
    path = write(tmp_path / "t10k-images", good())
    with pytest.raises(IDXFormatError, match="t10k-images: has 3 dimensions.*expected 1"):
        read_idx(path, np.uint8, 1)
    with pytest.raises(IDXFormatError, match="t10k-images: holds uint8 values.*expected float32"):
        read_idx(path, np.float32, 3)


def test_corrupt_gzip_stream_names_the_file(tmp_path):
    compressed = gzip.compress(good())
    path = write(tmp_path / "cut.gz", compressed[: len(compressed) // 2])
    with pytest.raises(IDXFormatError, match="cut.gz: corrupt or truncated gzip"):
        read_idx(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nowhere.gz")


# Sample counts and per-class counts published in the shared folder's README.md.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@needs_shared
@pytest.mark.parametrize("prefix, n, counts", [("train", 60000, MNIST_TRAIN_COUNTS),
                                               ("t10k", 10000, MNIST_TEST_COUNTS)])
def test_real_mnist_files(prefix, n, counts):
    images = read_idx(f"{SHARED}/mnist/{prefix}-images-idx3-ubyte.gz", np.uint8, 3)
    labels = read_idx(f"{SHARED}/mnist/{prefix}-labels-idx1-ubyte.gz", np.uint8, 1)
    assert images.shape == (n, 28, 28) and labels.shape == (n,)
    assert np.bincount(labels, minlength=10).tolist() == counts
    assert images.min() == 0 and images.max() == 255


@needs_shared
@pytest.mark.parametrize("prefix, n", [("train", 60000), ("t10k", 10000)])
def test_real_fashion_mnist_files(prefix, n):
    labels = read_idx(f"{SHARED}/fashion-mnist/{prefix}-labels-idx1-ubyte.gz", np.uint8, 1)
    images = read_idx(f"{SHARED}/fashion-mnist/{prefix}-images-idx3-ubyte.gz", np.uint8, 3)
    assert images.shape == (n, 28, 28)
    assert np.bincount(labels, minlength=10).tolist() == [n // 10] * 10


@needs_shared
def test_real_files_match_the_published_md5s():
    from ember.datasets.mnist import MNIST, FashionMNIST

    for folder, cls in (("mnist", MNIST), ("fashion-mnist", FashionMNIST)):
        for filename, md5 in cls.resources:
            with open(f"{SHARED}/{folder}/{filename}", "rb") as f:
                assert hashlib.md5(f.read()).hexdigest() == md5, filename
