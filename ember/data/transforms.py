"""Per-sample transforms as in torchvision (Compose, ToTensor, Normalize, Lambda), and
Standardize, whose statistics are fitted on the training data only."""
from __future__ import annotations

import numpy as np

from ember import backend
from ember.creation import as_tensor
from ember.errors import DTypeError, ShapeError
from ember.tensor import Tensor


class Compose:
    """Apply transforms one after another.

    Example:
        >>> transform = Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])
    """

    def __init__(self, transforms) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample):
        for transform in self.transforms:
            sample = transform(sample)
        return sample

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


class ToTensor:
    """An image (H x W or H x W x C array or tensor) as a C x H x W tensor; uint8 pixels
    become float32 in [0, 1] (divided by 255), other dtypes keep their values, as in
    torchvision's ToTensor.

    Example:
        >>> ToTensor()(np.full((28, 28), 255, dtype=np.uint8)).shape
        (1, 28, 28)
    """

    def __call__(self, image) -> Tensor:
        array = image.numpy() if isinstance(image, Tensor) else np.asarray(image)
        if array.ndim not in (2, 3):
            raise ShapeError(f"ToTensor: expected an image of shape (H, W) or (H, W, C), got "
                             f"shape {array.shape}")
        if array.ndim == 2:
            array = array[:, :, None]
        chw = np.ascontiguousarray(array.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            float_type = backend.get_default_dtype().numpy.type
            chw = chw.astype(float_type) / float_type(255)
        return as_tensor(chw)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """(x - mean[c]) / std[c] for each channel c of a (..., C, H, W) float tensor.

    Args:
        mean: one mean per channel (or one for all).
        std: one standard deviation per channel (or one for all), none zero.

    Example:
        >>> Normalize((0.1307,), (0.3081,))(ember.rand(1, 28, 28)).shape
        (1, 28, 28)
    """

    def __init__(self, mean, std, inplace: bool = False) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ShapeError(f"Normalize: mean and std must be sequences of numbers, got "
                             f"shapes {self.mean.shape} and {self.std.shape}")
        if (self.std == 0).any():
            raise ValueError(f"Normalize: std evaluated to zero ({self.std.tolist()}), "
                             "leading to division by zero")
        self.inplace = inplace

    def __call__(self, image: Tensor) -> Tensor:
        if not isinstance(image, Tensor):
            raise TypeError(f"Normalize: expected a tensor, got {type(image).__name__} "
                            "(apply ToTensor first)")
        if not image.is_floating_point():
            raise DTypeError(f"Normalize: input tensor should be a float tensor, got "
                             f"{image.dtype}")
        if image.ndim < 3:
            raise ShapeError(f"Normalize: expected a tensor image of shape (..., C, H, W), "
                             f"got shape {tuple(image.shape)}")
        channels = image.shape[-3]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, channels):
                raise ShapeError(f"Normalize: {name} has {len(values)} values but the image "
                                 f"has {channels} channels (shape {tuple(image.shape)})")
        dtype = image.dtype.numpy
        mean = as_tensor(self.mean.astype(dtype).reshape(-1, 1, 1))
        std = as_tensor(self.std.astype(dtype).reshape(-1, 1, 1))
        if self.inplace:
            return image.sub_(mean).div_(std)
        return (image - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Lambda:
    """A function used as a transform.

    Example:
        >>> flatten = Lambda(lambda x: x.reshape(-1))
    """

    def __init__(self, lambd) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, sample):
        return self.lambd(sample)

    def __repr__(self) -> str:
        return "Lambda()"


def _moments(array: np.ndarray, axes: tuple, block: int = 4096) -> tuple:
    """Mean and population std over `axes` (which include the sample axis 0), accumulated
    in float64 over blocks of samples: no float64 copy of the whole data is made."""
    count = np.prod([array.shape[a] for a in axes])
    total = sum(array[i:i + block].sum(axis=axes, keepdims=True, dtype=np.float64)
                for i in range(0, len(array), block))
    mean = total / count
    squares = sum(np.square(array[i:i + block] - mean).sum(axis=axes, keepdims=True)
                  for i in range(0, len(array), block))
    return mean, np.sqrt(squares / count)


class Standardize:
    """(x - mean) / std with statistics FITTED ON TRAINING DATA: call `fit(train_x)` once,
    then apply the same transform to training, validation and test data (fitting on the
    test set would leak it into the model).

    Args:
        per_channel: False (default) gives one mean/std per feature, computed over the
            samples (axis 0). True pools each channel over every axis but `channel_dim`
            (one mean/std per image channel, like Normalize's values).
        channel_dim: the channel axis of the training data (default 1: (N, C, ...)).

    The std is the population std (ddof 0); a constant feature gets std 1 (it is only
    centred). Applying accepts one sample or a batch (statistics broadcast from the
    right), as a NumPy array or a tensor, and returns the same kind.

    Example:
        >>> scaler = Standardize().fit(x_train)
        >>> x_train, x_test = scaler(x_train), scaler(x_test)    # test uses train's stats
        >>> state = scaler.state_dict()                           # for a checkpoint
    """

    def __init__(self, per_channel: bool = False, channel_dim: int = 1) -> None:
        self.per_channel = per_channel
        self.channel_dim = channel_dim
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, data) -> Standardize:
        """Compute the statistics from `data` (N, *features); returns self."""
        array = np.asarray(data.detach().numpy() if isinstance(data, Tensor) else data)
        if array.ndim < 1 or array.shape[0] == 0:
            raise ShapeError(f"Standardize.fit: expected data of shape (N, ...) with N > 0, "
                             f"got shape {array.shape}")
        if self.per_channel:
            if array.ndim < 2 or not -array.ndim <= self.channel_dim < array.ndim:
                raise ShapeError(f"Standardize.fit: channel_dim={self.channel_dim} is not a "
                                 f"dimension of data of shape {array.shape}")
            channel = self.channel_dim % array.ndim
            if channel == 0:
                raise ShapeError("Standardize.fit: channel_dim must not be the sample "
                                 "dimension 0")
            axes = tuple(d for d in range(array.ndim) if d != channel)
        else:
            axes = (0,)
        mean, std = _moments(array, axes)
        self.mean, self.std = mean[0], np.where(std[0] > 0, std[0], 1.0)
        return self

    def _check_fitted(self, op: str) -> None:
        if self.mean is None:
            raise RuntimeError(f"Standardize.{op}: not fitted yet; call fit(train_data) "
                               "first (on the training data only)")

    def _stats_for(self, op: str, x):
        """mean and std in x's kind (array or tensor) and float dtype, checked to fit."""
        self._check_fitted(op)
        if not isinstance(x, Tensor):
            x = np.asarray(x)
        shape = tuple(x.shape)
        stats_shape = self.mean.shape
        fits = len(shape) >= len(stats_shape) and all(
            s == 1 or s == d for s, d in zip(stats_shape[::-1], shape[::-1]))
        if not fits:
            raise ShapeError(f"Standardize.{op}: input of shape {shape} does not match the "
                             f"fitted statistics of shape {stats_shape} (fitted on samples "
                             f"of that shape; inputs are one sample or a batch of them)")
        x_dtype = x.dtype.numpy if isinstance(x, Tensor) else x.dtype
        dtype = x_dtype if x_dtype.kind == "f" else backend.get_default_dtype().numpy
        mean, std = self.mean.astype(dtype), self.std.astype(dtype)
        if isinstance(x, Tensor):
            return as_tensor(mean), as_tensor(std), x.to(dtype)
        return mean, std, x.astype(dtype, copy=False)

    def __call__(self, x):
        mean, std, x = self._stats_for("__call__", x)
        return (x - mean) / std

    def inverse(self, x):
        """Undo the transform: x * std + mean (e.g. to report predictions in units)."""
        mean, std, x = self._stats_for("inverse", x)
        return x * std + mean

    def state_dict(self) -> dict:
        """The fitted statistics as float64 tensors ('mean', 'std')."""
        self._check_fitted("state_dict")
        return {"mean": as_tensor(self.mean.copy()), "std": as_tensor(self.std.copy())}

    def load_state_dict(self, state_dict: dict) -> None:
        missing = {"mean", "std"} - set(state_dict)
        if missing:
            raise KeyError(f"Standardize.load_state_dict: missing keys {sorted(missing)}")
        mean = np.asarray(state_dict["mean"], dtype=np.float64)
        std = np.asarray(state_dict["std"], dtype=np.float64)
        if mean.shape != std.shape:
            raise ShapeError(f"Standardize.load_state_dict: mean has shape {mean.shape} but "
                             f"std has shape {std.shape}")
        if (std <= 0).any():
            raise ValueError("Standardize.load_state_dict: std values must be positive")
        self.mean, self.std = mean.copy(), std.copy()

    def __repr__(self) -> str:
        fitted = "fitted" if self.mean is not None else "not fitted"
        return f"Standardize(per_channel={self.per_channel}, {fitted})"
