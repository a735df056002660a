"""Metrics that accumulate over batches: accuracy, top-k accuracy, mean absolute error and
the confusion matrix. Each has update(output, target), compute() and reset()."""
from __future__ import annotations

import numpy as np

from ember.errors import ShapeError


def _array(x) -> np.ndarray:
    """Host values of a tensor or array-like."""
    data = getattr(x, "_data", x)
    if type(data).__module__.startswith("cupy"):
        return data.get()
    return np.asarray(data)


def _class_predictions(output: np.ndarray, metric: str) -> np.ndarray:
    """Class indices from scores (N, C, ...) or from one probability/logit per example."""
    if output.ndim >= 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    if output.ndim >= 2:
        output = output[:, 0]
    if output.dtype.kind == "f":
        # a single column: a logit (threshold 0) or a probability (threshold 0.5)
        threshold = 0.5 if (output.min() >= 0 and output.max() <= 1) else 0.0
        return (output > threshold).astype(np.int64)
    return output


class Metric:
    """A running statistic over batches; `name` is its key in logs and History."""

    name = "metric"

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output, target) -> None:
        raise NotImplementedError

    def compute(self):
        raise NotImplementedError


class Accuracy(Metric):
    """The fraction of examples whose predicted class (the argmax of the scores, or a
    thresholded single output) equals the target class."""

    name = "accuracy"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.correct, self.count = 0, 0

    def update(self, output, target) -> None:
        predicted = _class_predictions(_array(output), self.name)
        target = _array(target)
        if target.dtype.kind == "f" and target.shape == _array(output).shape and target.ndim > 1:
            target = target.argmax(axis=1)           # class-probability targets
        target = target.reshape(predicted.shape) if target.size == predicted.size else target
        if predicted.shape != target.shape:
            raise ShapeError(f"accuracy: predictions of shape {predicted.shape} (from output "
                             f"{_array(output).shape}) do not match targets of shape "
                             f"{target.shape}")
        self.correct += int((predicted == target).sum())
        self.count += predicted.size

    def compute(self) -> float:
        return self.correct / self.count if self.count else float("nan")


class TopKAccuracy(Metric):
    """The fraction of examples whose target is among the k highest scores."""

    def __init__(self, k: int = 5) -> None:
        self.k, self.name = k, f"top{k}_accuracy"
        self.reset()

    def reset(self) -> None:
        self.correct, self.count = 0, 0

    def update(self, output, target) -> None:
        scores, target = _array(output), _array(target)
        if scores.ndim != 2 or scores.shape[0] != target.shape[0]:
            raise ShapeError(f"{self.name}: expected scores (N, C) and targets (N,), got "
                             f"{scores.shape} and {target.shape}")
        if self.k > scores.shape[1]:
            raise ValueError(f"{self.name}: k={self.k} exceeds the {scores.shape[1]} classes")
        top = np.argpartition(-scores, self.k - 1, axis=1)[:, :self.k]
        self.correct += int((top == target[:, None]).any(axis=1).sum())
        self.count += scores.shape[0]

    def compute(self) -> float:
        return self.correct / self.count if self.count else float("nan")


class MeanAbsoluteError(Metric):
    """The mean of |output - target| over all elements."""

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
    """counts[i, j] = examples of true class i predicted as class j."""

    name = "confusion_matrix"

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.reset()

    def reset(self) -> None:
        self.counts = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, output, target) -> None:
        predicted = _class_predictions(_array(output), self.name).reshape(-1)
        target = _array(target).reshape(-1)
        if predicted.shape != target.shape:
            raise ShapeError(f"confusion_matrix: {predicted.size} predictions but "
                             f"{target.size} targets")
        np.add.at(self.counts, (target, predicted), 1)

    def compute(self) -> np.ndarray:
        return self.counts.copy()


_BY_NAME = {"accuracy": Accuracy, "acc": Accuracy, "mae": MeanAbsoluteError,
            "mean_absolute_error": MeanAbsoluteError}


def make_metric(spec) -> Metric:
    """A Metric from a name ('accuracy', 'top5_accuracy', 'mae') or an instance."""
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        if spec in _BY_NAME:
            return _BY_NAME[spec]()
        if spec.startswith("top") and spec.endswith("_accuracy"):
            return TopKAccuracy(int(spec[3:-len("_accuracy")]))
    raise ValueError(f"unknown metric {spec!r}: use 'accuracy', 'top5_accuracy', 'mae', or a "
                     "Metric instance")
