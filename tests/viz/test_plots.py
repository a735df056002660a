"""Plots: training curves and decision boundaries written as PNG files without a display;
single-output binary models read as logits or probabilities."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember import nn
from ember.optim import SGD
from ember.training import ConfusionMatrix
from ember.viz import plot_decision_boundary, plot_history
from ember.viz.plots import grid_classes

matplotlib = pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path) -> None:
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_SIGNATURE
    assert os.path.getsize(path) > 2000


def trained_history(metrics=("accuracy",)):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    data = ember.datasets.spirals(60)
    return model, ember.fit(model, data, "cross_entropy", SGD(model.parameters(), lr=0.1),
                            epochs=3, val_data=data, metrics=metrics, verbose=0)


def test_plot_history_writes_a_png_of_loss_and_metric_curves(tmp_path):
    _, history = trained_history()
    path = tmp_path / "history.png"
    figure = plot_history(history, str(path), title="spirals")
    assert_png(path)
    loss_axes, metric_axes = figure.axes
    assert [line.get_label() for line in loss_axes.lines] == ["train loss", "validation loss"]
    assert [line.get_label() for line in metric_axes.lines] == ["train accuracy",
                                                               "validation accuracy"]
    assert list(loss_axes.lines[0].get_xdata()) == [1, 2, 3]
    assert list(loss_axes.lines[1].get_ydata()) == history["val_loss"]


def test_plot_history_from_a_dict_with_only_a_loss_and_non_scalar_entries(tmp_path):
    _, history = trained_history(metrics=[ConfusionMatrix(3)])
    figure = plot_history(history.to_dict(), str(tmp_path / "loss.png"))
    assert_png(tmp_path / "loss.png")
    assert len(figure.axes) == 1                          # confusion matrices are skipped
    assert list(figure.axes[0].lines[0].get_xdata()) == [1, 2, 3]
    with pytest.raises(ValueError, match="no per-epoch numbers"):
        plot_history({"confusion_matrix": [np.eye(2)]})


def test_plot_decision_boundary_of_a_multiclass_model(tmp_path):
    model, _ = trained_history()
    x, y = ember.datasets.spirals(60).tensors
    model.train()
    path = tmp_path / "boundary.png"
    figure = plot_decision_boundary(model, x, y, str(path), resolution=50, title="spirals")
    assert_png(path)
    assert model.training
    ax = figure.axes[0]
    regions, points = ax.collections[0], ax.collections[-1]
    # one colour scale for regions and points: class k is the same colour in both
    for artist in (regions, points):
        assert (artist.norm.vmin, artist.norm.vmax) == (-0.5, 2.5)


def binary_models():
    """A single-logit model and the same model with a sigmoid (probabilities)."""
    ember.manual_seed(1)
    logits = nn.Linear(2, 1)
    with ember.no_grad():
        logits.weight.copy_(ember.tensor([[1.0, -1.0]]))
        logits.bias.fill_(0.5)
    return logits, nn.Sequential(logits, nn.Sigmoid())


def test_binary_logit_and_probability_models_give_the_same_regions():
    logits, probabilities = binary_models()
    points = np.random.default_rng(0).uniform(-3, 3, (500, 2)).astype(np.float32)
    expected = (points @ np.array([1.0, -1.0]) + 0.5 > 0).astype(np.int64)
    assert 100 < expected.sum() < 400
    for model in (logits, probabilities):
        classes, num_classes = grid_classes(model, points)
        assert num_classes == 2 and np.array_equal(classes, expected)
    classes, _ = grid_classes(probabilities, points, threshold=0.9)
    assert classes.sum() < expected.sum()


def test_plot_decision_boundary_of_binary_models(tmp_path):
    x, y = ember.datasets.gaussians(40).tensors
    for name, model in zip(("logits", "probabilities"), binary_models()):
        path = tmp_path / f"{name}.png"
        plot_decision_boundary(model, x, y, str(path), resolution=30)
        assert_png(path)


def test_a_float64_model_and_a_features_function(tmp_path):
    ember.manual_seed(0)
    model = nn.Linear(4, 2).double()
    x, y = ember.datasets.xor(40).tensors

    def squares(grid):
        return ember.cat([grid, grid * grid], dim=1)

    plot_decision_boundary(model, x, y, str(tmp_path / "f.png"), resolution=20,
                           features=squares)
    assert_png(tmp_path / "f.png")


def test_bad_points():
    with pytest.raises(ValueError, match=r"expected points x of shape \(N, 2\)"):
        plot_decision_boundary(nn.Linear(3, 2), ember.zeros(5, 3), ember.zeros(5))


def test_missing_matplotlib_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'ember\[plot\]'"):
        plot_history({"loss": [1.0, 0.5]})


def test_plots_work_headless_without_pyplot(tmp_path):
    """A fresh interpreter with no display: the PNGs are written and pyplot never loads."""
    script = (
        "import sys, ember\n"
        "from ember.viz import plot_history, plot_decision_boundary\n"
        "x, y = ember.datasets.moons(30).tensors\n"
        "plot_history({'loss': [1.0, 0.5], 'accuracy': [0.5, 0.9]}, sys.argv[1])\n"
        "plot_decision_boundary(ember.nn.Linear(2, 1), x, y, sys.argv[2], resolution=20)\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    paths = [str(tmp_path / "h.png"), str(tmp_path / "b.png")]
    subprocess.run([sys.executable, "-c", script, *paths], check=True, env=env, timeout=120)
    for path in paths:
        assert_png(path)
