"""Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay."""
from __future__ import annotations

from ember.backend import get_array_module
from ember.ops.compiled import update_kernel
from ember.optim.optimizer import Optimizer, state_tensor


class SGD(Optimizer):
    """Stochastic gradient descent, step for step PyTorch's:

        g = grad (negated when maximize) + weight_decay * theta
        b = g at the first step, then b = momentum * b + (1 - dampening) * g
        g = g + momentum * b with nesterov, else g = b        (when momentum != 0)
        theta = theta - lr * g

    Args:
        params: the tensors to optimize, or param groups (dicts).
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty coefficient (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: climb the objective instead of descending it.

    Example:
        >>> optimizer = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> optimizer.zero_grad(); loss_fn(model(x), y).backward(); optimizer.step()
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, **implementation_flags) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults, implementation_flags)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        self._require(group["lr"] >= 0, f"Invalid learning rate: {group['lr']} (must be >= 0)")
        self._require(group["momentum"] >= 0,
                      f"Invalid momentum value: {group['momentum']} (must be >= 0)")
        self._require(group["weight_decay"] >= 0,
                      f"Invalid weight_decay value: {group['weight_decay']} (must be >= 0)")
        self._require(not group["nesterov"] or (group["momentum"] > 0
                                                and group["dampening"] == 0),
                      f"Nesterov momentum requires a momentum and zero dampening (got "
                      f"momentum={group['momentum']}, dampening={group['dampening']})")

    def _update(self, param, grad, state: dict, group: dict) -> None:
        momentum = group["momentum"]
        buffer = state.get("momentum_buffer")
        kernel = update_kernel(param, grad, *(() if buffer is None else (buffer._data,)))
        if kernel is not None:      # the lines below in one compiled pass, the same bits
            first = momentum != 0 and buffer is None
            if first:
                buffer = state_tensor(get_array_module(param).empty_like(param))
                state["momentum_buffer"] = buffer
            kernel.sgd(param, grad, None if momentum == 0 else buffer._data, group["lr"],
                       momentum, 1 - group["dampening"], group["weight_decay"],
                       group["maximize"], first, group["nesterov"])
            return
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param           # g = g + lambda theta
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = get_array_module(grad).array(grad, copy=True)  # b_1 = g_1 (0-d too)
                state["momentum_buffer"] = state_tensor(buffer)
            else:
                buffer = buffer._data
                buffer *= momentum                                   # b = mu b + (1 - tau) g
                dampening = group["dampening"]
                buffer += grad if dampening == 0 else (1 - dampening) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param -= group["lr"] * grad                                  # theta = theta - lr g
