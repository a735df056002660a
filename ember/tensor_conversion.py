"""Tensor conversions to NumPy and Python values, new tensors like this one (new_zeros,
...), copying, and how a tensor prints."""
from __future__ import annotations

import numpy as np

from ember import backend
from ember.errors import GraphError, ShapeError


class TensorConversion:
    """Conversion methods of Tensor (mixed into the class; they use its `_data`)."""

    __slots__ = ()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The values as a NumPy array, sharing memory with the tensor when on the CPU."""
        if self._requires_grad and not force:
            raise GraphError("numpy: can't call numpy() on a tensor that requires grad; "
                             "use tensor.detach().numpy()")
        if type(self._data) is np.ndarray:
            return self._data
        if not force:
            raise backend.DeviceError(f"numpy: the tensor is on {self.device}; copy it to the "
                                      "host first with .cpu()")
        return backend.move_array(self._data, backend.CPU)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ShapeError(f"item: a tensor with {self._data.size} elements (shape "
                             f"{self._data.shape}) cannot be converted to a Python number")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._host().tolist()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if self._requires_grad:
            raise GraphError("numpy: can't convert a tensor that requires grad to an array; "
                             "use tensor.detach() first")
        array = self._host()
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to "
                            "an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of a tensor with {self._data.size} values is "
                               "ambiguous; use .any() or .all()")
        return bool(self.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__ "
                            f"(only 0-d tensors take number formats; this one has shape "
                            f"{self._data.shape})")
        return repr(self)

    # --- new tensors with this one's dtype and device (PyTorch's new_* methods) ------------

    def _new_filled(self, size, fill, dtype, requires_grad: bool):
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = size[0]
        target = self._data.dtype if dtype is None else backend.as_dtype(dtype).numpy
        xp = backend.get_array_module(self._data)
        result = self._make(xp.full(tuple(int(s) for s in size), fill, dtype=target))
        return result.requires_grad_(True) if requires_grad else result

    def new_zeros(self, *size, dtype=None, requires_grad: bool = False):
        return self._new_filled(size, 0, dtype, requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad: bool = False):
        return self._new_filled(size, 1, dtype, requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad: bool = False):
        return self._new_filled(size, 0, dtype, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, requires_grad: bool = False):
        return self._new_filled((size,), fill_value, dtype, requires_grad)

    def new_tensor(self, data, *, dtype=None, requires_grad: bool = False):
        """A copy of `data` with this tensor's dtype (unless given) and device."""
        data = getattr(data, "_data", data)
        target = self.dtype if dtype is None else dtype
        array = backend.move_array(backend.as_array(data, target, copy=True), self.device)
        result = self._make(array)
        return result.requires_grad_(True) if requires_grad else result

    def __copy__(self):
        return self.__deepcopy__({})

    def __deepcopy__(self, memo):
        """A new leaf with copied values (and gradient), keeping requires_grad."""
        if self._ctx is not None:
            raise GraphError("deepcopy: only tensors created explicitly by the user (graph "
                             "leaves) support deepcopy; call .detach() first")
        copied = type(self).__new__(type(self))
        from ember.tensor import _init_slots

        _init_slots(copied, self._data.copy())
        copied._requires_grad = self._requires_grad
        if self.grad is not None:
            copied.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = copied
        return copied

    def __reduce_ex__(self, protocol):
        raise TypeError("ember tensors cannot be pickled (unpickling can run code); save "
                        "them with ember.save(), which writes safetensors")

    def _host(self) -> np.ndarray:
        return self._data if type(self._data) is np.ndarray else self._data.get()

    def __repr__(self) -> str:
        array = self._host()
        body = _format_values(array)
        extras = []
        if array.size == 0 and array.ndim != 1:
            extras.append(f"size={array.shape}")
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if array.dtype not in (backend.get_default_dtype().numpy, np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    __str__ = __repr__


def _format_values(array: np.ndarray) -> str:
    """Values printed the way PyTorch prints them: 4 decimals, '1.' for whole floats."""
    options = dict(separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)
    if array.dtype.kind == "f":
        finite = array[np.isfinite(array)].astype(np.float64)
        whole = finite.size == 0 or np.all(finite == np.round(finite))
        large = finite.size > 0 and (np.abs(finite).max() >= 1e8 or (
            np.abs(finite[finite != 0]).min(initial=1.0) < 1e-4))
        if large:
            options.update(formatter={"float_kind": lambda v: f"{v:.4e}"})
        elif whole:
            options.update(floatmode="unique")
        else:
            options.update(precision=4, floatmode="fixed")
    return np.array2string(array, **options)
