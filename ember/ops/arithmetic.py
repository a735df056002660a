"""Binary and selection primitives: + - * / ** %, maximum/minimum, where, clamp.

Each backward returns the gradient for every input at the broadcast shape of the output;
the engine sums it back to each input's shape.
"""
from __future__ import annotations

import numpy as np

from ember import backend
from ember.autograd.function import Function
from ember.errors import DTypeError
from ember.ops.operands import as_operand, binary_operands, float_operand
from ember.tensor import Tensor


class Add(Function):
    def forward(ctx, x, y):
        return x + y

    def backward(ctx, grad):
        return grad, grad                          # d(x + y) = dx + dy


class Sub(Function):
    def forward(ctx, x, y):
        return x - y

    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (grad * y if need_x else None,       # d(xy)/dx = y
                grad * x if need_y else None)       # d(xy)/dy = x


class Div(Function):
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_x = grad / y                            # d(x/y)/dx = 1/y
        grad_y = -grad_x * x / y if ctx.needs_input_grad[1] else None   # d(x/y)/dy = -x/y^2
        return grad_x, grad_y


class Neg(Function):
    def forward(ctx, x):
        return -x

    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """x ** y, for a tensor and a number in either place or two tensors."""

    def forward(ctx, x, y):
        out = _power(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        grad_x = grad_y = None
        if need_x:  # d x^y/dx = y x^(y-1), taken as 0 where y = 0 (as PyTorch does)
            grad_x = grad * (y * _power(x, y - 1))
            if np.any(np.equal(y, 0)):
                grad_x = np.where(np.equal(y, 0), 0, grad_x)
        if need_y:  # d x^y/dy = x^y ln x, taken as 0 where x = 0 and y >= 0
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_y = grad * (out * np.log(x))
            grad_y = np.where((np.equal(x, 0)) & (np.greater_equal(y, 0)), 0, grad_y)
        return grad_x, grad_y


def _power(x, y):
    """x ** y, with small integer exponents of an array done by multiplication (NumPy's
    generic power is far slower than x * x * x)."""
    if type(y) is int and 3 <= y <= 4 and hasattr(x, "dtype") and x.dtype.kind == "f":
        square = x * x
        return square * x if y == 3 else square * square
    return x ** y


class Remainder(Function):
    """x mod y with the sign of y (Python's and PyTorch's remainder)."""

    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.mod(x, y)

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        # x mod y = x - floor(x/y) y: slope 1 in x and -floor(x/y) in y
        grad_y = -grad * np.floor_divide(x, y) if ctx.needs_input_grad[1] else None
        return grad, grad_y


class Maximum(Function):
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.maximum(x, y)

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return _split_by_winner(grad, x > y, x == y)


class Minimum(Function):
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.minimum(x, y)

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return _split_by_winner(grad, x < y, x == y)


def _split_by_winner(grad, first_wins, tie):
    """The gradient goes to the operand that was chosen; on a tie, half to each
    (PyTorch's convention for maximum and minimum)."""
    share = np.where(first_wins, 1.0, np.where(tie, 0.5, 0.0)).astype(grad.dtype)
    return grad * share, grad * (1 - share)


class Where(Function):
    def forward(ctx, condition, x, y):
        ctx.condition = condition
        return np.where(condition, x, y)

    def backward(ctx, grad):
        _, need_x, need_y = ctx.needs_input_grad
        zero = grad.dtype.type(0)
        return (None,
                np.where(ctx.condition, grad, zero) if need_x else None,
                np.where(ctx.condition, zero, grad) if need_y else None)


class Clamp(Function):
    """Clamp to numeric bounds; the gradient passes where min <= x <= max."""

    def forward(ctx, x, low, high):
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return np.clip(x, low, high)

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        inside = np.ones(x.shape, dtype=bool)
        if ctx.low is not None:
            inside &= x >= ctx.low
        if ctx.high is not None:
            inside &= x <= ctx.high
        return grad * inside


# --- functions -------------------------------------------------------------------------


def add(input, other, *, alpha=1) -> Tensor:
    """input + alpha * other, with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return Add.apply(*binary_operands(input, other))


def sub(input, other, *, alpha=1) -> Tensor:
    """input - alpha * other, with broadcasting."""
    for operand in (input, other):
        if isinstance(operand, bool) or getattr(operand, "dtype", None) is backend.bool_:
            raise DTypeError("sub: subtraction with a bool tensor is not supported; to invert "
                             "a mask, use ~mask or mask.logical_not()")
    if alpha != 1:
        other = mul(other, alpha)
    return Sub.apply(*binary_operands(input, other))


def mul(input, other) -> Tensor:
    return Mul.apply(*binary_operands(input, other))


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """True division (integers give floats, as in PyTorch); rounding_mode 'floor' or
    'trunc' rounds the quotient (no gradient through the rounding)."""
    if rounding_mode is None:
        return Div.apply(*binary_operands(float_operand(input), other))
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', "
                         f"got {rounding_mode!r}")
    a, b = binary_operands(input, other)
    a_data = a._data if isinstance(a, Tensor) else a
    b_data = b._data if isinstance(b, Tensor) else b
    rounded = np.floor_divide(a_data, b_data) if rounding_mode == "floor" else (
        np.trunc(np.true_divide(a_data, b_data)).astype(np.result_type(a_data, b_data)))
    return Tensor._make(np.asarray(rounded))


def true_divide(input, other) -> Tensor:
    return div(input, other)


def floor_divide(input, other) -> Tensor:
    return div(input, other, rounding_mode="floor")


def neg(input) -> Tensor:
    return Neg.apply(input)


def pow(input, exponent) -> Tensor:
    """input ** exponent; either may be a number."""
    return Pow.apply(*binary_operands(input, exponent))


def remainder(input, other) -> Tensor:
    return Remainder.apply(*binary_operands(input, other))


def maximum(input, other) -> Tensor:
    return Maximum.apply(*binary_operands(input, other))


def minimum(input, other) -> Tensor:
    return Minimum.apply(*binary_operands(input, other))


def where(condition, input=None, other=None):
    """Elements of `input` where `condition` holds, else of `other` (numbers allowed).
    With only a condition, the indices where it holds (like `nonzero(as_tuple=True)`)."""
    condition = as_operand(condition)
    if input is None and other is None:
        return tuple(Tensor._make(i) for i in np.nonzero(condition._data))
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    x, y = binary_operands(input, other)
    return Where.apply(cond, x, y)


def clamp(input, min=None, max=None) -> Tensor:
    """Limit values to [min, max]; bounds may be numbers or tensors."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        result = input
        if min is not None:
            result = where(result < min, min, result)
        if max is not None:
            result = where(result > max, max, result)
        return result
    input = as_operand(input)
    if input._data.dtype.kind != "f" and any(isinstance(b, float) for b in (min, max)):
        input = float_operand(input)
    return Clamp.apply(input, low=min, high=max)


clip = clamp



class Clone(Function):
    def forward(ctx, x):
        return x.copy()

    def backward(ctx, grad):
        return grad


def clone(input) -> Tensor:
    """A copy with its own memory; gradients flow back to the original."""
    return Clone.apply(input)
