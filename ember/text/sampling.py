"""Drawing the next token from a model's scores: softmax sampling with a temperature and
an optional top-k cut, for a whole batch at once."""
from __future__ import annotations

import numpy as np

from ember.creation import from_numpy
from ember.errors import DTypeError, ShapeError
from ember.random import Generator, numpy_generator
from ember.tensor import Tensor


def check_sampling_options(function: str, temperature: float, top_k: int | None) -> None:
    """Raise a clear error for a temperature that is not > 0 or a top_k that is not >= 1."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.number)):
        raise TypeError(f"{function}: temperature must be a number, got "
                        f"{type(temperature).__name__}")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"{function}: temperature must be > 0 (and finite), got {temperature}; "
                         "for greedy decoding use top_k=1")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)):
            raise TypeError(f"{function}: top_k must be an int or None, got "
                            f"{type(top_k).__name__}")
        if top_k < 1:
            raise ValueError(f"{function}: top_k must be >= 1 (or None for no cut), got {top_k}")


def sample(logits, temperature: float = 1.0, top_k: int | None = None,
           generator: Generator | None = None) -> Tensor:
    """Draw one token id per row of `logits` from softmax(logits / temperature).

    The temperature sharpens (< 1) or flattens (> 1) the distribution; as it goes to 0
    the draw becomes the argmax. With `top_k`, only the k largest scores of each row can
    be drawn (their probabilities renormalised); top_k=1 is greedy decoding, a top_k at
    least the vocabulary size cuts nothing (scores tied with the k-th largest are kept).

    The draw uses the Gumbel-max trick: argmax_i (logits_i / T + g_i), with g_i
    independent Gumbel(0, 1) noise, is distributed exactly as softmax(logits / T). It
    never exponentiates, so scores of +-1000 are fine, and a score of -inf is never drawn.

    Args:
        logits: unnormalised scores, (*, vocab), floating point (a tensor or array).
        temperature: > 0 (default 1).
        top_k: keep only the k largest scores of each row (default None: all).
        generator: the ember.Generator to draw from (default: the global one, so
            `ember.manual_seed` makes the draws repeatable).

    Shape: logits (*, V) -> ids (*), int64.

    Example:
        >>> ids = ember.text.sample(ember.randn(4, 65), temperature=0.8, top_k=10)
        >>> ids.shape, ids.dtype
        ((4,), ember.int64)
    """
    check_sampling_options("sample", temperature, top_k)
    scores = logits.detach().numpy() if isinstance(logits, Tensor) else np.asarray(logits)
    if scores.ndim == 0 or scores.shape[-1] == 0:
        raise ShapeError(f"sample: logits must have shape (*, vocab) with vocab >= 1, got "
                         f"shape {tuple(scores.shape)}")
    if not np.issubdtype(scores.dtype, np.floating):
        raise DTypeError(f"sample: logits must be floating point, got dtype {scores.dtype}")
    if np.isnan(scores).any():
        raise ValueError("sample: logits contain NaN")
    if (scores == -np.inf).all(axis=-1).any():
        raise ValueError("sample: a row of logits is all -inf, so no token can be drawn")
    scores = scores.astype(np.float64) / temperature
    if top_k is not None and top_k < scores.shape[-1]:
        # the k-th largest score of each row; everything below it is cut to -inf
        kth_largest = np.partition(scores, -top_k, axis=-1)[..., -top_k, None]
        scores = np.where(scores < kth_largest, -np.inf, scores)
    uniform = numpy_generator(generator).random(scores.shape)
    with np.errstate(divide="ignore"):
        gumbel = -np.log(-np.log(uniform))        # u = 0 gives -inf: that token loses
    ids = np.argmax(scores + gumbel, axis=-1)
    return from_numpy(np.asarray(ids, dtype=np.int64))
