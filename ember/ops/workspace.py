"""Memory reused from call to call. A fresh array of megabytes costs more in page faults
than filling it (on 2 cores, 0.3-0.4 ms per MB inside a training step), so large buffers
are kept: `scratch` for temporaries a kernel makes and uses up within one call (a
convolution's unfolded columns), per thread; `Workspace` for arrays that live from a
forward to its backward (the recurrent layer's gates and states)."""
from __future__ import annotations

import math
import threading

import numpy as np

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
    """Free this thread's scratch buffers (they are made again when next needed)."""
    _buffers.pool = {}



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
