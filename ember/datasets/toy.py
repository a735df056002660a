"""Small 2-D datasets for first experiments, as in TensorFlow Playground and the CS231n
notes: spirals, circles, xor, gaussians, moons (classification) and plane,
multi_gaussian (regression). Each returns a shuffled TensorDataset, the same per seed."""
from __future__ import annotations

import math

import numpy as np

from ember.creation import from_numpy
from ember.data.dataset import TensorDataset


def _check(name: str, n: int, noise: float, classes: int = 2) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"{name}: n must be a positive integer, got {n!r}")
    if not noise >= 0:
        raise ValueError(f"{name}: noise must be non-negative, got {noise!r}")
    if not isinstance(classes, (int, np.integer)) or classes < 2:
        raise ValueError(f"{name}: classes must be an integer >= 2, got {classes!r}")


def _balanced_labels(n: int, classes: int) -> np.ndarray:
    """n labels in sorted blocks whose sizes differ by at most one."""
    return (np.arange(n) * classes) // n


def _dataset(points: np.ndarray, targets: np.ndarray, rng: np.random.Generator):
    """A TensorDataset of the points (float32) and targets, in a random order."""
    order = rng.permutation(len(points))
    return TensorDataset(from_numpy(points[order].astype(np.float32)),
                         from_numpy(np.ascontiguousarray(targets[order])))


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0):
    """Interleaved spiral arms, one per class (the CS231n example): the radius grows
    from 0 to 1 along each arm; `noise` is the std of Gaussian jitter on the angle.

    Example:
        >>> x, y = spirals(300, classes=3).tensors    # x (300, 2) float32, y (300,) int64
    """
    _check("spirals", n, noise, classes)
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n, classes)
    counts = np.bincount(labels, minlength=classes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    along = (np.arange(n) - starts[labels]) / np.maximum(counts[labels] - 1, 1)   # 0 .. 1
    radius = along
    angle = 4.0 * (labels + along) + noise * rng.standard_normal(n)
    points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return _dataset(points, labels.astype(np.int64), rng)


def circles(n: int = 200, noise: float = 0.0, seed: int = 0):
    """A disc (class 1, radius up to 2.5) inside a ring (class 0, radius 3.5 to 5), as in
    TensorFlow Playground; `noise` (0 to 0.5) jitters the point used for the label, so
    labels near the boundary flip.

    Example:
        >>> x, y = circles(200).tensors
    """
    _check("circles", n, noise)
    rng = np.random.default_rng(seed)
    outer_radius = 5.0
    inside = _balanced_labels(n, 2)                    # 0: ring, 1: disc
    radius = np.where(inside == 1, rng.uniform(0, 0.5 * outer_radius, n),
                      rng.uniform(0.7 * outer_radius, outer_radius, n))
    angle = rng.uniform(0, 2 * math.pi, n)
    points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    jitter = rng.uniform(-outer_radius, outer_radius, (n, 2)) * noise
    labels = (np.linalg.norm(points + jitter, axis=1) < 0.5 * outer_radius).astype(np.int64)
    return _dataset(points, labels, rng)


def xor(n: int = 200, noise: float = 0.0, seed: int = 0):
    """The XOR pattern (TensorFlow Playground): class 1 where x and y have the same sign,
    0 where they differ; points keep 0.3 away from the axes. `noise` (0 to 0.5) jitters
    the point used for the label.

    Example:
        >>> x, y = xor(200).tensors
    """
    _check("xor", n, noise)
    rng = np.random.default_rng(seed)
    same_sign = _balanced_labels(n, 2)
    magnitude = rng.uniform(0, 5, (n, 2)) + 0.3
    sign_x = rng.choice([-1.0, 1.0], n)
    sign_y = np.where(same_sign == 1, sign_x, -sign_x)
    points = magnitude * np.stack([sign_x, sign_y], axis=1)
    jitter = rng.uniform(-5, 5, (n, 2)) * noise
    noisy = points + jitter
    labels = (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.int64)
    return _dataset(points, labels, rng)


def gaussians(n: int = 200, noise: float = 0.0, seed: int = 0, classes: int = 2):
    """Gaussian blobs, one per class, centred on a circle of radius 2*sqrt(2) (two
    classes: at (2, 2) and (-2, -2), as in TensorFlow Playground). `noise` (0 to 0.5) sets
    the variance, from 0.5 to 4.

    Example:
        >>> x, y = gaussians(300, classes=3).tensors
    """
    _check("gaussians", n, noise, classes)
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n, classes)
    angles = math.pi / 4 + 2 * math.pi * np.arange(classes) / classes
    centres = 2 * math.sqrt(2) * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    variance = 0.5 + noise * (4.0 - 0.5) / 0.5
    points = centres[labels] + math.sqrt(variance) * rng.standard_normal((n, 2))
    return _dataset(points, labels.astype(np.int64), rng)


def moons(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles (as scikit-learn's make_moons): class 0 the upper
    arc, class 1 the lower one; `noise` is the std of Gaussian jitter on the points.

    Example:
        >>> x, y = moons(200, noise=0.1).tensors
    """
    _check("moons", n, noise)
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    upper = np.linspace(0, math.pi, n_upper)
    lower = np.linspace(0, math.pi, n - n_upper)
    points = np.concatenate([np.stack([np.cos(upper), np.sin(upper)], axis=1),
                             np.stack([1 - np.cos(lower), 0.5 - np.sin(lower)], axis=1)])
    points = points + noise * rng.standard_normal((n, 2))
    labels = np.concatenate([np.zeros(n_upper), np.ones(n - n_upper)]).astype(np.int64)
    return _dataset(points, labels, rng)


def plane(n: int = 200, noise: float = 0.0, seed: int = 0):
    """Regression on a tilted plane (TensorFlow Playground): points uniform in
    [-6, 6]^2, target (x + y) / 10 computed at a jittered point (`noise` 0 to 0.5).
    Targets have shape (n, 1), like the output of nn.Linear(..., 1).

    Example:
        >>> x, t = plane(200).tensors                # t (200, 1) float32
    """
    _check("plane", n, noise)
    rng = np.random.default_rng(seed)
    points = rng.uniform(-6, 6, (n, 2))
    noisy = points + rng.uniform(-6, 6, (n, 2)) * noise
    targets = (noisy.sum(axis=1, keepdims=True) / 10).astype(np.float32)
    return _dataset(points, targets, rng)


# TensorFlow Playground's six bumps: (centre x, centre y, sign of the bump)
_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                   [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]])


def multi_gaussian(n: int = 200, noise: float = 0.0, seed: int = 0):
    """Regression on six bumps of alternating sign (TensorFlow Playground): each bump is
    sign * max(0, 1 - distance / 2), and the target is the bump largest in magnitude at
    a jittered point (`noise` 0 to 0.5). Targets have shape (n, 1).

    Example:
        >>> x, t = multi_gaussian(300).tensors
    """
    _check("multi_gaussian", n, noise)
    rng = np.random.default_rng(seed)
    points = rng.uniform(-6, 6, (n, 2))
    noisy = points + rng.uniform(-6, 6, (n, 2)) * noise
    distance = np.linalg.norm(noisy[:, None, :] - _BUMPS[None, :, :2], axis=2)   # (n, 6)
    bumps = _BUMPS[:, 2] * np.clip(1 - distance / 2, 0, 1)
    strongest = np.abs(bumps).argmax(axis=1)
    targets = bumps[np.arange(n), strongest][:, None].astype(np.float32)
    return _dataset(points, targets, rng)
