"""Normalisation layers: batch norm (statistics over the batch, running averages kept for
evaluation), layer norm and group norm (statistics over each sample)."""
from __future__ import annotations

import ember.nn.functional.normalization as F
from ember.creation import ones, tensor, zeros
from ember.errors import ShapeError
from ember.grad_mode import no_grad
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor


class _BatchNorm(Module):
    """Batch normalisation over dimension 1 (the channels), for any input rank; a subclass
    only names the ranks it accepts in `expected_dims`.

    Parameters: weight (ones) and bias (zeros), when affine. Buffers, when
    track_running_stats: running_mean (zeros), running_var (ones) and num_batches_tracked
    (an int64 count), the names and order of PyTorch's state_dict.
    """

    expected_dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(zeros(num_features, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, input: Tensor) -> None:
        name = type(self).__name__
        if input.ndim not in self.expected_dims:
            ranks = " or ".join(f"{d}D" for d in self.expected_dims)
            raise ShapeError(f"{name}: expected {ranks} input (got {input.ndim}D input of "
                             f"shape {tuple(input.shape)})")
        if input.shape[1] != self.num_features:
            raise ShapeError(f"{name}: expected {self.num_features} channels in dimension 1 "
                             f"of the input, got shape {tuple(input.shape)}")
        if self.training and input.numel() // input.shape[1] == 1:
            raise ValueError(f"{name}: Expected more than 1 value per channel when "
                             f"training, got input size {tuple(input.shape)}")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)          # before the running statistics change
        momentum = self.momentum
        update_stats = self.training and self.track_running_stats
        if update_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if momentum is None:          # the cumulative average of all batches so far
                momentum = 1.0 / float(self.num_batches_tracked.item())
        # batch statistics in training, and in eval when no running ones are kept
        use_batch_stats = self.training or self.running_mean is None
        keep_running = update_stats or not self.training
        return F.batch_norm(input,
                            self.running_mean if keep_running else None,
                            self.running_var if keep_running else None,
                            self.weight, self.bias, use_batch_stats,
                            0.0 if momentum is None else momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation (Ioffe & Szegedy, 2015) of (N, C) or (N, C, L) inputs:

        y = (x - mean) / sqrt(var + eps) * weight + bias,   per channel C

    In training mode mean and var are the batch's (the biased variance, over N and L), and
    running estimates are updated: running = (1 - momentum) * running + momentum * batch
    (the unbiased variance; momentum=None averages all batches equally). In eval mode
    the running estimates are used.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance for numerical stability (default 1e-5).
        momentum: weight of each new batch in the running estimates (default 0.1), or None
            for a cumulative average.
        affine: learn a per-channel weight (init 1) and bias (init 0) (default True).
        track_running_stats: keep running estimates; when False, batch statistics are used
            in eval mode too (default True).

    Shape: input (N, C) or (N, C, L) -> output of the same shape.

    Example:
        >>> layer = ember.nn.BatchNorm1d(100)
        >>> layer(ember.randn(20, 100)).shape
        (20, 100)
    """

    expected_dims = (2, 3)


class LayerNorm(Module):
    """Layer normalisation (Ba et al., 2016): each sample is normalised over its last
    dimensions, y = (x - mean) / sqrt(var + eps) * weight + bias; the same in training and
    evaluation.

    Args:
        normalized_shape: the trailing shape to normalise over (an int or a tuple).
        eps: added to the variance for numerical stability (default 1e-5).
        elementwise_affine: learn a weight (init 1) and a bias (init 0) of shape
            normalized_shape (default True).
        bias: learn the bias too (default True).

    Shape: input (*, *normalized_shape) -> output of the same shape.

    Example:
        >>> layer = ember.nn.LayerNorm(10)
        >>> layer(ember.randn(20, 5, 10)).shape
        (20, 5, 10)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(zeros(self.normalized_shape, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation (Wu & He, 2018): the channels of each sample are split into
    groups, each normalised over its channels and positions; weight and bias are per
    channel. The same in training and evaluation.

    Args:
        num_groups: the number of groups (must divide num_channels).
        num_channels: C, the number of channels.
        eps: added to the variance for numerical stability (default 1e-5).
        affine: learn a per-channel weight (init 1) and bias (init 0) (default True).

    Shape: input (N, C, *) -> output of the same shape.

    Example:
        >>> layer = ember.nn.GroupNorm(3, 6)
        >>> layer(ember.randn(20, 6, 10)).shape
        (20, 6, 10)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        if affine:
            self.weight = Parameter(ones(num_channels, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(zeros(num_channels, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")
