"""Unary elementwise primitives, each with its derivative beside it.

Integer inputs are promoted to the default float dtype first, as PyTorch does.
"""
from __future__ import annotations

import functools

import numpy as np

from ember.autograd.function import Function
from ember.ops.compiled import elementwise_kernel
from ember.ops.operands import as_operand, float_operand
from ember.ops.workspace import zeros_laid_out_like
from ember.tensor import Tensor


class Exp(Function):
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * y                          # d e^x = e^x


class Log(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / x                          # d ln x = 1/x


class Log1p(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / (1 + x)                    # d ln(1 + x) = 1/(1 + x)


class Expm1(Function):
    def forward(ctx, x):
        y = np.expm1(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (y + 1)                    # d (e^x - 1) = e^x


class Sqrt(Function):
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad / (2 * y)                    # d sqrt(x) = 1/(2 sqrt(x))


class Abs(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * np.sign(x)                 # d|x| = sign(x), 0 at 0


class Sin(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * np.cos(x)                  # d sin x = cos x


class Cos(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return -grad * np.sin(x)                 # d cos x = -sin x


class Tanh(Function):
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (1 - y * y)                # d tanh = 1 - tanh^2


class Sigmoid(Function):
    def forward(ctx, x):
        # 1/(1 + e^-x) for x >= 0 and e^x/(1 + e^x) below: no overflow for any x,
        # full precision in both tails.
        e = np.exp(-np.abs(x))
        r = 1 / (1 + e)
        y = np.where(x >= 0, r, e * r)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * y * (1 - y)                # d sigma = sigma (1 - sigma)


class Relu(Function):
    def forward(ctx, x):
        kernel = elementwise_kernel()           # compiled: float32/float64 NumPy arrays
        y = None if kernel is None else kernel.relu(x)
        if y is None:
            # against an array of zeros NumPy's loop is vectorized (not against the scalar
            # 0); finding that array costs ~1 us, which pays from a few thousand elements on
            zeros = zeros_laid_out_like(x) if x.size >= 4096 else None
            y = np.maximum(x, 0 if zeros is None else zeros)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        y, = ctx.saved_tensors
        kernel = elementwise_kernel()           # the same product in one compiled pass
        dx = None if kernel is None else kernel.relu_backward(grad, y)
        return grad * (y > 0) if dx is None else dx     # d relu = 1 where x > 0, else 0


class PiecewiseConstant(Function):
    """floor, ceil, round, trunc, sign: flat almost everywhere, so the gradient is zero."""

    def forward(ctx, x, func):
        return func(x)

    def backward(ctx, grad):
        return np.zeros_like(grad)


# --- functions -------------------------------------------------------------------------


def exp(input) -> Tensor:
    return Exp.apply(float_operand(input))


def log(input) -> Tensor:
    return Log.apply(float_operand(input))


def log1p(input) -> Tensor:
    return Log1p.apply(float_operand(input))


def expm1(input) -> Tensor:
    return Expm1.apply(float_operand(input))


def log2(input) -> Tensor:
    return log(input) * (1 / np.log(2))


def log10(input) -> Tensor:
    return log(input) * (1 / np.log(10))


def sqrt(input) -> Tensor:
    return Sqrt.apply(float_operand(input))


def rsqrt(input) -> Tensor:
    return float_operand(input) ** -0.5


def square(input) -> Tensor:
    return as_operand(input) ** 2


def reciprocal(input) -> Tensor:
    return 1 / float_operand(input)


def abs(input) -> Tensor:
    return Abs.apply(as_operand(input))


def sin(input) -> Tensor:
    return Sin.apply(float_operand(input))


def cos(input) -> Tensor:
    return Cos.apply(float_operand(input))


def tanh(input) -> Tensor:
    return Tanh.apply(float_operand(input))


def sigmoid(input) -> Tensor:
    return Sigmoid.apply(float_operand(input))


def relu(input) -> Tensor:
    return Relu.apply(as_operand(input))


def floor(input) -> Tensor:
    return PiecewiseConstant.apply(as_operand(input), func=np.floor)


def ceil(input) -> Tensor:
    return PiecewiseConstant.apply(as_operand(input), func=np.ceil)


def round(input, *, decimals: int = 0) -> Tensor:
    if decimals:
        return PiecewiseConstant.apply(as_operand(input),
                                       func=functools.partial(np.round, decimals=decimals))
    return PiecewiseConstant.apply(as_operand(input), func=np.round)


def trunc(input) -> Tensor:
    return PiecewiseConstant.apply(as_operand(input), func=np.trunc)


def sign(input) -> Tensor:
    return PiecewiseConstant.apply(as_operand(input), func=np.sign)
