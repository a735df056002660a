"""Channel dropout: zero whole feature maps while training (neighbouring pixels of a map are
strongly correlated, so dropping single pixels regularises a convolution little)."""
from __future__ import annotations

import warnings

import numpy as np

from ember import backend
from ember.errors import ShapeError
from ember.nn.functional.regularization import _check_probability, _multiply, dropout
from ember.random import numpy_generator
from ember.tensor import Tensor


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero each channel of each sample with probability p and scale the kept ones by
    1 / (1 - p) (Tompson et al., 2015):

        y[n, c] = x[n, c] * m[n, c] / (1 - p),   m[n, c] ~ Bernoulli(1 - p)

    The gradient is the same mask and scale: dy/dx[n, c] = m[n, c] / (1 - p).

    Args:
        input: (N, C, H, W). As PyTorch does today, a 3-D input is taken as (N, C, L)
            (with a warning), and a 2-D input gets elementwise dropout (with a warning).
        p: probability of zeroing a channel, in [0, 1].
        training: apply dropout; when False the input is returned unchanged.
        inplace: change `input` itself (only when no gradient is being recorded for it).

    Shape: output has the input's shape.

    Example:
        >>> y = F.dropout2d(ember.ones(8, 16, 5, 5), p=0.5)   # each map all 0 or all 2
    """
    _check_probability("dropout2d", p)
    if input.ndim not in (2, 3, 4):
        raise ShapeError(f"dropout2d: expected a 4-D input (N, C, H, W) or a 3-D one, got "
                         f"shape {tuple(input.shape)}")
    if input.ndim == 2:
        warnings.warn("dropout2d: Received a 2-D input to dropout2d; it drops single "
                      "elements, as dropout does (use dropout instead)", UserWarning,
                      stacklevel=2)
        return dropout(input, p, training, inplace)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim (as PyTorch does)",
                      UserWarning, stacklevel=2)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return _multiply(input, 0.0, inplace)
    # one draw per (sample, channel), broadcast over the map; float32 draws, as dropout's
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    uniform = numpy_generator(None).random(mask_shape, dtype=np.float32)
    keep = backend.move_array(uniform >= p, input.device)
    dtype = input._data.dtype
    scaled_mask = keep.astype(dtype) / dtype.type(1 - p)
    return _multiply(input, Tensor._make(scaled_mask), inplace)
