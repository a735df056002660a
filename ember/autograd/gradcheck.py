"""Gradient checking: compare autograd's gradient with float64 central differences.

The outputs are first reduced to one number with fixed random weights, L = sum_k w_k y_k,
so one backward gives dL/dx for every input. Small inputs are then checked element by
element, (L(x + h e_i) - L(x - h e_i)) / 2h; large ones along a few random directions u,
(L(x + h u) - L(x - h u)) / 2h against <dL/dx, u>.
"""
from __future__ import annotations

import warnings

import numpy as np

from ember.autograd.api import grad
from ember.grad_mode import no_grad
from ember.tensor import Tensor

ELEMENTWISE_LIMIT = 256     # inputs with more elements are checked along random directions
DIRECTIONS = 8


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with the numerical one."""


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, seed: int = 0) -> bool:
    """Check the gradients of `fn` at `inputs` against central differences.

    Args:
        fn: takes the inputs, returns a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of them (and other arguments); those that require grad
            are checked. Use float64: float32 differences are too coarse.
        eps: the step h of the central differences.
        atol, rtol: an element passes when |analytic - numerical| <= atol + rtol |numerical|.

    Returns True, or raises GradcheckError naming the input, the worst element and both
    values (returns False instead when raise_exception is False).

    Example:
        >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
        >>> ember.autograd.gradcheck(ember.tanh, (x,))
        True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype.name != "float64":
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}, not float64; central "
                          "differences in lower precision are unreliable", stacklevel=2)
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(y.shape) for y in _outputs(fn(*inputs))]

    def objective(arrays) -> float:
        """L at inputs whose checked arrays are replaced by `arrays`, without recording."""
        args = list(inputs)
        for i, array in zip(checked, arrays):
            args[i] = Tensor._make(array)
        with no_grad():
            ys = _outputs(fn(*args))
        return float(sum(np.sum(y._data.astype(np.float64) * w) for y, w in zip(ys, weights)))

    ys = _outputs(fn(*inputs))
    total = sum((y * Tensor._make(w.astype(y._data.dtype))).sum()
                for y, w in zip(ys, weights) if y.requires_grad)
    if not isinstance(total, Tensor):
        raise ValueError("gradcheck: no output depends on an input that requires grad")
    analytic = grad(total, [inputs[i] for i in checked], allow_unused=True)
    base = [inputs[i]._data.copy() for i in checked]
    for k, i in enumerate(checked):
        expected = np.zeros(base[k].shape) if analytic[k] is None else analytic[k]._data

        def along(direction, k=k):
            plus, minus = list(base), list(base)
            plus[k] = base[k] + eps * direction
            minus[k] = base[k] - eps * direction
            return (objective(plus) - objective(minus)) / (2 * eps)

        failure = _compare(i, base[k], expected, along, atol, rtol, rng)
        if failure:
            if raise_exception:
                raise GradcheckError(failure)
            return False
    return True


def _outputs(result) -> tuple:
    return (result,) if isinstance(result, Tensor) else tuple(result)


def _compare(index, x, expected, along, atol, rtol, rng) -> str | None:
    """Return a description of the worst disagreement, or None if all agree."""
    if x.size > ELEMENTWISE_LIMIT:
        for _ in range(DIRECTIONS):
            direction = rng.standard_normal(x.shape).astype(x.dtype)
            numerical = along(direction)
            analytic = float(np.sum(expected.astype(np.float64) * direction))
            if abs(analytic - numerical) > atol + rtol * abs(numerical):
                break  # locate the worst element below
        else:
            return None
    numerical = np.zeros(x.shape)
    for position in np.ndindex(x.shape):
        unit = np.zeros(x.shape, dtype=x.dtype)
        unit[position] = 1
        numerical[position] = along(unit)
    analytic = expected.astype(np.float64)
    excess = np.abs(analytic - numerical) - (atol + rtol * np.abs(numerical))
    if x.size == 0 or excess.max() <= 0:
        return None
    worst = np.unravel_index(np.argmax(excess), x.shape)
    return (f"gradcheck: the gradient of input {index} (shape {x.shape}) is wrong at element "
            f"{tuple(int(p) for p in worst)}: analytic {analytic[worst]:.10g} vs numerical "
            f"{numerical[worst]:.10g} (atol {atol}, rtol {rtol})")
