"""Functional forms of the basic layers: linear, ..."""
from __future__ import annotations

from ember.errors import DTypeError, ShapeError
from ember.ops.linear import Linear
from ember.tensor import Tensor


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, over the last dimension of x.

    Shape: input (*, in_features), weight (out_features, in_features), bias
    (out_features,) -> output (*, out_features).
    """
    x, w = input._data, weight._data               # checked on the arrays: this runs a lot
    if x.ndim == 0 or x.shape[-1] != w.shape[-1]:
        features = x.shape[-1] if x.ndim else "no"
        raise ShapeError(f"linear: input has {features} features (shape {tuple(x.shape)}) "
                         f"but weight expects {w.shape[-1]} (weight shape {tuple(w.shape)})")
    if x.dtype != w.dtype:
        raise DTypeError(f"linear: the input is {input.dtype} but the weight is {weight.dtype}; "
                         f"convert the input (x.to({weight.dtype})) or the model "
                         f"(model.to({input.dtype}))")
    if w.ndim == 2 and (bias is None or (bias._data.shape == w.shape[:1]
                                         and bias._data.dtype == w.dtype)):
        return Linear.apply(input, weight, bias)       # one fused node
    output = input @ weight.T
    return output if bias is None else output + bias
