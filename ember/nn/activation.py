"""Activation layers: thin Modules over `ember.nn.functional`'s activations, with PyTorch's
names, arguments and reprs, and PReLU (a learned slope). Maxout lives in `maxout.py`.

Every layer maps an input of any shape (*) to an output of the same shape, except GLU
(which halves `dim`). `inplace=True` is accepted where PyTorch accepts it; see
`ember.nn.functional.activations` for what it does.
"""
from __future__ import annotations

from ember.creation import empty
from ember.nn import init
from ember.nn.functional import activations
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor


def _inplace_suffix(inplace: bool) -> str:
    return ", inplace=True" if inplace else ""


class _InplaceActivation(Module):
    """An activation whose only setting is `inplace` (shown in the repr when True)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    """max(0, x), elementwise (slope 0 at 0).

    Example:
        >>> ember.nn.ReLU()(ember.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return activations.relu(input, self.inplace)


class Hardtanh(Module):
    """x clipped to [min_val, max_val] (slope 1 strictly inside, 0 elsewhere).

    Args:
        min_val, max_val: the bounds (default -1 and 1).

    Example:
        >>> ember.nn.Hardtanh(-2.0, 2.0)(ember.tensor([-3.0, 1.0]))
        tensor([-2.,  1.])
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0,
                 inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than "
                             f"max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return activations.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_suffix(self.inplace)}"


class ReLU6(Hardtanh):
    """min(max(0, x), 6): Hardtanh(0, 6), as in PyTorch.

    Example:
        >>> ember.nn.ReLU6()(ember.tensor([-1.0, 9.0]))
        tensor([0., 6.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise.

    Args:
        negative_slope: the slope for x <= 0 (default 0.01).

    Example:
        >>> ember.nn.LeakyReLU(0.1)(ember.tensor([-2.0, 3.0]))
        tensor([-0.2000,  3.0000])
    """

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return activations.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_suffix(self.inplace)}"


class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise.

    Args:
        alpha: the value approached as x -> -inf is -alpha (default 1).

    Example:
        >>> ember.nn.ELU()(ember.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return activations.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_suffix(self.inplace)}"


class CELU(Module):
    """max(0, x) + min(0, alpha (e^(x/alpha) - 1)): ELU with a slope of 1 at 0 for any alpha.

    Args:
        alpha: as in ELU (default 1); must not be 0.

    Example:
        >>> ember.nn.CELU(2.0)(ember.tensor([-1.0, 2.0]))
        tensor([-0.7869,  2.0000])
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return activations.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_suffix(self.inplace)}"


class SELU(_InplaceActivation):
    """1.0507 * elu(x, alpha=1.6733): keeps activations near zero mean and unit variance.

    Example:
        >>> ember.nn.SELU()(ember.tensor([1.0]))
        tensor([1.0507])
    """

    def forward(self, input: Tensor) -> Tensor:
        return activations.selu(input, self.inplace)


class SiLU(_InplaceActivation):
    """x * sigmoid(x) (also called swish).

    Example:
        >>> ember.nn.SiLU()(ember.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7311])
    """

    def forward(self, input: Tensor) -> Tensor:
        return activations.silu(input, self.inplace)


class Mish(_InplaceActivation):
    """x * tanh(softplus(x)).

    Example:
        >>> ember.nn.Mish()(ember.tensor([1.0]))
        tensor([0.8651])
    """

    def forward(self, input: Tensor) -> Tensor:
        return activations.mish(input, self.inplace)


class Hardsigmoid(_InplaceActivation):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between.

    Example:
        >>> ember.nn.Hardsigmoid()(ember.tensor([-4.0, 0.0]))
        tensor([0.0000, 0.5000])
    """

    def forward(self, input: Tensor) -> Tensor:
        return activations.hardsigmoid(input, self.inplace)

    def extra_repr(self) -> str:   # PyTorch shows no settings for this one
        return ""


class Hardswish(_InplaceActivation):
    """x * relu6(x + 3) / 6.

    Example:
        >>> ember.nn.Hardswish()(ember.tensor([1.0, 4.0]))
        tensor([0.6667, 4.0000])
    """

    def forward(self, input: Tensor) -> Tensor:
        return activations.hardswish(input, self.inplace)

    def extra_repr(self) -> str:   # PyTorch shows no settings for this one
        return ""


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF.

    Args:
        approximate: 'none' (exact, with erf) or 'tanh' (the tanh approximation).

    Example:
        >>> ember.nn.GELU()(ember.tensor([-1.0, 1.0]))
        tensor([-0.1587,  0.8413])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got "
                             f"{approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return activations.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + e^(beta x)) / beta, a smooth relu; x itself where beta x > threshold.

    Args:
        beta: the sharpness (default 1).
        threshold: above this, beta x is returned as is (default 20).

    Example:
        >>> ember.nn.Softplus()(ember.tensor([0.0]))
        tensor([0.6931])
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return activations.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Threshold(Module):
    """x where x > threshold, else value.

    Args:
        threshold: values above it pass.
        value: what replaces the others.

    Example:
        >>> ember.nn.Threshold(1.0, -1.0)(ember.tensor([0.5, 2.0]))
        tensor([-1.,  2.])
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return activations.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return (f"threshold={self.threshold}, value={self.value}"
                f"{_inplace_suffix(self.inplace)}")


class Sigmoid(Module):
    """1 / (1 + e^-x). Example: `ember.nn.Sigmoid()(ember.zeros(2))` is [0.5, 0.5]."""

    def forward(self, input: Tensor) -> Tensor:
        return activations.sigmoid(input)


class Tanh(Module):
    """tanh(x). Example: `ember.nn.Tanh()(ember.zeros(2))` is [0., 0.]."""

    def forward(self, input: Tensor) -> Tensor:
        return activations.tanh(input)


class Softsign(Module):
    """x / (1 + |x|). Example: `ember.nn.Softsign()(ember.ones(2))` is [0.5, 0.5]."""

    def forward(self, input: Tensor) -> Tensor:
        return activations.softsign(input)


class LogSigmoid(Module):
    """log sigmoid(x), finite for any x. Example: `ember.nn.LogSigmoid()(ember.zeros(1))`
    is [-0.6931]."""

    def forward(self, input: Tensor) -> Tensor:
        return activations.logsigmoid(input)


class _AlongDim(Module):
    """A normalisation along one dimension `dim` (None: PyTorch's implicit choice, with a
    warning)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """e^(x_i) / sum_j e^(x_j) along `dim`: each slice along it sums to 1.

    Example:
        >>> ember.nn.Softmax(dim=1)(ember.zeros(2, 4)).sum(1)
        tensor([1., 1.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return activations.softmax(input, self.dim, _stacklevel=5)


class LogSoftmax(_AlongDim):
    """x_i - log sum_j e^(x_j) along `dim` (what NLLLoss expects).

    Example:
        >>> ember.nn.LogSoftmax(dim=1)(ember.zeros(1, 2))
        tensor([[-0.6931, -0.6931]])
    """

    def forward(self, input: Tensor) -> Tensor:
        return activations.log_softmax(input, self.dim, _stacklevel=5)


class Softmin(_AlongDim):
    """softmax(-x) along `dim`.

    Example:
        >>> ember.nn.Softmin(dim=0)(ember.tensor([0.0, 0.0]))
        tensor([0.5000, 0.5000])
    """

    def forward(self, input: Tensor) -> Tensor:
        return activations.softmin(input, self.dim, _stacklevel=5)


class GLU(Module):
    """a * sigmoid(b) for the halves a, b of the input along `dim`.

    Shape: (*, 2n, *) -> (*, n, *), halving dimension `dim` (default -1).

    Example:
        >>> ember.nn.GLU()(ember.randn(4, 6)).shape
        (4, 3)
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return activations.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """x for x > 0, a * x otherwise, with the slope a learned (He et al., 2015).

    Args:
        num_parameters: 1 (one slope shared by all channels) or the number of channels
            (dimension 1 of the input).
        init: the initial slope (default 0.25).

    Shape: (N, C, *) -> same shape. The parameter `weight` has shape (num_parameters,).

    Example:
        >>> ember.nn.PReLU(3)(ember.randn(8, 3, 5)).shape
        (8, 3, 5)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(empty(num_parameters, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return activations.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
