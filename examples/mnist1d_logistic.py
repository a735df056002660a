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

import ember.nn as nn
from mnist1d_protocol import protocol_parser, run


def parse_args(argv=None) -> argparse.Namespace:
    parser = protocol_parser(__doc__.splitlines()[0], seed=0)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    return run(lambda: nn.Linear(40, 10),
               lambda model: f"logistic regression {model}",
               "the paper: 32%", args)


if __name__ == "__main__":
    main()
