"""Stateless layer math under PyTorch's names: `import ember.nn.functional as F`."""
from __future__ import annotations

from ember.ops.elementwise import relu, sigmoid, tanh
from ember.ops.reduce import log_softmax, softmax
from ember.ops.shape import pad

__all__ = ["log_softmax", "pad", "relu", "sigmoid", "softmax", "tanh"]
