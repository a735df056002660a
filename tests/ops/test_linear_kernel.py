"""The compiled forward of small Linear layers (ember/ops/linear_kernel.c) against the
NumPy product and bias add it replaces (kernels switched off): the same numbers for
small shapes with and without bias; when it is used, and when it hands back to NumPy;
its checks. And its bias add for larger layers: the same bits as NumPy's y += b."""
from __future__ import annotations

import re

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import compiled
from ember.ops.compiled import (SMALL_LINEAR_PRODUCT, SMALL_LINEAR_WEIGHTS, linear_kernel,
                                 use_kernels)
from tests.kernels import skip_unless_kernels_built

skip_unless_kernels_built()

# outputs in blocks of 8 and one by one after them: 16, 2, 1, 5, 10 (8 + 2), 64, 13 (8 + 5)
def small_layer_forward(rows, weight, bias):
    """What Linear's forward gets from the kernel: x W^T + b, or None (NumPy's turn)."""
    kernel = linear_kernel()
    return None if kernel is None else kernel.forward(rows, weight, bias)


SHAPES = [(8, 2, 16), (8, 16, 16), (8, 16, 2), (1, 1, 1), (3, 7, 5), (64, 32, 10), (2, 64, 64),
          (5, 9, 13)]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_small_layer_equals_the_numpy_path(shape, bias):
    rows, features, outputs = shape
    rng = np.random.default_rng(rows * 100 + features * 10 + outputs)
    x = ember.tensor(rng.standard_normal((rows, features)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((outputs, features)).astype(np.float32))
    b = ember.tensor(rng.standard_normal(outputs).astype(np.float32)) if bias else None
    assert small_layer_forward(x.numpy(), w.numpy(), None) is not None   # the compiled path
    y_kernel = F.linear(x, w, b).numpy()
    with use_kernels(False):
        y_numpy = F.linear(x, w, b).numpy()
    # the same sums in another order: float32 rounding apart
    np.testing.assert_allclose(y_kernel, y_numpy, rtol=1e-5, atol=1e-5 * features)
    exact = x.numpy().astype(np.float64) @ w.numpy().T.astype(np.float64) \
        + (b.numpy() if bias else 0)
    np.testing.assert_allclose(y_kernel, exact, rtol=1e-5, atol=1e-5 * features)


def test_the_kernel_is_used_only_for_small_float32_numpy_layers():
    x = np.ones((8, 16), np.float32)
    w = np.ones((16, 16), np.float32)
    assert small_layer_forward(x, w, None) is not None
    assert small_layer_forward(x.astype(np.float64), w.astype(np.float64), None) is None
    big = np.ones((64, 128), np.float32)                       # 8192 weights
    assert big.size > SMALL_LINEAR_WEIGHTS
    assert small_layer_forward(np.ones((2, 128), np.float32), big, None) is None
    edge = np.ones((SMALL_LINEAR_WEIGHTS // 64, 64), np.float32)       # exactly the limit
    assert small_layer_forward(np.ones((1, 64), np.float32), edge, None) is not None
    rows = SMALL_LINEAR_PRODUCT // w.size
    assert small_layer_forward(np.ones((rows, 16), np.float32), w, None) is not None
    assert small_layer_forward(np.ones((rows + 1, 16), np.float32), w, None) is None  # BLAS
    with use_kernels(False):
        assert small_layer_forward(x, w, None) is None


def test_arrays_the_kernel_cannot_read_go_back_to_numpy_untouched():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 8)).astype(np.float32).T         # (8, 16), not C-contiguous
    w = rng.standard_normal((4, 16)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    kernel = compiled._linear_kernel
    assert kernel.forward(x, w, b) is None
    assert kernel.forward(np.ascontiguousarray(x), w, b[::-1]) is None    # a strided bias
    assert kernel.forward(x.astype(np.float64), w, b) is None
    assert kernel.forward(np.ascontiguousarray(x), w.astype(">f4"), b) is None  # byte order
    assert kernel.forward(x.tolist(), w, b) is None
    assert kernel.forward(np.ascontiguousarray(x)[None], w, b) is None        # 3-d
    assert small_layer_forward(x, w, b) is None                  # the caller uses NumPy:
    y_layer = F.linear(ember.from_numpy(x), ember.from_numpy(w), ember.from_numpy(b)).numpy()
    np.testing.assert_allclose(y_layer, x @ w.T + b, rtol=1e-5)
    wide = np.ones((8, SMALL_LINEAR_WEIGHTS // 8 + 1), np.float32)   # over the kernel's own limit
    assert kernel.forward(np.ones((2, wide.shape[1]), np.float32), wide, None) is None


def test_mismatched_shapes_are_refused():
    x, w = np.ones((8, 16), np.float32), np.ones((4, 16), np.float32)
    refusals = [
        ((np.ones((8, 5), np.float32), w, None), "x's features must match"),
        ((x, w, np.ones(5, np.float32)), "one value per row of the weight"),
    ]
    for args, message in refusals:
        with pytest.raises(ValueError, match=re.escape(message)):
            compiled._linear_kernel.forward(*args)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        compiled._linear_kernel.forward(x, w)


@pytest.mark.parametrize("shape", [(128, 512), (3, 5), (1, 1), (0, 4), (7, 33)], ids=str)
def test_add_bias_gives_numpys_bits(shape):
    rng = np.random.default_rng(shape[1])
    y = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape[1]).astype(np.float32)
    expected = y + b
    assert compiled._linear_kernel.add_bias(y, b) is True
    np.testing.assert_array_equal(y, expected)


def test_a_large_layer_adds_its_bias_with_the_kernel_and_equals_numpy():
    rng = np.random.default_rng(5)
    x = ember.tensor(rng.standard_normal((128, 300)).astype(np.float32))
    w = ember.tensor(rng.standard_normal((70, 300)).astype(np.float32))   # 21,000 weights
    b = ember.tensor(rng.standard_normal(70).astype(np.float32))
    assert small_layer_forward(x.numpy(), w.numpy(), b.numpy()) is None   # BLAS's product
    y = F.linear(x, w, b).numpy()
    with use_kernels(False):
        np.testing.assert_array_equal(y, F.linear(x, w, b).numpy())


def test_add_bias_hands_back_arrays_it_cannot_write():
    y = np.zeros((4, 6), np.float32)
    b = np.ones(6, np.float32)
    read_only = y.copy()
    read_only.setflags(write=False)
    refused = {
        "read-only y": (read_only, b),
        "strided y": (np.zeros((4, 12), np.float32)[:, ::2], b),
        "float64 y": (y.astype(np.float64), b),
        "float64 bias": (y, b.astype(np.float64)),
        "a 2-d bias": (y, b[None]),
        "a list": (y.tolist(), b),
    }
    for name, args in refused.items():
        assert compiled._linear_kernel.add_bias(*args) is None, name
    assert (read_only == 0).all()
    with pytest.raises(ValueError, match=re.escape("one value per column of y (y (4, 6), "
                                                   "bias (5,))")):
        compiled._linear_kernel.add_bias(y, np.ones(5, np.float32))
    assert (y == 0).all()
