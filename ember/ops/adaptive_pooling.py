"""Adaptive pooling: windows chosen so that the output has a requested size. Along an axis
of length L pooled to size O, window o covers [floor(o L / O), ceil((o + 1) L / O)),
PyTorch's rule; windows may differ in size by one and may overlap."""
from __future__ import annotations

import numpy as np

from ember.autograd.function import Function
from ember.backend import get_array_module


def window_bounds(length: int, size: int) -> tuple:
    """(start, end) arrays of the `size` adaptive windows along an axis of `length`."""
    o = np.arange(size)
    return (o * length) // size, -((-(o + 1) * length) // size)


def averaging_matrix(length: int, size: int, xp, dtype):
    """A (size, length) matrix whose row o averages window o: 1/|window| inside it, 0
    elsewhere. Averaging a plane is then A_h @ x @ A_w^T."""
    start, end = window_bounds(length, size)
    positions = np.arange(length)
    inside = (positions >= start[:, None]) & (positions < end[:, None])
    return xp.asarray((inside / (end - start)[:, None]).astype(dtype))


class AdaptiveAvgPool(Function):
    """The mean of each adaptive window, separable into one averaging matrix per axis:

        y = A_h @ x @ A_w^T          (over the last two dimensions)

    Backward, the transpose of that linear map:  dL/dx = A_h^T @ dL/dy @ A_w.
    """

    def forward(ctx, x, output_size: tuple):
        xp = get_array_module(x)
        (height, width), (oh, ow) = x.shape[-2:], output_size
        ctx.rows = averaging_matrix(height, oh, xp, x.dtype)
        ctx.cols = averaging_matrix(width, ow, xp, x.dtype)
        return ctx.rows @ (x @ ctx.cols.T)

    def backward(ctx, grad):
        return ctx.rows.T @ (grad @ ctx.cols)


def gather_indices(length: int, size: int, xp):
    """(size, K) positions of each window's elements, K the largest window; shorter
    windows repeat their last element (a repeat changes neither the max nor which
    element is the first maximum)."""
    start, end = window_bounds(length, size)
    widest = int((end - start).max())
    positions = start[:, None] + np.arange(widest)[None, :]
    return xp.asarray(np.minimum(positions, (end - 1)[:, None]))


def adaptive_max_indices(x, output_size: tuple):
    """The flat H*W index of each adaptive window's first maximum, (N, C, OH, OW)."""
    xp = get_array_module(x)
    (height, width), (oh, ow) = x.shape[-2:], output_size
    rows, cols = gather_indices(height, oh, xp), gather_indices(width, ow, xp)
    # (OH, KH, 1, 1) and (1, 1, OW, KW): every window's flat positions, (OH, OW, KH*KW)
    flat = (rows[:, :, None, None] * width + cols[None, None, :, :]).transpose(0, 2, 1, 3)
    flat = flat.reshape(oh, ow, -1)
    planes = x.reshape(x.shape[:-2] + (height * width,))
    values = planes[..., flat]                               # (N, C, OH, OW, KH*KW)
    first = xp.argmax(values, axis=-1)                       # argmax takes the first maximum
    return xp.take_along_axis(xp.broadcast_to(flat, values.shape), first[..., None],
                              axis=-1)[..., 0]


class AdaptiveMaxPool(Function):
    """The largest element of each adaptive window. Backward: each window passes dL/dy
    to its first maximal element; elements that are the maximum of several
    (overlapping) windows add up."""

    def forward(ctx, x, output_size: tuple):
        xp = get_array_module(x)
        ctx.input_shape = x.shape
        ctx.indices = adaptive_max_indices(x, output_size)
        planes = x.reshape(x.shape[:-2] + (-1,))
        return xp.take_along_axis(planes, ctx.indices.reshape(x.shape[:-2] + (-1,)),
                                  axis=-1).reshape(ctx.indices.shape)

    def backward(ctx, grad):
        xp = get_array_module(grad)
        *batch, height, width = ctx.input_shape
        planes = int(np.prod(batch))
        # scatter-add: plane p's gradient lands at p*H*W + index
        offsets = (xp.arange(planes) * (height * width)).reshape(tuple(batch) + (1, 1))
        positions = (ctx.indices + offsets).ravel()
        summed = xp.bincount(positions, weights=grad.ravel(), minlength=planes * height * width)
        return summed.astype(grad.dtype).reshape(ctx.input_shape)
