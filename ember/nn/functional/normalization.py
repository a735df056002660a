"""Normalisation: batch, layer and group norm (centre and scale activations by statistics
of the batch or of each sample), and normalize (divide vectors by their p-norm).

All are composed from differentiable ops, so the gradient through the statistics comes
from autograd."""
from __future__ import annotations

from ember.errors import ShapeError
from ember.grad_mode import no_grad
from ember.tensor import Tensor


def _per_channel(values: Tensor, ndim: int) -> Tensor:
    """A (C,) tensor shaped (1, C, 1, ..., 1) to broadcast along dimension 1 of an input
    with `ndim` dimensions."""
    return values.reshape((1, -1) + (1,) * (ndim - 2))


def _standardize(input: Tensor, dims: tuple, eps: float) -> Tensor:
    """(x - mean) / sqrt(var + eps) over `dims`, with the biased variance (divide by n),
    as every normalisation layer uses for its forward."""
    mean = input.mean(dims, keepdim=True)
    centred = input - mean
    variance = (centred * centred).mean(dims, keepdim=True)
    return centred * (variance + eps).rsqrt()


def _check_length(op: str, name: str, values: Tensor | None, expected: tuple,
                  input: Tensor) -> None:
    if values is not None and tuple(values.shape) != expected:
        raise ShapeError(f"{op}: {name} should have shape {expected} to match the input of "
                         f"shape {tuple(input.shape)}, got shape {tuple(values.shape)}")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation (Ioffe & Szegedy, 2015), per channel (dimension 1):

        y = (x - mean) / sqrt(var + eps) * weight + bias

    In training, mean and var are the batch's (the biased variance, over every dimension
    but 1), and the running statistics, when given, are updated in place:
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)
    (the unbiased variance, n values per channel). Otherwise the running statistics are used.

    Args:
        input: (N, C), (N, C, L), (N, C, H, W) or more dimensions.
        running_mean, running_var: (C,) running statistics, or None (training only).
        weight, bias: (C,) affine parameters, or None.
        training: normalise with the batch's statistics and update the running ones.
        momentum: the weight of the new batch in the running statistics.
        eps: added to the variance for numerical stability.

    Shape: input (N, C, *) -> output (N, C, *).

    Example:
        >>> x = ember.randn(8, 3)
        >>> y = F.batch_norm(x, ember.zeros(3), ember.ones(3), training=True)
    """
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input with a batch and a channel "
                         f"dimension (N, C, *), got shape {tuple(input.shape)}")
    channels = (input.shape[1],)
    for name, values in (("running_mean", running_mean), ("running_var", running_var),
                         ("weight", weight), ("bias", bias)):
        _check_length("batch_norm", name, values, channels, input)
    dims = (0,) + tuple(range(2, input.ndim))        # every dimension but the channels'
    if training:
        values_per_channel = input.numel() // channels[0]
        if values_per_channel == 1:
            raise ValueError(f"batch_norm: Expected more than 1 value per channel when "
                             f"training, got input size {tuple(input.shape)}")
        output = _standardize(input, dims, eps)
        if running_mean is not None or running_var is not None:
            _update_running_stats(input.detach(), dims, running_mean, running_var, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when "
                             "training=False (evaluation normalises with them)")
        mean = _per_channel(running_mean.detach(), input.ndim)
        inverse_std = _per_channel((running_var.detach() + eps).rsqrt(), input.ndim)
        output = (input - mean) * inverse_std
    if weight is not None:
        output = output * _per_channel(weight, input.ndim)
    if bias is not None:
        output = output + _per_channel(bias, input.ndim)
    return output


def _update_running_stats(batch: Tensor, dims: tuple, running_mean: Tensor | None,
                          running_var: Tensor | None, momentum: float) -> None:
    """Move the running statistics towards the batch's, in place: an exponential moving
    average with the unbiased variance, as PyTorch keeps them."""
    with no_grad():
        mean = batch.mean(dims)
        if running_mean is not None:
            running_mean.copy_((1 - momentum) * running_mean + momentum * mean)
        if running_var is not None:
            unbiased_var = batch.var(dims, correction=1)
            running_var.copy_((1 - momentum) * running_var + momentum * unbiased_var)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation (Ba et al., 2016): each sample is normalised over its last
    dimensions (those of `normalized_shape`), with the biased variance:

        y = (x - mean) / sqrt(var + eps) * weight + bias

    Args:
        input: (*, *normalized_shape).
        normalized_shape: the trailing shape to normalise over (an int or a tuple).
        weight, bias: tensors of shape normalized_shape, or None.
        eps: added to the variance for numerical stability.

    Shape: output has the input's shape.

    Example:
        >>> y = F.layer_norm(ember.randn(2, 5, 4), (4,))
    """
    normalized_shape = _as_shape(normalized_shape)
    count = len(normalized_shape)
    if count == 0:
        raise ValueError("layer_norm: normalized_shape must name at least one dimension")
    if input.ndim < count or tuple(input.shape[input.ndim - count:]) != normalized_shape:
        expected = ", ".join(map(str, normalized_shape))
        raise ShapeError(f"layer_norm: normalized_shape={normalized_shape} expects an input "
                         f"of shape (*, {expected}), got shape {tuple(input.shape)}")
    _check_length("layer_norm", "weight", weight, normalized_shape, input)
    _check_length("layer_norm", "bias", bias, normalized_shape, input)
    output = _standardize(input, tuple(range(input.ndim - count, input.ndim)), eps)
    if weight is not None:
        output = output * weight
    if bias is not None:
        output = output + bias
    return output


def _as_shape(normalized_shape) -> tuple:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(n) for n in normalized_shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Group normalisation (Wu & He, 2018): the C channels of each sample are split into
    num_groups groups, and each group is normalised over its channels and positions;
    weight and bias are per channel.

    Args:
        input: (N, C, *) with C divisible by num_groups.
        num_groups: the number of groups.
        weight, bias: (C,) affine parameters, or None.
        eps: added to the variance for numerical stability.

    Shape: output has the input's shape.

    Example:
        >>> y = F.group_norm(ember.randn(2, 6, 5), num_groups=3)
    """
    if input.ndim < 2:
        raise ShapeError(f"group_norm: expected an input (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    batch, channels = input.shape[:2]
    if num_groups <= 0 or channels % num_groups != 0:
        raise ShapeError(f"group_norm: the {channels} channels of the input (shape "
                         f"{tuple(input.shape)}) cannot be split into {num_groups} groups "
                         f"of equal size")
    _check_length("group_norm", "weight", weight, (channels,), input)
    _check_length("group_norm", "bias", bias, (channels,), input)
    grouped = input.reshape(batch, num_groups, input.numel() // max(batch * num_groups, 1))
    output = _standardize(grouped, (2,), eps).reshape(input.shape)
    if weight is not None:
        output = output * _per_channel(weight, input.ndim)
    if bias is not None:
        output = output + _per_channel(bias, input.ndim)
    return output


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """Divide vectors along `dim` by their p-norm: y = x / max(||x||_p, eps).

    Args:
        input: a tensor of any shape.
        p: the exponent of the norm.
        dim: the dimension holding the vectors.
        eps: the smallest denominator (a zero vector stays zero instead of NaN).

    Example:
        >>> F.normalize(ember.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)
