"""Pooling layers (no parameters): MaxPool1d/2d, AvgPool1d/2d and the adaptive forms, with
PyTorch's arguments, attributes and repr."""
from __future__ import annotations

import ember.nn.functional.pooling as F
from ember.nn.module import Module
from ember.tensor import Tensor


def _single(value) -> tuple:
    return (value,) if isinstance(value, int) else tuple(value)


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False, *,
                 exact: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode, self.exact = return_indices, ceil_mode, exact

    def extra_repr(self) -> str:
        text = (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                f", dilation={self.dilation}, ceil_mode={self.ceil_mode}")
        return text + (", exact=True" if self.exact else "")


class MaxPool1d(_MaxPoolNd):
    """Keep the largest value of each window of a sequence, per channel.

    Args:
        kernel_size: window length.
        stride: step between windows (default: kernel_size).
        padding: -inf added at both ends (at most kernel_size // 2).
        dilation: spacing between a window's elements.
        return_indices: also return the maxima's positions.
        ceil_mode: keep a last, partial window (round the output length up).
        exact: (ember extra) raise if the stride does not tile the padded input exactly.

    Shape: (N, C, L) -> (N, C, floor((L + 2P - D(K-1) - 1)/S) + 1).

    Example:
        >>> ember.nn.MaxPool1d(2)(ember.randn(4, 3, 10)).shape
        (4, 3, 5)
    """

    def forward(self, input: Tensor):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices, exact=self.exact)


class MaxPool2d(_MaxPoolNd):
    """Keep the largest value of each window, per channel: MaxPool2d(2) keeps the largest
    of each 2x2 block and halves the height and width. No parameters.

    Args:
        kernel_size: an int or (KH, KW).
        stride: step between windows (default: kernel_size).
        padding: -inf added on each side (at most half the kernel).
        dilation: spacing between a window's elements.
        return_indices: also return the maxima's flat positions in each H*W plane.
        ceil_mode: keep a last, partial window (round the output size up).
        exact: (ember extra) raise if the stride does not tile the padded input exactly.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), out = floor((N + 2P - D(K-1) - 1)/S) + 1.

    Example:
        >>> ember.nn.MaxPool2d(2)(ember.randn(64, 6, 28, 28)).shape
        (64, 6, 14, 14)
    """

    def forward(self, input: Tensor):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices, exact=self.exact)


class AvgPool1d(Module):
    """The mean of each window of a sequence, per channel.

    Args:
        kernel_size: window length.
        stride: step between windows (default: kernel_size).
        padding: zeros added at both ends (at most kernel_size // 2).
        ceil_mode: keep a last, partial window.
        count_include_pad: count the padded zeros in a window's size (default True).
        exact: (ember extra) raise if the stride does not tile the padded input exactly.

    Shape: (N, C, L) -> (N, C, floor((L + 2P - K)/S) + 1).

    Example:
        >>> ember.nn.AvgPool1d(2)(ember.randn(4, 3, 10)).shape
        (4, 3, 5)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, *, exact: bool = False) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode, self.count_include_pad, self.exact = ceil_mode, count_include_pad, exact

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, exact=self.exact)

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return text + (", exact=True" if self.exact else "")


class AvgPool2d(Module):
    """The mean of each window, per channel. No parameters.

    Args:
        kernel_size: an int or (KH, KW).
        stride: step between windows (default: kernel_size).
        padding: zeros added on each side (at most half the kernel).
        ceil_mode: keep a last, partial window.
        count_include_pad: count the padded zeros in a window's size (default True).
        divisor_override: divide each window's sum by this instead.
        exact: (ember extra) raise if the stride does not tile the padded input exactly.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out), out = floor((N + 2P - K)/S) + 1.

    Example:
        >>> ember.nn.AvgPool2d(2)(ember.randn(4, 3, 8, 8)).shape
        (4, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None, *,
                 exact: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        self.exact = exact

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override, exact=self.exact)

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return text + (", exact=True" if self.exact else "")


class _AdaptivePoolNd(Module):
    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Average pooling to a fixed output length, whatever the input length.

    Shape: (N, C, L) -> (N, C, output_size).

    Example:
        >>> ember.nn.AdaptiveAvgPool1d(4)(ember.randn(2, 3, 10)).shape
        (2, 3, 4)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average pooling to a fixed output size, whatever the input size (AdaptiveAvgPool2d(1)
    is global average pooling, as at the end of a ResNet).

    Args:
        output_size: an int or (H_out, W_out); None in the tuple keeps that input size.

    Shape: (N, C, H, W) -> (N, C, H_out, W_out).

    Example:
        >>> ember.nn.AdaptiveAvgPool2d(1)(ember.randn(2, 64, 7, 7)).shape
        (2, 64, 1, 1)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool1d(_AdaptivePoolNd):
    """Max pooling to a fixed output length.

    Example:
        >>> ember.nn.AdaptiveMaxPool1d(4)(ember.randn(2, 3, 10)).shape
        (2, 3, 4)
    """

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptivePoolNd):
    """Max pooling to a fixed output size.

    Args:
        output_size: an int or (H_out, W_out); None in the tuple keeps that input size.
        return_indices: also return the maxima's flat positions in each H*W plane.

    Example:
        >>> ember.nn.AdaptiveMaxPool2d(3)(ember.randn(2, 8, 9, 9)).shape
        (2, 8, 3, 3)
    """

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
