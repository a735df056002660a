"""Max and average pooling as fused primitives on raw arrays; 1-D pooling is 2-D pooling
of height 1.

A window's offset (i, j) selects one strided view of the padded input per offset, holding
that element of every window at once, so pooling is KH*KW elementwise operations on
whole arrays (pairwise maxima or sums), with no unfold and no loop over pixels. Max
pooling's forward and backward run in C where the kernels are built (max_pool_compiled,
max_pool_backward_compiled, ember/ops/pool_kernel.c: NumPy's loops over channels-last
views are only C values long); these loops are their reference.
"""
from __future__ import annotations

import numpy as np

from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.ops.compiled import conv_kernel
from ember.ops.conv import as_2d
from ember.ops.conv_geometry import Geometry
from ember.ops.workspace import as_layout_of, scratch


def lowest_value(dtype):
    """What max pooling pads with: -inf for floats, the smallest integer otherwise."""
    return -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min


def pad_planes(x, geometry: Geometry, fill):
    """(N, C, H, W) padded to the geometry's array size with `fill`, keeping x's memory
    layout (channels-last stays channels-last); x itself when there is no padding."""
    if not geometry.is_padded:
        return x
    xp = get_array_module(x)
    (top, _), (left, _) = geometry.array_padding
    height, width = geometry.input_size
    padded = xp.empty_like(x, shape=x.shape[:2] + geometry.array_size)
    padded.fill(fill)
    padded[:, :, top:top + height, left:left + width] = x
    return padded


def crop_planes(padded, geometry: Geometry):
    """The unpadded (N, C, H, W) part of a padded array."""
    (top, _), (left, _) = geometry.array_padding
    height, width = geometry.input_size
    return padded[:, :, top:top + height, left:left + width]


def window_element(padded, geometry: Geometry, i: int, j: int):
    """A (N, C, OH, OW) view: element (i, j) of every window."""
    rows, cols = geometry.window_slices(i, j)
    return padded[:, :, rows, cols]


def window_positions(geometry: Geometry, i: int, j: int, xp) -> tuple:
    """Input (rows (OH, 1), columns (1, OW)) of element (i, j) of every window; negative or
    past the end where it falls in the padding."""
    (top, _), (left, _) = geometry.array_padding
    (oh, ow), (sh, sw), (dh, dw) = geometry.output_size, geometry.stride, geometry.dilation
    return ((xp.arange(oh) * sh - top + i * dh)[:, None],
            (xp.arange(ow) * sw - left + j * dw)[None, :])


def first_maxima(padded, pooled, geometry: Geometry):
    """For each kernel offset in row-major order, yield (i, j, mask) where mask marks the
    windows whose FIRST maximum sits at that offset: each window is marked once, at an
    input element (not the padding), ties going to the earliest element as in PyTorch's
    CPU kernel. (A window that holds only padding, possible with dilation, is never
    marked.) The mask has the memory layout of `pooled` and is overwritten at the next
    offset; every step is a branch-free elementwise operation (a masked copy would
    mispredict on the many ties after a ReLU)."""
    xp = get_array_module(padded)
    height, width = geometry.input_size
    # in scratch memory, laid out like `pooled`; `first` is rewritten at each offset
    found = as_layout_of(scratch(xp, (pooled.size,), bool, "found"), pooled)
    found[...] = False
    first = as_layout_of(scratch(xp, (pooled.size,), bool, "first"), pooled)
    for i, j in geometry.offsets():
        xp.equal(window_element(padded, geometry, i, j), pooled, out=first)
        if geometry.is_padded:
            rows, cols = window_positions(geometry, i, j, xp)
            first &= (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        xp.greater(first, found, out=first)         # a maximum, and no earlier one: first
        found |= first
        yield i, j, first


def windows_tile_input(geometry: Geometry) -> bool:
    """Whether the windows cover every element of the unpadded input exactly once."""
    return (not geometry.is_padded and geometry.dilation == (1, 1)
            and geometry.stride == geometry.kernel
            and all(o * k == n for o, k, n in zip(geometry.output_size, geometry.kernel,
                                                  geometry.input_size)))


def in_layout_of(array, like):
    """`array` with the memory layout of `like` (same shape): itself, or a copy in scratch
    memory (valid until the next call)."""
    if array.strides == like.strides:
        return array
    xp = get_array_module(array)
    copy = as_layout_of(scratch(xp, (like.size,), array.dtype, "pool gradient"), like)
    copy[...] = array
    return copy


class MaxPool(Function):
    """The largest element of each window:  y[n, c, oh, ow] = max over (i, j) of
    x_pad[n, c, oh*SH + i*DH, ow*SW + j*DW], with -inf in the padding.

    Backward: the gradient of a max is 1 at the maximum and 0 elsewhere, so each window
    passes dL/dy to its maximal element (to the first one in row-major order when several
    tie, as PyTorch's CPU kernel does); overlapping windows add up. A window whose
    maximum is NaN passes no gradient (PyTorch passes it to the NaN).
    """

    def forward(ctx, x, geometry: Geometry):
        xp = get_array_module(x)
        ctx.geometry, ctx.one_d = geometry, x.ndim == 3
        padded = pad_planes(as_2d(x), geometry, lowest_value(x.dtype))
        pooled = max_pool_compiled(padded, geometry)
        if pooled is None:
            for i, j in geometry.offsets():     # pairwise maxima of strided views
                element = window_element(padded, geometry, i, j)
                if pooled is None:
                    pooled = element.copy(order="K")
                else:
                    xp.maximum(pooled, element, out=pooled)
        ctx.save_for_backward(padded, pooled)
        return pooled[:, :, 0, :] if ctx.one_d else pooled

    def backward(ctx, grad):
        padded, pooled = ctx.saved_tensors
        xp = get_array_module(grad)
        geometry = ctx.geometry
        grad = in_layout_of(as_2d(grad), pooled)    # all operands below read in one order
        grad_padded = max_pool_backward_compiled(padded, pooled, grad, geometry)
        if grad_padded is not None:
            grad_x = crop_planes(grad_padded, geometry)
            return grad_x[:, :, 0, :] if ctx.one_d else grad_x
        # grad * mask is a branch-free select, exact unless a gradient is infinite or NaN
        # (0 * inf = NaN): those take the slower where
        finite = bool(xp.isfinite(grad.sum()))
        tiled = finite and windows_tile_input(geometry)
        grad_padded = (xp.empty_like if tiled else xp.zeros_like)(padded)
        for i, j, first in first_maxima(padded, pooled, geometry):
            target = window_element(grad_padded, geometry, i, j)
            if not finite:
                target += xp.where(first, grad, 0)
            elif tiled:                 # every element is written once: the product itself
                xp.multiply(grad, first, out=target)
            else:                       # overlapping windows add up
                target += grad * first
        grad_x = crop_planes(grad_padded, geometry)
        return grad_x[:, :, 0, :] if ctx.one_d else grad_x


def kernel_views(padded, *arrays):
    """`padded` and `arrays` ((N, C, ., .) each, laid out like it) as the C-contiguous
    (N', H, W, C') arrays the compiled pooling reads (ember/ops/pool_kernel.c): N*C planes
    of one channel where padded is NCHW memory, (N, H, W, C) where it is channels-last;
    None where one of them is laid out otherwise."""
    views = []
    for array in (padded,) + arrays:
        if padded.flags.c_contiguous:
            n, c, height, width = array.shape
            view = array.reshape(n * c, height, width, 1) if array.flags.c_contiguous \
                else None
        else:
            view = array.transpose(0, 2, 3, 1)
            view = view if view.flags.c_contiguous else None
        if view is None:
            return None
        views.append(view)
    return views


def max_pool_compiled(padded, geometry: Geometry):
    """The window maxima by the compiled kernel (ember/ops/pool_kernel.c), laid out like
    `padded` (channels-last or NCHW) as the NumPy loop lays them out; None where the kernel
    is not built or switched off, or the array is neither float32/64 NumPy nor dense in
    one of those two layouts."""
    kernel = conv_kernel(padded.dtype, get_array_module(padded))
    if kernel is None:
        return None
    pooled = np.empty_like(padded, shape=padded.shape[:2] + geometry.output_size)
    views = kernel_views(padded, pooled)
    if views is None:
        return None
    kernel.max_pool(*views, geometry.kernel, geometry.stride, geometry.dilation)
    return pooled


def max_pool_backward_compiled(padded, pooled, grad, geometry: Geometry):
    """dL/d(padded) by the compiled kernel (ember/ops/pool_kernel.c: the same sums as the
    loop in MaxPool.backward, in one pass to find each window's first maximum and one to
    hand out the gradients), laid out like `padded`; None where max_pool_compiled would
    not run or `grad` is not laid out like `pooled`."""
    kernel = conv_kernel(padded.dtype, get_array_module(padded))
    if kernel is None or grad.dtype != padded.dtype or grad.strides != pooled.strides:
        return None
    grad_padded = np.empty_like(padded)
    views = kernel_views(padded, pooled, grad, grad_padded)
    if views is None:
        return None
    (top, _), (left, _) = geometry.array_padding
    kernel.max_pool_backward(*views, geometry.kernel, geometry.stride, geometry.dilation,
                             (top, left) + geometry.input_size)
    return grad_padded


def max_pool_indices(x, pooled, geometry: Geometry):
    """The position of each window's (first) maximum as a flat index into the input's
    H*W plane (L for 1-D), what PyTorch's return_indices gives."""
    xp = get_array_module(x)
    one_d = x.ndim == 3
    x, pooled = as_2d(x), as_2d(pooled)
    padded = pad_planes(x, geometry, lowest_value(x.dtype))
    width, (dh, dw) = geometry.input_size[1], geometry.dilation
    # PyTorch's answer for a window of padding only: its first row and column >= 0
    rows, cols = window_positions(geometry, 0, 0, xp)
    rows = rows + dh * -(-xp.maximum(-rows, 0) // dh)
    cols = cols + dw * -(-xp.maximum(-cols, 0) // dw)
    indices = xp.broadcast_to(rows * width + cols, pooled.shape).astype(xp.int64)
    for i, j, first in first_maxima(padded, pooled, geometry):
        rows, cols = window_positions(geometry, i, j, xp)
        indices = xp.where(first, rows * width + cols, indices)
    return indices[:, :, 0, :] if one_d else indices


class AvgPool(Function):
    """The mean of each window: y[n, c, oh, ow] = (sum over (i, j) of
    x_pad[n, c, oh*SH + i, ow*SW + j]) / divisor[oh, ow], with zeros in the padding.

    Backward: every element of a window receives dL/dy / divisor; overlaps add up.
    """

    def forward(ctx, x, geometry: Geometry, divisor):
        ctx.geometry, ctx.one_d, ctx.divisor = geometry, x.ndim == 3, divisor
        padded = pad_planes(as_2d(x), geometry, 0)
        ctx.padded_shape = padded.shape
        total = None
        for i, j in geometry.offsets():
            element = window_element(padded, geometry, i, j)
            if total is None:
                total = element.copy(order="K")
            else:
                total += element
        total /= divisor
        return total[:, :, 0, :] if ctx.one_d else total

    def backward(ctx, grad):
        xp = get_array_module(grad)
        geometry, grad = ctx.geometry, as_2d(grad)
        share = grad / ctx.divisor
        grad_padded = xp.zeros_like(share, shape=ctx.padded_shape)
        for i, j in geometry.offsets():
            window_element(grad_padded, geometry, i, j)[...] += share
        grad_x = crop_planes(grad_padded, geometry)
        return grad_x[:, :, 0, :] if ctx.one_d else grad_x


def avg_pool_divisor(geometry: Geometry, count_include_pad: bool, divisor_override,
                     xp, dtype):
    """What each window's sum is divided by, as PyTorch does: the window's size clipped to
    the padded input (count_include_pad), or its number of input elements (not), or
    divisor_override. A (OH, OW) array, or a number when every window has the same."""
    if divisor_override:
        return dtype.type(divisor_override)
    counts = []
    for n, (before, after), o, s, k in zip(geometry.input_size, geometry.padding,
                                           geometry.output_size, geometry.stride,
                                           geometry.kernel):
        start = np.arange(o) * s - before
        end = np.minimum(start + k, n + after)            # clipped to the padded input
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    divisor = np.outer(counts[0], counts[1]).astype(dtype)
    if (divisor == divisor.flat[0]).all():
        return dtype.type(divisor.flat[0])
    return xp.asarray(divisor)
