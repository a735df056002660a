"""Activation functions and layers against PyTorch: forward and gradient in float64 and
float32, the slope taken exactly at each kink, float64 central differences, stability at
+-1000, inplace behaviour, errors, and the layers' reprs, parameters and state dicts."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.errors import DTypeError, ShapeError
from ember.nn.functional import activations
from tests.conftest import rng_for


@dataclass
class ActivationSpec:
    name: str
    call: object                    # call(F, x, *extra) for F = ember's or torch's functional
    kinks: tuple = ()               # points where the slope jumps: tested exactly there
    shape: tuple = (4, 6)
    extra: list = field(default_factory=list)   # shapes of further differentiable inputs

    def __repr__(self) -> str:
        return self.name


SPECS = [
    ActivationSpec("relu", lambda F, x: F.relu(x), kinks=(0.0,)),
    ActivationSpec("relu6", lambda F, x: F.relu6(x), kinks=(0.0, 6.0)),
    ActivationSpec("leaky_relu", lambda F, x: F.leaky_relu(x), kinks=(0.0,)),
    ActivationSpec("leaky_relu_slope", lambda F, x: F.leaky_relu(x, negative_slope=-0.3),
                   kinks=(0.0,)),
    ActivationSpec("elu", lambda F, x: F.elu(x), kinks=(0.0,)),
    ActivationSpec("elu_alpha", lambda F, x: F.elu(x, alpha=2.5), kinks=(0.0,)),
    ActivationSpec("selu", lambda F, x: F.selu(x), kinks=(0.0,)),
    # alpha a power of 2: PyTorch's celu backward rounds 1/alpha to float32, which makes
    # its float64 gradient off by ~1e-7 for other alphas (ember's is exact, by gradcheck)
    ActivationSpec("celu", lambda F, x: F.celu(x, alpha=0.5), kinks=(0.0,)),
    ActivationSpec("gelu", lambda F, x: F.gelu(x)),
    ActivationSpec("gelu_tanh", lambda F, x: F.gelu(x, approximate="tanh")),
    ActivationSpec("silu", lambda F, x: F.silu(x)),
    ActivationSpec("mish", lambda F, x: F.mish(x)),
    ActivationSpec("softplus", lambda F, x: F.softplus(x), kinks=(20.0,)),
    ActivationSpec("softplus_beta", lambda F, x: F.softplus(x, beta=2.0, threshold=3.0),
                   kinks=(1.5,)),
    ActivationSpec("softplus_negative_beta", lambda F, x: F.softplus(x, beta=-1.5),
                   kinks=(-20 / 1.5,)),
    ActivationSpec("softsign", lambda F, x: F.softsign(x), kinks=(0.0,)),
    ActivationSpec("logsigmoid", lambda F, x: F.logsigmoid(x), kinks=(0.0,)),
    ActivationSpec("hardtanh", lambda F, x: F.hardtanh(x), kinks=(-1.0, 1.0)),
    ActivationSpec("hardtanh_bounds", lambda F, x: F.hardtanh(x, -0.5, 2.0), kinks=(-0.5, 2.0)),
    ActivationSpec("hardsigmoid", lambda F, x: F.hardsigmoid(x), kinks=(-3.0, 3.0)),
    ActivationSpec("hardswish", lambda F, x: F.hardswish(x), kinks=(-3.0, 3.0)),
    ActivationSpec("threshold", lambda F, x: F.threshold(x, 0.5, -2.0), kinks=(0.5,)),
    ActivationSpec("sigmoid", lambda F, x: F.sigmoid(x)),
    ActivationSpec("tanh", lambda F, x: F.tanh(x)),
    ActivationSpec("prelu_shared", lambda F, x, w: F.prelu(x, w), kinks=(0.0,), extra=[(1,)]),
    ActivationSpec("prelu_channels", lambda F, x, w: F.prelu(x, w), kinks=(0.0,),
                   shape=(3, 4, 5), extra=[(4,)]),
    ActivationSpec("softmax", lambda F, x: F.softmax(x, dim=1)),
    ActivationSpec("softmax_dim0", lambda F, x: F.softmax(x, dim=0), shape=(3, 4, 5)),
    ActivationSpec("log_softmax", lambda F, x: F.log_softmax(x, dim=-1)),
    ActivationSpec("softmin", lambda F, x: F.softmin(x, dim=1)),
    ActivationSpec("glu", lambda F, x: F.glu(x)),
    ActivationSpec("glu_dim0", lambda F, x: F.glu(x, dim=0), shape=(4, 3)),
]

EXTREMES = (-1000.0, 1000.0, -30.0, 30.0)

# PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32, so its float64
# gradient is off by ~3e-8 relative (ember's is exact, as gradcheck shows).
FLOAT64_GRAD_RTOL = {"hardsigmoid": 1e-7}


def random_inputs(spec, dtype, with_points=True) -> list:
    """The input x (random, and with the kinks and +-1000 written into its first
    elements when with_points) and any further inputs (PReLU's slopes)."""
    rng = rng_for(spec.name)
    x = rng.uniform(-5, 5, spec.shape)
    if with_points:
        points = np.array(spec.kinks + EXTREMES)
        x.reshape(-1)[:len(points)] = points
    extra = [rng.uniform(-1, 1, shape) for shape in spec.extra]
    return [a.astype(dtype) for a in (x, *extra)]


def away_from_kinks(spec) -> list:
    """Inputs for central differences: random, at least 1e-2 from every kink."""
    arrays = random_inputs(spec, np.float64, with_points=False)
    x = arrays[0]
    for kink in spec.kinks:
        close = np.abs(x - kink) < 1e-2
        x[close] = kink + np.where(x[close] < kink, -0.1, 0.1)
    return arrays


def run_both(spec, arrays, torch):
    ours = [ember.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return (ours, spec.call(activations, *ours)), (theirs, spec.call(torch.nn.functional,
                                                                      *theirs))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_forward_and_gradient_match_pytorch(spec, dtype, torch):
    (ours, out), (theirs, expected) = run_both(spec, random_inputs(spec, dtype), torch)
    assert out.dtype.name == dtype, "the output's dtype differs from the input's"
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    if dtype == "float64":
        tol["rtol"] = FLOAT64_GRAD_RTOL.get(spec.name, tol["rtol"])
    upstream = rng_for(spec.name + "upstream").standard_normal(tuple(expected.shape))
    (out * ember.tensor(upstream.astype(dtype))).sum().backward()
    (expected * torch.tensor(upstream.astype(dtype))).sum().backward()
    for i, (mine, reference) in enumerate(zip(ours, theirs)):
        assert mine.grad.dtype.name == dtype
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), **tol,
                                   err_msg=f"gradient of input {i}")


@pytest.mark.torch
@pytest.mark.parametrize("spec", [s for s in SPECS if s.kinks], ids=str)
def test_slope_exactly_at_each_kink_is_pytorchs(spec, torch):
    shape = (1, len(spec.kinks)) + (1,) * (len(spec.shape) - 2)
    x = np.array(spec.kinks).reshape(shape)
    arrays = [x] + [np.full(s, 0.4) if s == (1,) else np.full((1,), 0.4) for s in spec.extra]
    (ours, out), (theirs, expected) = run_both(spec, arrays, torch)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), rtol=1e-15,
                               atol=0, err_msg=f"{spec.name}: slope at {spec.kinks}")


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_gradient_matches_central_differences(spec):
    inputs = [ember.tensor(a, requires_grad=True) for a in away_from_kinks(spec)]
    assert gradcheck(lambda *xs: spec.call(activations, *xs), inputs)


EXTREME_CASES = [pytest.param(spec, dtype, id=f"{spec}-{dtype}")
                 for spec in SPECS for dtype in ("float64", "float32")]
# softsign's gradient 1/(1 + |x|)^2 comes out of x/(1 + |x|) as the difference of two
# terms ~1e-3, in ember as in PyTorch: in float32 both keep only ~4 digits at |x| = 1000.
EXTREME_RTOL = {("softsign", "float32"): 3e-4}


@pytest.mark.torch
@pytest.mark.parametrize("spec, dtype", EXTREME_CASES)
def test_finite_and_equal_to_pytorch_at_plus_minus_1000(spec, dtype, torch):
    x = np.array([[-1000.0, 1000.0, -1000.0, 1000.0], [1000.0, 1000.0, -1000.0, -1000.0]])
    x = x.reshape((2, 4) + (1,) * (len(spec.shape) - 2)).astype(dtype)
    arrays = [x] + [np.full(s, 0.25, dtype) if s == (1,) else np.full((4,), 0.25, dtype)
                    for s in spec.extra]
    (ours, out), (theirs, expected) = run_both(spec, arrays, torch)
    out.sum().backward()
    expected.sum().backward()
    assert np.all(np.isfinite(out.detach().numpy())) and np.all(np.isfinite(ours[0].grad.numpy()))
    tol = dict(rtol=EXTREME_RTOL.get((spec.name, dtype), 1e-6), atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), **tol)


def test_core_softmax_keeps_float32_precision_for_large_logits():
    logits = ember.tensor([1000.0, 1000.0, -1000.0], dtype=ember.float32)
    np.testing.assert_allclose(ember.softmax(logits, 0).numpy(), [0.5, 0.5, 0.0], rtol=1e-6)


# --- inplace ----------------------------------------------------------------------------


INPLACE_CALLS = {
    "relu": lambda F, x: F.relu(x, inplace=True),
    "relu6": lambda F, x: F.relu6(x, inplace=True),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.2, inplace=True),
    "elu": lambda F, x: F.elu(x, inplace=True),
    "selu": lambda F, x: F.selu(x, inplace=True),
    "celu": lambda F, x: F.celu(x, inplace=True),
    "silu": lambda F, x: F.silu(x, inplace=True),
    "mish": lambda F, x: F.mish(x, inplace=True),
    "hardtanh": lambda F, x: F.hardtanh(x, inplace=True),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x, inplace=True),
    "hardswish": lambda F, x: F.hardswish(x, inplace=True),
    "threshold": lambda F, x: F.threshold(x, 0.5, -2.0, inplace=True),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", INPLACE_CALLS)
def test_inplace_writes_into_a_tensor_outside_the_graph(name, torch):
    x = rng_for(name).uniform(-5, 5, (3, 4))
    ours, theirs = ember.tensor(x), torch.tensor(x)
    returned = INPLACE_CALLS[name](activations, ours)
    INPLACE_CALLS[name](torch.nn.functional, theirs)
    assert returned is ours
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("name", INPLACE_CALLS)
def test_inplace_inside_the_graph_still_gives_pytorchs_gradient(name, torch):
    x = rng_for(name).uniform(-5, 5, (3, 4))
    ours, theirs = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = INPLACE_CALLS[name](activations, ours * 2.0)
    expected = INPLACE_CALLS[name](torch.nn.functional, theirs * 2.0)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(),
                               rtol=FLOAT64_GRAD_RTOL.get(name, 1e-12))


def test_inplace_on_a_tensor_saved_for_backward_is_caught():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    x = ember.tensor([-1.0, 3.0])
    y = (w * x).sum()              # saves x for the gradient of w
    activations.relu(x, inplace=True)
    with pytest.raises(ember.GraphError, match="in-place"):
        y.backward()


# --- softmax's implicit dim, dtypes, errors ----------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_without_dim_warns_and_picks_pytorchs_dim(name, ndim, torch):
    x = rng_for(f"{name}{ndim}").standard_normal((2, 3, 4, 5)[:ndim])
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        out = getattr(activations, name)(ember.tensor(x))
    with pytest.warns(UserWarning):
        expected = getattr(torch.nn.functional, name)(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


INTEGER_CALLS = {
    "relu": lambda F, x: F.relu(x),
    "relu6": lambda F, x: F.relu6(x),
    "hardtanh": lambda F, x: F.hardtanh(x, -1.5, 1.5),
    "threshold": lambda F, x: F.threshold(x, 1.5, -2.5),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", INTEGER_CALLS)
def test_integer_input_stays_integer_where_pytorch_keeps_it(name, torch):
    x = np.array([-3, 0, 2, 9])
    out = INTEGER_CALLS[name](activations, ember.tensor(x))
    expected = INTEGER_CALLS[name](torch.nn.functional, torch.tensor(x))
    assert out.dtype == ember.int64 and expected.dtype == torch.int64
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish",
                                  "softplus", "logsigmoid", "hardsigmoid", "hardswish", "glu"])
def test_integer_input_is_refused_like_pytorch(name):
    message = f"{name}: expected a floating-point tensor, got ember.int64"
    with pytest.raises(DTypeError, match=message):
        getattr(activations, name)(ember.tensor([1, 2]))


def test_errors_name_the_function_and_the_values():
    x = ember.randn(2, 3)
    with pytest.raises(ShapeError, match=r"prelu: weight has 4 values .* 3 channel"):
        activations.prelu(x, ember.ones(4))
    with pytest.raises(ShapeError, match="glu: halving dimension must be even, but dimension "
                                         "1 is size 3"):
        activations.glu(x, dim=1)
    with pytest.raises(ShapeError, match="glu: does not take a 0-d tensor"):
        activations.glu(ember.tensor(1.0))
    with pytest.raises(IndexError, match="glu: dim 2 is out of range"):
        activations.glu(x, dim=2)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'erf'"):
        activations.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match=r"hardtanh: min_val \(2\) cannot be greater"):
        activations.hardtanh(x, 2, 1)
    with pytest.raises(ValueError, match="celu: alpha must not be 0"):
        activations.celu(x, alpha=0.0)
    with pytest.raises(TypeError, match="relu.*must be a Tensor, not list"):
        activations.relu([1.0, -1.0])
