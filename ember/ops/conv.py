"""Convolution and transposed convolution as fused primitives: forward and backward on raw
arrays, each a few matrix products (see im2col.py); 1-D ops are 2-D ops of height 1.

Outputs are NCHW tensors whose memory is channels-last (a transposed view of the matrix
product's (N, OH, OW, O) result), so the next convolution reads them without a copy.
"""
from __future__ import annotations

from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.ops.conv_geometry import Geometry
from ember.ops.im2col import col2im, crop_channels_last, im2col, pad_input, shifted_input_grad

# The unfolded columns of a large batch (75 MB for 64 images of 32x32x32 and a 3x3 kernel)
# are made and used a block of images at a time, about this many bytes per block: the
# block stays in cache between the copy and the product (measured on 2 cores for that
# layer: 12-14 ms against 21 ms in one piece), and nothing that large is kept for backward
# (the weight gradient unfolds the saved input again, block by block). LeNet's columns
# (5 MB and 4 MB) are made in one piece and kept.
COLUMN_BLOCK_BYTES = 8 * 2**20

# A stride-1 input gradient with this many input channels or more is computed by shifted
# products (no scatter): measured on 2 cores, 14 ms against 26 ms for col2im at 32 -> 32
# channels on 64x32x32; at 6 input channels col2im's one product wins (1.3 ms against 1.8).
SHIFTED_INPUT_GRAD_MIN_CHANNELS = 16


def as_2d(array):
    """A 1-D op's (N, C, L) array as (N, C, 1, L); 2-D arrays as they are."""
    return array[:, :, None, :] if array.ndim == 3 else array


def uses_shifted_input_grad(geometry: Geometry, groups: int, channels: int) -> bool:
    return (geometry.stride == (1, 1) and groups == 1
            and channels >= SHIFTED_INPUT_GRAD_MIN_CHANNELS)


# --- the three kernels ------------------------------------------------------------------------


def weight_matrices(weight, groups: int):
    """(O, C/G, KH, KW) -> (G, O/G, KH*KW*C/G), in im2col's (kh, kw, c) column order."""
    out_channels = weight.shape[0]
    rows = weight.transpose(0, 2, 3, 1)
    return rows.reshape(groups, out_channels // groups, -1)


def image_blocks(padded, geometry: Geometry) -> list:
    """Slices of the batch whose columns take about COLUMN_BLOCK_BYTES (one slice for
    small problems)."""
    n, _, _, channels = padded.shape
    (oh, ow), (kh, kw) = geometry.output_size, geometry.kernel
    per_image = oh * ow * kh * kw * channels * padded.itemsize
    size = max(1, COLUMN_BLOCK_BYTES // per_image)
    return [slice(start, min(n, start + size)) for start in range(0, n, size)]


def convolve(padded, weight, geometry: Geometry, groups: int):
    """y = x * w without bias, as channels-last (N, OH, OW, O), from the padded (N, Hp, Wp,
    C) input. Returns (y, columns); columns is None when they were made a block at a time
    (and not kept)."""
    xp = get_array_module(padded)
    n, (oh, ow), out_channels = padded.shape[0], geometry.output_size, weight.shape[0]
    blocks = image_blocks(padded, geometry)
    if len(blocks) == 1:
        columns = im2col(padded, geometry, groups)              # (G, M, KH*KW*C/G)
        return convolve_columns(columns, weight, groups).reshape(n, oh, ow, -1), columns
    y = xp.empty((n, oh, ow, out_channels), padded.dtype)
    for block in blocks:
        columns = im2col(padded[block], geometry, groups)
        y[block] = convolve_columns(columns, weight, groups).reshape(-1, oh, ow, out_channels)
    return y, None


def convolve_columns(columns, weight, groups: int):
    """One matrix product per group: Y_g = columns_g @ W_g^T, as (M, O)."""
    matrices = weight_matrices(weight, groups)
    if groups == 1:
        return columns[0] @ matrices[0].T
    grouped = columns @ matrices.transpose(0, 2, 1)           # (G, M, O/G)
    return grouped.transpose(1, 0, 2).reshape(columns.shape[1], -1)


def convolve_input_grad(grad_last, weight, geometry: Geometry, groups: int,
                        padded_shape: tuple):
    """dL/dx_pad (padded, channels-last) from dL/dy (N, OH, OW, O): every input pixel
    collects w times the gradient of each output whose window covered it."""
    if uses_shifted_input_grad(geometry, groups, padded_shape[3]):
        return shifted_input_grad(grad_last, weight, geometry, padded_shape)
    return col2im(grad_last, weight, geometry, groups, padded_shape)


def convolve_weight_grad(columns, grad_rows, weight_shape: tuple, groups: int):
    """dL/dW_g = dY_g^T @ columns_g, back in the (O, C/G, KH, KW) layout."""
    xp = get_array_module(columns)
    out_channels, per_group, kh, kw = weight_shape
    if groups == 1:
        grad = grad_rows.T @ columns[0]
    else:
        grouped = grad_rows.reshape(-1, groups, out_channels // groups).transpose(1, 2, 0)
        grad = grouped @ columns                               # (G, O/G, KH*KW*C/G)
    grad = grad.reshape(out_channels, kh, kw, per_group).transpose(0, 3, 1, 2)
    return xp.ascontiguousarray(grad)


def weight_grad_from(columns, padded, grad_rows, weight_shape: tuple, geometry: Geometry,
                     groups: int):
    """dL/dW from the forward's columns, or from the padded input unfolded again a block
    of images at a time (dL/dW is a sum over images)."""
    if columns is not None:
        return convolve_weight_grad(columns, grad_rows, weight_shape, groups)
    grad = None
    rows_per_image = grad_rows.shape[0] // padded.shape[0]
    for block in image_blocks(padded, geometry):
        rows = slice(block.start * rows_per_image, block.stop * rows_per_image)
        part = convolve_weight_grad(im2col(padded[block], geometry, groups),
                                    grad_rows[rows], weight_shape, groups)
        grad = part if grad is None else grad + part
    return grad


def bias_grad(grad_rows):
    """dL/db = sum of dL/dy over every position: ones @ dY (a matrix-vector product,
    faster than a sum over axis 0)."""
    xp = get_array_module(grad_rows)
    return xp.ones(grad_rows.shape[0], grad_rows.dtype) @ grad_rows


def rows_of(array_last):
    """A channels-last (N, H, W, C) array as (N*H*W, C) rows (free when contiguous)."""
    return array_last.reshape(-1, array_last.shape[3])


# --- the primitives ------------------------------------------------------------------------


class Convolution(Function):
    """A bank of filters slid over a batch of images (cross-correlation, as deep learning
    calls convolution), plus a bias. For output channel o of group g:

        y[n, o, oh, ow] = b[o] + sum_{c, i, j} w[o, c, i, j] x_pad[n, g C/G + c, h, w],
        h = oh*SH + i*DH,  w = ow*SW + j*DW

    Unfolding every window into a row of `columns` makes this Y = columns @ W^T. Backward
    reads the same sum three ways:
        dL/dW = dY^T @ columns                     (each weight met these inputs)
        dL/dx = fold(dY @ W)                       (a transposed convolution of dY)
        dL/db = ones @ dY                          (each bias was added everywhere)
    """

    def forward(ctx, x, weight, bias, geometry: Geometry, groups: int):
        ctx.geometry, ctx.groups, ctx.one_d = geometry, groups, x.ndim == 3
        x, weight = as_2d(x), as_2d(weight)
        padded = pad_input(x, geometry)
        y, columns = convolve(padded, weight, geometry, groups)
        ctx.padded_shape = padded.shape
        ctx.has_columns = columns is not None
        ctx.save_for_backward(columns if ctx.has_columns else padded, weight)
        if bias is not None:
            y += bias
        y = y.transpose(0, 3, 1, 2)                    # NCHW view of channels-last memory
        return y[:, :, 0, :] if ctx.one_d else y

    def backward(ctx, grad):
        saved, weight = ctx.saved_tensors
        geometry, groups = ctx.geometry, ctx.groups
        grad_last = as_2d(grad).transpose(0, 2, 3, 1)
        grad_rows = rows_of(grad_last)                 # (N*OH*OW, O): a copy only if needed
        grad_last = grad_rows.reshape(grad_last.shape)
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if need_x:
            padded_grad = convolve_input_grad(grad_last, weight, geometry, groups,
                                              ctx.padded_shape)
            grad_x = crop_channels_last(padded_grad, geometry)
        if need_weight:
            grad_weight = weight_grad_from(saved if ctx.has_columns else None,
                                           saved, grad_rows, weight.shape, geometry, groups)
        if need_bias:
            grad_bias = bias_grad(grad_rows)
        if ctx.one_d:
            grad_x = None if grad_x is None else grad_x[:, :, 0, :]
            grad_weight = None if grad_weight is None else grad_weight[:, :, 0, :]
        return grad_x, grad_weight, grad_bias


class TransposedConvolution(Function):
    """The adjoint of Convolution (sometimes called deconvolution): each input pixel
    stamps the filter, scaled by its value, onto the output, and overlaps add up:

        y = fold(X @ W) + b,   i.e. the input gradient of the convolution y -> x

    `geometry` describes that convolution (from y's size to x's). Backward:
        dL/dx = the convolution of dL/dy with w
        dL/dW = the convolution's weight gradient, with dL/dy as its input and x as its
                output gradient: X^T @ columns(dL/dy)
        dL/db = ones @ dL/dy
    """

    def forward(ctx, x, weight, bias, geometry: Geometry, groups: int):
        ctx.geometry, ctx.groups, ctx.one_d = geometry, groups, x.ndim == 3
        x, weight = as_2d(x), as_2d(weight)
        n = x.shape[0]
        out_channels = weight.shape[1] * groups
        ctx.padded_shape = (n, *geometry.array_size, out_channels)
        x_last = x.transpose(0, 2, 3, 1)
        padded_y = convolve_input_grad(x_last, weight, geometry, groups, ctx.padded_shape)
        y = crop_channels_last(padded_y, geometry)       # NCHW view of channels-last memory
        ctx.save_for_backward(x, weight)
        if bias is not None:
            y += bias[:, None, None]
        return y[:, :, 0, :] if ctx.one_d else y

    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        geometry, groups = ctx.geometry, ctx.groups
        padded_grad = pad_input(as_2d(grad), geometry)
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        columns = None
        if need_x:
            grad_x_last, columns = convolve(padded_grad, weight, geometry, groups)
            grad_x = grad_x_last.transpose(0, 3, 1, 2)
        if need_weight:
            x_rows = rows_of(x.transpose(0, 2, 3, 1))
            grad_weight = weight_grad_from(columns, padded_grad, x_rows, weight.shape,
                                           geometry, groups)
        if need_bias:
            grad_bias = bias_grad(rows_of(as_2d(grad).transpose(0, 2, 3, 1)))
        if ctx.one_d:
            grad_x = None if grad_x is None else grad_x[:, :, 0, :]
            grad_weight = None if grad_weight is None else grad_weight[:, :, 0, :]
        return grad_x, grad_weight, grad_bias

