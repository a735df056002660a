"""Checkpoint files on disk: writes are atomic (a failure at any moment leaves the old file
and no temporary files), damaged files raise clear errors naming the path, and ember works
without the safetensors package until a checkpoint is touched."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.io import safetensors_file
from ember.io.checkpoint import load, save
from ember.io.safetensors_file import CheckpointError

pytestmark = pytest.mark.usefixtures("safetensors")

OLD = {"weight": ember.tensor([1.0, 2.0]), "epoch": 1}
NEW = {"weight": ember.tensor([3.0, 4.0, 5.0]), "epoch": 2}


@pytest.fixture
def old_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save(OLD, path)
    return path


def assert_old_file_intact(path) -> None:
    loaded = load(path)
    assert loaded["weight"].tolist() == [1.0, 2.0] and loaded["epoch"] == 1
    assert os.listdir(path.parent) == [path.name], "a temporary file was left behind"


# --- atomic writes ------------------------------------------------------------------------

def test_a_successful_save_replaces_the_file_and_leaves_nothing_else(old_file):
    save(NEW, old_file)
    assert load(old_file)["weight"].tolist() == [3.0, 4.0, 5.0]
    assert os.listdir(old_file.parent) == [old_file.name]


def test_a_failure_in_the_middle_of_the_write_keeps_the_old_file(old_file, monkeypatch):
    real_fdopen = os.fdopen

    class DiskFullHalfway:
        """Writes the first half of the bytes, then fails like a full disk."""

        def __init__(self, stream):
            self.stream = stream

        def write(self, data):
            self.stream.write(data[:len(data) // 2])
            self.stream.flush()
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.stream, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: DiskFullHalfway(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space left"):
        save(NEW, old_file)
    assert_old_file_intact(old_file)


@pytest.mark.parametrize("failing", ["fsync", "replace"])
@pytest.mark.parametrize("error", [OSError("simulated I/O error"), KeyboardInterrupt()])
def test_a_failure_before_the_rename_keeps_the_old_file(failing, error, old_file, monkeypatch):
    def fail(*args):
        raise error

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(type(error)):
        save(NEW, old_file)
    monkeypatch.undo()
    assert_old_file_intact(old_file)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file size limits")
def test_a_process_killed_in_the_middle_of_a_save_leaves_the_old_file(tmp_path):
    """A real crash mid-write: the child may write files of at most 1 MB, and the kernel
    kills it (SIGXFSZ) as its 4 MB checkpoint crosses that size."""
    script = ("import resource, signal, sys, ember\n"
              "from ember.io.checkpoint import save\n"
              "save({'version': 1, 'w': ember.ones(10)}, sys.argv[1])\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_DFL)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, resource.RLIM_INFINITY))\n"
              "save({'version': 2, 'w': ember.zeros(1_000_000)}, sys.argv[1])\n")
    path = tmp_path / "c.safetensors"
    child = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                           text=True, timeout=60)
    assert child.returncode == -signal.SIGXFSZ, child.stderr
    loaded = load(path)
    assert loaded["version"] == 1 and loaded["w"].tolist() == [1.0] * 10


def test_the_file_and_its_directory_are_flushed_to_disk(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.path.isdir(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd")
                      else None)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    save(NEW, tmp_path / "c.safetensors")
    assert len(synced) == 2
    if synced[0] is not None:
        assert synced == [False, True], "expected the file, then its directory"


def test_saved_files_get_the_permissions_of_a_plain_open(tmp_path):
    save(NEW, tmp_path / "c.safetensors")
    with open(tmp_path / "plain", "wb"):
        pass
    assert os.stat(tmp_path / "c.safetensors").st_mode == os.stat(tmp_path / "plain").st_mode


def test_saving_into_a_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="the directory .*nowhere.* does not exist"):
        save(NEW, tmp_path / "nowhere" / "c.safetensors")


def test_save_rejects_a_target_that_is_neither_path_nor_file(tmp_path):
    with pytest.raises(TypeError, match="expected a path .* got int"):
        save(NEW, 3)


# --- damaged files ------------------------------------------------------------------------

def write_bytes(tmp_path, data: bytes):
    path = tmp_path / "damaged.safetensors"
    path.write_bytes(data)
    return path


def valid_bytes(tmp_path) -> bytes:
    save({"weight": ember.arange(10, dtype=ember.float32), "epoch": 3}, tmp_path / "v")
    return (tmp_path / "v").read_bytes()


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="ember.load: no such file .*missing.safe"):
        load(tmp_path / "missing.safetensors")


def test_a_directory_is_not_a_checkpoint(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load(tmp_path)


@pytest.mark.parametrize("content", [b"", b"abc", b"hello, this is a text file",
                                     b"PK\x03\x04 a zip, as torch.save writes",
                                     (5).to_bytes(8, "little") + b"[1,2]"])
def test_a_file_that_is_not_safetensors_names_the_path(content, tmp_path):
    path = write_bytes(tmp_path, content)
    with pytest.raises(CheckpointError, match=f"{path.name}.* is not a safetensors file"):
        load(path)


def test_a_header_that_is_not_json_is_reported(tmp_path):
    path = write_bytes(tmp_path, (9).to_bytes(8, "little") + b"{not json")
    with pytest.raises(CheckpointError, match="header is not valid JSON"):
        load(path)


@pytest.mark.parametrize("keep", ["half the data", "part of the header"])
def test_a_truncated_file_is_reported_as_truncated(keep, tmp_path):
    data = valid_bytes(tmp_path)
    header_end = 8 + int.from_bytes(data[:8], "little")
    cut = (header_end + len(data)) // 2 if keep == "half the data" else header_end // 2
    path = write_bytes(tmp_path, data[:cut])
    with pytest.raises(CheckpointError, match=f"{path.name}.* is truncated"):
        load(path)


def test_trailing_garbage_is_caught_by_the_safetensors_reader(tmp_path):
    path = write_bytes(tmp_path, valid_bytes(tmp_path) + b"garbage")
    with pytest.raises(CheckpointError, match=f"{path.name}.* is not a valid safetensors file"):
        load(path)


def test_a_malformed_tensor_entry_is_reported(tmp_path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [1]}}).encode()
    path = write_bytes(tmp_path, len(header).to_bytes(8, "little") + header)
    with pytest.raises(CheckpointError, match="entry for tensor 'w'"):
        load(path)


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.complex64])
def test_a_dtype_ember_lacks_is_named(dtype, safetensors, tmp_path):
    path = tmp_path / "other.safetensors"
    safetensors.numpy.save_file({"w": np.zeros(2, dtype=dtype)}, str(path))
    with pytest.raises(CheckpointError, match="tensor 'w' in .* has dtype .* ember does not"):
        load(path)


def test_a_bfloat16_file_from_pytorch_is_named(torch, tmp_path):
    import safetensors.torch

    path = tmp_path / "bf16.safetensors"
    safetensors.torch.save_file({"w": torch.zeros(2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(CheckpointError, match="has dtype 'BF16'"):
        load(path)


@pytest.mark.parametrize("structure, message", [
    ("{not json", "Expecting property name"),
    (json.dumps({"tensor": "nowhere"}), "names the tensor 'nowhere'"),
    (json.dumps({"dict": [[[1], 2]]}), r"a dict key is \[1\]"),
    (json.dumps({"dict": 5}), "not iterable"),
    (json.dumps({"mystery": 1}), "unknown node"),
    (json.dumps([1, 2]), "unexpected JSON value"),
    ("[" * 100_000 + "]" * 100_000, "recursion"),
    (json.dumps({"float": "1.5"}), "unknown float"),
    (json.dumps({"numpy": "complex64", "value": 1}), "unsupported dtype"),
])
def test_bad_ember_metadata_names_the_path(structure, message, safetensors, tmp_path):
    path = tmp_path / "bad_metadata.safetensors"
    safetensors.numpy.save_file({"w": np.zeros(2, np.float32)}, str(path),
                                metadata={"ember.structure": structure})
    with pytest.raises(CheckpointError, match=f"{path.name}.* has bad ember metadata.*{message}"):
        load(path)


def test_a_safetensors_file_without_ember_metadata_loads_as_a_dict(safetensors, tmp_path):
    path = tmp_path / "plain.safetensors"
    safetensors.numpy.save_file({"b": np.ones(2, np.int64), "a": np.zeros((), np.float16)},
                                str(path), metadata={"format": "np"})
    loaded = load(path)
    assert type(loaded) is dict and sorted(loaded) == ["a", "b"]
    assert loaded["b"].dtype == ember.int64 and loaded["a"].shape == ()


# --- without the safetensors package ------------------------------------------------------

def test_ember_imports_without_safetensors():
    script = ("import sys; sys.modules['safetensors'] = None; "
              "import ember, ember.io; import ember.io.training_state; print('ok')")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_save_and_load_without_safetensors_name_the_extra(tmp_path, monkeypatch):
    save(OLD, tmp_path / "c.safetensors")
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"ember.save: .*pip install 'ember\[io\]'"):
        save(NEW, tmp_path / "c.safetensors")
    with pytest.raises(ImportError, match=r"ember.load: .*pip install 'ember\[io\]'"):
        load(tmp_path / "c.safetensors")
    monkeypatch.undo()
    assert_old_file_intact(tmp_path / "c.safetensors")


def test_the_reader_checks_before_it_trusts_the_header_length():
    """A header length far beyond the file is 'not safetensors', not a huge allocation."""
    data = (2 ** 63).to_bytes(8, "little") + b"{}"
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        safetensors_file.read_header(data, "'x'", "ember.load")
