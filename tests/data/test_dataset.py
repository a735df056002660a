"""Datasets: TensorDataset, Subset, ConcatDataset and random_split, against PyTorch's."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from ember.errors import ShapeError
from tests.conftest import rng_for


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i * i


def test_tensor_dataset_items_are_matching_rows():
    x = rng_for("td").standard_normal((10, 3)).astype(np.float32)
    y = np.arange(10)
    dataset = TensorDataset(ember.tensor(x), y)          # a tensor and an array
    assert len(dataset) == 10
    xi, yi = dataset[4]
    np.testing.assert_array_equal(xi.numpy(), x[4])
    assert yi.item() == 4 and yi.dtype == ember.int64
    assert xi.dtype == ember.float32


def test_tensor_dataset_wraps_arrays_without_copying():
    x = np.zeros((4, 2), dtype=np.float32)
    dataset = TensorDataset(x)
    x[1, 0] = 7.0
    assert dataset[1][0][0].item() == 7.0


def test_tensor_dataset_size_mismatch_names_both_shapes():
    with pytest.raises(ShapeError, match=r"tensor 0 has shape \(5, 3\).*tensor 1 has shape \(4,\)"):
        TensorDataset(ember.zeros(5, 3), ember.zeros(4))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ShapeError, match="0-dimensional"):
        TensorDataset(ember.tensor(1.0))


def test_subset_and_concat_index_like_pytorch(torch):
    ours = ConcatDataset([Squares(3), Subset(Squares(10), [9, 2, 5])])
    theirs = torch.utils.data.ConcatDataset(
        [TorchSquares(3), torch.utils.data.Subset(TorchSquares(10), [9, 2, 5])])
    assert len(ours) == len(theirs) == 6
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-6, 6):
        assert ours[i] == theirs[i]
    with pytest.raises(IndexError):
        ours[6]
    with pytest.raises(ValueError, match="should not exceed"):
        ours[-7]
    assert (Squares(2) + Squares(3))[4] == 4


class TorchSquares:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i * i


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.25, 0.25, 0.5], [0.33, 0.33, 0.34],
                                     [1 / 3, 1 / 3, 1 / 3]])
def test_random_split_lengths_match_pytorch(torch, lengths):
    n = 10
    expected = [len(s) for s in torch.utils.data.random_split(range(n), lengths)]
    parts = random_split(range(n), lengths)
    assert [len(p) for p in parts] == expected


def test_random_split_is_a_disjoint_cover_and_repeatable():
    parts = random_split(range(100), [0.6, 0.3, 0.1], generator=ember.Generator().manual_seed(3))
    indices = [list(p) for p in parts]
    assert sorted(sum(indices, [])) == list(range(100))
    again = random_split(range(100), [0.6, 0.3, 0.1], generator=ember.Generator().manual_seed(3))
    assert [list(p) for p in again] == indices
    other = random_split(range(100), [0.6, 0.3, 0.1], generator=ember.Generator().manual_seed(4))
    assert [list(p) for p in other] != indices
    assert indices[0] != list(range(60)), "random_split did not shuffle"


def test_random_split_follows_the_global_seed():
    ember.manual_seed(11)
    first = [list(p) for p in random_split(range(20), [10, 10])]
    ember.manual_seed(11)
    assert [list(p) for p in random_split(range(20), [10, 10])] == first


def test_random_split_errors():
    with pytest.raises(ValueError, match=r"sum of input lengths \(9\).*\(10\)"):
        random_split(range(10), [4, 5])
    with pytest.warns(UserWarning, match="index 1 is 0"):
        random_split(range(1), [0.6, 0.4])


def test_subset_of_tensor_dataset_gathers_batches():
    x = ember.arange(20).reshape(10, 2)
    subset = Subset(TensorDataset(x, ember.arange(10)), [8, 1, 3])
    xs, ys = subset.get_batch(np.array([2, 0]))
    np.testing.assert_array_equal(ys.numpy(), [3, 8])
    np.testing.assert_array_equal(xs.numpy(), x.numpy()[[3, 8]])
    assert subset[0][1].item() == 8


def test_utils_data_is_torch_utils_data_under_ember():
    import ember.data
    from ember.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split
    assert DataLoader is ember.data.DataLoader and Dataset is ember.data.Dataset
    assert Subset is ember.data.Subset and TensorDataset is ember.data.TensorDataset
    assert random_split is ember.data.random_split
