"""DataLoader: batch sizes, drop_last, shuffling that ember.manual_seed repeats, the
options PyTorch checks, iterable datasets, and the whole-batch fast path."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data.collate import default_collate
from ember.data.dataloader import DataLoader
from ember.data.dataset import Dataset, IterableDataset, Subset, TensorDataset
from ember.data.sampler import BatchSampler, SequentialSampler


class Numbers(Dataset):
    """Sample i is (i as float32 vector of 2, i as int): no fast path."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(2, i, dtype=np.float32), i


def labels_of(loader) -> list[list[int]]:
    return [batch[1].tolist() for batch in loader]


@pytest.mark.parametrize("n, batch_size, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (2, 5, False, [2]),
    (2, 5, True, []),
])
def test_batch_sizes_and_last_batch(n, batch_size, drop_last, sizes):
    loader = DataLoader(Numbers(n), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert [len(b[1]) for b in batches] == sizes
    assert len(loader) == len(sizes)
    assert sum(labels_of(loader), []) == list(range(sum(sizes)))
    if batches:
        x, y = batches[0]
        assert x.shape == (sizes[0], 2) and x.dtype == ember.float32
        assert y.dtype == ember.int64


def test_batches_equal_pytorch_dataloader_without_shuffle(torch):
    x = np.arange(70, dtype=np.float32).reshape(35, 2)
    y = np.arange(35) % 4
    ours = list(DataLoader(TensorDataset(x, y), batch_size=8))
    theirs = list(torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=8))
    assert len(ours) == len(theirs) == 5
    for (xa, ya), (xb, yb) in zip(ours, theirs):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_manual_seed_repeats_the_order_and_each_epoch_reshuffles():
    loader = DataLoader(Numbers(40), batch_size=8, shuffle=True)
    ember.manual_seed(123)
    epoch1, epoch2 = labels_of(loader), labels_of(loader)
    ember.manual_seed(123)
    assert labels_of(loader) == epoch1 and labels_of(loader) == epoch2
    assert epoch1 != epoch2, "a new epoch did not reshuffle"
    assert sorted(sum(epoch1, [])) == list(range(40))
    assert sum(epoch1, []) != list(range(40)), "shuffle=True kept the order"


def test_explicit_generator_decides_the_order():
    def order(seed):
        loader = DataLoader(Numbers(30), batch_size=7, shuffle=True,
                            generator=ember.Generator().manual_seed(seed))
        return labels_of(loader)

    ember.manual_seed(0)
    a = order(5)
    ember.manual_seed(99)                     # the global seed does not matter
    assert order(5) == a
    assert order(6) != a


def test_shuffled_fast_and_slow_paths_give_the_same_batches():
    x = rng_array((50, 3))
    y = np.arange(50)
    fast = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True,
                      generator=ember.Generator().manual_seed(2))
    slow = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True,
                      generator=ember.Generator().manual_seed(2),
                      collate_fn=lambda batch: default_collate(batch))
    assert fast._reads_whole_batches() and not slow._reads_whole_batches()
    for (xa, ya), (xb, yb) in zip(fast, slow, strict=True):
        assert xa.dtype == xb.dtype == ember.float32 and ya.dtype == yb.dtype
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def rng_array(shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def test_fast_path_reaches_through_subsets_but_not_overridden_getitem():
    dataset = TensorDataset(rng_array((20, 2)), np.arange(20))
    assert DataLoader(Subset(dataset, range(5)), batch_size=2)._reads_whole_batches()

    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y

    doubled = Doubled(rng_array((6, 2)), np.arange(6))
    for loader in (DataLoader(doubled, batch_size=3),
                   DataLoader(Subset(doubled, range(6)), batch_size=3)):
        xb, _ = next(iter(loader))
        np.testing.assert_array_equal(xb.numpy(), 2 * doubled.tensors[0].numpy()[:3])


def test_fast_path_reads_whole_batches_without_per_sample_getitem():
    """The fast path gathers each batch with one index array: no per-sample calls."""
    calls = []

    class Counted(TensorDataset):
        def __getitem__(self, i):
            calls.append(i)
            return super().__getitem__(i)

        def get_batch(self, indices):
            return super().get_batch(indices)

    loader = DataLoader(Counted(rng_array((100, 4)), np.arange(100)), batch_size=10)
    assert len(list(loader)) == 10 and calls == []


def test_batch_size_none_yields_converted_samples():
    loader = DataLoader(Numbers(3), batch_size=None)
    samples = list(loader)
    assert len(loader) == 3 and len(samples) == 3
    x, y = samples[2]
    assert isinstance(x, ember.Tensor) and x.shape == (2,) and y == 2


def test_custom_sampler_and_batch_sampler():
    loader = DataLoader(Numbers(6), batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert labels_of(loader) == [[5, 4], [3, 2], [1, 0]]
    batches = BatchSampler(SequentialSampler(range(6)), 4, drop_last=False)
    loader = DataLoader(Numbers(6), batch_sampler=batches)
    assert labels_of(loader) == [[0, 1, 2, 3], [4, 5]] and len(loader) == 2


def test_custom_collate_fn_receives_the_list_of_samples():
    loader = DataLoader(Numbers(5), batch_size=2, collate_fn=lambda batch: len(batch))
    assert list(loader) == [2, 2, 1]


def test_num_workers_is_accepted_and_changes_nothing():
    ember.manual_seed(4)
    a = labels_of(DataLoader(Numbers(9), batch_size=4, shuffle=True, num_workers=2))
    ember.manual_seed(4)
    assert labels_of(DataLoader(Numbers(9), batch_size=4, shuffle=True)) == a


@pytest.mark.parametrize("kwargs, message", [
    ({"shuffle": True, "sampler": [0, 1]}, "mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually exclusive"),
    ({"batch_size": None, "drop_last": True}, "disables auto-batching"),
    ({"num_workers": -1}, "num_workers option should be non-negative"),
    ({"timeout": -1}, "timeout option should be non-negative"),
    ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
    ({"batch_size": 0}, "batch_size should be a positive integer"),
])
def test_option_errors_match_pytorch(torch, kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(Numbers(4), **kwargs)
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(list(range(4)), **kwargs)


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_dataset_matches_pytorch(torch, drop_last):
    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    ours = DataLoader(Stream(7), batch_size=3, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(TorchStream(), batch_size=3, drop_last=drop_last)
    assert [b.tolist() for b in ours] == [b.tolist() for b in theirs]
    assert len(ours) == len(theirs)
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(Stream(3), batch_size=0)
