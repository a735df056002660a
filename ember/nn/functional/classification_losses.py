"""Classification losses under PyTorch's names and signatures: binary cross entropy (on
probabilities, a primitive because PyTorch defines its slope at p = 0 and 1, and on logits),
and cross entropy and negative log-likelihood over C classes."""
from __future__ import annotations

import numpy as np

from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.errors import DTypeError, ShapeError
from ember.nn.functional.losses import (
    _check_broadcasts_to,
    _float_input,
    _reduce,
    _reduction,
    _tensor,
)
from ember.ops.arithmetic import where
from ember.ops.cross_entropy import SoftmaxCrossEntropy
from ember.ops.elementwise import relu
from ember.ops.indexing import gather
from ember.ops.softmax import log_softmax
from ember.tensor import Tensor

# --- binary classification --------------------------------------------------------------


# PyTorch's floor for p (1 - p) in the slope: 1e-12 as a float32 (also in float64 runs)
SLOPE_DENOMINATOR_FLOOR = float(np.float32(1e-12))


class BinaryCrossEntropy(Function):
    """-(y log p + (1 - y) log(1 - p)) per element, each log clamped at -100 (PyTorch's
    rule), so that p = 0 or 1 gives a finite loss."""

    def forward(ctx, p, y):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_not_p = np.maximum(np.log1p(-p), -100)
        ctx.save_for_backward(p, y, log_p, log_not_p)
        return -(y * log_p + (1 - y) * log_not_p)

    def backward(ctx, grad):
        p, y, log_p, log_not_p = ctx.saved_tensors
        need_p, need_y = ctx.needs_input_grad
        # dl/dp = -y/p + (1 - y)/(1 - p) = (p - y) / (p (1 - p)); PyTorch keeps the
        # denominator >= 1e-12, so p = 0 or 1 gets a large finite slope, not inf or nan
        floor = SLOPE_DENOMINATOR_FLOOR
        grad_p = grad * (p - y) / np.maximum(p * (1 - p), floor) if need_p else None
        grad_y = grad * (log_not_p - log_p) if need_y else None     # dl/dy = log((1-p)/p)
        return grad_p, grad_y


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross entropy on probabilities: l = -w (y log p + (1 - y) log(1 - p)).

    Each log is clamped at -100, so p = 0 or 1 gives a finite loss. For raw scores use
    `binary_cross_entropy_with_logits`, which is exact for any logit.

    Args:
        input: probabilities p in [0, 1].
        target: values y in [0, 1], of the input's shape.
        weight: rescales each element; broadcasts to the input's shape.

    Example:
        >>> F.binary_cross_entropy(ember.tensor([0.9, 0.2]), ember.tensor([1.0, 0.0]))
        tensor(0.1643)
    """
    loss_name = "binary_cross_entropy"
    reduction = _reduction(loss_name, reduction, size_average, reduce)
    input, target = _binary_pair(loss_name, input, target)
    for name, values in (("input", input._data), ("target", target._data)):
        outside = ~((values >= 0) & (values <= 1))           # NaN counts as outside
        if outside.any():
            raise ValueError(f"{loss_name}: every element of {name} must be between 0 and 1 "
                             f"(a probability), found {values[outside].flat[0]}")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * _binary_weight(loss_name, "weight", weight, input)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross entropy on logits x (sigmoid fused in, exact for any x):

        l = w [(1 - y) x + (1 + (pos_weight - 1) y) log(1 + e^-x)]

    which is -w [pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]; log(1 + e^-x)
    is computed as max(-x, 0) + log1p(e^-|x|), so logits like +-1000 stay finite.

    Args:
        input: logits x; target: values y in [0, 1] of the input's shape.
        weight: rescales each element; broadcasts to the input's shape.
        pos_weight: weight of the positive term, per class (broadcast over the last
            dimension): > 1 raises recall, < 1 precision.

    Example:
        >>> F.binary_cross_entropy_with_logits(ember.tensor([1000.0]), ember.tensor([0.0]))
        tensor(1000.)
    """
    loss_name = "binary_cross_entropy_with_logits"
    reduction = _reduction(loss_name, reduction, size_average, reduce)
    input, target = _binary_pair(loss_name, input, target)
    if pos_weight is None:
        loss = (1 - target) * input + _softplus(-input)
    else:
        pos_weight = _binary_weight(loss_name, "pos_weight", pos_weight, input)
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * _softplus(-input)
    if weight is not None:
        loss = loss * _binary_weight(loss_name, "weight", weight, input)
    return _reduce(loss, reduction)


def _softplus(z: Tensor) -> Tensor:
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for any z. -|z| is written as
    a `where` so that its slope at z = 0 is 1, making the slope of the sum sigmoid(0) = 1/2
    (abs and relu both take slope 0 there)."""
    minus_abs = where(z._data > 0, -z, z)
    return relu(z) + minus_abs.exp().log1p()


def _binary_pair(loss: str, input, target) -> tuple:
    input, target = _float_input(loss, input), _tensor(loss, "target", target)
    if target.shape != input.shape:
        raise ShapeError(f"{loss}: target of shape {tuple(target.shape)} must have the "
                         f"input's shape {tuple(input.shape)} (e.g. target.view_as(input))")
    return input, target.to(input.dtype)


def _binary_weight(loss: str, name: str, weight, input: Tensor) -> Tensor:
    _check_broadcasts_to(loss, name, _tensor(loss, name, weight), tuple(input.shape))
    return weight.to(input.dtype)


# --- classification over C classes -------------------------------------------------------


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits and a target: log_softmax over classes, then nll_loss.

    With class indices y: l_n = -w_{y_n} log softmax(x_n)_{y_n}; 'mean' divides by the
    sum of w_{y_n} over the targets that are not ignore_index (their count if unweighted).
    With class probabilities p (a float target of the input's shape):
    l_n = -sum_c w_c p_{n,c} log softmax(x_n)_c; 'mean' divides by the number of samples.
    label_smoothing = s mixes the target with the uniform distribution: (1 - s) target +
    s / C (for class indices: (1 - s) l_n - (s / C) sum_c w_c log softmax(x_n)_c).

    Args:
        input: logits, (C,) or (N, C) or (N, C, d1, ...).
        target: class indices, () or (N,) or (N, d1, ...), integer in [0, C) or
            ignore_index; or class probabilities of the input's shape.
        weight: (C,) rescaling weight per class.
        ignore_index: class-index targets equal to it contribute nothing (and are left
            out of the mean).
        reduction: 'mean' (default), 'sum' or 'none' (one loss per target).
        label_smoothing: in [0, 1].

    Example:
        >>> logits = ember.tensor([[2.0, 0.0, -1.0]])
        >>> F.cross_entropy(logits, ember.tensor([0]))
        tensor(0.1698)
    """
    loss_name = "cross_entropy"
    reduction = _reduction(loss_name, reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{loss_name}: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    input = _float_input(loss_name, input)
    class_dim = _class_dim(loss_name, input)
    weight = _class_weight(loss_name, weight, input, class_dim)
    target = _tensor(loss_name, "target", target)
    probability_target = target.shape == input.shape and target.is_floating_point()
    if input.ndim == 2 and weight is None and label_smoothing == 0 and not probability_target:
        fused = _fused_cross_entropy(input, target, ignore_index, reduction)
        if fused is not None:
            return fused
    log_probs = log_softmax(input, class_dim)
    if probability_target:
        return _probability_target_loss(log_probs, target, weight, ignore_index, reduction,
                                        label_smoothing, class_dim)
    return _class_index_loss(loss_name, log_probs, target, weight, ignore_index, reduction,
                             label_smoothing, class_dim)


def _fused_cross_entropy(input: Tensor, target: Tensor, ignore_index: int,
                         reduction: str) -> Tensor | None:
    """Cross entropy of (N, C) logits and class indices as one node (None: no target counts,
    left to the general path, which gives PyTorch's nan for the mean)."""
    indices, classes = target._data, input.shape[1]
    if (indices.dtype.kind in "iu" and indices.shape == input.shape[:1] and indices.size
            and not 0 <= ignore_index < classes
            and 0 <= indices.min() and indices.max() < classes):   # the usual case, checked fast
        return SoftmaxCrossEntropy.apply(input, indices, None, reduction)
    ignored, safe_target = _check_class_target("cross_entropy", input, target, ignore_index, 1)
    if ignored.all():
        return None
    kept = (~ignored).astype(input._data.dtype)
    return SoftmaxCrossEntropy.apply(input, safe_target, kept, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities:
    l_n = -w_{y_n} input_{n, y_n}; 'mean' divides by the sum of w_{y_n} over the targets
    that are not ignore_index.

    Args: as for `cross_entropy` with class-index targets; input holds log-probabilities
    (e.g. from log_softmax), shape (C,), (N, C) or (N, C, d1, ...).

    Example:
        >>> F.nll_loss(ember.tensor([[-0.1, -2.5]]), ember.tensor([1]))
        tensor(2.5000)
    """
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    input = _float_input("nll_loss", input)
    class_dim = _class_dim("nll_loss", input)
    weight = _class_weight("nll_loss", weight, input, class_dim)
    return _class_index_loss("nll_loss", input, _tensor("nll_loss", "target", target), weight,
                             ignore_index, reduction, 0.0, class_dim)


def _class_dim(loss: str, input: Tensor) -> int:
    """Classes lie along dimension 1 of a batch, or along 0 of one unbatched sample."""
    if input.ndim == 0:
        raise ShapeError(f"{loss}: input must have a class dimension, shape (C,), (N, C) or "
                         "(N, C, d1, ...), got a 0-d tensor")
    return 0 if input.ndim == 1 else 1


def _class_weight(loss: str, weight, input: Tensor, class_dim: int) -> Tensor | None:
    if weight is None:
        return None
    classes = input.shape[class_dim]
    if tuple(_tensor(loss, "weight", weight).shape) != (classes,):
        raise ShapeError(f"{loss}: weight must hold one value per class, shape ({classes},), "
                         f"got shape {tuple(weight.shape)}")
    return weight.to(input.dtype)


def _class_index_loss(loss: str, log_probs: Tensor, target: Tensor, weight, ignore_index: int,
                      reduction: str, label_smoothing: float, class_dim: int) -> Tensor:
    """-w_y log_probs[y] per target (mixed with the uniform target if smoothing), 0 where
    ignored; the mean divides by the total weight of the targets that count."""
    ignored, safe_target = _check_class_target(loss, log_probs, target, ignore_index,
                                               class_dim)
    index = get_array_module(safe_target).expand_dims(safe_target, class_dim)
    per_target = -gather(log_probs, class_dim, index).squeeze(class_dim)
    if weight is not None:
        target_weight = weight[safe_target]
        per_target = per_target * target_weight
    if label_smoothing > 0:
        classes = log_probs.shape[class_dim]
        weighted = log_probs if weight is None else log_probs * _along(weight, log_probs,
                                                                       class_dim)
        uniform_target_loss = -weighted.sum(class_dim)
        per_target = ((1 - label_smoothing) * per_target
                      + (label_smoothing / classes) * uniform_target_loss)
    per_target = where(ignored, 0.0, per_target)
    if reduction != "mean":
        return _reduce(per_target, reduction)
    if weight is None:
        total_weight = float((~ignored).sum())
    else:
        total_weight = where(ignored, 0.0, target_weight).sum()
    if float(total_weight) == 0:
        # no target counts (all ignored, or all of weight 0): 0/0, which PyTorch gives as nan
        return per_target.sum() * float("nan")
    return per_target.sum() / total_weight


def _check_class_target(loss: str, log_probs: Tensor, target: Tensor, ignore_index: int,
                        class_dim: int) -> tuple:
    """Check a class-index target; return (ignored mask, target with ignored entries 0)."""
    shape, classes = tuple(log_probs.shape), log_probs.shape[class_dim]
    expected = shape[:class_dim] + shape[class_dim + 1:]
    alternative = (f" (or class probabilities: a float tensor of the input's shape {shape})"
                   if loss == "cross_entropy" else "")
    if target._data.dtype.kind not in "iu":
        hint = " (convert it with target.long())" if tuple(target.shape) == expected else ""
        raise DTypeError(f"{loss}: target of dtype {target.dtype} and shape "
                         f"{tuple(target.shape)} is not class indices, an integer tensor of "
                         f"shape {expected}{hint}{alternative}")
    if tuple(target.shape) != expected:
        raise ShapeError(f"{loss}: input of shape {shape} expects class-index targets of "
                         f"shape {expected}{alternative}, got target shape "
                         f"{tuple(target.shape)}")
    indices = target._data
    ignored = indices == ignore_index
    out_of_range = ~ignored & ((indices < 0) | (indices >= classes))
    if out_of_range.any():
        raise IndexError(f"{loss}: target {indices[out_of_range].flat[0]} is out of range for "
                         f"{classes} classes (expected 0 <= target < {classes}, or "
                         f"ignore_index={ignore_index})")
    return ignored, get_array_module(indices).where(ignored, 0, indices)


def _probability_target_loss(log_probs: Tensor, target: Tensor, weight, ignore_index: int,
                             reduction: str, label_smoothing: float,
                             class_dim: int) -> Tensor:
    """-sum_c w_c p_c log_probs_c per sample; the mean divides by the number of samples."""
    if ignore_index >= 0:
        raise ValueError(f"cross_entropy: ignore_index={ignore_index} is not supported for "
                         "class-probability targets (leave it at its default)")
    if label_smoothing > 0:
        target = (1 - label_smoothing) * target + label_smoothing / log_probs.shape[class_dim]
    weighted = log_probs * target
    if weight is not None:
        weighted = weighted * _along(weight, log_probs, class_dim)
    per_sample = -weighted.sum(class_dim)
    if reduction == "mean" and per_sample.numel() == 0:
        return per_sample.sum() * float("nan")       # 0/0: no samples
    return _reduce(per_sample, reduction)


def _along(weight: Tensor, log_probs: Tensor, class_dim: int) -> Tensor:
    """The (C,) class weights shaped to broadcast along the class dimension."""
    return weight.reshape((-1,) + (1,) * (log_probs.ndim - class_dim - 1))
