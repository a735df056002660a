"""Regression and divergence losses under PyTorch's names and signatures (mse, l1, huber,
smooth l1, gaussian nll, kl_div), composed from differentiable ops, and the reduction and
argument checks that every loss shares (classification losses: classification_losses.py)."""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ember.creation import full_like
from ember.errors import DTypeError, ShapeError
from ember.ops.arithmetic import where
from ember.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


# --- reductions and checks shared by the losses ----------------------------------------


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """PyTorch's deprecated `size_average`/`reduce` flags as a reduction, with its warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  f"reduction='{reduction}' instead.", UserWarning, stacklevel=4)
    return reduction


def check_reduction(loss: str, reduction, allowed: tuple = REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{loss}: reduction must be one of "
                         f"{', '.join(repr(r) for r in allowed)}, got {reduction!r}")


def _reduction(loss: str, reduction, size_average=None, reduce=None,
               allowed: tuple = REDUCTIONS) -> str:
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    check_reduction(loss, reduction, allowed)
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _float_input(loss: str, input) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{loss}: input must be a Tensor, got {type(input).__name__}")
    if not input.is_floating_point():
        raise DTypeError(f"{loss}: input must be a floating-point tensor, got {input.dtype} "
                         "(convert it with .float())")
    return input


def _tensor(loss: str, name: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{loss}: {name} must be a Tensor, got {type(value).__name__}")
    return value


def _check_broadcasts_to(loss: str, name: str, value: Tensor, shape: tuple) -> None:
    """`name` must broadcast to the input's shape without making it larger."""
    try:
        fits = np.broadcast_shapes(tuple(value.shape), shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{loss}: {name} of shape {tuple(value.shape)} cannot be broadcast "
                         f"to the input's shape {shape} (dimensions are matched from the "
                         "right and must be equal or 1)")


def _regression_pair(loss: str, input, target) -> tuple:
    """input and target of an elementwise loss. Different shapes broadcast, with a warning
    (as PyTorch does): a (N, 1) prediction against a (N,) target makes a (N, N) loss."""
    input, target = _float_input(loss, input), _tensor(loss, "target", target)
    if input.shape != target.shape:
        try:
            shape = np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ShapeError(f"{loss}: input of shape {tuple(input.shape)} and target of "
                             f"shape {tuple(target.shape)} cannot be broadcast together; "
                             "expected the same shape") from None
        warnings.warn(f"{loss}: target shape {tuple(target.shape)} differs from input shape "
                      f"{tuple(input.shape)}; they broadcast to {shape}, which is likely not "
                      "what you want. Make them the same shape (e.g. target.view_as(input)).",
                      UserWarning, stacklevel=3)
    return input, target


def _weighted_reduce(loss: str, elementwise: Tensor, weight, input: Tensor, reduction: str,
                     mean_over_weight: bool = True) -> Tensor:
    """Reduce, each element scaled by `weight`; the weighted mean is sum(w l) / sum(w)
    (or, where PyTorch does so, sum(w l) / number of elements)."""
    if weight is None:
        return _reduce(elementwise, reduction)
    if tuple(_tensor(loss, "weight", weight).shape) != tuple(input.shape):
        raise ShapeError(f"{loss}: weight of shape {tuple(weight.shape)} must have the "
                         f"input's shape {tuple(input.shape)}")
    weighted = elementwise * weight
    if reduction == "mean" and mean_over_weight:
        return weighted.sum() / weight.sum()
    return _reduce(weighted, reduction)


# --- regression ------------------------------------------------------------------------


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error: l = (x - y)^2 per element, then reduced.

    Args:
        input, target: tensors of the same shape (different shapes broadcast, with a warning).
        reduction: 'mean' (default), 'sum' or 'none'.
        weight: optional per-element weights of the input's shape; the weighted mean is
            sum(w l) / sum(w).

    Example:
        >>> F.mse_loss(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0]))
        tensor(2.)
    """
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    input, target = _regression_pair("mse_loss", input, target)
    return _weighted_reduce("mse_loss", (input - target) ** 2, weight, input, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error: l = |x - y| per element (slope sign(x - y), 0 at x = y).

    Args: as for `mse_loss`.

    Example:
        >>> F.l1_loss(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0]), reduction="sum")
        tensor(2.)
    """
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    input, target = _regression_pair("l1_loss", input, target)
    return _weighted_reduce("l1_loss", (input - target).abs(), weight, input, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Huber loss: quadratic for small errors, linear (slope delta) for large ones.

        l = 0.5 d^2                  if |d| < delta
            delta (|d| - 0.5 delta)  otherwise,      d = x - y

    Args:
        delta: where the loss turns from quadratic to linear (must be positive).
        reduction, weight: as for `mse_loss`, except that the weighted mean divides by the
            number of elements, not the total weight (as PyTorch does).

    Example:
        >>> F.huber_loss(ember.tensor([0.5, 3.0]), ember.zeros(2), reduction="none")
        tensor([0.1250, 2.5000])
    """
    reduction = _reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _regression_pair("huber_loss", input, target)
    error = (input - target).abs()
    elementwise = where(error < delta, 0.5 * error ** 2, delta * (error - 0.5 * delta))
    return _weighted_reduce("huber_loss", elementwise, weight, input, reduction,
                            mean_over_weight=False)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1: quadratic below beta, then |d| (the Huber loss divided by beta).

        l = 0.5 d^2 / beta   if |d| < beta
            |d| - 0.5 beta   otherwise           (beta = 0 gives the L1 loss)

    Example:
        >>> F.smooth_l1_loss(ember.tensor([0.5, 3.0]), ember.zeros(2), reduction="none")
        tensor([0.1250, 2.5000])
    """
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _regression_pair("smooth_l1_loss", input, target)
    error = (input - target).abs()
    if beta == 0:
        return _reduce(error, reduction)
    return _reduce(where(error < beta, 0.5 * error ** 2 / beta, error - 0.5 * beta), reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of `target` under N(input, var):

        l = 0.5 (log max(var, eps) + (x - y)^2 / max(var, eps))  [+ 0.5 log 2 pi if full]

    As in PyTorch, var is clamped at eps for the value only: the gradient passes to var as
    if unclamped.

    Args:
        var: a tensor of the input's shape, of that shape with one dimension of size 1, or
            of the input's shape without its last dimension (one variance per sample); or
            a number.
        full: add the constant 0.5 log(2 pi).

    Example:
        >>> F.gaussian_nll_loss(ember.zeros(2, 3), ember.ones(2, 3), ember.ones(2))
        tensor(0.5000)
    """
    check_reduction("gaussian_nll_loss", reduction)
    input, target = _float_input("gaussian_nll_loss", input), _tensor(
        "gaussian_nll_loss", "target", target)
    _check_broadcasts_to("gaussian_nll_loss", "target", target, tuple(input.shape))
    if isinstance(var, numbers.Real):
        if var < 0:
            raise ValueError(f"gaussian_nll_loss: var must be non-negative, got {var}")
        var = full_like(input, float(var))
    var = _variance_like_input(_tensor("gaussian_nll_loss", "var", var), input)
    # value of the clamp, slope of the identity (PyTorch clamps a copy under no_grad)
    var = var.detach().clamp(min=eps) + (var - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _variance_like_input(var: Tensor, input: Tensor) -> Tensor:
    """var in a shape that broadcasts against input, by PyTorch's rules."""
    if var.shape != input.shape:
        differing = [v for i, v in zip(input.shape, var.shape) if i != v]
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)                  # one variance per sample
        elif var.ndim != input.ndim or sum(differing) != 1:
            raise ShapeError(f"gaussian_nll_loss: var of shape {tuple(var.shape)} does not "
                             f"fit the input's shape {tuple(input.shape)}; expected that "
                             "shape, that shape with one dimension of size 1, or that shape "
                             "without its last dimension")
    if bool((var._data < 0).any()):
        raise ValueError(f"gaussian_nll_loss: var must be non-negative, found "
                         f"{var._data.min()}")
    return var


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(target || model) with the model given as log q:

        l = p (log p - input), 0 where p = 0        (p = exp(target) if log_target)

    Args:
        input: log-probabilities of the model (e.g. from log_softmax).
        target: probabilities p (or log p with log_target=True).
        reduction: 'batchmean' (the sum divided by the batch size: the KL divergence per
            sample), 'sum', 'none', or 'mean' (divides by every element; warns, as PyTorch).

    Example:
        >>> q = F.log_softmax(ember.randn(4, 5), dim=1)
        >>> F.kl_div(q, F.softmax(ember.randn(4, 5), dim=1), reduction="batchmean").shape
        ()
    """
    allowed = REDUCTIONS + ("batchmean",)
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size "
                      "and the support size; 'batchmean' divides only by the batch size and "
                      "matches the definition of the KL divergence.", UserWarning,
                      stacklevel=2)
    reduction = _reduction("kl_div", reduction, size_average, reduce, allowed)
    input, target = _float_input("kl_div", input), _tensor("kl_div", "target", target)
    try:
        np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ShapeError(f"kl_div: input of shape {tuple(input.shape)} and target of shape "
                         f"{tuple(target.shape)} cannot be broadcast together") from None
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _x_log_x(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


def _x_log_x(p: Tensor) -> Tensor:
    """p log p, taken as 0 at p = 0 (its limit); log is never evaluated at 0, so neither
    the value nor the gradient meets 0 * inf."""
    is_zero = p._data == 0
    return where(is_zero, 0.0, p * where(is_zero, 1.0, p).log())
