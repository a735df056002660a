"""The MNIST-1D paper's training protocol, shared by the mnist1d_* examples (not an example
itself): its data, its loop and its report, so the four models' numbers compare.

MNIST-1D (Greydanus 2020) with the published defaults: 4000 training and 1000 test
signals of length 40, ten classes. The training settings, from the paper repository's
train.py: Adam, lr 1e-2, batches of 100 taken IN ORDER (step s = 0, 1, ... uses the 100
examples from 100 s mod 4000 on; no shuffling), 6000 steps = 150 passes over the data.
"""
from __future__ import annotations

import argparse
import time

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.datasets import MNIST1D


def protocol_parser(description: str, seed: int = 42) -> argparse.ArgumentParser:
    """The options every MNIST-1D example has; an example adds its model's own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, default=6000, help="optimizer steps (not epochs)")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=1000, help="steps between reports")
    parser.add_argument("--seed", type=int, default=seed, help="seed of the initial weights")
    parser.add_argument("--data", default=None, help="folder to cache the generated data in")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads (1 is fastest for these small products on a busy "
                             "machine)")
    return parser


def accuracy(model: nn.Module, x: ember.Tensor, y: ember.Tensor) -> float:
    with ember.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def train_in_order(model, x_train, y_train, x_test, y_test, args) -> float:
    """The paper's loop: batch after batch in dataset order, for a number of steps.
    Returns the seconds spent training (the periodic evaluations not included)."""
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    n = x_train.shape[0]
    seconds = 0.0
    for step in range(args.steps):
        started = time.perf_counter()
        first = (step * args.batch_size) % n          # the reference's batch index
        x, y = x_train[first:first + args.batch_size], y_train[first:first + args.batch_size]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        seconds += time.perf_counter() - started
        done = step + 1
        if done % args.eval_every == 0 or done == args.steps:
            print(f"step {done:5d}   loss {loss.item():.4f}   train accuracy "
                  f"{accuracy(model, x_train, y_train):6.1%}   test accuracy "
                  f"{accuracy(model, x_test, y_test):6.1%}   {seconds:6.1f} s", flush=True)
    return seconds


def run(make_model, describe, reference: str, args) -> dict:
    """Load the data, seed, build the model with make_model(), train it by the protocol and
    report: describe(model) names the model in the header line, `reference` is what the
    paper got. Returns {"test_accuracy", "seconds"}."""
    if args.threads is not None:
        ember.set_num_threads(args.threads)
    train, test = MNIST1D(args.data, train=True), MNIST1D(args.data, train=False)
    ember.manual_seed(args.seed)
    model = make_model()
    parameters = sum(p.numel() for p in model.parameters())
    print(f"MNIST-1D: {len(train)} training and {len(test)} test signals of length 40; "
          f"{describe(model)} ({parameters:,} parameters); Adam lr {args.lr}, batches of "
          f"{args.batch_size} in order, {args.steps} steps, seed {args.seed}")
    seconds = train_in_order(model, train.data, train.targets, test.data, test.targets, args)
    test_accuracy = accuracy(model, test.data, test.targets)
    print(f"test accuracy {test_accuracy:.1%} ({reference}); training took {seconds:.1f} s "
          f"({1000 * seconds / args.steps:.2f} ms/step)")
    return {"test_accuracy": test_accuracy, "seconds": seconds}
