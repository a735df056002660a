"""Stateless layer math under PyTorch's names: `import ember.nn.functional as F`.

Each function is composed from differentiable ops (or is a fused primitive where
measurement showed it pays), so its gradient comes from autograd.
"""
from ember.nn.functional.layers import linear
from ember.ops.elementwise import relu, sigmoid, tanh
from ember.ops.reduce import log_softmax, softmax
from ember.ops.shape import pad
