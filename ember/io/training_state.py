"""Training checkpoints: model, optimizer and scheduler state, epoch and step counters and
ember's random state in one safetensors file, so a stopped run resumes bit for bit.
"""
from __future__ import annotations

from ember import random
from ember.io.checkpoint import load, save
from ember.io.safetensors_file import CheckpointError, describe
from ember.tensor import Tensor

CHECKPOINT_KIND = "ember.training_checkpoint"


def save_checkpoint(path, *, model, optimizer=None, scheduler=None, epoch: int = 0,
                    step: int = 0, extra=None) -> None:
    """Save everything needed to resume training, atomically, to one safetensors file.

    The file holds `model.state_dict()`, `optimizer.state_dict()` and
    `scheduler.state_dict()` (PyTorch's formats), the counters, `extra`, and the state of
    ember's default random generator (so dropout masks and shuffles continue as if the run
    had never stopped). A generator of your own (e.g. a DataLoader's) can go in `extra` as
    `generator.get_state()`.

    Args:
        path: the file to write (str or os.PathLike), or a binary file object.
        model: the Module being trained.
        optimizer: its optimizer, or None.
        scheduler: its learning-rate scheduler, or None.
        epoch: the number of epochs completed.
        step: the number of optimizer steps taken.
        extra: anything else `ember.save` can store (metrics, a best score...).

    Example:
        >>> ember.io.save_checkpoint("run.safetensors", model=model, optimizer=opt,
        ...                          epoch=epoch, step=step)
    """
    _check_counter("save_checkpoint", "epoch", epoch)
    _check_counter("save_checkpoint", "step", step)
    checkpoint = {"kind": CHECKPOINT_KIND, "model": model.state_dict(), "epoch": int(epoch),
                  "step": int(step), "rng_state": random.get_rng_state()}
    if optimizer is not None:
        checkpoint["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        checkpoint["scheduler"] = scheduler.state_dict()
    if extra is not None:
        checkpoint["extra"] = extra
    save(checkpoint, path)


def load_checkpoint(path, *, model, optimizer=None, scheduler=None, map_location=None,
                    strict: bool = True, restore_rng: bool = True) -> dict:
    """Restore a checkpoint written by `save_checkpoint` into a model (and optimizer and
    scheduler), and restore ember's random state; returns the counters and extras.

    The file is read and checked in full before anything is changed: a missing section
    (an optimizer given but none saved) or a model/optimizer of another shape raises with
    the model and optimizer untouched.

    Args:
        path: the file written by `save_checkpoint`.
        model: the Module to load into (its parameters are overwritten in place, so an
            optimizer built on them stays attached).
        optimizer: the optimizer to restore, or None to skip it.
        scheduler: the scheduler to restore, or None to skip it.
        map_location: passed to `ember.load`.
        strict: passed to `model.load_state_dict`.
        restore_rng: restore ember's default random generator (default True).

    Returns:
        {"epoch": int, "step": int, "extra": what was saved as extra, or None}

    Example:
        >>> info = ember.io.load_checkpoint("run.safetensors", model=model, optimizer=opt)
        >>> start_epoch = info["epoch"]
    """
    checkpoint = load(path, map_location=map_location)
    name = describe(path)
    _check_sections(checkpoint, name, optimizer, scheduler)
    if optimizer is not None:
        _check_optimizer_fits(checkpoint["optimizer"], optimizer, name)
    model.load_state_dict(checkpoint["model"], strict=strict)
    if optimizer is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    if restore_rng:
        random.set_rng_state(checkpoint["rng_state"])
    return {"epoch": checkpoint["epoch"], "step": checkpoint["step"],
            "extra": checkpoint.get("extra")}


def _check_counter(op: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{op}: {name} must be a non-negative int, got {value!r}")


def _check_sections(checkpoint, name: str, optimizer, scheduler) -> None:
    """The file is a training checkpoint holding every section we were asked to restore."""
    if not isinstance(checkpoint, dict) or checkpoint.get("kind") != CHECKPOINT_KIND:
        raise CheckpointError(f"load_checkpoint: {name} is not a training checkpoint written "
                              f"by save_checkpoint; for a saved state dict use "
                              f"model.load_state_dict(ember.load(path))")
    for section, wanted in (("optimizer", optimizer), ("scheduler", scheduler)):
        if wanted is not None and section not in checkpoint:
            raise CheckpointError(f"load_checkpoint: {name} holds no {section} state, but "
                                  f"a {section} ({type(wanted).__name__}) was given to "
                                  f"restore; pass {section}=None to skip it")
    broken = [key for key, expected in (("model", dict), ("epoch", int), ("step", int),
                                        ("rng_state", Tensor))
              if not isinstance(checkpoint.get(key), expected)]
    if broken:
        raise CheckpointError(f"load_checkpoint: {name} is damaged: its entries "
                              f"{', '.join(broken)} are missing or of the wrong type")


def _check_optimizer_fits(saved: dict, optimizer, name: str) -> None:
    """The saved optimizer has as many parameter groups, each as many parameters, as the
    optimizer given (PyTorch's check, done here before the model is touched)."""
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    if not isinstance(groups, list):
        raise CheckpointError(f"load_checkpoint: {name} has optimizer state without "
                              f"param_groups")
    saved_sizes = [len(group["params"]) if isinstance(group, dict)
                   and isinstance(group.get("params"), list) else None for group in groups]
    own_sizes = [len(group["params"]) for group in optimizer.param_groups]
    if saved_sizes != own_sizes:
        raise ValueError(f"load_checkpoint: the optimizer in {name} has parameter groups of "
                         f"sizes {saved_sizes}, but the optimizer given has {own_sizes}")
