"""Where arrays live and what they hold: the array module (NumPy, or CuPy for a GPU),
devices, dtypes, the default dtype and PyTorch's type-promotion rules.

This is the only module that imports CuPy, and it does so only when a GPU is asked for.
"""
from __future__ import annotations

import builtins

import numpy as np

from ember.errors import DeviceError, DTypeError

# ---------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------


class dtype:
    """An element type, `ember.float32` and friends: a named NumPy dtype.

    Example:
        >>> ember.zeros(2, dtype=ember.float64).dtype
        ember.float64
    """

    __slots__ = ("name", "numpy", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name: str, numpy_dtype: np.dtype) -> None:
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.is_floating_point = self.numpy.kind == "f"
        self.is_signed = self.numpy.kind in "fi"
        self.itemsize = self.numpy.itemsize

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):  # copy/deepcopy keep the singleton
        return (as_dtype, (self.name,))


float16 = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool_ = dtype("bool", np.bool_)

ALL_DTYPES = (float16, float32, float64, uint8, int8, int16, int32, int64, bool_)
_BY_NUMPY = {d.numpy: d for d in ALL_DTYPES}
_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16,
                int=int32, long=int64)
# Python's own types mean what they mean to PyTorch: float is float64, int is int64.
_BY_PYTHON_TYPE = {builtins.float: float64, builtins.int: int64, builtins.bool: bool_}

_default_float = float32


def get_default_dtype() -> dtype:
    """The dtype of floating-point tensors made without an explicit dtype (float32)."""
    return _default_float


def set_default_dtype(d) -> None:
    """Change the default floating-point dtype (float32 or float64), like PyTorch."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise DTypeError(f"set_default_dtype: expected a floating-point dtype, got {d}")
    _default_float = d


def as_dtype(d) -> dtype:
    """Turn an ember dtype, NumPy dtype, Python type or name into an ember dtype."""
    if isinstance(d, dtype):
        return d
    if d in _BY_PYTHON_TYPE:
        return _BY_PYTHON_TYPE[d]
    if isinstance(d, str):
        found = _BY_NAME.get(d.removeprefix("ember.").removeprefix("torch."))
        if found is not None:
            return found
    else:
        try:
            found = _BY_NUMPY.get(np.dtype(d))
        except TypeError:
            found = None
        if found is not None:
            return found
    names = ", ".join(x.name for x in ALL_DTYPES)
    raise DTypeError(f"unsupported dtype {d!r}; ember supports {names}")


def from_numpy_dtype(np_dtype: np.dtype) -> dtype:
    found = _BY_NUMPY.get(np_dtype)
    if found is None:
        raise DTypeError(f"arrays of NumPy dtype {np_dtype} are not supported; "
                         f"convert to one of {', '.join(x.name for x in ALL_DTYPES)}")
    return found


def _category(np_dtype: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating point: PyTorch promotes upward only."""
    kind = np_dtype.kind
    return 2 if kind == "f" else (0 if kind == "b" else 1)


def promote_types(a: np.dtype, b: np.dtype, a_is_0d: bool = False,
                  b_is_0d: bool = False) -> np.dtype:
    """PyTorch's promotion of two tensor dtypes: a higher category (bool < int < float)
    wins outright (int64 with float32 gives float32, where NumPy says float64); within a
    category the wider type wins, except that a 0-d tensor, like a Python number, does not
    widen a tensor with dimensions (float32 vector * 0-d float64 stays float32)."""
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    if a_is_0d != b_is_0d:
        return b if a_is_0d else a
    return np.promote_types(a, b)


def scalar_result_type(array_dtype: np.dtype, scalar) -> np.dtype:
    """The dtype of `tensor op python_scalar`: the tensor's dtype unless the scalar is of
    a higher category (a float scalar with an integer tensor gives the default float)."""
    cat = _category(array_dtype)
    if isinstance(scalar, builtins.bool):
        return array_dtype
    if isinstance(scalar, builtins.int):
        return array_dtype if cat >= 1 else np.dtype(np.int64)
    if isinstance(scalar, builtins.float):
        return array_dtype if cat == 2 else _default_float.numpy
    raise DTypeError(f"unsupported scalar {scalar!r} of type {type(scalar).__name__}")


# ---------------------------------------------------------------------------------------
# devices and array modules
# ---------------------------------------------------------------------------------------


class device:
    """Where a tensor's memory lives: `ember.device("cpu")` or `ember.device("cuda:0")`."""

    __slots__ = ("type", "index")

    def __init__(self, spec: str | device = "cpu", index: int | None = None) -> None:
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        kind, _, number = str(spec).partition(":")
        if kind not in ("cpu", "cuda"):
            raise DeviceError(f"unknown device {spec!r}; expected 'cpu' or 'cuda[:N]'")
        self.type = kind
        self.index = int(number) if number else index
        if kind == "cuda" and self.index is None:
            self.index = 0

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


CPU = device("cpu")
_cupy = None


def cupy_module():
    """Import CuPy on first use, with an error that says how to get it."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError as exc:
            raise DeviceError("a CUDA device needs CuPy, which is not installed "
                              "(pip install 'ember[gpu]', or cupy-cuda12x)") from exc
        _cupy = cupy
    return _cupy


def get_array_module(array):
    """NumPy for host arrays, CuPy for device arrays: every op is written once against it."""
    if type(array) is np.ndarray:
        return np
    if type(array).__module__.startswith("cupy"):
        return cupy_module()
    return np


def device_of(array) -> device:
    if type(array).__module__.startswith("cupy"):
        return device("cuda", array.device.id)
    return CPU


def cuda_is_available() -> bool:
    try:
        return cupy_module().cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no CuPy, no driver or no GPU all mean "no"
        return False


def move_array(array, target: device):
    """Copy an array to the target device (a no-op when it is already there)."""
    if target.type == "cpu":
        return array if device_of(array).type == "cpu" else array.get()
    cupy = cupy_module()
    with cupy.cuda.Device(target.index):
        return cupy.asarray(array)


# ---------------------------------------------------------------------------------------
# turning data into arrays
# ---------------------------------------------------------------------------------------


def as_array(data, dtype=None, copy: bool = False):
    """An array from array-like data, with PyTorch's dtype inference: Python floats (and
    lists of them) become the default float dtype, Python ints int64, bools bool; arrays
    keep their dtype. `dtype` converts; `copy` guarantees new memory."""
    target = None if dtype is None else as_dtype(dtype).numpy
    if hasattr(data, "__array_interface__") or type(data).__module__.startswith("cupy"):
        if isinstance(data, np.generic):
            data = np.asarray(data)
        array = data if target is None else data.astype(target, copy=False)
        if copy and array is data:
            array = array.copy()
    else:
        try:
            array = np.array(data, dtype=target)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} data "
                            f"({exc}); expected a number, a (rectangular) nested list of "
                            f"numbers, or an array") from None
        if target is None and array.dtype == np.float64 and not _holds_float64(data):
            array = array.astype(_default_float.numpy)
    from_numpy_dtype(array.dtype)  # raises for unsupported dtypes (object, complex, str)
    return array


def _holds_float64(data) -> bool:
    """Whether a nested list holds float64 arrays/tensors (which keep their dtype)."""
    if isinstance(data, (list, tuple)):
        return bool(data) and _holds_float64(data[0])
    return getattr(data, "dtype", None) in (np.float64, float64)
