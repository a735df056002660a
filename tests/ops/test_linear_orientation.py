"""A wide Linear layer (at least ember.ops.linear.WIDE times as many outputs as input rows)
computes y = (W x^T)^T and hands on y column-major; the gradient of a column-major input
comes back column-major. Values and gradients as PyTorch's, layouts as stated, in float32
and float64."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops.linear import WIDE


def layers(rows, features, hidden, outputs, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features)).astype(dtype)
    w1 = (rng.standard_normal((hidden, features)) / np.sqrt(features)).astype(dtype)
    b1 = rng.standard_normal(hidden).astype(dtype)
    w2 = (rng.standard_normal((outputs, hidden)) / np.sqrt(hidden)).astype(dtype)
    return x, w1, b1, w2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_wide_layer_hands_on_column_major_output_with_the_same_values(dtype):
    x, w1, b1, _ = layers(16, 300, 128, 1, dtype)       # 128 >= 4 x 16, past the small kernel
    assert w1.shape[0] >= WIDE * x.shape[0]
    y = F.linear(ember.from_numpy(x), ember.from_numpy(w1), ember.from_numpy(b1)).numpy()
    assert y.flags.f_contiguous and not y.flags.c_contiguous
    np.testing.assert_allclose(y, x.astype(np.float64) @ w1.T + b1, rtol=1e-4, atol=1e-4)
    narrow = F.linear(ember.from_numpy(np.vstack([x] * 4)), ember.from_numpy(w1)).numpy()
    assert narrow.flags.c_contiguous                     # 64 rows: x W^T, row-major


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_then_narrow_layers_match_pytorch_and_keep_the_gradient_layout(torch, dtype):
    x, w1, b1, w2 = layers(16, 300, 128, 10, dtype, seed=1)
    params = [ember.from_numpy(a.copy()).requires_grad_() for a in (x, w1, b1, w2)]
    hidden = F.relu(F.linear(*params[:3]))
    hidden.retain_grad()
    (F.linear(hidden, params[3]) ** 2).sum().backward()
    assert hidden.detach().numpy().flags.f_contiguous
    assert hidden.grad.numpy().flags.f_contiguous       # laid out like the tensor
    ours = [p.grad.numpy() for p in params]

    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w1, b1, w2)]
    out = torch.nn.functional.linear(torch.relu(torch.nn.functional.linear(*theirs[:3])),
                                     theirs[3])
    (out ** 2).sum().backward()
    tolerance = 1e-4 if dtype == np.float32 else 1e-10
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference.grad.numpy(), rtol=tolerance,
                                   atol=tolerance)


@pytest.mark.torch
def test_a_batched_input_through_a_wide_layer(torch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 300)).astype(np.float32)     # 8 rows
    w = rng.standard_normal((64, 300)).astype(np.float32) / 17
    xe = ember.from_numpy(x).requires_grad_()
    ye = F.linear(xe, ember.from_numpy(w))
    ye.sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.linear(xt, torch.tensor(w))
    yt.sum().backward()
    assert ye.shape == (2, 4, 64)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
