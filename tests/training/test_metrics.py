"""Metrics against NumPy references, streamed over uneven batches (equal to the whole-set
value), and as fit uses them (fresh per epoch, separate for validation)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.errors import ShapeError
from ember.optim import SGD
from ember.training.fit import fit
from ember.training.metrics import (
    Accuracy,
    ConfusionMatrix,
    MeanAbsoluteError,
    TopKAccuracy,
    make_metric,
)
from tests.conftest import rng_for
from tests.training.helpers import mlp, spirals

N, C = 37, 5


def scores_and_labels(name: str, n: int = N, classes: int = C):
    rng = rng_for(name)
    return (rng.standard_normal((n, classes)).astype(np.float32),
            rng.integers(0, classes, n))


def streamed(metric, output: np.ndarray, target: np.ndarray, cuts=(0, 5, 6, 19, None)):
    """The metric over uneven batches [0:5], [5:6], [6:19], [19:], given as tensors."""
    metric.reset()
    for start, stop in zip(cuts[:-1], cuts[1:]):
        metric.update(ember.tensor(output[start:stop]), ember.tensor(target[start:stop]))
    return metric.compute()


def whole(metric, output, target):
    metric.reset()
    metric.update(ember.tensor(output), ember.tensor(target))
    return metric.compute()


def test_accuracy_from_scores():
    scores, labels = scores_and_labels("accuracy")
    expected = np.mean(scores.argmax(1) == labels)
    assert 0 < expected < 1
    assert whole(Accuracy(), scores, labels) == expected
    assert streamed(Accuracy(), scores, labels) == expected


def test_accuracy_from_class_probability_targets():
    scores, labels = scores_and_labels("probability targets")
    soft = np.eye(C, dtype=np.float32)[labels] * 0.8 + 0.2 / C
    assert whole(Accuracy(), scores, soft) == np.mean(scores.argmax(1) == labels)


def test_accuracy_of_per_position_scores():
    rng = rng_for("sequence accuracy")
    scores = rng.standard_normal((6, C, 4)).astype(np.float32)      # (N, C, L)
    labels = rng.integers(0, C, (6, 4))
    expected = np.mean(scores.argmax(1) == labels)
    assert streamed(Accuracy(), scores, labels, cuts=(0, 1, 4, None)) == expected


@pytest.mark.parametrize("shape", [(N,), (N, 1)])
@pytest.mark.parametrize("float_targets", [False, True])
def test_binary_accuracy_from_single_logits_and_probabilities(shape, float_targets):
    rng = rng_for(f"binary {shape} {float_targets}")
    logits = rng.standard_normal(N).astype(np.float32) * 3
    labels = rng.integers(0, 2, N)
    targets = labels.astype(np.float32).reshape(shape) if float_targets else labels
    probabilities = 1 / (1 + np.exp(-logits))
    expected = np.mean((logits > 0) == labels)
    assert 0.2 < expected < 0.8
    assert streamed(Accuracy(), logits.reshape(shape), targets) == expected      # auto
    assert streamed(Accuracy(0.0), logits.reshape(shape), targets) == expected
    assert streamed(Accuracy(), probabilities.reshape(shape), targets) == expected
    assert streamed(Accuracy(0.5), probabilities.reshape(shape), targets) == expected


def test_binary_threshold_choice_matters_for_logits_inside_0_1():
    logits = np.array([0.1, 0.3, 0.6, 0.9], dtype=np.float32)
    labels = np.array([1, 1, 1, 1])
    assert whole(Accuracy(0.0), logits, labels) == 1.0
    assert whole(Accuracy(), logits, labels) == 0.5      # auto reads them as probabilities
    assert whole(Accuracy(0.5), logits, labels) == 0.5


def test_binary_soft_labels_are_rounded():
    logits = np.array([2.0, -1.0, 0.5], dtype=np.float32)
    soft = np.array([[0.9], [0.2], [0.4]], dtype=np.float32)
    assert whole(Accuracy(0.0), logits.reshape(-1, 1), soft) == pytest.approx(2 / 3)


def test_top_k_accuracy():
    scores, labels = scores_and_labels("top k")
    order = np.argsort(-scores, axis=1)
    for k in (1, 2, 3, C):
        expected = np.mean((order[:, :k] == labels[:, None]).any(1))
        assert streamed(TopKAccuracy(k), scores, labels) == expected, k
        assert whole(TopKAccuracy(k), scores, labels.reshape(-1, 1)) == expected, k
    assert whole(TopKAccuracy(1), scores, labels) == whole(Accuracy(), scores, labels)
    assert whole(TopKAccuracy(C), scores, labels) == 1.0
    assert TopKAccuracy(3).name == "top3_accuracy"


def test_mean_absolute_error():
    rng = rng_for("mae")
    output = rng.standard_normal((N, 2)).astype(np.float32)
    target = rng.standard_normal((N, 2)).astype(np.float32)
    expected = np.abs(output.astype(np.float64) - target).mean()
    assert math.isclose(streamed(MeanAbsoluteError(), output, target), expected,
                        rel_tol=1e-12)
    column = output[:, :1]
    assert math.isclose(whole(MeanAbsoluteError(), column, target[:, 0]),
                        np.abs(column[:, 0].astype(np.float64) - target[:, 0]).mean(),
                        rel_tol=1e-12)


def test_confusion_matrix():
    scores, labels = scores_and_labels("confusion")
    predicted = scores.argmax(1)
    expected = np.zeros((C, C), dtype=np.int64)
    for true_class, predicted_class in zip(labels, predicted):
        expected[true_class, predicted_class] += 1
    counts = streamed(ConfusionMatrix(C), scores, labels)
    assert np.array_equal(counts, expected) and counts.dtype == np.int64
    assert counts.sum() == N
    assert np.trace(counts) / N == whole(Accuracy(), scores, labels)


def test_binary_confusion_matrix_from_single_logits_with_float_targets():
    logits = np.array([[2.0], [-1.0], [0.5], [-3.0]], dtype=np.float32)
    targets = np.array([[1.0], [1.0], [0.0], [0.0]], dtype=np.float32)
    assert whole(ConfusionMatrix(2, threshold=0.0), logits, targets).tolist() == \
        [[1, 1], [1, 1]]


def test_compute_without_data_and_reset():
    for metric in (Accuracy(), TopKAccuracy(2), MeanAbsoluteError()):
        assert math.isnan(metric.compute())
    metric = Accuracy()
    metric.update(ember.tensor([[1.0, 0.0]]), ember.tensor([0]))
    metric.reset()
    assert math.isnan(metric.compute())
    matrix = ConfusionMatrix(3)
    matrix.update(ember.tensor([[1.0, 0.0, 0.0]]), ember.tensor([2]))
    matrix.reset()
    assert matrix.compute().sum() == 0


def test_metric_errors_name_the_shapes_and_values():
    with pytest.raises(ShapeError, match=r"accuracy: predictions of shape \(4,\).*\(3,\)"):
        Accuracy().update(ember.zeros(4, 3), ember.zeros(3, dtype=ember.int64))
    with pytest.raises(ShapeError, match="top2_accuracy: expected scores"):
        TopKAccuracy(2).update(ember.zeros(4, 3), ember.zeros(5, dtype=ember.int64))
    with pytest.raises(ValueError, match="k=4 exceeds the 3 classes"):
        TopKAccuracy(4).update(ember.zeros(4, 3), ember.zeros(4, dtype=ember.int64))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        TopKAccuracy(0)
    with pytest.raises(ShapeError, match=r"mae: output of shape \(4, 2\)"):
        MeanAbsoluteError().update(ember.zeros(4, 2), ember.zeros(4, 3))
    with pytest.raises(ValueError, match=r"targets range from 0 to 3, outside 0\.\.2"):
        ConfusionMatrix(3).update(ember.zeros(2, 3), ember.tensor([0, 3]))
    with pytest.raises(ValueError, match="targets range from -1"):
        ConfusionMatrix(3).update(ember.zeros(2, 3), ember.tensor([0, -1]))
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        ConfusionMatrix(1)


def test_make_metric_by_name_and_unknown_names():
    assert type(make_metric("accuracy")) is Accuracy and type(make_metric("acc")) is Accuracy
    assert make_metric("top3_accuracy").k == 3
    assert type(make_metric("mae")) is MeanAbsoluteError
    assert make_metric("accuracy", 0.0).threshold == 0.0
    for bad in ("f1", "topk_accuracy", "top_accuracy", "Accuracy", 3):
        with pytest.raises(ValueError, match="unknown metric"):
            make_metric(bad)


def test_make_metric_copies_an_instance():
    template = ConfusionMatrix(3)
    template.update(ember.tensor([[1.0, 0.0, 0.0]]), ember.tensor([0]))
    fresh = make_metric(template)
    assert fresh is not template and fresh.compute().sum() == 0
    assert template.compute().sum() == 1


def test_fit_uses_fresh_metric_copies_each_epoch_and_for_validation():
    train, val = spirals(60), spirals(30)
    matrix = ConfusionMatrix(3)
    model = mlp(0)
    history = fit(model, train, "cross_entropy", SGD(model.parameters(), lr=0.1), epochs=3,
                  val_data=val, metrics=["accuracy", matrix], batch_size=16, verbose=0)
    for epoch in range(3):
        counts = history["confusion_matrix"][epoch]
        assert counts.sum() == 60
        assert np.trace(counts) / 60 == history["accuracy"][epoch]
        assert history["val_confusion_matrix"][epoch].sum() == 30
    assert matrix.compute().sum() == 0                  # the caller's instance is untouched
    x, y = val.tensors
    with ember.no_grad():
        final = model(x).numpy().argmax(1)
    assert history["val_accuracy"][-1] == np.mean(final == y.numpy())
