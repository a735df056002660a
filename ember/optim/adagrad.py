"""Adagrad: per-coordinate learning rates that shrink with the sum of squared gradients."""
from __future__ import annotations

from ember.backend import get_array_module
from ember.optim.optimizer import Optimizer, state_tensor, step_counter


class Adagrad(Optimizer):
    """Adagrad, step for step PyTorch's (t counts this parameter's steps):

        g = grad (negated when maximize) + weight_decay * theta
        s = s + g^2                                  (s starts at initial_accumulator_value)
        theta = theta - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    Args:
        params: the tensors to optimize, or param groups (dicts).
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty coefficient (default 0).
        initial_accumulator_value: starting value of the sum of squares (default 0).
        eps: added to the denominator for numerical stability (default 1e-10).
        maximize: climb the objective instead of descending it.

    Example:
        >>> optimizer = ember.optim.Adagrad(model.parameters(), lr=0.1)
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False, **implementation_flags) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "maximize": maximize}
        super().__init__(params, defaults, implementation_flags)

    def add_param_group(self, param_group: dict) -> None:
        """As Optimizer.add_param_group; the new parameters' state starts at once (as in
        PyTorch, whose state_dict shows it before the first step)."""
        super().add_param_group(param_group)
        for param in param_group["params"]:
            self._start_state(param._data, self.state[param], param_group)

    def _start_state(self, param, state: dict, group: dict) -> None:
        xp = get_array_module(param)
        state["step"] = step_counter()
        state["sum"] = state_tensor(xp.full_like(param, group["initial_accumulator_value"]))

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        self._require(group["lr"] >= 0, f"Invalid learning rate: {group['lr']} (must be >= 0)")
        self._require(group["lr_decay"] >= 0,
                      f"Invalid lr_decay value: {group['lr_decay']} (must be >= 0)")
        self._require(group["weight_decay"] >= 0,
                      f"Invalid weight_decay value: {group['weight_decay']} (must be >= 0)")
        self._require(group["initial_accumulator_value"] >= 0,
                      f"Invalid initial_accumulator_value value: "
                      f"{group['initial_accumulator_value']} (must be >= 0)")
        self._require(group["eps"] >= 0, f"Invalid epsilon value: {group['eps']} (must be >= 0)")

    def _update(self, param, grad, state: dict, group: dict) -> None:
        xp = get_array_module(param)
        if not state:                # a parameter whose state a loaded state dict lacked
            self._start_state(param, state, group)
        step_count = state["step"]._data
        step_count += 1
        step = float(step_count)
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param              # g = g + lambda theta
        decayed_lr = group["lr"] / (1 + (step - 1) * group["lr_decay"])

        square_sum = state["sum"]._data
        square_sum += grad * grad                                    # s = s + g^2
        denominator = xp.sqrt(square_sum) + group["eps"]
        param -= decayed_lr * grad / denominator                     # theta = theta - lr_t g / a
