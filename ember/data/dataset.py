"""Datasets: the map-style `Dataset` (len + indexing) and the ways to build and combine
them (TensorDataset, Subset, ConcatDataset, random_split), as in `torch.utils.data`."""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Sequence

import numpy as np

from ember.creation import as_tensor
from ember.errors import ShapeError
from ember.random import numpy_generator
from ember.tensor import Tensor


class Dataset:
    """A collection of samples: `dataset[i]` gives sample i and `len(dataset)` their count.

    Subclass it and define `__getitem__` and `__len__`. A dataset that can gather a whole
    batch at once (much faster than one sample at a time) may also define
    `get_batch(indices)`, returning what `default_collate([self[i] for i in indices])`
    would, or None where it cannot; `DataLoader` then uses it.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self): return 10
        ...     def __getitem__(self, i): return i, i * i
        >>> Squares()[3]
        (3, 9)
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples, read by iterating it (`__iter__`) rather than by index.

    Example:
        >>> class Counter(IterableDataset):
        ...     def __iter__(self): return iter(range(5))
        >>> list(DataLoader(Counter(), batch_size=2))   # three batches: 2 + 2 + 1
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


def supports_get_batch(dataset) -> bool:
    """Whether `dataset.get_batch` gives the same samples as `dataset[i]`: it must exist
    and be defined by the same class as `__getitem__` (a subclass that overrides only
    `__getitem__`, e.g. to augment, must be read one sample at a time)."""
    cls = type(dataset)
    if not hasattr(cls, "get_batch"):
        return False
    getitem_owner = next(k for k in cls.__mro__ if "__getitem__" in vars(k))
    get_batch_owner = next(k for k in cls.__mro__ if "get_batch" in vars(k))
    return getitem_owner is get_batch_owner


class TensorDataset(Dataset):
    """Samples are matching rows of tensors: `dataset[i] == (t[i] for t in tensors)`.

    Args:
        *tensors: tensors or NumPy arrays (arrays are wrapped without copying), all with
            the same size in the first dimension.

    Example:
        >>> x, y = ember.randn(100, 3), ember.randint(0, 2, (100,))
        >>> dataset = TensorDataset(x, y)
        >>> len(dataset), dataset[0][0].shape
        (100, (3,))
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else as_tensor(t) for t in tensors)
        for i, t in enumerate(tensors):
            if t.ndim == 0:
                raise ShapeError(f"TensorDataset: tensor {i} is 0-dimensional; every tensor "
                                 "needs a first dimension that indexes the samples")
        first = tensors[0].shape[0]
        for i, t in enumerate(tensors[1:], start=1):
            if t.shape[0] != first:
                raise ShapeError(
                    f"TensorDataset: all tensors must have the same size in the first "
                    f"dimension, but tensor 0 has shape {tuple(tensors[0].shape)} and tensor "
                    f"{i} has shape {tuple(t.shape)}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def get_batch(self, indices: np.ndarray) -> list:
        """The rows at `indices` of every tensor, gathered at once (one index op each)."""
        return [t[indices] for t in self.tensors]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order.

    Example:
        >>> evens = Subset(dataset, range(0, len(dataset), 2))
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        self._index_array = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def get_batch(self, indices: np.ndarray):
        if not supports_get_batch(self.dataset):
            return None
        return self.dataset.get_batch(self._index_array[indices])


class ConcatDataset(Dataset):
    """Several datasets one after another: indices run through the first, then the next.

    Example:
        >>> both = ConcatDataset([train_a, train_b])     # or train_a + train_b
        >>> len(both) == len(train_a) + len(train_b)
        True
    """

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        length = len(self)
        if index < 0:
            if -index > length:
                raise ValueError(f"ConcatDataset: absolute value of index {index} should not "
                                 f"exceed dataset length {length}")
            index += length
        if index >= length:
            raise IndexError(f"ConcatDataset: index {index} is out of range for a dataset "
                             f"of length {length}")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


def random_split(dataset: Dataset, lengths: Sequence, generator=None) -> list[Subset]:
    """Split a dataset into non-overlapping random subsets of the given lengths.

    Args:
        dataset: the dataset to split.
        lengths: sizes that add up to `len(dataset)`, or fractions that add up to 1
            (each part gets floor(fraction * n); the remainder is handed out one at a
            time to the parts in order, as in PyTorch).
        generator: the random generator (default: ember's global one, so that
            `ember.manual_seed(s)` makes the split repeatable).

    Example:
        >>> train, val = random_split(dataset, [0.8, 0.2])         # 80% / 20%, at random
    """
    lengths = list(lengths)
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between "
                                 f"0 and 1 (got {fraction})")
        lengths = [math.floor(n * fraction) for fraction in lengths]
        for i in range(n - sum(lengths)):
            lengths[i % len(lengths)] += 1
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this "
                              "might result in an empty dataset", stacklevel=2)
    if any(int(length) != length or length < 0 for length in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                         f"that sum to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not "
                         f"equal the length of the input dataset ({n})")
    order = numpy_generator(generator).permutation(n).tolist()
    ends = itertools.accumulate(int(length) for length in lengths)
    return [Subset(dataset, order[end - int(length):end])
            for end, length in zip(ends, lengths)]
