"""A multilayer perceptron, 784-512-256-10, on MNIST: above 98% test accuracy with a
plain recipe.

    python examples/mnist_mlp.py [--epochs 10] [--data DIR] [--out runs/mnist_mlp]

Recipe: pixels scaled to [0, 1] and normalised with MNIST's mean 0.1307 and std 0.3081;
ReLU hidden layers with dropout 0.2; Adam, lr 1e-3, halved every 3 epochs (StepLR);
mini-batches of 128, shuffled; cross-entropy. Trained with ember.fit on all 60,000
training images; the 10,000 test images are used once, at the end. Prints the time of
each epoch and writes history.png (loss and accuracy per epoch) to --out.
"""
from __future__ import annotations

import argparse
import os

import ember
import ember.nn as nn
from ember.datasets import MNIST
from ember.optim.lr_scheduler import StepLR
from ember.viz import plot_history
from image_training import normalised_images, shared_dataset, train_and_test

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
DEFAULT_DATA = shared_dataset("mnist")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--subset", type=int, default=None,
                        help="train on the first N images only (quick runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="folder with MNIST's four IDX files (default: "
                             "../shared/datasets/mnist beside the repository)")
    parser.add_argument("--out", default="runs/mnist_mlp", help="folder for history.png")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    train = normalised_images(MNIST(args.data, train=True), MNIST_MEAN, MNIST_STD, (784,),
                              args.subset)
    test = normalised_images(MNIST(args.data, train=False), MNIST_MEAN, MNIST_STD, (784,))
    model = nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Dropout(args.dropout),
        nn.Linear(512, 256), nn.ReLU(), nn.Dropout(args.dropout),
        nn.Linear(256, 10))
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=3, gamma=0.5)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"MNIST: {len(train)} training and {len(test)} test images; MLP 784-512-256-10 "
          f"({parameters:,} parameters), dropout {args.dropout}; Adam lr {args.lr}, StepLR "
          f"(x0.5 every 3 epochs), batch {args.batch_size}, {args.epochs} epochs")
    history, results, epoch_seconds = train_and_test(model, train, test, optimizer,
                                                     scheduler, args)
    os.makedirs(args.out, exist_ok=True)
    curves = os.path.join(args.out, "history.png")
    plot_history(history, curves, title="MLP 784-512-256-10 on MNIST")
    print(f"plot: {curves}")
    return {"test_accuracy": results["accuracy"], "epoch_seconds": epoch_seconds}


if __name__ == "__main__":
    main()
