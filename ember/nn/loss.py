"""Loss modules: thin wrappers over the functional losses, with PyTorch's names, constructor
arguments and buffers (`weight`, `pos_weight`), so their state_dicts match PyTorch's."""
from __future__ import annotations

from ember.nn.functional import classification_losses as FC
from ember.nn.functional import losses as FL
from ember.nn.module import Module
from ember.tensor import Tensor


class _Loss(Module):
    """Holds `reduction` (PyTorch's deprecated size_average/reduce are translated to it)."""

    allowed_reductions = FL.REDUCTIONS

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = FL.legacy_reduction(size_average, reduce)
        # checked here (PyTorch waits for the first call) so a typo fails where it is made
        FL.check_reduction(type(self).__name__, reduction, self.allowed_reductions)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with an optional `weight` buffer (saved in the state_dict when given)."""

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error, (x - y)^2 per element, reduced by `reduction`.

    Args:
        reduction: 'mean' (default), 'sum' or 'none'.

    Shape: input (*), target (*) of the same shape -> () or (*) with 'none'.

    Example:
        >>> ember.nn.MSELoss()(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0]))
        tensor(2.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, |x - y| per element.

    Args and Shape: as for MSELoss.

    Example:
        >>> ember.nn.L1Loss()(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0]))
        tensor(1.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Huber loss: 0.5 d^2 for |d| < delta, delta (|d| - 0.5 delta) beyond.

    Args:
        reduction: 'mean' (default), 'sum' or 'none'.
        delta: where the loss turns from quadratic to linear (positive).

    Shape: input (*), target (*) of the same shape -> () or (*) with 'none'.

    Example:
        >>> ember.nn.HuberLoss(delta=2.0)(ember.tensor([3.0]), ember.tensor([0.0]))
        tensor(4.)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Smooth L1: 0.5 d^2 / beta for |d| < beta, |d| - 0.5 beta beyond.

    Args:
        reduction: 'mean' (default), 'sum' or 'none'.
        beta: where the loss turns from quadratic to linear (0 gives L1).

    Shape: input (*), target (*) of the same shape -> () or (*) with 'none'.

    Example:
        >>> ember.nn.SmoothL1Loss()(ember.tensor([3.0]), ember.tensor([0.0]))
        tensor(2.5000)
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_WeightedLoss):
    """Binary cross entropy on probabilities: -w (y log p + (1 - y) log(1 - p)), each log
    clamped at -100. Prefer BCEWithLogitsLoss on raw scores: it is exact for any logit.

    Args:
        weight: rescales each element (broadcasts to the input's shape); a buffer.
        reduction: 'mean' (default), 'sum' or 'none'.

    Shape: input (*) probabilities, target (*) of the same shape -> () or (*).

    Example:
        >>> ember.nn.BCELoss()(ember.tensor([0.9, 0.2]), ember.tensor([1.0, 0.0]))
        tensor(0.1643)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FC.binary_cross_entropy(input, target, weight=self.weight,
                                       reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross entropy in one stable step, on logits x:
    -w [pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))].

    Args:
        weight: rescales each element (broadcasts to the input's shape); a buffer.
        reduction: 'mean' (default), 'sum' or 'none'.
        pos_weight: weight of positive examples per class (broadcast over the last
            dimension); a buffer.

    Shape: input (*) logits, target (*) of the same shape -> () or (*).

    Example:
        >>> loss = ember.nn.BCEWithLogitsLoss(pos_weight=ember.tensor([3.0]))
        >>> loss(ember.zeros(2, 1), ember.ones(2, 1))
        tensor(2.0794)
    """

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean", pos_weight: Tensor | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FC.binary_cross_entropy_with_logits(input, target, self.weight,
                                                   pos_weight=self.pos_weight,
                                                   reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy between logits and class indices or class probabilities (log_softmax
    over the class dimension, then the negative log-likelihood).

    Args:
        weight: (C,) weight per class; a buffer. The 'mean' of class-index targets divides
            by the total weight of the targets that are not ignored.
        ignore_index: class-index targets equal to it are skipped.
        reduction: 'mean' (default), 'sum' or 'none'.
        label_smoothing: s in [0, 1]: the target becomes (1 - s) target + s / C.

    Shape: input (C,), (N, C) or (N, C, d1, ...); target (), (N,) or (N, d1, ...) class
    indices, or probabilities of the input's shape -> () or the target's batch shape.

    Example:
        >>> loss = ember.nn.CrossEntropyLoss(label_smoothing=0.1)
        >>> loss(ember.randn(8, 5), ember.randint(0, 5, (8,))).shape
        ()
    """

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FC.cross_entropy(input, target, weight=self.weight,
                                ignore_index=self.ignore_index, reduction=self.reduction,
                                label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices given log-probabilities (pair it with
    LogSoftmax; CrossEntropyLoss does both in one).

    Args:
        weight: (C,) weight per class; a buffer.
        ignore_index: targets equal to it are skipped.
        reduction: 'mean' (default), 'sum' or 'none'.

    Shape: input (C,), (N, C) or (N, C, d1, ...); target (), (N,) or (N, d1, ...).

    Example:
        >>> ember.nn.NLLLoss()(ember.tensor([[-0.1, -2.5]]), ember.tensor([1]))
        tensor(2.5000)
    """

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FC.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                           reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Negative log-likelihood of the target under N(input, var):
    0.5 (log var + (x - y)^2 / var), var clamped at eps (for the value only).

    Args:
        full: add the constant 0.5 log(2 pi).
        eps: the smallest variance used.
        reduction: 'mean' (default), 'sum' or 'none'.

    Shape: input (N, *), target (N, *), var (N, *), that with one dimension 1, or (N, *)
    without its last dimension -> () or (N, *).

    Example:
        >>> loss = ember.nn.GaussianNLLLoss()
        >>> loss(ember.zeros(2, 3), ember.ones(2, 3), ember.ones(2, 1))
        tensor(0.5000)
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full = full
        self.eps = eps

    def forward(self, input: Tensor, target: Tensor, var) -> Tensor:
        return FL.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                    reduction=self.reduction)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of the target distribution from the model's, with the
    model given as log-probabilities: p (log p - input) per element.

    Args:
        reduction: 'batchmean' (the KL divergence per sample; use it), 'sum', 'none', or
            'mean' (default, as in PyTorch; divides by every element, and warns).
        log_target: the target holds log p instead of p.

    Shape: input (*), target (*) -> () or (*) with 'none'.

    Example:
        >>> loss = ember.nn.KLDivLoss(reduction="batchmean")
        >>> loss(ember.randn(4, 5).log_softmax(1), ember.randn(4, 5).softmax(1)).shape
        ()
    """

    allowed_reductions = FL.REDUCTIONS + ("batchmean",)

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FL.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
