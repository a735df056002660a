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
    """
    logs = history.history if hasattr(history, "history") else dict(history)
    epochs = list(getattr(history, "epoch", range(1, len(next(iter(logs.values()))) + 1)))
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
                           title: str | None = None, features=None):
    """The classes a 2-D classifier predicts over the input plane, with the data on top.

    Args:
        model: maps (N, 2) inputs (or `features(grid)` of them) to (N, C) scores or to
            (N,)/(N, 1) logits for two classes.
        x, y: the data points (N, 2) and their integer labels.
        features: optional function from the (N, 2) grid to the model's input features.
    """
    x = x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)
    y = y.detach().numpy() if isinstance(y, Tensor) else np.asarray(y)
    margin = 0.1 * (x.max(axis=0) - x.min(axis=0)) + 1e-6
    low, high = x.min(axis=0) - margin, x.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], resolution),
                         np.linspace(low[1], high[1], resolution))
    grid = Tensor._make(np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            scores = model(features(grid) if features else grid).numpy()
    finally:
        model.train(was_training)
    if scores.ndim == 1 or scores.shape[1] == 1:
        classes = (scores.reshape(-1) > 0).astype(int)
    else:
        classes = scores.argmax(axis=1)
    figure = _figure(5.5, 5)
    ax = figure.subplots()
    ax.contourf(gx, gy, classes.reshape(gx.shape), levels=np.arange(classes.max() + 2) - 0.5,
                cmap="Spectral", alpha=0.35)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="Spectral", s=14, edgecolors="k", linewidths=0.3)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return _save(figure, path)
