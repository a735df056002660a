"""Optimizers against PyTorch: every step of every optimizer over a grid of its options,
param groups, defaults, zero_grad, closures, version counters, repr and errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.optim
from ember.errors import DTypeError, GraphError, ShapeError
from tests.optim import harness

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.5, 0.9)}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.05, "eps": 0.1}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "amsgrad": True, "betas": (0.8, 0.99)}),
    ("AdamW", {"lr": 0.05, "eps": 0.1, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "eps": 0.1, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "eps": 0.1, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5}),
    ("Adadelta", {"eps": 1e-2}),
    ("Adadelta", {"weight_decay": 0.1, "maximize": True}),
]
NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"]


def make_optimizers(torch, name, params_ours, params_theirs, **options):
    ours = getattr(ember.optim, name)(params_ours, **options)
    # foreach=False: PyTorch's single-tensor algorithm, whose formulas ember follows
    theirs = getattr(torch.optim, name)(params_theirs, foreach=False, **options)
    return ours, theirs


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "options"), CONFIGS,
                         ids=[f"{n}-{o}" for n, o in CONFIGS])
def test_every_step_matches_pytorch(name, options, dtype, torch):
    ours, theirs = harness.make_pair(torch, dtype)
    optimizer, reference = make_optimizers(torch, name, ours, theirs, **options)
    for step in range(harness.STEPS):
        harness.set_gradients(torch, ours, theirs, step)
        optimizer.step()
        reference.step()
        harness.assert_same_values(ours, theirs, dtype, f"{name} step {step}")
    # the state holds the same buffers (tensors of the parameter's dtype) and step counts
    for index, (p, q) in enumerate(zip(ours, theirs)):
        state, expected = optimizer.state[p], reference.state[q]
        assert list(state) == list(expected), f"parameter {index}"
        for key, value in state.items():
            assert isinstance(value, ember.Tensor) and isinstance(value._data, np.ndarray)
            if key != "step":
                assert value.dtype.name == dtype
            np.testing.assert_allclose(value.numpy(), expected[key].numpy(),
                                       **harness.tolerance(dtype), err_msg=f"{key} of {index}")


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_their_own_options_match_pytorch(name, torch):
    ours, theirs = harness.make_pair(torch, "float64")
    extra = {"momentum": 0.5} if name in ("SGD", "RMSprop") else {}

    def groups(params):
        return [{"params": params[:1]}, {"params": params[1:], "lr": 0.02, **extra}]

    optimizer, reference = make_optimizers(torch, name, groups(ours), groups(theirs), lr=0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.02]
    for step in range(harness.STEPS):
        harness.set_gradients(torch, ours, theirs, step)
        optimizer.step()
        reference.step()
        harness.assert_same_values(ours, theirs, "float64", f"{name} step {step}")


@pytest.mark.torch
def test_end_to_end_training_of_a_small_network_matches_pytorch(torch):
    import ember.nn as nn
    rng = harness.rng_for("optim-mlp")
    x = rng.standard_normal((16, 4))
    y = rng.standard_normal((16, 2))
    ours = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2)).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    optimizer = ember.optim.Adam(ours.parameters(), lr=0.01, weight_decay=0.01)
    reference = torch.optim.Adam(theirs.parameters(), lr=0.01, weight_decay=0.01, foreach=False)
    for _ in range(10):
        optimizer.zero_grad()
        ((ours(ember.tensor(x)).tanh() - ember.tensor(y)) ** 2).mean().backward()
        optimizer.step()
        reference.zero_grad()
        ((theirs(torch.tensor(x)).tanh() - torch.tensor(y)) ** 2).mean().backward()
        reference.step()
    for (key, ours_value), their_value in zip(ours.state_dict().items(),
                                              theirs.state_dict().values()):
        np.testing.assert_allclose(ours_value.numpy(), their_value.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=key)


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_defaults_and_repr_are_pytorchs(name, torch):
    ours, theirs = harness.make_pair(torch, "float32")
    optimizer = getattr(ember.optim, name)(ours)
    reference = getattr(torch.optim, name)(theirs)
    torch_only = ("foreach", "fused", "capturable", "differentiable")
    expected = {k: v for k, v in reference.defaults.items() if k not in torch_only}
    assert optimizer.defaults == expected
    expected_repr = [line for line in repr(reference).splitlines()
                     if line.strip().split(":")[0] not in torch_only]
    assert repr(optimizer).splitlines() == expected_repr


@pytest.mark.torch
def test_named_parameters_keep_their_names_like_pytorch(torch):
    ours = ember.nn.Linear(3, 2)
    theirs = torch.nn.Linear(3, 2)
    optimizer = ember.optim.SGD(ours.named_parameters(), lr=0.1)
    reference = torch.optim.SGD(theirs.named_parameters(), lr=0.1)
    assert optimizer.param_groups[0]["param_names"] == ["weight", "bias"]
    assert optimizer.state_dict()["param_groups"][0]["param_names"] == \
        reference.state_dict()["param_groups"][0]["param_names"]
    with pytest.raises(ValueError, match="with names"):
        optimizer.add_param_group({"params": [ember.zeros(2, requires_grad=True)]})


def test_closure_runs_with_gradients_on_and_its_loss_is_returned():
    weight = ember.nn.Parameter(ember.tensor([1.0, -2.0]))
    optimizer = ember.optim.SGD([weight], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (weight ** 2).sum()
        loss.backward()                      # needs grad mode, even if step() is called
        return loss                          # inside no_grad

    with ember.no_grad():
        loss = optimizer.step(closure)
    assert float(loss) == 5.0
    np.testing.assert_array_equal(weight.detach().numpy(), [0.5, -1.0])   # w - 0.25 * 2w


def test_step_skips_parameters_without_gradient_and_creates_no_state_for_them():
    used, unused = ember.nn.Parameter(ember.ones(2)), ember.nn.Parameter(ember.ones(2))
    optimizer = ember.optim.Adam([used, unused], lr=0.1)
    used.grad = ember.ones(2)
    optimizer.step()
    np.testing.assert_array_equal(unused.detach().numpy(), [1.0, 1.0])
    assert unused not in optimizer.state and used in optimizer.state
    assert list(optimizer.state_dict()["state"]) == [0]


@pytest.mark.torch
@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_matches_pytorch(set_to_none, torch):
    ours, theirs = harness.make_pair(torch, "float64")
    optimizer, reference = make_optimizers(torch, "SGD", ours, theirs, lr=0.1, momentum=0.9)
    harness.set_gradients(torch, ours, theirs, 0)
    optimizer.step()
    reference.step()
    grad_before = ours[0].grad
    optimizer.zero_grad(set_to_none=set_to_none)
    reference.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert all(p.grad is None for p in ours)
    else:
        assert ours[0].grad is grad_before          # zeroed in place, like PyTorch
        assert all(not p.grad.detach().numpy().any() for p in ours)
    # a None gradient skips the parameter; a zero one still moves it (by momentum)
    optimizer.step()
    reference.step()
    harness.assert_same_values(ours, theirs, "float64", "after zero_grad")


def test_step_bumps_the_version_so_backward_through_an_old_value_fails():
    weight = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    optimizer = ember.optim.SGD([weight], lr=0.1)
    loss = (weight * weight).sum()           # saves weight for backward
    weight.grad = ember.ones(2)
    version = weight._version[0]
    optimizer.step()
    assert weight._version[0] == version + 1
    with pytest.raises(GraphError, match="modified by an in-place operation"):
        loss.backward()


def test_update_is_in_place():
    weight = ember.nn.Parameter(ember.zeros(3))
    array = weight._data
    optimizer = ember.optim.Adam([weight], lr=0.1)
    weight.grad = ember.ones(3)
    optimizer.step()
    buffer = optimizer.state[weight]["exp_avg"]._data
    weight.grad = ember.ones(3)
    optimizer.step()
    assert weight._data is array and optimizer.state[weight]["exp_avg"]._data is buffer
    assert weight.dtype == ember.float32 and array.dtype == np.float32


def test_adagrad_state_exists_from_the_start_like_pytorchs():
    weight = ember.nn.Parameter(ember.zeros(3))
    optimizer = ember.optim.Adagrad([weight], initial_accumulator_value=0.5)
    state = optimizer.state_dict()["state"][0]
    assert float(state["step"]) == 0.0
    np.testing.assert_array_equal(state["sum"].numpy(), [0.5, 0.5, 0.5])
    later = ember.nn.Parameter(ember.zeros(2))
    optimizer.add_param_group({"params": [later], "initial_accumulator_value": 2.0})
    np.testing.assert_array_equal(optimizer.state[later]["sum"].numpy(), [2.0, 2.0])


# --- errors ----------------------------------------------------------------------------

BAD_OPTIONS = [
    ("SGD", {"lr": -0.1}, "learning rate"),
    ("SGD", {"lr": 0.1, "momentum": -0.5}, "momentum"),
    ("SGD", {"lr": 0.1, "weight_decay": -1.0}, "weight_decay"),
    ("SGD", {"lr": 0.1, "nesterov": True}, "Nesterov"),
    ("SGD", {"lr": 0.1, "nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Nesterov"),
    ("Adam", {"lr": -1e-3}, "learning rate"),
    ("Adam", {"eps": -1e-8}, "epsilon"),
    ("Adam", {"betas": (1.0, 0.999)}, "beta parameter at index 0"),
    ("Adam", {"betas": (0.9, -0.1)}, "beta parameter at index 1"),
    ("Adam", {"weight_decay": -0.1}, "weight_decay"),
    ("AdamW", {"betas": (0.9, 1.5)}, "beta parameter at index 1"),
    ("RMSprop", {"alpha": -0.5}, "alpha"),
    ("RMSprop", {"momentum": -0.5}, "momentum"),
    ("RMSprop", {"eps": -1.0}, "epsilon"),
    ("Adagrad", {"lr_decay": -0.1}, "lr_decay"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    ("Adagrad", {"eps": -1.0}, "epsilon"),
    ("Adadelta", {"rho": 1.5}, "rho"),
    ("Adadelta", {"lr": -1.0}, "learning rate"),
    ("Adadelta", {"weight_decay": -1.0}, "weight_decay"),
]


@pytest.mark.torch
@pytest.mark.parametrize(("name", "options", "problem"), BAD_OPTIONS,
                         ids=[f"{n}-{o}" for n, o, _ in BAD_OPTIONS])
def test_invalid_hyperparameters_raise_value_error_like_pytorch(name, options, problem, torch):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **options)
    with pytest.raises(ValueError, match=f"{name}: .*{problem}"):
        getattr(ember.optim, name)([ember.zeros(2, requires_grad=True)], **options)


def test_invalid_hyperparameters_in_a_param_group_are_caught_too():
    first, second = ember.zeros(2, requires_grad=True), ember.zeros(2, requires_grad=True)
    optimizer = ember.optim.SGD([first], lr=0.1)
    with pytest.raises(ValueError, match="learning rate: -1"):
        optimizer.add_param_group({"params": [second], "lr": -1.0})
    assert len(optimizer.param_groups) == 1      # nothing was added
    with pytest.raises(TypeError, match="lr must be a number.*item"):
        ember.optim.Adam([first], lr=ember.tensor(0.1))


def test_parameter_in_two_groups_is_an_error_and_changes_nothing():
    shared = ember.zeros(2, requires_grad=True)
    optimizer = ember.optim.SGD([shared], lr=0.1)
    group = {"params": [shared], "lr": 0.5}
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group(group)
    assert len(optimizer.param_groups) == 1 and group == {"params": [shared], "lr": 0.5}
    with pytest.raises(ValueError, match="same tensor more than once"):
        ember.optim.SGD([shared, shared], lr=0.1)


def test_bad_params_are_reported_clearly():
    leaf = ember.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        ember.optim.SGD([leaf * 2], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        ember.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts.*Tensor"):
        ember.optim.SGD(leaf, lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        ember.optim.SGD({leaf}, lr=0.1)
    with pytest.raises(TypeError, match="parameter 1 is a ndarray"):
        ember.optim.SGD([leaf, np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'learning_rate'"):
        ember.optim.SGD([leaf], lr=0.1, learning_rate=0.1)
    with pytest.raises(ValueError, match="no 'params'"):
        ember.optim.SGD([{"lr": 0.1}], lr=0.1)


def test_a_gradient_of_the_wrong_shape_or_dtype_is_reported_before_anything_changes():
    first, second = ember.nn.Parameter(ember.zeros(2)), ember.nn.Parameter(ember.zeros(3))
    optimizer = ember.optim.SGD([first, second], lr=0.1)
    first.grad, second.grad = ember.ones(2), ember.ones(4)
    with pytest.raises(ShapeError, match=r"parameter 1 of group 0 has shape \(3,\).*\(4,\)"):
        optimizer.step()
    assert not first.detach().numpy().any()          # the first parameter did not move
    second.grad = ember.ones(3, dtype=ember.float64)
    with pytest.raises(DTypeError, match="float32 but its gradient has dtype ember.float64"):
        optimizer.step()


def test_pytorch_only_options_are_accepted_like_pytorch(torch):
    """Code written for PyTorch runs unchanged: implementation switches (fused, foreach, ...)
    are accepted and ignored, and param groups may carry keys of their own ("name")."""
    a, b = ember.zeros(2, requires_grad=True), ember.zeros(3, requires_grad=True)
    optimizer = ember.optim.AdamW([{"params": [a], "name": "encoder"}, {"params": [b]}],
                                  lr=1e-3, fused=False, foreach=None)
    reference = torch.optim.AdamW([{"params": [torch.zeros(2, requires_grad=True)],
                                    "name": "encoder"}], lr=1e-3, fused=False, foreach=None)
    assert optimizer.param_groups[0]["name"] == reference.param_groups[0]["name"]
    assert "fused" not in optimizer.param_groups[0]
    ember.optim.SGD([a], lr=0.1, momentum=0.9, foreach=True, differentiable=False)
