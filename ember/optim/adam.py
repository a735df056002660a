"""Adam (adaptive moment estimation, with the AMSGrad variant) and AdamW (Adam with
decoupled weight decay)."""
from __future__ import annotations

from ember.backend import get_array_module
from ember.ops.compiled import update_kernel
from ember.optim.optimizer import Optimizer, state_tensor, step_counter


class Adam(Optimizer):
    """Adam, step for step PyTorch's (t counts this parameter's steps):

        g = grad (negated when maximize) + weight_decay * theta    (L2 penalty), or
        theta = theta * (1 - lr * weight_decay)                    (decoupled, as AdamW)
        m = beta1 * m + (1 - beta1) * g             first moment
        v = beta2 * v + (1 - beta2) * g^2           second moment (v_max = max(v_max, v)
                                                    with amsgrad, used in v's place)
        theta = theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Args:
        params: the tensors to optimize, or param groups (dicts).
        lr: learning rate (default 1e-3).
        betas: (beta1, beta2), decay rates of the moment averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: weight decay coefficient (default 0).
        amsgrad: use the AMSGrad variant (the running maximum of v).
        maximize: climb the objective instead of descending it.
        decoupled_weight_decay: decay the weights directly instead of adding an L2 term to
            the gradient (this is AdamW).

    Example:
        >>> optimizer = ember.optim.Adam(model.parameters(), lr=3e-4)
        >>> optimizer.zero_grad(); loss_fn(model(x), y).backward(); optimizer.step()
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False,
                 **implementation_flags) -> None:
        betas = tuple(betas) if isinstance(betas, list) else betas
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults, implementation_flags)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        self._require(group["lr"] >= 0, f"Invalid learning rate: {group['lr']} (must be >= 0)")
        self._require(group["eps"] >= 0, f"Invalid epsilon value: {group['eps']} (must be >= 0)")
        betas = group["betas"]
        self._require(isinstance(betas, (tuple, list)) and len(betas) == 2,
                      f"betas must be a pair (beta1, beta2), got {betas!r}")
        for index, beta in enumerate(betas):
            if isinstance(beta, bool) or not isinstance(beta, (int, float)):
                raise TypeError(f"{type(self).__name__}: betas must be numbers, got "
                                f"{type(beta).__name__} {beta!r} at index {index}")
            self._require(0.0 <= beta < 1.0, f"Invalid beta parameter at index {index}: "
                                             f"{beta} (must be in [0, 1))")
        self._require(group["weight_decay"] >= 0,
                      f"Invalid weight_decay value: {group['weight_decay']} (must be >= 0)")

    def _update(self, param, grad, state: dict, group: dict) -> None:
        xp = get_array_module(param)
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = step_counter()
            state["exp_avg"] = state_tensor(xp.zeros_like(param))
            state["exp_avg_sq"] = state_tensor(xp.zeros_like(param))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = state_tensor(xp.zeros_like(param))
        step_count = state["step"]._data
        step_count += 1
        step = float(step_count)
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        kernel = None if group["amsgrad"] else update_kernel(param, grad, exp_avg, exp_avg_sq)
        if kernel is not None:      # the lines below in one compiled pass, the same bits
            decoupled = group["decoupled_weight_decay"] and weight_decay != 0
            kernel.adam(param, grad, exp_avg, exp_avg_sq, lr / (1 - beta1 ** step), 1 - beta1,
                        beta2, 1 - beta2, eps, (1 - beta2 ** step) ** 0.5,
                        0 if decoupled else weight_decay,
                        1 - lr * weight_decay if decoupled else 1, group["maximize"])
            return
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay                       # theta = theta (1 - lr lambda)
            else:
                grad = grad + weight_decay * param                   # g = g + lambda theta

        exp_avg += (1 - beta1) * (grad - exp_avg)                    # m = beta1 m + (1 - beta1) g
        exp_avg_sq *= beta2                                          # v = beta2 v + (1 - beta2) g^2
        exp_avg_sq += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            max_exp_avg_sq = state["max_exp_avg_sq"]._data
            xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)   # v_max = max(v_max, v)
            second_moment = max_exp_avg_sq
        else:
            second_moment = exp_avg_sq

        # Bias corrections: m / (1 - beta1^t) and v / (1 - beta2^t) are unbiased estimates.
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        denominator = xp.sqrt(second_moment) / bias_correction2_sqrt + eps
        # theta = theta - lr m_hat / (sqrt(v_hat) + eps)
        param -= step_size * exp_avg / denominator


class AdamW(Adam):
    """AdamW: Adam whose weight decay shrinks the weights directly,
    theta = theta * (1 - lr * weight_decay), instead of entering the gradient (and so the
    moment averages) as an L2 penalty. Same arguments as Adam; weight_decay defaults to 1e-2.

    Example:
        >>> optimizer = ember.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, **implementation_flags) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, **implementation_flags)

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:   # AdamW always decouples, whatever was saved
            group["decoupled_weight_decay"] = True
