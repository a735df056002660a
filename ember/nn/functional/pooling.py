"""Pooling under PyTorch's names and signatures: max_pool1d/2d, avg_pool1d/2d and the
adaptive forms. Each checks its arguments and calls a fused primitive (ember.ops.pooling,
ember.ops.adaptive_pooling). `exact=True` (an ember extra, keyword only) raises when the
stride does not tile the padded input exactly, as in ember.nn.functional.conv."""
from __future__ import annotations

import numpy as np

from ember.backend import get_array_module
from ember.errors import DTypeError, ShapeError
from ember.ops.adaptive_pooling import AdaptiveAvgPool, AdaptiveMaxPool, adaptive_max_indices
from ember.ops.conv_geometry import as_tuple, make_geometry
from ember.ops.pooling import AvgPool, MaxPool, avg_pool_divisor, max_pool_indices
from ember.tensor import Tensor


def _check_input(op: str, input, spatial: int) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (spatial + 1, spatial + 2) or 0 in input.shape[-spatial - 1:]:
        layout = "(N, C, L) or (C, L)" if spatial == 1 else "(N, C, H, W) or (C, H, W)"
        raise ShapeError(f"{op}: expected a non-empty input of shape {layout}, got shape "
                         f"{tuple(input.shape)}")


def _pool_geometry(op: str, input: Tensor, spatial: int, kernel_size, stride, padding,
                   dilation, ceil_mode: bool, exact: bool):
    kernel = as_tuple(op, "kernel_size", kernel_size, spatial, 1)
    stride = kernel if stride is None or stride == [] or stride == () else \
        as_tuple(op, "stride", stride, spatial, 1)
    pads = as_tuple(op, "padding", padding, spatial, 0)
    dilation = as_tuple(op, "dilation", dilation, spatial, 1)
    if any(p > k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(f"{op}: padding should be at most half of the kernel size (so that "
                         f"every window holds an input element), but got padding={padding} "
                         f"and kernel_size={kernel_size}")
    return make_geometry(op, tuple(input.shape[-spatial:]), kernel, stride,
                         tuple((p, p) for p in pads), dilation, ceil_mode, exact)


def _with_batch(input: Tensor, spatial: int) -> tuple:
    if input.ndim == spatial + 1:
        return input.unsqueeze(0), True
    return input, False


def _max_pool(op, spatial, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices, exact):
    _check_input(op, input, spatial)
    geometry = _pool_geometry(op, input, spatial, kernel_size, stride, padding, dilation,
                              ceil_mode, exact)
    batched, unbatched = _with_batch(input, spatial)
    output = MaxPool.apply(batched, geometry=geometry)
    indices = None
    if return_indices:
        indices = Tensor._make(max_pool_indices(batched._data, output._data, geometry))
    if unbatched:
        output = output.squeeze(0)
        indices = None if indices is None else indices.squeeze(0)
    return (output, indices) if return_indices else output


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False, *,
               exact: bool = False):
    """The largest value of each window of a sequence, per channel.

    Args:
        input: (N, C, L) or (C, L).
        kernel_size: window length.
        stride: step between windows (default: kernel_size, non-overlapping windows).
        padding: -inf added at both ends (at most kernel_size // 2).
        dilation: spacing between a window's elements.
        ceil_mode: round the output length up (a last, partial window) instead of down.
        return_indices: also return each maximum's position in the input.
        exact: raise if the stride does not tile the padded input exactly.

    Shape: (N, C, L) -> (N, C, floor((L + 2P - D(K-1) - 1)/S) + 1).

    Example:
        >>> F.max_pool1d(ember.randn(2, 3, 10), 2).shape
        (2, 3, 5)
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices, exact)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False, *,
               exact: bool = False):
    """The largest value of each window, per channel (2x2 windows with stride 2 keep the
    largest of each block and halve the height and width; no parameters).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: window size, an int or (height, width).
        stride: step between windows (default: kernel_size).
        padding: -inf added on each side (at most half the kernel).
        dilation: spacing between a window's elements.
        ceil_mode: round the output size up: a last, partial window is kept when it starts
            inside the input or the left padding.
        return_indices: also return each maximum's flat position in its H*W input plane.
        exact: raise if the stride does not tile the padded input exactly.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), per axis
        out = floor((N + 2P - D(K-1) - 1)/S) + 1.

    Backward: each window's gradient goes to its maximum; when several elements tie, to
    the first in row-major order (PyTorch's CPU choice).

    Example:
        >>> F.max_pool2d(ember.randn(64, 6, 28, 28), 2).shape
        (64, 6, 14, 14)
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices, exact)


def _avg_pool(op, spatial, input, kernel_size, stride, padding, ceil_mode,
              count_include_pad, divisor_override, exact):
    _check_input(op, input, spatial)
    if not input.is_floating_point():
        raise DTypeError(f"{op}: expected a floating-point input, got {input.dtype}")
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{op}: divisor_override must not be zero")
    geometry = _pool_geometry(op, input, spatial, kernel_size, stride, padding, 1,
                              ceil_mode, exact)
    divisor = avg_pool_divisor(geometry, count_include_pad, divisor_override,
                               get_array_module(input._data), input._data.dtype)
    batched, unbatched = _with_batch(input, spatial)
    output = AvgPool.apply(batched, geometry=geometry, divisor=divisor)
    return output.squeeze(0) if unbatched else output


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, *, exact: bool = False) -> Tensor:
    """The mean of each window of a sequence, per channel.

    Args:
        input: (N, C, L) or (C, L).
        kernel_size, stride (default kernel_size), padding (zeros, at most half the
            kernel), ceil_mode: as in max_pool1d.
        count_include_pad: count padded zeros in a window's size (default True).
        exact: raise if the stride does not tile the padded input exactly.

    Shape: (N, C, L) -> (N, C, floor((L + 2P - K)/S) + 1).

    Example:
        >>> F.avg_pool1d(ember.randn(2, 3, 10), 2).shape
        (2, 3, 5)
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None, exact)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None, *,
               exact: bool = False) -> Tensor:
    """The mean of each window, per channel.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, stride (default kernel_size), padding (zeros, at most half the
            kernel), ceil_mode: as in max_pool2d.
        count_include_pad: count padded zeros in a window's size (default True); a ceil-mode
            window's part beyond the padding never counts.
        divisor_override: divide every window's sum by this instead.
        exact: raise if the stride does not tile the padded input exactly.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), per axis out = floor((N + 2P - K)/S) + 1.

    Example:
        >>> F.avg_pool2d(ember.randn(2, 3, 8, 8), 2).shape
        (2, 3, 4, 4)
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, exact)


def _output_size(op: str, input: Tensor, output_size, spatial: int) -> tuple:
    """Requested sizes per axis; None keeps the input's size (PyTorch's rule)."""
    sizes = (output_size,) * spatial if output_size is None or isinstance(output_size, int) \
        else tuple(output_size)
    if len(sizes) == 1 and spatial > 1:
        sizes = sizes * spatial
    if len(sizes) != spatial:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {spatial}, got "
                         f"{output_size!r}")
    sizes = tuple(n if s is None else s for s, n in zip(sizes, input.shape[-spatial:]))
    if any(not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise ValueError(f"{op}: output_size must be positive ints, got {output_size!r}")
    return tuple(int(s) for s in sizes)


def _adaptive(op: str, spatial: int, input: Tensor, output_size, primitive):
    _check_input(op, input, spatial)
    sizes = _output_size(op, input, output_size, spatial)
    if spatial == 1:       # a plane of height 1
        output = primitive.apply(input.unsqueeze(-2), output_size=(1,) + sizes)
        return output.squeeze(-2), (1,) + sizes
    return primitive.apply(input, output_size=sizes), sizes


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a requested length: window t covers
    [floor(t L / L_out), ceil((t + 1) L / L_out)).

    Example:
        >>> F.adaptive_avg_pool1d(ember.randn(2, 3, 10), 4).shape
        (2, 3, 4)
    """
    if not input.is_floating_point():
        raise DTypeError(f"adaptive_avg_pool1d: expected a floating-point input, got "
                         f"{input.dtype}")
    return _adaptive("adaptive_avg_pool1d", 1, input, output_size, AdaptiveAvgPool)[0]


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a requested size (e.g. 1 for global average pooling): along an
    axis of length N pooled to O, window o covers [floor(o N / O), ceil((o + 1) N / O)).

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: an int or (H_out, W_out); None in the tuple keeps that input size.

    Example:
        >>> F.adaptive_avg_pool2d(ember.randn(2, 64, 7, 7), 1).shape
        (2, 64, 1, 1)
    """
    if not input.is_floating_point():
        raise DTypeError(f"adaptive_avg_pool2d: expected a floating-point input, got "
                         f"{input.dtype}")
    return _adaptive("adaptive_avg_pool2d", 2, input, output_size, AdaptiveAvgPool)[0]


def _adaptive_max(op: str, spatial: int, input: Tensor, output_size, return_indices: bool):
    output, sizes = _adaptive(op, spatial, input, output_size, AdaptiveMaxPool)
    if not return_indices:
        return output
    planes = input._data if spatial == 2 else input._data[..., None, :]
    indices = adaptive_max_indices(planes, sizes)
    return output, Tensor._make(indices if spatial == 2 else indices[..., 0, :])


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a requested length (windows as in adaptive_avg_pool1d).

    Example:
        >>> F.adaptive_max_pool1d(ember.randn(2, 3, 10), 4).shape
        (2, 3, 4)
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a requested size (windows as in adaptive_avg_pool2d); the gradient
    goes to each window's first maximum.

    Example:
        >>> F.adaptive_max_pool2d(ember.randn(2, 3, 9, 9), 4).shape
        (2, 3, 4, 4)
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)
