"""Turning a list of samples into a batch: `default_collate` stacks tensors, arrays and
numbers and recurses into tuples, lists and dicts, exactly as PyTorch's does."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ember import backend
from ember.creation import as_tensor, tensor
from ember.ops.shape import stack
from ember.tensor import Tensor


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def _unsupported(found) -> TypeError:
    return TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, "
                     f"dicts or lists; found {found}")


def default_collate(batch: list):
    """Stack a list of samples into a batch, keeping the samples' structure.

    - tensors are stacked along a new first dimension;
    - NumPy arrays and NumPy scalars become tensors of their dtype, stacked;
    - Python floats give a float64 tensor, ints int64, bools bool (as PyTorch);
    - strings and bytes are returned as the list they came in;
    - dicts, named tuples, tuples and lists are collated field by field (tuples give
      a list, as in PyTorch: `[(x0, y0), (x1, y1)]` -> `[stack(x), stack(y)]`).

    Example:
        >>> default_collate([(ember.zeros(3), 0), (ember.ones(3), 1)])
        [tensor([[0., 0., 0.], [1., 1., 1.]]), tensor([0, 1])]
    """
    if len(batch) == 0:
        raise IndexError("default_collate: got an empty batch (no samples to collate)")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "USO":
            raise _unsupported(elem.dtype)
        return as_tensor(np.stack(batch))
    if isinstance(elem, np.generic):      # NumPy scalars keep their dtype
        if elem.dtype.kind in "USO":
            raise _unsupported(elem.dtype)
        return as_tensor(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch, dtype=backend.bool_)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype=backend.float64)
    if isinstance(elem, Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:                 # a mapping type that cannot be built from a dict
            return collated
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            sizes = sorted({len(sample) for sample in batch})
            raise RuntimeError(f"each element in list of batch should be of equal size "
                               f"(default_collate: found samples of lengths {sizes})")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        if isinstance(elem, tuple):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise _unsupported(type(elem))


def default_convert(data):
    """Convert one sample without batching (used when `batch_size=None`): NumPy arrays
    and scalars become tensors; containers are converted element by element."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (str, bytes)):
        return data if data.dtype.kind in "USO" else as_tensor(np.asarray(data))
    if isinstance(data, Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    return data
