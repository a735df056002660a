"""ember.fit: it learns, it logs one value per epoch, and it is exactly the loop a PyTorch
user writes by hand (same seed, bitwise the same numbers and weights)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.optim import SGD, Adam
from ember.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau, StepLR
from ember.training import LambdaCallback
from ember.training.fit import fit
from tests.training.helpers import (
    assert_same_weights,
    hand_loop,
    mlp,
    shuffled_loader,
    spirals,
    weights,
)

EPOCH_KEYS = ["loss", "accuracy", "val_loss", "val_accuracy", "lr"]


@pytest.mark.parametrize("form", ["loader", "dataset", "pair"])
def test_fit_learns_spirals_and_logs_one_value_per_epoch(form):
    train, val = ember.datasets.spirals(150, classes=3), ember.datasets.spirals(90, seed=1)
    data = {"loader": shuffled_loader(train, 16), "dataset": train,
            "pair": train.tensors}[form]
    model = mlp(0, hidden=32)
    history = fit(model, data, "cross_entropy", Adam(model.parameters(), lr=0.03), epochs=20,
                  val_data=val, batch_size=16, verbose=0)
    assert list(history.history) == EPOCH_KEYS
    assert history.epoch == list(range(1, 21)) and len(history) == 20
    assert all(len(history[key]) == 20 for key in EPOCH_KEYS)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][0] < 0.6 and history["accuracy"][-1] > 0.85
    assert history["val_accuracy"][-1] > 0.85
    assert history["lr"] == [0.03] * 20


@pytest.mark.parametrize("form", ["loader", "dataset", "pair"])
def test_fit_is_bitwise_the_hand_written_loop(form):
    """Dropout, shuffling, validation and a StepLR: every logged number and every final
    weight equal the hand loop's, so fit adds no randomness and reorders nothing."""
    train, val = spirals(90), ember.datasets.spirals(45, seed=3)

    def run(use_fit: bool):
        model = mlp(7, dropout=0.3)
        optimizer = SGD(model.parameters(), lr=0.2, momentum=0.9)
        scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
        val_loader = DataLoader(val, batch_size=16)
        if not use_fit:
            return model, hand_loop(model, optimizer, shuffled_loader(train, 16), 5,
                                    val_loader=val_loader, scheduler=scheduler)
        data = {"loader": shuffled_loader(train, 16), "dataset": train,
                "pair": train.tensors}[form]
        history = fit(model, data, "cross_entropy", optimizer, epochs=5, val_data=val_loader,
                      scheduler=scheduler, batch_size=16, verbose=0)
        return model, history.history

    hand_model, hand_history = run(use_fit=False)
    fit_model, fit_history = run(use_fit=True)
    assert fit_history == hand_history
    assert hand_history["lr"] == [0.2, 0.2, 0.1, 0.1, 0.05]
    assert_same_weights(weights(fit_model), weights(hand_model))


@pytest.mark.parametrize("loss", ["cross_entropy", nn.CrossEntropyLoss(), F.cross_entropy,
                                  lambda out, target: F.cross_entropy(out, target)])
def test_loss_by_name_module_or_function_trains_identically(loss):
    def train(loss_spec):
        model = mlp(1)
        fit(model, spirals(60), loss_spec, SGD(model.parameters(), lr=0.1), epochs=2,
            batch_size=16, verbose=0)
        return weights(model)

    assert_same_weights(train(loss), train(F.cross_entropy))


def test_mse_by_name_equals_the_mse_module_and_logs_mae():
    data = ember.datasets.plane(64)
    x, y = data.tensors

    def train(loss):
        ember.manual_seed(2)
        model = nn.Linear(2, 1)
        history = fit(model, data, loss, SGD(model.parameters(), lr=0.05), epochs=4,
                      metrics=["mae"], batch_size=16, verbose=0)
        return model, history

    model, history = train("mse")
    module_model, module_history = train(nn.MSELoss())
    assert history.history == module_history.history
    assert_same_weights(weights(model), weights(module_model))
    assert history["loss"][-1] < history["loss"][0]
    assert set(history.history) == {"loss", "mae", "lr"}
    # the last epoch's MAE is the mean over its batches, each measured before its step
    final = np.abs(model(x).detach().numpy() - y.numpy()).mean()
    assert abs(history["mae"][-1] - final) < 0.1


@pytest.mark.parametrize("loss, final_layer, threshold", [
    ("bce_with_logits", None, 0.0), (nn.BCEWithLogitsLoss(), None, 0.0),
    ("bce", nn.Sigmoid(), 0.5), (nn.BCELoss(), nn.Sigmoid(), 0.5)])
def test_binary_single_output_accuracy_uses_the_loss_threshold(loss, final_layer, threshold):
    x, y = ember.datasets.gaussians(80).tensors
    targets = y.float().reshape(-1, 1)
    layers = [nn.Linear(2, 1)] + ([final_layer] if final_layer else [])
    model = nn.Sequential(*layers)
    history = fit(model, (x, targets), loss, SGD(model.parameters(), lr=0.1), epochs=4,
                  batch_size=16, verbose=0)
    results = ember.evaluate(model, (x, targets), loss)
    outputs = model(x).detach().numpy()[:, 0]
    expected = np.mean((outputs > threshold) == (y.numpy() == 1))
    assert results["accuracy"] == expected
    assert history["accuracy"][0] < 0.9 and history["accuracy"][-1] > 0.95


def test_logits_all_between_0_and_1_are_still_read_as_logits_with_bce_with_logits():
    """Logits in (0.25, 0.75) are all class 1; a rule guessing "probabilities" from the
    range would call those under 0.5 class 0."""
    model = nn.Linear(1, 1)
    with ember.no_grad():
        model.weight.fill_(0.5)
        model.bias.fill_(0.25)
    x = ember.linspace(0, 1, 20).reshape(-1, 1)
    targets = ember.ones(20, 1)
    assert ember.evaluate(model, (x, targets), "bce_with_logits")["accuracy"] == 1.0
    assert ember.evaluate(model, (x, targets), nn.BCEWithLogitsLoss())["accuracy"] == 1.0
    assert ember.evaluate(model, (x, targets), "bce")["accuracy"] == 0.5
    assert ember.evaluate(model, (x, targets))["accuracy"] == 0.5     # no loss: guessed


def test_scheduler_step_lr_is_stepped_once_per_epoch():
    model = mlp(0)
    optimizer = SGD(model.parameters(), lr=1.0)
    history = fit(model, spirals(60), "cross_entropy", optimizer, epochs=5, verbose=0,
                  scheduler=StepLR(optimizer, step_size=2, gamma=0.1), batch_size=16)
    reference = StepLR(SGD(mlp(0).parameters(), lr=1.0), step_size=2, gamma=0.1)
    expected = []
    for _ in range(5):
        expected.append(reference.get_last_lr()[0])
        reference.optimizer.step()
        reference.step()
    assert history["lr"] == expected
    assert math.isclose(optimizer.param_groups[0]["lr"], 1e-2)      # 5 steps: 1 * 0.1^2


def test_one_cycle_is_stepped_every_batch_like_stepping_it_by_hand():
    model, steps_per_epoch, epochs = mlp(0), 4, 3
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = OneCycleLR(optimizer, max_lr=0.5, epochs=epochs,
                           steps_per_epoch=steps_per_epoch)
    seen = []
    record = LambdaCallback(
        on_batch_begin=lambda step, logs: seen.append(optimizer.param_groups[0]["lr"]))
    history = fit(model, spirals(64), "cross_entropy", optimizer, epochs=epochs,
                  callbacks=[record], scheduler=scheduler, batch_size=16, verbose=0)

    by_hand_optimizer = SGD(mlp(0).parameters(), lr=0.1, momentum=0.9)
    by_hand = OneCycleLR(by_hand_optimizer, max_lr=0.5, epochs=epochs,
                         steps_per_epoch=steps_per_epoch)
    expected = []
    for _ in range(epochs * steps_per_epoch):
        expected.append(by_hand_optimizer.param_groups[0]["lr"])
        by_hand_optimizer.step()
        by_hand.step()
    assert seen == expected
    assert len(set(seen)) == len(seen)                  # it really changes every batch
    assert history["lr"] == expected[steps_per_epoch - 1::steps_per_epoch]


class RecordingPlateau(ReduceLROnPlateau):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def step(self, metrics, epoch=None):
        self.seen.append(float(metrics))
        super().step(metrics, epoch)


@pytest.mark.parametrize("with_validation", [True, False])
def test_reduce_on_plateau_is_stepped_with_val_loss_or_loss(with_validation):
    model = mlp(0)
    optimizer = SGD(model.parameters(), lr=0.5)
    scheduler = RecordingPlateau(optimizer, patience=0, factor=0.5, threshold=10.0)
    val = spirals(30) if with_validation else None
    history = fit(model, spirals(60), "cross_entropy", optimizer, epochs=4, val_data=val,
                  scheduler=scheduler, batch_size=16, verbose=0)
    watched = history["val_loss"] if with_validation else history["loss"]
    assert scheduler.seen == watched
    # a threshold of 1000% is never met: the lr halves after every epoch but the first
    assert history["lr"] == [0.5, 0.25, 0.125, 0.0625]


def test_clip_grad_norm_is_the_manual_loop_with_clipping():
    def train(use_fit: bool, clip):
        model = mlp(4)
        optimizer = SGD(model.parameters(), lr=0.5)
        if use_fit:
            fit(model, shuffled_loader(spirals(60)), "cross_entropy", optimizer, epochs=2,
                clip_grad_norm=clip, verbose=0)
        else:
            hand_loop(model, optimizer, shuffled_loader(spirals(60)), 2, clip=clip)
        return weights(model)

    clipped = train(True, 0.05)
    assert_same_weights(clipped, train(False, 0.05))
    unclipped = train(True, None)
    assert not np.array_equal(clipped["0.weight"], unclipped["0.weight"])


def test_a_single_metric_or_callback_need_not_be_in_a_list():
    model, calls = mlp(0), []
    history = fit(model, spirals(30), "cross_entropy", SGD(model.parameters(), lr=0.1),
                  epochs=2, metrics="top2_accuracy", verbose=0,
                  callbacks=LambdaCallback(on_epoch_end=lambda e, logs: calls.append(e)))
    assert list(history.history) == ["loss", "top2_accuracy", "lr"] and calls == [1, 2]


def test_no_metrics_and_zero_epochs():
    model = mlp(0)
    before = weights(model)
    history = fit(model, spirals(30), "cross_entropy", SGD(model.parameters(), lr=0.1),
                  epochs=0, verbose=0)
    assert len(history) == 0
    assert_same_weights(weights(model), before)
    history = fit(model, spirals(30), "cross_entropy", SGD(model.parameters(), lr=0.1),
                  epochs=1, metrics=(), verbose=0)
    assert list(history.history) == ["loss", "lr"]


def test_fit_leaves_the_model_in_train_mode_and_draws_no_random_numbers_of_its_own():
    model = mlp(0)          # no dropout, no shuffling: training needs no random numbers
    state = ember.get_rng_state().numpy().copy()
    fit(model, spirals(30), "cross_entropy", SGD(model.parameters(), lr=0.1), epochs=2,
        val_data=spirals(30), shuffle=False, verbose=0)
    assert model.training
    assert np.array_equal(ember.get_rng_state().numpy(), state)


# --- errors -------------------------------------------------------------------------------

def _untouched(call):
    """Run `call(model, optimizer)`, which must raise, and check the model is unchanged."""
    model = mlp(0)
    before = weights(model)
    optimizer = SGD(model.parameters(), lr=0.1)
    with pytest.raises(Exception) as info:
        call(model, optimizer)
    assert_same_weights(weights(model), before)
    return info


def test_bad_batch_structure_is_named():
    x, y = spirals(30).tensors
    triples = DataLoader(TensorDataset(x, y, y), batch_size=8)
    info = _untouched(lambda m, o: fit(m, triples, "cross_entropy", o, verbose=0))
    assert info.type is ValueError
    assert "(inputs, targets) pair" in str(info.value) and "length 3" in str(info.value)
    inputs_only = DataLoader(TensorDataset(x), batch_size=8)
    with pytest.raises(ValueError, match="length 1"):
        ember.evaluate(mlp(0), inputs_only)


def test_bad_loss_name_and_non_callable_loss():
    info = _untouched(lambda m, o: fit(m, spirals(30), "crossentropy", o, verbose=0))
    assert info.type is ValueError
    assert "'crossentropy'" in str(info.value) and "cross_entropy" in str(info.value)
    info = _untouched(lambda m, o: fit(m, spirals(30), "relu", o, verbose=0))
    assert info.type is ValueError                   # a function, but not a loss
    info = _untouched(lambda m, o: fit(m, spirals(30), 3, o, verbose=0))
    assert info.type is TypeError and "loss must be callable" in str(info.value)
    assert "int" in str(info.value)


def test_callbacks_must_be_callback_instances():
    info = _untouched(lambda m, o: fit(m, spirals(30), "cross_entropy", o, verbose=0,
                                       callbacks=[lambda epoch, logs: None]))
    assert info.type is TypeError
    assert "Callback instances" in str(info.value) and "function" in str(info.value)


def test_unknown_metric_fails_before_any_training():
    info = _untouched(lambda m, o: fit(m, spirals(30), "cross_entropy", o, verbose=0,
                                       metrics=["accuracy", "f1"]))
    assert info.type is ValueError and "unknown metric 'f1'" in str(info.value)
    with pytest.raises(ValueError, match="unknown metric 'top_accuracy'"):
        ember.evaluate(mlp(0), spirals(30), metrics=["top_accuracy"])


def test_resume_from_a_missing_file(tmp_path):
    missing = str(tmp_path / "nothing.safetensors")
    info = _untouched(lambda m, o: fit(m, spirals(30), "cross_entropy", o, verbose=0,
                                       resume_from=missing))
    assert info.type is FileNotFoundError and "nothing.safetensors" in str(info.value)


@pytest.mark.parametrize("keyword, value, fragment", [
    ("epochs", -1, "epochs must be a non-negative integer"),
    ("verbose", 3, "verbose must be 0, 1, 2 or 'auto'"),
    ("clip_grad_norm", 0.0, "clip_grad_norm must be a positive number")])
def test_bad_settings_are_rejected(keyword, value, fragment):
    info = _untouched(lambda m, o: fit(m, spirals(30), "cross_entropy", o,
                                       **{"verbose": 0, keyword: value}))
    assert fragment in str(info.value)


def test_bad_data_and_an_exhausted_iterator():
    x, y = spirals(30).tensors
    info = _untouched(lambda m, o: fit(m, x, "cross_entropy", o, verbose=0))
    assert info.type is TypeError and "DataLoader, a Dataset or an" in str(info.value)
    assert "Tensor" in str(info.value)
    batches = iter([(x[:10], y[:10]), (x[10:], y[10:])])     # usable for one epoch only
    model = mlp(0)
    with pytest.raises(ValueError, match="no batches in epoch 2"):
        fit(model, batches, "cross_entropy", SGD(model.parameters(), lr=0.1), epochs=2,
            verbose=0)


def test_numpy_arrays_train_like_tensors():
    train, val = spirals(60), spirals(30)

    def run(as_arrays: bool):
        model = mlp(2)
        convert = (lambda t: t.numpy()) if as_arrays else (lambda t: t)
        history = fit(model, tuple(map(convert, train.tensors)), "cross_entropy",
                      SGD(model.parameters(), lr=0.1), epochs=2, batch_size=16,
                      val_data=tuple(map(convert, val.tensors)), verbose=0)
        return weights(model), history.history

    array_weights, array_history = run(True)
    tensor_weights, tensor_history = run(False)
    assert_same_weights(array_weights, tensor_weights)
    assert array_history == tensor_history
