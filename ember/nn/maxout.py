"""Maxout (Goodfellow et al., 2013): units that take the largest of several learned affine
maps of their input. PyTorch has no such layer; this one is ember's."""
from __future__ import annotations

import math

from ember.creation import empty
from ember.errors import ShapeError
from ember.nn import init
from ember.nn.functional.layers import linear
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor


class Maxout(Module):
    """Maxout units (Goodfellow et al., 2013): each output unit is the largest of `pieces`
    affine maps of the input,

        h_j(x) = max over k of (W_jk . x + b_jk),   j < out_features, k < pieces,

    a learned convex, piecewise-linear activation (relu(x) = max(0, x) and |x| = max(x, -x)
    are special cases). Row j * pieces + k of `weight` holds W_jk, so the layer is
    `linear(x, weight, bias)` with its last dimension viewed as (out_features, pieces) and
    reduced by max. The gradient reaches only the winning piece of each unit (the first
    one on a tie), since the others do not touch the output.

    PyTorch has no Maxout; this layer is ember's. Parameters start like those of
    Linear(in_features, out_features * pieces): uniform in +-1/sqrt(in_features).

    Args:
        in_features: size of each input sample.
        out_features: number of maxout units.
        pieces: affine maps per unit (k); 2 or more to be nonlinear.
        bias: learn the offsets b (default True).

    Shape: input (*, in_features) -> output (*, out_features). `weight` has shape
    (out_features * pieces, in_features) and `bias` (out_features * pieces,).

    Example:
        >>> layer = ember.nn.Maxout(20, 10, pieces=3)
        >>> layer(ember.randn(128, 20)).shape
        (128, 10)
    """

    def __init__(self, in_features: int, out_features: int, pieces: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features),
                            ("pieces", pieces)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Maxout: {name} must be a positive int, got {value!r}")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        rows = out_features * pieces
        self.weight = Parameter(empty(rows, in_features, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(rows, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # as Linear: kaiming_uniform_ with a = sqrt(5) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ShapeError(f"Maxout: expected an input of shape (*, {self.in_features}), "
                             f"got {tuple(input.shape)}")
        affine = linear(input, self.weight, self.bias)     # (*, out_features * pieces)
        per_piece = affine.unflatten(-1, (self.out_features, self.pieces))
        return per_piece.max(dim=-1).values

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}, bias={self.bias is not None}")
