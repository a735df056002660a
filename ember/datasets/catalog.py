"""Datasets by name, split into training, validation and test sets and preprocessed, for
`ember train` and the playground: `load_splits("mnist1d")`."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ember.data import TensorDataset
from ember.data.transforms import Standardize
from ember.datasets import toy
from ember.datasets.mnist import MNIST, FashionMNIST
from ember.datasets.mnist1d import MNIST1D
from ember.tensor import Tensor

TOY = {"spirals": toy.spirals, "circles": toy.circles, "xor": toy.xor,
       "gaussians": toy.gaussians, "moons": toy.moons}
IMAGES = {"mnist": MNIST, "fashion-mnist": FashionMNIST}
NAMES = ("mnist1d", *IMAGES, *TOY)


@dataclass
class Splits:
    """Training, validation and test sets of one dataset, ready for ember.fit."""

    train: TensorDataset
    val: TensorDataset | None
    test: TensorDataset
    input_shape: tuple
    num_classes: int
    standardize: Standardize | None = None


def _split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """Two random parts of (x, y): the second holds `fraction` of the examples."""
    order = np.random.default_rng(seed).permutation(len(x))
    cut = len(x) - int(round(fraction * len(x)))
    first, second = order[:cut], order[cut:]
    return (x[first], y[first]), (x[second], y[second])


def _dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
    return TensorDataset(Tensor._make(np.ascontiguousarray(x)), Tensor._make(y))


def load_splits(name: str, root: str | None = None, *, val_fraction: float = 0.1,
                seed: int = 0, samples: int = 1000, noise: float | None = None) -> Splits:
    """Load `name` and split it; inputs are float32, targets int64 class indices.

    Args:
        name: one of NAMES ("mnist1d", "mnist", "fashion-mnist", or a 2-D toy set).
        root: where MNIST/Fashion-MNIST files are (or MNIST-1D caches its data).
        val_fraction: the share of the training set held out for validation (0: none).
        seed: for the toy sets' generation and for the validation split.
        samples, noise: size and noise of a 2-D toy set (60% train, 20% val, 20% test).

    Images are standardized with the mean and std of the training split only.
    """
    if name == "mnist1d":
        train_set, test_set = MNIST1D(root, train=True), MNIST1D(root, train=False)
        x, y = train_set.data.numpy(), train_set.targets.numpy()
        test = (test_set.data.numpy(), test_set.targets.numpy())
        shape, classes = (40,), 10
    elif name in IMAGES:
        if root is None:
            raise ValueError(f"{name}: give the folder with its IDX files, e.g. "
                             f"--root ../shared/datasets/{name}")
        make = IMAGES[name]
        train_set, test_set = make(os.path.expanduser(root)), make(root, train=False)
        x = train_set.data.numpy().reshape(-1, 1, 28, 28).astype(np.float32) / 255
        y = train_set.targets.numpy()
        test = (test_set.data.numpy().reshape(-1, 1, 28, 28).astype(np.float32) / 255,
                test_set.targets.numpy())
        shape, classes = (1, 28, 28), 10
    elif name in TOY:
        options = {} if noise is None else {"noise": noise}
        full = TOY[name](n=samples, seed=seed, **options)
        everything = (full.tensors[0].numpy(), full.tensors[1].numpy())
        (x, y), test = _split(*everything, 0.2, seed)
        val_fraction = 0.25 if val_fraction else 0.0      # 20% of the whole set
        shape, classes = (2,), int(everything[1].max()) + 1
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")
    val = None
    if val_fraction:
        (x, y), (x_val, y_val) = _split(x, y, val_fraction, seed + 1)
        val = (x_val, y_val)
    standardize = None
    if name in IMAGES:  # one mean/std from the training split only, applied to all splits
        standardize = Standardize(per_channel=True).fit(x)
        x, test = standardize(x).astype(np.float32), (standardize(test[0]).astype(np.float32),
                                                      test[1])
        val = None if val is None else (standardize(val[0]).astype(np.float32), val[1])
    return Splits(_dataset(x, y), None if val is None else _dataset(*val), _dataset(*test),
                  shape, classes, standardize)
