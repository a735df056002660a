"""Flatten and Unflatten: reshape between layers (e.g. feature maps to vectors)."""
from __future__ import annotations

from ember.nn.module import Module
from ember.tensor import Tensor


class Flatten(Module):
    """Flatten dimensions start_dim..end_dim into one (by default all but the batch).

    Shape: (N, *dims) -> (N, prod(dims)).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension `dim` into `unflattened_size`.

    Shape: (N, C*H*W) with dim=1, size (C, H, W) -> (N, C, H, W).
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
