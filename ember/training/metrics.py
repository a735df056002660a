"""Metrics that accumulate over batches: accuracy, top-k accuracy, mean absolute error and
the confusion matrix. Each has update(output, target), compute() and reset()."""
from __future__ import annotations

import copy

import numpy as np

from ember.errors import ShapeError


def _array(x) -> np.ndarray:
    """Host values of a tensor or array-like."""
    data = getattr(x, "_data", x)
    if type(data).__module__.startswith("cupy"):
        return data.get()
    return np.asarray(data)


def _one_score_per_example(output: np.ndarray) -> bool:
    """(N,) or (N, 1, ...) outputs: one logit or probability each, for two classes."""
    return output.ndim < 2 or output.shape[1] == 1


def _class_predictions(output: np.ndarray, threshold: float | None) -> np.ndarray:
    """Class indices from scores (N, C, ...) or from one logit/probability per example.

    A single score is class 1 when it exceeds `threshold`; threshold None decides per
    batch: 0.5 (probabilities) if every score lies in [0, 1], else 0 (logits)."""
    if not _one_score_per_example(output):
        return output.argmax(axis=1)
    if output.ndim >= 2:
        output = output[:, 0]
    if output.dtype.kind != "f":
        return output
    if threshold is None:
        threshold = 0.5 if (output.min() >= 0 and output.max() <= 1) else 0.0
    return (output > threshold).astype(np.int64)


def _class_targets(target: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Class indices from integer labels, class-probability rows (N, C, ...) matching the
    scores, or float 0/1 labels of a binary model (soft labels are rounded at 0.5)."""
    if target.dtype.kind == "f":
        if not _one_score_per_example(output) and target.shape == output.shape:
            return target.argmax(axis=1)
        if _one_score_per_example(output):
            return (target > 0.5).astype(np.int64)
    return target


class Metric:
    """A running statistic over batches; `name` is its key in logs and History.

    fit and evaluate use fresh copies of a Metric instance given to them (see
    `make_metric`), so one instance can describe both training and validation metrics.
    """

    name = "metric"

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output, target) -> None:
        raise NotImplementedError

    def compute(self):
        raise NotImplementedError


class Accuracy(Metric):
    """The fraction of examples whose predicted class equals the target class.

    The predicted class is the argmax over dim 1 of scores (N, C, ...); for one score per
    example ((N,) or (N, 1)) it is 1 where the score exceeds `threshold`. Targets may be
    class indices, class-probability rows shaped like the scores, or float 0/1 labels.

    Args:
        threshold: for single-score outputs: 0.0 for logits, 0.5 for probabilities; None
            (default) decides per batch (0.5 if every score lies in [0, 1], else 0), which
            `fit` and `evaluate` replace by the loss's choice for the binary losses.

    Example:
        >>> metric = Accuracy()
        >>> metric.update(ember.tensor([[2.0, 1.0], [0.0, 3.0]]), ember.tensor([0, 0]))
        >>> metric.compute()
        0.5
    """

    name = "accuracy"

    def __init__(self, threshold: float | None = None) -> None:
        self.threshold = threshold
        self.reset()

    def reset(self) -> None:
        self.correct, self.count = 0, 0

    def update(self, output, target) -> None:
        output, target = _array(output), _array(target)
        predicted = _class_predictions(output, self.threshold)
        target = _class_targets(target, output)
        if target.shape != predicted.shape and target.size == predicted.size:
            target = target.reshape(predicted.shape)
        if predicted.shape != target.shape:
            raise ShapeError(f"accuracy: predictions of shape {predicted.shape} (from output "
                             f"{output.shape}) do not match targets of shape {target.shape}")
        self.correct += int((predicted == target).sum())
        self.count += predicted.size

    def compute(self) -> float:
        return self.correct / self.count if self.count else float("nan")


class TopKAccuracy(Metric):
    """The fraction of examples whose target class is among the k highest scores.

    Example:
        >>> metric = TopKAccuracy(2)
        >>> metric.update(ember.tensor([[0.1, 0.5, 0.4]]), ember.tensor([2]))
        >>> metric.compute()
        1.0
    """

    def __init__(self, k: int = 5) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be a positive integer, got {k!r}")
        self.k, self.name = int(k), f"top{k}_accuracy"
        self.reset()

    def reset(self) -> None:
        self.correct, self.count = 0, 0

    def update(self, output, target) -> None:
        scores, target = _array(output), _array(target)
        target = _class_targets(target, scores)
        if scores.ndim != 2 or target.size != scores.shape[0]:
            raise ShapeError(f"{self.name}: expected scores (N, C) and targets (N,), got "
                             f"{scores.shape} and {target.shape}")
        if self.k > scores.shape[1]:
            raise ValueError(f"{self.name}: k={self.k} exceeds the {scores.shape[1]} classes")
        top = np.argpartition(-scores, self.k - 1, axis=1)[:, :self.k]
        self.correct += int((top == target.reshape(-1, 1)).any(axis=1).sum())
        self.count += scores.shape[0]

    def compute(self) -> float:
        return self.correct / self.count if self.count else float("nan")


class MeanAbsoluteError(Metric):
    """The mean of |output - target| over all elements.

    Example:
        >>> metric = MeanAbsoluteError()
        >>> metric.update(ember.tensor([1.0, 2.0]), ember.tensor([1.5, 1.0]))
        >>> metric.compute()
        0.75
    """

    name = "mae"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, output, target) -> None:
        output, target = _array(output), _array(target)
        if output.shape != target.shape and output.size == target.size:
            target = target.reshape(output.shape)
        if output.shape != target.shape:
            raise ShapeError(f"mae: output of shape {output.shape} does not match targets of "
                             f"shape {target.shape}")
        self.total += float(np.abs(output.astype(np.float64) - target).sum())
        self.count += output.size

    def compute(self) -> float:
        return self.total / self.count if self.count else float("nan")


class ConfusionMatrix(Metric):
    """counts[i, j] = examples of true class i predicted as class j.

    Args:
        num_classes: the number of classes C (the matrix is C x C).
        threshold: for single-score outputs, as in Accuracy.

    Example:
        >>> metric = ConfusionMatrix(2)
        >>> metric.update(ember.tensor([[2.0, 1.0], [0.0, 3.0]]), ember.tensor([0, 0]))
        >>> metric.compute()
        array([[1, 1],
               [0, 0]])
    """

    name = "confusion_matrix"

    def __init__(self, num_classes: int, threshold: float | None = None) -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
                or num_classes < 2:
            raise ValueError(f"ConfusionMatrix: num_classes must be an integer >= 2, got "
                             f"{num_classes!r}")
        self.num_classes, self.threshold = int(num_classes), threshold
        self.reset()

    def reset(self) -> None:
        self.counts = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, output, target) -> None:
        output, target = _array(output), _array(target)
        predicted = _class_predictions(output, self.threshold).reshape(-1)
        target = _class_targets(target, output).reshape(-1)
        if predicted.shape != target.shape:
            raise ShapeError(f"confusion_matrix: {predicted.size} predictions (from output "
                             f"{output.shape}) but {target.size} targets")
        for what, classes in (("targets", target), ("predictions", predicted)):
            if classes.size and (classes.min() < 0 or classes.max() >= self.num_classes):
                raise ValueError(f"confusion_matrix: {what} range from {classes.min()} to "
                                 f"{classes.max()}, outside 0..{self.num_classes - 1} "
                                 f"(num_classes={self.num_classes})")
        np.add.at(self.counts, (target.astype(np.int64), predicted.astype(np.int64)), 1)

    def compute(self) -> np.ndarray:
        return self.counts.copy()


_BY_NAME = {"accuracy": Accuracy, "acc": Accuracy, "mae": MeanAbsoluteError,
            "mean_absolute_error": MeanAbsoluteError}


def make_metric(spec, threshold: float | None = None) -> Metric:
    """A fresh Metric from a name ('accuracy', 'top5_accuracy', 'mae') or an instance
    (copied and reset, so the caller's instance is never shared between runs).

    `threshold` is what a named accuracy uses for single-score outputs."""
    if isinstance(spec, Metric):
        metric = copy.deepcopy(spec)
        metric.reset()
        return metric
    if isinstance(spec, str):
        if spec in ("accuracy", "acc"):
            return Accuracy(threshold)
        if spec in _BY_NAME:
            return _BY_NAME[spec]()
        digits = spec[3:-len("_accuracy")]
        if spec.startswith("top") and spec.endswith("_accuracy") and digits.isdigit():
            return TopKAccuracy(int(digits))
    raise ValueError(f"unknown metric {spec!r}: use 'accuracy', 'top5_accuracy', 'mae', or a "
                     "Metric instance")
