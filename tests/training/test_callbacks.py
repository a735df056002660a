"""Callbacks through fit: the hooks and their order, early stopping, checkpoints, NaN
termination, CSV logs, learning-rate schedules and lambda callbacks."""
from __future__ import annotations

import csv
import io
import os
import types

import numpy as np
import pytest

import ember
from ember import nn
from ember.io import load_checkpoint
from ember.optim import SGD
from ember.training import (
    Callback,
    CSVLogger,
    EarlyStopping,
    EpochTimer,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    TerminateOnNaN,
)
from ember.training.fit import fit
from tests.training.helpers import assert_same_weights, mlp, spirals, weights


class Scripted(Callback):
    """Writes logs[key] = values[epoch - 1] at each epoch end, for the callbacks after it."""

    def __init__(self, key: str, values):
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs):
        logs[self.key] = float(self.values[epoch - 1])


class Snapshots(Callback):
    """The model's weights at the end of every epoch."""

    def __init__(self):
        self.by_epoch = {}

    def on_epoch_end(self, epoch, logs):
        self.by_epoch[epoch] = weights(self.trainer.model)


class Recorder(Callback):
    def __init__(self, name: str, calls: list):
        self.name, self.calls = name, calls

    def on_train_begin(self, logs): self.calls.append((self.name, "train_begin"))
    def on_train_end(self, logs): self.calls.append((self.name, "train_end"))
    def on_epoch_begin(self, epoch, logs): self.calls.append((self.name, "epoch_begin", epoch))
    def on_epoch_end(self, epoch, logs): self.calls.append((self.name, "epoch_end", epoch))
    def on_batch_begin(self, step, logs): self.calls.append((self.name, "batch_begin", step))
    def on_batch_end(self, step, logs): self.calls.append((self.name, "batch_end", step))


def run(callbacks, epochs: int = 6, n: int = 48, file=None, verbose=0, **kwargs):
    model = mlp(0)
    history = fit(model, spirals(n), "cross_entropy", SGD(model.parameters(), lr=0.1),
                  epochs=epochs, callbacks=callbacks, batch_size=16, verbose=verbose,
                  file=file, **kwargs)
    return model, history


# --- hooks --------------------------------------------------------------------------------

def test_hooks_are_called_in_order_for_every_epoch_and_batch():
    calls = []
    run([Recorder("a", calls), Recorder("b", calls)], epochs=2)       # 48 / 16: 3 batches
    expected = [("a", "train_begin"), ("b", "train_begin")]
    for epoch in (1, 2):
        expected += [("a", "epoch_begin", epoch), ("b", "epoch_begin", epoch)]
        for step in range(3):
            expected += [("a", "batch_begin", step), ("b", "batch_begin", step),
                         ("a", "batch_end", step), ("b", "batch_end", step)]
        expected += [("a", "epoch_end", epoch), ("b", "epoch_end", epoch)]
    expected += [("a", "train_end"), ("b", "train_end")]
    assert calls == expected


def test_hook_logs_hold_running_means_and_the_epoch_results():
    batch_logs, epoch_logs = [], []
    callback = LambdaCallback(on_batch_end=lambda step, logs: batch_logs.append(dict(logs)),
                              on_epoch_end=lambda epoch, logs: epoch_logs.append(dict(logs)))
    _, history = run([callback], epochs=2, val_data=spirals(30))
    assert set(batch_logs[0]) == {"loss", "accuracy", "batch_loss"}
    assert batch_logs[0]["loss"] == batch_logs[0]["batch_loss"]
    third = batch_logs[2]        # every batch has 16 examples: the mean of the three
    assert third["loss"] == pytest.approx(np.mean([b["batch_loss"] for b in batch_logs[:3]]))
    assert epoch_logs[0] == {key: values[0] for key, values in history.history.items()}
    assert "batch_loss" not in epoch_logs[0]


def test_a_callback_can_stop_training_mid_epoch():
    steps = []

    class StopAtSecondBatch(Callback):
        def on_batch_end(self, step, logs):
            steps.append((self.trainer.epoch, step))
            if self.trainer.epoch == 2 and step == 1:
                self.trainer.stop_training = True

    _, history = run([StopAtSecondBatch()], epochs=5)
    assert steps == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1)]
    assert history.epoch == [1, 2]


# --- EarlyStopping ------------------------------------------------------------------------

@pytest.mark.parametrize("patience, stopped", [(0, 3), (1, 3), (2, 4), (3, 5), (9, 8)])
def test_early_stopping_patience(patience, stopped):
    scores = [5, 4, 4.5, 4, 4.2, 4.1, 4.3, 4.4]       # best 4 at epoch 2, never beaten
    stopper = EarlyStopping("score", patience=patience)
    _, history = run([Scripted("score", scores), stopper], epochs=8)
    assert len(history) == stopped
    assert stopper.best_epoch == 2 and stopper.tracker.best == 4
    assert stopper.stopped_epoch == (stopped if stopped < 8 else None)


def test_early_stopping_min_delta():
    scores = [1.0, 0.95, 0.91, 0.85, 0.84, 0.83]
    _, history = run([Scripted("score", scores), EarlyStopping("score", patience=1)])
    assert len(history) == 6                           # every epoch improves a little
    stopper = EarlyStopping("score", patience=1, min_delta=0.1)
    _, history = run([Scripted("score", scores), stopper])
    assert len(history) == 2 and stopper.best_epoch == 1   # 0.95 is not 0.1 better than 1


@pytest.mark.parametrize("monitor, mode, stopped", [
    ("val_accuracy", "auto", 3), ("val_accuracy", "max", 3), ("val_accuracy", "min", 2),
    ("score", "auto", 2), ("score", "max", 3)])
def test_early_stopping_mode(monitor, mode, stopped):
    values = [0.5, 0.6, 0.55, 0.58, 0.7, 0.71]      # max: 0.6 at 2 then worse; min: 0.5 at 1
    stopper = EarlyStopping(monitor, mode=mode, patience=1)
    _, history = run([Scripted(monitor, values), stopper])
    assert len(history) == stopped


def test_early_stopping_restores_exactly_the_best_epochs_weights():
    snapshots = Snapshots()
    scores = [3.0, 1.0, 2.0, 2.5, 2.2, 0.9]
    stopper = EarlyStopping("score", patience=3, restore_best_weights=True)
    model, history = run([Scripted("score", scores), snapshots, stopper])
    assert len(history) == 5 and stopper.best_epoch == 2
    assert_same_weights(weights(model), snapshots.by_epoch[2])
    assert not np.array_equal(weights(model)["0.weight"], snapshots.by_epoch[5]["0.weight"])
    # without restore_best_weights the model keeps the last epoch's weights
    snapshots = Snapshots()
    model, _ = run([Scripted("score", scores), snapshots, EarlyStopping("score", patience=3)])
    assert_same_weights(weights(model), snapshots.by_epoch[5])


def test_early_stopping_start_from_epoch():
    scores = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    _, history = run([Scripted("score", scores), EarlyStopping("score")])
    assert len(history) == 2
    snapshots = Snapshots()
    stopper = EarlyStopping("score", start_from_epoch=2, restore_best_weights=True)
    model, history = run([Scripted("score", scores), snapshots, stopper])
    assert len(history) == 4 and stopper.best_epoch == 3    # epochs 1 and 2 are not watched
    assert_same_weights(weights(model), snapshots.by_epoch[3])


def test_early_stopping_is_reset_when_reused_and_reports_its_stop():
    stopper = EarlyStopping("score", patience=0)
    run([Scripted("score", [1, 2, 3]), stopper], epochs=3)
    assert stopper.tracker.best == 1
    printed = io.StringIO()
    _, history = run([Scripted("score", [9, 8, 8.5]), stopper], epochs=3, file=printed,
                     verbose=2)
    assert len(history) == 3 and stopper.best_epoch == 2     # 9 was not compared with 1
    assert "EarlyStopping: stopped after epoch 3; best score 8.0000 at epoch 2" \
        in printed.getvalue()


def test_early_stopping_warns_when_the_monitor_is_missing():
    with pytest.warns(RuntimeWarning, match="'val_loss' is not in the logs"):
        _, history = run([EarlyStopping()], epochs=3)
    assert len(history) == 3


def test_bad_mode_is_rejected():
    with pytest.raises(ValueError, match="EarlyStopping: mode must be"):
        EarlyStopping(mode="smallest")
    with pytest.raises(ValueError, match="ModelCheckpoint: mode must be"):
        ModelCheckpoint("x", mode="best")


# --- ModelCheckpoint ----------------------------------------------------------------------

def _saved_epoch(path):
    return ember.load(path)["epoch"] if os.path.exists(path) else None


def test_model_checkpoint_writes_best_only_on_improvement_and_last_every_epoch(tmp_path,
                                                                           safetensors):
    checkpoint = ModelCheckpoint(tmp_path, monitor="score")
    seen = []
    look = LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(
        (_saved_epoch(checkpoint.best_path), _saved_epoch(checkpoint.last_path))))
    snapshots = Snapshots()
    run([look, Scripted("score", [3, 1, 2, 0.5, 4]), snapshots, checkpoint], epochs=5)
    seen.append((_saved_epoch(checkpoint.best_path), _saved_epoch(checkpoint.last_path)))
    assert seen == [(None, None), (1, 1), (2, 2), (2, 3), (4, 4), (4, 5)]
    assert sorted(os.listdir(tmp_path)) == ["best.safetensors", "last.safetensors"]
    # loadable as ember training checkpoints and as plain safetensors
    for path, epoch in ((checkpoint.best_path, 4), (checkpoint.last_path, 5)):
        model = mlp(99)
        assert load_checkpoint(path, model=model)["epoch"] == epoch
        assert_same_weights(weights(model), snapshots.by_epoch[epoch])
        tensors = safetensors.numpy.load_file(path)
        assert np.array_equal(tensors["model.0.weight"], snapshots.by_epoch[epoch]["0.weight"])


def test_model_checkpoint_save_best_and_save_last_switches(tmp_path, safetensors):
    run([ModelCheckpoint(tmp_path / "a", monitor="loss", save_best=False)], epochs=2)
    run([ModelCheckpoint(tmp_path / "b", monitor="loss", save_last=False)], epochs=2)
    assert os.listdir(tmp_path / "a") == ["last.safetensors"]
    assert os.listdir(tmp_path / "b") == ["best.safetensors"]
    with pytest.warns(RuntimeWarning, match="ModelCheckpoint: 'val_loss' is not in the logs"):
        run([ModelCheckpoint(tmp_path / "c")], epochs=1)
    assert os.listdir(tmp_path / "c") == ["last.safetensors"]


def test_model_checkpoint_writes_atomically(tmp_path, monkeypatch, safetensors):
    """A write that fails (here: the final rename) leaves the previous checkpoint whole."""
    real_replace, calls = os.replace, []

    def failing_second_replace(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError("disk full")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_second_replace)
    checkpoint = ModelCheckpoint(tmp_path, save_best=False)
    with pytest.raises(OSError, match="disk full"):
        run([checkpoint], epochs=3)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["last.safetensors"]             # no temporary file left
    assert ember.load(checkpoint.last_path)["epoch"] == 1


def test_model_checkpoint_holds_the_epoch_state_of_callbacks_listed_after_it(tmp_path,
                                                                        safetensors):
    stopper = EarlyStopping("score", patience=5)
    run([ModelCheckpoint(tmp_path, save_best=False), Scripted("score", [1, 2, 3]), stopper],
        epochs=3)
    saved = ember.load(os.path.join(tmp_path, "last.safetensors"))["extra"]["callbacks"]
    assert saved["EarlyStopping.0"]["wait"] == 2 == stopper.wait


# --- TerminateOnNaN -----------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_terminate_on_nan_stops_at_the_first_infinite_batch_loss():
    """Linear regression with far too large a step diverges to an infinite loss in the
    middle of epoch 2; no batch runs after it."""
    x, y = ember.datasets.plane(64).tensors
    ember.manual_seed(0)
    model = nn.Linear(2, 1)
    batch_losses = []
    record = LambdaCallback(on_batch_end=lambda step, logs: batch_losses.append(
        (record.trainer.epoch, step, logs["batch_loss"])))
    printed = io.StringIO()
    history = fit(model, (x, y * 1e3), "mse", SGD(model.parameters(), lr=2.0), epochs=50,
                  metrics=(), callbacks=[record, TerminateOnNaN()], batch_size=8,
                  shuffle=False, verbose=2, file=printed)
    *finite, (epoch, step, last) = batch_losses
    assert all(np.isfinite(loss) for _, _, loss in finite) and not np.isfinite(last)
    assert 0 < step < 7 and len(batch_losses) == (epoch - 1) * 8 + step + 1   # 8 per epoch
    assert len(history) == epoch and not np.isfinite(history["loss"][-1])
    assert f"TerminateOnNaN: the loss became {last} at batch {step} of epoch {epoch}" \
        in printed.getvalue()


# --- CSVLogger ----------------------------------------------------------------------------

def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_csv_logger_writes_a_header_and_a_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    _, history = run([CSVLogger(path)], epochs=3, val_data=spirals(30))
    rows = read_rows(path)
    assert rows[0] == ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert len(rows) == 4
    for epoch, row in enumerate(rows[1:]):
        assert int(row[0]) == epoch + 1
        for key, text in zip(rows[0][1:], row[1:]):
            assert float(text) == history[key][epoch]          # full precision


def test_csv_logger_append_and_overwrite(tmp_path):
    path = tmp_path / "log.csv"
    run([CSVLogger(path)], epochs=2)
    run([CSVLogger(path)], epochs=3)
    assert len(read_rows(path)) == 1 + 3                         # overwritten
    run([CSVLogger(path, append=True)], epochs=2)
    rows = read_rows(path)
    assert len(rows) == 1 + 3 + 2 and rows.count(rows[0]) == 1   # one header
    run([CSVLogger(path, separator=";")], epochs=1)
    assert read_rows(path)[0] == ["epoch;accuracy;loss;lr"]


def test_a_reused_csv_logger_takes_the_columns_of_the_new_run(tmp_path):
    logger = CSVLogger(tmp_path / "log.csv")
    run([logger], epochs=1, val_data=spirals(30))
    run([logger], epochs=2, metrics=())
    assert read_rows(tmp_path / "log.csv")[0] == ["epoch", "loss", "lr"]


# --- LearningRateScheduler and LambdaCallback ---------------------------------------------

def test_learning_rate_scheduler_sets_the_lr_at_each_epoch_start():
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return 0.1 / epoch

    _, history = run([LearningRateScheduler(schedule)], epochs=4)
    assert seen == [(1, 0.1), (2, 0.1), (3, 0.05), (4, 0.1 / 3)]
    assert history["lr"] == [0.1, 0.05, 0.1 / 3, 0.025]


def test_learning_rate_scheduler_and_lambda_callback_check_their_arguments():
    with pytest.raises(TypeError, match="schedule must be callable"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="unknown hook 'on_step_end'"):
        LambdaCallback(on_step_end=print)
    with pytest.raises(ValueError, match="unknown hook 'state_dict'"):
        LambdaCallback(state_dict=dict)
    with pytest.raises(TypeError, match="on_epoch_end must be callable"):
        LambdaCallback(on_epoch_end=3)


def test_lambda_callback_calls_each_given_hook():
    counts = {"train_begin": 0, "epoch_end": [], "batch_begin": 0, "train_end": 0}

    def count(name):
        def hook(*args):
            counts[name] += 1
        return hook

    callback = LambdaCallback(on_train_begin=count("train_begin"),
                              on_epoch_end=lambda epoch, logs: counts["epoch_end"].append(
                                  (epoch, round(logs["loss"], 12))),
                              on_batch_begin=count("batch_begin"),
                              on_train_end=count("train_end"))
    _, history = run([callback], epochs=3)
    assert counts["train_begin"] == counts["train_end"] == 1
    assert counts["batch_begin"] == 3 * 3
    assert counts["epoch_end"] == [(e + 1, round(v, 12)) for e, v in enumerate(history["loss"])]


def test_epoch_timer_records_one_positive_time_per_epoch_run(monkeypatch):
    ticks = iter(range(0, 100, 7))                   # a clock only the timer reads
    monkeypatch.setattr("ember.training.callbacks.time",
                        types.SimpleNamespace(perf_counter=lambda: next(ticks)))
    timer = EpochTimer()
    stop_after_two = LambdaCallback(on_epoch_end=lambda epoch, logs: setattr(
        timer.trainer, "stop_training", epoch == 2))
    run([timer, stop_after_two], epochs=5)
    assert timer.seconds == [7, 7]                   # each epoch: begin tick, end tick
