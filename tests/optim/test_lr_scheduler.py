"""Learning-rate schedulers against PyTorch: lr sequences over many epochs (chained and
closed form), momentum cycling, ReduceLROnPlateau on a scripted metric, state dicts, errors."""
from __future__ import annotations

import math
import warnings

import pytest

import ember
import ember.optim
from ember.optim import lr_scheduler
from tests.conftest import rng_for
from tests.optim import harness

EPOCHS = 60


class InverseDecay:
    """A callable object as lr_lambda: its attributes go into LambdaLR's state dict."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, epoch: int) -> float:
        return 1.0 / (1.0 + self.rate * epoch)


SCHEDULES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("StepLR", {"step_size": 3}),
    ("MultiStepLR", {"milestones": [5, 12, 12, 30], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.93}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 13, "eta_min": 0.001}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.5, "total_iters": 12}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.97 ** epoch}),
    ("LambdaLR", {"lr_lambda": [InverseDecay(0.1), lambda epoch: (epoch % 5 + 1) / 5]}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": EPOCHS}),
    ("OneCycleLR", {"max_lr": [1.0, 0.5], "epochs": 6, "steps_per_epoch": 10,
                    "anneal_strategy": "linear", "three_phase": True, "pct_start": 0.25}),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": EPOCHS, "cycle_momentum": False,
                    "div_factor": 10.0, "final_div_factor": 100.0}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(SCHEDULES)]
CLOSED_FORM = [(name, options) for name, options in SCHEDULES
               if name in ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                           "LinearLR")]


def sgd_pair(torch, momentum: float = 0.9):
    """An ember and a torch SGD, each with two param groups (lr 0.1 and 0.03)."""
    def groups(make):
        return [{"params": [make()]}, {"params": [make()], "lr": 0.03}]

    ours = ember.optim.SGD(groups(lambda: ember.zeros(2, requires_grad=True)), lr=0.1,
                           momentum=momentum)
    theirs = torch.optim.SGD(groups(lambda: torch.zeros(2, requires_grad=True)), lr=0.1,
                             momentum=momentum)
    return ours, theirs


def assert_same_schedule(ours, theirs, optimizer, reference, where: str) -> None:
    assert ours.get_last_lr() == theirs.get_last_lr(), where
    assert [g["lr"] for g in optimizer.param_groups] == \
        [g["lr"] for g in reference.param_groups], where
    for key in ("momentum", "betas"):
        if key in reference.param_groups[0]:
            assert [g[key] for g in optimizer.param_groups] == \
                [g[key] for g in reference.param_groups], f"{key} at {where}"


@pytest.mark.torch
@pytest.mark.parametrize(("name", "options"), SCHEDULES, ids=IDS)
def test_lr_sequence_equals_pytorchs(name, options, torch):
    optimizer, reference = sgd_pair(torch)
    ours = getattr(lr_scheduler, name)(optimizer, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(reference, **options)
    assert_same_schedule(ours, theirs, optimizer, reference, "start")
    for epoch in range(EPOCHS - 1 if name == "OneCycleLR" else EPOCHS):
        optimizer.step()
        reference.step()
        ours.step()
        theirs.step()
        assert_same_schedule(ours, theirs, optimizer, reference, f"epoch {epoch}")


@pytest.mark.torch
@pytest.mark.parametrize(("name", "options"), CLOSED_FORM,
                         ids=[name for name, _ in CLOSED_FORM])
def test_step_with_an_epoch_uses_the_closed_form_like_pytorch(name, options, torch):
    optimizer, reference = sgd_pair(torch)
    ours = getattr(lr_scheduler, name)(optimizer, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(reference, **options)
    # jumps (closed form) mixed with plain steps (chained from wherever the lr is)
    for epoch in [1, 2, 5, 5, None, None, 9, 3, None, 20, 21, None, None, 40, None]:
        optimizer.step()
        reference.step()
        with pytest.warns(UserWarning) if epoch is not None else warnings.catch_warnings():
            ours.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs.step(epoch)
        assert ours.last_epoch == theirs.last_epoch
        assert_same_schedule(ours, theirs, optimizer, reference, f"epoch {epoch}")


@pytest.mark.torch
@pytest.mark.parametrize("source", ["ember", "torch"])
@pytest.mark.parametrize(("name", "options"), SCHEDULES, ids=IDS)
def test_resuming_from_a_state_dict_continues_the_schedule(name, options, source, torch):
    """Resume mid-schedule from ember's state dicts (the continuation must equal the
    original's) or from PyTorch's (it must equal PyTorch's continuation)."""
    optimizer, reference = sgd_pair(torch)
    ours = getattr(lr_scheduler, name)(optimizer, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(reference, **options)
    for _ in range(10):
        for stepper in (optimizer, reference, ours, theirs):
            stepper.step()
    assert set(ours.state_dict()) == set(theirs.state_dict())
    resumed_optimizer, _ = sgd_pair(torch)
    resumed = getattr(lr_scheduler, name)(resumed_optimizer, **options)
    if source == "ember":
        resumed_optimizer.load_state_dict(optimizer.state_dict())
        resumed.load_state_dict(ours.state_dict())
        original, original_optimizer = ours, optimizer
    else:
        resumed_optimizer.load_state_dict(harness.to_ember_state(torch, reference.state_dict()))
        resumed.load_state_dict(theirs.state_dict())
        original, original_optimizer = theirs, reference
    for epoch in range(10, EPOCHS - 1):
        for stepper in (original_optimizer, resumed_optimizer, original, resumed):
            stepper.step()
        assert_same_schedule(resumed, original, resumed_optimizer, original_optimizer,
                             f"epoch {epoch}")


def test_lambda_lr_saves_the_state_of_callable_objects():
    optimizer = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=1.0)
    decay = InverseDecay(0.5)
    scheduler = lr_scheduler.LambdaLR(optimizer, decay)
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [{"rate": 0.5}]
    other = InverseDecay(0.0)
    lr_scheduler.LambdaLR(optimizer, other).load_state_dict(saved)
    assert other.rate == 0.5
    assert lr_scheduler.LambdaLR(optimizer, lambda e: 1.0).state_dict()["lr_lambdas"] == [None]


# --- ReduceLROnPlateau ------------------------------------------------------------------

PLATEAU_OPTIONS = [
    {"patience": 2},
    {"patience": 0, "factor": 0.5},
    {"mode": "max", "patience": 3, "factor": 0.3},
    {"threshold_mode": "abs", "threshold": 0.05, "patience": 1},
    {"mode": "max", "threshold_mode": "abs", "threshold": 0.01, "patience": 1, "cooldown": 3},
    {"patience": 1, "cooldown": 2, "min_lr": [0.01, 0.005]},
    {"patience": 1, "factor": 0.5, "min_lr": 0.02},
    {"patience": 1, "factor": 0.9, "eps": 0.005},
]


def scripted_metric() -> list[float]:
    """A loss-like sequence: falling, with plateaus, noise and a few spikes."""
    rng = rng_for("plateau-metric")
    values = []
    for epoch in range(EPOCHS):
        trend = 1.0 / (1 + 0.1 * epoch) if epoch < 25 or epoch > 40 else 0.3
        values.append(trend + 0.02 * float(rng.standard_normal()) + (0.3 if epoch % 17 == 9
                                                                      else 0.0))
    return values


@pytest.mark.torch
@pytest.mark.parametrize("options", PLATEAU_OPTIONS, ids=str)
def test_reduce_lr_on_plateau_follows_pytorch_on_a_scripted_metric(options, torch):
    optimizer, reference = sgd_pair(torch)
    ours = lr_scheduler.ReduceLROnPlateau(optimizer, **options)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(reference, **options)
    reductions = 0
    for epoch, metric in enumerate(scripted_metric()):
        before = optimizer.param_groups[0]["lr"]
        ours.step(ember.tensor(metric, dtype=ember.float64) if epoch % 2 else metric)
        theirs.step(metric)
        reductions += optimizer.param_groups[0]["lr"] != before
        assert_same_schedule(ours, theirs, optimizer, reference, f"epoch {epoch}")
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == \
            (theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter)
    assert reductions > 0                     # the script does exercise the reductions
    assert set(ours.state_dict()) == set(theirs.state_dict())
    resumed_optimizer, _ = sgd_pair(torch)
    resumed = lr_scheduler.ReduceLROnPlateau(resumed_optimizer)
    resumed.load_state_dict(theirs.state_dict())
    assert resumed._is_better(-1.0, 0.0) == (resumed.mode == "min")


def test_reduce_lr_on_plateau_errors():
    optimizer = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(optimizer, factor=1.0)
    with pytest.raises(ValueError, match="mode 'avg' is unknown"):
        lr_scheduler.ReduceLROnPlateau(optimizer, mode="avg")
    with pytest.raises(ValueError, match="threshold mode 'ratio' is unknown"):
        lr_scheduler.ReduceLROnPlateau(optimizer, threshold_mode="ratio")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2"):
        lr_scheduler.ReduceLROnPlateau(optimizer, min_lr=[0.1, 0.2])


# --- OneCycleLR -------------------------------------------------------------------------

@pytest.mark.torch
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_cycles_adam_beta1_like_pytorch(three_phase, torch):
    optimizer = ember.optim.Adam([ember.zeros(2, requires_grad=True)], betas=(0.9, 0.99))
    reference = torch.optim.Adam([torch.zeros(2, requires_grad=True)], betas=(0.9, 0.99))
    options = {"max_lr": 0.01, "total_steps": 50, "three_phase": three_phase,
               "base_momentum": 0.8, "max_momentum": 0.92}
    ours = lr_scheduler.OneCycleLR(optimizer, **options)
    theirs = torch.optim.lr_scheduler.OneCycleLR(reference, **options)
    for step in range(49):
        optimizer.step()
        reference.step()
        ours.step()
        theirs.step()
        assert_same_schedule(ours, theirs, optimizer, reference, f"step {step}")
        assert optimizer.param_groups[0]["betas"][1] == 0.99


def test_one_cycle_shape_peaks_at_max_lr_with_the_lowest_momentum():
    optimizer = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=1.0, momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=2.0, total_steps=100,
                                        pct_start=0.3, div_factor=20.0,
                                        final_div_factor=50.0)
    lrs, momenta = [scheduler.get_last_lr()[0]], [optimizer.param_groups[0]["momentum"]]
    for _ in range(99):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
        momenta.append(optimizer.param_groups[0]["momentum"])
    peak = lrs.index(max(lrs))
    assert peak == 29 and math.isclose(lrs[peak], 2.0) and math.isclose(momenta[peak], 0.85)
    assert math.isclose(lrs[0], 2.0 / 20) and math.isclose(momenta[0], 0.95)
    assert math.isclose(lrs[-1], 2.0 / 20 / 50) and math.isclose(momenta[-1], 0.95)
    assert all(a < b for a, b in zip(lrs[:peak], lrs[1:peak + 1]))
    assert all(a > b for a, b in zip(lrs[peak:-1], lrs[peak + 1:]))
    optimizer.step()
    scheduler.step()                  # PyTorch allows this one step past the last index
    with pytest.raises(ValueError, match="Tried to step 101 times.*total steps is 100"):
        scheduler.step()


def test_one_cycle_errors():
    adagrad = ember.optim.Adagrad([ember.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        lr_scheduler.OneCycleLR(adagrad, max_lr=0.1, total_steps=10)
    lr_scheduler.OneCycleLR(adagrad, max_lr=0.1, total_steps=10, cycle_momentum=False)
    sgd = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="either total_steps OR"):
        lr_scheduler.OneCycleLR(sgd, max_lr=0.1, epochs=3)
    with pytest.raises(ValueError, match="positive integer total_steps, but got 0"):
        lr_scheduler.OneCycleLR(sgd, max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match="pct_start, but got 1.5"):
        lr_scheduler.OneCycleLR(sgd, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="'cos' or 'linear', instead got exp"):
        lr_scheduler.OneCycleLR(sgd, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        lr_scheduler.OneCycleLR(sgd, max_lr=[0.1, 0.2], total_steps=10)


# --- warnings and errors ----------------------------------------------------------------

def test_warnings_for_misuse_like_pytorchs():
    optimizer = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    with pytest.warns(UserWarning, match="use `get_last_lr\\(\\)`"):
        scheduler.get_lr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine = lr_scheduler.StepLR(ember.optim.SGD([ember.zeros(1, requires_grad=True)]), 2)
        fine.optimizer.step()
        fine.step()


def test_scheduler_errors():
    optimizer = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=1.0)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=2)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optimizer, step_size=2, last_epoch=5)
    with pytest.raises(ValueError, match="step_size must be a positive"):
        lr_scheduler.StepLR(optimizer, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive"):
        lr_scheduler.CosineAnnealingLR(optimizer, T_max=0)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lr_scheduler.LinearLR(optimizer, start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        lr_scheduler.LinearLR(optimizer, end_factor=1.5)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        lr_scheduler.LambdaLR(optimizer, [lambda e: 1.0, lambda e: 1.0])
    assert optimizer.param_groups[0]["lr"] == 1.0
