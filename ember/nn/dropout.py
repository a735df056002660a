"""Dropout layers: active in training mode, the identity in evaluation mode."""
from __future__ import annotations

from ember.nn.functional.regularization import alpha_dropout, dropout
from ember.nn.module import Module
from ember.tensor import Tensor


class _DropoutNd(Module):
    """What the dropout layers share: the probability p and the inplace flag."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between "
                             f"0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """During training, zero each element with probability p and scale the others by
    1 / (1 - p) (inverted dropout, Srivastava et al., 2014); in eval mode, pass the input
    through unchanged.

    Args:
        p: probability of zeroing an element (default 0.5).
        inplace: change the input itself when no gradient is recorded for it.

    Shape: output has the input's shape.

    Example:
        >>> layer, x = ember.nn.Dropout(p=0.2), ember.randn(20, 16)
        >>> layer(x).shape
        (20, 16)
        >>> layer.eval()(x) is x
        True
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for self-normalising (SELU) networks: dropped elements take SELU's
    saturation value and an affine correction keeps mean 0 and variance 1; identity in
    eval mode.

    Args:
        p: probability of dropping an element (default 0.5).
        inplace: change the input itself when no gradient is recorded for it.

    Shape: output has the input's shape.

    Example:
        >>> layer = ember.nn.AlphaDropout(p=0.2)
        >>> layer(ember.randn(20, 16)).shape
        (20, 16)
    """

    def forward(self, input: Tensor) -> Tensor:
        return alpha_dropout(input, self.p, self.training, self.inplace)
