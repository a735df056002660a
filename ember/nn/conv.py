"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, with PyTorch's
parameter names, layouts, initialisation and repr."""
from __future__ import annotations

import math

import numpy as np

import ember.nn.functional.conv as F
from ember.creation import empty
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.ops.conv_geometry import as_tuple, conv_padding
from ember.tensor import Tensor

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _mode_positions(length: int, before: int, after: int, mode: str) -> np.ndarray:
    """Which input position each padded position copies (reflect mirrors without repeating
    the edge, replicate repeats it, circular wraps around)."""
    positions = np.arange(-before, length + after)
    if mode == "circular":
        return positions % length
    if mode == "replicate":
        return np.clip(positions, 0, length - 1)
    return np.where(positions < 0, -positions,
                    np.where(positions >= length, 2 * (length - 1) - positions, positions))


def pad_by_mode(input: Tensor, pads: tuple, mode: str) -> Tensor:
    """Pad the last len(pads) dimensions, ((before, after), ...), by reflect, replicate or
    circular, as a gather from the input (so the gradient flows back to the copies'
    sources)."""
    spatial = len(pads)
    for k, (before, after) in enumerate(pads):
        axis = input.ndim - spatial + k
        length = input.shape[axis]
        limit = length - 1 if mode == "reflect" else length
        if max(before, after) > limit:
            raise ValueError(f"padding_mode={mode!r}: padding ({before}, {after}) must be at "
                             f"most {limit} for an input of size {length} along dimension "
                             f"{axis} (input shape {tuple(input.shape)})")
        index = (slice(None),) * axis + (_mode_positions(length, before, after, mode),)
        input = input[index]
    return input


class _ConvNd(Module):
    """What the convolution layers share: arguments, parameters, initialisation and repr."""

    spatial = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, groups: int, bias: bool, padding_mode: str, device, dtype,
                 output_padding=0, exact: bool = False) -> None:
        super().__init__()
        name, n = type(self).__name__, self.spatial
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels must be divisible by groups "
                             f"(in_channels={in_channels}, groups={groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels must be divisible by groups "
                             f"(out_channels={out_channels}, groups={groups})")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding mode is supported')
        if self.transposed and isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of ints, got "
                             f"{padding!r} (transposed convolutions take no padding strings)")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = as_tuple(name, "kernel_size", kernel_size, n, 1)
        self.stride = as_tuple(name, "stride", stride, n, 1)
        self.dilation = as_tuple(name, "dilation", dilation, n, 1)
        self.output_padding = as_tuple(name, "output_padding", output_padding, n, 0)
        if isinstance(padding, str):
            self._pads = conv_padding(name, padding, self.kernel_size, self.dilation,
                                      self.stride)   # checks the string and 'same' strides
            self.padding = padding
        else:
            self.padding = as_tuple(name, "padding", padding, n, 0)
            self._pads = tuple((p, p) for p in self.padding)
        self.groups, self.padding_mode = groups, padding_mode
        self.exact = exact
        shape = ((in_channels, out_channels // groups) if self.transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(empty(*shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_ with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), with
        # fan_in = weight.shape[1] * kernel area, as PyTorch does
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        n = self.spatial
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        if self.exact:
            text += ", exact=True"
        return text

    def _convolve(self, input: Tensor, conv) -> Tensor:
        if self.padding_mode != "zeros":
            input = pad_by_mode(input, self._pads, self.padding_mode)
            return conv(input, self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups, exact=self.exact)
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                    self.groups, exact=self.exact)


class Conv1d(_ConvNd):
    """A 1-D convolution layer: C_out filters of shape (C_in/groups, K) slid along the
    sequence, y[n, o, t] = b[o] + sum_{c, k} w[o, c, k] x_pad[n, c, t*S + k*D].

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: K.
        stride, padding, dilation: as in F.conv1d (padding may be 'valid' or 'same').
        groups: independent channel groups (each must divide both channel counts).
        bias: learn a bias per output channel (default True).
        padding_mode: 'zeros' (default), 'reflect', 'replicate' or 'circular'.
        exact: (ember extra) raise if the stride does not tile the padded input exactly.

    Shape: (N, C_in, L) -> (N, C_out, floor((L + 2P - D(K-1) - 1)/S) + 1).

    Weight (C_out, C_in/groups, K) and bias start uniform in +-1/sqrt(C_in/groups * K).

    Example:
        >>> layer = ember.nn.Conv1d(1, 25, kernel_size=5, stride=2, padding=1)
        >>> layer(ember.randn(100, 1, 40)).shape
        (100, 25, 19)
    """

    spatial = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None, *, exact: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, exact=exact)

    def forward(self, input: Tensor) -> Tensor:
        return self._convolve(input, F.conv1d)


class Conv2d(_ConvNd):
    """A 2-D convolution layer: C_out filters of shape (C_in/groups, KH, KW) slid over the
    image, y[n, o, h, w] = b[o] + sum_{c, i, j} w[o, c, i, j] x_pad[n, c, h*S + i*D, w*S + j*D].
    A 5x5 filter over 3 channels has 5*5*3 = 75 weights plus its bias.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: an int or (KH, KW).
        stride, padding, dilation: as in F.conv2d (padding may be 'valid' or 'same').
        groups: independent channel groups (each must divide both channel counts).
        bias: learn a bias per output channel (default True).
        padding_mode: 'zeros' (default), 'reflect', 'replicate' or 'circular'.
        exact: (ember extra) raise if the stride does not tile the padded input exactly.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), per axis
        out = floor((N + 2P - D(F-1) - 1)/S) + 1.

    Weight (C_out, C_in/groups, KH, KW) and bias start uniform in +-1/sqrt(fan_in),
    fan_in = C_in/groups * KH * KW, as in PyTorch.

    Example:
        >>> layer = ember.nn.Conv2d(1, 6, kernel_size=5, padding=2)
        >>> layer(ember.randn(64, 1, 28, 28)).shape
        (64, 6, 28, 28)
    """

    spatial = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None, *, exact: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, exact=exact)

    def forward(self, input: Tensor) -> Tensor:
        return self._convolve(input, F.conv2d)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """output_padding from a requested output size (PyTorch's rule), or the layer's."""
        if output_size is None:
            return self.output_padding
        n = self.spatial
        output_size = tuple(output_size)[-n:]
        smallest = tuple((size - 1) * s - 2 * p + d * (k - 1) + 1
                         for size, s, p, d, k in zip(input.shape[-n:], self.stride,
                                                     self.padding, self.dilation,
                                                     self.kernel_size))
        largest = tuple(low + s - 1 for low, s in zip(smallest, self.stride))
        if any(not low <= size <= high
               for size, low, high in zip(output_size, smallest, largest)):
            raise ValueError(f"{type(self).__name__}: requested an output size of "
                             f"{output_size}, but valid sizes range from {smallest} to "
                             f"{largest} (for an input of {tuple(input.shape[-n:])})")
        return tuple(size - low for size, low in zip(output_size, smallest))


class ConvTranspose1d(_ConvTransposeNd):
    """A 1-D transposed convolution layer (the gradient of Conv1d with respect to its
    input), used to upsample sequences.

    Args: as ConvTranspose2d, with ints for the sizes.

    Shape: (N, C_in, L) -> (N, C_out, (L - 1)S - 2P + D(K-1) + output_padding + 1).

    Example:
        >>> layer = ember.nn.ConvTranspose1d(4, 3, kernel_size=3, stride=2)
        >>> layer(ember.randn(2, 4, 10)).shape
        (2, 3, 21)
    """

    spatial = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, output_padding)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """A 2-D transposed convolution layer (a "deconvolution", the gradient of Conv2d with
    respect to its input): each input pixel stamps the filter onto the output, scaled by
    its value; used to upsample in decoders and generators.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: an int or (KH, KW).
        stride, padding, output_padding, dilation: as in F.conv_transpose2d.
        groups: independent channel groups.
        bias: learn a bias per output channel (default True).
        padding_mode: only 'zeros'.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out), per axis
        out = (N - 1)S - 2P + D(F-1) + output_padding + 1;
    forward(input, output_size) picks output_padding to reach a requested size.

    Weight (C_in, C_out/groups, KH, KW) (PyTorch's layout) and bias start uniform in
    +-1/sqrt(C_out/groups * KH * KW), as in PyTorch.

    Example:
        >>> layer = ember.nn.ConvTranspose2d(16, 8, kernel_size=4, stride=2, padding=1)
        >>> layer(ember.randn(2, 16, 7, 7)).shape
        (2, 8, 14, 14)
    """

    spatial = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, output_padding)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)
