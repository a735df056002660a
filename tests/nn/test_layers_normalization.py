"""batch_norm, layer_norm, group_norm and normalize against PyTorch (forward, gradients of
input and parameters, running statistics) and float64 central differences; the modules'
train/eval behaviour, state_dict and repr."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.nn.functional.normalization import batch_norm, group_norm, layer_norm, normalize
from ember.nn.normalization import BatchNorm1d, GroupNorm, LayerNorm
from tests.conftest import rng_for

TOLERANCE = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-5)}


def arrays(name: str, *shapes, dtype="float64", low=-2.0, high=2.0):
    rng = rng_for(name)
    return [rng.uniform(low, high, shape).astype(dtype) for shape in shapes]


def pair(torch, array, requires_grad=True):
    """The same values as an ember tensor and a torch tensor."""
    return (ember.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def backprop_same_upstream(ours, theirs, name):
    upstream = rng_for(name + " upstream").standard_normal(tuple(theirs.shape))
    (ours * ember.tensor(upstream.astype(ours.numpy(force=True).dtype))).sum().backward()
    (theirs * theirs.new_tensor(upstream)).sum().backward()


def assert_close(ours, theirs, dtype="float64", what=""):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(),
                               **TOLERANCE[dtype], err_msg=what)


# --- batch_norm ----------------------------------------------------------------------------

@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5)], ids=str)
def test_batch_norm_training_matches_pytorch(torch, shape, dtype):
    name = f"batch_norm {shape}"
    x, w, b, mean, var = arrays(name, shape, (3,), (3,), (3,), (3,), dtype=dtype)
    var = np.abs(var) + 0.5
    (x_e, x_t), (w_e, w_t), (b_e, b_t) = pair(torch, x), pair(torch, w), pair(torch, b)
    rm_e, rm_t = pair(torch, mean, requires_grad=False)
    rv_e, rv_t = pair(torch, var, requires_grad=False)
    ours = batch_norm(x_e, rm_e, rv_e, w_e, b_e, training=True, momentum=0.3, eps=1e-3)
    theirs = torch.nn.functional.batch_norm(x_t, rm_t, rv_t, w_t, b_t, training=True,
                                            momentum=0.3, eps=1e-3)
    assert ours.dtype == getattr(ember, dtype)
    assert_close(ours, theirs, dtype, "output")
    assert_close(rm_e, rm_t, dtype, "running_mean")
    assert_close(rv_e, rv_t, dtype, "running_var (unbiased)")
    backprop_same_upstream(ours, theirs, name)
    for label, e, t in [("input", x_e, x_t), ("weight", w_e, w_t), ("bias", b_e, b_t)]:
        assert_close(e.grad, t.grad, dtype, f"gradient of {label}")


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4, 5)], ids=str)
def test_batch_norm_eval_matches_pytorch(torch, shape):
    x, w, b, mean, var = arrays(f"batch_norm eval {shape}", shape, (3,), (3,), (3,), (3,))
    var = np.abs(var) + 0.5
    (x_e, x_t), (w_e, w_t), (b_e, b_t) = pair(torch, x), pair(torch, w), pair(torch, b)
    rm_e, rm_t = pair(torch, mean, requires_grad=False)
    rv_e, rv_t = pair(torch, var, requires_grad=False)
    ours = batch_norm(x_e, rm_e, rv_e, w_e, b_e, training=False)
    theirs = torch.nn.functional.batch_norm(x_t, rm_t, rv_t, w_t, b_t, training=False)
    assert_close(ours, theirs)
    backprop_same_upstream(ours, theirs, "batch_norm eval")
    for e, t in [(x_e, x_t), (w_e, w_t), (b_e, b_t)]:
        assert_close(e.grad, t.grad)
    np.testing.assert_array_equal(rm_e.numpy(), mean)      # eval leaves them alone
    np.testing.assert_array_equal(rv_e.numpy(), var)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    x, w, b = (ember.tensor(a, requires_grad=True)
               for a in arrays(f"bn gradcheck {training}", (4, 3, 2), (3,), (3,)))
    running_var = ember.tensor([0.5, 1.0, 2.0], dtype=ember.float64)

    def fn(x, w, b):
        return batch_norm(x, ember.zeros(3, dtype=ember.float64), running_var, w, b,
                          training=training)

    assert gradcheck(fn, (x, w, b))


def test_batch_norm_gradient_flows_through_the_batch_statistics():
    # With batch statistics, sum_n y_nc = N * bias_c whatever x is, so d sum(y) / dx = 0;
    # a gradient that treated the mean and variance as constants would be 1 / std instead.
    x = ember.randn(8, 3, dtype=ember.float64, requires_grad=True)
    batch_norm(x, None, None, training=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0, atol=1e-12)


@pytest.mark.torch
def test_batch_norm_is_stable_for_large_and_constant_inputs(torch):
    x = np.full((4, 2), 1000.0, dtype=np.float32)
    x[:, 1] += np.arange(4)                   # channel 0 constant (variance 0), 1 offset
    x_e = ember.tensor(x, requires_grad=True)
    ours = batch_norm(x_e, None, None, training=True)
    # the reference in float64 (PyTorch's own float32 kernel is off by 3e-3 here)
    reference = torch.nn.functional.batch_norm(torch.tensor(x, dtype=torch.float64), None,
                                               None, training=True)
    assert np.isfinite(ours.detach().numpy()).all()
    np.testing.assert_allclose(ours.detach().numpy(), reference.numpy(), atol=1e-4)
    ours.backward(ember.ones(4, 2))
    assert np.isfinite(x_e.grad.numpy()).all()


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when "
                                         r"training, got input size \(1, 3\)"):
        batch_norm(ember.randn(1, 3), None, None, training=True)
    with pytest.raises(ember.ShapeError, match=r"running_mean should have shape \(3,\).*"
                                               r"\(4, 3\).*\(5,\)"):
        batch_norm(ember.randn(4, 3), ember.zeros(5), ember.ones(3))
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        batch_norm(ember.randn(4, 3), None, None, training=False)
    with pytest.raises(ember.ShapeError, match=r"\(N, C, \*\), got shape \(3,\)"):
        batch_norm(ember.randn(3), None, None, training=True)


# --- BatchNorm1d -------------------------------------------------------------------------

def ember_state(module_t):
    """A torch module's state dict as ember tensors, converted tensor by tensor."""
    return {key: ember.tensor(value.numpy()) for key, value in module_t.state_dict().items()}


@pytest.mark.torch
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(8, 4), (5, 4, 3)], ids=str)
def test_batchnorm1d_training_steps_then_eval_match_pytorch(torch, shape, momentum):
    ours, theirs = BatchNorm1d(4, momentum=momentum), torch.nn.BatchNorm1d(4, momentum=momentum)
    rng = rng_for(f"bn1d steps {shape} {momentum}")
    batch_means = []
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        x_e, x_t = pair(torch, x)
        out_e, out_t = ours(x_e), theirs(x_t)
        assert_close(out_e, out_t, "float32", f"output at step {step}")
        backprop_same_upstream(out_e, out_t, f"bn1d step {step}")
        assert_close(x_e.grad, x_t.grad, "float32", f"input gradient at step {step}")
        batch_means.append(x.mean(axis=(0, 2) if len(shape) == 3 else 0))
    for name in ("running_mean", "running_var"):
        assert_close(getattr(ours, name), getattr(theirs, name), "float32", name)
    assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == 4
    assert ours.num_batches_tracked.dtype == ember.int64
    assert_close(ours.weight.grad, theirs.weight.grad, "float32", "weight gradient")
    assert_close(ours.bias.grad, theirs.bias.grad, "float32", "bias gradient (summed)")
    if momentum is None:        # cumulative average: the plain mean of the batch means
        np.testing.assert_allclose(ours.running_mean.numpy(), np.mean(batch_means, axis=0),
                                   rtol=1e-5, atol=1e-6)
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    assert_close(ours(ember.tensor(x)), theirs(torch.tensor(x)), "float32", "eval output")
    assert ours.num_batches_tracked.item() == 4          # eval does not count batches


@pytest.mark.torch
def test_batchnorm1d_without_running_stats_uses_batch_stats_in_eval(torch):
    ours = BatchNorm1d(3, track_running_stats=False)
    theirs = torch.nn.BatchNorm1d(3, track_running_stats=False)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    assert ours.running_mean is None and ours.num_batches_tracked is None
    x = arrays("bn no stats", (6, 3), dtype="float32")[0]
    ours.eval(), theirs.eval()
    out = ours(ember.tensor(x))
    assert_close(out, theirs(torch.tensor(x)), "float32")
    np.testing.assert_allclose(out.detach().numpy().mean(axis=0), 0, atol=1e-6)   # batch statistics


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"bias": False},
                                    {"track_running_stats": False, "momentum": None}], ids=str)
def test_batchnorm1d_state_dict_parameters_and_repr_match_pytorch(torch, kwargs):
    ours, theirs = BatchNorm1d(5, **kwargs), torch.nn.BatchNorm1d(5, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert sum(p.numel() for p in ours.parameters()) == \
        sum(p.numel() for p in theirs.parameters())
    assert repr(ours) == repr(theirs)


def test_batchnorm1d_initial_state():
    layer = BatchNorm1d(3)
    np.testing.assert_array_equal(layer.weight.detach().numpy(), 1)
    np.testing.assert_array_equal(layer.bias.detach().numpy(), 0)
    np.testing.assert_array_equal(layer.running_mean.numpy(), 0)
    np.testing.assert_array_equal(layer.running_var.numpy(), 1)
    assert layer.num_batches_tracked.shape == () and layer.num_batches_tracked.item() == 0
    assert layer.running_mean.dtype == layer.weight.dtype == ember.float32


@pytest.mark.torch
def test_batchnorm1d_state_dict_round_trips_and_loads_from_pytorch(torch):
    theirs = torch.nn.BatchNorm1d(3)
    theirs(torch.randn(10, 3) * 3 + 1)          # non-trivial running statistics
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 2), theirs.bias.uniform_(-1, 1)
    ours = BatchNorm1d(3)
    ours.load_state_dict(ember_state(theirs))
    assert ours.num_batches_tracked.item() == 1 and ours.num_batches_tracked.dtype == ember.int64
    ours.eval(), theirs.eval()
    x = arrays("bn load", (4, 3), dtype="float32")[0]
    assert_close(ours(ember.tensor(x)), theirs(torch.tensor(x)), "float32")
    copy = BatchNorm1d(3).eval()
    copy.load_state_dict(ours.state_dict())
    np.testing.assert_array_equal(copy(ember.tensor(x)).detach().numpy(),
                                  ours(ember.tensor(x)).detach().numpy())


def test_batchnorm1d_double_keeps_the_batch_count_integer():
    layer = BatchNorm1d(3).double()
    assert layer.running_var.dtype == ember.float64
    assert layer.num_batches_tracked.dtype == ember.int64
    assert layer(ember.randn(4, 3, dtype=ember.float64)).dtype == ember.float64


def test_batchnorm1d_errors_come_before_any_state_change():
    layer = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input \(got 4D"):
        layer(ember.randn(2, 3, 4, 5))
    with pytest.raises(ember.ShapeError, match=r"BatchNorm1d: expected 3 channels.*\(4, 5\)"):
        layer(ember.randn(4, 5))
    for shape in [(1, 3), (1, 3, 1)]:
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            layer(ember.randn(*shape))
    assert layer.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(layer.running_mean.numpy(), 0)
    assert layer.eval()(ember.randn(1, 3)).shape == (1, 3)     # eval takes one sample


# --- layer_norm, group_norm, normalize ---------------------------------------------------

LAYER_NORM_CASES = [((2, 5, 4), (4,)), ((2, 3, 4), (3, 4)), ((7, 6), 6)]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, normalized", LAYER_NORM_CASES, ids=str)
def test_layer_norm_matches_pytorch(torch, shape, normalized, dtype):
    weight_shape = (normalized,) if isinstance(normalized, int) else normalized
    x, w, b = arrays(f"layer_norm {shape}", shape, weight_shape, weight_shape, dtype=dtype)
    (x_e, x_t), (w_e, w_t), (b_e, b_t) = pair(torch, x), pair(torch, w), pair(torch, b)
    ours = layer_norm(x_e, normalized, w_e, b_e, eps=1e-4)
    theirs = torch.nn.functional.layer_norm(x_t, weight_shape, w_t, b_t, eps=1e-4)
    assert ours.dtype == getattr(ember, dtype)
    assert_close(ours, theirs, dtype)
    backprop_same_upstream(ours, theirs, f"layer_norm {shape}")
    for e, t in [(x_e, x_t), (w_e, w_t), (b_e, b_t)]:
        assert_close(e.grad, t.grad, dtype)


def test_layer_norm_gradcheck():
    x, w, b = (ember.tensor(a, requires_grad=True)
               for a in arrays("layer_norm gradcheck", (3, 2, 4), (2, 4), (2, 4)))
    assert gradcheck(lambda x, w, b: layer_norm(x, (2, 4), w, b), (x, w, b))


def test_layer_norm_errors():
    with pytest.raises(ember.ShapeError, match=r"normalized_shape=\(4,\) expects an input of "
                                               r"shape \(\*, 4\), got shape \(2, 3\)"):
        layer_norm(ember.randn(2, 3), (4,))
    with pytest.raises(ember.ShapeError, match=r"weight should have shape \(3,\)"):
        layer_norm(ember.randn(2, 3), 3, weight=ember.ones(4))


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"elementwise_affine": False}, {"bias": False},
                                    {"eps": 1e-3}], ids=str)
def test_layernorm_module_matches_pytorch(torch, kwargs):
    ours, theirs = LayerNorm((3, 4), **kwargs), torch.nn.LayerNorm((3, 4), **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    ours.load_state_dict(ember_state(theirs))
    x = arrays("layernorm module", (2, 3, 4), dtype="float32")[0]
    assert_close(ours(ember.tensor(x)), theirs(torch.tensor(x)), "float32")
    assert_close(ours.eval()(ember.tensor(x)), theirs.eval()(torch.tensor(x)), "float32")


@pytest.mark.torch
def test_layernorm_int_shape_and_repr(torch):
    assert repr(LayerNorm(4)) == repr(torch.nn.LayerNorm(4))
    assert LayerNorm(4).normalized_shape == (4,)
    assert sum(p.numel() for p in LayerNorm(4).parameters()) == 8


@pytest.mark.torch
@pytest.mark.parametrize("shape, groups", [((2, 6, 5), 3), ((3, 4, 2, 2), 2), ((2, 4), 4)],
                         ids=str)
def test_group_norm_matches_pytorch(torch, shape, groups):
    x, w, b = arrays(f"group_norm {shape}", shape, (shape[1],), (shape[1],))
    (x_e, x_t), (w_e, w_t), (b_e, b_t) = pair(torch, x), pair(torch, w), pair(torch, b)
    ours = group_norm(x_e, groups, w_e, b_e)
    theirs = torch.nn.functional.group_norm(x_t, groups, w_t, b_t)
    assert_close(ours, theirs)
    backprop_same_upstream(ours, theirs, f"group_norm {shape}")
    for e, t in [(x_e, x_t), (w_e, w_t), (b_e, b_t)]:
        assert_close(e.grad, t.grad)


def test_group_norm_gradcheck_and_errors():
    x, w = (ember.tensor(a, requires_grad=True)
            for a in arrays("group_norm gradcheck", (2, 4, 3), (4,)))
    assert gradcheck(lambda x, w: group_norm(x, 2, w), (x, w))
    with pytest.raises(ember.ShapeError, match=r"the 4 channels .* into 3 groups"):
        group_norm(ember.randn(2, 4, 3), 3)
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by "
                                         r"num_groups \(3\)"):
        GroupNorm(3, 4)


@pytest.mark.torch
def test_groupnorm_module_matches_pytorch(torch):
    ours, theirs = GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(GroupNorm(2, 4, affine=False)) == repr(torch.nn.GroupNorm(2, 4, affine=False))
    x = arrays("groupnorm module", (3, 4, 5), dtype="float32")[0]
    assert_close(ours(ember.tensor(x)), theirs(torch.tensor(x)), "float32")


@pytest.mark.torch
@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, -1), (3.0, 0)], ids=str)
def test_normalize_matches_pytorch(torch, p, dim):
    x = arrays(f"normalize {p} {dim}", (4, 5))[0]
    x[2] = 0.0                                   # a zero vector (for dim 1): eps applies
    x_e, x_t = pair(torch, x)
    ours, theirs = normalize(x_e, p, dim), torch.nn.functional.normalize(x_t, p, dim)
    assert_close(ours, theirs)
    backprop_same_upstream(ours, theirs, f"normalize {p}")
    assert_close(x_e.grad, x_t.grad)


def test_normalize_gradcheck_and_unit_norm():
    x = ember.tensor(arrays("normalize gradcheck", (3, 4))[0], requires_grad=True)
    assert gradcheck(lambda t: normalize(t, dim=1), (x,))
    np.testing.assert_allclose(np.linalg.norm(normalize(x).detach().numpy(), axis=1), 1)
