"""erf and erfc: accuracy against Python's math.erf/erfc on a dense grid and at extreme
values, float32 behaviour, gradients by central differences, and parity with PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.ops.special import erf, erfc
from tests.conftest import rng_for

# Cody's three regions meet at |x| = 0.46875 and 4; erfc turns subnormal at 26.543 and
# underflows to 0 past 27.3.
BOUNDARIES = [0.46875, 4.0, 26.543, 27.3]


def dense_grid() -> np.ndarray:
    """Every region, both signs, the boundaries and their neighbours, and tiny values."""
    near_boundaries = [np.nextafter(b, direction) for b in BOUNDARIES for direction in (0, 30)]
    magnitudes = np.concatenate([
        np.linspace(0, 30, 150_001),
        np.linspace(0, 1, 50_001),
        np.geomspace(1e-300, 30, 5_001),
        BOUNDARIES, near_boundaries,
    ])
    return np.concatenate([magnitudes, -magnitudes])


def reference(function, x: np.ndarray) -> np.ndarray:
    return np.array([function(float(v)) for v in x])


def relative_error(ours: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return np.abs(ours - expected) / np.abs(expected)


def test_erf_float64_matches_math_erf_on_a_dense_grid():
    x = dense_grid()
    ours, expected = erf(ember.tensor(x)).numpy(), reference(math.erf, x)
    assert np.max(np.abs(ours - expected)) <= 1e-15
    nonzero = expected != 0
    assert np.max(relative_error(ours[nonzero], expected[nonzero])) <= 1.5e-15


def test_erfc_float64_matches_math_erfc_on_a_dense_grid():
    x = dense_grid()
    ours, expected = erfc(ember.tensor(x)).numpy(), reference(math.erfc, x)
    assert np.max(np.abs(ours - expected)) <= 1e-15
    # relative precision all the way down the right tail, where 1 - erf would give 0
    normal = expected > 1e-300
    assert np.max(relative_error(ours[normal], expected[normal])) <= 2e-15


def test_extreme_and_special_values():
    x = np.array([0.0, -0.0, 5e-324, -1e-300, 26.0, 26.6, 27.0, 27.25, -27.0, 1e300, -1e300,
                  np.inf, -np.inf, np.nan])
    erf_values, erfc_values = erf(ember.tensor(x)).numpy(), erfc(ember.tensor(x)).numpy()
    np.testing.assert_allclose(erf_values[:-1], reference(math.erf, x[:-1]), rtol=4e-16, atol=0)
    # erfc(26.6) and erfc(27.0) are subnormal (1e-309, 5e-319): only absolutely close there
    np.testing.assert_allclose(erfc_values[:-1], reference(math.erfc, x[:-1]), rtol=2e-15,
                               atol=1e-310)
    assert erfc_values[5] > 0 and erfc_values[6] > 0, "erfc underflowed before 27.3"
    assert np.signbit(erf_values[1]), "erf(-0.0) should be -0.0"
    assert np.isnan(erf_values[-1]) and np.isnan(erfc_values[-1])


def test_float32_in_float32_out_and_accurate():
    x = dense_grid()[::7].astype(np.float32)
    for function, exact, rtol in ((erf, math.erf, 1e-6), (erfc, math.erfc, 2e-6)):
        out = function(ember.tensor(x))
        assert out.dtype == ember.float32
        expected = reference(exact, x)
        normal = np.abs(expected) > 1e-37       # float32's normal range
        assert np.max(relative_error(out.numpy()[normal], expected[normal])) <= rtol
    specials = ember.tensor([np.inf, -np.inf, np.nan], dtype=ember.float32)
    np.testing.assert_array_equal(erf(specials).numpy(), [1, -1, np.nan])
    np.testing.assert_array_equal(erfc(specials).numpy(), [0, 2, np.nan])


@pytest.mark.parametrize("function", [erf, erfc], ids=["erf", "erfc"])
def test_any_shape_and_float_dtype_is_kept_forward_and_backward(function):
    exact = math.erf if function is erf else math.erfc
    for array in (np.array(0.3), np.zeros((0, 3)), np.arange(6.0).reshape(2, 3).T / 4):
        for dtype in (ember.float64, ember.float32, ember.float16):
            x = ember.tensor(array, dtype=dtype, requires_grad=True)
            out = function(x)
            assert out.shape == array.shape and out.dtype == dtype
            out.sum().backward()
            assert x.grad.shape == array.shape and x.grad.dtype == dtype
            expected = np.vectorize(exact, otypes=[float])(array)
            np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-3)


def test_integer_input_becomes_the_default_float():
    out = erf(ember.tensor([0, 1, -2]))
    assert out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), [0, math.erf(1), math.erf(-2)], rtol=1e-6)


@pytest.mark.parametrize("function", [erf, erfc], ids=["erf", "erfc"])
def test_gradient_matches_central_differences(function):
    # points in every region, on both sides of zero
    x = np.concatenate([rng_for("erf grad").uniform(-6, 6, 40), [0.1, -0.3, 2.5, -5.0]])
    assert gradcheck(function, (ember.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("function", [erf, erfc], ids=["erf", "erfc"])
def test_gradient_is_the_gaussian(function):
    x = np.array([0.0, 0.5, -1.0, 3.0, 30.0, np.inf, -np.inf])
    t = ember.tensor(x, requires_grad=True)
    function(t).sum().backward()
    sign = 1 if function is erf else -1
    np.testing.assert_allclose(t.grad.numpy(), sign * 2 / math.sqrt(math.pi) * np.exp(-x * x),
                               rtol=1e-15, atol=0)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_forward_and_gradient_match_pytorch(name, dtype, torch):
    x = np.concatenate([rng_for("erf torch").uniform(-8, 8, 500),
                        [0.0, 0.46875, -4.0, 10.0, -30.0, 1000.0]]).astype(dtype)
    ours, theirs = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = getattr(ember.ops.special, name)(ours), getattr(torch, name)(theirs)
    tol = dict(rtol=1e-13, atol=1e-15) if dtype == "float64" else dict(rtol=3e-6, atol=1e-7)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    upstream = rng_for("erf upstream").standard_normal(x.shape).astype(dtype)
    (out * ember.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **tol)
