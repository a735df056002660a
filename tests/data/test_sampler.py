"""Samplers: the orders they give, their lengths, their randomness and their errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data.sampler import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def test_sequential_sampler():
    assert list(SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    assert len(SequentialSampler(range(5))) == 5


def test_random_sampler_is_a_fresh_permutation_each_pass():
    sampler = RandomSampler(range(50))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second and first != list(range(50))


def test_random_sampler_with_generator_is_repeatable():
    a = list(RandomSampler(range(30), generator=ember.Generator().manual_seed(5)))
    b = list(RandomSampler(range(30), generator=ember.Generator().manual_seed(5)))
    assert a == b
    ember.manual_seed(1)
    c = list(RandomSampler(range(30)))
    ember.manual_seed(1)
    assert list(RandomSampler(range(30))) == c


def test_random_sampler_num_samples_beyond_the_dataset_chains_permutations():
    drawn = list(RandomSampler(range(4), num_samples=10))
    assert len(drawn) == 10
    assert sorted(drawn[:4]) == sorted(drawn[4:8]) == [0, 1, 2, 3]
    assert set(drawn[8:]) <= {0, 1, 2, 3} and len(set(drawn[8:])) == 2


def test_random_sampler_with_replacement_repeats_and_covers_uniformly():
    drawn = np.array(list(RandomSampler(range(5), replacement=True, num_samples=50_000)))
    counts = np.bincount(drawn, minlength=5)
    # each count is Binomial(50000, 0.2): std ~ 89, so +-600 is > 6 sigma
    assert np.all(np.abs(counts - 10_000) < 600), counts
    short = list(RandomSampler(range(100), replacement=True, num_samples=30))
    assert len(short) == 30


def test_random_sampler_errors():
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer.*0"):
        RandomSampler(range(3), num_samples=0)


def test_subset_random_sampler_permutes_the_given_indices():
    indices = [10, 20, 30, 40, 50, 60]
    drawn = [list(SubsetRandomSampler(indices)) for _ in range(5)]
    assert all(sorted(d) == indices for d in drawn)
    assert len({tuple(d) for d in drawn}) > 1


def test_weighted_sampler_follows_the_weights():
    weights = [0.1, 0.0, 0.6, 0.3]
    drawn = np.array(list(WeightedRandomSampler(weights, 40_000)))
    frequencies = np.bincount(drawn, minlength=4) / 40_000
    assert frequencies[1] == 0, "an index of weight 0 was drawn"
    # std of a frequency <= sqrt(0.25 / 40000) = 0.0025: 0.02 is 8 sigma
    np.testing.assert_allclose(frequencies, weights, atol=0.02)


def test_weighted_sampler_without_replacement_draws_distinct_nonzero_indices():
    drawn = list(WeightedRandomSampler([1, 0, 5, 2, 3], 4, replacement=False))
    assert sorted(drawn) == [0, 2, 3, 4]
    with pytest.raises(ValueError, match="cannot draw 5 samples without replacement from 4"):
        WeightedRandomSampler([1, 0, 5, 2, 3], 5, replacement=False)


def test_weighted_sampler_errors():
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1, 2], 0)
    with pytest.raises(ValueError, match="replacement should be a boolean"):
        WeightedRandomSampler([1, 2], 3, replacement="yes")
    with pytest.raises(ValueError, match=r"1d sequence.*\(2, 2\)"):
        WeightedRandomSampler([[1, 2], [3, 4]], 3)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1, -2], 3)


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("n, batch_size", [(10, 3), (9, 3), (2, 5), (0, 2)])
def test_batch_sampler_matches_pytorch(torch, n, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = torch.utils.data.BatchSampler(range(n), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


def test_batch_sampler_errors():
    with pytest.raises(ValueError, match="batch_size should be a positive integer.*0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="batch_size should be a positive integer.*True"):
        BatchSampler(range(3), True, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        BatchSampler(range(3), 2, 1)
