"""Convolutions under PyTorch's names and signatures: conv1d, conv2d, conv_transpose1d,
conv_transpose2d. Each checks its arguments (errors that show the output-size formula
with the numbers filled in) and calls one fused primitive from ember.ops.conv.

`exact=True` (an ember extra, keyword only) asks for exact tiling: it raises when the
stride leaves part of the padded input uncovered, i.e. when N + 2P - D(F-1) - 1 is not a
multiple of S, instead of silently dropping those rows and columns.
"""
from __future__ import annotations

import dataclasses

from ember.errors import DTypeError, ShapeError
from ember.ops.conv import Convolution, TransposedConvolution
from ember.ops.conv_geometry import (AXES, as_tuple, check_conv_shapes, conv_padding,
                                     make_geometry)
from ember.tensor import Tensor


def check_operands(op: str, input, weight, bias) -> None:
    """Tensors of one floating-point dtype."""
    for name, value in (("input", input), ("weight", weight), ("bias", bias)):
        if value is None and name == "bias":
            continue
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
        if not value.is_floating_point():
            raise DTypeError(f"{op}: expected a floating-point {name}, got {value.dtype}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.dtype != input.dtype:
            raise DTypeError(f"{op}: input and {name} must have the same dtype, got input "
                             f"{input.dtype} and {name} {value.dtype}")


def _batched(input: Tensor, spatial: int) -> tuple:
    """Unbatched input (C, *spatial) gets a batch of one, as PyTorch accepts."""
    if input.ndim == spatial + 1:
        return input.unsqueeze(0), True
    return input, False


def _convolution(op: str, spatial: int, input, weight, bias, stride, padding, dilation,
                 groups, exact) -> Tensor:
    check_operands(op, input, weight, bias)
    if weight.ndim != spatial + 2:
        raise ShapeError(f"{op}: expected a {spatial + 2}-D weight (out_channels, "
                         f"in_channels/groups, {', '.join(AXES[spatial])}), got shape "
                         f"{tuple(weight.shape)}")
    input, unbatched = _batched(input, spatial)
    check_conv_shapes(op, tuple(input.shape), tuple(weight.shape),
                      None if bias is None else tuple(bias.shape), groups)
    kernel = tuple(weight.shape[2:])
    stride = as_tuple(op, "stride", stride, spatial, 1)
    dilation = as_tuple(op, "dilation", dilation, spatial, 1)
    pads = conv_padding(op, padding, kernel, dilation, stride)
    geometry = make_geometry(op, tuple(input.shape[2:]), kernel, stride, pads, dilation,
                             exact=exact)
    output = Convolution.apply(input, weight, bias, geometry=geometry, groups=groups)
    return output.squeeze(0) if unbatched else output


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1, *, exact: bool = False) -> Tensor:
    """1-D convolution (cross-correlation) of a batch of sequences with a bank of filters:

        y[n, o, t] = b[o] + sum_{c, k} w[o, c, k] x_pad[n, c, t*S + k*D]

    Args:
        input: (N, C_in, L) or unbatched (C_in, L).
        weight: (C_out, C_in/groups, K).
        bias: (C_out,) or None.
        stride, padding, dilation: ints (or 1-tuples); padding may be 'valid' (0) or
            'same' (output length = input length; stride 1 only).
        groups: split the channels into this many independent convolutions.
        exact: raise if the stride does not tile the padded input exactly.

    Shape: (N, C_in, L) -> (N, C_out, L_out), L_out = floor((L + 2P - D(K-1) - 1)/S) + 1.

    Example:
        >>> F.conv1d(ember.randn(8, 1, 40), ember.randn(25, 1, 5), stride=2, padding=1).shape
        (8, 25, 19)
    """
    return _convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups,
                        exact)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1, *, exact: bool = False) -> Tensor:
    """2-D convolution (cross-correlation) of a batch of images with a bank of filters:

        y[n, o, h, w] = b[o] + sum_{c, i, j} w[o, c, i, j] x_pad[n, c, h*SH + i*DH, w*SW + j*DW]

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_out, C_in/groups, KH, KW).
        bias: (C_out,) or None.
        stride, dilation: an int or (height, width).
        padding: an int, (height, width), 'valid' (none) or 'same' (output size = input
            size, stride 1 only; an even total is split evenly, an odd one puts the extra
            row/column at the bottom/right, as PyTorch does).
        groups: split the channels into this many independent convolutions.
        exact: raise if the stride does not tile the padded input exactly.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out) with, per axis,
        out = floor((N + 2P - D(F-1) - 1)/S) + 1.

    Example:
        >>> F.conv2d(ember.randn(64, 1, 28, 28), ember.randn(6, 1, 5, 5), padding=2).shape
        (64, 6, 28, 28)
    """
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups,
                        exact)


def transposed_output_size(op: str, input_size: tuple, kernel: tuple, stride: tuple,
                           padding: tuple, output_padding: tuple, dilation: tuple) -> tuple:
    """out = (N - 1)S - 2P + D(F-1) + output_padding + 1 per axis, or a ShapeError."""
    sizes = []
    for axis, n, k, s, p, extra, d in zip(AXES[len(kernel)], input_size, kernel, stride,
                                          padding, output_padding, dilation):
        if extra >= s and extra >= d:
            raise ValueError(f"{op}: output_padding must be smaller than either stride or "
                             f"dilation, but got output_padding={output_padding}, "
                             f"stride={stride}, dilation={dilation}")
        out = (n - 1) * s - 2 * p + d * (k - 1) + extra + 1
        if out < 1:
            raise ShapeError(
                f"{op}: the output would be empty along {axis}: out = (N - 1)S - 2P + "
                f"D(F-1) + output_padding + 1 = ({n} - 1)*{s} - 2*{p} + {d}*({k}-1) + "
                f"{extra} + 1 = {out}; reduce the padding")
        sizes.append(out)
    return tuple(sizes)


def _transposed(op: str, spatial: int, input, weight, bias, stride, padding, output_padding,
                groups, dilation) -> Tensor:
    check_operands(op, input, weight, bias)
    if weight.ndim != spatial + 2:
        raise ShapeError(f"{op}: expected a {spatial + 2}-D weight (in_channels, "
                         f"out_channels/groups, {', '.join(AXES[spatial])}), got shape "
                         f"{tuple(weight.shape)}")
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints, got {padding!r} "
                         "(transposed convolutions take no padding strings)")
    input, unbatched = _batched(input, spatial)
    check_conv_shapes(op, tuple(input.shape), tuple(weight.shape),
                      None if bias is None else tuple(bias.shape), groups, transposed=True)
    kernel = tuple(weight.shape[2:])
    stride = as_tuple(op, "stride", stride, spatial, 1)
    dilation = as_tuple(op, "dilation", dilation, spatial, 1)
    pads = as_tuple(op, "padding", padding, spatial, 0)
    extra = as_tuple(op, "output_padding", output_padding, spatial, 0)
    size = transposed_output_size(op, tuple(input.shape[2:]), kernel, stride, pads, extra,
                                  dilation)
    # the convolution that maps the output back to the input's size, whose adjoint this is
    geometry = make_geometry(op, size, kernel, stride, tuple((p, p) for p in pads), dilation)
    # (output_padding >= stride, allowed when < dilation, adds windows past the input's end)
    input_size = (1,) + tuple(input.shape[2:]) if spatial == 1 else tuple(input.shape[2:])
    geometry = dataclasses.replace(geometry, output_size=input_size)
    output = TransposedConvolution.apply(input, weight, bias, geometry=geometry, groups=groups)
    return output.squeeze(0) if unbatched else output


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution, the gradient of conv1d with respect to its input: each
    input position stamps the filter onto the output, scaled by its value.

    Args:
        input: (N, C_in, L) or unbatched (C_in, L).
        weight: (C_in, C_out/groups, K) (PyTorch's layout, the transpose of conv1d's).
        bias: (C_out,) or None.
        stride, padding, output_padding, dilation: ints (or 1-tuples); output_padding adds
            rows at the end to pick one of the input sizes a strided conv1d maps to L.
        groups: independent channel groups.

    Shape: (N, C_in, L) -> (N, C_out, (L - 1)S - 2P + D(K-1) + output_padding + 1).

    Example:
        >>> F.conv_transpose1d(ember.randn(2, 4, 10), ember.randn(4, 3, 3), stride=2).shape
        (2, 3, 21)
    """
    return _transposed("conv_transpose1d", 1, input, weight, bias, stride, padding,
                       output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution (a "deconvolution"), the gradient of conv2d with respect
    to its input: used to upsample, e.g. in decoders and GAN generators.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_in, C_out/groups, KH, KW) (PyTorch's layout, the transpose of conv2d's).
        bias: (C_out,) or None.
        stride, padding, output_padding, dilation: an int or (height, width).
        groups: independent channel groups.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out) with, per axis,
        out = (N - 1)S - 2P + D(F-1) + output_padding + 1.

    Example:
        >>> F.conv_transpose2d(ember.randn(2, 16, 7, 7), ember.randn(16, 8, 4, 4),
        ...                    stride=2, padding=1).shape
        (2, 8, 14, 14)
    """
    return _transposed("conv_transpose2d", 2, input, weight, bias, stride, padding,
                       output_padding, groups, dilation)
