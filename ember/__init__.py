"""ember: a deep-learning library on NumPy with the API PyTorch users know.

    import ember
    x = ember.randn(8, 3, requires_grad=True)
    loss = (x ** 2).mean()
    loss.backward()          # x.grad now holds d loss / d x

This file is the public surface only: it imports, and does one thing more, below: it
lets the C allocator keep freed memory for reuse (see ember.ops.workspace).
"""
# Tensor must be imported first: the modules below build Tensors.
from ember.tensor import Tensor  # noqa: I001

from ember import (accelerator, autograd, backends, cuda, data, datasets, nn, optim, random,
                   training, utils, viz)
from ember.autograd import Function, gradcheck
from ember.backend import (bool_ as bool, device, dtype, float16, float32, float64,
                           get_default_dtype, int8, int16, int32, int64, set_default_dtype,
                           uint8)
from ember.backend import float16 as half, float32 as float, float64 as double
from ember.backend import int16 as short, int32 as int, int64 as long
from ember.creation import (arange, as_tensor, bernoulli, empty, empty_like, eye,
                            from_numpy, full, full_like, linspace, logspace, multinomial,
                            normal, ones, ones_like, rand, rand_like, randint, randint_like,
                            randn, randn_like, randperm, tensor, zeros, zeros_like)
from ember.errors import DeviceError, DTypeError, GraphError, ShapeError
from ember.io import load, save
from ember.grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                             set_grad_enabled)
from ember.ops.arithmetic import (add, clamp, clip, clone, div, floor_divide, maximum,
                                  minimum, mul, neg, pow, remainder, sub, true_divide, where)
from ember.ops.compare import (allclose, bitwise_not, eq, equal, ge, gt, isclose, isfinite,
                               isinf, isnan, le, logical_and, logical_not, logical_or,
                               logical_xor, lt, ne)
from ember.ops.elementwise import (abs, ceil, cos, exp, expm1, floor, log, log1p, log2,
                                   log10, reciprocal, relu, round, rsqrt, sigmoid, sign, sin,
                                   sqrt, square, tanh, trunc)
from ember.ops.indexing import (argsort, gather, index_select, masked_fill, masked_select,
                                nonzero, sort, take_along_dim, topk)
from ember.ops.linalg import bmm, dot, matmul, mm, mv, outer
from ember.ops.reduce import (all, amax, amin, any, argmax, argmin, cumsum,
                              logsumexp, max, mean, min, norm, prod, std, sum, var)
from ember.ops.softmax import log_softmax, softmax
from ember.ops.special import erf, erfc
from ember.ops.shape import (cat, chunk, concat, concatenate, flatten, flip, movedim, narrow,
                             permute, reshape, select, split, squeeze, stack, swapaxes,
                             swapdims, t, transpose, unbind, unflatten, unsqueeze)
from ember.ops.shape import expand as broadcast_to
from ember.random import (Generator, default_generator, get_rng_state, initial_seed,
                          manual_seed, seed, set_rng_state)
from ember.threads import (are_deterministic_algorithms_enabled, get_num_threads,
                           set_num_threads, use_deterministic_algorithms)
from ember.training import evaluate, fit, predict
from ember.training.summary import summary
from ember.text import generate

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


# PyTorch's typed constructors: FloatTensor([1, 2]) is tensor([1., 2.]).
def FloatTensor(*args) -> Tensor:
    return Tensor(*args, dtype=float32)


def DoubleTensor(*args) -> Tensor:
    return Tensor(*args, dtype=float64)


def LongTensor(*args) -> Tensor:
    return Tensor(*args, dtype=int64)


def IntTensor(*args) -> Tensor:
    return Tensor(*args, dtype=int32)


def BoolTensor(*args) -> Tensor:
    return Tensor(*args, dtype=bool)

# Training frees and remakes its activations every step; fresh memory from the operating
# system costs a page fault per 4 KiB (30% of a LeNet step), so freed memory is kept.
from ember.ops.workspace import reuse_freed_memory  # noqa: E402

reuse_freed_memory()
