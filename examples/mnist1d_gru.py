"""MNIST-1D with the paper's GRU (many-to-one): each signal read as a sequence of 40
scalars by a bidirectional GRU, all 40 steps' outputs flattened, then one linear layer.
The paper reports 91% test accuracy; reruns of its code give about 89%.

    python examples/mnist1d_gru.py [--steps 6000] [--seed 42] [--data DIR]

The model is the paper's GRU (its repository's models.py): GRU(input 1, hidden 6,
bidirectional, batch_first) gives (N, 40, 12); flattened to (N, 480) -> Linear(480, 10).
The data and loop are those of mnist1d_resmlp.py and mnist1d_logistic.py, so the numbers
compare: MNIST-1D's published defaults (4000 training and 1000 test signals), Adam lr 1e-2,
batches of 100 taken IN ORDER (no shuffling), 6000 steps = 150 passes, seed 42 (the
paper's). Every step backpropagates through all 40 time steps, in both directions.
"""
from __future__ import annotations

import argparse
import time

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.datasets import MNIST1D


class GRUClassifier(nn.Module):
    """The paper's GRU: a bidirectional GRU over the 40 samples of a signal, its outputs at
    every step concatenated and mapped to ten scores.

    Shape: (N, 40) -> (N, 10).
    """

    def __init__(self, hidden_size: int = 6, time_steps: int = 40, classes: int = 10) -> None:
        super().__init__()
        self.rnn = nn.GRU(1, hidden_size, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden_size * time_steps, classes)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        sequence = x.reshape(x.shape[0], x.shape[1], 1)       # (N, 40) -> (N, 40, 1)
        outputs, _ = self.rnn(sequence)                       # (N, 40, 2 * hidden)
        return self.linear(outputs.reshape(x.shape[0], -1))   # all steps, flattened


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000, help="optimizer steps (not epochs)")
    parser.add_argument("--hidden", type=int, default=6)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=1000, help="steps between reports")
    parser.add_argument("--seed", type=int, default=42, help="seed of the initial weights")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (1 is fastest for these small products)")
    parser.add_argument("--data", default=None, help="folder to cache the generated data in")
    return parser.parse_args(argv)


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


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        ember.set_num_threads(args.threads)
    train, test = MNIST1D(args.data, train=True), MNIST1D(args.data, train=False)
    ember.manual_seed(args.seed)
    model = GRUClassifier(args.hidden, 40, 10)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"MNIST-1D: {len(train)} training and {len(test)} test signals of length 40; "
          f"GRU(1, {args.hidden}, bidirectional) over 40 steps -> Linear("
          f"{2 * args.hidden * 40}, 10) ({parameters} parameters); Adam lr {args.lr}, batches "
          f"of {args.batch_size} in order, {args.steps} steps, seed {args.seed}")
    seconds = train_in_order(model, train.data, train.targets, test.data, test.targets, args)
    test_accuracy = accuracy(model, test.data, test.targets)
    print(f"test accuracy {test_accuracy:.1%} (the paper: 91%, its reruns about 89%); "
          f"training took {seconds:.1f} s ({1000 * seconds / args.steps:.2f} ms/step)")
    return {"test_accuracy": test_accuracy, "seconds": seconds}


if __name__ == "__main__":
    main()
