"""L2 regularization on the spiral classifier: how the penalty strength lambda shapes the
decision boundary and the accuracy.

    python examples/regularization.py [--lambdas 0.001 0.01 0.1] [--out runs/regularization]

The regularizer is an explicit penalty added to the loss,

    loss = cross_entropy + (lambda / 2) * (||W1||^2 + ||W2||^2),

on the two weight matrices only (biases are not penalised). Its gradient is lambda * W,
so with the plain SGD (with momentum) used here it is exactly SGD's weight_decay=lambda
applied to the weights; with Adam it would not be the same as AdamW's decoupled decay.
A larger lambda shrinks the weights and smooths the boundary; too large, and the model
can no longer follow the spirals. Writes one boundary PNG per lambda to --out.
"""
from __future__ import annotations

import argparse
import os

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.datasets import spirals
from ember.viz import plot_decision_boundary


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.001, 0.01, 0.1])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/regularization", help="folder for the PNGs")
    return parser.parse_args(argv)


def l2_penalized_loss(model: nn.Sequential, strength: float):
    """cross_entropy(outputs, targets) + (strength / 2) * the squared norms of the weights."""
    weights = [model[0].weight, model[2].weight]

    def loss(outputs: ember.Tensor, targets: ember.Tensor) -> ember.Tensor:
        penalty = sum((weight ** 2).sum() for weight in weights)
        return F.cross_entropy(outputs, targets) + 0.5 * strength * penalty
    return loss


def train_with_l2(strength: float, train, args) -> nn.Sequential:
    ember.manual_seed(args.seed)                 # the same initial weights for every lambda
    model = nn.Sequential(nn.Linear(2, args.hidden), nn.ReLU(), nn.Linear(args.hidden, 3))
    optimizer = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    ember.fit(model, train, l2_penalized_loss(model, strength), optimizer, epochs=args.epochs,
              batch_size=args.batch_size, verbose=0)
    return model


def main(argv=None) -> dict:
    args = parse_args(argv)
    train = spirals(args.points, classes=3, seed=args.seed)
    test = spirals(args.points, classes=3, seed=args.seed + 1)
    x, y = train.tensors
    os.makedirs(args.out, exist_ok=True)
    print(f"spirals: {len(train)} training and {len(test)} test points; MLP 2-{args.hidden}-3, "
          f"SGD lr {args.lr} momentum 0.9, batch {args.batch_size}, {args.epochs} epochs")
    print(f"{'lambda':>8}  {'train acc':>9}  {'test acc':>8}  {'||W1||':>7}  {'||W2||':>7}  "
          f"boundary")
    results = {}
    for strength in args.lambdas:
        model = train_with_l2(strength, train, args)
        train_accuracy = ember.evaluate(model, train)["accuracy"]
        test_accuracy = ember.evaluate(model, test)["accuracy"]
        norms = [model[0].weight.norm().item(), model[2].weight.norm().item()]
        path = os.path.join(args.out, f"boundary_lambda_{strength:g}.png")
        plot_decision_boundary(model, x, y, path,
                               title=f"L2 lambda = {strength:g}: train {train_accuracy:.1%}, "
                                     f"test {test_accuracy:.1%}")
        print(f"{strength:8g}  {train_accuracy:9.1%}  {test_accuracy:8.1%}  {norms[0]:7.2f}  "
              f"{norms[1]:7.2f}  {path}")
        results[strength] = {"train_accuracy": train_accuracy, "test_accuracy": test_accuracy,
                             "weight_norms": norms}
    return results


if __name__ == "__main__":
    main()
