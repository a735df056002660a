"""Activation functions under PyTorch's names and signatures (F.relu, F.gelu, F.softmax, ...).

Each is composed from differentiable ops, so its gradient comes from autograd; where a
function has a kink, the composition is chosen so that the slope taken there is PyTorch's.

`inplace=True` is accepted wherever PyTorch accepts it. ember records no in-place ops, so
the result is written into `input` only when no gradient flows through it (grad mode off,
or `input` does not require grad); otherwise a new tensor is returned, with the same values
and correct gradients (other references to `input` then keep the old values).
"""
from __future__ import annotations

import math
import warnings

from ember.errors import DTypeError, ShapeError
from ember.grad_mode import is_grad_enabled, no_grad
from ember.ops import elementwise
from ember.ops import softmax as softmax_ops
from ember.ops.arithmetic import clamp, minimum, where
from ember.ops.elementwise import Relu, exp, expm1, log1p, sigmoid, tanh
from ember.ops.operands import normalize_dim
from ember.ops.shape import chunk
from ember.ops.special import erfc
from ember.tensor import Tensor

# Klambauer et al. (2017): the alpha and scale that make SELU self-normalising.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _check_tensor(op: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not "
                        f"{type(input).__name__}")


def _floating(op: str, input) -> Tensor:
    """`input`, checked to be a floating-point tensor (PyTorch refuses integers here)."""
    _check_tensor(op, input)
    if not input.is_floating_point():
        raise DTypeError(f"{op}: expected a floating-point tensor, got {input.dtype} "
                         "(convert with .float() first)")
    return input


def _returned(input: Tensor, result: Tensor, inplace: bool) -> Tensor:
    """Honour inplace=True where that is safe for autograd (see the module docstring)."""
    if not inplace or (is_grad_enabled() and input.requires_grad):
        return result
    with no_grad():
        input.copy_(result)
    return input


# --- rectifiers ------------------------------------------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x); the slope at 0 is taken as 0.

    Example:
        >>> F.relu(ember.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    if not isinstance(input, Tensor):       # checked inline: this runs a lot
        _check_tensor("relu", input)
    result = Relu.apply(input)
    return _returned(input, result, inplace) if inplace else result


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]. The slope is 1 strictly inside and 0 elsewhere,
    boundaries included (unlike clamp, whose gradient passes at the boundaries).

    Example:
        >>> F.hardtanh(ember.tensor([-3.0, 0.5, 3.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """
    _check_tensor("hardtanh", input)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    if not input.is_floating_point():   # no gradient; bounds truncated, as PyTorch does
        return _returned(input, clamp(input, int(min_val), int(max_val)), inplace)
    # constant branches carry no gradient, so x gets slope 1 only where it is kept
    clipped = where(input <= min_val, min_val, where(input >= max_val, max_val, input))
    return _returned(input, clipped, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6): hardtanh(x, 0, 6), slope 0 at both kinks.

    Example:
        >>> F.relu6(ember.tensor([-1.0, 3.0, 9.0]))
        tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise (the slope at 0 is negative_slope).

    Example:
        >>> F.leaky_relu(ember.tensor([-2.0, 3.0]), 0.1)
        tensor([-0.2000,  3.0000])
    """
    input = _floating("leaky_relu", input)
    return _returned(input, where(input > 0, input, input * negative_slope), inplace)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """leaky_relu with a learned slope: x for x > 0, a * x otherwise, where `weight` holds
    one slope for all channels or one per channel (dimension 1 of the input).

    Example:
        >>> F.prelu(ember.tensor([[-2.0, 3.0]]), ember.tensor([0.25]))
        tensor([[-0.5000,  3.0000]])
    """
    input = _floating("prelu", input)
    _check_tensor("prelu", weight)
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() == 1:
        slope = weight.reshape(())
    elif weight.numel() == channels:
        # one slope per channel, broadcast over the dimensions after the channel dimension
        slope = weight.reshape((channels,) + (1,) * (input.ndim - 2))
    else:
        raise ShapeError(f"prelu: weight has {weight.numel()} values (shape "
                         f"{tuple(weight.shape)}) but the input (shape {tuple(input.shape)}) "
                         f"has {channels} channel(s) in dimension 1; expected 1 or "
                         f"{channels} values")
    return where(input > 0, input, slope * input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else `value` (slope 0 at and below the threshold).

    Example:
        >>> F.threshold(ember.tensor([0.5, 2.0]), 1.0, -1.0)
        tensor([-1.,  2.])
    """
    _check_tensor("threshold", input)
    if not input.is_floating_point():   # integers stay integers, as in PyTorch
        value = int(value)
    return _returned(input, where(input > threshold, input, value), inplace)


# --- exponential linear units ----------------------------------------------------------


def _exponential_linear(input: Tensor, alpha: float, scale: float = 1.0,
                        input_scale: float = 1.0) -> Tensor:
    """scale * x for x > 0, scale * alpha * (e^(input_scale * x) - 1) otherwise: PyTorch's
    common form of ELU, SELU and CELU (the slope at 0 is the left one)."""
    # The exponential sees only x <= 0 (0 elsewhere): a large x would make e^x overflow,
    # and the inf, times the zero gradient of the unused branch, would give NaN.
    nonpositive = where(input > 0, 0.0, input)
    negative_branch = expm1(nonpositive * input_scale) * (scale * alpha)
    return where(input > 0, input * scale, negative_branch)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise (Clevert et al., 2015).

    Example:
        >>> F.elu(ember.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """
    input = _floating("elu", input)
    return _returned(input, _exponential_linear(input, alpha), inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with alpha = 1.6733, scale = 1.0507 (Klambauer et al., 2017).

    Example:
        >>> F.selu(ember.tensor([1.0]))
        tensor([1.0507])
    """
    input = _floating("selu", input)
    return _returned(input, _exponential_linear(input, SELU_ALPHA, SELU_SCALE), inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (e^(x/alpha) - 1)) (Barron, 2017).

    Example:
        >>> F.celu(ember.tensor([-1.0, 2.0]), alpha=2.0)
        tensor([-0.7869,  2.0000])
    """
    input = _floating("celu", input)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (the input is divided by it)")
    return _returned(input, _exponential_linear(input, alpha, 1.0, 1.0 / alpha), inplace)


# --- smooth gates ----------------------------------------------------------------------


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel, 2016).

    Args:
        approximate: 'none' for Phi(x) = erfc(-x / sqrt 2) / 2 (exact), or 'tanh' for
            Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2.

    Example:
        >>> F.gelu(ember.tensor([-1.0, 1.0]))
        tensor([-0.1587,  0.8413])
    """
    input = _floating("gelu", input)
    if approximate == "none":
        # erfc(-x/sqrt2) is 1 + erf(x/sqrt2), but keeps its precision for very negative x
        return input * erfc(input * -math.sqrt(0.5)) * 0.5
    if approximate == "tanh":
        cube = input * input * input            # (3 multiplications beat a general power)
        inner = (input + cube * 0.044715) * math.sqrt(2 / math.pi)
        return input * (tanh(inner) + 1) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x), also called swish (Ramachandran et al., 2017).

    Example:
        >>> F.silu(ember.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7311])
    """
    input = _floating("silu", input)
    return _returned(input, input * sigmoid(input), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, a smooth relu; x itself where beta x > threshold (as
    in PyTorch: the two agree there to within e^-threshold).

    Example:
        >>> F.softplus(ember.tensor([0.0, 30.0]))
        tensor([ 0.6931, 30.0000])
    """
    input = _floating("softplus", input)
    scaled = input * beta
    linear = scaled > threshold
    # The exponential sees 0 where the linear branch is taken, so it cannot overflow there
    # (an inf times the zero gradient of the unused branch would give NaN).
    safe = where(linear, 0.0, scaled)
    return where(linear, input, log1p(exp(safe)) / beta)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)) (Misra, 2019).

    Example:
        >>> F.mish(ember.tensor([1.0]))
        tensor([0.8651])
    """
    input = _floating("mish", input)
    return _returned(input, input * tanh(softplus(input)), inplace)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|).

    Example:
        >>> F.softsign(ember.tensor([-3.0, 1.0]))
        tensor([-0.7500,  0.5000])
    """
    _check_tensor("softsign", input)
    return input / (elementwise.abs(input) + 1)


def logsigmoid(input: Tensor) -> Tensor:
    """log sigmoid(x) = -softplus(-x), computed as min(x, 0) - log(1 + e^-|x|): no overflow
    for any x, and no log(0) for very negative x.

    Example:
        >>> F.logsigmoid(ember.tensor([0.0, -1000.0]))
        tensor([-6.9315e-01, -1.0000e+03])
    """
    input = _floating("logsigmoid", input)
    # At x = 0 both minimum and |x| split their kink's slope, and the sum is 1/2,
    # the true slope sigmoid(-0).
    return minimum(input, 0.0) - log1p(exp(-elementwise.abs(input)))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between (slope 0 at +-3).

    Example:
        >>> F.hardsigmoid(ember.tensor([-4.0, 0.0, 4.0]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    input = _floating("hardsigmoid", input)
    return _returned(input, relu6(input + 3) / 6, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * hardsigmoid(x) (Howard et al., 2019).

    Example:
        >>> F.hardswish(ember.tensor([-4.0, 1.0, 4.0]))
        tensor([-0.0000,  0.6667,  4.0000])
    """
    input = _floating("hardswish", input)
    return _returned(input, input * hardsigmoid(input), inplace)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: a * sigmoid(b), where a and b are the two halves of the input
    along `dim` (Dauphin et al., 2017).

    Shape: (*, 2n, *) -> (*, n, *).

    Example:
        >>> F.glu(ember.randn(4, 6)).shape
        (4, 3)
    """
    input = _floating("glu", input)
    if input.ndim == 0:
        raise ShapeError("glu: does not take a 0-d tensor (it halves a dimension)")
    axis = normalize_dim("glu", dim, input.ndim)
    if input.shape[axis] % 2:
        raise ShapeError(f"glu: halving dimension must be even, but dimension {dim} is size "
                         f"{input.shape[axis]} (input shape {tuple(input.shape)})")
    first_half, second_half = chunk(input, 2, axis)
    return first_half * sigmoid(second_half)


# --- normalised exponentials -----------------------------------------------------------


def _softmax_dim(op: str, input: Tensor, dim, stacklevel: int) -> int:
    """`dim`, or PyTorch's old implicit choice (0 for 0-, 1- and 3-d inputs, else 1)."""
    _check_tensor(op, input)
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel + 1)
    return 0 if input.ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """e^(x_i) / sum_j e^(x_j) along `dim` (finite for logits like +-1000).

    Example:
        >>> F.softmax(ember.tensor([[1.0, 1.0]]), dim=1)
        tensor([[0.5000, 0.5000]])
    """
    dim = _softmax_dim("softmax", input, dim, _stacklevel)
    return softmax_ops.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """x_i - log sum_j e^(x_j) along `dim` (exact for logits like +-1000).

    Example:
        >>> F.log_softmax(ember.tensor([[0.0, 0.0]]), dim=1)
        tensor([[-0.6931, -0.6931]])
    """
    dim = _softmax_dim("log_softmax", input, dim, _stacklevel)
    return softmax_ops.log_softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """softmax(-x) along `dim`: large weights for small values.

    Example:
        >>> F.softmin(ember.tensor([[0.0, 0.0]]), dim=1)
        tensor([[0.5000, 0.5000]])
    """
    dim = _softmax_dim("softmin", input, dim, _stacklevel)
    return softmax_ops.softmax(-input, dim, dtype=dtype)


__all__ = ["celu", "elu", "gelu", "glu", "hardsigmoid", "hardswish", "hardtanh",
           "leaky_relu", "log_softmax", "logsigmoid", "mish", "prelu", "relu", "relu6",
           "selu", "sigmoid", "silu", "softmax", "softmin", "softplus", "softsign", "tanh",
           "threshold"]
