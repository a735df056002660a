"""MNIST-1D: equal to the reference package's data, cached as .npz, served as a Dataset."""
from __future__ import annotations

import os

import numpy as np
import pytest

import ember
from ember.datasets.mnist1d import MNIST1D, load_mnist1d, make_mnist1d


@pytest.fixture(scope="module")
def reference():
    """The reference data from the `mnist1d` package (pinned in the test extra). Missing,
    the comparison skips, except where EMBER_REQUIRE_TORCH is set (the full test extra
    is installed), where it fails."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        if os.environ.get("EMBER_REQUIRE_TORCH"):
            raise
        pytest.skip("the mnist1d reference package is not installed")
    return make_dataset(get_dataset_args())


@pytest.fixture(scope="module")
def ours():
    return make_mnist1d()


def test_equals_the_reference_package(reference, ours):
    for key in ("x", "x_test"):
        assert ours[key].shape == reference[key].shape
        np.testing.assert_allclose(ours[key], reference[key], rtol=0, atol=1e-12)
    for key in ("y", "y_test"):
        np.testing.assert_array_equal(ours[key], reference[key])
    np.testing.assert_allclose(ours["t"], reference["t"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["templates"]["x"], reference["templates"]["x"], atol=1e-15)


def test_published_sizes_and_balance(ours):
    assert ours["x"].shape == (4000, 40) and ours["x_test"].shape == (1000, 40)
    counts = np.bincount(np.concatenate([ours["y"], ours["y_test"]]))
    assert counts.tolist() == [500] * 10
    everything = np.concatenate([ours["x"], ours["x_test"]])
    assert abs(everything.mean()) < 1e-12 and abs(everything.std() - 1) < 1e-12


def test_other_arguments_change_the_data():
    small = make_mnist1d(num_samples=100, seed=1)
    assert small["x"].shape == (80, 40)
    again = make_mnist1d(num_samples=100, seed=1)
    np.testing.assert_array_equal(small["x"], again["x"])
    assert not np.allclose(make_mnist1d(num_samples=100, seed=2)["x"], small["x"])
    with pytest.raises(TypeError, match="unknown arguments.*'sead'"):
        make_mnist1d(sead=3)


def test_cache_is_keyed_by_arguments_and_loads_without_pickle(tmp_path):
    first = load_mnist1d(tmp_path, num_samples=100)
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].endswith(".npz")
    with np.load(tmp_path / files[0], allow_pickle=False) as cached:
        np.testing.assert_array_equal(cached["x"], first["x"])
    np.testing.assert_array_equal(load_mnist1d(tmp_path, num_samples=100)["x"], first["x"])
    load_mnist1d(tmp_path, num_samples=100, seed=7)
    assert len(os.listdir(tmp_path)) == 2


def test_dataset_items_and_batches(tmp_path):
    train = MNIST1D(tmp_path, train=True, num_samples=200)
    test = MNIST1D(tmp_path, train=False, num_samples=200)
    assert len(train) == 160 and len(test) == 40
    assert train.data.dtype == ember.float32 and train.targets.dtype == ember.int64
    signal, label = train[3]
    assert signal.shape == (40,) and isinstance(label, int)
    xb, yb = next(iter(ember.data.DataLoader(train, batch_size=16)))
    np.testing.assert_array_equal(xb.numpy(), train.data.numpy()[:16])
    np.testing.assert_array_equal(yb.numpy(), train.targets.numpy()[:16])


def test_an_unreadable_cache_is_regenerated(tmp_path):
    first = load_mnist1d(tmp_path, num_samples=100)
    (cache,) = os.listdir(tmp_path)
    (tmp_path / cache).write_bytes(b"not a zip file")
    np.testing.assert_array_equal(load_mnist1d(tmp_path, num_samples=100)["x"], first["x"])
    with np.load(tmp_path / cache, allow_pickle=False) as rewritten:
        np.testing.assert_array_equal(rewritten["y"], first["y"])
