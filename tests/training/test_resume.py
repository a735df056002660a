"""Resuming: a run stopped after 3 epochs and resumed from its last checkpoint in a fresh
setup (other seed, new optimizer and scheduler) ends bitwise where a run that never
stopped ends, with the same History; dropout and shuffling included."""
from __future__ import annotations

import os

import pytest

import ember
from ember.data import DataLoader
from ember.io import CheckpointError
from ember.optim import SGD, Adam
from ember.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau, StepLR
from ember.training import CSVLogger, EarlyStopping, ModelCheckpoint
from ember.training.fit import fit
from tests.training.helpers import assert_same_weights, mlp, spirals, weights
from tests.training.test_callbacks import Scripted

pytestmark = pytest.mark.usefixtures("safetensors")

EPOCHS, STOP = 6, 3


def make_run(seed: int, scheduler_kind: str, own_generator: bool):
    """Model (with dropout), optimizer, scheduler and a shuffling loader, all built after
    seeding ember with `seed`."""
    model = mlp(seed, dropout=0.3)
    optimizer = Adam(model.parameters(), lr=0.02)
    if scheduler_kind == "step":
        scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
    elif scheduler_kind == "one_cycle":
        scheduler = OneCycleLR(optimizer, max_lr=0.05, epochs=EPOCHS, steps_per_epoch=6)
    else:
        scheduler = ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    generator = ember.Generator().manual_seed(seed + 1) if own_generator else None
    loader = DataLoader(spirals(90), batch_size=16, shuffle=True, generator=generator)
    return model, optimizer, scheduler, loader


def train(run, epochs: int, directory, resume_from=None, extra_callbacks=()):
    model, optimizer, scheduler, loader = run
    history = fit(model, loader, "cross_entropy", optimizer, epochs=epochs,
                  val_data=spirals(30), scheduler=scheduler, verbose=0,
                  callbacks=[ModelCheckpoint(directory), *extra_callbacks],
                  resume_from=resume_from)
    return model, history


@pytest.mark.parametrize("scheduler_kind", ["step", "one_cycle", "plateau"])
@pytest.mark.parametrize("own_generator", [False, True])
def test_resume_is_bitwise_the_run_that_never_stopped(tmp_path, scheduler_kind,
                                                      own_generator):
    straight_model, straight = train(make_run(0, scheduler_kind, own_generator), EPOCHS,
                                     tmp_path / "straight")
    train(make_run(0, scheduler_kind, own_generator), STOP, tmp_path / "resumed")
    # a fresh, differently seeded setup, and some random draws, before resuming
    fresh = make_run(123, scheduler_kind, own_generator)
    ember.randn(17)
    if own_generator:
        ember.rand(5, generator=fresh[3].generator)
    last = os.path.join(tmp_path, "resumed", "last.safetensors")
    resumed_model, resumed = train(fresh, EPOCHS, tmp_path / "resumed", resume_from=last)

    assert_same_weights(weights(resumed_model), weights(straight_model))
    assert resumed.epoch == straight.epoch == list(range(1, EPOCHS + 1))
    assert resumed.history == straight.history
    files = [ember.load(os.path.join(tmp_path, run, "last.safetensors"))
             for run in ("straight", "resumed")]
    assert files[0]["epoch"] == files[1]["epoch"] == EPOCHS
    assert files[0]["step"] == files[1]["step"] == EPOCHS * 6


def test_resume_restores_callback_state_early_stopping_and_its_best_weights(tmp_path):
    scores = [5, 4, 4.5, 4.6, 4.7, 4.8, 4.9, 5.0]     # best at epoch 2; 3 worse epochs stop

    def callbacks():
        return [Scripted("score", scores),
                EarlyStopping("score", patience=3, restore_best_weights=True)]

    straight_model, straight = train(make_run(0, "step", False), 8, tmp_path / "a",
                                     extra_callbacks=callbacks())
    assert straight.epoch == [1, 2, 3, 4, 5]
    train(make_run(0, "step", False), STOP, tmp_path / "b", extra_callbacks=callbacks())
    resumed_model, resumed = train(make_run(5, "step", False), 8, tmp_path / "b",
                                   resume_from=tmp_path / "b" / "last.safetensors",
                                   extra_callbacks=callbacks())
    assert resumed.epoch == straight.epoch
    assert resumed.history == straight.history
    assert_same_weights(weights(resumed_model), weights(straight_model))   # epoch 2's


def test_resume_keeps_the_csv_rows_of_the_first_part(tmp_path):
    log = tmp_path / "log.csv"
    train(make_run(0, "step", False), STOP, tmp_path, extra_callbacks=[CSVLogger(log)])
    train(make_run(1, "step", False), 5, tmp_path,
          resume_from=tmp_path / "last.safetensors", extra_callbacks=[CSVLogger(log)])
    epochs = [line.split(",")[0] for line in log.read_text().splitlines()]
    assert epochs == ["epoch", "1", "2", "3", "4", "5"]


def test_resume_from_a_finished_run_trains_no_more(tmp_path):
    _, first = train(make_run(0, "step", False), STOP, tmp_path)
    model, optimizer, scheduler, loader = make_run(7, "step", False)
    _, history = train((model, optimizer, scheduler, loader), STOP, tmp_path / "again",
                       resume_from=tmp_path / "last.safetensors")
    assert history.history == first.history
    assert ember.load(tmp_path / "last.safetensors")["epoch"] == STOP
    assert not os.path.exists(tmp_path / "again" / "last.safetensors")


def test_resume_from_a_file_that_is_not_a_training_checkpoint(tmp_path):
    path = str(tmp_path / "weights.safetensors")
    model = mlp(0)
    ember.save(model.state_dict(), path)
    with pytest.raises(CheckpointError, match="weights.safetensors' is not a training checkpoint"):
        fit(mlp(1), spirals(30), "cross_entropy", SGD(mlp(1).parameters(), lr=0.1),
            resume_from=path, verbose=0)


def test_resume_into_a_model_of_another_shape_leaves_it_untouched(tmp_path):
    train(make_run(0, "step", False), 1, tmp_path)
    other = mlp(3, hidden=8, dropout=0.3)
    before = weights(other)
    with pytest.raises(ValueError):
        fit(other, spirals(30), "cross_entropy", Adam(other.parameters()), epochs=2,
            resume_from=tmp_path / "last.safetensors", verbose=0)
    assert_same_weights(weights(other), before)
