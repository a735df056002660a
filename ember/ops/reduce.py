"""Reductions: sum, amax/amin, logsumexp, prod, norm, std and cumsum as primitives; mean,
var and max/min with indices composed from them."""
from __future__ import annotations

import builtins

import numpy as np

from ember.autograd.function import Function
from ember.errors import DTypeError
from ember.ops.arithmetic import maximum, minimum
from ember.ops.indexing import ValuesIndices, gather
from ember.ops.operands import as_operand, float_operand, normalize_dim, normalize_dims
from ember.tensor import Tensor


def _kept_shape(shape: tuple, axes: tuple | None) -> tuple:
    """The output shape with the reduced axes kept as size 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.kept = x.shape, _kept_shape(x.shape, axes)
        return np.sum(x, axis=axes, keepdims=keepdim)

    def backward(ctx, grad):
        # every input element contributes with slope 1: copy the gradient back over the axes
        return np.broadcast_to(grad.reshape(ctx.kept), ctx.shape)


class Amax(Function):
    """max (or min, with `smallest`) over axes; ties share the gradient equally."""

    def forward(ctx, x, axes, keepdim, smallest=False):
        reduce = np.min if smallest else np.max
        out = reduce(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.axes = axes
        return out if keepdim else out.reshape(_drop_axes(x.shape, axes))

    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        chosen = x == out
        count = np.sum(chosen, axis=ctx.axes, keepdims=True)
        return grad.reshape(out.shape) * chosen / count.astype(grad.dtype)


class LogSumExp(Function):
    """log sum exp x, shifted by the maximum so that no exp overflows."""

    def forward(ctx, x, axes, keepdim):
        shift = np.max(x, axis=axes, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0)
        out = np.log(np.sum(np.exp(x - shift), axis=axes, keepdims=True)) + shift
        ctx.save_for_backward(x, out)
        return out if keepdim else out.reshape(_drop_axes(x.shape, axes))

    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return grad.reshape(out.shape) * np.exp(x - out)    # d lse / dx = softmax(x)


class Prod(Function):
    def forward(ctx, x, axis, keepdim):
        ctx.save_for_backward(x)
        ctx.axis = axis
        return np.prod(x, axis=axis, keepdims=keepdim)

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        # d prod / dx_i = product of all the other elements; computed from prefix and
        # suffix products, so zeros in x need no special case.
        if ctx.axis is None:
            others = _exclusive_products(x.reshape(-1)).reshape(x.shape)
            return grad * others
        moved = np.moveaxis(x, ctx.axis, -1)
        others = np.moveaxis(_exclusive_products(moved), -1, ctx.axis)
        if grad.ndim < x.ndim:
            grad = np.expand_dims(grad, ctx.axis)
        return grad * others


def _exclusive_products(a):
    """For each element along the last axis, the product of all the others."""
    ones = np.ones(a.shape[:-1] + (1,), dtype=a.dtype)
    before = np.concatenate([ones, np.cumprod(a[..., :-1], axis=-1)], axis=-1)
    after = np.concatenate([np.cumprod(a[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
    return before * after


class Norm(Function):
    """Vector p-norm over axes: (sum |x|^p)^(1/p), with p = 2, 1, inf, -inf, 0 or any float."""

    def forward(ctx, x, p, axes, keepdim):
        a = np.abs(x)
        if p == 2:
            out = np.sqrt(np.sum(x * x, axis=axes, keepdims=True))
        elif p == 1:
            out = np.sum(a, axis=axes, keepdims=True)
        elif p == np.inf:
            out = np.max(a, axis=axes, keepdims=True)
        elif p == -np.inf:
            out = np.min(a, axis=axes, keepdims=True)
        elif p == 0:
            out = np.sum(a != 0, axis=axes, keepdims=True).astype(x.dtype)
        else:
            out = np.sum(a ** p, axis=axes, keepdims=True) ** (1 / p)
        ctx.save_for_backward(x, out)
        ctx.p, ctx.axes = p, axes
        return out if keepdim else out.reshape(_drop_axes(x.shape, axes))

    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        p, grad = ctx.p, grad.reshape(out.shape)
        if p == 0:
            return np.zeros_like(x)
        if p == 1:
            return grad * np.sign(x)                       # d sum|x| = sign(x)
        if p in (np.inf, -np.inf):                         # like amax of |x|, ties share
            chosen = np.abs(x) == out
            count = np.sum(chosen, axis=ctx.axes, keepdims=True).astype(x.dtype)
            return grad * np.sign(x) * chosen / count
        safe = np.where(out == 0, 1, out)
        if p == 2:                                         # d ||x|| = x / ||x||
            return np.where(out == 0, 0, grad * x / safe)
        # d ||x||_p = sign(x) |x|^(p-1) / ||x||_p^(p-1)
        ratio = np.sign(x) * np.abs(x) ** (p - 1) / safe ** (p - 1)
        return np.where(out == 0, 0, grad * ratio)


class Std(Function):
    """Standard deviation sqrt(sum (x - mean)^2 / (N - correction)) over axes."""

    def forward(ctx, x, axes, correction, keepdim):
        centred = x - np.mean(x, axis=axes, keepdims=True)
        ctx.dof = _count(x.shape, axes) - correction
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sqrt(np.sum(centred * centred, axis=axes, keepdims=True) /
                          builtins.max(ctx.dof, 0))
        ctx.save_for_backward(centred, out)
        return out if keepdim else out.reshape(_drop_axes(x.shape, axes))

    def backward(ctx, grad):
        centred, out = ctx.saved_tensors
        # d std / dx_i = (x_i - mean) / ((N - correction) std); taken as 0 where std = 0
        # (constant data), as PyTorch does, instead of 0/0
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = centred / (ctx.dof * out)
        return grad.reshape(out.shape) * np.where(out == 0, 0, slope)


class Cumsum(Function):
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(ctx, grad):
        # x_i feeds every running sum from i on: sum the gradient from the end back
        axis = ctx.axis
        return np.flip(np.cumsum(np.flip(grad, axis), axis=axis), axis)


def _drop_axes(shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _axes(op: str, x: Tensor, dim) -> tuple | None:
    """Reduction axes for `dim` (None = all); a 0-d tensor accepts dim 0 or -1."""
    if x._data.ndim == 0:
        if dim is not None:
            normalize_dims(op, dim, 0)
        return None
    return normalize_dims(op, dim, x._data.ndim)


# --- functions -------------------------------------------------------------------------


def sum(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over `dim` (an int, a tuple of ints, or None for all)."""
    input = as_operand(input)
    if dtype is not None:
        input = input.to(dtype)
    return Sum.apply(input, axes=_axes("sum", input, dim), keepdim=keepdim)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    input = as_operand(input)
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise DTypeError(f"mean: expected a floating-point tensor, got {input.dtype} "
                         "(convert with .float() first)")
    axes = _axes("mean", input, dim)
    return sum(input, axes, keepdim) / _count(input._data.shape, axes)


def _count(shape: tuple, axes: tuple | None) -> int:
    sizes = shape if axes is None else [shape[a] for a in axes]
    return int(np.prod(sizes, dtype=np.int64))


def var(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Variance: sum (x - mean)^2 / (N - correction); correction 1 (unbiased) by default."""
    input = float_operand(input)
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _axes("var", input, dim)
    centred = input - mean(input, axes, keepdim=True)
    return sum(centred ** 2, axes, keepdim) / builtins.max(
        _count(input._data.shape, axes) - correction, 0)


def std(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    input = float_operand(input)
    if correction is None:
        correction = 0 if unbiased is False else 1
    return Std.apply(input, axes=_axes("std", input, dim), correction=correction,
                     keepdim=keepdim)


def _max_or_min(op: str, input, dim, keepdim: bool, smallest: bool):
    input = as_operand(input)
    if dim is None:
        return Amax.apply(input, axes=None, keepdim=False, smallest=smallest)
    if isinstance(dim, Tensor):  # max(a, b) is the elementwise maximum
        return (minimum if smallest else maximum)(input, dim)
    data = input._data
    axis = normalize_dim(op, dim, data.ndim)
    if data.ndim == 0:
        return ValuesIndices(input.clone(), Tensor._make(np.zeros((), dtype=np.int64)))
    if data.shape[axis] == 0:
        raise IndexError(f"{op}: cannot reduce over dimension {dim} of size 0 "
                         f"(shape {data.shape})")
    pick = np.argmin if smallest else np.argmax
    index = np.expand_dims(pick(data, axis=axis), axis)
    values = gather(input, axis, Tensor._make(index))
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    return ValuesIndices(values, Tensor._make(index))


def max(input, dim=None, keepdim: bool = False):
    """The largest element; with `dim`, (values, indices) along it; with a tensor, the
    elementwise maximum. The gradient goes to the chosen element (ties share it
    when reducing everything, as in PyTorch)."""
    return _max_or_min("max", input, dim, keepdim, smallest=False)


def min(input, dim=None, keepdim: bool = False):
    return _max_or_min("min", input, dim, keepdim, smallest=True)


def amax(input, dim=(), keepdim: bool = False) -> Tensor:
    """Largest values over `dim`; ties share the gradient equally."""
    input = as_operand(input)
    return Amax.apply(input, axes=_axes("amax", input, dim), keepdim=keepdim)


def amin(input, dim=(), keepdim: bool = False) -> Tensor:
    input = as_operand(input)
    return Amax.apply(input, axes=_axes("amin", input, dim), keepdim=keepdim, smallest=True)


def _arg(op: str, pick, input, dim, keepdim: bool) -> Tensor:
    data = as_operand(input)._data
    if dim is None:
        index = pick(data.reshape(-1))
        return Tensor._make(np.asarray(index).reshape((1,) * data.ndim if keepdim else ()))
    axis = normalize_dim(op, dim, data.ndim)
    if data.ndim == 0:
        return Tensor._make(np.zeros((), dtype=np.int64))
    return Tensor._make(np.asarray(pick(data, axis=axis, keepdims=keepdim)))


def argmax(input, dim=None, keepdim: bool = False) -> Tensor:
    return _arg("argmax", np.argmax, input, dim, keepdim)


def argmin(input, dim=None, keepdim: bool = False) -> Tensor:
    return _arg("argmin", np.argmin, input, dim, keepdim)


def logsumexp(input, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over `dim`, computed without overflow."""
    input = float_operand(input)
    return LogSumExp.apply(input, axes=_axes("logsumexp", input, dim), keepdim=keepdim)


def prod(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    input = as_operand(input)
    if dtype is not None:
        input = input.to(dtype)
    axes = _axes("prod", input, dim)
    if axes is not None and len(axes) > 1:
        raise TypeError("prod: dim must be a single int (PyTorch's prod reduces one "
                        "dimension or all of them)")
    return Prod.apply(input, axis=None if axes is None else axes[0], keepdim=keepdim)


def norm(input, p="fro", dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Vector p-norm over `dim` (all elements by default); 'fro' is the 2-norm."""
    input = float_operand(input)
    if dtype is not None:
        input = input.to(dtype)
    if p in ("fro", None):
        p = 2
    if isinstance(p, str):
        raise ValueError(f"norm: p must be a number, inf or 'fro', got {p!r}")
    return Norm.apply(input, p=float(p), axes=_axes("norm", input, dim), keepdim=keepdim)


def cumsum(input, dim: int, *, dtype=None) -> Tensor:
    input = as_operand(input)
    if dtype is not None:
        input = input.to(dtype)
    if input._data.ndim == 0:
        return input.clone()
    return Cumsum.apply(input, axis=normalize_dim("cumsum", dim, input._data.ndim))


def any(input, dim=None, keepdim: bool = False) -> Tensor:
    data = as_operand(input)._data
    return Tensor._make(np.asarray(np.any(data, axis=_axes("any", as_operand(input), dim),
                                          keepdims=keepdim)))


def all(input, dim=None, keepdim: bool = False) -> Tensor:
    data = as_operand(input)._data
    return Tensor._make(np.asarray(np.all(data, axis=_axes("all", as_operand(input), dim),
                                          keepdims=keepdim)))
