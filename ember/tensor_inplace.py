"""In-place tensor methods: what optimizers and initialisers need (add_, mul_, zero_,
fill_, copy_, uniform_, normal_, ...) and item assignment.

They change tensors outside the graph, or any tensor under `ember.no_grad()`. Each change
increments the tensor's version counter, so a tensor that the graph saved for backward
cannot change behind its back: backward raises an error instead of a wrong gradient.
"""
from __future__ import annotations

import numpy as np

from ember import random
from ember.errors import DTypeError, GraphError, ShapeError
from ember.grad_mode import _mode


def _array(value):
    """The array behind a tensor, or the value itself (a number or an array)."""
    return getattr(value, "_data", value)


class TensorInPlace:
    """In-place methods of Tensor (mixed into the class; they use its `_data`)."""

    __slots__ = ()

    def _begin_inplace(self, op: str, *sources) -> None:
        """Refuse in-place changes that autograd could not account for."""
        if not _mode.enabled:
            return
        if self._requires_grad:
            if self._ctx is None:
                raise GraphError(
                    f"{op}: a leaf tensor that requires grad cannot be changed in place "
                    f"while operations are recorded; do it inside `with ember.no_grad():` "
                    f"(as optimizers do)")
            raise GraphError(
                f"{op}: in-place changes to a tensor computed inside the graph are not "
                f"supported; use the out-of-place form (x = x + y instead of x += y)")
        for source in sources:
            if getattr(source, "_requires_grad", False):
                raise GraphError(
                    f"{op}: the value written requires grad, but in-place ops are not "
                    f"recorded; write it under `ember.no_grad()` or pass value.detach()")

    def _ufunc_inplace(self, op: str, ufunc, other):
        self._begin_inplace(op, other)
        value = _array(other)
        try:
            ufunc(self._data, value, out=self._data, casting="same_kind")
        except TypeError as exc:
            raise DTypeError(f"{op}: the result ({exc}) can't be stored in a tensor of "
                             f"dtype {self.dtype}") from None
        except ValueError:
            raise ShapeError(f"{op}: a value of shape {np.shape(value)} cannot be broadcast "
                             f"to the tensor's shape {self._data.shape}") from None
        self._version[0] += 1
        return self

    def _inplace_or_rebind(self, op: str, out_of_place, other):
        """x += y: in place when nothing is recorded; while recording, x = x + y for a tensor
        computed in the graph (like a residual `out += identity`). A leaf that requires
        grad cannot be changed in place while recording (as in PyTorch)."""
        if _mode.enabled and (self._requires_grad or getattr(other, "_requires_grad", False)):
            if self._requires_grad and self._ctx is None:
                self._begin_inplace(op)      # raises: the usual slip is an update outside no_grad
            return out_of_place(self, other)
        return getattr(self, op)(other)

    def add_(self, other, *, alpha=1):
        return self._ufunc_inplace("add_", np.add, _scaled(other, alpha))

    def sub_(self, other, *, alpha=1):
        return self._ufunc_inplace("sub_", np.subtract, _scaled(other, alpha))

    def mul_(self, other):
        return self._ufunc_inplace("mul_", np.multiply, other)

    def div_(self, other):
        return self._ufunc_inplace("div_", np.true_divide, other)

    def clamp_(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        self._begin_inplace("clamp_", min, max)
        try:
            np.clip(self._data, _array(min), _array(max), out=self._data, casting="same_kind")
        except TypeError:
            raise DTypeError(f"clamp_: bounds {min} and {max} cannot be stored in a tensor of "
                             f"dtype {self.dtype}") from None
        self._version[0] += 1
        return self

    def copy_(self, src):
        """Copy the values of `src` (broadcast and cast to this tensor's shape and dtype)."""
        self._begin_inplace("copy_", src)
        value = _array(src)
        if type(value).__module__.startswith("cupy") != type(self._data).__module__.startswith(
                "cupy"):
            from ember.backend import move_array
            value = move_array(value, self.device)
        try:
            np.broadcast_to(value, self._data.shape)
        except ValueError:
            raise ShapeError(f"copy_: a source of shape {np.shape(value)} cannot be broadcast "
                             f"to the tensor's shape {self._data.shape}") from None
        self._data[...] = value
        self._version[0] += 1
        return self

    def fill_(self, value, *, _op: str = "fill_"):
        self._begin_inplace(_op, value)
        self._data.fill(_array(value))
        self._version[0] += 1
        return self

    def zero_(self):
        return self.fill_(0, _op="zero_")

    def masked_fill_(self, mask, value):
        mask = _array(mask)
        if getattr(mask, "dtype", None) != np.bool_:
            raise DTypeError(f"masked_fill_: the mask must be a bool tensor, got dtype "
                             f"{getattr(mask, 'dtype', type(mask).__name__)}")
        try:
            mask = np.broadcast_to(mask, self._data.shape)
        except ValueError:
            raise ShapeError(f"masked_fill_: a mask of shape {mask.shape} cannot be broadcast "
                             f"to the tensor's shape {self._data.shape}") from None
        self._begin_inplace("masked_fill_", value)
        self._data[mask] = _array(value)
        self._version[0] += 1
        return self

    def _begin_random_fill(self, op: str) -> None:
        if self._data.dtype.kind != "f":
            raise DTypeError(f"{op}: needs a floating-point tensor, got {self.dtype}")
        self._begin_inplace(op)

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
        """Fill with values drawn uniformly from [a, b)."""
        self._begin_random_fill("uniform_")
        rng = random.numpy_generator(generator)
        self._data[...] = rng.uniform(a, b, size=self._data.shape)
        self._version[0] += 1
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
        """Fill with values drawn from N(mean, std^2)."""
        self._begin_random_fill("normal_")
        rng = random.numpy_generator(generator)
        self._data[...] = rng.normal(mean, std, size=self._data.shape)
        self._version[0] += 1
        return self

    def bernoulli_(self, p: float = 0.5, *, generator=None):
        """Fill with 1 with probability p, else 0."""
        self._begin_inplace("bernoulli_")
        rng = random.numpy_generator(generator)
        self._data[...] = rng.random(size=self._data.shape) < _array(p)
        self._version[0] += 1
        return self

    def __setitem__(self, index, value) -> None:
        """x[index] = value, outside the graph (see the module docstring)."""
        from ember.ops.indexing import normalize_index

        self._begin_inplace("setitem", value)
        numpy_index, _ = normalize_index(index)
        try:
            self._data[numpy_index] = _array(value)
        except ValueError as exc:
            raise ShapeError(f"setitem: {exc} (tensor shape {self._data.shape}, value shape "
                             f"{np.shape(_array(value))})") from None
        except IndexError as exc:
            raise IndexError(f"setitem: {exc} (tensor shape {self._data.shape})") from None
        self._version[0] += 1


def _scaled(other, alpha):
    return other if alpha == 1 else _array(other) * alpha
