"""Shared by the convolution and pooling tests: hypothesis settings, tolerances, and running
the same call through ember and PyTorch (forward, then the same upstream gradient back)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import ember

# Repeatable (derandomize), fast (60 examples of a few ms each), no per-example deadline.
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
TOLERANCE = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-4, atol=1e-5)}


def close(actual, expected, dtype: str, what: str) -> None:
    """Equal to the dtype's tolerance; in float32 the absolute part scales with the largest
    value (a sum of hundreds of float32 products is only that precise)."""
    tol = dict(TOLERANCE[dtype])
    if dtype == "float32":
        tol["atol"] *= max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, **tol, err_msg=what)


@pytest.fixture(autouse=True, scope="module")
def single_threaded_torch():
    """PyTorch on one thread while these tests run: hundreds of tiny convolutions of new
    shapes ran 10-50x slower with a thread pool on a busy 2-core machine."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_both(torch, ember_call, torch_call, arrays: list, rng: np.random.Generator,
             dtype: str = "float64", differentiable=None):
    """Call ember_call(*ember tensors) and torch_call(*torch tensors) on the same arrays
    (None stays None); compare outputs, then backpropagate sum(out * u) for one random u
    and compare the gradient of every differentiable input. Returns ember's output."""
    differentiable = range(len(arrays)) if differentiable is None else differentiable
    ours, theirs = [], []
    for i, a in enumerate(arrays):
        if a is None:
            ours.append(None), theirs.append(None)
            continue
        a = a.astype(dtype)
        ours.append(ember.tensor(a, requires_grad=i in differentiable))
        theirs.append(torch.tensor(a, requires_grad=i in differentiable))
    out, expected = ember_call(*ours), torch_call(*theirs)
    assert tuple(out.shape) == tuple(expected.shape), "output shape"
    assert out.dtype == getattr(ember, dtype), "output dtype"
    close(out.detach().numpy(), expected.detach().numpy(), dtype, "forward values")
    upstream = rng.standard_normal(tuple(expected.shape)).astype(dtype)
    (out * ember.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    for i in differentiable:
        if ours[i] is None:
            continue
        assert ours[i].grad is not None, f"input {i} got no gradient"
        assert ours[i].grad.dtype == getattr(ember, dtype), f"dtype of gradient {i}"
        close(ours[i].grad.numpy(), theirs[i].grad.numpy(), dtype, f"gradient of input {i}")
    return out
