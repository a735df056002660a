"""Activation layers against PyTorch's (repr, settings, forward, gradients, parameters and
state dicts), and Maxout against a reference built from a PyTorch Linear."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.errors import ShapeError
from ember.nn import activation
from ember.nn.containers import Sequential
from ember.nn.linear import Linear
from ember.nn.maxout import Maxout
from tests.conftest import rng_for

# Each case builds the same layer from ember's activation module or torch.nn.
LAYERS = {
    "ReLU": lambda nn: nn.ReLU(),
    "ReLU_inplace": lambda nn: nn.ReLU(inplace=True),
    "ReLU6": lambda nn: nn.ReLU6(),
    "ReLU6_inplace": lambda nn: nn.ReLU6(True),
    "LeakyReLU": lambda nn: nn.LeakyReLU(),
    "LeakyReLU_args": lambda nn: nn.LeakyReLU(0.2, inplace=True),
    "ELU": lambda nn: nn.ELU(),
    "ELU_args": lambda nn: nn.ELU(alpha=0.5, inplace=True),
    "SELU": lambda nn: nn.SELU(),
    "SELU_inplace": lambda nn: nn.SELU(inplace=True),
    "CELU": lambda nn: nn.CELU(2.0),
    "GELU": lambda nn: nn.GELU(),
    "GELU_tanh": lambda nn: nn.GELU(approximate="tanh"),
    "SiLU": lambda nn: nn.SiLU(),
    "Mish_inplace": lambda nn: nn.Mish(inplace=True),
    "Softplus": lambda nn: nn.Softplus(),
    "Softplus_args": lambda nn: nn.Softplus(beta=2, threshold=3),
    "Softsign": lambda nn: nn.Softsign(),
    "LogSigmoid": lambda nn: nn.LogSigmoid(),
    "Hardtanh": lambda nn: nn.Hardtanh(),
    "Hardtanh_args": lambda nn: nn.Hardtanh(-2, 3, True),
    "Hardsigmoid_inplace": lambda nn: nn.Hardsigmoid(inplace=True),
    "Hardswish": lambda nn: nn.Hardswish(),
    "Sigmoid": lambda nn: nn.Sigmoid(),
    "Tanh": lambda nn: nn.Tanh(),
    "Softmax": lambda nn: nn.Softmax(dim=1),
    "LogSoftmax": lambda nn: nn.LogSoftmax(dim=-1),
    "Softmin": lambda nn: nn.Softmin(0),
    "GLU": lambda nn: nn.GLU(),
    "GLU_dim": lambda nn: nn.GLU(dim=1),
    "Threshold": lambda nn: nn.Threshold(0.1, 20),
    "Threshold_inplace": lambda nn: nn.Threshold(0.1, 20.0, inplace=True),
    "PReLU": lambda nn: nn.PReLU(),
    "PReLU_channels": lambda nn: nn.PReLU(4, init=0.1),
}


def both(name, torch):
    return LAYERS[name](activation), LAYERS[name](torch.nn)


@pytest.mark.torch
@pytest.mark.parametrize("name", LAYERS)
def test_repr_and_settings_match_pytorch(name, torch):
    ours, theirs = both(name, torch)
    assert repr(ours) == repr(theirs)
    settings = {k: v for k, v in vars(theirs).items() if not k.startswith("_")}
    for key, value in settings.items():
        assert getattr(ours, key) == value, f"{name}.{key}"


@pytest.mark.torch
@pytest.mark.parametrize("name", LAYERS)
def test_forward_and_gradients_match_pytorch(name, torch):
    ours, theirs = both(name, torch)
    x = rng_for(name).uniform(-4, 4, (3, 4, 6)).astype(np.float32)
    x_ours, x_theirs = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours * 1.0), theirs(x_theirs * 1.0)   # inplace acts on a copy
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    upstream = rng_for(name + "upstream").standard_normal(tuple(expected.shape))
    (out * ember.tensor(upstream.astype(np.float32))).sum().backward()
    (expected * torch.tensor(upstream.astype(np.float32))).sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (key, p), (_, p_t) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), p_t.grad.numpy(), rtol=1e-5, atol=1e-5,
                                   err_msg=key)


@pytest.mark.torch
@pytest.mark.parametrize("name", LAYERS)
def test_parameters_and_state_dict_keys_match_pytorch(name, torch):
    ours, theirs = both(name, torch)
    assert [(k, tuple(p.shape)) for k, p in ours.named_parameters()] == \
        [(k, tuple(p.shape)) for k, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].numpy(), value.numpy())


def test_layers_behave_the_same_in_train_and_eval():
    x = ember.randn(3, 4)
    for name in LAYERS:
        layer = LAYERS[name](activation)
        trained = layer(x * 1.0).detach()
        assert not layer.eval().training
        np.testing.assert_array_equal(layer(x * 1.0).detach().numpy(), trained.numpy(),
                                      err_msg=name)


@pytest.mark.torch
def test_prelu_state_dict_round_trip_from_pytorch(torch):
    theirs = torch.nn.PReLU(4)
    with torch.no_grad():
        theirs.weight.uniform_(-1, 1)
    ours = activation.PReLU(4)
    ours.load_state_dict({k: ember.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = rng_for("prelu round trip").standard_normal((2, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(ember.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    copy = activation.PReLU(4)
    copy.load_state_dict(ours.state_dict())
    np.testing.assert_array_equal(copy.weight.detach().numpy(), ours.weight.detach().numpy())


def test_prelu_starts_at_its_init_slope():
    layer = activation.PReLU(5, init=0.1, dtype=ember.float64)
    assert layer.weight.dtype == ember.float64 and layer.weight.requires_grad
    np.testing.assert_array_equal(layer.weight.detach().numpy(), np.full(5, 0.1))
    with pytest.raises(ShapeError, match="prelu: weight has 5 values"):
        layer(ember.randn(2, 3, dtype=ember.float64))


@pytest.mark.torch
def test_inplace_relu_inside_a_network_gives_pytorchs_gradients(torch):
    ours = Sequential(Linear(5, 8), activation.ReLU(inplace=True), Linear(8, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(inplace=True),
                                 torch.nn.Linear(8, 2))
    ours.load_state_dict({k: ember.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = rng_for("inplace network").standard_normal((6, 5)).astype(np.float32)
    ours(ember.tensor(x)).pow(2).sum().backward()
    theirs(torch.tensor(x)).pow(2).sum().backward()
    for (key, p), (_, p_t) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), p_t.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=key)


def test_layer_errors_and_the_implicit_softmax_dim_warning():
    with pytest.raises(ValueError, match=r"Hardtanh: min_val \(2\) cannot be greater"):
        activation.Hardtanh(2, 1)
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh'"):
        activation.GELU("exact")
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        activation.Softmax()(ember.randn(2, 3))


# --- Maxout --------------------------------------------------------------------------------


def torch_maxout(torch, layer: Maxout):
    """The reference: a PyTorch Linear with Maxout's weights, viewed as (units, pieces) and
    reduced by max."""
    linear = torch.nn.Linear(layer.in_features, layer.out_features * layer.pieces,
                             dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(layer.weight.detach().numpy()))
        linear.bias.copy_(torch.tensor(layer.bias.detach().numpy()))

    def forward(x):
        affine = linear(x)
        return affine.view(*x.shape[:-1], layer.out_features, layer.pieces).max(-1).values
    return linear, forward


@pytest.mark.torch
def test_maxout_matches_a_pytorch_linear_with_max_over_pieces(torch):
    layer = Maxout(6, 4, pieces=3, dtype=ember.float64)
    linear, reference = torch_maxout(torch, layer)
    x = rng_for("maxout").standard_normal((2, 5, 6))
    x_ours, x_theirs = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = layer(x_ours), reference(x_theirs)
    assert out.shape == (2, 5, 4)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    upstream = rng_for("maxout upstream").standard_normal((2, 5, 4))
    (out * ember.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.numpy(), linear.weight.grad.numpy(),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.bias.grad.numpy(), linear.bias.grad.numpy(), rtol=1e-12,
                               atol=1e-15)


def test_maxout_gradient_reaches_only_the_winning_piece():
    layer = Maxout(3, 2, pieces=4, dtype=ember.float64)
    x = ember.tensor([[0.5, -1.0, 2.0]], dtype=ember.float64)
    layer(x).sum().backward()
    weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    affine = (x.numpy() @ weight.T + bias).reshape(2, 4)
    winners = np.argmax(affine, axis=1) + np.arange(2) * 4       # row index of each winner
    expected_weight_grad = np.zeros((8, 3))
    expected_weight_grad[winners] = x.numpy()                   # d (W_jk . x) / d W_jk = x
    np.testing.assert_array_equal(layer.weight.grad.numpy(), expected_weight_grad)
    np.testing.assert_array_equal(np.flatnonzero(layer.bias.grad.numpy()), winners)


def test_maxout_input_gradient_matches_central_differences():
    # (the parameters' gradients are checked against PyTorch above)
    layer = Maxout(4, 3, pieces=2, dtype=ember.float64)
    x = ember.tensor(rng_for("maxout gradcheck").standard_normal((5, 4)), requires_grad=True)
    assert gradcheck(layer, (x,))


def test_maxout_with_one_piece_is_linear():
    layer = Maxout(4, 3, pieces=1)
    x = ember.randn(2, 4)
    weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    np.testing.assert_allclose(layer(x).detach().numpy(), x.numpy() @ weight.T + bias,
                               rtol=1e-6)


def test_maxout_parameters_state_dict_and_repr():
    layer = Maxout(20, 10, pieces=3)
    assert [(k, tuple(p.shape)) for k, p in layer.named_parameters()] == \
        [("weight", (30, 20)), ("bias", (30,))]
    assert sum(p.numel() for p in layer.parameters()) == 30 * 20 + 30
    assert layer.weight.dtype == ember.float32
    assert repr(layer) == "Maxout(in_features=20, out_features=10, pieces=3, bias=True)"
    copy = Maxout(20, 10, pieces=3)
    copy.load_state_dict(layer.state_dict())
    x = ember.randn(7, 20)
    np.testing.assert_array_equal(copy(x).detach().numpy(), layer(x).detach().numpy())
    no_bias = Maxout(20, 10, 3, bias=False)
    assert list(no_bias.state_dict()) == ["weight"] and no_bias.bias is None
    assert no_bias(x).shape == (7, 10)


def test_maxout_starts_like_linear_of_out_times_pieces():
    ember.manual_seed(7)
    layer = Maxout(400, 100, pieces=5)
    bound = 1 / math.sqrt(400)
    for values in (layer.weight.detach().numpy(), layer.bias.detach().numpy()):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.98 * bound     # fills the range, not a narrower one
    # U(-b, b) has mean 0 and std b / sqrt(3); 200,000 draws pin both to within 1%
    weight = layer.weight.detach().numpy()
    assert abs(weight.mean()) < 0.01 * bound
    assert abs(weight.std() / (bound / math.sqrt(3)) - 1) < 0.01
    ember.manual_seed(7)
    np.testing.assert_array_equal(Maxout(400, 100, pieces=5).weight.detach().numpy(), weight)


def test_maxout_errors():
    with pytest.raises(ValueError, match="Maxout: pieces must be a positive int, got 0"):
        Maxout(4, 3, pieces=0)
    with pytest.raises(ValueError, match="Maxout: in_features must be a positive int"):
        Maxout(4.0, 3, pieces=2)
    with pytest.raises(ShapeError, match=r"Maxout: expected an input of shape \(\*, 4\), got "
                                         r"\(2, 5\)"):
        Maxout(4, 3, pieces=2)(ember.randn(2, 5))
