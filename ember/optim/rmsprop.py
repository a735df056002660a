"""RMSprop: divide the gradient by a running root mean square of recent gradients."""
from __future__ import annotations

from ember.backend import get_array_module
from ember.optim.optimizer import Optimizer, state_tensor, step_counter


class RMSprop(Optimizer):
    """RMSprop, step for step PyTorch's:

        g = grad (negated when maximize) + weight_decay * theta
        v = alpha * v + (1 - alpha) * g^2              running mean square
        a = sqrt(v) + eps, or, centered, a = sqrt(v - gbar^2) + eps
            with gbar = alpha * gbar + (1 - alpha) * g   (running mean)
        theta = theta - lr * g / a, or, with momentum,
            b = momentum * b + g / a,  theta = theta - lr * b

    Args:
        params: the tensors to optimize, or param groups (dicts).
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the running averages (default 0.99).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty coefficient (default 0).
        momentum: momentum factor (default 0).
        centered: normalise by an estimate of the gradient's variance instead of its
            second moment.
        maximize: climb the objective instead of descending it.

    Example:
        >>> optimizer = ember.optim.RMSprop(model.parameters(), lr=1e-3, momentum=0.9)
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False, **implementation_flags) -> None:
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults, implementation_flags)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        self._require(group["lr"] >= 0, f"Invalid learning rate: {group['lr']} (must be >= 0)")
        self._require(group["eps"] >= 0, f"Invalid epsilon value: {group['eps']} (must be >= 0)")
        self._require(group["momentum"] >= 0,
                      f"Invalid momentum value: {group['momentum']} (must be >= 0)")
        self._require(group["weight_decay"] >= 0,
                      f"Invalid weight_decay value: {group['weight_decay']} (must be >= 0)")
        self._require(group["alpha"] >= 0,
                      f"Invalid alpha value: {group['alpha']} (must be >= 0)")

    def _update(self, param, grad, state: dict, group: dict) -> None:
        xp = get_array_module(param)
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = step_counter()
            state["square_avg"] = state_tensor(xp.zeros_like(param))
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = state_tensor(xp.zeros_like(param))
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = state_tensor(xp.zeros_like(param))
        state["step"]._data += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param              # g = g + lambda theta

        square_avg = state["square_avg"]._data
        square_avg *= alpha                                          # v = alpha v + (1 - alpha) g^2
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            grad_avg += (1 - alpha) * (grad - grad_avg)     # gbar = alpha gbar + (1 - alpha) g
            denominator = xp.sqrt(square_avg - grad_avg * grad_avg)  # sqrt(v - gbar^2): a std
        else:
            denominator = xp.sqrt(square_avg)
        denominator += group["eps"]

        if momentum > 0:
            buffer = state["momentum_buffer"]._data
            buffer *= momentum                                       # b = mu b + g / a
            buffer += grad / denominator
            param -= group["lr"] * buffer                            # theta = theta - lr b
        else:
            param -= group["lr"] * grad / denominator                # theta = theta - lr g / a
