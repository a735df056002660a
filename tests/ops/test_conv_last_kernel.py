"""The compiled channels-last direct convolution (ember/ops/conv_kernel.c direct_last, AVX2)
against an einsum reference and against ember's im2col path (kernels switched off): every
output written and nothing past it, for channel counts on and off multiples of 16,
dilation, bias or not; when it declines (no AVX2, narrow outputs, float64); when ember
uses it; its checks."""
from __future__ import annotations

import re

import numpy as np
import pytest

import ember
from ember.ops import compiled
from ember.ops.compiled import use_kernels
from ember.ops.conv import LAST_DIRECT_MAX_WEIGHTS, channels_last_kernel
from ember.ops.conv_geometry import Geometry
from tests.kernels import skip_unless_kernels_built

skip_unless_kernels_built()

_conv_kernel = compiled._conv_kernel
# whether this processor runs the kernel (it declines without AVX2 and FMA)
RUNS = _conv_kernel.direct_last(np.zeros((1, 1, 6, 1), np.float32),
                                np.zeros((1, 1), np.float32), np.zeros((1, 1, 6, 1), np.float32),
                                (1, 1), (1, 1), (1, 6), False)

CASES = [  # (N, H, W, C, O, kernel, dilation, bias)
    (2, 9, 14, 6, 16, (5, 5), (1, 1), True),          # LeNet's second layer, smaller
    (1, 7, 10, 3, 17, (3, 3), (1, 1), True),          # a last block of one channel
    (2, 6, 11, 2, 5, (2, 3), (2, 1), False),          # dilated; fewer than 8 channels
    (1, 5, 13, 4, 32, (3, 2), (1, 2), True),          # two blocks of 16
    (3, 4, 6, 1, 8, (1, 1), (1, 1), False),           # exactly 6 columns
]


def reference(x, weight, bias, kernel, dilation):
    """y[n, r, col, q] = b_q + sum of x[n, r + i*DH, col + j*DW, c] W[q, c, i, j], float64"""
    (kh, kw), (dh, dw) = kernel, dilation
    n, hp, wp, c = x.shape
    oh, ow = hp - dh * (kh - 1), wp - dw * (kw - 1)
    y = np.zeros((n, oh, ow, weight.shape[0]))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i * dh:i * dh + oh, j * dw:j * dw + ow, :].astype(np.float64)
            y += patch @ weight[:, :, i, j].T.astype(np.float64)
    return y if bias is None else y + bias


@pytest.mark.skipif(not RUNS, reason="this processor has no AVX2 and FMA")
@pytest.mark.parametrize("case", CASES, ids=str)
def test_direct_last_writes_every_output_and_nothing_past_it(case):
    n, h, w, c, o, kernel, dilation, with_bias = case
    rng = np.random.default_rng(sum(case[:5]))
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    weight = rng.standard_normal((o, c, *kernel)).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32) if with_bias else None
    matrix = weight.transpose(0, 2, 3, 1).reshape(o, -1)           # (kh, kw, c) order
    if with_bias:
        matrix = np.concatenate([matrix, bias[:, None]], axis=1)
    expected = reference(x, weight, bias, kernel, dilation)
    size = expected.size
    memory = np.full(size + 64, 1234.5, np.float32)
    y = memory[:size].reshape(expected.shape)
    assert _conv_kernel.direct_last(x, np.ascontiguousarray(matrix), y, kernel, dilation,
                                    expected.shape[1:3], with_bias) is True
    assert (memory[size:] == 1234.5).all()
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_direct_last_declines_without_writing():
    x = np.ones((1, 3, 8, 2), np.float32)
    y = np.full((1, 1, 5, 4), 7.0, np.float32)                     # 5 columns: too narrow
    assert _conv_kernel.direct_last(x, np.ones((4, 12), np.float32), y, (3, 2), (1, 1),
                                    (1, 5), False) is False
    y64 = np.full((1, 1, 7, 4), 7.0)
    assert _conv_kernel.direct_last(x.astype(np.float64), np.ones((4, 12)), y64, (3, 2),
                                    (1, 1), (1, 7), False) is False
    assert (y == 7.0).all() and (y64 == 7.0).all()


def test_bad_arrays_are_refused():
    x, w = np.ones((1, 3, 8, 2), np.float32), np.ones((4, 12), np.float32)
    y = np.ones((1, 1, 7, 4), np.float32)
    refusals = [
        ((x[0], w, y, (3, 2), (1, 1), (1, 7), False), "x must be (N, Hp, Wp, C)"),
        ((x, w, y, (3, 2), (1, 1), (2, 7), False), "the windows reach outside x"),
        ((x, w, y, (3, 2), (1, 1), (1, 7), True), "KH*KW*C [+ 1 with a bias]"),
        ((x, w, np.ones((1, 1, 7, 5), np.float32), (3, 2), (1, 1), (1, 7), False),
         "y must be (N, OH, OW, O)"),
    ]
    for args, message in refusals:
        with pytest.raises(ValueError, match=re.escape(message)):
            _conv_kernel.direct_last(*args)


@pytest.mark.parametrize("padding", [0, 1])
def test_a_second_layer_equals_the_im2col_path(padding):
    rng = np.random.default_rng(padding)
    # a channels-last input, as an earlier convolution returns it
    first = ember.nn.Conv2d(1, 6, 5, padding=2)
    second = ember.nn.Conv2d(6, 16, 5, padding=padding)
    x = ember.tensor(rng.standard_normal((3, 1, 14, 14)).astype(np.float32))
    outputs = []
    for kernels in (True, False):
        with use_kernels(kernels), ember.no_grad():
            hidden = first(x)
            assert hidden.numpy().strides[1] == 4                  # channels-last memory
            outputs.append(second(hidden).numpy())
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-4, atol=1e-4)


def test_used_only_for_small_float32_stride_one_channels_last_layers():
    geometry = Geometry((12, 12), (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), (8, 8))
    last = np.zeros((2, 12, 12, 6), np.float32)
    nchw = np.zeros((2, 6, 12, 12), np.float32).transpose(0, 2, 3, 1)
    assert channels_last_kernel(last, (16, 6, 5, 5), geometry, 1) is not None
    assert channels_last_kernel(nchw, (16, 6, 5, 5), geometry, 1) is None       # NCHW
    assert channels_last_kernel(last.astype(np.float64), (16, 6, 5, 5), geometry, 1) is None
    assert channels_last_kernel(last, (16, 3, 5, 5), geometry, 2) is None       # groups
    many = (LAST_DIRECT_MAX_WEIGHTS // 150 + 1, 6, 5, 5)
    assert channels_last_kernel(last, many, geometry, 1) is None
    strided = Geometry((12, 12), (5, 5), (2, 2), ((0, 0), (0, 0)), (1, 1), (4, 4))
    assert channels_last_kernel(last, (16, 6, 5, 5), strided, 1) is None
    with use_kernels(False):
        assert channels_last_kernel(last, (16, 6, 5, 5), geometry, 1) is None
