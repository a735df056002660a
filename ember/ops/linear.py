"""The affine map of a Linear layer, y = x W^T + b, as one fused primitive: one matrix
product forward and one per needed gradient backward, with no intermediate nodes."""
from __future__ import annotations

from ember.autograd.function import Function
from ember.backend import get_array_module


class Linear(Function):
    op_name = "linear"

    def forward(ctx, x, weight, bias):
        xp = get_array_module(x)
        rows = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])   # (*, in) as (M, in)
        y = xp.matmul(rows, weight.T)                  # BLAS reads W^T without a copy
        if bias is not None:
            y += bias
        ctx.save_for_backward(x, weight)
        return y if x.ndim == 2 else y.reshape(*x.shape[:-1], weight.shape[0])

    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        xp = get_array_module(grad)
        needs = ctx.needs_input_grad
        grad_rows = grad.reshape(-1, grad.shape[-1])   # (M, out)
        # y = x W^T + b, so with g = dL/dy:
        #   dL/dx = g W            (M, out) @ (out, in)
        #   dL/dW = g^T x          (out, M) @ (M, in)
        #   dL/db = sum over rows of g = 1^T g   (a product: faster than sum(axis=0) here)
        grad_x = xp.matmul(grad_rows, weight).reshape(x.shape) if needs[0] else None
        grad_weight = (xp.matmul(grad_rows.T, x.reshape(-1, x.shape[-1]))
                       if needs[1] else None)
        grad_bias = (xp.matmul(xp.ones(grad_rows.shape[0], grad.dtype), grad_rows)
                     if needs[2] else None)
        return grad_x, grad_weight, grad_bias


def linear(input, weight, bias=None):
    """x W^T + b for tensors already checked by `ember.nn.functional.linear`."""
    return Linear.apply(input, weight, bias)
