"""Dropout: zero random elements while training, and scale the rest so that the expected
value of every element is unchanged (and alpha dropout, its variant for SELU networks)."""
from __future__ import annotations

import math

import numpy as np

from ember import backend
from ember.grad_mode import is_grad_enabled
from ember.random import numpy_generator
from ember.tensor import Tensor

# The SELU constants alpha * scale: a SELU unit's output saturates at -SELU_SATURATION.
SELU_SATURATION = 1.7580993408473766


def _check_probability(op: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, p: float) -> np.ndarray:
    """True where an element is kept (probability 1 - p), drawn from ember's generator in
    float32 so that `ember.manual_seed` repeats it."""
    uniform = numpy_generator(None).random(input.shape, dtype=np.float32)
    return backend.move_array(uniform >= p, input.device)


def _multiply(input: Tensor, factor, inplace: bool) -> Tensor:
    """input * factor; in place when asked and nothing is being recorded (an in-place change
    to a tensor in the graph cannot be differentiated, so then the result is a new tensor
    with the same values)."""
    if inplace and not (is_grad_enabled() and input.requires_grad):
        return input.mul_(factor)
    return input * factor


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Inverted dropout: each element is zeroed with probability p and the survivors are
    multiplied by 1 / (1 - p), so E[output] = input and evaluation needs no rescaling.

        y = x * m / (1 - p),   m ~ Bernoulli(1 - p)

    The gradient is the same mask times the same scale: dy/dx = m / (1 - p).

    Args:
        input: a tensor of any shape.
        p: probability of zeroing an element, in [0, 1].
        training: apply dropout; when False the input is returned unchanged.
        inplace: change `input` itself (only when no gradient is being recorded for it).

    Shape: output has the input's shape.

    Example:
        >>> y = F.dropout(ember.ones(2, 4), p=0.5)     # elements are 0 or 2
    """
    _check_probability("dropout", p)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return _multiply(input, 0.0, inplace)
    # the mask and its scale in one array, in the input's dtype (float32 stays float32)
    scaled_mask = _keep_mask(input, p).astype(input._data.dtype) / input._data.dtype.type(1 - p)
    return _multiply(input, Tensor._make(scaled_mask), inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Alpha dropout (Klambauer et al., 2017) for self-normalising (SELU) networks: dropped
    elements are set to SELU's saturation value -alpha' instead of 0, then an affine map
    a * x + b restores zero mean and unit variance:

        y = a * (x * m + (-alpha') * (1 - m)) + b,   m ~ Bernoulli(1 - p)
        a = 1 / sqrt((alpha'^2 p + 1)(1 - p)),   b = a alpha' p

    The gradient is dy/dx = a * m.

    Args:
        input: a tensor of any shape.
        p: probability of dropping an element, in [0, 1].
        training: apply alpha dropout; when False (the default, as in PyTorch) the input
            is returned unchanged.
        inplace: change `input` itself (only when no gradient is being recorded for it).

    Example:
        >>> y = F.alpha_dropout(ember.randn(8, 16), p=0.2, training=True)
    """
    _check_probability("alpha_dropout", p)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return _multiply(input, 0.0, inplace)
    keep = _keep_mask(input, p).astype(input._data.dtype)
    a = 1.0 / math.sqrt((SELU_SATURATION ** 2 * p + 1) * (1 - p))
    # b = a * (-alpha' (1 - m) + alpha' p): the shift that dropped elements receive, and
    # the mean correction that every element receives
    shift = (keep - 1) * (SELU_SATURATION * a) + SELU_SATURATION * a * p
    output = _multiply(input, Tensor._make(keep * a), inplace)
    if output is input:
        return input.add_(Tensor._make(shift))
    return output + Tensor._make(shift)
