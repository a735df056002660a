"""The compiled kernels (C, built by setup.py where the machine has a compiler) and the
switch that turns them off. Each kernel does what a NumPy function beside it does, and the
tests hold the two to the same numbers; without the kernels ember runs the NumPy code."""
from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np

try:
    from ember.ops import (_conv_kernel, _elementwise_kernel, _linear_kernel, _lstm_kernel,
                           _update_kernel)
except ImportError:               # not built: no compiler when ember was installed
    _conv_kernel = _elementwise_kernel = _linear_kernel = _lstm_kernel = _update_kernel = None

_FLOAT32 = np.dtype(np.float32)     # NumPy's one float32 dtype (others fall back to NumPy)

# EMBER_KERNELS=0 in the environment starts with the NumPy code everywhere
_enabled = os.environ.get("EMBER_KERNELS", "1") != "0"


def lstm_kernel(dtype, xp):
    """The compiled LSTM step (ember/ops/lstm_kernel.c) where it is built and switched on
    and the arrays are float32 NumPy arrays; else None (use the NumPy gate math)."""
    if _enabled and xp is np and np.dtype(dtype) == np.float32:
        return _lstm_kernel
    return None


def conv_kernel(dtype, xp):
    """The compiled col2im scatter (ember/ops/conv_kernel.c) where it is built and switched
    on and the arrays are float32 or float64 NumPy arrays; else None."""
    if _enabled and xp is np and np.dtype(dtype) in (np.float32, np.float64):
        return _conv_kernel
    return None


# a Linear layer is "small" (its NumPy forward mostly per-call cost) up to these sizes,
# checked by the kernel itself (ember/ops/linear_kernel.c: SMALL_WEIGHTS, SMALL_PRODUCT)
SMALL_LINEAR_WEIGHTS = 4096
SMALL_LINEAR_PRODUCT = 65536        # multiply-adds (rows x weights)


def linear_kernel():
    """The compiled forward of small float32 Linear layers (ember/ops/linear_kernel.c) where
    it is built and switched on, else None. It checks its arrays itself and answers None
    for those it does not take."""
    return _linear_kernel if _enabled else None


def elementwise_kernel():
    """The compiled ReLU (ember/ops/elementwise_kernel.c) where it is built and switched
    on, else None. It answers None for arrays it does not take."""
    return _elementwise_kernel if _enabled else None


def update_kernel(*arrays):
    """The compiled optimizer updates (ember/ops/update_kernel.c) where they are built and
    switched on and every array is a C-contiguous float32 NumPy array; else None."""
    if not _enabled or _update_kernel is None:
        return None
    for array in arrays:           # (runs for every parameter at every step: kept lean)
        if array.__class__ is not np.ndarray or array.dtype is not _FLOAT32 \
                or not array.flags.c_contiguous:
            return None
    return _update_kernel


def kernels_built() -> bool:
    """Whether the compiled kernels were built when ember was installed."""
    return all(kernel is not None for kernel in (_conv_kernel, _elementwise_kernel,
                                                 _linear_kernel, _lstm_kernel, _update_kernel))


@contextmanager
def use_kernels(enabled: bool):
    """Switch the compiled kernels on or off inside a `with` block (for comparisons):

        >>> with use_kernels(False):
        ...     output, (h, c) = lstm(x)        # the NumPy gate math
    """
    global _enabled
    before, _enabled = _enabled, bool(enabled)
    try:
        yield
    finally:
        _enabled = before
