"""XOR has no linear boundary: logistic regression cannot separate it, a network with one
hidden layer can.

    python examples/xor.py [--steps 500] [--hidden 8] [--out runs/xor]

Class 1 is where x and y have the same sign (quadrants 1 and 3), class 0 where they differ.
No single line puts both class-1 quadrants on one side and both class-0 quadrants on the
other, so the best a linear model can do is get three quadrants right (75%), and gradient
descent usually stops near 50%. A hidden layer of tanh units bends the boundary: 100%.
Both models are trained on the same points with the same loop (full batch, Adam, binary
cross-entropy on one logit); the decision boundaries are written as PNGs under --out.
"""
from __future__ import annotations

import argparse
import os

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.datasets import xor
from ember.viz import plot_decision_boundary


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="full-batch Adam steps")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--hidden", type=int, default=8, help="hidden tanh units")
    parser.add_argument("--points", type=int, default=200, help="training points")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/xor", help="folder for the PNGs")
    parser.add_argument("--no-plots", action="store_true")
    return parser.parse_args(argv)


def accuracy(model: nn.Module, x: ember.Tensor, y: ember.Tensor) -> float:
    """The fraction of points on the right side of the boundary logit = 0."""
    with ember.no_grad():
        predicted = (model(x).squeeze(1) > 0).long()
    return (predicted == y).float().mean().item()


def train(model: nn.Module, x: ember.Tensor, y: ember.Tensor, steps: int, lr: float) -> float:
    """Full-batch training on binary cross-entropy; returns the final loss."""
    optimizer = ember.optim.Adam(model.parameters(), lr=lr)
    targets = y.float().unsqueeze(1)              # (N, 1), like the model's one logit
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x), targets)
        loss.backward()
        optimizer.step()
    return loss.item()


def main(argv=None) -> dict:
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    x, y = xor(args.points, seed=args.seed).tensors
    x_test, y_test = xor(args.points, seed=args.seed + 1).tensors

    models = {   # name: (model, file of its decision boundary)
        "logistic regression": (nn.Linear(2, 1), "logistic_regression.png"),
        f"2-{args.hidden}-1 tanh network": (nn.Sequential(
            nn.Linear(2, args.hidden), nn.Tanh(), nn.Linear(args.hidden, 1)), "hidden_layer.png"),
    }
    print(f"XOR: {len(y)} training and {len(y_test)} test points; "
          f"{args.steps} full-batch Adam steps, lr {args.lr}")
    results = {}
    for name, (model, filename) in models.items():
        loss = train(model, x, y, args.steps, args.lr)
        results[name] = {"loss": loss, "train_accuracy": accuracy(model, x, y),
                         "test_accuracy": accuracy(model, x_test, y_test)}
        print(f"{name:>26}: loss {loss:.4f}   train accuracy "
              f"{results[name]['train_accuracy']:6.1%}   test accuracy "
              f"{results[name]['test_accuracy']:6.1%}")
        if not args.no_plots:
            os.makedirs(args.out, exist_ok=True)
            path = os.path.join(args.out, filename)
            # the model outputs one logit: class 1 where it is above 0
            plot_decision_boundary(model, x, y, path, title=f"XOR: {name}", threshold=0.0)
            print(f"{'':>28}boundary: {path}")
    return results


if __name__ == "__main__":
    main()
