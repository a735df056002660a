"""The compiled col2im scatter (ember/ops/conv_kernel.c) against the NumPy col2im it
replaces (ember.ops.im2col.col2im with the kernels switched off): every stride, dilation
and padding, float32 and float64; whole conv2d input gradients; its input checks."""
from __future__ import annotations

import os

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import compiled
from ember.ops.compiled import use_kernels
from ember.ops.conv_geometry import Geometry
from ember.ops.im2col import col2im

if not compiled.kernels_built():
    if os.environ.get("EMBER_REQUIRE_KERNELS"):
        raise RuntimeError("EMBER_REQUIRE_KERNELS is set but ember.ops._conv_kernel was not "
                           "built (pip install -e . needs a C compiler)")
    pytest.skip("the compiled kernels are not built", allow_module_level=True)

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
