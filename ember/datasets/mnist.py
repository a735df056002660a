"""MNIST and Fashion-MNIST from their IDX files, with torchvision's layout, mirrors and
checksums: 28x28 greyscale images (uint8) and labels 0-9."""
from __future__ import annotations

import os

import numpy as np

from ember.creation import from_numpy
from ember.data.dataset import Dataset
from ember.datasets.download import download_file
from ember.datasets.idx import IDXFormatError, read_idx


class MNIST(Dataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images.

    Args:
        root: folder holding the four IDX files (`train-images-idx3-ubyte.gz`, ...),
            directly or in torchvision's layout `root/MNIST/raw/`; gzipped or not.
        train: the training set (True) or the test set (False).
        transform: applied to each image (a (28, 28) uint8 tensor), e.g. ToTensor().
        target_transform: applied to each label (a Python int).
        download: fetch missing files from the canonical mirrors into `root/MNIST/raw/`
            (each checked against its published md5 before it is kept).

    `.data` holds all images as a (N, 28, 28) uint8 tensor and `.targets` all labels as
    an int64 tensor, for full-batch use: `x = ds.data.float().reshape(-1, 784) / 255`.

    Example:
        >>> train = MNIST("data", train=True, transform=ToTensor())
        >>> image, label = train[0]                 # image: (1, 28, 28) float32 in [0, 1]
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download()
        prefix = "train" if train else "t10k"
        images = read_idx(self._find(f"{prefix}-images-idx3-ubyte"), np.uint8, 3)
        labels_path = self._find(f"{prefix}-labels-idx1-ubyte")
        labels = read_idx(labels_path, np.uint8, 1)
        if len(labels) != len(images):
            raise IDXFormatError(f"{labels_path}: holds {len(labels)} labels but the images "
                                 f"file holds {len(images)} images")
        if labels.size and labels.max() >= len(self.classes):
            raise IDXFormatError(f"{labels_path}: label {labels.max()} is out of range for "
                                 f"{len(self.classes)} classes")
        self.data = from_numpy(images)
        self.targets = from_numpy(labels.astype(np.int64))

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    def _candidates(self, name: str) -> list[str]:
        folders = [self.raw_folder, self.root]
        return [os.path.join(folder, name + suffix)
                for folder in folders for suffix in (".gz", "")]

    def _find(self, name: str) -> str:
        for path in self._candidates(name):
            if os.path.isfile(path):
                return path
        raise RuntimeError(f"{type(self).__name__}: dataset not found: no {name}[.gz] in "
                           f"{self.root} or {self.raw_folder}; pass download=True to "
                           "fetch it, or point root at the folder with the IDX files")

    def download(self) -> None:
        """Fetch every missing file (md5-checked) into `raw_folder`."""
        for filename, md5 in self.resources:
            name = filename.removesuffix(".gz")
            if any(os.path.isfile(path) for path in self._candidates(name)):
                continue
            urls = [mirror + filename for mirror in self.mirrors]
            download_file(urls, os.path.join(self.raw_folder, filename), md5)

    @property
    def class_to_idx(self) -> dict:
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index: int):
        image = from_numpy(self.data.numpy()[index])
        target = int(self.targets.numpy()[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def get_batch(self, indices: np.ndarray):
        """Images and labels at `indices` in one step (None when transforms are set)."""
        if self.transform is not None or self.target_transform is not None:
            return None
        images, labels = self.data.numpy(), self.targets.numpy()
        return [from_numpy(images[indices]), from_numpy(labels[indices])]

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}",
                 f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): 28x28 greyscale images of 10 kinds of clothing, in
    MNIST's format and sizes; the same arguments as MNIST (layout `root/FashionMNIST/raw/`).

    Example:
        >>> test = FashionMNIST("data", train=False)
        >>> test.classes[int(test.targets[0])]
        'Ankle boot'
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
