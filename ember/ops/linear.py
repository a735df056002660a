"""The affine map of a Linear layer, y = x W^T + b, as one fused primitive: one matrix
product forward and one per needed gradient backward, with no intermediate nodes."""
from __future__ import annotations

from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.ops.compiled import linear_kernel

# A layer with at least WIDE times as many outputs as input rows computes its product
# the other way round, y = (W x^T)^T, and hands on y column-major (a transposed view, as a
# convolution hands on channels-last memory): OpenBLAS is faster so for a small batch
# through a wide layer. Measured on a 2-core AMD EPYC, rows x in -> out, time of
# (W x^T)^T / x W^T: 128x784->512 0.94, 64x784->512 0.92, 32x256->1024 0.89,
# 128x512->256 0.99, 64x4096->256 0.985, and slower when out < rows (128x256->10 1.33).
WIDE = 4


class Linear(Function):
    op_name = "linear"

    # The products are 2-D, so `a.dot(b)` (NumPy's and CuPy's) computes them: it calls the
    # same BLAS routine as matmul with less overhead per call, which is what a small layer's
    # time is made of.

    def forward(ctx, x, weight, bias):
        rows = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])   # (*, in) as (M, in)
        # The compiled kernel (ember/ops/linear_kernel.c; float32 NumPy arrays, else it
        # answers None) computes a small layer whole, where NumPy's calls cost more than
        # their arithmetic, and adds a larger one's bias in half NumPy's time.
        kernel = linear_kernel()
        y = None if kernel is None else kernel.forward(rows, weight, bias)
        if y is None and weight.shape[0] >= WIDE * rows.shape[0]:
            y_t = weight.dot(rows.T)                   # (out, M): y^T, row-major
            if bias is not None:
                y_t += bias[:, None]
            y = y_t.T
        elif y is None:
            y = rows.dot(weight.T)                     # BLAS reads W^T without a copy
            if bias is not None and (kernel is None or kernel.add_bias(y, bias) is None):
                y += bias
        ctx.save_for_backward(x, weight)
        return y if x.ndim == 2 else y.reshape(*x.shape[:-1], weight.shape[0])

    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_rows = grad if grad.ndim == 2 else grad.reshape(-1, grad.shape[-1])   # (M, out)
        # y = x W^T + b, so with g = dL/dy:
        #   dL/dx = g W            (M, out) @ (out, in)
        #   dL/dW = g^T x          (out, M) @ (M, in)
        #   dL/db = sum over rows of g = 1^T g   (a product: faster than sum(axis=0) here)
        if not need_x:
            grad_x = None
        elif x.ndim == 2 and x.T.flags.c_contiguous and not x.flags.c_contiguous:
            grad_x = weight.T.dot(grad_rows.T).T       # laid out like x (column-major)
        else:
            grad_x = grad_rows.dot(weight).reshape(x.shape)
        grad_weight = (grad_rows.T.dot(x if x.ndim == 2 else x.reshape(-1, x.shape[-1]))
                       if need_weight else None)
        grad_bias = (get_array_module(grad).ones(grad_rows.shape[0], grad.dtype).dot(grad_rows)
                     if need_bias else None)
        return grad_x, grad_weight, grad_bias


def linear(input, weight, bias=None):
    """x W^T + b for tensors already checked by `ember.nn.functional.linear`."""
    return Linear.apply(input, weight, bias)
