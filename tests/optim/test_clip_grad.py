"""Gradient clipping (ember.nn.utils.clip_grad_norm_ / clip_grad_value_) against PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.nn.utils import clip_grad_norm_, clip_grad_value_
from ember.nn.utils.clip_grad import clip_grads_with_norm_, get_total_norm
from tests.conftest import rng_for

SHAPES = [(4, 3), (7,), ()]


def make_pair(torch, dtype: str, scale: float = 1.0, with_none: bool = True):
    """Parameters with gradients (the last one without, when with_none), in both libraries."""
    rng = rng_for(f"clip-{dtype}-{scale}")
    ours, theirs = [], []
    for index, shape in enumerate(SHAPES):
        p = ember.nn.Parameter(ember.zeros(shape, dtype=getattr(ember, dtype)))
        q = torch.nn.Parameter(torch.zeros(shape, dtype=getattr(torch, dtype)))
        if not (with_none and index == len(SHAPES) - 1):
            grad = (scale * rng.standard_normal(shape)).astype(dtype)
            p.grad, q.grad = ember.tensor(grad.copy()), torch.tensor(grad.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


def assert_same_grads(ours, theirs, tolerance: float) -> None:
    for p, q in zip(ours, theirs):
        if q.grad is None:
            assert p.grad is None
        else:
            assert p.grad.dtype.name == str(q.grad.dtype).removeprefix("torch.")
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tolerance,
                                       atol=tolerance)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, -math.inf, 0.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])        # clips, and leaves alone
def test_clip_grad_norm_matches_pytorch(max_norm, norm_type, dtype, torch):
    ours, theirs = make_pair(torch, dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type,
                                              foreach=False)
    tolerance = 1e-12 if dtype == "float64" else 1e-6
    assert isinstance(total, ember.Tensor) and total.shape == ()
    assert total.dtype.name == dtype
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=tolerance)
    assert_same_grads(ours, theirs, tolerance)


@pytest.mark.torch
def test_clipping_scales_to_max_norm_and_never_scales_up(torch):
    ours, _ = make_pair(torch, "float64", scale=10.0, with_none=False)
    before = clip_grad_norm_(ours, 1.0)
    assert float(before) > 1.0
    after = get_total_norm([p.grad for p in ours])
    np.testing.assert_allclose(float(after), 1.0 / (1 + 1e-6 / float(before)), rtol=1e-12)
    small = [p.grad.numpy().copy() for p in ours]
    clip_grad_norm_(ours, 100.0)
    for p, expected in zip(ours, small):
        np.testing.assert_array_equal(p.grad.numpy(), expected)


@pytest.mark.torch
def test_single_tensor_and_empty_inputs_like_pytorch(torch):
    ours, theirs = make_pair(torch, "float32")
    total = clip_grad_norm_(ours[0], 0.1)
    expected = torch.nn.utils.clip_grad_norm_(theirs[0], 0.1)
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=1e-6)
    assert_same_grads(ours[:1], theirs[:1], 1e-6)
    empty = clip_grad_norm_([], 1.0)
    assert empty.dtype == ember.float32 and float(empty) == 0.0
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((p for p in []), 1.0)


@pytest.mark.torch
def test_non_finite_norm_raises_when_asked_and_otherwise_scales_like_pytorch(torch):
    ours, theirs = make_pair(torch, "float64")
    ours[0].grad._data[0, 0] = np.inf
    theirs[0].grad[0, 0] = math.inf
    with pytest.raises(RuntimeError, match="order 2.0 .* non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert math.isinf(ours[0].grad.numpy()[0, 0])            # nothing was scaled
    with np.errstate(invalid="ignore"):                     # inf * 0 is nan, as in torch
        clip_grad_norm_(ours, 1.0)
    torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    for p, q in zip(ours[:2], theirs[:2]):
        np.testing.assert_array_equal(np.isnan(p.grad.numpy()), np.isnan(q.grad.numpy()))


@pytest.mark.torch
def test_clip_grads_with_norm_uses_the_given_norm(torch):
    ours, theirs = make_pair(torch, "float64")
    clip_grads_with_norm_(ours, 1.0, ember.tensor(4.0, dtype=ember.float64))
    torch.nn.utils.clip_grads_with_norm_(theirs, 1.0, torch.tensor(4.0, dtype=torch.float64))
    assert_same_grads(ours, theirs, 1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_clip_grad_value_matches_pytorch(dtype, torch):
    ours, theirs = make_pair(torch, dtype)
    assert clip_grad_value_(ours, 0.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    assert_same_grads(ours, theirs, 0.0)
    assert max(float(np.abs(p.grad.numpy()).max()) for p in ours if p.grad is not None) == 0.5
    clip_grad_value_(ours[1], 0.25)                          # a single tensor
    assert float(np.abs(ours[1].grad.numpy()).max()) == 0.25


def test_clipping_bumps_the_gradients_version():
    weight = ember.nn.Parameter(ember.zeros(3))
    weight.grad = ember.tensor([3.0, 4.0, 0.0])
    version = weight.grad._version[0]
    clip_grad_norm_([weight], 1.0)
    clip_grad_value_([weight], 0.1)
    assert weight.grad._version[0] == version + 2
