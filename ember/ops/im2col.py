"""Convolution as matrix products on raw arrays: the unfold (im2col) and its adjoint
(col2im), with the padding and cropping around them.

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
from ember.ops.compiled import conv_kernel
from ember.ops.conv_geometry import Geometry
from ember.ops.workspace import scratch


def pad_input(x, geometry: Geometry):
    """The (N, C, H, W) input padded with zeros, as an (N, Hp, Wp, C) view of memory laid
    out like x's (channels-last stays channels-last); x itself when there is no padding.
    The padded copy is made in this thread's scratch buffer: valid until the next
    pad_input."""
    if not geometry.is_padded:
        return x.transpose(0, 2, 3, 1)
    xp = get_array_module(x)
    (top, _), (left, _) = geometry.array_padding
    (height, width), (n, c) = geometry.input_size, x.shape[:2]
    if x.strides[1] < x.strides[3]:                      # channels-last memory
        padded = scratch(xp, (n,) + geometry.array_size + (c,), x.dtype,
                         "padded").transpose(0, 3, 1, 2)
    else:
        padded = scratch(xp, (n, c) + geometry.array_size, x.dtype, "padded")
    padded[:, :, :top] = 0                    # zero the border only: one pass, not two
    padded[:, :, top + height:] = 0
    padded[:, :, top:top + height, :left] = 0
    padded[:, :, top:top + height, left + width:] = 0
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


def im2col(padded, geometry: Geometry, groups: int, ones: bool = False):
    """Columns (G, N*OH*OW, KH*KW*C/G): row m holds the window of output position m for
    group g, in (kh, kw, c) order, followed by a 1 when `ones` (so that a bias folded into
    the weight matrix as its last column is added by the same product). The one copy of
    the unfold happens here, in the order that reads the input's memory in long runs (see
    the module docstring), into this thread's scratch buffer: the columns are valid until
    the next im2col."""
    xp = get_array_module(padded)
    view = windows(padded, geometry)
    n, oh, ow, kh, kw, c = view.shape
    rows, width = n * oh * ow, kh * kw * c // groups + ones
    if groups == 1 and rows_are_contiguous(padded):
        # (KH*KW*C [+ 1], N*OH*OW) filled plane by plane, handed back transposed (no copy)
        planes = scratch(xp, (width, rows), padded.dtype, "columns")
        xp.copyto(planes[:kh * kw * c].reshape(kh, kw, c, n, oh, ow),
                  view.transpose(3, 4, 5, 0, 1, 2))
        if ones:
            planes[-1] = 1
        return planes.T[None]
    columns = scratch(xp, (groups, rows, width), padded.dtype, "columns")
    window_values = view.reshape(n, oh, ow, kh, kw, groups, c // groups)
    xp.copyto(columns[:, :, :width - ones].reshape(groups, n, oh, ow, kh, kw, c // groups),
              window_values.transpose(5, 0, 1, 2, 3, 4, 6))
    if ones:
        columns[:, :, -1] = 1
    return columns


def weight_matrices(weight, groups: int, bias=None):
    """(O, C/G, KH, KW) -> (G, O/G, KH*KW*C/G [+ 1]), in im2col's (kh, kw, c) column
    order, with the bias as the last column when given."""
    xp = get_array_module(weight)
    out_channels = weight.shape[0]
    rows = weight.transpose(0, 2, 3, 1).reshape(groups, out_channels // groups, -1)
    if bias is None:
        return rows
    return xp.concatenate([rows, bias.reshape(groups, -1, 1)], axis=2)


def col2im(grad_last, weight, geometry: Geometry, groups: int, out):
    """Add dL/dx_pad to `out`, the padded channels-last (N, Hp, Wp, C) gradient, from dL/dy
    (N, OH, OW, O), for any stride: the adjoint of im2col applied to dL/dcolumns =
    dY_g W_g. One batched product gives, per kernel offset (i, j), the contiguous slab
    dY_g @ W_g[:, :, i, j] (in scratch memory); each slab is added to the input pixels
    that offset read (pixels shared by overlapping windows receive the sum).

    Where the compiled kernel is built (ember/ops/conv_kernel.c) and there is one group:
    dL/dcolumns = dY W in one product, in im2col's (kh, kw, c) column order, scattered onto
    the pixels in C (2.3x faster for LeNet's second convolution: the per-offset products
    have only C columns each, and the strided adds are many short runs)."""
    xp = get_array_module(grad_last)
    n, oh, ow, out_channels = grad_last.shape
    kernel = conv_kernel(grad_last.dtype, xp) if groups == 1 else None
    if kernel is not None and out.flags.c_contiguous:
        matrix = weight_matrices(weight, 1)[0]                            # (O, KH*KW*C)
        columns = scratch(xp, (n * oh * ow, matrix.shape[1]), grad_last.dtype, "column_grads")
        xp.matmul(grad_last.reshape(-1, out_channels), matrix, out=columns)
        kernel.col2im(out, columns, geometry.kernel, geometry.stride, geometry.dilation,
                      geometry.output_size)
        return
    per_group, (kh, kw) = weight.shape[1], geometry.kernel
    grad_rows = grad_last.reshape(-1, groups, out_channels // groups).transpose(1, 0, 2)
    per_offset = weight.reshape(groups, out_channels // groups, per_group, kh, kw)
    per_offset = per_offset.transpose(3, 4, 0, 1, 2).reshape(kh * kw, groups,
                                                             out_channels // groups, -1)
    slabs = scratch(xp, (kh * kw, groups, n * oh * ow, per_group), grad_last.dtype, "slabs")
    xp.matmul(grad_rows, per_offset, out=slabs)             # (KH*KW, G, M, C/G)
    out_groups = out.reshape(out.shape[:3] + (groups, per_group))
    for k, (i, j) in enumerate(geometry.offsets()):
        rows, cols = geometry.window_slices(i, j)
        slab = slabs[k].transpose(1, 0, 2).reshape(n, oh, ow, groups, per_group)
        out_groups[:, rows, cols] += slab
