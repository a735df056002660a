"""Every differentiable op in the table: forward against NumPy, gradient against float64
central differences, and forward and gradient against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from tests.conftest import rng_for
from tests.ops.op_specs import SPECS, sample


def make_inputs(spec, dtype=np.float64) -> list:
    rng = rng_for(spec.name)
    return [sample(rng, shape, domain).astype(dtype)
            for shape, domain in zip(spec.shapes, spec.domains())]


def ember_inputs(spec, arrays, requires_grad=True) -> list:
    return [ember.tensor(a, requires_grad=requires_grad and i in spec.differentiable)
            for i, a in enumerate(arrays)]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_forward_matches_numpy(spec):
    arrays = make_inputs(spec)
    out = spec.call(ember, *ember_inputs(spec, arrays, requires_grad=False))
    expected = np.asarray(spec.numpy(*arrays))
    assert out.shape == expected.shape
    assert out.dtype == ember.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_float32_stays_float32(spec):
    arrays = make_inputs(spec)
    out = spec.call(ember, *ember_inputs(spec, [a.astype(np.float32) for a in arrays]))
    assert out.dtype == ember.float32, "a float64 value leaked into a float32 computation"
    np.testing.assert_allclose(out.detach().numpy(), spec.numpy(*arrays), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_gradient_matches_central_differences(spec):
    inputs = ember_inputs(spec, make_inputs(spec))
    assert gradcheck(lambda *xs: spec.call(ember, *xs), inputs)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_forward_and_gradient_match_pytorch(spec, dtype, torch):
    arrays = make_inputs(spec, np.dtype(dtype))
    ours = ember_inputs(spec, arrays)
    theirs = [torch.tensor(a, requires_grad=i in spec.differentiable)
              for i, a in enumerate(arrays)]
    out, expected = spec.call(ember, *ours), spec.call(torch, *theirs)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    # backpropagate the same random upstream gradient through both
    upstream = rng_for(spec.name + "upstream").standard_normal(tuple(expected.shape))
    (out * ember.tensor(upstream.astype(dtype))).sum().backward()
    (expected * torch.tensor(upstream.astype(dtype))).sum().backward()
    for i in spec.differentiable:
        assert ours[i].grad is not None, f"input {i} got no gradient"
        np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(), **tol,
                                   err_msg=f"gradient of input {i}")
