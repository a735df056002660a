"""How wide must the hidden layer be? The spiral classifier with 2, 8, 64 and 256 hidden
ReLU units, each boundary drawn.

    python examples/hidden_width.py [--widths 2 8 64 256] [--epochs 200] [--out runs/hidden_width]

Each ReLU unit contributes one straight fold line to the boundary, so two units can
only cut the plane into a few wedges, eight give a rough polygon around the arms, and
64 or more follow the spirals smoothly. Every width gets the same recipe (Adam, lr 1e-2,
mini-batches of 32, no regularization) and the same data; accuracy is reported on the
training points and on fresh points from the same spirals. One PNG per width in --out.
"""
from __future__ import annotations

import argparse
import os

import ember
import ember.nn as nn
from ember.datasets import spirals
from ember.viz import plot_decision_boundary


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[2, 8, 64, 256])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/hidden_width", help="folder for the PNGs")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    train = spirals(args.points, classes=3, seed=args.seed)
    test = spirals(args.points, classes=3, seed=args.seed + 1)
    x, y = train.tensors
    os.makedirs(args.out, exist_ok=True)
    print(f"spirals: {len(train)} training and {len(test)} test points; MLP 2-width-3 (ReLU), "
          f"Adam lr {args.lr}, batch {args.batch_size}, {args.epochs} epochs")
    print(f"{'width':>6}  {'parameters':>10}  {'train acc':>9}  {'test acc':>8}  boundary")
    results = {}
    for width in args.widths:
        ember.manual_seed(args.seed)
        model = nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, 3))
        optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
        ember.fit(model, train, "cross_entropy", optimizer, epochs=args.epochs,
                  batch_size=args.batch_size, verbose=0)
        train_accuracy = ember.evaluate(model, train)["accuracy"]
        test_accuracy = ember.evaluate(model, test)["accuracy"]
        parameters = sum(p.numel() for p in model.parameters())
        path = os.path.join(args.out, f"boundary_width_{width}.png")
        plot_decision_boundary(model, x, y, path,
                               title=f"{width} hidden units: train {train_accuracy:.1%}, "
                                     f"test {test_accuracy:.1%}")
        print(f"{width:6d}  {parameters:10d}  {train_accuracy:9.1%}  {test_accuracy:8.1%}  {path}")
        results[width] = {"train_accuracy": train_accuracy, "test_accuracy": test_accuracy,
                          "parameters": parameters}
    return results


if __name__ == "__main__":
    main()
