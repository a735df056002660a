"""Reading and writing safetensors files: an atomic write, and a read that checks the file
before trusting it (a clear error naming the path for a missing, foreign, truncated file).

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON header
(each tensor's dtype, shape and byte range, plus a `__metadata__` dict of strings), then
the raw tensor bytes. Nothing in it can run code.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets

import numpy as np

# The safetensors dtypes that ember has a dtype for.
SUPPORTED_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "U8": np.uint8,
                    "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64,
                    "BOOL": np.bool_}
MAX_HEADER_BYTES = 100_000_000   # the safetensors library's own limit


class CheckpointError(ValueError, RuntimeError):
    """A checkpoint file that cannot be read: not safetensors, truncated, or whose ember
    metadata is damaged. The message names the file."""


def import_safetensors_numpy(op: str):
    """The NumPy flavour of safetensors, imported only when a checkpoint is read or written."""
    try:
        import safetensors.numpy
    except ImportError as exc:
        raise ImportError(f"{op}: checkpoints are safetensors files and need the safetensors "
                          f"package, which is not installed; install it with "
                          f"pip install 'ember[io]' (or pip install safetensors)") from exc
    return safetensors.numpy


def describe(file) -> str:
    """How an error message names a file: its path, or the file object."""
    if isinstance(file, (str, os.PathLike)):
        return repr(os.fspath(file))
    return f"file object {file!r}"


# --- writing ------------------------------------------------------------------------------

def write_file(file, data: bytes, op: str) -> None:
    """Write bytes to a path atomically, or to a file object as it is."""
    if hasattr(file, "write"):
        file.write(data)
        return
    if not isinstance(file, (str, os.PathLike)):
        raise TypeError(f"{op}: expected a path (str or os.PathLike) or a file object with "
                        f"write(), got {type(file).__name__}")
    write_atomically(os.fspath(file), data, op)


def write_atomically(path: str, data: bytes, op: str) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it onto `path`.

    The rename is atomic: a crash at any moment leaves either the old file or the complete
    new one, never a mix; a failure removes the temporary file."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{op}: cannot write {path!r}: the directory {directory!r} "
                                f"does not exist")
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never reuse an existing file; mode 0o666 lets the umask set the permissions
    # a plain open() would give.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_directory(directory)


def fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


# --- reading ------------------------------------------------------------------------------

def read_file(file, op: str) -> bytes:
    """The bytes of a path or file object, with a clear error for a missing file."""
    if hasattr(file, "read"):
        return bytes(file.read())
    if not isinstance(file, (str, os.PathLike)):
        raise TypeError(f"{op}: expected a path (str or os.PathLike) or a file object with "
                        f"read(), got {type(file).__name__}")
    path = os.fspath(file)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{op}: no such file {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{op}: {path!r} is a directory, not a checkpoint file")
    with open(path, "rb") as stream:
        return stream.read()


def read_header(data: bytes, name: str, op: str) -> dict:
    """The parsed JSON header, after checking the file is safetensors and complete."""
    not_safetensors = f"{op}: {name} is not a safetensors file"
    if len(data) < 8:
        raise CheckpointError(f"{not_safetensors} (or is truncated): it has {len(data)} "
                              f"bytes, fewer than the 8 that give the header's length")
    header_length = int.from_bytes(data[:8], "little")
    header_bytes = data[8:8 + header_length]
    if header_length == 0 or header_length > MAX_HEADER_BYTES or header_bytes[:1] != b"{":
        raise CheckpointError(f"{not_safetensors}: its first 8 bytes do not give the length "
                              f"of a JSON header (they read {data[:8]!r})")
    if len(header_bytes) < header_length:
        raise CheckpointError(f"{op}: {name} is truncated: its header should be "
                              f"{header_length} bytes but the file ends after "
                              f"{len(header_bytes)}")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{not_safetensors}: its header is not valid JSON ({exc})") \
            from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{not_safetensors}: its header is not a JSON object")
    check_entries(header, len(data) - 8 - header_length, name, op)
    return header


def check_entries(header: dict, data_length: int, name: str, op: str) -> None:
    """Every tensor entry well formed, of a dtype ember has, and inside the file."""
    for key, entry in header.items():
        if key == "__metadata__":
            if not isinstance(entry, dict):
                raise CheckpointError(f"{op}: {name} has a __metadata__ that is not a JSON "
                                      f"object")
            continue
        if not (isinstance(entry, dict) and isinstance(entry.get("data_offsets"), list)
                and len(entry["data_offsets"]) == 2 and isinstance(entry.get("shape"), list)):
            raise CheckpointError(f"{op}: {name} is not a valid safetensors file: the entry "
                                  f"for tensor {key!r} is {entry!r}, expected dtype, shape and "
                                  f"data_offsets")
        if entry.get("dtype") not in SUPPORTED_DTYPES:
            raise CheckpointError(f"{op}: tensor {key!r} in {name} has dtype "
                                  f"{entry.get('dtype')!r}, which ember does not support "
                                  f"(supported: {', '.join(SUPPORTED_DTYPES)})")
        end = entry["data_offsets"][1]
        if not isinstance(end, int) or end > data_length:
            raise CheckpointError(f"{op}: {name} is truncated: tensor {key!r} needs bytes up "
                                  f"to {end} of the data section, which has only "
                                  f"{data_length}")


def read_arrays(file, op: str) -> tuple[dict, dict]:
    """(arrays by tensor name in the file's header order, the `__metadata__` strings)."""
    safetensors_numpy = import_safetensors_numpy(op)
    name = describe(file)
    data = read_file(file, op)
    header = read_header(data, name, op)
    try:
        arrays = safetensors_numpy.load(data)
    except Exception as exc:  # noqa: BLE001 - SafetensorError is not importable by name
        raise CheckpointError(f"{op}: {name} is not a valid safetensors file ({exc})") \
            from None
    ordered = {key: arrays[key] for key in header if key != "__metadata__"}
    return ordered, header.get("__metadata__", {})


def encode_arrays(arrays: dict, metadata: dict, op: str) -> bytes:
    """The bytes of a safetensors file holding these arrays (copied to C order first, as the
    writer reads raw memory) and metadata."""
    safetensors_numpy = import_safetensors_numpy(op)
    contiguous = {name: array if array.flags.c_contiguous else array.copy(order="C")
                  for name, array in arrays.items()}
    return safetensors_numpy.save(contiguous, metadata=metadata)
