"""Comparisons and logic: boolean results, no gradient."""
from __future__ import annotations

import numpy as np

from ember.errors import DTypeError, broadcast_error
from ember.ops.operands import as_operand
from ember.tensor import Tensor


def _array(x):
    x = as_operand(x)
    return x._data if isinstance(x, Tensor) else x


def _compare(op: str, ufunc, input, other) -> Tensor:
    a, b = _array(input), _array(other)
    try:
        return Tensor._make(np.asarray(ufunc(a, b)))
    except ValueError:
        raise broadcast_error(op, [np.shape(a), np.shape(b)]) from None


def eq(input, other) -> Tensor:
    if other is None:
        return False
    return _compare("eq", np.equal, input, other)


def ne(input, other) -> Tensor:
    if other is None:
        return True
    return _compare("ne", np.not_equal, input, other)


def lt(input, other) -> Tensor:
    return _compare("lt", np.less, input, other)


def le(input, other) -> Tensor:
    return _compare("le", np.less_equal, input, other)


def gt(input, other) -> Tensor:
    return _compare("gt", np.greater, input, other)


def ge(input, other) -> Tensor:
    return _compare("ge", np.greater_equal, input, other)


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
