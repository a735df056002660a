"""The compiled convolution kernels (ember/ops/conv_kernel.c) against the NumPy code they
replace (with the kernels switched off): col2im for every stride, dilation and padding, and
whole conv2d input gradients; the direct convolution of first layers, forward and weight
gradient, with and without bias, padding and dilation; float32 and float64; when each is
used; their input checks."""
from __future__ import annotations


import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import compiled
from ember.ops.compiled import use_kernels
from ember.ops.conv import direct_kernel
from ember.ops.conv_geometry import Geometry
from ember.ops.im2col import col2im
from tests.kernels import skip_unless_kernels_built

skip_unless_kernels_built()

CASES = [  # (N, H, W, C, O, kernel, stride, dilation)
    (2, 7, 7, 3, 4, (3, 3), (1, 1), (1, 1)),
    (3, 9, 8, 6, 16, (5, 5), (1, 1), (1, 1)),       # LeNet's second convolution, smaller
    (2, 9, 9, 2, 3, (3, 2), (2, 3), (1, 1)),
    (1, 11, 10, 4, 5, (3, 3), (1, 2), (2, 3)),       # dilated: KW*C values are not adjacent
    (2, 5, 6, 1, 2, (1, 1), (2, 2), (1, 1)),
]


def geometry_of(h, w, kernel, stride, dilation) -> Geometry:
    out = tuple((size - d * (k - 1) - 1) // s + 1
                for size, k, s, d in zip((h, w), kernel, stride, dilation))
    return Geometry((h, w), kernel, stride, ((0, 0), (0, 0)), dilation, out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_col2im_equals_the_numpy_scatter(case, dtype):
    n, h, w, c, o, kernel, stride, dilation = case
    geometry = geometry_of(h, w, kernel, stride, dilation)
    rng = np.random.default_rng(len(str(case)))
    grad_last = rng.standard_normal((n, *geometry.output_size, o)).astype(dtype)
    weight = rng.standard_normal((o, c, *kernel)).astype(dtype)
    start = rng.standard_normal((n, h, w, c)).astype(dtype)        # col2im adds onto it
    results = []
    for kernels in (True, False):
        out = start.copy()
        with use_kernels(kernels):
            col2im(grad_last, weight, geometry, 1, out)
        results.append(out)
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(results[0], results[1], **tolerance)


@pytest.mark.parametrize("padding, stride", [(0, 1), (2, 1), (1, 2)])
def test_conv2d_input_gradient_equals_the_numpy_path(padding, stride):
    rng = np.random.default_rng(3)
    x_np = rng.standard_normal((4, 6, 12, 12)).astype(np.float32)
    w_np = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    grads = []
    for kernels in (True, False):
        x = ember.tensor(x_np, requires_grad=True)
        with use_kernels(kernels):
            y = F.conv2d(x, ember.tensor(w_np), padding=padding, stride=stride)
            (y * y).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-4)


DIRECT_CASES = [  # (N, C, H, W, O, kernel, padding, dilation, bias)
    (3, 1, 12, 12, 6, 5, 2, 1, True),         # LeNet's first layer, smaller
    (2, 3, 9, 8, 4, 3, 1, 1, False),
    (2, 2, 11, 10, 3, (3, 2), (0, 1), (2, 3), True),
    (1, 1, 7, 1, 2, (3, 1), 0, 1, True),      # one column: strides of size-1 dimensions
    # 8 or more output columns take the vector path where the processor has AVX2 and FMA
    (2, 1, 13, 21, 10, 5, 2, 1, True),        # two blocks of channels, the last of 2
    (3, 1, 10, 9, 2, (3, 2), (1, 0), (1, 2), False),   # 2 channels: stores run on
    (2, 2, 8, 11, 16, 2, 0, 1, True),         # two full blocks of 8
]


def conv_and_gradients(case, dtype, kernels: bool):
    n, c, h, w, o, kernel, padding, dilation, bias = case
    rng = np.random.default_rng(11)
    x = ember.tensor(rng.standard_normal((n, c, h, w)).astype(dtype), requires_grad=True)
    weight = ember.tensor(rng.standard_normal((o, c) + ((kernel,) * 2 if isinstance(
        kernel, int) else kernel)).astype(dtype), requires_grad=True)
    b = ember.tensor(rng.standard_normal(o).astype(dtype), requires_grad=True) if bias \
        else None
    with use_kernels(kernels):
        y = F.conv2d(x, weight, b, padding=padding, dilation=dilation)
        (y * y).sum().backward()
    return [y.detach().numpy(), weight.grad.numpy(), x.grad.numpy()] + \
        ([b.grad.numpy()] if bias else [])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", DIRECT_CASES, ids=str)
def test_direct_convolution_equals_the_numpy_path(case, dtype):
    compiled_run = conv_and_gradients(case, dtype, True)
    numpy_run = conv_and_gradients(case, dtype, False)
    tolerance = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-11,
                                                                              atol=1e-11)
    for name, got, expected in zip(["y", "dL/dW", "dL/dx", "dL/db"], compiled_run, numpy_run):
        np.testing.assert_allclose(got, expected, **tolerance, err_msg=name)


def test_direct_convolution_is_used_only_where_it_pays():
    def geometry(stride):
        return Geometry((12, 12), (5, 5), (stride, stride), ((0, 0), (0, 0)), (1, 1),
                        (8 if stride == 1 else 4,) * 2)
    nchw = np.zeros((2, 1, 12, 12), np.float32).transpose(0, 2, 3, 1)   # (N, H, W, C) view
    channels_last = np.zeros((2, 12, 12, 4), np.float32)
    small, large = (6, 1, 5, 5), (32, 3, 5, 5)
    assert direct_kernel(nchw, small, geometry(1), 1) is not None
    assert direct_kernel(nchw, small, geometry(2), 1) is None            # strided
    assert direct_kernel(nchw, large, geometry(1), 1) is None            # too many weights
    assert direct_kernel(channels_last, (6, 4, 5, 5), geometry(1), 1) is None   # not NCHW
    with use_kernels(False):
        assert direct_kernel(nchw, small, geometry(1), 1) is None


def test_bad_arrays_are_refused_before_anything_is_written():
    kernel = compiled.conv_kernel(np.float32, np)
    dx = np.zeros((2, 5, 5, 3), np.float32)
    columns = np.ones((2 * 3 * 3, 3 * 3 * 3), np.float32)
    with pytest.raises(ValueError, match=r"col2im kernel: columns must be \(N\*OH\*OW, "
                                         r"KH\*KW\*C\) \(dx shape \(2, 5, 5, 3\), columns "
                                         r"shape \(18, 26\)\)"):
        kernel.col2im(dx, np.ones((18, 26), np.float32), (3, 3), (1, 1), (1, 1), (3, 3))
    with pytest.raises(ValueError, match=r"col2im kernel: the windows reach outside dx"):
        kernel.col2im(dx, columns, (3, 3), (2, 2), (1, 1), (3, 3))
    with pytest.raises(ValueError, match=r"dx and columns must both be float32 or both float64"):
        kernel.col2im(dx, columns.astype(np.float64), (3, 3), (1, 1), (1, 1), (3, 3))
    np.testing.assert_array_equal(dx, 0)           # nothing was written
    x = np.zeros((2, 1, 8, 8), np.float32).transpose(0, 2, 3, 1)
    y = np.zeros((2, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match=r"direct convolution kernel: the weights must be "
                                         r"\(O, KH\*KW\*C \[\+ 1 with a bias\]\)"):
        kernel.direct(x, np.zeros((3, 25), np.float32), y, (5, 5), (1, 1), (4, 4), True,
                      False)
    with pytest.raises(ValueError, match=r"direct convolution kernel: x's rows must be "
                                         r"whole, adjacent rows of adjacent values"):
        kernel.direct(np.zeros((2, 8, 8, 2), np.float32), np.zeros((3, 51), np.float32), y,
                      (5, 5), (1, 1), (4, 4), True, False)
    with pytest.raises(ValueError, match=r"direct convolution kernel: the windows reach "
                                         r"outside x"):
        kernel.direct(x, np.zeros((3, 26), np.float32), y, (5, 5), (1, 1), (5, 5), True,
                      False)
    np.testing.assert_array_equal(y, 0)


@pytest.mark.parametrize("out_channels", [1, 2, 3, 6, 7, 8, 9, 12, 17])
@pytest.mark.parametrize("width", [8, 9, 13])
def test_direct_convolution_writes_every_output_and_nothing_past_it(out_channels, width):
    # the vector path stores 8 lanes at a time: memory just past y must stay untouched
    rng = np.random.default_rng(out_channels * 100 + width)
    n, c, kh, kw, height = 2, 1, 3, 3, 5
    x = rng.standard_normal((n, c, height + kh - 1, width + kw - 1)).astype(np.float32)
    weights = rng.standard_normal((out_channels, kh * kw * c + 1)).astype(np.float32)
    size = n * height * width * out_channels
    memory = np.full(size + 64, 1234.5, np.float32)
    y = memory[:size].reshape(n, height, width, out_channels)
    compiled._conv_kernel.direct(x.transpose(0, 2, 3, 1), weights, y, (kh, kw), (1, 1),
                                 (height, width), True, False)
    assert (memory[size:] == 1234.5).all()
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    expected = np.einsum("ncrwij,qijc->nrwq", windows[:, :, :height, :width].astype(np.float64),
                         weights[:, :-1].reshape(out_channels, kh, kw, c)) + weights[:, -1]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
