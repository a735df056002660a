"""Reading IDX files (the format of MNIST and Fashion-MNIST), gzipped or raw, with every
header field checked and errors that name the file."""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

# The third magic byte: the element type; values are stored big-endian (MSB first).
IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IDXFormatError(ValueError):
    """A file that is not a well-formed IDX file (the message names it)."""


def _open(path: str):
    """The file's byte stream, decompressing gzip (recognised by its magic bytes)."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _read_exactly(stream, count: int, path: str, what: str) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise IDXFormatError(f"{path}: truncated IDX file: expected {count} bytes of {what}, "
                             f"found {len(data)}")
    return data


def read_idx(path, expected_dtype=None, expected_ndim: int | None = None) -> np.ndarray:
    """The array stored in an IDX file (raw, or gzipped as distributed).

    The header is 4 magic bytes (0, 0, element type, number of dimensions), then one
    big-endian uint32 size per dimension, then the values in C order.

    Args:
        path: the file (`.gz` or not; gzip is detected from the content).
        expected_dtype: if given, the element type the file must hold (e.g. np.uint8).
        expected_ndim: if given, the number of dimensions it must have (3 for images).

    Returns an array in native byte order. Raises IDXFormatError, naming the file, for
    a bad magic number, an unexpected type or dimension count, a truncated file or
    trailing bytes; FileNotFoundError if it does not exist.

    Example:
        >>> images = read_idx("mnist/train-images-idx3-ubyte.gz", np.uint8, 3)
        >>> images.shape
        (60000, 28, 28)
    """
    path = os.fspath(path)
    try:
        with _open(path) as stream:
            return _read_stream(stream, path, expected_dtype, expected_ndim)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise IDXFormatError(f"{path}: corrupt or truncated gzip stream ({exc})") from None


def _read_stream(stream, path: str, expected_dtype, expected_ndim) -> np.ndarray:
    magic = _read_exactly(stream, 4, path, "header (magic number)")
    if magic[0] != 0 or magic[1] != 0:
        raise IDXFormatError(f"{path}: not an IDX file: bad magic number 0x{magic.hex()} "
                             "(an IDX file starts with two zero bytes)")
    type_code, ndim = magic[2], magic[3]
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise IDXFormatError(f"{path}: unknown IDX element type 0x{type_code:02X} in magic "
                             f"number 0x{magic.hex()} (known types: {known})")
    dtype = IDX_TYPES[type_code]
    if expected_dtype is not None and dtype.newbyteorder("=") != np.dtype(expected_dtype):
        raise IDXFormatError(f"{path}: holds {dtype.newbyteorder('=')} values (magic number "
                             f"0x{magic.hex()}), expected {np.dtype(expected_dtype)}")
    if ndim == 0:
        raise IDXFormatError(f"{path}: IDX header declares 0 dimensions")
    if expected_ndim is not None and ndim != expected_ndim:
        raise IDXFormatError(f"{path}: has {ndim} dimensions (magic number 0x{magic.hex()}), "
                             f"expected {expected_ndim}")
    sizes = _read_exactly(stream, 4 * ndim, path, "header (dimension sizes)")
    shape = tuple(int(s) for s in np.frombuffer(sizes, dtype=">u4"))

    values = np.empty(int(np.prod(shape, dtype=np.int64)), dtype=dtype)
    buffer = memoryview(values).cast("B")
    filled = 0
    while filled < len(buffer):                   # gzip may return fewer bytes per read
        count = stream.readinto(buffer[filled:])
        if not count:
            break
        filled += count
    if filled != len(buffer):
        raise IDXFormatError(f"{path}: truncated IDX file: the header declares shape {shape} "
                             f"({len(buffer)} bytes of data) but only {filled} bytes follow")
    if stream.read(1):
        raise IDXFormatError(f"{path}: unexpected bytes after the {len(buffer)} bytes of data "
                             f"declared by the header (shape {shape})")
    return values.reshape(shape).astype(dtype.newbyteorder("="), copy=False)
