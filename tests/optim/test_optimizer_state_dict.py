"""Optimizer state dicts: PyTorch's format, bitwise-identical continuation after a round
trip mid-training, exchange with PyTorch in both directions, and load errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.optim
from tests.optim import harness
from tests.optim.test_optimizers import make_optimizers

# Options that give each optimizer all the state it can have.
RICH_CONFIGS = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("Adadelta", {"weight_decay": 0.1}),
]
IDS = [name for name, _ in RICH_CONFIGS]
SPLIT = 7          # steps before saving; as many again after loading


def two_groups(params):
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.02}]


def train(torch, ours, theirs, optimizer, reference, steps):
    for step in steps:
        harness.set_gradients(torch, ours, theirs, step)
        optimizer.step()
        reference.step()


@pytest.mark.parametrize(("name", "options"), RICH_CONFIGS, ids=IDS)
def test_round_trip_mid_training_continues_bitwise_identically(name, options):
    rng = harness.rng_for(f"optim-round-trip-{name}")
    params = [ember.nn.Parameter(ember.tensor(v)) for v in harness.initial_values("float32")]
    optimizer = getattr(ember.optim, name)(two_groups(params), **options)

    def step_with_gradients(params, optimizer, step):
        for index, p in enumerate(params):
            p.grad = ember.tensor(harness.gradient(index, step, p.detach().numpy()))
        optimizer.step()

    for step in range(SPLIT):
        step_with_gradients(params, optimizer, step)
    saved = optimizer.state_dict()
    copies = [ember.nn.Parameter(ember.tensor(p.detach().numpy().copy())) for p in params]
    resumed = getattr(ember.optim, name)(two_groups(copies), lr=float(rng.random()))
    resumed.load_state_dict(saved)
    assert [g["lr"] for g in resumed.param_groups] == [g["lr"] for g in optimizer.param_groups]
    for step in range(SPLIT, 2 * SPLIT):
        step_with_gradients(params, optimizer, step)
        step_with_gradients(copies, resumed, step)
        for p, q in zip(params, copies):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.torch
@pytest.mark.parametrize(("name", "options"), RICH_CONFIGS, ids=IDS)
def test_state_dict_has_pytorchs_layout_and_values(name, options, torch):
    ours, theirs = harness.make_pair(torch, "float64")
    optimizer, reference = make_optimizers(torch, name, two_groups(ours), two_groups(theirs),
                                           **options)
    train(torch, ours, theirs, optimizer, reference, range(SPLIT))
    saved, expected = optimizer.state_dict(), reference.state_dict()
    torch_only = ("foreach", "fused", "capturable", "differentiable")
    assert saved["param_groups"] == [{k: v for k, v in group.items() if k not in torch_only}
                                     for group in expected["param_groups"]]
    assert list(saved["state"]) == list(expected["state"])
    for index, state in saved["state"].items():
        assert list(state) == list(expected["state"][index])
        for key, value in state.items():
            np.testing.assert_allclose(value.numpy(), expected["state"][index][key].numpy(),
                                       rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize(("name", "options"), RICH_CONFIGS, ids=IDS)
def test_pytorch_state_dict_loads_into_ember_and_training_continues_alike(name, options,
                                                                          torch):
    ours, theirs = harness.make_pair(torch, "float64")
    reference = getattr(torch.optim, name)(two_groups(theirs), foreach=False, **options)
    for step in range(SPLIT):
        for index, q in enumerate(theirs):
            q.grad = torch.tensor(harness.gradient(index, step, q.detach().numpy()))
        reference.step()
    with ember.no_grad():
        for p, q in zip(ours, theirs):
            p.copy_(ember.tensor(q.detach().numpy()))
    optimizer = getattr(ember.optim, name)(two_groups(ours))        # default options
    optimizer.load_state_dict(harness.to_ember_state(torch, reference.state_dict()))
    assert "foreach" not in optimizer.param_groups[0]
    train(torch, ours, theirs, optimizer, reference, range(SPLIT, 2 * SPLIT))
    harness.assert_same_values(ours, theirs, "float64", f"{name} after loading torch's state")


@pytest.mark.torch
@pytest.mark.parametrize(("name", "options"), RICH_CONFIGS, ids=IDS)
def test_ember_state_dict_loads_into_pytorch_and_training_continues_alike(name, options,
                                                                          torch):
    ours, theirs = harness.make_pair(torch, "float64")
    optimizer = getattr(ember.optim, name)(two_groups(ours), **options)
    for step in range(SPLIT):
        for index, p in enumerate(ours):
            p.grad = ember.tensor(harness.gradient(index, step, p.detach().numpy()))
        optimizer.step()
    with torch.no_grad():
        for p, q in zip(ours, theirs):
            q.copy_(torch.tensor(p.detach().numpy()))
    reference = getattr(torch.optim, name)(two_groups(theirs), foreach=False)
    reference.load_state_dict(harness.to_torch_state(torch, optimizer.state_dict()))
    train(torch, ours, theirs, optimizer, reference, range(SPLIT, 2 * SPLIT))
    harness.assert_same_values(ours, theirs, "float64", f"{name} after torch loaded ours")


def test_loaded_state_is_cast_to_the_parameters_dtype_and_is_a_copy():
    weight = ember.nn.Parameter(ember.zeros(2))                    # float32
    optimizer = ember.optim.SGD([weight], lr=0.1, momentum=0.9)
    buffer = ember.tensor([1.0, 2.0], dtype=ember.float64)
    saved = {"state": {0: {"momentum_buffer": buffer}},
             "param_groups": [{"lr": 0.5, "momentum": 0.9, "dampening": 0, "weight_decay": 0,
                               "nesterov": False, "maximize": False, "params": [0]}]}
    optimizer.load_state_dict(saved)
    loaded = optimizer.state[weight]["momentum_buffer"]
    assert loaded.dtype == ember.float32 and loaded._data is not buffer._data
    assert optimizer.param_groups[0]["lr"] == 0.5
    assert optimizer.param_groups[0]["params"][0] is weight


def test_a_step_count_saved_as_a_number_is_accepted():
    weight = ember.nn.Parameter(ember.zeros(2))
    optimizer = ember.optim.Adam([weight])
    saved = {"state": {0: {"step": 3, "exp_avg": ember.ones(2), "exp_avg_sq": ember.ones(2)}},
             "param_groups": [dict(optimizer.state_dict()["param_groups"][0])]}
    optimizer.load_state_dict(saved)
    weight.grad = ember.ones(2)
    optimizer.step()
    assert float(optimizer.state[weight]["step"]) == 4.0


def test_adamw_stays_decoupled_whatever_was_saved():
    weight = ember.nn.Parameter(ember.zeros(2))
    saved = ember.optim.Adam([ember.nn.Parameter(ember.zeros(2))]).state_dict()
    optimizer = ember.optim.AdamW([weight])
    optimizer.load_state_dict(saved)
    assert optimizer.param_groups[0]["decoupled_weight_decay"] is True


def test_load_errors_name_the_mismatch_and_change_nothing():
    a, b, c = (ember.nn.Parameter(ember.zeros(2)) for _ in range(3))
    optimizer = ember.optim.Adam([{"params": [a, b]}, {"params": [c]}], lr=0.1)
    saved = optimizer.state_dict()
    before = repr(optimizer)
    other = ember.optim.Adam([a, b, c])
    with pytest.raises(ValueError, match=r"number of parameter groups \(2\).*\(1\)"):
        other.load_state_dict(saved)
    regrouped = ember.optim.Adam([{"params": [a]}, {"params": [b, c]}])
    with pytest.raises(ValueError, match="group 0: 2 saved parameters, 1 in the optimizer"):
        regrouped.load_state_dict(saved)
    sgd_state = ember.optim.SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="lacks 'betas'.*another kind of optimizer"):
        optimizer.load_state_dict(sgd_state)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        optimizer.load_state_dict({"state": {}})
    assert repr(optimizer) == before
