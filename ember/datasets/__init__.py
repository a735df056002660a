"""Datasets: MNIST and Fashion-MNIST (IDX files), MNIST-1D (generated), Tiny Shakespeare
(characters) and 2-D toy sets. Nothing is read or generated until a dataset is made."""
from ember.datasets.idx import IDXFormatError, read_idx
from ember.datasets.mnist import MNIST, FashionMNIST
from ember.datasets.mnist1d import MNIST1D, make_mnist1d
from ember.datasets.shakespeare import TinyShakespeare
from ember.datasets.toy import circles, gaussians, moons, multi_gaussian, plane, spirals, xor
