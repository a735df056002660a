"""`ember.fit`, `ember.evaluate` and `ember.predict`: the training loop PyTorch leaves users
to write, shaped like Keras's fit: epochs of zero_grad, forward, loss, backward, step,
with running metrics, validation, callbacks, schedules and exact resume."""
from __future__ import annotations

import math
import os

from ember import random
from ember.grad_mode import no_grad
from ember.ops.shape import cat
from ember.tensor import Tensor
from ember.training.callbacks import Callback
from ember.training.history import History
from ember.training.metrics import make_metric
from ember.training.progress import EpochProgress, choose_mode

# Schedulers whose step() belongs after every batch rather than every epoch.
_PER_BATCH_SCHEDULERS = ("OneCycleLR", "CyclicLR")


def as_loader(data, batch_size: int, shuffle: bool):
    """Batches from a DataLoader (or any iterable of batches), a Dataset, or (x, y)."""
    from ember.data import DataLoader, Dataset, TensorDataset

    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], tuple):
        data = TensorDataset(*(x if isinstance(x, Tensor) else Tensor._make(x) for x in data))
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
    if not hasattr(data, "__iter__"):
        raise TypeError(f"fit: data must be a DataLoader, a Dataset or an (inputs, targets) "
                        f"pair, got {type(data).__name__}")
    return data


def resolve_loss(loss):
    """A loss callable from a function, a Module or a name in ember.nn.functional."""
    if isinstance(loss, str):
        import ember.nn.functional as F

        name = {"mse": "mse_loss", "l1": "l1_loss", "bce": "binary_cross_entropy",
                "nll": "nll_loss"}.get(loss, loss)
        if not hasattr(F, name):
            raise ValueError(f"fit: unknown loss {loss!r}; pass a function or a module, or "
                             "a name in ember.nn.functional such as 'cross_entropy'")
        return getattr(F, name)
    if not callable(loss):
        raise TypeError(f"fit: loss must be callable, got {type(loss).__name__}")
    return loss


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    length = len(batch) if hasattr(batch, "__len__") else "?"
    raise ValueError("fit: each batch must be an (inputs, targets) pair, got "
                     f"{type(batch).__name__} of length {length}")


def _batch_size(target) -> int:
    return int(target.shape[0]) if getattr(target, "ndim", 0) else 1


class Trainer:
    """The state of one `fit` run; callbacks see it as `self.trainer`."""

    def __init__(self, model, optimizer, loss, scheduler, callbacks, metrics,
                 clip_grad_norm: float | None) -> None:
        self.model, self.optimizer, self.loss = model, optimizer, loss
        self.scheduler, self.callbacks = scheduler, list(callbacks)
        self.metric_specs = tuple(metrics)
        self.clip_grad_norm = clip_grad_norm
        self.history = History()
        self.epoch, self.stop_training = 0, False
        self.loader = None
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"fit: callbacks must be ember.training.Callback instances, got "
                                f"{type(callback).__name__}")
            callback.trainer = self

    def _call(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def train_epoch(self, loader, progress: EpochProgress) -> dict:
        self.model.train()
        metrics = [make_metric(m) for m in self.metric_specs]
        total, count = 0.0, 0
        per_batch = type(self.scheduler).__name__ in _PER_BATCH_SCHEDULERS
        logs = {}
        for step, batch in enumerate(loader):
            inputs, targets = _split_batch(batch)
            self._call("on_batch_begin", step, logs)
            self.optimizer.zero_grad()
            outputs = self.model(inputs)
            loss = self.loss(outputs, targets)
            loss.backward()
            if self.clip_grad_norm is not None:
                from ember.nn.utils import clip_grad_norm_

                clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
            self.optimizer.step()
            if per_batch:
                self.scheduler.step()
            n = _batch_size(targets)
            batch_loss = loss.item()
            total, count = total + batch_loss * n, count + n
            for metric in metrics:
                metric.update(outputs.detach(), targets)
            logs = {"loss": total / count, "batch_loss": batch_loss,
                    **{m.name: m.compute() for m in metrics}}
            progress.update(logs)
            self._call("on_batch_end", step, logs)
            if self.stop_training:
                break
        logs.pop("batch_loss", None)
        return logs

    def save_checkpoint(self, path: str, epoch: int) -> None:
        """Everything needed to continue exactly: weights, optimizer and scheduler state,
        the epoch, the random generators' states, callbacks' state and the history."""
        from ember.io import save

        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "epoch": epoch, "rng": random.get_rng_state(),
                 "history": self.history.to_dict(),
                 "callbacks": [c.state_dict() for c in self.callbacks]}
        if self.scheduler is not None:
            state["scheduler"] = self.scheduler.state_dict()
        generator = getattr(self.loader, "generator", None)
        if generator is not None:
            state["loader_rng"] = generator.get_state()
        save(state, path)

    def load_checkpoint(self, path: str) -> int:
        """Restore a checkpoint written by save_checkpoint; returns the next epoch."""
        from ember.io import load

        state = load(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        random.set_rng_state(state["rng"])
        generator = getattr(self.loader, "generator", None)
        if generator is not None and "loader_rng" in state:
            generator.set_state(state["loader_rng"])
        for callback, callback_state in zip(self.callbacks, state.get("callbacks", [])):
            callback.load_state_dict(callback_state)
        self.history = History.from_dict(state["history"])
        return int(state["epoch"]) + 1


def fit(model, train_data, loss, optimizer, epochs: int = 1, val_data=None,
        metrics=("accuracy",), callbacks=(), scheduler=None, *, batch_size: int = 32,
        shuffle: bool = True, verbose="auto", clip_grad_norm: float | None = None,
        resume_from: str | None = None, file=None) -> History:
    """Train `model` for `epochs` passes over `train_data`, Keras-style.

    Args:
        model: an ember.nn.Module.
        train_data: a DataLoader, a Dataset, or an (inputs, targets) pair of tensors/arrays
            (batched with `batch_size`, shuffled if `shuffle`).
        loss: loss(outputs, targets) -> scalar tensor: a function, a loss Module, or a name
            in ember.nn.functional ("cross_entropy", "mse").
        optimizer: an ember.optim optimizer over the model's parameters.
        val_data: evaluated after every epoch; its results are logged as val_<name>.
        metrics: names ("accuracy", "top5_accuracy", "mae") or Metric instances.
        callbacks: ember.training callbacks (EarlyStopping, ModelCheckpoint, ...).
        scheduler: an ember.optim.lr_scheduler scheduler, stepped after each epoch (after
            each batch for OneCycleLR; with the validation loss for ReduceLROnPlateau).
        verbose: "auto" (a progress bar on a terminal, a line per epoch in logs), 0, 1, 2.
        clip_grad_norm: clip the gradients' total 2-norm to this value before each step.
        resume_from: a checkpoint written by ModelCheckpoint: training continues from the
            epoch after it, with the same result as if it had never stopped.

    Returns:
        History with one value per epoch for "loss", each metric, "lr" and the val_ ones.

    Example:
        >>> history = ember.fit(model, (x, y), "cross_entropy",
        ...                     ember.optim.Adam(model.parameters(), lr=1e-2), epochs=5)
    """
    loader = as_loader(train_data, batch_size, shuffle)
    val_loader = None if val_data is None else as_loader(val_data, batch_size, False)
    trainer = Trainer(model, optimizer, resolve_loss(loss), scheduler, callbacks, metrics,
                      clip_grad_norm)
    trainer.loader = loader
    first_epoch = 1
    if resume_from is not None:
        if not os.path.exists(resume_from):
            raise FileNotFoundError(f"fit: no checkpoint at {resume_from!r} to resume from")
        first_epoch = trainer.load_checkpoint(resume_from)
    mode = choose_mode(verbose, file)
    steps = len(loader) if hasattr(loader, "__len__") else None
    trainer._call("on_train_begin", {})
    for epoch in range(first_epoch, epochs + 1):
        trainer.epoch = epoch
        trainer._call("on_epoch_begin", epoch, {})
        progress = EpochProgress(epoch, epochs, steps, mode, file)
        logs = trainer.train_epoch(loader, progress)
        if val_loader is not None:
            results = evaluate(model, val_loader, trainer.loss, metrics)
            logs.update({f"val_{k}": v for k, v in results.items()})
        logs["lr"] = float(optimizer.param_groups[0]["lr"])
        _step_epoch_scheduler(scheduler, logs)
        progress.close(logs)
        trainer.history.append(epoch, logs)
        trainer._call("on_epoch_end", epoch, logs)
        if trainer.stop_training:
            break
    trainer._call("on_train_end", {})
    return trainer.history


def _step_epoch_scheduler(scheduler, logs: dict) -> None:
    if scheduler is None or type(scheduler).__name__ in _PER_BATCH_SCHEDULERS:
        return
    if type(scheduler).__name__ == "ReduceLROnPlateau":
        monitored = logs.get("val_loss", logs.get("loss"))
        if monitored is None or math.isnan(monitored):
            return
        scheduler.step(monitored)
    else:
        scheduler.step()


def evaluate(model, data, loss=None, metrics=("accuracy",), *, batch_size: int = 256) -> dict:
    """Loss (if given) and metrics over `data`, in eval mode without recording.

    Returns a dict such as {"loss": 0.31, "accuracy": 0.91}.
    """
    loader = as_loader(data, batch_size, False)
    loss_fn = None if loss is None else resolve_loss(loss)
    metric_objects = [make_metric(m) for m in metrics]
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with no_grad():
            for batch in loader:
                inputs, targets = _split_batch(batch)
                outputs = model(inputs)
                n = _batch_size(targets)
                if loss_fn is not None:
                    total, count = total + loss_fn(outputs, targets).item() * n, count + n
                for metric in metric_objects:
                    metric.update(outputs, targets)
    finally:
        model.train(was_training)
    results = {} if loss_fn is None else {"loss": total / max(count, 1)}
    results.update({m.name: m.compute() for m in metric_objects})
    return results


def predict(model, data, *, batch_size: int = 256) -> Tensor:
    """The model's outputs for every example in `data`, concatenated along dim 0.

    `data` may be a tensor of inputs, a Dataset/DataLoader of (inputs, targets) pairs, or
    an (inputs, targets) pair.
    """
    if isinstance(data, Tensor):
        batches = (data[i:i + batch_size] for i in range(0, data.shape[0], batch_size))
    else:
        batches = (_split_batch(batch)[0] for batch in as_loader(data, batch_size, False))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = [model(inputs) for inputs in batches]
    finally:
        model.train(was_training)
    return cat(outputs, dim=0)
