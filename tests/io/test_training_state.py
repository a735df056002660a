"""Training checkpoints: a run stopped halfway and resumed from its checkpoint ends with
bitwise the same weights as a run that never stopped."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.io.checkpoint import load, save
from ember.io.safetensors_file import CheckpointError
from ember.io.training_state import load_checkpoint, save_checkpoint
from tests.io import stand_ins

pytestmark = pytest.mark.usefixtures("safetensors")

STEPS = 20


def stand_in_run(seed: int):
    """A model, optimizer, scheduler and data generator, all built after seeding ember."""
    ember.manual_seed(seed)
    model = stand_ins.MLP()
    optimizer = stand_ins.MomentumSGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = stand_ins.StepLR(optimizer, step_size=7, gamma=0.5)
    return model, optimizer, scheduler, ember.Generator().manual_seed(seed + 1)


def real_run(seed: int, optimizer_name: str):
    try:
        from ember.optim import SGD, Adam, lr_scheduler
    except ImportError as exc:
        pytest.skip(f"ember.optim (SGD, Adam, lr_scheduler) cannot be imported yet: {exc}")
    ember.manual_seed(seed)
    model = stand_ins.MLP()
    if optimizer_name == "SGD":
        optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    else:
        optimizer = Adam(model.parameters(), lr=0.01, betas=(0.8, 0.95))
    scheduler = lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.5)
    return model, optimizer, scheduler, ember.Generator().manual_seed(seed + 1)


def weights(model) -> dict:
    return {key: value.numpy().copy() for key, value in model.state_dict().items()}


def resumed_weights(make_run, path, restore_rng: bool = True, restore_optimizer: bool = True):
    """Train STEPS // 2 steps, checkpoint, rebuild everything differently seeded (and
    draw some random numbers), restore, and train the rest."""
    model, optimizer, scheduler, data = make_run(0)
    stand_ins.train(model, optimizer, scheduler, data, STEPS // 2)
    save_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler, epoch=1,
                    step=STEPS // 2, extra={"data_generator": data.get_state()})

    model, optimizer, scheduler, data = make_run(1234)
    ember.rand(100)
    info = load_checkpoint(path, model=model, optimizer=optimizer if restore_optimizer else None,
                           scheduler=scheduler, restore_rng=restore_rng)
    assert (info["epoch"], info["step"]) == (1, STEPS // 2)
    data.set_state(info["extra"]["data_generator"])
    stand_ins.train(model, optimizer, scheduler, data, STEPS - STEPS // 2)
    return weights(model)


def uninterrupted_weights(make_run):
    model, optimizer, scheduler, data = make_run(0)
    stand_ins.train(model, optimizer, scheduler, data, STEPS)
    return weights(model)


def assert_bitwise_equal(first: dict, second: dict) -> None:
    assert list(first) == list(second)
    for key in first:
        assert first[key].dtype == second[key].dtype
        assert np.array_equal(first[key], second[key]), f"{key} differs"


def run_maker(kind: str):
    """How to build a run: with the stand-ins, or with ember.optim's SGD or Adam."""
    if kind == "stand-ins":
        return stand_in_run
    return lambda seed: real_run(seed, kind)


@pytest.mark.parametrize("kind", ["stand-ins", "SGD", "Adam"])
def test_resuming_from_a_checkpoint_is_bitwise_identical(kind, tmp_path):
    make_run = run_maker(kind)
    assert_bitwise_equal(resumed_weights(make_run, tmp_path / "run.safetensors"),
                         uninterrupted_weights(make_run))


@pytest.mark.parametrize("kind", ["stand-ins", "SGD", "Adam"])
@pytest.mark.parametrize("left_out", ["rng", "optimizer"])
def test_resuming_without_the_rng_or_optimizer_state_differs(left_out, kind, tmp_path):
    """The controls: the resume test above would fail if either were not restored."""
    make_run = run_maker(kind)
    resumed = resumed_weights(make_run, tmp_path / "run.safetensors",
                              restore_rng=left_out != "rng",
                              restore_optimizer=left_out != "optimizer")
    uninterrupted = uninterrupted_weights(make_run)
    assert any(not np.array_equal(resumed[key], uninterrupted[key]) for key in resumed)


def test_checkpoint_holds_every_section_in_pytorch_formats(tmp_path):
    model, optimizer, scheduler, data = stand_in_run(0)
    stand_ins.train(model, optimizer, scheduler, data, 3)
    path = tmp_path / "run.safetensors"
    save_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler, epoch=2,
                    step=3, extra={"best_loss": 0.25, "history": [1.0, 0.5]})
    checkpoint = load(path)
    assert list(checkpoint["model"]) == list(model.state_dict())
    assert sorted(checkpoint["optimizer"]["state"]) == [0, 1, 2, 3]
    assert checkpoint["optimizer"]["param_groups"][0]["params"] == [0, 1, 2, 3]
    buffer = checkpoint["optimizer"]["state"][2]["momentum_buffer"]
    assert np.array_equal(buffer.numpy(), optimizer.state[2]["momentum_buffer"].numpy())
    assert checkpoint["scheduler"] == scheduler.state_dict()
    assert (checkpoint["epoch"], checkpoint["step"]) == (2, 3)
    assert checkpoint["extra"] == {"best_loss": 0.25, "history": [1.0, 0.5]}
    assert checkpoint["rng_state"].dtype == ember.uint8


def test_optimizer_and_scheduler_are_optional(tmp_path):
    model, *_ = stand_in_run(0)
    save_checkpoint(tmp_path / "m.safetensors", model=model)
    fresh, *_ = stand_in_run(5)
    info = load_checkpoint(tmp_path / "m.safetensors", model=fresh)
    assert info == {"epoch": 0, "step": 0, "extra": None}
    assert_bitwise_equal(weights(fresh), weights(model))


def test_asking_for_a_section_that_was_not_saved_changes_nothing(tmp_path):
    model, optimizer, *_ = stand_in_run(0)
    save_checkpoint(tmp_path / "m.safetensors", model=model)
    fresh, fresh_optimizer, *_ = stand_in_run(5)
    before, rng_before = weights(fresh), ember.get_rng_state().numpy().copy()
    with pytest.raises(CheckpointError, match="holds no optimizer state, but a optimizer"):
        load_checkpoint(tmp_path / "m.safetensors", model=fresh, optimizer=fresh_optimizer)
    assert_bitwise_equal(weights(fresh), before)
    assert np.array_equal(ember.get_rng_state().numpy(), rng_before)


def test_an_optimizer_of_another_shape_is_refused_before_the_model_changes(tmp_path):
    model, optimizer, scheduler, data = stand_in_run(0)
    stand_ins.train(model, optimizer, scheduler, data, 2)
    save_checkpoint(tmp_path / "m.safetensors", model=model, optimizer=optimizer)
    fresh, *_ = stand_in_run(5)
    other_optimizer = stand_ins.MomentumSGD(list(fresh.parameters())[:2], lr=0.1, momentum=0.9)
    before = weights(fresh)
    with pytest.raises(ValueError, match=r"groups of sizes \[4\], .* given has \[2\]"):
        load_checkpoint(tmp_path / "m.safetensors", model=fresh, optimizer=other_optimizer)
    assert_bitwise_equal(weights(fresh), before)


def test_a_plain_state_dict_file_is_not_a_training_checkpoint(tmp_path):
    model, *_ = stand_in_run(0)
    save(model.state_dict(), tmp_path / "weights.safetensors")
    with pytest.raises(CheckpointError, match="not a training checkpoint .* "
                                              r"model.load_state_dict\(ember.load\(path\)\)"):
        load_checkpoint(tmp_path / "weights.safetensors", model=model)


def test_a_damaged_checkpoint_names_what_is_wrong(tmp_path):
    model, *_ = stand_in_run(0)
    save({"kind": "ember.training_checkpoint", "model": model.state_dict(), "epoch": "one",
          "step": 0}, tmp_path / "bad.safetensors")
    with pytest.raises(CheckpointError, match="entries epoch, rng_state are missing"):
        load_checkpoint(tmp_path / "bad.safetensors", model=model)


@pytest.mark.parametrize("epoch, step", [(-1, 0), (0, 1.5), (True, 0)])
def test_counters_must_be_non_negative_ints(epoch, step, tmp_path):
    model, *_ = stand_in_run(0)
    with pytest.raises(ValueError, match="save_checkpoint: (epoch|step) must be a non-negative"):
        save_checkpoint(tmp_path / "m.safetensors", model=model, epoch=epoch, step=step)
    assert not (tmp_path / "m.safetensors").exists()
