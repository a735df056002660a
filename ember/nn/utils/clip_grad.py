"""Gradient clipping: rescale all gradients so that their joint norm stays under a bound
(clip_grad_norm_), or clamp each gradient entry (clip_grad_value_), as in PyTorch."""
from __future__ import annotations

import math
import types
import warnings

from ember.backend import get_array_module
from ember.creation import tensor
from ember.grad_mode import no_grad
from ember.tensor import Tensor


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """The norm of all the tensors together, as if flattened into one vector: the norm of
    the vector of their norms.

    Args:
        tensors: a tensor or an iterable of tensors.
        norm_type: p of the p-norm; float("inf") for the largest magnitude.
        error_if_nonfinite: raise if the norm is nan or inf.

    Returns:
        A 0-d tensor (in the tensors' dtype).

    Example:
        >>> get_total_norm([p.grad for p in model.parameters()])
    """
    arrays = [tensors._data] if isinstance(tensors, Tensor) else [t._data for t in tensors]
    norm_type = float(norm_type)
    if not arrays:
        return tensor(0.0)
    xp = get_array_module(arrays[0])
    norms = xp.stack([_vector_norm(array, norm_type) for array in arrays])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           f"`parameters` is non-finite ({float(total)}), so it cannot be "
                           f"clipped. To disable this error and scale the gradients by the "
                           f"non-finite norm anyway, set `error_if_nonfinite=False`")
    return Tensor._make(total)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor) -> None:
    """Scale the gradients by min(max_norm / (total_norm + 1e-6), 1), in place.

    Args:
        parameters: a tensor or an iterable of tensors whose `.grad` is scaled.
        max_norm: the largest norm allowed.
        total_norm: the gradients' norm (from `get_total_norm`).
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    total = (total_norm if isinstance(total_norm, Tensor) else tensor(total_norm))._data
    xp = get_array_module(total)
    # the 1e-6 keeps a zero norm from dividing by zero; the clamp never scales up
    clip_coef = float(max_norm) / (total + 1e-6)
    clip_coef_clamped = Tensor._make(xp.asarray(xp.minimum(clip_coef, 1.0), dtype=total.dtype))
    with no_grad():
        for grad in grads:
            grad.mul_(clip_coef_clamped)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Rescale the gradients in place so that their total norm (all gradients viewed as one
    vector) is at most max_norm: grad = grad * min(max_norm / (total_norm + 1e-6), 1).

    Args:
        parameters: a tensor or an iterable of tensors (e.g. `model.parameters()`).
        max_norm: the largest total norm allowed.
        norm_type: p of the p-norm; float("inf") for the largest magnitude (default 2).
        error_if_nonfinite: raise if the total norm is nan or inf (default False: then the
            gradients are scaled by the non-finite norm).

    Returns:
        The total norm before clipping, a 0-d tensor.

    Example:
        >>> loss.backward()
        >>> ember.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> optimizer.step()
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will "
                          "occur.", stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total_norm)
    return total_norm


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value], in place.

    Args:
        parameters: a tensor or an iterable of tensors (e.g. `model.parameters()`).
        clip_value: the largest magnitude allowed.

    Example:
        >>> ember.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    with no_grad():
        for param in parameters:
            if param.grad is not None:
                param.grad.clamp_(min=-clip_value, max=clip_value)


def _vector_norm(array, norm_type: float):
    """The p-norm of an array viewed as a vector, as a 0-d array of its dtype."""
    xp = get_array_module(array)
    magnitudes = xp.abs(array).ravel()
    if norm_type == math.inf:
        norm = magnitudes.max()                              # max |x|
    elif norm_type == -math.inf:
        norm = magnitudes.min()                              # min |x|
    elif norm_type == 0:
        norm = xp.count_nonzero(magnitudes)                  # number of non-zeros
    elif norm_type == 2:
        norm = xp.sqrt(xp.sum(magnitudes * magnitudes))      # sqrt(sum x^2)
    else:
        norm = xp.sum(magnitudes ** norm_type) ** (1.0 / norm_type)   # (sum |x|^p)^(1/p)
    return xp.asarray(norm, dtype=array.dtype)
