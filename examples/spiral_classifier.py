"""A multilayer perceptron learns three interleaved spirals, and its decision boundary is
drawn: the classic first picture of what a hidden layer buys.

    python examples/spiral_classifier.py [--epochs 100] [--out runs/spiral_classifier]

Trained with ember.fit (Adam, mini-batches of 32, cross-entropy). Accuracy is measured on
the 300 training points and on 300 fresh points from the same spirals (another noise
seed), passed to fit as validation data so that both curves are drawn. Writes
decision_boundary.png and history.png (loss and accuracy per epoch) to --out.
"""
from __future__ import annotations

import argparse
import os
import time

import ember
import ember.nn as nn
from ember.datasets import spirals
from ember.training import LambdaCallback
from ember.viz import plot_decision_boundary, plot_history


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=100, help="units in the hidden layer")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/spiral_classifier", help="folder for the PNGs")
    return parser.parse_args(argv)


def print_every(epochs: int) -> LambdaCallback:
    """A callback printing the epoch's logs every `epochs` epochs."""
    def on_epoch_end(epoch: int, logs: dict) -> None:
        if epoch % epochs == 0:
            print(f"epoch {epoch:4d}   loss {logs['loss']:.4f}   training accuracy "
                  f"{logs['accuracy']:.1%}   test accuracy {logs['val_accuracy']:.1%}")
    return LambdaCallback(on_epoch_end=on_epoch_end)


def main(argv=None) -> dict:
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    train = spirals(args.points, classes=3, seed=args.seed)
    test = spirals(args.points, classes=3, seed=args.seed + 1)
    model = nn.Sequential(nn.Linear(2, args.hidden), nn.ReLU(), nn.Linear(args.hidden, 3))
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)

    print(f"spirals: {len(train)} training points, 3 classes; MLP 2-{args.hidden}-3 (ReLU), "
          f"Adam lr {args.lr}, batch {args.batch_size}, {args.epochs} epochs")
    start = time.perf_counter()
    history = ember.fit(model, train, "cross_entropy", optimizer, epochs=args.epochs,
                        val_data=test, batch_size=args.batch_size, verbose=0,
                        callbacks=[print_every(max(args.epochs // 10, 1))])
    seconds = time.perf_counter() - start
    train_accuracy = ember.evaluate(model, train)["accuracy"]
    test_accuracy = ember.evaluate(model, test)["accuracy"]
    print(f"trained in {seconds:.1f} s; training accuracy {train_accuracy:.1%}, "
          f"test accuracy {test_accuracy:.1%}")

    os.makedirs(args.out, exist_ok=True)
    x, y = train.tensors
    boundary = os.path.join(args.out, "decision_boundary.png")
    plot_decision_boundary(model, x, y, boundary,
                           title=f"2-{args.hidden}-3 MLP: train {train_accuracy:.1%}, "
                                 f"test {test_accuracy:.1%}")
    curves = os.path.join(args.out, "history.png")
    plot_history(history, curves, title="spiral classifier")
    print(f"plots: {boundary}, {curves}")
    return {"train_accuracy": train_accuracy, "test_accuracy": test_accuracy,
            "seconds": seconds}


if __name__ == "__main__":
    main()
