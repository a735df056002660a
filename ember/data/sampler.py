"""Samplers: the order in which a DataLoader visits a dataset's indices (in order, shuffled,
weighted, or a subset), and BatchSampler, which groups indices into batches.

Every random draw comes from `ember.random.numpy_generator(generator)`: the given
generator, or ember's global one, so `ember.manual_seed(s)` makes the order repeatable.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence, Sized

import numpy as np

from ember.random import numpy_generator


class Sampler:
    """Base class: an iterable of dataset indices (or, for BatchSampler, lists of them)."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


def _check_positive_int(owner: str, name: str, value) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}: {name} should be a positive integer value, but got "
                         f"{name}={value!r}")


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., len(data_source) - 1, in order.

    Example:
        >>> list(SequentialSampler(range(4)))
        [0, 1, 2, 3]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in random order; a new order on every pass.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement (indices may repeat).
        num_samples: how many indices per pass (default len(data_source)). Without
            replacement and larger than the dataset, whole permutations follow each
            other, as in PyTorch.
        generator: the random generator (default: ember's global one).

    Example:
        >>> sorted(RandomSampler(range(5))) == [0, 1, 2, 3, 4]
        True
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator=None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        if num_samples is not None:
            _check_positive_int("RandomSampler", "num_samples", num_samples)
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self) -> int:
        # read at each pass: a dataset's size may change between epochs
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self) -> Iterator[int]:
        n, count = len(self.data_source), self.num_samples
        rng = numpy_generator(self.generator)
        if n == 0:
            return iter(())
        if self.replacement:
            return iter(rng.integers(0, n, size=count).tolist())
        passes = [rng.permutation(n) for _ in range(-(-count // n))]
        return iter(np.concatenate(passes)[:count].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a new random order on every pass.

    Example:
        >>> sorted(SubsetRandomSampler([3, 7, 9]))
        [3, 7, 9]
    """

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        order = numpy_generator(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probability proportional to `weights`.

    Args:
        weights: one non-negative weight per index (need not sum to 1).
        num_samples: how many indices per pass.
        replacement: with replacement (default); without, each index appears at most
            once, so num_samples may not exceed the number of non-zero weights.
        generator: the random generator (default: ember's global one).

    Example:
        >>> # oversample the rare class 1 so batches are balanced on average
        >>> weights = [1 / count[label] for label in labels]
        >>> sampler = WeightedRandomSampler(weights, num_samples=len(labels))
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        _check_positive_int("WeightedRandomSampler", "num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, "
                             f"but got replacement={replacement!r}")
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but "
                             f"given weights have shape {weights.shape}")
        if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative "
                             "and not all zero")
        nonzero = int((weights > 0).sum())
        if not replacement and num_samples > nonzero:
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                             f"without replacement from {nonzero} indices of non-zero weight")
        self.weights = weights
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = numpy_generator(self.generator)
        drawn = rng.choice(len(self.weights), size=self.num_samples,
                           replace=self.replacement, p=self.weights / self.weights.sum())
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of another sampler into lists of `batch_size`.

    Args:
        sampler: any iterable of indices (a Sampler, a range, a list).
        batch_size: indices per batch.
        drop_last: drop the last batch if it is smaller than batch_size.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        _check_positive_int("BatchSampler", "batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        while True:
            batch = list(itertools.islice(indices, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)    # ceil division
