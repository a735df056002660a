"""Comparisons and logic: boolean results, no gradient."""
from __future__ import annotations

import numpy as np

from ember.errors import DTypeError
from ember.ops.operands import as_operand
from ember.tensor import Tensor


def _array(x):
    x = as_operand(x)
    return x._data if isinstance(x, Tensor) else x


def _compare(ufunc, input, other) -> Tensor:
    return Tensor._make(np.asarray(ufunc(_array(input), _array(other))))


def eq(input, other) -> Tensor:
    if other is None:
        return False
    return _compare(np.equal, input, other)


def ne(input, other) -> Tensor:
    if other is None:
        return True
    return _compare(np.not_equal, input, other)


def lt(input, other) -> Tensor:
    return _compare(np.less, input, other)


def le(input, other) -> Tensor:
    return _compare(np.less_equal, input, other)


def gt(input, other) -> Tensor:
    return _compare(np.greater, input, other)


def ge(input, other) -> Tensor:
    return _compare(np.greater_equal, input, other)


def equal(input, other) -> bool:
    """True if both have the same shape and the same values."""
    a, b = _array(input), _array(other)
    return a.shape == b.shape and bool(np.all(a == b))


def isclose(input, other, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> Tensor:
    return Tensor._make(np.asarray(np.isclose(_array(input), _array(other), rtol=rtol,
                                              atol=atol, equal_nan=equal_nan)))


def allclose(input, other, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    return bool(np.allclose(_array(input), _array(other), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


def isfinite(input) -> Tensor:
    return Tensor._make(np.asarray(np.isfinite(_array(input))))


def isnan(input) -> Tensor:
    return Tensor._make(np.asarray(np.isnan(_array(input))))


def isinf(input) -> Tensor:
    return Tensor._make(np.asarray(np.isinf(_array(input))))


def logical_not(input) -> Tensor:
    return Tensor._make(np.asarray(np.logical_not(_array(input))))


_LOGICAL = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}
_BITWISE = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}


def logical_op(kind: str, input, other) -> Tensor:
    """`&`, `|`, `^`: logical on bool tensors, bitwise on integer tensors."""
    a, b = _array(input), _array(other)
    for value in (a, b):
        if np.asarray(value).dtype.kind not in "biu":
            raise DTypeError(f"bitwise_{kind}: only integer and bool tensors are allowed, got "
                             f"dtype {np.asarray(value).dtype}")
    return Tensor._make(np.asarray(_BITWISE[kind](a, b)))


def logical_and(input, other) -> Tensor:
    return Tensor._make(np.asarray(_LOGICAL["and"](_array(input), _array(other))))


def logical_or(input, other) -> Tensor:
    return Tensor._make(np.asarray(_LOGICAL["or"](_array(input), _array(other))))


def logical_xor(input, other) -> Tensor:
    return Tensor._make(np.asarray(_LOGICAL["xor"](_array(input), _array(other))))


def bitwise_not(input) -> Tensor:
    a = _array(input)
    if a.dtype.kind not in "biu":
        raise DTypeError(f"bitwise_not: only integer and bool tensors are allowed, got "
                         f"dtype {a.dtype}")
    return Tensor._make(np.asarray(np.invert(a)))
