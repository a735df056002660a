"""MNIST-1D with the paper's convolutional network: three strided Conv1d layers and a linear
classifier on the 125 features. The paper reports 94% test accuracy; its repository's
reruns about 92.3%.

    python examples/mnist1d_cnn.py [--steps 6000] [--seed 42] [--threads 1] [--data DIR]

Model (the paper's ConvBase): Conv1d(1, 25, k=5, s=2, p=1) -> ReLU -> Conv1d(25, 25, k=3,
s=2, p=1) -> ReLU -> Conv1d(25, 25, k=3, s=2, p=1) -> ReLU -> flatten (25 channels x 5
positions = 125) -> Linear(125, 10); signals of length 40 shrink 40 -> 19 -> 10 -> 5.
The same data and loop as mnist1d_logistic.py and mnist1d_resmlp.py, so the numbers
compare: MNIST-1D's published defaults (4000 training and 1000 test signals of length 40),
Adam, lr 1e-2, batches of 100 taken IN ORDER (step s uses the 100 examples from
100 s mod 4000 on; no shuffling), 6000 steps, and the reference's seed 42.
"""
from __future__ import annotations

import argparse

import ember
import ember.nn as nn
from mnist1d_protocol import protocol_parser, run


class ConvNet1d(nn.Module):
    """The MNIST-1D paper's ConvBase: three Conv1d-ReLU layers, stride 2, then linear.

    Shape: (N, 40) or (N, 1, 40) -> (N, 10).
    """

    def __init__(self, channels: int = 25, classes: int = 10, length: int = 40) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, kernel_size=5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, kernel_size=3, stride=2, padding=1)
        for kernel in (5, 3, 3):    # each layer: L -> floor((L + 2P - K) / S) + 1, P=1, S=2
            length = (length + 2 - kernel) // 2 + 1
        self.linear = nn.Linear(channels * length, classes)     # 25 x 5 = 125 features

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = x.reshape(x.shape[0], 1, x.shape[-1])               # signals as one channel
        h = self.conv1(x).relu()
        h = self.conv2(h).relu()
        h = self.conv3(h).relu()
        return self.linear(h.flatten(1))


def parse_args(argv=None) -> argparse.Namespace:
    parser = protocol_parser(__doc__.splitlines()[0], seed=42)
    parser.add_argument("--channels", type=int, default=25)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    return run(lambda: ConvNet1d(args.channels, 10, 40),
               lambda model: f"CNN of three Conv1d layers ({args.channels} channels) and Linear",
               "the paper: 94%; its reruns: ~92.3%", args)


if __name__ == "__main__":
    main()
