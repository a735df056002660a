"""DataLoader: iterate over a dataset in (shuffled) mini-batches, as `torch.utils.data`
does, in the calling process."""
from __future__ import annotations

import numpy as np

from ember.data.collate import default_collate, default_convert
from ember.data.dataset import IterableDataset, supports_get_batch
from ember.data.sampler import BatchSampler, RandomSampler, SequentialSampler


def get_worker_info():
    """Always None: ember loads data in the calling process (PyTorch returns None there)."""
    return None


class DataLoader:
    """Mini-batches of a dataset: `for x, y in DataLoader(dataset, batch_size=64,
    shuffle=True)`.

    Args:
        dataset: a map-style Dataset (or an IterableDataset).
        batch_size: samples per batch; None yields single samples, not batched.
        shuffle: visit the samples in a new random order every epoch.
        sampler: the index order (a Sampler or any iterable of indices); excludes shuffle.
        batch_sampler: yields whole lists of indices; excludes batch_size, shuffle,
            sampler and drop_last.
        num_workers: accepted for compatibility with PyTorch code; ember always loads in
            the calling process, so any value >= 0 gives the same batches.
        collate_fn: turns a list of samples into a batch (default `default_collate`).
        drop_last: drop the last batch when it is smaller than batch_size.
        generator: the random generator for shuffling (default: ember's global one, so
            `ember.manual_seed(s)` makes the batch order repeatable).

    pin_memory, timeout, worker_init_fn, prefetch_factor and persistent_workers are
    accepted (and checked as PyTorch checks them) but change nothing here.

    A TensorDataset (and any dataset with `get_batch`, see `Dataset`) is read a batch at a
    time with one index array instead of sample by sample, when collate_fn is the default.

    Example:
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
        >>> for xb, yb in loader:
        ...     loss = F.cross_entropy(model(xb), yb)
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("DataLoader: num_workers option should be non-negative; use "
                             "num_workers=0 to disable multiprocessing")
        if timeout < 0:
            raise ValueError("DataLoader: timeout option should be non-negative")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("DataLoader: prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "sampler and batch_sampler options")
            if batch_size is not None and (not isinstance(batch_size, int)
                                           or isinstance(batch_size, bool) or batch_size <= 0):
                raise ValueError(f"DataLoader: batch_size should be a positive integer value, "
                                 f"but got batch_size={batch_size!r}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive "
                                 "with batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and "
                             "is mutually exclusive with drop_last")

        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.generator = generator
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        self._auto_collation = batch_sampler is not None or (self._iterable and
                                                             batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    def _reads_whole_batches(self) -> bool:
        """Whether batches can come from `dataset.get_batch` (the fast path)."""
        return (self._auto_collation and not self._iterable
                and self.collate_fn is default_collate and supports_get_batch(self.dataset))

    def __iter__(self):
        if self._iterable:
            yield from self._iterate_stream()
        elif not self._auto_collation:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
        elif self._reads_whole_batches():
            for indices in self.batch_sampler:
                batch = self.dataset.get_batch(np.asarray(indices, dtype=np.int64))
                if batch is None:
                    batch = self.collate_fn([self.dataset[i] for i in indices])
                yield batch
        else:
            for indices in self.batch_sampler:
                yield self.collate_fn([self.dataset[i] for i in indices])

    def _iterate_stream(self):
        """Batches of an IterableDataset, taken in the order it yields samples."""
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)       # TypeError if the stream has no length
            if self.batch_size is None:
                return length
            return length // self.batch_size if self.drop_last else -(-length //
                                                                       self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__} of "
                f"{_length_or_unknown(self.dataset)} samples, batch_size={self.batch_size}, "
                f"sampler={type(self.sampler).__name__}, drop_last={self.drop_last})")


def _length_or_unknown(dataset) -> str:
    try:
        return str(len(dataset))
    except TypeError:
        return "?"
