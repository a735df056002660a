"""Adadelta: steps sized by the ratio of running RMS of past updates to that of gradients."""
from __future__ import annotations

from ember.backend import get_array_module
from ember.optim.optimizer import Optimizer, state_tensor, step_counter


class Adadelta(Optimizer):
    """Adadelta, step for step PyTorch's:

        g = grad (negated when maximize) + weight_decay * theta
        v = rho * v + (1 - rho) * g^2                       running mean square of g
        delta = sqrt(u + eps) / sqrt(v + eps) * g           the update, in units of theta
        u = rho * u + (1 - rho) * delta^2                   running mean square of updates
        theta = theta - lr * delta

    Args:
        params: the tensors to optimize, or param groups (dicts).
        lr: scale applied to delta (default 1.0).
        rho: smoothing constant of the running averages (default 0.9).
        eps: added inside the square roots for numerical stability (default 1e-6).
        weight_decay: L2 penalty coefficient (default 0).
        maximize: climb the objective instead of descending it.

    Example:
        >>> optimizer = ember.optim.Adadelta(model.parameters())
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False,
                 **implementation_flags) -> None:
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize}
        super().__init__(params, defaults, implementation_flags)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        self._require(group["lr"] >= 0, f"Invalid learning rate: {group['lr']} (must be >= 0)")
        self._require(0 <= group["rho"] <= 1,
                      f"Invalid rho value: {group['rho']} (must be in [0, 1])")
        self._require(group["eps"] >= 0, f"Invalid epsilon value: {group['eps']} (must be >= 0)")
        self._require(group["weight_decay"] >= 0,
                      f"Invalid weight_decay value: {group['weight_decay']} (must be >= 0)")

    def _update(self, param, grad, state: dict, group: dict) -> None:
        xp = get_array_module(param)
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = step_counter()
            state["square_avg"] = state_tensor(xp.zeros_like(param))
            state["acc_delta"] = state_tensor(xp.zeros_like(param))
        state["step"]._data += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param              # g = g + lambda theta

        square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
        square_avg *= rho                                            # v = rho v + (1 - rho) g^2
        square_avg += (1 - rho) * grad * grad
        std = xp.sqrt(square_avg + eps)
        delta = xp.sqrt(acc_delta + eps) / std * grad                # delta = RMS[u] / RMS[g] g
        acc_delta *= rho                                             # u = rho u + (1 - rho) delta^2
        acc_delta += (1 - rho) * delta * delta
        param -= group["lr"] * delta                                 # theta = theta - lr delta
