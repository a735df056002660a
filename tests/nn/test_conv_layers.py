"""The convolution, pooling, BatchNorm2d and Dropout2d modules against PyTorch's: repr,
state_dict keys and shapes, outputs and gradients with PyTorch's weights loaded, default
initialisation (in distribution), training steps, and channel dropout's statistics."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.nn.batchnorm2d import BatchNorm2d
from ember.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from ember.nn.dropout2d import Dropout2d
from ember.nn.functional.dropout2d import dropout2d
from ember.nn.pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d,
                              AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d)
from tests.conftest import rng_for
from tests.nn.conv_testing import single_threaded_torch  # noqa: F401

ours = {cls.__name__: cls for cls in (
    Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, MaxPool1d, MaxPool2d, AvgPool1d,
    AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
    BatchNorm2d, Dropout2d)}

# (class name, args, kwargs, input shape)
LAYERS = [
    ("Conv2d", (1, 6, 5), dict(padding=2), (2, 1, 12, 12)),
    ("Conv2d", (6, 16, 5), {}, (2, 6, 14, 14)),
    ("Conv2d", (3, 4, 3), dict(padding="same", bias=False), (2, 3, 7, 6)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 0), dilation=2, groups=2),
     (2, 4, 9, 8)),
    ("Conv2d", (4, 4, 3), dict(padding=1, padding_mode="reflect"), (2, 4, 6, 5)),
    ("Conv2d", (4, 4, 3), dict(padding=2, padding_mode="circular"), (2, 4, 6, 5)),
    ("Conv2d", (4, 4, 4), dict(padding="same", padding_mode="replicate"), (2, 4, 6, 5)),
    ("Conv2d", (2, 3, 3), dict(padding="valid"), (2, 2, 5, 5)),
    ("Conv1d", (1, 25, 5), dict(stride=2, padding=1), (3, 1, 40)),
    ("Conv1d", (4, 2, 3), dict(padding="same", dilation=2, groups=2, bias=False), (3, 4, 9)),
    ("ConvTranspose2d", (3, 4, 3), dict(stride=2, output_padding=1), (2, 3, 4, 5)),
    ("ConvTranspose2d", (4, 6, (2, 3)), dict(stride=(1, 2), padding=1, groups=2, dilation=2,
                                             bias=False), (2, 4, 5, 4)),
    ("ConvTranspose1d", (3, 4, 3), dict(stride=2, padding=1), (2, 3, 6)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", ((3, 2),), dict(stride=(2, 1), padding=1, dilation=(1, 2), ceil_mode=True),
     (2, 3, 7, 8)),
    ("MaxPool1d", (3, 2), {}, (2, 3, 9)),
    ("AvgPool2d", (2,), {}, (2, 3, 8, 8)),
    ("AvgPool2d", (3, 2, 1), dict(ceil_mode=True, count_include_pad=False, divisor_override=2),
     (2, 3, 8, 7)),
    ("AvgPool1d", (2,), {}, (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((5, None),), {}, (2, 3, 7, 6)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 7, 6)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 7)),
    ("AdaptiveMaxPool2d", (3,), {}, (2, 3, 7, 6)),
    ("AdaptiveMaxPool1d", (4,), {}, (2, 3, 7)),
    ("BatchNorm2d", (3,), {}, (4, 3, 5, 5)),
    ("Dropout2d", (), dict(p=0.3), (2, 3, 4, 4)),
]
LAYER_IDS = [f"{name}{args}{kwargs}" for name, args, kwargs, _ in LAYERS]


def pair(torch, name, args, kwargs):
    ember.manual_seed(0)
    return ours[name](*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


def load_torch_weights(module, torch_module):
    module.load_state_dict({k: ember.tensor(v.numpy())
                            for k, v in torch_module.state_dict().items()})


@pytest.mark.torch
@pytest.mark.parametrize("name, args, kwargs, shape", LAYERS, ids=LAYER_IDS)
def test_repr_and_state_dict_match_pytorch(torch, name, args, kwargs, shape):
    layer, reference = pair(torch, name, args, kwargs)
    assert repr(layer) == repr(reference)
    ours_state, theirs = layer.state_dict(), reference.state_dict()
    assert list(ours_state) == list(theirs)
    for key in theirs:
        assert tuple(ours_state[key].shape) == tuple(theirs[key].shape), key
    assert sum(p.numel() for p in layer.parameters()) == \
        sum(p.numel() for p in reference.parameters())


@pytest.mark.torch
@pytest.mark.parametrize("name, args, kwargs, shape",
                         [c for c in LAYERS if c[0] != "Dropout2d"],
                         ids=[i for i, c in zip(LAYER_IDS, LAYERS) if c[0] != "Dropout2d"])
def test_pytorch_weights_give_pytorch_outputs_and_gradients(torch, name, args, kwargs, shape):
    layer, reference = pair(torch, name, args, kwargs)
    load_torch_weights(layer, reference)
    x = rng_for(f"layer {name} {args}").standard_normal(shape).astype(np.float32)
    x_ours = ember.tensor(x, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    out, expected = layer(x_ours), reference(x_theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    upstream = rng_for(f"upstream {name}").standard_normal(tuple(expected.shape))
    (out * ember.tensor(upstream.astype(np.float32))).sum().backward()
    (expected * torch.tensor(upstream, dtype=torch.float32)).sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    for (key, p), (_, q) in zip(layer.named_parameters(), reference.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-4,
                                   err_msg=key)


def test_state_dict_round_trip():
    layer = Conv2d(3, 4, 3, padding=1)
    copy = Conv2d(3, 4, 3, padding=1)
    copy.load_state_dict(layer.state_dict())
    x = ember.randn(2, 3, 5, 5)
    np.testing.assert_array_equal(copy(x).detach().numpy(), layer(x).detach().numpy())


def test_a_5x5x3_filter_has_76_parameters():
    assert sum(p.numel() for p in Conv2d(3, 1, 5).parameters()) == 5 * 5 * 3 + 1


@pytest.mark.torch
@pytest.mark.parametrize("name, args", [
    ("Conv2d", (64, 64, 3)), ("Conv1d", (32, 256, 5)), ("ConvTranspose2d", (16, 64, 4)),
    ("ConvTranspose2d", (64, 32, 3, 1, 0, 0, 4)),
], ids=str)
def test_default_initialisation_has_pytorch_distribution(torch, name, args):
    """Weights and biases uniform in +-1/sqrt(fan_in): the same bounds and spread as
    PyTorch's draws (tens of thousands of weights; tolerances of 6 to 8 standard
    deviations, so the checks cannot flake)."""
    layer, reference = pair(torch, name, args, {})
    for key in ("weight", "bias"):
        ours_values = getattr(layer, key).detach().numpy().ravel()
        theirs = getattr(reference, key).detach().numpy().ravel()
        n, bound = ours_values.size, np.abs(theirs).max() * (1 + 8 / theirs.size)
        largest = np.abs(ours_values).max()
        # P(max |U(-b, b)| < (1 - e) b) = (1 - e)^n < exp(-8) for e = 8/n
        assert (1 - 8 / n) ** 2 * bound <= largest <= bound, key
        assert abs(ours_values.mean()) < 6 * bound / np.sqrt(3 * n), key
        if n > 10_000:   # std of U(-b, b) is b/sqrt(3), known to about 1/sqrt(n)
            assert abs(ours_values.std() / theirs.std() - 1) < 0.03, key


@pytest.mark.torch
def test_conv_transpose_output_size_argument_matches_pytorch(torch):
    layer, reference = pair(torch, "ConvTranspose2d", (2, 3, 3), dict(stride=2, padding=1))
    load_torch_weights(layer, reference)
    x = rng_for("output size").standard_normal((1, 2, 4, 4)).astype(np.float32)
    for size in [(7, 7), (8, 8), (7, 8), (1, 3, 8, 7)]:
        out = layer(ember.tensor(x), output_size=size)
        expected = reference(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(),
                                   rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="valid sizes range from"):
        layer(ember.tensor(x), output_size=(9, 9))


@pytest.mark.torch
def test_max_pool_modules_return_indices_like_pytorch(torch):
    x = rng_for("module indices").integers(-3, 3, (2, 3, 6, 7)).astype(np.float32)
    for name, args in [("MaxPool2d", (2,)), ("AdaptiveMaxPool2d", (3,))]:
        layer, reference = pair(torch, name, args, dict(return_indices=True))
        (out, idx), (expected, expected_idx) = layer(ember.tensor(x)), reference(torch.tensor(x))
        np.testing.assert_array_equal(out.numpy(), expected.numpy())
        np.testing.assert_array_equal(idx.numpy(), expected_idx.numpy())


def test_pool_layers_have_no_parameters():
    for layer in (MaxPool2d(2), AvgPool2d(2), AdaptiveAvgPool2d(1), MaxPool1d(2)):
        assert list(layer.parameters()) == [] and layer.state_dict() == {}


def test_exact_flag_shows_in_repr():
    assert repr(Conv2d(1, 2, 3, exact=True)) == \
        "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), exact=True)"
    assert repr(MaxPool2d(2, exact=True)) == \
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False, exact=True)"


# --- BatchNorm2d --------------------------------------------------------------------------


@pytest.mark.torch
def test_batchnorm2d_matches_pytorch_over_training_steps(torch):
    layer, reference = pair(torch, "BatchNorm2d", (3,), dict(momentum=0.2))
    rng = rng_for("batchnorm2d steps")
    for step in range(4):
        x = (rng.standard_normal((5, 3, 4, 4)) * (step + 1) + step).astype(np.float32)
        x_ours, x_theirs = ember.tensor(x, requires_grad=True), torch.tensor(x,
                                                                            requires_grad=True)
        out, expected = layer(x_ours), reference(x_theirs)
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
        upstream = rng.standard_normal(x.shape).astype(np.float32)
        (out * ember.tensor(upstream)).sum().backward()
        (expected * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-4,
                                   atol=1e-4)
        for p, q in zip(layer.parameters(), reference.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-3)
            with ember.no_grad():
                p -= 0.1 * p.grad       # the same SGD step on both
            with torch.no_grad():
                q -= 0.1 * q.grad
            p.grad, q.grad = None, None
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(layer.state_dict()[key].numpy(),
                                   reference.state_dict()[key].numpy(), rtol=1e-5, err_msg=key)
    layer.eval(), reference.eval()
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(ember.tensor(x)).detach().numpy(),
                               reference(torch.tensor(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)


def test_batchnorm2d_rejects_other_ranks_before_changing_its_statistics():
    layer = BatchNorm2d(3)
    with pytest.raises(ember.errors.ShapeError, match="expected 4D input"):
        layer(ember.randn(4, 3, 5))
    assert layer.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(layer.running_mean.numpy(), np.zeros(3))


# --- Dropout2d ----------------------------------------------------------------------------

# 800 x 250 = 200,000 channel draws: the kept fraction has a standard deviation below
# 0.0012, so 0.01 is more than 8 standard deviations.
RATE_TOLERANCE = 0.01


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout2d_zeroes_whole_channels_at_rate_p(p):
    y = Dropout2d(p)(ember.ones(800, 250, 3, 2)).numpy()
    per_channel = y.reshape(800, 250, -1)
    assert (per_channel == per_channel[:, :, :1]).all(), "a channel was partly dropped"
    kept = per_channel[:, :, 0] != 0
    assert abs(kept.mean() - (1 - p)) < RATE_TOLERANCE
    np.testing.assert_array_equal(per_channel[kept], np.float32(1) / np.float32(1 - p))
    # masks differ between samples and between channels
    assert abs((kept[0::2] == kept[1::2]).mean() - (p * p + (1 - p) ** 2)) < 2 * RATE_TOLERANCE


def test_dropout2d_gradient_is_the_channel_mask_times_the_scale():
    x = ember.tensor(rng_for("dropout2d grad").uniform(1, 2, (6, 8, 3, 3)).astype(np.float32),
                     requires_grad=True)
    y = dropout2d(x, 0.4)
    y.sum().backward()
    mask = y.detach().numpy() != 0
    np.testing.assert_array_equal(x.grad.numpy(), mask * (np.float32(1) / np.float32(0.6)))


def test_dropout2d_gradcheck_float64():
    x = ember.randn(3, 4, 2, 2, dtype=ember.float64, requires_grad=True)

    def seeded(t):
        ember.manual_seed(5)            # the same channel mask on every call
        return dropout2d(t, 0.5)

    assert gradcheck(seeded, (x,))


def test_dropout2d_eval_identity_repeatability_and_edge_probabilities():
    layer, x = Dropout2d(0.5), ember.randn(4, 6, 3, 3, requires_grad=True)
    assert layer.eval()(x) is x
    layer.train()
    ember.manual_seed(3)
    first = layer(x).detach().numpy()
    ember.manual_seed(3)
    np.testing.assert_array_equal(layer(x).detach().numpy(), first)
    assert dropout2d(x, 0.0) is x
    assert (dropout2d(x, 1.0).detach().numpy() == 0).all()


def test_dropout2d_takes_a_3d_input_as_batch_channels_length_with_a_warning():
    with pytest.warns(UserWarning, match="3D input"):
        y = dropout2d(ember.ones(200, 100, 4), 0.5).numpy()
    assert (y == y[:, :, :1]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert dropout2d(ember.ones(3, 4), 0.5).shape == (3, 4)
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout2d(1.5)
