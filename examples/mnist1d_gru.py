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

import ember
import ember.nn as nn
from mnist1d_protocol import protocol_parser, run


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
    parser = protocol_parser(__doc__.splitlines()[0], seed=42)
    parser.add_argument("--hidden", type=int, default=6)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    return run(lambda: GRUClassifier(args.hidden, 40, 10),
               lambda model: f"GRU(1, {args.hidden}, bidirectional) over 40 steps -> "
                             f"Linear({2 * args.hidden * 40}, 10)",
               "the paper: 91%, its reruns about 89%", args)


if __name__ == "__main__":
    main()
