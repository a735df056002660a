"""Learning-rate schedulers: change each param group's lr as training goes on, with
PyTorch's sequences (its chained updates, and its closed forms when `step(epoch)` is given).

Call `scheduler.step()` after `optimizer.step()`: once per epoch, or once per batch for
OneCycleLR. The base class, ReduceLROnPlateau and OneCycleLR live in their own files and
are imported here, so all are `ember.optim.lr_scheduler.<Name>` as in PyTorch.
"""
from __future__ import annotations

import math
import types
from bisect import bisect_right
from collections import Counter

from ember.optim.lr_scheduler_base import EPOCH_DEPRECATION_WARNING, LRScheduler
from ember.optim.one_cycle import OneCycleLR
from ember.optim.optimizer import Optimizer
from ember.optim.reduce_on_plateau import ReduceLROnPlateau

__all__ = ["EPOCH_DEPRECATION_WARNING", "LRScheduler", "LambdaLR", "StepLR", "MultiStepLR",
           "LinearLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau", "OneCycleLR"]


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch).

    Args:
        optimizer: the optimizer whose learning rates change.
        lr_lambda: a function of the epoch giving a factor, or a list of them (one per
            param group).
        last_epoch: index of the last epoch done (-1 to start).

    Example:
        >>> scheduler = LambdaLR(optimizer, lr_lambda=lambda epoch: 0.95 ** epoch)
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f"Expected {len(optimizer.param_groups)} lr_lambdas, but "
                                 f"got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict:
        """As LRScheduler.state_dict; of the lambdas, only callable objects' attributes are
        saved (plain functions and lambdas become None)."""
        state = {key: value for key, value in self.__dict__.items()
                 if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        lr_lambdas = state_dict.pop("lr_lambdas")
        self.__dict__.update(state_dict)
        for fn, saved in zip(self.lr_lambdas, lr_lambdas):
            if saved is not None:
                fn.__dict__.update(saved)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        return [base_lr * lr_lambda(self.last_epoch)
                for lr_lambda, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class StepLR(LRScheduler):
    """Multiply the lr by gamma every step_size epochs: lr = base_lr * gamma^(epoch // step_size).

    Args:
        optimizer: the optimizer whose learning rates change.
        step_size: period of the decay, in epochs.
        gamma: factor of each decay (default 0.1).
        last_epoch: index of the last epoch done (-1 to start).

    Example:
        >>> scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if not step_size >= 1:
            raise ValueError(f"StepLR: step_size must be a positive number of epochs, got "
                             f"{step_size}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by gamma at each milestone epoch (by gamma^n at a milestone listed
    n times).

    Args:
        optimizer: the optimizer whose learning rates change.
        milestones: the epochs at which to decay (increasing).
        gamma: factor of each decay (default 0.1).
        last_epoch: index of the last epoch done (-1 to start).

    Example:
        >>> scheduler = MultiStepLR(optimizer, milestones=[30, 80], gamma=0.1)
    """

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the lr by a factor that goes linearly from start_factor to end_factor over
    total_iters epochs, then stays: lr = base_lr * (start + (end - start) *
    min(epoch, total_iters) / total_iters).

    Args:
        optimizer: the optimizer whose learning rates change.
        start_factor: factor in the first epoch, in (0, 1] (default 1/3).
        end_factor: factor from total_iters on, in [0, 1] (default 1.0).
        total_iters: number of epochs of the change (default 5).
        last_epoch: index of the last epoch done (-1 to start).

    Example:
        >>> scheduler = LinearLR(optimizer, start_factor=0.1, total_iters=10)   # warm-up
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(f"Starting multiplicative factor expected to be greater than 0 "
                             f"and less or equal to 1, got start_factor={start_factor}")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(f"Ending multiplicative factor expected to be between 0 and 1, "
                             f"got end_factor={end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # the ratio of this epoch's factor to the previous one's
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * change)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        change = self.end_factor - self.start_factor
        return [base_lr * (self.start_factor
                           + change * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by gamma every epoch: lr = base_lr * gamma^epoch.

    Args:
        optimizer: the optimizer whose learning rates change.
        gamma: factor of each decay.
        last_epoch: index of the last epoch done (-1 to start).

    Example:
        >>> scheduler = ExponentialLR(optimizer, gamma=0.9)
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneal the lr along a half cosine from base_lr to eta_min over T_max epochs:
    lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2, computed
    step to step from the current lr (so changes made by others carry on), as PyTorch does.
    Past T_max the cosine continues (the lr rises again), without restarts.

    Args:
        optimizer: the optimizer whose learning rates change.
        T_max: number of epochs of the half cosine.
        eta_min: the lowest learning rate (default 0).
        last_epoch: index of the last epoch done (-1 to start).

    Example:
        >>> scheduler = CosineAnnealingLR(optimizer, T_max=100)
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive number of epochs, "
                             f"got {T_max}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self._is_initial:
            return self._current_lrs()
        epoch, period = self.last_epoch, self.T_max
        if (epoch - 1 - period) % (2 * period) == 0:
            # leaving the bottom of the cosine, where the ratio below would divide by zero
            return [group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        # (lr_t - eta_min) / (lr_{t-1} - eta_min) = (1 + cos(pi t / T)) / (1 + cos(pi (t-1) / T))
        ratio = (1 + math.cos(math.pi * epoch / period)) / \
            (1 + math.cos(math.pi * (epoch - 1) / period))
        return [ratio * (group["lr"] - self.eta_min) + self.eta_min
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]
