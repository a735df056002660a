"""softmax and log_softmax as primitives: shifted by the maximum so that no exp overflows
and float32 keeps its digits for logits like +-1000, with one-line backwards."""
from __future__ import annotations

import numpy as np

from ember.autograd.function import Function
from ember.ops.operands import as_operand, float_operand, normalize_dim
from ember.tensor import Tensor


class LogSoftmax(Function):
    def forward(ctx, x, axis):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        out, = ctx.saved_tensors
        # y = x - log sum e^x: dL/dx = g - softmax(x) * sum(g)
        return grad - np.exp(out) * np.sum(grad, axis=ctx.axis, keepdims=True)


class Softmax(Function):
    def forward(ctx, x, axis):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        out = e / np.sum(e, axis=axis, keepdims=True)
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        y, = ctx.saved_tensors
        # dy_i/dx_j = y_i (delta_ij - y_j): dL/dx = y * (g - sum(g * y))
        return y * (grad - np.sum(grad * y, axis=ctx.axis, keepdims=True))


def _prepared(op: str, input, dim: int, dtype):
    input = float_operand(input) if dtype is None else as_operand(input).to(dtype)
    ndim = input._data.ndim
    axis = normalize_dim(op, dim, ndim) if ndim else None
    return input, axis


def log_softmax(input, dim: int, *, dtype=None) -> Tensor:
    """log softmax along `dim`: x_i - log sum_j e^(x_j), exact for logits like +-1000."""
    input, axis = _prepared("log_softmax", input, dim, dtype)
    return LogSoftmax.apply(input, axis=axis)


def softmax(input, dim: int, *, dtype=None) -> Tensor:
    """e^(x_i) / sum_j e^(x_j) along `dim`: probabilities that sum to 1."""
    input, axis = _prepared("softmax", input, dim, dtype)
    return Softmax.apply(input, axis=axis)
