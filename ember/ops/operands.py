"""Making an op's operands agree: PyTorch's dtype promotion and the differentiable cast.

PyTorch and NumPy differ in a few promotions (int64 with float32 is float32 to PyTorch and
float64 to NumPy; a float scalar with an integer tensor gives float32 to PyTorch), so binary
ops bring their operands to PyTorch's result dtype before calling NumPy.
"""
from __future__ import annotations

import numbers

import numpy as np

from ember import backend
from ember.autograd.function import Function
from ember.errors import DTypeError
from ember.tensor import Tensor

_PYTHON_NUMBERS = (int, float, bool)


class Cast(Function):
    """A change of dtype; the gradient is cast back (the engine does that for every input)."""

    def forward(ctx, x, dtype):
        return x.astype(dtype, copy=False)

    def backward(ctx, grad):
        return grad


def cast(x: Tensor, dtype) -> Tensor:
    """`x` as the given NumPy dtype (itself when it already is)."""
    if x._data.dtype == dtype:
        return x
    return Cast.apply(x, dtype=np.dtype(dtype))


def as_operand(x):
    """A Tensor or Python number stays as it is (NumPy treats numbers as 'weak' scalars that
    take the tensor's dtype, as PyTorch does); a NumPy scalar becomes a Python number;
    arrays and lists become tensors."""
    if isinstance(x, Tensor) or type(x) in _PYTHON_NUMBERS:
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, numbers.Number):
        return x if isinstance(x, _PYTHON_NUMBERS) else float(x)
    return Tensor._make(backend.as_array(x))


def binary_operands(a, b) -> tuple:
    """Both operands with PyTorch's result dtype (a number stays a number)."""
    a, b = as_operand(a), as_operand(b)
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            if da == db:
                return a, b
            target = backend.promote_types(da, db, a._data.ndim == 0, b._data.ndim == 0)
            return cast(a, target), cast(b, target)
        return cast(a, backend.scalar_result_type(a._data.dtype, b)), b
    if isinstance(b, Tensor):
        return a, cast(b, backend.scalar_result_type(b._data.dtype, a))
    return Tensor._make(backend.as_array(a)), b


def float_operand(x) -> Tensor:
    """`x` as a floating-point tensor: integer inputs of exp, log, division... become the
    default float dtype, as in PyTorch."""
    x = as_operand(x)
    if not isinstance(x, Tensor):
        x = Tensor._make(backend.as_array(x))
    if x._data.dtype.kind != "f":
        return cast(x, backend.get_default_dtype().numpy)
    return x


def require_floating(op: str, x: Tensor) -> None:
    if x._data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating-point tensor, got {x.dtype}")


def normalize_dim(op: str, dim: int, ndim: int) -> int:
    """A dimension index in 0..ndim-1 (negative counts from the end), or a clear error."""
    bound = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    if not -bound <= dim < bound:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} "
                         f"dimension(s) (expected {-bound} to {bound - 1})")
    return int(dim) % bound


def normalize_dims(op: str, dim, ndim: int) -> tuple | None:
    """A sorted tuple of dimension indices, or None for 'all dimensions'."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not dims:
        return None
    result = tuple(sorted({normalize_dim(op, d, ndim) for d in dims}))
    if len(result) != len(dims):
        raise ValueError(f"{op}: dim {dim} names the same dimension twice")
    return result


class ToDevice(Function):
    """A copy to another device; the gradient is copied back."""

    def forward(ctx, x, target):
        ctx.source = backend.device_of(x)
        return backend.move_array(x, target)

    def backward(ctx, grad):
        return backend.move_array(grad, ctx.source)


def to_device(x: Tensor, target) -> Tensor:
    target = backend.device(target)
    if x.device == target:
        return x
    return ToDevice.apply(x, target=target)
