"""Toy 2-D datasets: shapes and dtypes, the same data per seed, balanced classes, and the
geometry each one promises."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.datasets.toy import circles, gaussians, moons, multi_gaussian, plane, spirals, xor

CLASSIFIERS = [spirals, circles, xor, gaussians, moons]
REGRESSORS = [plane, multi_gaussian]


def arrays(dataset):
    x, y = dataset.tensors
    return x.numpy(), y.numpy()


@pytest.mark.parametrize("make", CLASSIFIERS + REGRESSORS, ids=lambda f: f.__name__)
def test_same_seed_same_data_other_seed_other_data(make):
    x1, y1 = arrays(make(n=90, seed=3))
    x2, y2 = arrays(make(n=90, seed=3))
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    x3, _ = arrays(make(n=90, seed=4))
    assert not np.array_equal(x1, x3)


@pytest.mark.parametrize("make", CLASSIFIERS, ids=lambda f: f.__name__)
def test_classification_shapes_dtypes_and_balance(make):
    dataset = make(n=101, noise=0.0, seed=0)
    x, y = dataset.tensors
    assert x.shape == (101, 2) and x.dtype == ember.float32
    assert y.shape == (101,) and y.dtype == ember.int64
    counts = np.bincount(y.numpy())
    assert len(counts) >= 2 and counts.max() - counts.min() <= 1, counts
    assert np.isfinite(x.numpy()).all()
    assert not np.array_equal(y.numpy(), np.sort(y.numpy())), "the classes are not shuffled"


@pytest.mark.parametrize("make", REGRESSORS, ids=lambda f: f.__name__)
def test_regression_shapes_and_dtypes(make):
    x, t = make(n=50).tensors
    assert x.shape == (50, 2) and x.dtype == ember.float32
    assert t.shape == (50, 1) and t.dtype == ember.float32
    assert np.abs(x.numpy()).max() <= 6 and np.abs(t.numpy()).max() <= 1.2


def test_spirals_classes_and_radius():
    x, y = arrays(spirals(n=300, classes=5, noise=0.0))
    assert np.bincount(y).tolist() == [60] * 5
    radius = np.linalg.norm(x, axis=1)
    assert radius.min() == 0 and abs(radius.max() - 1) < 1e-6


def test_circles_disc_inside_ring_without_noise():
    x, y = arrays(circles(n=400, noise=0.0))
    radius = np.linalg.norm(x, axis=1)
    assert radius[y == 1].max() <= 2.5 and radius[y == 0].min() >= 3.5


def test_noise_flips_some_labels_near_the_boundary():
    x, y = arrays(circles(n=2000, noise=0.5, seed=1))
    radius = np.linalg.norm(x, axis=1)
    assert (y != (radius < 2.5)).any()


def test_xor_labels_are_the_sign_agreement():
    x, y = arrays(xor(n=400, noise=0.0))
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.int64))
    assert np.abs(x).min() >= 0.3 - 1e-6


def test_gaussians_centres():
    x, y = arrays(gaussians(n=4000, noise=0.0))
    np.testing.assert_allclose(x[y == 0].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [-2, -2], atol=0.1)
    # variance 0.5 at noise 0, 4 at noise 0.5
    assert abs(x[y == 0].var(axis=0).mean() - 0.5) < 0.1
    wide, labels = arrays(gaussians(n=4000, noise=0.5))
    assert abs(wide[labels == 0].var(axis=0).mean() - 4.0) < 0.6
    assert np.bincount(arrays(gaussians(n=30, classes=3))[1]).tolist() == [10, 10, 10]


def test_moons_without_noise_lie_on_their_arcs():
    x, y = arrays(moons(n=100, noise=0.0))
    np.testing.assert_allclose(np.linalg.norm(x[y == 0], axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(x[y == 1] - [1, 0.5], axis=1), 1, atol=1e-6)


def test_plane_and_bumps_targets_without_noise():
    x, t = arrays(plane(n=100, noise=0.0))
    np.testing.assert_allclose(t[:, 0], (x[:, 0] + x[:, 1]) / 10, atol=1e-6)
    x, t = arrays(multi_gaussian(n=2000, noise=0.0))
    near = np.linalg.norm(x - [-4, 2.5], axis=1) < 0.5       # a positive bump
    assert near.any() and (t[near] > 0.7).all()
    near = np.linalg.norm(x - [0, 2.5], axis=1) < 0.5        # a negative bump
    assert near.any() and (t[near] < -0.7).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="spirals: n must be a positive integer"):
        spirals(n=0)
    with pytest.raises(ValueError, match="moons: noise must be non-negative"):
        moons(noise=-1)
    with pytest.raises(ValueError, match="classes must be an integer >= 2"):
        gaussians(classes=1)
