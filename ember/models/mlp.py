"""Fully connected models: logistic regression, a multilayer perceptron, and the residual
MLP of the MNIST-1D paper."""
from __future__ import annotations

import math

from ember import nn
from ember.tensor import Tensor


def logistic_regression(input_shape, num_classes: int) -> nn.Module:
    """One linear layer on the flattened input: softmax regression with cross-entropy."""
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), num_classes))


def mlp(input_shape, num_classes: int, hidden=(100, 100), dropout: float = 0.0) -> nn.Module:
    """Flatten, then Linear-ReLU(-Dropout) for each hidden width, then a linear classifier.

    Example:
        >>> mlp((784,), 10, hidden=(512, 256))       # the MNIST MLP 784-512-256-10
    """
    hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    layers, width = [nn.Flatten()], math.prod(input_shape)
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


class ResidualMLP(nn.Module):
    """The MNIST-1D paper's residual MLP: h = ReLU(W1 x); h = h + ReLU(W2 h); out = W3 h.

    Shape: (N, *input_shape) -> (N, num_classes).
    """

    def __init__(self, input_shape=(40,), num_classes: int = 10, hidden: int = 100) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.input = nn.Linear(math.prod(input_shape), hidden)
        self.hidden = nn.Linear(hidden, hidden)
        self.output = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        h = self.input(self.flatten(x)).relu()
        h = h + self.hidden(h).relu()          # the residual connection
        return self.output(h)
