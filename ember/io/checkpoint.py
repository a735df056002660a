"""`ember.save` and `ember.load`: tensors and nested containers in a safetensors file, the
tensors as its tensors and the nesting (and every value that is not a tensor) as JSON in
its metadata. No pickle: loading a file can never run code.
"""
from __future__ import annotations

import json
import math
from collections import OrderedDict

import numpy as np

from ember import backend
from ember.creation import from_numpy
from ember.errors import DTypeError
from ember.io.safetensors_file import (
    CheckpointError,
    describe,
    encode_arrays,
    read_arrays,
    write_file,
)
from ember.tensor import Tensor

# The metadata keys ember writes: the JSON tree of the saved object, and its format version.
STRUCTURE_KEY = "ember.structure"
FORMAT_KEY = "ember.format"
FORMAT_VERSION = "1"
ROOT_TENSOR_NAME = "tensor"


def save(obj, f) -> None:
    """Save tensors, or containers of them, to a safetensors file (atomically).

    What can be saved: ember Tensors (every dtype), NumPy arrays, dicts (str or int keys;
    OrderedDict stays OrderedDict), lists, tuples, None, bool, int, float, str and NumPy
    scalars, nested to any depth. A flat dict of tensors, such as `model.state_dict()`,
    is stored under exactly its keys, so PyTorch reads it with
    `safetensors.torch.load_file(path)`.

    The file is written to a temporary file in the same directory and renamed onto `f`
    when complete, so a crash mid-write leaves any previous file untouched. Tensors are
    saved by value: two entries that share memory come back as two separate tensors.

    Args:
        obj: what to save.
        f: a path (str or os.PathLike), or a binary file object with write().

    Example:
        >>> ember.save(model.state_dict(), "model.safetensors")
        >>> model.load_state_dict(ember.load("model.safetensors"))
    """
    arrays: dict[str, np.ndarray] = {}
    structure = _encode(obj, "", arrays, "obj")
    metadata = {FORMAT_KEY: FORMAT_VERSION, STRUCTURE_KEY: json.dumps(structure,
                                                                      allow_nan=False)}
    write_file(f, encode_arrays(arrays, metadata, "ember.save"), "ember.save")


def load(f, map_location=None, *, weights_only: bool | None = None):
    """Load what `ember.save` saved, or any safetensors file (as a dict of tensors).

    A file written elsewhere, e.g. by `safetensors.torch.save_file(model.state_dict(),
    path)`, loads as a dict from tensor name to tensor, ready for `load_state_dict`.

    Args:
        f: a path (str or os.PathLike), or a binary file object with read().
        map_location: the device to put the tensors on ("cpu", "cuda:0" or an
            ember.device); None keeps them on the CPU.
        weights_only: accepted for PyTorch compatibility; ember loads only data anyway.

    Example:
        >>> state = ember.load("model.safetensors", map_location="cpu")
        >>> model.load_state_dict(state)
    """
    target = _target_device(map_location)
    arrays, metadata = read_arrays(f, "ember.load")
    if STRUCTURE_KEY not in metadata:
        obj = {name: from_numpy(array) for name, array in arrays.items()}
    else:
        obj = _decode_metadata(metadata[STRUCTURE_KEY], arrays, describe(f))
    if target is not None and target != backend.CPU:
        obj = _to_device(obj, target)
    return obj


def _target_device(map_location) -> backend.device | None:
    if map_location is None:
        return None
    if isinstance(map_location, (str, backend.device)):
        return backend.device(map_location)
    raise TypeError(f"ember.load: map_location must be a device string such as 'cpu' or "
                    f"'cuda:0', or an ember.device, got {type(map_location).__name__}")


# --- the structure tree -------------------------------------------------------------------
# Containers and special values are JSON objects with one marking key:
#   {"tensor": name}  {"ndarray": name}  {"dict": [[key, node], ...], "ordered": bool}
#   {"list": [...]}  {"tuple": [...]}  {"float": "nan" | "inf" | "-inf"}
#   {"numpy": dtype name, "value": number}
# Everything else is plain JSON: null, true/false, ints, finite floats and strings (JSON keeps
# 1 and 1.0 apart, and a key's JSON type says whether it was an int or a str).


def _encode(value, name: str, arrays: dict, where: str):
    """The JSON node for `value`, putting its tensors into `arrays` under names that
    follow the nesting ("optimizer.state.0.momentum_buffer")."""
    if isinstance(value, Tensor):
        return {"tensor": _add_array(arrays, name, value.numpy(force=True))}
    if isinstance(value, np.ndarray):
        _check_numpy_dtype(value, where)
        return {"ndarray": _add_array(arrays, name, value)}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        # before int and float: np.float64 is a float, but it comes back as np.float64
        _check_numpy_dtype(value, where)
        return {"numpy": value.dtype.name, "value": _encode(value.item(), name, arrays, where)}
    if value is None or isinstance(value, (bool, str)):
        return str(value) if isinstance(value, str) else value
    if isinstance(value, int):
        return int(value)       # an int subclass (an IntEnum) saves as its value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"float": repr(float(value))}
    if isinstance(value, dict):
        entries = []
        for key, item in value.items():
            _check_key(key, where)
            child = f"{name}.{key}" if name else str(key)
            entries.append([key, _encode(item, child, arrays, f"{where}[{key!r}]")])
        return {"dict": entries, "ordered": isinstance(value, OrderedDict)}
    if type(value) in (list, tuple):
        items = [_encode(item, f"{name}.{i}" if name else str(i), arrays, f"{where}[{i}]")
                 for i, item in enumerate(value)]
        return {type(value).__name__: items}
    hint = (" (save model.state_dict() instead)" if hasattr(value, "state_dict") else "")
    raise TypeError(f"ember.save: cannot save {where}, a {type(value).__name__}{hint}; "
                    f"supported are tensors, NumPy arrays, dicts, lists, tuples, None, "
                    f"bool, int, float, str and NumPy scalars")


def _check_numpy_dtype(value, where: str) -> None:
    """NumPy values must have a dtype ember has (there is no ember.uint64 or complex64)."""
    try:
        backend.from_numpy_dtype(value.dtype)
    except DTypeError as exc:
        raise DTypeError(f"ember.save: cannot save {where}, a {type(value).__name__}: "
                         f"{exc}") from None


def _check_key(key, where: str) -> None:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise TypeError(f"ember.save: {where} has the key {key!r} of type "
                        f"{type(key).__name__}; dict keys must be str or int")


def _add_array(arrays: dict, name: str, array: np.ndarray) -> str:
    """Store the array under `name`, or `name#1`, `name#2`... if that is taken (a key
    "a.b" beside a nested "a" -> "b" would otherwise collide)."""
    base = name or ROOT_TENSOR_NAME
    unique, count = base, 0
    while unique in arrays or unique == "__metadata__":
        count += 1
        unique = f"{base}#{count}"
    arrays[unique] = array
    return unique


def _decode_metadata(text: str, arrays: dict, name: str):
    try:
        structure = json.loads(text)
        return _decode(structure, arrays)
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
        raise CheckpointError(f"ember.load: {name} has bad ember metadata (the "
                              f"{STRUCTURE_KEY!r} entry cannot be read: {exc})") from None


def _decode(node, arrays: dict):
    """The value a JSON node stands for (raises ValueError/TypeError/KeyError if damaged)."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict):
        raise TypeError(f"unexpected JSON value {node!r}")
    if "tensor" in node or "ndarray" in node:
        tensor_name = node.get("tensor", node.get("ndarray"))
        if tensor_name not in arrays:
            raise KeyError(f"it names the tensor {tensor_name!r}, which the file does not hold")
        array = arrays[tensor_name]
        return from_numpy(array) if "tensor" in node else array
    if "dict" in node:
        result = OrderedDict() if node.get("ordered") else {}
        for key, child in node["dict"]:
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"a dict key is {key!r}")
            result[key] = _decode(child, arrays)
        return result
    if "list" in node:
        return [_decode(child, arrays) for child in node["list"]]
    if "tuple" in node:
        return tuple(_decode(child, arrays) for child in node["tuple"])
    if "float" in node:
        if node["float"] not in ("nan", "inf", "-inf"):
            raise ValueError(f"unknown float {node['float']!r}")
        return float(node["float"])
    if "numpy" in node:
        number_type = backend.as_dtype(node["numpy"]).numpy.type
        return number_type(_decode(node["value"], arrays))
    raise ValueError(f"unknown node {node!r}")


def _to_device(obj, device: backend.device):
    """The same nesting with every tensor moved to the device."""
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        moved = type(obj)()
        for key, value in obj.items():
            moved[key] = _to_device(value, device)
        return moved
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(value, device) for value in obj)
    return obj
