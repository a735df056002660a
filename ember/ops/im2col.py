"""Convolution as matrix products on raw arrays: the unfold (im2col), its adjoint (col2im),
and the shifted products that compute a stride-1 input gradient without a scatter.

Arrays are handled as (N, H, W, C) views whatever their memory layout: the outputs of
ember's convolutions are channels-last in memory, a user's images usually NCHW. Each copy
reads the memory in its own order, so that it copies long contiguous runs:
  channels-last memory: row m of the columns is window m's (kh, kw, c) values, runs of
      KW*C consecutive numbers;
  NCHW memory or one channel (a network's input): the columns are built transposed, one
      (kh, kw, c) row at a time, runs of OW consecutive numbers (3-4x faster there).
"""
from __future__ import annotations

from ember.backend import get_array_module
from ember.ops.conv_geometry import Geometry


def pad_input(x, geometry: Geometry):
    """The (N, C, H, W) input padded with zeros, as an (N, Hp, Wp, C) view of memory laid
    out like x's (channels-last stays channels-last); x itself when there is no padding."""
    if not geometry.is_padded:
        return x.transpose(0, 2, 3, 1)
    xp = get_array_module(x)
    (top, _), (left, _) = geometry.array_padding
    height, width = geometry.input_size
    padded = xp.zeros_like(x, shape=x.shape[:2] + geometry.array_size)   # keeps the layout
    padded[:, :, top:top + height, left:left + width] = x
    return padded.transpose(0, 2, 3, 1)


def rows_are_contiguous(array_last) -> bool:
    """Whether an (N, H, W, C) view holds each image row's W values adjacent in memory
    (NCHW memory, or a single channel)."""
    return array_last.strides[2] == array_last.itemsize


def crop_channels_last(padded, geometry: Geometry):
    """The unpadded (N, C, H, W) part of a padded (N, Hp, Wp, C) gradient, as a view."""
    (top, _), (left, _) = geometry.array_padding
    h, w = geometry.input_size
    return padded[:, top:top + h, left:left + w, :].transpose(0, 3, 1, 2)


def windows(padded, geometry: Geometry):
    """A (N, OH, OW, KH, KW, C) view of a padded (N, Hp, Wp, C) view: element
    [n, oh, ow, i, j, c] is padded[n, oh*SH + i*DH, ow*SW + j*DW, c]. Nothing is copied."""
    xp = get_array_module(padded)
    n, _, _, c = padded.shape
    s_n, s_h, s_w, s_c = padded.strides
    (oh, ow), (kh, kw) = geometry.output_size, geometry.kernel
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    return xp.lib.stride_tricks.as_strided(
        padded, shape=(n, oh, ow, kh, kw, c),
        strides=(s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c))


def im2col(padded, geometry: Geometry, groups: int):
    """Columns (G, N*OH*OW, KH*KW*C/G): row m holds the window of output position m for
    group g, in (kh, kw, c) order. The one copy of the unfold happens here, in the order
    that reads the input's memory in long runs (see the module docstring)."""
    xp = get_array_module(padded)
    view = windows(padded, geometry)
    n, oh, ow, kh, kw, c = view.shape
    rows = n * oh * ow
    if groups == 1 and rows_are_contiguous(padded):
        # (KH, KW, C, N, OH, OW) copied plane by plane, handed back transposed (no copy)
        return xp.ascontiguousarray(view.transpose(3, 4, 5, 0, 1, 2)).reshape(-1, rows).T[None]
    if groups == 1:
        return view.reshape(1, rows, kh * kw * c)
    view = view.reshape(n, oh, ow, kh, kw, groups, c // groups)
    return view.transpose(5, 0, 1, 2, 3, 4, 6).reshape(groups, rows, -1)


def col2im(grad_last, weight, geometry: Geometry, groups: int, padded_shape: tuple):
    """dL/dx_pad from dL/dy (N, OH, OW, O) for any stride: the adjoint of im2col applied
    to dL/dcolumns = dY_g W_g. One batched product gives, per kernel offset (i, j), the
    contiguous slab dY_g @ W_g[:, :, i, j]; each slab is added to the input pixels that
    offset read (pixels shared by overlapping windows receive the sum). Returns the
    padded channels-last gradient (N, Hp, Wp, C)."""
    xp = get_array_module(grad_last)
    n, oh, ow, out_channels = grad_last.shape
    per_group, (kh, kw) = weight.shape[1], geometry.kernel
    grad_rows = grad_last.reshape(-1, groups, out_channels // groups).transpose(1, 0, 2)
    per_offset = weight.reshape(groups, out_channels // groups, per_group, kh, kw)
    per_offset = per_offset.transpose(3, 4, 0, 1, 2).reshape(kh * kw, groups,
                                                             out_channels // groups, -1)
    slabs = grad_rows @ per_offset                        # (KH*KW, G, M, C/G)
    grad = xp.zeros(padded_shape, grad_last.dtype)
    grad_groups = grad.reshape(padded_shape[:3] + (groups, per_group))
    for k, (i, j) in enumerate(geometry.offsets()):
        rows, cols = geometry.window_slices(i, j)
        slab = slabs[k].transpose(1, 0, 2).reshape(n, oh, ow, groups, per_group)
        grad_groups[:, rows, cols] += slab
    return grad


def shifted_input_grad(grad_last, weight, geometry: Geometry, padded_shape: tuple):
    """dL/dx_pad for stride 1 and one group, as a transposed convolution with no scatter:
    over the flattened (N*Hp*Wp, .) padded image, output row r read input rows
    r + shift(i, j), with shift(i, j) = i*DH*Wp + j*DW, so with dy placed in a zero
    (N, Hp, Wp, O) image

        dx[r + shift(i, j)] += dy[r] @ W[:, :, i, j]      for every kernel offset

    each a matrix product added to a contiguous range of rows. Rows whose window would
    cross a row's end get dy = 0, so they add nothing. Returns (N, Hp, Wp, C)."""
    xp = get_array_module(grad_last)
    n, hp, wp, c = padded_shape
    (oh, ow), (dh, dw) = geometry.output_size, geometry.dilation
    out_channels, _, kh, kw = weight.shape
    grad_image = xp.zeros((n, hp, wp, out_channels), grad_last.dtype)
    grad_image[:, :oh, :ow] = grad_last
    flat_grad = grad_image.reshape(-1, out_channels)
    matrices = xp.ascontiguousarray(weight.transpose(2, 3, 0, 1)).reshape(kh * kw,
                                                                          out_channels, c)
    shifts = [i * dh * wp + j * dw for i, j in geometry.offsets()]
    rows = flat_grad.shape[0] - max(shifts)           # every output that is not cropped
    grad_input = xp.zeros((flat_grad.shape[0], c), grad_last.dtype)
    product = xp.empty((rows, c), grad_last.dtype)
    for shift, matrix in zip(shifts, matrices):
        xp.matmul(flat_grad[:rows], matrix, out=product)
        grad_input[shift:shift + rows] += product
    return grad_input.reshape(n, hp, wp, c)
