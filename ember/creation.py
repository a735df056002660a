"""Making tensors: from data (tensor, as_tensor, from_numpy), filled (zeros, ones, full,
empty, eye), ranges (arange, linspace), random (rand, randn, randint, randperm, normal,
bernoulli, multinomial) and the *_like forms."""
from __future__ import annotations

import math

import numpy as np

from ember import backend
from ember.errors import DTypeError
from ember.random import numpy_generator
from ember.tensor import Tensor


def _finish(array, device, requires_grad: bool) -> Tensor:
    if device is not None:
        array = backend.move_array(array, backend.device(device))
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _size(size) -> tuple:
    """Sizes may be given as zeros(2, 3), zeros((2, 3)) or zeros([2, 3])."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        size = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"expected sizes as integers, got {size!r}") from None
    if any(s < 0 for s in size):
        raise ValueError(f"sizes must be non-negative, got {size}")
    return size


def _float_dtype(dtype):
    return (backend.get_default_dtype() if dtype is None else backend.as_dtype(dtype)).numpy


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (a number, nested lists, an array or a tensor).

    The dtype is inferred like PyTorch's: Python floats give float32, ints int64, bools
    bool; NumPy arrays keep theirs.

    Example:
        >>> ember.tensor([[1, 2], [3, 4]]).dtype
        ember.int64
    """
    if isinstance(data, Tensor):
        data = data._data
    return _finish(backend.as_array(data, dtype, copy=True), device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like `tensor`, but shares memory with a NumPy array or tensor when it can."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    return _finish(backend.as_array(data, dtype), device, False)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares memory with a NumPy array (changes show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    backend.from_numpy_dtype(array.dtype)
    return Tensor._make(array)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_size(size), _float_dtype(dtype)), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_size(size), _float_dtype(dtype)), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uninitialised in PyTorch; zero-filled here, so runs stay repeatable."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of `size` filled with `fill_value` (dtype inferred from it if not given)."""
    if dtype is None:
        dtype = backend.as_array(getattr(fill_value, "_data", fill_value)).dtype
    array = np.full(_size((size,)), getattr(fill_value, "_data", fill_value),
                    dtype=backend.as_dtype(dtype).numpy)
    return _finish(array, device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from start (inclusive) to end (exclusive) by step; integer arguments give
    int64, any float argument the default float dtype."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    values = (start, end, step)
    if dtype is None:
        dtype = (backend.get_default_dtype() if any(isinstance(v, float) for v in values)
                 else backend.int64)
    if (end - start) * step < 0:
        raise ValueError(f"arange: the bounds {start} and {end} are inconsistent with the "
                         f"sign of step {step}")
    if all(isinstance(v, (int, np.integer)) for v in values):
        array = np.arange(start, end, step, dtype=np.int64)   # exact, even beyond 2**53
    else:
        count = max(math.ceil((end - start) / step), 0)
        array = start + step * np.arange(count, dtype=np.float64)
    return _finish(array.astype(backend.as_dtype(dtype).numpy), device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    array = np.linspace(start, end, steps).astype(_float_dtype(dtype))
    return _finish(array, device, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    array = np.logspace(start, end, steps, base=base).astype(_float_dtype(dtype))
    return _finish(array, device, requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full_like(input, 0, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full_like(input, 1, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    dtype = input.dtype if dtype is None else dtype
    array = np.full(input.shape, fill_value, dtype=backend.as_dtype(dtype).numpy)
    return _finish(array, input.device if device is None else device, requires_grad)


# --- random -----------------------------------------------------------------------------


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1)."""
    array = numpy_generator(generator).random(_size(size), dtype=_random_float(dtype))
    return _finish(array.astype(_float_dtype(dtype), copy=False), device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Samples from the standard normal distribution N(0, 1)."""
    draw_dtype = _random_float(dtype, "randn")
    array = numpy_generator(generator).standard_normal(_size(size), dtype=draw_dtype)
    return _finish(array.astype(_float_dtype(dtype), copy=False), device, requires_grad)


def _random_float(dtype, op: str = "rand"):
    """NumPy draws float32 or float64 directly; other float types are drawn as float32."""
    wanted = _float_dtype(dtype)
    if wanted.kind != "f":
        raise DTypeError(f"{op}: dtype must be floating point, got {backend.as_dtype(dtype)}")
    return wanted if wanted in (np.float32, np.float64) else np.float32


def randint(*args, size=None, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers from low (inclusive, default 0) to high (exclusive):
    randint(high, size) or randint(low, high, size)."""
    if size is None:
        *bounds, size = args
    else:
        bounds = list(args)
    low, high = (0, bounds[0]) if len(bounds) == 1 else bounds
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    dtype = backend.int64 if dtype is None else backend.as_dtype(dtype)
    array = numpy_generator(generator).integers(low, high, size=_size((size,)))
    return _finish(array.astype(dtype.numpy), device, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of 0..n-1."""
    dtype = backend.int64 if dtype is None else backend.as_dtype(dtype)
    array = numpy_generator(generator).permutation(n).astype(dtype.numpy)
    return _finish(array, device, False)


def rand_like(input, *, generator=None, dtype=None) -> Tensor:
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype)


def randn_like(input, *, generator=None, dtype=None) -> Tensor:
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype)


def normal(mean, std, size=None, *, generator=None, dtype=None) -> Tensor:
    """Samples from N(mean, std^2); mean and std may be numbers or tensors."""
    mean_array = getattr(mean, "_data", mean)
    std_array = getattr(std, "_data", std)
    if np.any(np.asarray(std_array) < 0):
        raise ValueError(f"normal: std must be non-negative, got {std_array}")
    shape = _size((size,)) if size is not None else np.broadcast_shapes(
        np.shape(mean_array), np.shape(std_array))
    array = numpy_generator(generator).normal(mean_array, std_array, size=shape)
    if dtype is None:
        dtype = getattr(mean, "dtype", None) or getattr(std, "dtype", None)
    return Tensor._make(array.astype(_float_dtype(dtype)))


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """1 with probability `input` (or `p`), else 0, elementwise."""
    probs = input._data if p is None else np.full(input.shape, p)
    draws = numpy_generator(generator).random(input.shape) < probs
    return Tensor._make(draws.astype(input._data.dtype))


def multinomial(input, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Indices drawn from each row's (unnormalised, non-negative) weights."""
    weights = np.asarray(input._data, dtype=np.float64)
    rows = weights.reshape(-1, weights.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all() or (rows.sum(axis=1) <= 0).any():
        raise ValueError("multinomial: weights must be finite, non-negative and not all zero")
    nonzero = int((rows > 0).sum(axis=1).min())
    if not replacement and num_samples > nonzero:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without "
                         f"replacement from {nonzero} categories of non-zero weight")
    rng = numpy_generator(generator)
    drawn = np.stack([rng.choice(rows.shape[1], size=num_samples, replace=replacement,
                                 p=row / row.sum()) for row in rows])
    return Tensor._make(drawn.reshape(weights.shape[:-1] + (num_samples,)).astype(np.int64))
