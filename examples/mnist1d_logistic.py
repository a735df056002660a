"""MNIST-1D with logistic regression: one linear layer, Linear(40, 10), trained as in the
MNIST-1D paper. The linear baseline the deeper models are measured against (~32%).

    python examples/mnist1d_logistic.py [--steps 6000] [--data DIR]

MNIST-1D (Greydanus 2020) with the published defaults: 4000 training and 1000 test
signals of length 40, ten classes. The paper's training settings, from its repository's
train.py: Adam, lr 1e-2, batches of 100 taken IN ORDER (step s = 0, 1, ... uses the
100 examples from 100 s mod 4000 on; no shuffling), 6000 steps = 150 passes over the data. The
paper reports 32% test accuracy for this model. --data caches the generated set there
(as .npz); without it the set is generated in memory (about a second).
"""
from __future__ import annotations

import argparse
import time

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.datasets import MNIST1D


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000, help="optimizer steps (not epochs)")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=1000, help="steps between reports")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    parser.add_argument("--data", default=None, help="folder to cache the generated data in")
    return parser.parse_args(argv)


def accuracy(model: nn.Module, x: ember.Tensor, y: ember.Tensor) -> float:
    with ember.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def train_in_order(model, x_train, y_train, x_test, y_test, args) -> float:
    """The paper's loop: batch after batch in dataset order, for a number of steps.
    Returns the seconds spent."""
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    n = x_train.shape[0]
    start = time.perf_counter()
    for step in range(args.steps):
        first = (step * args.batch_size) % n          # the reference's batch index
        x, y = x_train[first:first + args.batch_size], y_train[first:first + args.batch_size]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        done = step + 1
        if done % args.eval_every == 0 or done == args.steps:
            print(f"step {done:5d}   loss {loss.item():.4f}   train accuracy "
                  f"{accuracy(model, x_train, y_train):6.1%}   test accuracy "
                  f"{accuracy(model, x_test, y_test):6.1%}   {time.perf_counter() - start:6.1f} s")
    return time.perf_counter() - start


def main(argv=None) -> dict:
    args = parse_args(argv)
    train, test = MNIST1D(args.data, train=True), MNIST1D(args.data, train=False)
    ember.manual_seed(args.seed)
    model = nn.Linear(40, 10)
    print(f"MNIST-1D: {len(train)} training and {len(test)} test signals of length 40; "
          f"logistic regression {model}; Adam lr {args.lr}, batches of {args.batch_size} in "
          f"order, {args.steps} steps")
    seconds = train_in_order(model, train.data, train.targets, test.data, test.targets, args)
    test_accuracy = accuracy(model, test.data, test.targets)
    print(f"test accuracy {test_accuracy:.1%} (the paper: 32%); training took {seconds:.1f} s "
          f"({1000 * seconds / args.steps:.2f} ms/step)")
    return {"test_accuracy": test_accuracy, "seconds": seconds}


if __name__ == "__main__":
    main()
