"""Batch normalisation of images: per-channel statistics over the batch and the pixels."""
from __future__ import annotations

from ember.nn.normalization import _BatchNorm


class BatchNorm2d(_BatchNorm):
    """Batch normalisation (Ioffe & Szegedy, 2015) of (N, C, H, W) inputs, per channel C:

        y = (x - mean) / sqrt(var + eps) * weight + bias

    mean and var are over N, H and W in training (running estimates are updated), the
    running estimates in eval mode; arguments as BatchNorm1d's.

    Shape: (N, C, H, W) -> the same shape.

    Example:
        >>> layer = ember.nn.BatchNorm2d(16)
        >>> layer(ember.randn(8, 16, 5, 5)).shape
        (8, 16, 5, 5)
    """

    expected_dims = (4,)
