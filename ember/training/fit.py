"""`ember.fit`, `ember.evaluate` and `ember.predict`: the training loop PyTorch leaves users
to write, shaped like Keras's fit: epochs of zero_grad, forward, loss, backward, step,
with running metrics, validation, callbacks, schedules and exact resume."""
from __future__ import annotations

import math
import os

import numpy as np

from ember.creation import as_tensor
from ember.data import DataLoader, Dataset, TensorDataset
from ember.grad_mode import no_grad
from ember.io import load_checkpoint, save_checkpoint
from ember.nn.utils import clip_grad_norm_
from ember.ops.shape import cat
from ember.tensor import Tensor
from ember.training.callbacks import Callback, ModelCheckpoint
from ember.training.history import History
from ember.training.losses import binary_threshold, resolve_loss
from ember.training.metrics import Metric, make_metric
from ember.training.progress import EpochProgress, choose_mode

# Schedulers whose step() belongs after every batch rather than every epoch.
_PER_BATCH_SCHEDULERS = ("OneCycleLR", "CyclicLR")


def as_loader(data, batch_size: int, shuffle: bool, op: str = "fit"):
    """Batches from a DataLoader (or any iterable of batches), a Dataset, or an
    (inputs, targets) tuple of tensors or arrays (arrays keep their dtype)."""
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], tuple):
        data = TensorDataset(*(x if isinstance(x, Tensor) else as_tensor(x) for x in data))
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
    if isinstance(data, (Tensor, np.ndarray)) or not hasattr(data, "__iter__"):
        raise TypeError(f"{op}: data must be a DataLoader, a Dataset or an (inputs, targets) "
                        f"tuple, got {type(data).__name__}")
    return data


def _split_batch(batch, op: str = "fit"):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    length = len(batch) if hasattr(batch, "__len__") else "?"
    raise ValueError(f"{op}: each batch must be an (inputs, targets) pair, got "
                     f"{type(batch).__name__} of length {length}")


def _batch_size(target) -> int:
    return int(target.shape[0]) if getattr(target, "ndim", 0) else 1


def _as_sequence(items, kind: type) -> list:
    """One item or a sequence of them (a bare string or Metric is one item)."""
    if items is None:
        return []
    if isinstance(items, (str, kind)):
        return [items]
    return list(items)


def _per_batch(scheduler) -> bool:
    return any(cls.__name__ in _PER_BATCH_SCHEDULERS for cls in type(scheduler).__mro__)


def _loader_generators(loader) -> list:
    """The random generators a loader shuffles with (its own, its samplers')."""
    owners = (loader, getattr(loader, "sampler", None),
              getattr(getattr(loader, "batch_sampler", None), "sampler", None))
    found = []
    for owner in owners:
        generator = getattr(owner, "generator", None)
        if generator is not None and all(generator is not g for g in found):
            found.append(generator)
    return found


class Trainer:
    """The state of one `fit` run; callbacks see it as `self.trainer`."""

    def __init__(self, model, optimizer, loss, scheduler, callbacks, metrics,
                 clip_grad_norm: float | None, loader, mode: str, file) -> None:
        self.model, self.optimizer, self.loss = model, optimizer, loss
        self.scheduler, self.loader = scheduler, loader
        # checkpoints are written last, so they hold every other callback's epoch state
        self.callbacks = ([c for c in callbacks if not isinstance(c, ModelCheckpoint)]
                          + [c for c in callbacks if isinstance(c, ModelCheckpoint)])
        self.metric_specs, self.threshold = tuple(metrics), binary_threshold(loss)
        self.clip_grad_norm = clip_grad_norm
        self.mode, self.file = mode, file
        self.history = History()
        self.epoch, self.initial_epoch, self.step, self.last_lr = 0, 1, 0, None
        self.stop_training = False
        for callback in self.callbacks:
            callback.trainer = self

    def _call(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def log(self, message: str) -> None:
        """A message from a callback, shown unless fit is silent (verbose=0)."""
        EpochProgress.write(message, self.mode, self.file)

    def metrics(self) -> list:
        return [make_metric(spec, self.threshold) for spec in self.metric_specs]

    def train_epoch(self, progress: EpochProgress) -> dict:
        """One pass over the loader; returns the epoch's mean loss and metrics, and keeps
        the lr of its last step as `last_lr`."""
        self.model.train()
        metrics = self.metrics()
        per_batch = _per_batch(self.scheduler)
        total, count, logs, lr = 0.0, 0, {}, None
        for step, batch in enumerate(self.loader):
            inputs, targets = _split_batch(batch)
            self._call("on_batch_begin", step, {})
            self.optimizer.zero_grad()
            outputs = self.model(inputs)
            loss = self.loss(outputs, targets)
            loss.backward()
            if self.clip_grad_norm is not None:
                clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
            lr = float(self.optimizer.param_groups[0]["lr"])
            self.optimizer.step()
            self.step += 1
            if per_batch:
                self.scheduler.step()
            n = _batch_size(targets)
            batch_loss = loss.item()
            total, count = total + batch_loss * n, count + n
            for metric in metrics:
                metric.update(outputs.detach(), targets)
            logs = {"loss": total / count, **{m.name: m.compute() for m in metrics},
                    "batch_loss": batch_loss}
            progress.update(logs)
            self._call("on_batch_end", step, logs)
            if self.stop_training:
                break
        if lr is None:
            raise ValueError(f"fit: the training data gave no batches in epoch {self.epoch} "
                             f"(an exhausted iterator? pass a DataLoader, which can be "
                             f"iterated again every epoch)")
        self.last_lr = lr
        return {key: value for key, value in logs.items() if key != "batch_loss"}

    def save_checkpoint(self, path: str, epoch: int) -> None:
        """Everything needed to continue exactly, in ember.io's checkpoint format: weights,
        optimizer and scheduler state, counters, random states, callbacks and history."""
        callbacks = {key: callback.state_dict() for key, callback in self._callback_keys()}
        extra = {"history": self.history.to_dict(), "callbacks": callbacks,
                 "loader_generators": [g.get_state() for g in _loader_generators(self.loader)]}
        save_checkpoint(path, model=self.model, optimizer=self.optimizer,
                        scheduler=self.scheduler, epoch=epoch, step=self.step, extra=extra)

    def load_training_state(self, path: str) -> dict:
        """Restore model, optimizer, scheduler, random states, counters and history from a
        checkpoint of save_checkpoint; returns the callbacks' saved states."""
        info = load_checkpoint(path, model=self.model, optimizer=self.optimizer,
                               scheduler=self.scheduler)
        extra = info["extra"] if isinstance(info["extra"], dict) else {}
        for generator, state in zip(_loader_generators(self.loader),
                                    extra.get("loader_generators", [])):
            generator.set_state(state)
        self.history = History.from_dict(extra.get("history", {}))
        self.initial_epoch, self.step = info["epoch"] + 1, info["step"]
        return extra.get("callbacks", {})

    def load_callback_states(self, states: dict) -> None:
        for key, callback in self._callback_keys():
            if key in states:
                callback.load_state_dict(states[key])

    def _callback_keys(self):
        """("EarlyStopping.0", callback) ...: a key per callback that survives reordering."""
        seen: dict[str, int] = {}
        for callback in self.callbacks:
            name = type(callback).__name__
            seen[name] = seen.get(name, -1) + 1
            yield f"{name}.{seen[name]}", callback


def _check_fit_arguments(epochs, callbacks, clip_grad_norm, resume_from) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"fit: callbacks must be ember.training.Callback instances, got "
                            f"{type(callback).__name__}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"fit: clip_grad_norm must be a positive number, got "
                         f"{clip_grad_norm!r}")
    if resume_from is not None and not os.path.exists(resume_from):
        raise FileNotFoundError(f"fit: no checkpoint at {os.fspath(resume_from)!r} to resume "
                                f"from")


def fit(model, train_data, loss, optimizer, epochs: int = 1, val_data=None,
        metrics=("accuracy",), callbacks=(), scheduler=None, *, batch_size: int = 32,
        shuffle: bool = True, verbose="auto", clip_grad_norm: float | None = None,
        resume_from: str | None = None, file=None) -> History:
    """Train `model` for `epochs` passes over `train_data`, Keras-style.

    Each batch runs exactly the loop one would write by hand: optimizer.zero_grad(),
    outputs = model(inputs), loss(outputs, targets).backward(), optional gradient
    clipping, optimizer.step(); fit draws no random numbers of its own.

    Args:
        model: an ember.nn.Module.
        train_data: a DataLoader, a Dataset, or an (inputs, targets) tuple of tensors or
            arrays (batched with `batch_size`, shuffled if `shuffle`).
        loss: loss(outputs, targets) -> scalar tensor: a function, a loss Module, or the
            name of a loss in ember.nn.functional ("cross_entropy", "mse", "bce", ...).
        optimizer: an ember.optim optimizer over the model's parameters.
        epochs: the epoch to stop after (with resume_from, counting the epochs done).
        val_data: evaluated after every epoch; its results are logged as val_<name>.
        metrics: names ("accuracy", "top5_accuracy", "mae") or Metric instances.
        callbacks: ember.training callbacks (EarlyStopping, ModelCheckpoint, ...).
        scheduler: an ember.optim.lr_scheduler scheduler, stepped after each epoch (after
            each batch for OneCycleLR; with val_loss, or loss without val_data, for
            ReduceLROnPlateau).
        verbose: "auto" (a progress bar on a terminal, a line per epoch otherwise), 0
            (nothing), 1 (a bar, with tqdm), 2 (a line per epoch).
        clip_grad_norm: clip the gradients' total 2-norm to this value before each step.
        resume_from: a checkpoint written by ModelCheckpoint: training continues from the
            epoch after it, with the same result as if it had never stopped.
        file: where progress is written (default sys.stdout).

    Returns:
        History with one value per epoch for "loss", each metric, "lr" (of the epoch's
        last step) and the val_ ones.

    Example:
        >>> history = ember.fit(model, (x, y), "cross_entropy",
        ...                     ember.optim.Adam(model.parameters(), lr=1e-2), epochs=5)
    """
    callbacks = _as_sequence(callbacks, Callback)
    _check_fit_arguments(epochs, callbacks, clip_grad_norm, resume_from)
    metric_specs = _as_sequence(metrics, Metric)
    for spec in metric_specs:
        make_metric(spec)                              # unknown names fail before training
    loss_fn = resolve_loss(loss)
    mode = choose_mode(verbose, file)
    loader = as_loader(train_data, batch_size, shuffle)
    val_loader = None if val_data is None else as_loader(val_data, batch_size, False)
    trainer = Trainer(model, optimizer, loss_fn, scheduler, callbacks, metric_specs,
                      clip_grad_norm, loader, mode, file)
    callback_states = {} if resume_from is None else trainer.load_training_state(resume_from)
    try:
        steps = len(loader)
    except TypeError:
        steps = None
    trainer._call("on_train_begin", {})
    trainer.load_callback_states(callback_states)
    for epoch in range(trainer.initial_epoch, epochs + 1):
        trainer.epoch = epoch
        trainer._call("on_epoch_begin", epoch, {})
        progress = EpochProgress(epoch, epochs, steps, mode, file)
        logs = trainer.train_epoch(progress)
        if val_loader is not None:
            results = evaluate(model, val_loader, loss_fn, metric_specs)
            logs.update({f"val_{k}": v for k, v in results.items()})
        logs["lr"] = trainer.last_lr
        _step_epoch_scheduler(scheduler, logs)
        progress.close(logs)
        trainer.history.append(epoch, logs)
        trainer._call("on_epoch_end", epoch, logs)
        if trainer.stop_training:
            break
    trainer._call("on_train_end", {})
    return trainer.history


def _step_epoch_scheduler(scheduler, logs: dict) -> None:
    if scheduler is None or _per_batch(scheduler):
        return
    if any(cls.__name__ == "ReduceLROnPlateau" for cls in type(scheduler).__mro__):
        monitored = logs.get("val_loss", logs.get("loss"))
        if monitored is None or math.isnan(monitored):
            return
        scheduler.step(monitored)
    else:
        scheduler.step()


def evaluate(model, data, loss=None, metrics=("accuracy",), *, batch_size: int = 256) -> dict:
    """Loss (if given) and metrics over `data`, in eval mode without recording a graph;
    the model's train/eval mode is put back afterwards.

    Args:
        model: an ember.nn.Module.
        data: a DataLoader, a Dataset or an (inputs, targets) tuple.
        loss: as in fit, or None for metrics only.
        metrics: as in fit.
        batch_size: for a Dataset or a tuple.

    Returns:
        A dict such as {"loss": 0.31, "accuracy": 0.91}: the loss is the mean over
        examples (batch losses weighted by batch size).

    Example:
        >>> ember.evaluate(model, (x_test, y_test), "cross_entropy")
    """
    loss_fn = None if loss is None else resolve_loss(loss, "evaluate")
    threshold = None if loss_fn is None else binary_threshold(loss_fn)
    metric_objects = [make_metric(m, threshold) for m in _as_sequence(metrics, Metric)]
    loader = as_loader(data, batch_size, False, "evaluate")
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with no_grad():
            for batch in loader:
                inputs, targets = _split_batch(batch, "evaluate")
                outputs = model(inputs)
                n = _batch_size(targets)
                if loss_fn is not None:
                    total, count = total + loss_fn(outputs, targets).item() * n, count + n
                for metric in metric_objects:
                    metric.update(outputs, targets)
    finally:
        model.train(was_training)
    results = {} if loss_fn is None else {"loss": total / count if count else math.nan}
    results.update({m.name: m.compute() for m in metric_objects})
    return results


def _inputs_of(batch):
    """The inputs of a batch: (inputs, targets), (inputs,) or a bare tensor."""
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, (tuple, list)) and len(batch) in (1, 2):
        return batch[0]
    raise ValueError(f"predict: each batch must be inputs, (inputs,) or (inputs, targets), "
                     f"got {type(batch).__name__} of length {len(batch)}")


def predict(model, data, *, batch_size: int = 256) -> Tensor:
    """The model's outputs for every example in `data`, concatenated along dim 0, in eval
    mode without recording a graph.

    Args:
        model: an ember.nn.Module.
        data: a tensor or array of inputs, a Dataset/DataLoader whose batches are
            (inputs, targets) or inputs alone, or an (inputs, targets) tuple.
        batch_size: examples per forward pass (for tensors, arrays, datasets and tuples).

    Example:
        >>> probabilities = ember.predict(model, x_test).softmax(dim=1)
    """
    if isinstance(data, np.ndarray):
        data = as_tensor(data)
    if isinstance(data, Tensor):
        batches = (data[i:i + batch_size] for i in range(0, data.shape[0], batch_size))
    else:
        batches = (_inputs_of(batch) for batch in as_loader(data, batch_size, False,
                                                            "predict"))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = [model(inputs) for inputs in batches]
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("predict: the data holds no examples")
    return cat(outputs, dim=0)
