"""Callbacks: code that `ember.fit` calls at the start and end of training, epochs and
batches: early stopping, checkpoints, NaN termination, CSV logs, learning-rate schedules."""
from __future__ import annotations

import copy
import csv
import math
import os
import sys


class Callback:
    """Base class: override the hooks you need. `self.trainer` is set by fit and gives
    access to the model, optimizer, history and `stop_training`."""

    trainer = None

    def on_train_begin(self, logs: dict) -> None: ...
    def on_train_end(self, logs: dict) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...
    def on_batch_begin(self, step: int, logs: dict) -> None: ...
    def on_batch_end(self, step: int, logs: dict) -> None: ...

    # what a checkpoint must restore for an exact resume
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


def _resolve_mode(mode: str, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(word in monitor for word in ("acc", "auc", "precision", "recall")) \
        else "min"


class _Monitor:
    """Tracks the best value of a logged quantity (min or max, with a margin)."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        self.monitor, self.mode = monitor, _resolve_mode(mode, monitor)
        self.min_delta = abs(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs: dict, who: str) -> float | None:
        if self.monitor not in logs:
            print(f"{who}: '{self.monitor}' is not in the logs (available: "
                  f"{', '.join(sorted(logs))}); pass val_data or monitor another quantity",
                  file=sys.stderr)
            return None
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs;
    optionally put back the weights of the best epoch."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        self.tracker = _Monitor(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = patience, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait, self.stopped_epoch, self.best_epoch = 0, None, None
        self.best_weights = None

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        value = self.tracker.value(logs, "EarlyStopping")
        if value is None or epoch < self.start_from_epoch:
            return
        if self.tracker.improved(value):
            self.tracker.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = copy.deepcopy(self.trainer.model.state_dict())
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs: dict) -> None:
        if self.stopped_epoch is not None:
            print(f"EarlyStopping: stopped after epoch {self.stopped_epoch}; best "
                  f"{self.tracker.monitor} {self.tracker.best:.4f} at epoch {self.best_epoch}",
                  file=sys.stderr)
        if self.restore_best_weights and self.best_weights is not None:
            self.trainer.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {"best": self.tracker.best, "wait": self.wait,
                "best_epoch": -1 if self.best_epoch is None else self.best_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.tracker.best, self.wait = float(state["best"]), int(state["wait"])
        self.best_epoch = None if state["best_epoch"] < 0 else int(state["best_epoch"])


class ModelCheckpoint(Callback):
    """Save a training checkpoint (model, optimizer, scheduler, epoch, RNG, history) at the
    end of epochs: always to `last` (for resuming) and, when `monitor` improves, to `best`.

    Args:
        directory: where `last.safetensors` and `best.safetensors` are written (atomically).
        monitor, mode: the quantity that defines "best" ('val_loss', min by default).
        save_best: write best.safetensors; save_last: write last.safetensors.
    """

    def __init__(self, directory: str, monitor: str = "val_loss", mode: str = "auto",
                 save_best: bool = True, save_last: bool = True) -> None:
        self.directory = directory
        self.tracker = _Monitor(monitor, mode, 0.0)
        self.save_best, self.save_last = save_best, save_last

    @property
    def last_path(self) -> str:
        return os.path.join(self.directory, "last.safetensors")

    @property
    def best_path(self) -> str:
        return os.path.join(self.directory, "best.safetensors")

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        os.makedirs(self.directory, exist_ok=True)
        if self.save_best:
            value = self.tracker.value(logs, "ModelCheckpoint")
            if value is not None and self.tracker.improved(value):
                self.tracker.best = value
                self.trainer.save_checkpoint(self.best_path, epoch)
        if self.save_last:
            self.trainer.save_checkpoint(self.last_path, epoch)

    def state_dict(self) -> dict:
        return {"best": self.tracker.best}

    def load_state_dict(self, state: dict) -> None:
        self.tracker.best = float(state["best"])


class TerminateOnNaN(Callback):
    """Stop at the first batch whose loss is NaN or infinite."""

    def on_batch_end(self, step: int, logs: dict) -> None:
        loss = logs.get("batch_loss")
        if loss is not None and not math.isfinite(loss):
            print(f"TerminateOnNaN: the loss became {loss} at batch {step} of epoch "
                  f"{self.trainer.epoch}; stopping", file=sys.stderr)
            self.trainer.stop_training = True


class CSVLogger(Callback):
    """Append one row per epoch (epoch and every logged value) to a CSV file."""

    def __init__(self, filename: str, separator: str = ",", append: bool = False) -> None:
        self.filename, self.separator, self.append = filename, separator, append
        self.keys = None

    def on_train_begin(self, logs: dict) -> None:
        if not self.append and os.path.exists(self.filename):
            os.remove(self.filename)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        fresh = not os.path.exists(self.filename) or os.path.getsize(self.filename) == 0
        if self.keys is None:
            self.keys = sorted(k for k, v in logs.items() if isinstance(v, (int, float)))
        with open(self.filename, "a", newline="") as handle:
            writer = csv.writer(handle, delimiter=self.separator)
            if fresh:
                writer.writerow(["epoch", *self.keys])
            writer.writerow([epoch, *(logs.get(k, "") for k in self.keys)])


class LearningRateScheduler(Callback):
    """Set the learning rate from `schedule(epoch, lr) -> new lr` at the start of each
    epoch (for schedulers from ember.optim.lr_scheduler, pass them to fit(scheduler=))."""

    def __init__(self, schedule) -> None:
        self.schedule = schedule

    def on_epoch_begin(self, epoch: int, logs: dict) -> None:
        for group in self.trainer.optimizer.param_groups:
            group["lr"] = float(self.schedule(epoch, group["lr"]))


class LambdaCallback(Callback):
    """A callback from plain functions: LambdaCallback(on_epoch_end=lambda epoch, logs: ...)."""

    def __init__(self, **hooks) -> None:
        for name, function in hooks.items():
            if not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, function)
