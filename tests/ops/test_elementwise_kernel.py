"""The compiled ReLU (ember/ops/elementwise_kernel.c) against the NumPy lines it replaces,
np.maximum(x, 0) and grad * (y > 0): the same values (NaN, infinities and signed zeros
included), the same memory layout, the arrays it hands back to NumPy, and the op with and
without it."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import compiled
from ember.ops.compiled import elementwise_kernel, use_kernels
from tests.kernels import skip_unless_kernels_built

skip_unless_kernels_built()

SHAPES = [(), (0,), (1,), (7,), (8, 16), (3, 5, 7), (64, 6, 28, 28)]   # the last releases the GIL


def relu(x):
    return compiled._elementwise_kernel.relu(x)


def special_values(shape, dtype, seed):
    """Normal values with NaN, +-inf and +-0 sprinkled in."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    for value in (np.nan, np.inf, -np.inf, 0.0, -0.0):
        flat[rng.integers(0, flat.size, size=min(flat.size, 3))] = value
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_relu_equals_numpy(shape, dtype):
    x = special_values(shape, dtype, seed=len(shape))
    before = x.copy()
    y = relu(x)
    assert y.dtype == dtype and y.shape == x.shape and not np.shares_memory(x, y)
    np.testing.assert_array_equal(y, np.maximum(x, 0))        # NaN where NumPy has NaN
    np.testing.assert_array_equal(x, before)                   # x itself untouched


def test_negative_inputs_give_zero_and_positive_ones_pass():
    x = np.array([-3.0, -0.0, 0.0, 1e-30, 2.5, -np.inf, np.inf, np.nan], np.float32)
    y = relu(x)
    np.testing.assert_array_equal(y[:7], np.array([0, 0, 0, 1e-30, 2.5, 0, np.inf], np.float32))
    assert np.isnan(y[7])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_output_is_laid_out_like_the_input(dtype):
    base = special_values((4, 9, 10, 6), dtype, seed=1)     # channels-last memory
    layouts = {
        "C order": base,
        "Fortran order": np.asfortranarray(base[0, :, :, 0]),
        "channels last as NCHW": base.transpose(0, 3, 1, 2),
        "a size-1 axis": base[:1].transpose(0, 3, 1, 2),
        "Fortran 3-d": np.asfortranarray(base[0]),
    }
    for name, x in layouts.items():
        y = relu(x)
        assert y is not None, name
        assert y.strides == x.strides or x.size == 0, name
        np.testing.assert_array_equal(y, np.maximum(x, 0), err_msg=name)


def test_arrays_it_does_not_take_are_handed_back():
    x = np.linspace(-1, 1, 60, dtype=np.float32).reshape(6, 10)

    class Subclass(np.ndarray):
        pass

    refused = {
        "strided rows": x[::2],
        "strided columns": x[:, ::3],
        "reversed": x[::-1],
        "a gap in 4-d": np.zeros((2, 3, 4, 6), np.float32)[..., :5],
        "int32": x.astype(np.int32),
        "float16": x.astype(np.float16),
        "swapped bytes": x.astype(">f4"),
        "a subclass": x.view(Subclass),
        "a list": x.tolist(),
        "a number": 1.5,
    }
    for name, value in refused.items():
        assert relu(value) is None, name


def test_the_op_uses_it_and_equals_the_numpy_path():
    rng = np.random.default_rng(3)
    for shape in [(8, 16), (64, 6, 28, 28)]:
        data = rng.standard_normal(shape).astype(np.float32)
        x = ember.tensor(data, requires_grad=True)
        y = F.relu(x)
        y.backward(ember.ones_like(y))
        with use_kernels(False):
            assert elementwise_kernel() is None
            x_numpy = ember.tensor(data, requires_grad=True)
            y_numpy = F.relu(x_numpy)
            y_numpy.backward(ember.ones_like(y_numpy))
        np.testing.assert_array_equal(y.detach().numpy(), y_numpy.detach().numpy())
        np.testing.assert_array_equal(x.grad.numpy(), x_numpy.grad.numpy())
    assert elementwise_kernel() is compiled._elementwise_kernel


def test_channels_last_convolution_output_keeps_its_layout_through_relu():
    conv = ember.nn.Conv2d(3, 8, 3, padding=1)
    x = ember.randn(2, 3, 9, 9)
    with ember.no_grad():
        h = conv(x)
        y = F.relu(h)
    assert y.numpy().strides == h.numpy().strides
    np.testing.assert_array_equal(y.numpy(), np.maximum(h.numpy(), 0))


def relu_backward(grad, y):
    return compiled._elementwise_kernel.relu_backward(grad, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_relu_backward_gives_numpys_bits(shape, dtype):
    y = np.asarray(np.maximum(special_values(shape, dtype, seed=3), 0))   # 0-d: an array
    grad = special_values(shape, dtype, seed=4)                # inf and NaN gradients too
    with np.errstate(invalid="ignore"):
        expected = grad * (y > 0)                              # inf * 0 = NaN, as NumPy
    dx = relu_backward(grad, y)
    assert dx.dtype == dtype and dx.shape == y.shape
    np.testing.assert_array_equal(dx, expected)
    assert (np.signbit(dx) == np.signbit(expected)).all()      # signed zeros alike


def test_relu_backward_keeps_the_layout_and_refuses_mixed_ones():
    rng = np.random.default_rng(5)
    y = np.maximum(rng.standard_normal((4, 9, 10, 6), np.float32), 0).transpose(0, 3, 1, 2)
    grad = rng.standard_normal((4, 9, 10, 6), np.float32).transpose(0, 3, 1, 2)
    dx = relu_backward(grad, y)                                # both channels-last
    assert dx.strides == y.strides
    np.testing.assert_array_equal(dx, grad * (y > 0))
    c_order = np.ascontiguousarray(grad)
    refused = {
        "layouts differ": (c_order, y),
        "dtypes differ": (grad.astype(np.float64), y),
        "shapes differ": (grad[:, :, :, :9], y[:, :, :, :9].copy()),
        "strided": (grad[:, :, ::2], y[:, :, ::2]),
        "integers": (grad.astype(np.int32), y.astype(np.int32)),
    }
    for name, (g, values) in refused.items():
        assert relu_backward(g, values) is None, name
    with pytest.raises(TypeError, match="takes 2 arguments"):
        compiled._elementwise_kernel.relu_backward(grad)
