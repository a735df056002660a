"""Callbacks: code that `ember.fit` calls at the start and end of training, epochs and
batches: early stopping, checkpoints, NaN termination, CSV logs, learning-rate schedules."""
from __future__ import annotations

import copy
import csv
import math
import os
import time
import warnings

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_batch_begin", "on_batch_end")


class Callback:
    """Base class: override the hooks you need. `self.trainer` is set by fit and gives
    access to the model, optimizer, history, `epoch` (counted from 1) and `stop_training`.

    fit calls, in the order the callbacks were given (ModelCheckpoint last, so that its
    checkpoints hold the others' state for the epoch): on_train_begin(logs) once;
    on_epoch_begin(epoch, logs) and on_epoch_end(epoch, logs) around each epoch (the end
    logs hold the epoch's loss, metrics, val_ values and lr); on_batch_begin(step, logs)
    and on_batch_end(step, logs) around each batch (steps count from 0 in each epoch; the
    end logs hold the running means and this batch's `batch_loss`); on_train_end(logs).

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs):
        ...         print(epoch, logs["loss"])
    """

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


def _resolve_mode(owner: str, mode: str, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(word in monitor for word in ("acc", "auc", "precision", "recall")) \
        else "min"


class _Monitor:
    """Tracks the best value of a logged quantity (min or max, with a margin)."""

    def __init__(self, owner: str, monitor: str, mode: str, min_delta: float) -> None:
        self.owner, self.monitor = owner, monitor
        self.mode = _resolve_mode(owner, mode, monitor)
        self.min_delta = abs(min_delta)
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs: dict) -> float | None:
        if self.monitor not in logs:
            warnings.warn(f"{self.owner}: '{self.monitor}' is not in the logs (available: "
                          f"{', '.join(sorted(logs))}); pass val_data or monitor another "
                          f"quantity", RuntimeWarning, stacklevel=4)
            return None
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience`
    epochs in a row; optionally put back the weights of the best epoch at the end.

    Args:
        monitor: the logged quantity to watch ("val_loss", "val_accuracy", "loss", ...).
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement after which training stops (0 or 1: stop at
            the first epoch that does not improve).
        mode: "min", "max", or "auto" (max for accuracies, min otherwise).
        restore_best_weights: at the end of training, load the weights of the best epoch.
        start_from_epoch: epochs to train before watching starts (they never count as best).

    Example:
        >>> ember.fit(model, train, loss, opt, epochs=100, val_data=val,
        ...           callbacks=[EarlyStopping(patience=5, restore_best_weights=True)])
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        self.tracker = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.patience, self.restore_best_weights = patience, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def _reset(self) -> None:
        self.tracker.reset()
        self.wait, self.stopped_epoch, self.best_epoch = 0, None, None
        self.best_weights = None

    def on_train_begin(self, logs: dict) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        if epoch <= self.start_from_epoch:
            return
        value = self.tracker.value(logs)
        if value is None:
            return
        if self.tracker.improved(value):
            self.tracker.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = copy.deepcopy(self.trainer.model.state_dict())
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs: dict) -> None:
        if self.stopped_epoch is not None:
            self.trainer.log(f"EarlyStopping: stopped after epoch {self.stopped_epoch}; best "
                             f"{self.tracker.monitor} {self.tracker.best:.4f} at epoch "
                             f"{self.best_epoch}")
        if self.restore_best_weights and self.best_weights is not None:
            self.trainer.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {"best": self.tracker.best, "wait": self.wait,
                "best_epoch": -1 if self.best_epoch is None else self.best_epoch,
                "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self.tracker.best, self.wait = float(state["best"]), int(state["wait"])
        self.best_epoch = None if state["best_epoch"] < 0 else int(state["best_epoch"])
        self.best_weights = state.get("best_weights")


class ModelCheckpoint(Callback):
    """Save a training checkpoint (model, optimizer, scheduler, epoch, random state,
    history, callbacks' state) at the end of epochs: to `last.safetensors` every epoch
    (for `fit(resume_from=...)`) and to `best.safetensors` when `monitor` improves.

    Files are written atomically in ember.io's training-checkpoint format, so
    `ember.io.load_checkpoint(path, model=model)` or `ember.load(path)["model"]` reads
    them. Its on_epoch_end runs after every other callback's, so that their state for the
    epoch is in the checkpoint.

    Args:
        directory: where `last.safetensors` and `best.safetensors` are written.
        monitor, mode: the quantity that defines "best" ('val_loss', min by default).
        save_best: write best.safetensors; save_last: write last.safetensors.

    Example:
        >>> ember.fit(model, train, loss, opt, epochs=10, val_data=val,
        ...           callbacks=[ModelCheckpoint("runs/mlp")])
        >>> ember.fit(model, train, loss, opt, epochs=20, val_data=val,
        ...           callbacks=[ModelCheckpoint("runs/mlp")],
        ...           resume_from="runs/mlp/last.safetensors")
    """

    def __init__(self, directory: str, monitor: str = "val_loss", mode: str = "auto",
                 save_best: bool = True, save_last: bool = True) -> None:
        self.directory = os.fspath(directory)
        self.tracker = _Monitor("ModelCheckpoint", monitor, mode, 0.0)
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
            value = self.tracker.value(logs)
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
    """Stop at the first batch whose loss is NaN or infinite (the rest of that epoch is
    skipped; its end-of-epoch logs and callbacks still run)."""

    def on_batch_end(self, step: int, logs: dict) -> None:
        loss = logs.get("batch_loss")
        if loss is not None and not math.isfinite(loss):
            self.trainer.log(f"TerminateOnNaN: the loss became {loss} at batch {step} of "
                             f"epoch {self.trainer.epoch}; stopping")
            self.trainer.stop_training = True


class EpochTimer(Callback):
    """Records the wall time of each epoch (training and validation), in seconds.

    Example:
        >>> timer = EpochTimer()
        >>> ember.fit(model, train, "cross_entropy", optimizer, epochs=3, callbacks=[timer])
        >>> timer.seconds            # three numbers
    """

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.seconds.append(time.perf_counter() - self._started)


class CSVLogger(Callback):
    """Write one row per epoch (the epoch and every numeric logged value) to a CSV file.

    Args:
        filename: the CSV file; the header row names the columns.
        separator: the field separator.
        append: keep the rows already in the file (a resumed fit always keeps them).
    """

    def __init__(self, filename: str, separator: str = ",", append: bool = False) -> None:
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.keys = None

    def on_train_begin(self, logs: dict) -> None:
        self.keys = None
        resumed = self.trainer is not None and self.trainer.initial_epoch > 1
        if not (self.append or resumed) and os.path.exists(self.filename):
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
    """Set every param group's learning rate to `schedule(epoch, lr)` at the start of each
    epoch (epochs count from 1). For the schedulers of ember.optim.lr_scheduler, pass them
    to fit(scheduler=...) instead.

    Example:
        >>> halve_every_10 = LearningRateScheduler(
        ...     lambda epoch, lr: lr / 2 if epoch > 1 and epoch % 10 == 1 else lr)
    """

    def __init__(self, schedule) -> None:
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable (epoch, lr) -> "
                            f"lr, got {type(schedule).__name__}")
        self.schedule = schedule

    def on_epoch_begin(self, epoch: int, logs: dict) -> None:
        for group in self.trainer.optimizer.param_groups:
            group["lr"] = float(self.schedule(epoch, group["lr"]))


class LambdaCallback(Callback):
    """A callback from plain functions, one per hook, with the hook's arguments.

    Example:
        >>> LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, **hooks) -> None:
        for name, function in hooks.items():
            if name not in _HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; the hooks are "
                                 f"{', '.join(_HOOKS)}")
            if not callable(function):
                raise TypeError(f"LambdaCallback: {name} must be callable, got "
                                f"{type(function).__name__}")
            setattr(self, name, function)
