"""A two-layer network on the spiral dataset, trained with raw tensors and hand-written
gradient-descent updates: the whole of backpropagation in a few lines.

    python examples/two_layer_network.py

Three interleaved spirals cannot be separated by a line; a hidden layer of 100 ReLU units
learns the boundary. Autograd computes every gradient; the update w <- w - lr * dL/dw is
written out by hand, inside `ember.no_grad()` so that it is not itself recorded.
"""
from __future__ import annotations

import math
import time

import numpy as np

import ember


def make_spirals(points_per_class: int = 100, classes: int = 3, noise: float = 0.2,
                 seed: int = 0) -> tuple[ember.Tensor, ember.Tensor]:
    """The spiral data of the CS231n notes: `classes` arms, each a noisy spiral."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(classes):
        radius = np.linspace(0.0, 1.0, points_per_class)
        angle = (np.linspace(c * 4.0, (c + 1) * 4.0, points_per_class)
                 + rng.standard_normal(points_per_class) * noise)
        xs.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        ys.append(np.full(points_per_class, c))
    return ember.tensor(np.concatenate(xs), dtype=ember.float32), ember.tensor(np.concatenate(ys))


def main(steps: int = 2000, hidden: int = 100, lr: float = 1.0, l2: float = 1e-3) -> float:
    ember.manual_seed(0)
    x, y = make_spirals()
    n, classes = x.shape[0], int(y.max()) + 1

    # He initialisation for the ReLU layer, small weights for the output layer.
    w1 = (ember.randn(2, hidden) * math.sqrt(2 / 2)).requires_grad_()
    b1 = ember.zeros(hidden, requires_grad=True)
    w2 = (ember.randn(hidden, classes) * 0.01).requires_grad_()
    b2 = ember.zeros(classes, requires_grad=True)
    params = [w1, b1, w2, b2]

    print(f"spirals: {n} points, {classes} classes; network 2-{hidden}-{classes}, "
          f"lr {lr}, L2 {l2}; initial loss should be about ln({classes}) = "
          f"{math.log(classes):.3f}")
    start = time.perf_counter()
    for step in range(steps + 1):
        hidden_units = ember.relu(x @ w1 + b1)
        scores = hidden_units @ w2 + b2
        # softmax cross-entropy: the mean of -log p(correct class)
        data_loss = -scores.log_softmax(dim=1)[ember.arange(n), y].mean()
        loss = data_loss + 0.5 * l2 * ((w1 ** 2).sum() + (w2 ** 2).sum())

        for p in params:
            p.grad = None
        loss.backward()
        with ember.no_grad():
            for p in params:
                p -= lr * p.grad          # gradient descent, written out by hand

        if step % 250 == 0:
            accuracy = (scores.argmax(dim=1) == y).float().mean().item()
            print(f"step {step:5d}   loss {loss.item():.4f}   training accuracy {accuracy:.1%}")
    elapsed = time.perf_counter() - start
    print(f"trained in {elapsed:.2f} s ({1000 * elapsed / (steps + 1):.2f} ms/step); "
          f"final training accuracy {accuracy:.1%}")
    return accuracy


if __name__ == "__main__":
    main()
