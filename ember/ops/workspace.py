"""Memory reused from call to call. A fresh array of megabytes costs more in page faults
than filling it (on 2 cores, 0.3-0.4 ms per MB inside a training step), so large buffers
are kept: `scratch` for temporaries a kernel makes and uses up within one call (a
convolution's unfolded columns), per thread; `Workspace` for arrays that live from a
forward to its backward (the recurrent layer's gates and states)."""
from __future__ import annotations

import ctypes
import math
import threading

import numpy as np

from ember.backend import get_array_module

_buffers = threading.local()        # {(array module name, purpose): 1-D byte buffer}


def scratch(xp, shape: tuple, dtype, purpose: str):
    """An uninitialised array of `shape` and `dtype` in this thread's buffer for `purpose`,
    grown when too small. It is valid until the next scratch() call for the same purpose:
    never return it, save it for backward, or hold it across a call that may ask for the
    same purpose."""
    pool = getattr(_buffers, "pool", None)
    if pool is None:
        pool = _buffers.pool = {}
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    key = (xp.__name__, purpose)
    buffer = pool.get(key)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = pool[key] = xp.empty(max(nbytes, 1), dtype=xp.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


def release_scratch() -> None:
    """Free this thread's scratch buffers and the kept zeros (they are made again when
    next needed)."""
    _buffers.pool = {}
    _zeros.clear()


_zeros: dict = {}                   # {(array type, dtype): read-only 1-D zeros}
ZEROS_MAX_BYTES = 64 * 2**20        # larger arrays get no kept zeros (memory held forever)


def zeros_laid_out_like(x):
    """A read-only array of zeros with x's shape, dtype and memory layout, from a buffer
    kept between calls; None when x is not dense (not a permutation of a contiguous array)
    or larger than ZEROS_MAX_BYTES.

    Why: NumPy's elementwise loops are vectorized only when every operand steps through
    memory one element at a time. np.maximum(x, 0) broadcasts the 0 and runs 2.5-3x
    slower than np.maximum(x, zeros) (a LeNet activation, 301,056 floats on an AMD EPYC:
    160 vs 59 us; a copy is 39 us)."""
    contiguous = x.flags.c_contiguous
    if x.nbytes > ZEROS_MAX_BYTES or not (contiguous or is_dense(x)):
        return None
    key = (type(x), x.dtype)
    zeros = _zeros.get(key)
    if zeros is None or zeros.size < x.size:
        zeros = get_array_module(x).zeros(max(x.size, 1), dtype=x.dtype)
        if hasattr(zeros, "setflags"):
            zeros.setflags(write=False)
        _zeros[key] = zeros
    zeros = zeros[:x.size]
    return zeros.reshape(x.shape) if contiguous else as_layout_of(zeros, x)


def is_dense(x) -> bool:
    """Whether x's elements fill one block of memory without gaps (any axis order)."""
    if x.flags.c_contiguous or x.flags.f_contiguous:
        return True
    step = x.itemsize
    for axis in sorted(range(x.ndim), key=lambda axis: x.strides[axis]):
        if x.shape[axis] == 1:
            continue
        if x.strides[axis] != step:
            return False
        step *= x.shape[axis]
    return True


def as_layout_of(flat, like):
    """A 1-D contiguous array viewed with the shape and memory order of `like` (which
    must be dense: a permutation of a contiguous array)."""
    order = sorted(range(like.ndim), key=lambda axis: -like.strides[axis])
    dense = flat.reshape([like.shape[axis] for axis in order])
    return dense.transpose([order.index(axis) for axis in range(like.ndim)])



class Workspace:
    """A small pool of arrays, matched by shape and dtype.

    Why: a fresh array of a few megabytes comes from memory the operating system maps in
    page by page as it is first written, and takes back when the array is freed; a W4
    training step paid over 3,000 such page faults (about 12 ms of kernel time) for the
    layer's buffers. Reusing them keeps the memory mapped.

    Only arrays that nothing else refers to may be given back: internal buffers of a
    layer whose backward has finished and whose graph is released, never an output.
    """

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity       # at most this many arrays are kept
        self.free: list = []

    def empty(self, shape: tuple, dtype, xp):
        """An uninitialised array of this shape and dtype: a kept one if there is one."""
        for k, array in enumerate(self.free):
            if array.shape == shape and array.dtype == dtype and type(array) is xp.ndarray:
                return self.free.pop(k)
        return xp.empty(shape, dtype=dtype)

    def give_back(self, *arrays) -> None:
        """Keep these arrays for reuse (None entries are skipped); the oldest go first."""
        self.free.extend(array for array in arrays if array is not None)
        del self.free[:-self.capacity]


# the one workspace of the recurrent layers (ember.ops.rnn)
recurrent_workspace = Workspace()


# glibc's malloc options (mallopt's parameter numbers, from malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
# glibc's initial values (128 KiB each), restored by reuse_freed_memory(False)
_GLIBC_DEFAULTS = {_M_TRIM_THRESHOLD: 128 * 1024, _M_TOP_PAD: 128 * 1024,
                   _M_MMAP_THRESHOLD: 128 * 1024}
_REUSE = {_M_TRIM_THRESHOLD: 256 * 2**20, _M_TOP_PAD: 16 * 2**20, _M_MMAP_THRESHOLD: 64 * 2**20}


def reuse_freed_memory(enabled: bool = True) -> bool:
    """Let the C allocator keep freed memory for the next array, instead of handing it back
    to the operating system (glibc only; elsewhere this does nothing and returns False).

    Why: every step of training frees its activations and makes them again. By default
    glibc maps arrays over 128 KiB in fresh from the operating system and unmaps them when
    freed (or trims the heap), so each new array pays a page fault per 4 KiB as it is
    first written: 30% of a LeNet training step on one core (9.4 -> 6.4 ms per step with
    this on; a ReLU's forward 0.69 -> 0.15 ms). With it on, arrays up to 64 MiB come from
    the heap and up to 256 MiB of freed memory is kept for reuse. The peak memory of a
    run does not grow; what the process holds after its peak does.

    ember turns this on when imported; `reuse_freed_memory(False)` restores glibc's
    initial settings.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt         # the C library the process runs on
    except (OSError, AttributeError, TypeError):    # no mallopt (macOS), no CDLL(None)
        return False
    settings = _REUSE if enabled else _GLIBC_DEFAULTS
    return all(mallopt(option, value) == 1 for option, value in settings.items())
