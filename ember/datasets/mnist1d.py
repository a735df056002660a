"""MNIST-1D (Greydanus, 2020): ten 1-D digit templates, randomly padded, scaled, shifted,
noised and sheared. Generated offline in NumPy, equal to the reference package's data."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import zipfile

import numpy as np

from ember.creation import from_numpy
from ember.data.dataset import Dataset

# The published defaults (mnist1d.data.get_dataset_args): 4000 train / 1000 test signals
# of length 40, seed 42.
DEFAULT_ARGS = {
    "num_samples": 5000, "train_split": 0.8, "template_len": 12, "padding": (36, 60),
    "scale_coeff": 0.4, "max_translation": 48, "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2, "shear_scale": 0.75, "shuffle_seq": False,
    "final_seq_length": 40, "seed": 42,
}


def mnist1d_templates() -> dict:
    """The ten 12-point digit outlines, whitened, starting at 0 and scaled by 1/6."""
    digits = np.asarray([
        [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
        [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
        [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
        [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
        [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
        [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
        [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
        [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
    ])
    digits -= digits.mean(1, keepdims=True)
    digits /= digits.std(1, keepdims=True)
    digits -= digits[:, :1]
    return {"x": digits / 6.0, "t": np.linspace(-5, 5, digits.shape[1]) / 6.0,
            "y": np.arange(10)}


@functools.cache
def _grid(start: float, stop: float, length: int) -> np.ndarray:
    """np.linspace(start, stop, length), made once per size (read-only)."""
    grid = np.linspace(start, stop, length)
    grid.flags.writeable = False
    return grid


def _resample(signal: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation of `signal` onto `length` evenly spaced points over the same
    span (what scipy's interp1d(kind='linear') computes, via np.interp)."""
    return np.interp(_grid(0, 1, length), _grid(0, 1, len(signal)), signal)


def _gaussian_smooth(noise: np.ndarray, sigma: int = 2, truncate: float = 4.0) -> np.ndarray:
    """Gaussian smoothing as scipy.ndimage.gaussian_filter(noise, sigma) computes it:
    a kernel of radius int(truncate * sigma + 0.5), edges mirrored ('reflect'), and the
    symmetric kernel summed in pairs from the outermost taps in (scipy's order, so the
    result matches to the last bit)."""
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 / (sigma * sigma) * offsets ** 2)
    kernel = kernel / kernel.sum()
    # scipy's 'reflect' edges repeat the edge sample: (c b a | a b c ... x y z | z y x)
    padded = np.concatenate([noise[radius - 1::-1], noise, noise[:-radius - 1:-1]])
    n = len(noise)
    smoothed = padded[radius:radius + n] * kernel[radius]
    for j in range(radius, 0, -1):                          # taps +-j, outermost first
        left, right = padded[radius - j:radius - j + n], padded[radius + j:radius + j + n]
        smoothed += (left + right) * kernel[radius - j]
    return smoothed


def _transform(template: np.ndarray, rng: np.random.RandomState, args: dict) -> np.ndarray:
    """One sample: the reference's steps, drawing from `rng` in the same order."""
    low, high = args["padding"]
    length = args["template_len"] + high
    pad = low + int(rng.rand() * (high - low + 1))
    x = np.concatenate([template + 1e-8, np.zeros(pad)])       # pad with zeros
    x = _resample(x, length)                                    # dilate
    x *= 1 + args["scale_coeff"] * (rng.rand() - 0.5)          # scale
    x = np.roll(x, rng.choice(args["max_translation"]))        # translate (circular)
    correlated = _gaussian_smooth(args["corr_noise_scale"] * rng.randn(length))
    x = np.where(x != 0, x, correlated)                         # noise where no signal
    x = x + args["iid_noise_scale"] * rng.randn(length)         # noise everywhere
    shear = args["shear_scale"] * (rng.rand() - 0.5)
    x = x - shear * _grid(-0.5, 0.5, length)                    # shear
    return _resample(x, args["final_seq_length"])               # subsample


def make_mnist1d(**overrides) -> dict:
    """Generate MNIST-1D (float64 signals, int64 labels), as the reference
    `mnist1d.data.make_dataset(get_dataset_args())` does for the same arguments.

    Keyword arguments override DEFAULT_ARGS. Returns a dict with 'x', 'y' (train),
    'x_test', 'y_test', 't' (the signals' horizontal coordinates) and 'templates'.

    Randomness comes from a private `np.random.RandomState(seed)`, the stream the
    reference draws from after `np.random.seed(seed)`; it is consumed one sample after
    another in the reference's order, which is why the samples are made in a loop.

    Example:
        >>> data = make_mnist1d()
        >>> data["x"].shape, data["x_test"].shape
        ((4000, 40), (1000, 40))
    """
    args = _arguments("make_mnist1d", overrides)
    templates = mnist1d_templates()
    rng = np.random.RandomState(args["seed"])
    per_class = args["num_samples"] // len(templates["y"])
    labels = np.repeat(templates["y"], per_class)
    xs = np.stack([_transform(templates["x"][label], rng, args) for label in labels])
    order = rng.permutation(len(labels))
    xs, ys = xs[order], labels[order]
    if args["shuffle_seq"]:
        xs = xs[..., rng.permutation(args["final_seq_length"])]

    t = _resample(_resample(templates["t"], args["template_len"] + args["padding"][1]),
                  args["final_seq_length"])
    t = t / xs.std()
    xs = (xs - xs.mean()) / xs.std()                  # centre, unit std over the whole set
    split = int(len(ys) * args["train_split"])
    return {"x": xs[:split], "y": ys[:split], "x_test": xs[split:], "y_test": ys[split:],
            "t": t, "templates": templates}


def _arguments(caller: str, overrides: dict) -> dict:
    """DEFAULT_ARGS with the overrides, which must name known arguments."""
    unknown = set(overrides) - set(DEFAULT_ARGS)
    if unknown:
        raise TypeError(f"{caller}: unknown arguments {sorted(unknown)}; known: "
                        f"{sorted(DEFAULT_ARGS)}")
    return {**DEFAULT_ARGS, **overrides}


CACHED_KEYS = ("x", "y", "x_test", "y_test", "t")


def _cache_path(root: str, args: dict) -> str:
    key = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]
    return os.path.join(root, f"mnist1d_{key}.npz")


def load_mnist1d(root=None, **overrides) -> dict:
    """`make_mnist1d`'s arrays ('x', 'y', 'x_test', 'y_test', 't'), cached in `root` as an
    .npz named by a hash of the arguments and read back without pickle."""
    args = _arguments("load_mnist1d", overrides)
    if root is None:
        data = make_mnist1d(**overrides)
        return {key: data[key] for key in CACHED_KEYS}
    root = os.path.expanduser(os.fspath(root))
    path = _cache_path(root, args)
    if os.path.isfile(path):
        try:
            with np.load(path, allow_pickle=False) as cached:
                if str(cached["args"]) == json.dumps(args, sort_keys=True):
                    return {key: cached[key] for key in CACHED_KEYS}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass            # an unreadable cache is only derived data: make it again
    data = make_mnist1d(**overrides)
    os.makedirs(root, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=root, prefix=".mnist1d-", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as f:      # written whole, then renamed into place
            np.savez(f, **{key: data[key] for key in CACHED_KEYS},
                     args=np.array(json.dumps(args, sort_keys=True)))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return {key: data[key] for key in CACHED_KEYS}


class MNIST1D(Dataset):
    """MNIST-1D: 1-D signals of length 40 in 10 classes (4000 train, 1000 test by default),
    a small benchmark on which MLPs, CNNs and RNNs differ as they do on real images.

    Args:
        root: folder for the cached .npz (None: generate in memory each time).
        train: the training split (True) or the test split (False).
        transform: applied to each signal (a (40,) float32 tensor).
        target_transform: applied to each label (a Python int).
        **overrides: generation arguments other than the published defaults
            (DEFAULT_ARGS: num_samples, seed, final_seq_length, ...).

    `.data` is the (N, 40) float32 tensor of all signals and `.targets` the int64 labels.

    Example:
        >>> train, test = MNIST1D("data", train=True), MNIST1D("data", train=False)
        >>> len(train), len(test), train[0][0].shape
        (4000, 1000, (40,))
    """

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None,
                 **overrides) -> None:
        data = load_mnist1d(root, **overrides)
        x, y = (data["x"], data["y"]) if train else (data["x_test"], data["y_test"])
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        self.data = from_numpy(x.astype(np.float32))
        self.targets = from_numpy(y.astype(np.int64))
        self.t = data["t"]

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index: int):
        signal = from_numpy(self.data.numpy()[index])
        target = int(self.targets.numpy()[index])
        if self.transform is not None:
            signal = self.transform(signal)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return signal, target

    def get_batch(self, indices: np.ndarray):
        """Signals and labels at `indices` in one step (None when transforms are set)."""
        if self.transform is not None or self.target_transform is not None:
            return None
        signals, labels = self.data.numpy(), self.targets.numpy()
        return [from_numpy(signals[indices]), from_numpy(labels[indices])]
