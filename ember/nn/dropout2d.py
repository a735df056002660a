"""Channel dropout layer: zero whole feature maps in training, the identity in eval mode."""
from __future__ import annotations

from ember.nn.dropout import _DropoutNd
from ember.nn.functional.dropout2d import dropout2d
from ember.tensor import Tensor


class Dropout2d(_DropoutNd):
    """During training, zero each channel (a whole H x W feature map) of each sample with
    probability p and scale the kept ones by 1 / (1 - p); in eval mode, pass the input
    through unchanged.

    Args:
        p: probability of zeroing a channel (default 0.5).
        inplace: change the input itself when no gradient is recorded for it.

    Shape: (N, C, H, W) -> the same shape (a 3-D input is taken as (N, C, L), as in
    PyTorch).

    Example:
        >>> layer = ember.nn.Dropout2d(p=0.2)
        >>> layer(ember.randn(20, 16, 32, 32)).shape
        (20, 16, 32, 32)
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training, self.inplace)
