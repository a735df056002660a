"""Dropout and alpha dropout: keep rate, scaling, gradient, repeatability, eval identity,
and the modules' repr and state against PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.nn.dropout import AlphaDropout, Dropout
from ember.nn.functional.regularization import alpha_dropout, dropout
from tests.conftest import rng_for

# With n = 200,000 draws, the kept fraction has standard deviation sqrt(p(1-p)/n) < 0.0012;
# 0.01 is more than 8 standard deviations, so these statistical checks cannot flake.
N = 200_000
RATE_TOLERANCE = 0.01


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_one_minus_p_and_scales_survivors(p):
    x = ember.ones(N)
    y = dropout(x, p).numpy()
    kept = y != 0
    assert abs(kept.mean() - (1 - p)) < RATE_TOLERANCE
    np.testing.assert_array_equal(y[kept], np.float32(1) / np.float32(1 - p))
    assert abs(y.mean() - 1.0) < RATE_TOLERANCE / (1 - p)   # E[y] = x


def test_dropout_mask_is_independent_per_element():
    # a mask built from too few random numbers (e.g. one per row) would correlate rows
    y = dropout(ember.ones(2, N // 2), 0.5).numpy() != 0
    agreement = (y[0] == y[1]).mean()
    assert abs(agreement - 0.5) < RATE_TOLERANCE


def test_dropout_gradient_is_the_mask_times_the_scale():
    rng = rng_for("dropout_gradient")
    x = ember.tensor(rng.uniform(1, 2, (64, 32)).astype(np.float32), requires_grad=True)
    upstream = rng.standard_normal((64, 32)).astype(np.float32)
    y = dropout(x, 0.3)
    (y * ember.tensor(upstream)).sum().backward()
    mask = y.detach().numpy() != 0            # inputs are >= 1, so zeros are dropped ones
    scale = np.float32(1) / np.float32(0.7)
    np.testing.assert_array_equal(x.grad.numpy(), upstream * (mask * scale))
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() * mask * scale, rtol=1e-6)


def test_dropout_gradcheck_float64():
    x = ember.randn(5, 6, dtype=ember.float64, requires_grad=True)

    def seeded_dropout(t):
        ember.manual_seed(7)        # the same mask on every call gradcheck makes
        return dropout(t, 0.4)

    assert gradcheck(seeded_dropout, (x,))


def test_dropout_repeats_under_manual_seed_and_differs_otherwise():
    x = ember.ones(1000)
    ember.manual_seed(123)
    first = dropout(x, 0.5).numpy()
    ember.manual_seed(123)
    again = dropout(x, 0.5).numpy()
    after = dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, after)


def test_dropout_identity_in_eval_and_for_p_zero():
    x = ember.randn(3, 4, requires_grad=True)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x


def test_dropout_p_one_gives_zeros_and_zero_gradient():
    x = ember.randn(3, 4, requires_grad=True)
    y = dropout(x, 1.0)
    np.testing.assert_array_equal(y.detach().numpy(), 0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_dropout_keeps_the_dtype(dtype):
    x = ember.randn(10, dtype=dtype, requires_grad=True)
    assert dropout(x, 0.3).dtype == dtype
    assert alpha_dropout(x, 0.3, training=True).dtype == dtype


def test_dropout_inplace_changes_the_input_outside_the_graph():
    x = ember.ones(100)
    y = dropout(x, 0.5, inplace=True)
    assert y is x
    assert set(np.unique(x.numpy())) == {0.0, 2.0}


def test_dropout_inplace_on_a_recorded_tensor_gives_the_same_values_out_of_place():
    x = ember.ones(100, requires_grad=True)
    hidden = x * 1.0
    ember.manual_seed(5)
    y = dropout(hidden, 0.5, inplace=True)
    ember.manual_seed(5)
    expected = dropout(ember.ones(100), 0.5)
    np.testing.assert_array_equal(y.detach().numpy(), expected.numpy())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), expected.numpy())


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_invalid_probability_is_refused(p):
    with pytest.raises(ValueError, match=r"dropout: dropout probability has to be between 0 "
                                         r"and 1, but got"):
        dropout(ember.ones(3), p)
    with pytest.raises(ValueError, match="alpha_dropout: .*between 0 and 1"):
        alpha_dropout(ember.ones(3), p, training=True)
    with pytest.raises(ValueError, match="Dropout: .*between 0 and 1"):
        Dropout(p)


def test_dropout_module_is_active_in_training_only():
    layer = Dropout(0.5)
    x = ember.ones(1000)
    assert (layer(x).numpy() == 0).any()
    layer.eval()
    assert layer(x) is x
    assert list(layer.parameters()) == [] and list(layer.state_dict()) == []


@pytest.mark.torch
def test_module_reprs_match_pytorch(torch):
    for ours, theirs in [(Dropout(), torch.nn.Dropout()),
                         (Dropout(0.2, inplace=True), torch.nn.Dropout(0.2, inplace=True)),
                         (AlphaDropout(0.3), torch.nn.AlphaDropout(0.3))]:
        assert repr(ours) == repr(theirs)


@pytest.mark.torch
def test_torch_dropout_has_the_same_statistics(torch):
    # both libraries: kept fraction 1 - p, survivors scaled by 1 / (1 - p)
    p = 0.3
    theirs = torch.nn.functional.dropout(torch.ones(N), p).numpy()
    ours = dropout(ember.ones(N), p).numpy()
    assert abs((theirs != 0).mean() - (ours != 0).mean()) < 2 * RATE_TOLERANCE
    np.testing.assert_array_equal(np.unique(theirs), np.unique(ours))


def _affine_parts(x: np.ndarray, y: np.ndarray):
    """For alpha dropout's y = a x + b (kept) or a (-alpha') + b (dropped): the dropped
    value (the most frequent output) and the (a, b) of the kept elements by least squares."""
    values, counts = np.unique(y, return_counts=True)
    dropped_value = values[np.argmax(counts)]
    kept = y != dropped_value
    a, b = np.polyfit(x[kept], y[kept], 1)
    return dropped_value, a, b, 1 - kept.mean()


@pytest.mark.torch
def test_alpha_dropout_matches_pytorch_formula_and_keeps_mean_and_variance(torch):
    p = 0.2
    x = rng_for("alpha_dropout").standard_normal(N)
    ours = alpha_dropout(ember.tensor(x), p, training=True).numpy()
    theirs = torch.nn.functional.alpha_dropout(torch.tensor(x), p, training=True).numpy()
    our_parts, their_parts = _affine_parts(x, ours), _affine_parts(x, theirs)
    np.testing.assert_allclose(our_parts[:3], their_parts[:3], rtol=1e-9)
    assert abs(our_parts[3] - p) < RATE_TOLERANCE
    # self-normalising: standard normal in, mean 0 and variance 1 out
    assert abs(ours.mean()) < 0.02 and abs(ours.var() - 1) < 0.02


def test_alpha_dropout_gradient_is_a_times_the_mask():
    p = 0.2
    a = 1 / math.sqrt((1.7580993408473766 ** 2 * p + 1) * (1 - p))
    x = ember.randn(1000, dtype=ember.float64, requires_grad=True)
    y = alpha_dropout(x, p, training=True)
    y.sum().backward()
    grad = x.grad.numpy()
    assert set(np.round(np.unique(grad), 12)) == {0.0, round(a, 12)}
    assert abs((grad == 0).mean() - p) < 0.05


def test_alpha_dropout_identity_in_eval_and_module_modes():
    x = ember.randn(50)
    assert alpha_dropout(x, 0.5) is x                   # training defaults to False
    layer = AlphaDropout(0.5)
    assert not np.array_equal(layer(x).numpy(), x.numpy())
    assert layer.eval()(x) is x
