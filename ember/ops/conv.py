"""Convolution and transposed convolution as fused primitives: forward and backward on raw
arrays, each a few matrix products (see im2col.py); 1-D ops are 2-D ops of height 1.

Outputs are NCHW tensors whose memory is channels-last (a transposed view of the matrix
product's (N, OH, OW, O) result), so the next convolution reads them without a copy.
"""
from __future__ import annotations

import math

import numpy as np

from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.ops.compiled import conv_kernel
from ember.ops.conv_geometry import Geometry
from ember.ops.im2col import col2im, crop_channels_last, im2col, pad_input, weight_matrices
from ember.ops.parallel import map_blocks

# The unfolded columns (75 MB for 64 images of 32x32x32 and a 3x3 kernel) are made and
# used a block of images at a time, about this many bytes per block, in a scratch buffer
# reused from call to call: the block stays in cache between the copy and the product,
# and nothing that large is allocated or kept for backward (the weight gradient unfolds
# the saved input again). Measured on 2 cores for that layer (one thread's CPU time):
# 18.4 ms with blocks of 0.5-4 MB, 23.6 ms with 8 MB, 26 ms in one piece.
COLUMN_BLOCK_BYTES = 2 * 2**20

# Below this many bytes of columns in all, a convolution is not split up for threads (a
# hand-over costs tens of microseconds).
PARALLEL_MIN_BYTES = 2**19

# A stride-1 input gradient with this many input channels or more is computed as a
# convolution of dL/dy with the flipped kernel (no scatter): on 2 cores, 18 ms against
# 26 ms for col2im at 64 -> 64 channels on 64x16x16; at 6 input channels col2im's one
# product wins (1.3 ms against 2.7).
TRANSPOSED_INPUT_GRAD_MIN_CHANNELS = 16

# A stride-1 convolution of an NCHW input with at most this many weights runs as a direct
# convolution in C, with no unfold (conv_kernel.c): for LeNet's first layer (6x1x5x5 = 150
# weights) the W2 step's convolution forwards took 1.18 ms instead of 1.45 and the weight
# gradients 1.31 ms instead of 1.96; with 32x3x3x3 = 864 weights (a CIFAR first layer)
# im2col and its product were 3.9x faster (523 against 2,040 us per 16 images).
DIRECT_MAX_WEIGHTS = 256

# A stride-1 float32 convolution of a channels-last input with at most this many weights
# runs as a direct convolution in C with AVX2 where the processor has it (conv_kernel.c
# direct_last): LeNet's second layer (16x6x5x5 = 2,400 weights) 624 us on one thread for
# 64 images against 836 us for im2col and its product on two.
LAST_DIRECT_MAX_WEIGHTS = 4096


def as_2d(array):
    """A 1-D op's (N, C, L) array as (N, C, 1, L); 2-D arrays as they are."""
    return array[:, :, None, :] if array.ndim == 3 else array


# --- the forward product ----------------------------------------------------------------


def image_blocks(padded, geometry: Geometry) -> list:
    """Slices of the batch, sizes differing by at most one image, whose columns take at most
    about COLUMN_BLOCK_BYTES (one image at least). Beyond PARALLEL_MIN_BYTES of columns in
    all, a multiple of 4 blocks: 1, 2 or 4 threads share them out evenly (parallel.py),
    and the blocks, so the order of the weight gradient's sum, do not depend on the
    thread count."""
    n, _, _, channels = padded.shape
    (oh, ow), (kh, kw) = geometry.output_size, geometry.kernel
    per_image = oh * ow * (kh * kw * channels + 1) * padded.itemsize
    count = -(-n * per_image // COLUMN_BLOCK_BYTES)
    if n * per_image >= PARALLEL_MIN_BYTES:        # worth handing to other threads
        count = -(-count // 4) * 4
    count = min(n, count)
    bounds = [n * k // count for k in range(count + 1)]
    return [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:])]


def convolve(padded, weight, geometry: Geometry, groups: int, bias=None):
    """y = x * w (+ b) as channels-last (N, OH, OW, O), from the padded (N, Hp, Wp, C)
    input: per block of images, Y_g = columns_g @ W_g^T, the bias riding along as a column
    of ones in the columns and a column of the weight matrix (or, for a first layer, the
    direct convolution in C: see DIRECT_MAX_WEIGHTS)."""
    xp = get_array_module(padded)
    n, (oh, ow), out_channels = padded.shape[0], geometry.output_size, weight.shape[0]
    matrices = weight_matrices(weight, groups, bias)
    y = xp.empty((n, oh, ow, out_channels), padded.dtype)
    direct = direct_kernel(padded, weight.shape, geometry, groups)
    last = channels_last_kernel(padded, weight.shape, geometry, groups) if direct is None \
        else None
    if direct is not None or last is not None:
        matrix = xp.ascontiguousarray(matrices[0])     # (O, K [+ 1]), once for all blocks

    def convolve_block(block):
        if direct is not None:
            direct.direct(padded[block], matrix, y[block], geometry.kernel, geometry.dilation,
                          geometry.output_size, bias is not None, False)
            return
        if last is not None and last.direct_last(padded[block], matrix, y[block],
                                                 geometry.kernel, geometry.dilation,
                                                 geometry.output_size, bias is not None):
            return                      # (False: no AVX2, or too narrow: im2col below)
        columns = im2col(padded[block], geometry, groups, ones=bias is not None)
        y_rows = y[block].reshape(-1, out_channels)
        if groups == 1:
            xp.matmul(columns[0], matrices[0].T, out=y_rows)
        else:
            grouped = columns @ matrices.transpose(0, 2, 1)        # (G, M, O/G)
            y_rows.reshape(-1, groups, out_channels // groups)[...] = grouped.transpose(1, 0, 2)

    map_blocks(convolve_block, image_blocks(padded, geometry), xp)
    return y


# --- the gradients ------------------------------------------------------------------------


def convolve_weight_grad(padded, grad_rows, weight_shape: tuple, geometry: Geometry,
                         groups: int, with_bias: bool):
    """dL/dW_g = dY_g^T @ columns_g, summed over blocks of images (the input unfolded
    again, block by block), in the (O, C/G, KH, KW) layout. With `with_bias`, the columns
    carry their column of ones and the product's last column is dL/db = ones @ dY,
    returned too: (dL/dW, dL/db or None). A first layer's gradient comes from the direct
    convolution's kernel instead (see DIRECT_MAX_WEIGHTS), in the same layout."""
    xp = get_array_module(padded)
    out_channels, per_group, kh, kw = weight_shape
    rows_per_image = grad_rows.shape[0] // padded.shape[0]
    direct = direct_kernel(padded, weight_shape, geometry, groups)

    def block_weight_grad(block):
        block_rows = grad_rows[block.start * rows_per_image:block.stop * rows_per_image]
        if direct is not None:          # (O, K [+ 1]) like the product's
            grad = xp.zeros((1, out_channels, per_group * kh * kw + with_bias), padded.dtype)
            rows = xp.ascontiguousarray(block_rows).reshape(-1, *geometry.output_size,
                                                            out_channels)
            direct.direct(padded[block], grad[0], rows, geometry.kernel, geometry.dilation,
                          geometry.output_size, with_bias, True)
            return grad
        columns = im2col(padded[block], geometry, groups, ones=with_bias)
        if groups == 1:
            # (columns^T dY)^T: OpenBLAS is 1.5x faster this way round when im2col made
            # the columns as planes (K, M), and as fast otherwise
            return xp.matmul(columns[0].T, block_rows).T[None]
        # (G, O/G, M) @ (G, M, K): one product per group
        by_group = block_rows.reshape(-1, groups, out_channels // groups).transpose(1, 2, 0)
        return by_group @ columns

    parts = map_blocks(block_weight_grad, image_blocks(padded, geometry), xp)
    grad = parts[0]
    for part in parts[1:]:                    # in block order, whichever thread made them
        grad += part
    grad = grad.reshape(out_channels, -1)
    bias_grad = grad[:, -1].copy() if with_bias else None
    weight_grad = grad[:, :kh * kw * per_group].reshape(out_channels, kh, kw, per_group)
    return xp.ascontiguousarray(weight_grad.transpose(0, 3, 1, 2)), bias_grad


def direct_kernel(padded, weight_shape: tuple, geometry: Geometry, groups: int):
    """The compiled direct convolution (ember/ops/conv_kernel.c) where it pays: stride 1,
    one group, input planes of adjacent rows (NCHW memory: a network's input) and at most
    DIRECT_MAX_WEIGHTS weights (a first layer like LeNet's 6 x 1 x 5 x 5); else None."""
    kernel = conv_kernel(padded.dtype, get_array_module(padded))
    if (kernel is None or groups != 1 or geometry.stride != (1, 1)
            or math.prod(weight_shape) > DIRECT_MAX_WEIGHTS
            or (padded.shape[2] > 1 and padded.strides[2] != padded.itemsize)
            or (padded.shape[1] > 1
                and padded.strides[1] != padded.shape[2] * padded.itemsize)):
        return None
    return kernel


def channels_last_kernel(padded, weight_shape: tuple, geometry: Geometry, groups: int):
    """The compiled channels-last direct convolution (conv_kernel.c direct_last) where it
    may pay: float32, stride 1, one group, a C-contiguous channels-last input and at most
    LAST_DIRECT_MAX_WEIGHTS weights; else None. (The kernel itself declines without AVX2
    or below 6 output columns.)"""
    kernel = conv_kernel(padded.dtype, get_array_module(padded))
    if (kernel is None or padded.dtype != np.float32 or groups != 1
            or geometry.stride != (1, 1) or not padded.flags.c_contiguous
            or math.prod(weight_shape) > LAST_DIRECT_MAX_WEIGHTS):
        return None
    return kernel


def bias_grad(grad_rows):
    """dL/db = sum of dL/dy over every position: ones @ dY (a matrix-vector product,
    faster than a sum over axis 0)."""
    xp = get_array_module(grad_rows)
    return xp.ones(grad_rows.shape[0], grad_rows.dtype) @ grad_rows


def flipped_kernel_geometry(geometry: Geometry) -> Geometry | None:
    """For a stride-1 convolution, the geometry of dL/dx as a convolution of dL/dy:

        dL/dx[h] = sum_i dL/dy[h + P - i*D] W_i  =  sum_i' dL/dy_pad[h + i'*D] W_(K-1-i')

    with the flipped kernel and dL/dy padded by D(K-1) - P before and as much after as
    makes the output H long. None when the stride is not 1 or a padding would be negative
    (more padding than the kernel spans)."""
    if geometry.stride != (1, 1):
        return None
    pads = []
    for n, out, (before, _), d, k in zip(geometry.input_size, geometry.output_size,
                                         geometry.padding, geometry.dilation, geometry.kernel):
        front = d * (k - 1) - before
        pads.append((front, n + d * (k - 1) - out - front))
    if any(p < 0 for pair in pads for p in pair):
        return None
    return Geometry(geometry.output_size, geometry.kernel, (1, 1), tuple(pads),
                    geometry.dilation, geometry.input_size)


def flipped_kernel(weight, groups: int):
    """(O, C/G, KH, KW) -> (C, O/G, KH, KW), each filter rotated by 180 degrees: the
    weight that convolves dL/dy into dL/dx, group by group."""
    xp = get_array_module(weight)
    out_channels, per_group, kh, kw = weight.shape
    by_group = weight.reshape(groups, out_channels // groups, per_group, kh, kw)
    swapped = by_group.transpose(0, 2, 1, 3, 4).reshape(per_group * groups, -1, kh, kw)
    return xp.ascontiguousarray(swapped[:, :, ::-1, ::-1])


def convolve_input_grad(grad_last, weight, geometry: Geometry, groups: int):
    """dL/dx (N, H, W, C), channels-last, from dL/dy (N, OH, OW, O): every input pixel
    collects w times the gradient of each output whose window covered it. Stride 1 with
    many channels: a convolution of dL/dy with the flipped kernel (a product per block of
    images, no scatter); otherwise col2im's scatter into the padded input."""
    xp = get_array_module(grad_last)
    flipped = flipped_kernel_geometry(geometry)
    channels = weight.shape[1] * groups
    if flipped is not None and channels >= TRANSPOSED_INPUT_GRAD_MIN_CHANNELS:
        padded_grad = pad_input(grad_last.transpose(0, 3, 1, 2), flipped)
        return convolve(padded_grad, flipped_kernel(weight, groups), flipped, groups)
    n = grad_last.shape[0]
    padded = xp.zeros((n, *geometry.array_size, channels), grad_last.dtype)
    map_blocks(lambda block: col2im(grad_last[block], weight, geometry, groups,
                                    out=padded[block]),
               image_blocks(padded, geometry), xp)
    return crop_channels_last(padded, geometry).transpose(0, 2, 3, 1)


def rows_of(array_last):
    """A channels-last (N, H, W, C) array as (N*H*W, C) rows (a copy only if needed)."""
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
        y = convolve(pad_input(x, geometry), weight, geometry, groups, bias)
        ctx.save_for_backward(x, weight)
        y = y.transpose(0, 3, 1, 2)                    # NCHW view of channels-last memory
        return y[:, :, 0, :] if ctx.one_d else y

    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        geometry, groups = ctx.geometry, ctx.groups
        grad_last = as_2d(grad).transpose(0, 2, 3, 1)
        grad_rows = rows_of(grad_last)                 # (N*OH*OW, O): a copy only if needed
        grad_last = grad_rows.reshape(grad_last.shape)
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if need_x:
            grad_x = convolve_input_grad(grad_last, weight, geometry, groups)
            grad_x = grad_x.transpose(0, 3, 1, 2)
        if need_weight:
            grad_weight, grad_bias = convolve_weight_grad(pad_input(x, geometry), grad_rows,
                                                          weight.shape, geometry, groups,
                                                          need_bias)
        elif need_bias:
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
        y = convolve_input_grad(x.transpose(0, 2, 3, 1), weight, geometry, groups)
        if bias is not None:
            y += bias
        ctx.save_for_backward(x, weight)
        y = y.transpose(0, 3, 1, 2)                    # NCHW view of channels-last memory
        return y[:, :, 0, :] if ctx.one_d else y

    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        geometry, groups = ctx.geometry, ctx.groups
        padded_grad = pad_input(as_2d(grad), geometry)
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if need_x:
            grad_x = convolve(padded_grad, weight, geometry, groups).transpose(0, 3, 1, 2)
        if need_weight:
            x_rows = rows_of(x.transpose(0, 2, 3, 1))
            grad_weight, _ = convolve_weight_grad(padded_grad, x_rows, weight.shape,
                                                  geometry, groups, False)
        if need_bias:
            grad_bias = bias_grad(rows_of(as_2d(grad).transpose(0, 2, 3, 1)))
        if ctx.one_d:
            grad_x = None if grad_x is None else grad_x[:, :, 0, :]
            grad_weight = None if grad_weight is None else grad_weight[:, :, 0, :]
        return grad_x, grad_weight, grad_bias
