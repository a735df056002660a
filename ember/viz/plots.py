"""Training plots with matplotlib: loss and metric curves, and the decision boundary of a
2-D classifier. Figures are built without pyplot, so they work on machines without a display.
"""
from __future__ import annotations

import numpy as np

from ember.grad_mode import no_grad
from ember.tensor import Tensor


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'ember[plot]'") from None
    return Figure(figsize=(width, height), layout="constrained")


def _save(figure, path: str | None):
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def plot_history(history, path: str | None = None, title: str | None = None):
    """Loss (left) and the other metrics (right) per epoch, training and validation.

    Args:
        history: a History from ember.fit (or its .history dict).
        path: save the figure as PNG here (returned either way).
        title: drawn above the plots.

    Returns:
        The matplotlib Figure (made without pyplot, so it works without a display).

    Example:
        >>> plot_history(ember.fit(model, data, "cross_entropy", opt, epochs=20), "curves.png")
    """
    logs = history.history if hasattr(history, "history") else dict(history)
    epochs = getattr(history, "epoch", logs.get("epoch"))
    logs = {key: values for key, values in logs.items() if key != "epoch"
            and all(isinstance(v, (int, float)) for v in values)}     # scalars only
    if not logs:
        raise ValueError("plot_history: the history holds no per-epoch numbers to plot")
    if epochs is None:
        epochs = range(1, len(next(iter(logs.values()))) + 1)
    epochs = list(epochs)
    metrics = [k for k in logs if not k.startswith("val_") and k not in ("loss", "lr")]
    figure = _figure(10 if metrics else 5.5, 4)
    axes = figure.subplots(1, 2 if metrics else 1, squeeze=False)[0]
    for ax, keys, label in ((axes[0], ["loss"], "loss"),
                            *([(axes[1], metrics, "metric")] if metrics else [])):
        for key in keys:
            if key in logs:
                ax.plot(epochs, logs[key], marker="o", markersize=3, label=f"train {key}")
            if f"val_{key}" in logs:
                ax.plot(epochs, logs[f"val_{key}"], marker="o", markersize=3,
                        linestyle="--", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def plot_decision_boundary(model, x, y, path: str | None = None, resolution: int = 200,
                           title: str | None = None, features=None,
                           threshold: float | None = None, ax=None):
    """The classes a 2-D classifier predicts over the input plane, with the data on top.

    Args:
        model: maps (N, 2) inputs (or `features(grid)` of them) to (N, C) scores or to
            (N,)/(N, 1) scores for two classes.
        x, y: the data points (N, 2) and their integer labels.
        path: save the figure as PNG here (returned either way).
        resolution: grid points along each axis.
        title: drawn above the plot.
        features: optional function from the (N, 2) grid to the model's input features.
        threshold: for single-score models, the score above which the class is 1; None
            chooses 0.5 if every score on the grid lies in [0, 1] (probabilities), else 0
            (logits).
        ax: a matplotlib Axes to draw into (a panel of your own figure); by default a new
            figure is made. Returns the figure either way.

    Example:
        >>> plot_decision_boundary(model, *dataset.tensors, path="boundary.png")
    """
    x = x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)
    y = (y.detach().numpy() if isinstance(y, Tensor) else np.asarray(y)).reshape(-1)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) != len(y):
        raise ValueError(f"plot_decision_boundary: expected points x of shape (N, 2) and "
                         f"N labels y, got x {x.shape} and y {y.shape}")
    margin = 0.1 * (x.max(axis=0) - x.min(axis=0)) + 1e-6
    low, high = x.min(axis=0) - margin, x.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], resolution),
                         np.linspace(low[1], high[1], resolution))
    classes, num_classes = grid_classes(model, np.stack([gx.ravel(), gy.ravel()], axis=1),
                                        features, threshold)
    num_classes = int(max(num_classes, y.max() + 1 if y.size else 0))
    if ax is None:
        figure = _figure(5.5, 5)
        ax = figure.subplots()
    else:
        figure = ax.figure
    from matplotlib.colors import Normalize

    norm = Normalize(vmin=-0.5, vmax=num_classes - 0.5)   # one colour per class everywhere
    ax.contourf(gx, gy, classes.reshape(gx.shape), levels=np.arange(num_classes + 1) - 0.5,
                cmap="Spectral", norm=norm, alpha=0.35)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="Spectral", norm=norm, s=14, edgecolors="k",
               linewidths=0.3)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return _save(figure, path)


def grid_classes(model, points: np.ndarray, features=None, threshold: float | None = None):
    """The class the model predicts at each of the (N, 2) points, and how many classes
    its output can name (in eval mode, without a graph; the mode is put back)."""
    grid = Tensor._make(points.astype(_input_dtype(model)))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            scores = model(features(grid) if features else grid).numpy()
    finally:
        model.train(was_training)
    if scores.ndim > 1 and scores.shape[1] > 1:
        return scores.argmax(axis=1), scores.shape[1]
    scores = scores.reshape(-1)
    if threshold is None:
        threshold = 0.5 if scores.min() >= 0 and scores.max() <= 1 else 0.0
    return (scores > threshold).astype(np.int64), 2


def _input_dtype(model) -> np.dtype:
    """The dtype of the model's floating-point parameters (float32 without any)."""
    for parameter in model.parameters():
        if parameter.is_floating_point():
            return np.dtype(parameter.dtype.numpy)
    return np.dtype(np.float32)
