"""The compiled max pooling (ember/ops/pool_kernel.c's max_pool and max_pool_backward)
against the NumPy pairwise maxima and masks it replaces (kernels switched off): the same
numbers, NaNs, -inf padding, ties and memory layout, for NCHW and channels-last
activations with few and many channels, 2 x 2 and other windows, 1-D pooling, float32
and float64; infinite and NaN gradients; when it is used; its checks."""
from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import compiled, pooling
from ember.ops.compiled import use_kernels
from ember.ops.conv_geometry import Geometry
from ember.ops.pooling import max_pool_compiled
from tests.kernels import skip_unless_kernels_built

skip_unless_kernels_built()

_conv_kernel = compiled._conv_kernel

CASES = [  # (N, C, H, W, kernel, stride, padding, dilation)
    (2, 6, 8, 8, 2, 2, 0, 1),                   # LeNet's pooling: few channels, 2 x 2
    (2, 16, 6, 10, 2, 2, 0, 1),                 # many channels: vector loops along them
    (2, 3, 9, 7, 3, 2, 1, 1),                   # overlapping windows, -inf padding
    (1, 9, 9, 8, (3, 2), (1, 2), (1, 0), (2, 1)),   # dilated, unequal strides
    (3, 1, 7, 9, (2, 3), (2, 1), 0, 1),         # one channel
    (2, 4, 5, 5, 2, 2, 1, 2),                   # a window of padding only (-inf)
]


def activation(case, dtype, channels_last: bool, seed: int = 0):
    n, c, h, w = case[:4]
    values = np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(dtype)
    if channels_last:                           # what ember's convolutions return
        values = np.ascontiguousarray(values.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return values


def pool_both_ways(values, case, grad=None):
    """(y, dL/dx) with the kernels and with NumPy's code; dL/dy = `grad` (default: distinct
    numbers 0, 1, 2, ...)."""
    kernel, stride, padding, dilation = case[4:]
    results = []
    for kernels in (True, False):
        x = ember.from_numpy(values.copy(order="K")).requires_grad_()   # layout kept
        with use_kernels(kernels):
            y = F.max_pool2d(x, kernel, stride, padding, dilation)
            dy = np.arange(y.numel(), dtype=values.dtype).reshape(y.shape) if grad is None \
                else grad(y.shape, values.dtype)
            y.backward(ember.from_numpy(dy))
        results.append((y.detach().numpy(), x.grad.numpy()))
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "channels-last"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_max_pool_equals_the_numpy_path(case, channels_last, dtype):
    values = activation(case, dtype, channels_last)
    (y_kernel, grad_kernel), (y_numpy, grad_numpy) = pool_both_ways(values, case)
    if channels_last and values.shape[1] > 1:
        assert y_kernel.strides[1] == values.itemsize        # channels-last in and out
    np.testing.assert_array_equal(y_kernel, y_numpy)    # a maximum is exact: same bits
    assert y_kernel.strides == y_numpy.strides          # and the same memory layout
    np.testing.assert_array_equal(grad_kernel, grad_numpy)


@pytest.mark.parametrize("case", CASES[:4], ids=str)
def test_a_nan_anywhere_in_a_window_makes_its_maximum_nan(case):
    n, c, h, w = case[:4]
    for channels_last in (False, True):
        values = activation(case, np.float32, channels_last, seed=1)
        flat = values.reshape(-1) if values.flags.c_contiguous else None
        rng = np.random.default_rng(2)
        picks = rng.choice(values.size, size=max(1, values.size // 17), replace=False)
        view = values.transpose(0, 2, 3, 1).reshape(-1) if flat is None else flat
        view[picks] = np.nan                     # every position of a window, some time
        outputs = []
        for kernels in (True, False):
            with use_kernels(kernels):
                outputs.append(F.max_pool2d(ember.from_numpy(values), *case[4:]).numpy())
        assert np.isnan(outputs[1]).any() and not np.isnan(outputs[1]).all()
        np.testing.assert_array_equal(outputs[0], outputs[1])


def test_one_dimensional_pooling_uses_the_kernel_too():
    values = np.random.default_rng(3).standard_normal((2, 5, 17)).astype(np.float32)
    outputs = []
    for kernels in (True, False):
        with use_kernels(kernels):
            outputs.append(F.max_pool1d(ember.tensor(values), 3, 2, 1).numpy())
    np.testing.assert_array_equal(outputs[0], outputs[1])


def geometry(kernel, stride, size, out) -> Geometry:
    return Geometry(size, kernel, stride, ((0, 0), (0, 0)), (1, 1), out)


def test_the_kernel_is_used_for_dense_float_numpy_arrays_only():
    g = geometry((2, 2), (2, 2), (4, 4), (2, 2))
    nchw = np.random.default_rng(4).standard_normal((2, 3, 4, 4)).astype(np.float32)
    assert max_pool_compiled(nchw, g).flags.c_contiguous
    last = np.ascontiguousarray(nchw.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    pooled = max_pool_compiled(last, g)
    assert pooled.transpose(0, 2, 3, 1).flags.c_contiguous       # channels-last out
    np.testing.assert_array_equal(pooled, max_pool_compiled(nchw, g))
    wide = np.zeros((2, 3, 4, 8), np.float32)
    assert max_pool_compiled(wide[..., ::2], g) is None             # strided: NumPy's path
    assert max_pool_compiled(nchw.astype(np.int32), g) is None      # integers: NumPy's
    with use_kernels(False):
        assert max_pool_compiled(nchw, g) is None


def test_bad_arrays_are_refused_before_anything_is_written():
    x = np.ones((2, 4, 4, 3), np.float32)
    y = np.full((2, 2, 2, 3), 7.0, np.float32)
    refusals = [
        ((x[0], y), "must be (N, Hp, Wp, C)"),
        ((x, y.astype(np.float64)), "must both be float32 or both float64"),
        ((x, np.full((2, 2, 2, 4), 7.0, np.float32)), "same N and C"),
        ((x, np.full((2, 3, 2, 3), 7.0, np.float32)), "reach outside x"),
    ]
    for (xa, ya), message in refusals:
        with pytest.raises(ValueError, match=re.escape(message)):
            _conv_kernel.max_pool(xa, ya, (2, 2), (2, 2), (1, 1))
    with pytest.raises(ValueError, match="must be positive"):
        _conv_kernel.max_pool(x, y, (2, 2), (0, 2), (1, 1))
    assert (y == 7.0).all()
    with pytest.raises((ValueError, BufferError)):
        _conv_kernel.max_pool(x, y.transpose(0, 2, 1, 3), (2, 2), (2, 2), (1, 1))


@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "channels-last"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_backward_kernel_is_used_for_both_layouts(case, channels_last, monkeypatch):
    answers = []
    real = pooling.max_pool_backward_compiled

    def spy(*args):
        answers.append(real(*args))
        return answers[-1]

    monkeypatch.setattr(pooling, "max_pool_backward_compiled", spy)
    x = ember.from_numpy(activation(case, np.float32, channels_last)).requires_grad_()
    F.max_pool2d(x, *case[4:]).sum().backward()
    assert len(answers) == 1 and answers[0] is not None


@pytest.mark.parametrize("case", [CASES[0], CASES[1], CASES[2]], ids=str)
def test_ties_after_a_relu_send_the_gradient_to_the_first_maximum(case):
    patterns = ("zeros", "lower row", "anti-diagonal")
    for channels_last, pattern in itertools.product((False, True), patterns):
        values = np.maximum(activation(case, np.float32, channels_last, seed=5), 0)
        if pattern == "zeros":
            values[:, :, ::2] = 0                    # whole windows of zeros: all tie
        elif pattern == "lower row":
            values[:, :, ::2] = -1                   # the lower row's two elements tie
            values[:, :, 1::2] = 0.5
        else:                                        # top right and bottom left tie
            rows, cols = np.indices(values.shape[2:])
            values[...] = np.where((rows + cols) % 2 == 1, 0.5, -1)
        (_, grad_kernel), (_, grad_numpy) = pool_both_ways(values, case)
        np.testing.assert_array_equal(grad_kernel, grad_numpy)
        assert (grad_kernel != 0).sum() <= np.prod(F.max_pool2d(
            ember.from_numpy(values), *case[4:]).shape)     # one element per window at most


@pytest.mark.filterwarnings("ignore::RuntimeWarning")     # NumPy's path adds inf and -inf
@pytest.mark.parametrize("case", CASES, ids=str)
def test_infinite_and_nan_gradients_reach_only_the_maxima(case):
    def special(shape, dtype):
        grad = np.random.default_rng(6).standard_normal(shape).astype(dtype)
        grad.reshape(-1)[::5] = np.inf
        grad.reshape(-1)[1::7] = -np.inf
        grad.reshape(-1)[2::9] = np.nan
        return grad

    for channels_last in (False, True):
        values = activation(case, np.float64, channels_last, seed=7)
        (_, grad_kernel), (_, grad_numpy) = pool_both_ways(values, case, special)
        np.testing.assert_array_equal(grad_kernel, grad_numpy)   # NaN where NumPy has NaN
        assert np.isfinite(grad_kernel).mean() > 0.5             # not smeared over windows


@pytest.mark.parametrize("case", [CASES[2], CASES[3], CASES[5]], ids=str)
def test_minus_infinity_at_the_border_takes_the_gradient_not_the_padding(case):
    for channels_last in (False, True):
        values = activation(case, np.float32, channels_last, seed=9)
        values[:, :, :2] = -np.inf                  # windows whose maximum is -inf: the
        values[:, :, :, :2] = -np.inf               # padding (-inf too) must not win
        (_, grad_kernel), (_, grad_numpy) = pool_both_ways(
            values, case, lambda shape, dtype: np.ones(shape, dtype))
        np.testing.assert_array_equal(grad_kernel, grad_numpy)
        assert grad_kernel[:, :, :2, :2].any()      # the -inf corner takes some gradient


def test_nan_windows_pass_no_gradient_in_both_paths():
    case = CASES[0]
    values = activation(case, np.float32, True, seed=8)
    values[0, 0, 0, 0] = np.nan                                  # window (0, 0) of channel 0
    (y_kernel, grad_kernel), (_, grad_numpy) = pool_both_ways(values, case)
    assert np.isnan(y_kernel[0, 0, 0, 0])
    assert (grad_kernel[0, 0, :2, :2] == 0).all()
    np.testing.assert_array_equal(grad_kernel, grad_numpy)


def test_the_backward_kernel_refuses_bad_arrays():
    x = np.ones((2, 4, 4, 3), np.float32)
    y = np.ones((2, 2, 2, 3), np.float32)
    dx = np.full_like(x, 7.0)
    arguments = ((2, 2), (2, 2), (1, 1), (0, 0, 4, 4))
    refusals = [
        ((x[0], y, y, dx), "must be (N, Hp, Wp, C)"),
        ((x, y, y.astype(np.float64), dx), "must all be float32 or all float64"),
        ((x, y, y, np.full((2, 3, 4, 3), 7.0, np.float32)), "dx must match x and dy y"),
        ((x, y, np.ones((2, 2, 2, 4), np.float32), dx), "dx must match x and dy y"),
    ]
    for args, message in refusals:
        with pytest.raises(ValueError, match=re.escape(message)):
            _conv_kernel.max_pool_backward(*args, *arguments)
    with pytest.raises(ValueError, match="must lie inside x"):
        _conv_kernel.max_pool_backward(x, y, y, dx, (2, 2), (2, 2), (1, 1), (1, 0, 4, 4))
    with pytest.raises(ValueError, match="reach outside x"):
        _conv_kernel.max_pool_backward(x, np.ones((2, 3, 2, 3), np.float32),
                                       np.ones((2, 3, 2, 3), np.float32), dx, *arguments)
    assert (dx == 7.0).all()
    with pytest.raises((ValueError, BufferError)):            # dx not C-contiguous
        _conv_kernel.max_pool_backward(x, y, y, dx.transpose(0, 2, 1, 3), *arguments)
