"""Special functions: the error function erf and its complement erfc, in NumPy alone.

Both use W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations
for the error function", Math. Comp. 23 (1969) 631-637; Netlib SPECFUN `calerf`).
"""
from __future__ import annotations

import math

import numpy as np

from ember.autograd.function import Function
from ember.ops.operands import float_operand
from ember.tensor import Tensor

# Cody's coefficients, as published in calerf.
# erf(x) = x P(x^2) / Q(x^2) for |x| <= 0.46875
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
# erfc(y) = e^(-y^2) P(y) / Q(y) for 0.46875 < y <= 4
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
# erfc(y) = e^(-y^2) / y (1/sqrt(pi) + R(1/y^2) / y^2) for y > 4
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)

_SMALL = 0.46875            # below: erf's own series; above: erfc's
_MIDDLE = 4.0               # above: the asymptotic form
# erfc(y) leaves float64's normal range at 26.543 (where Cody stops) and underflows to 0
# past 27.3; between the two it is subnormal, as math.erfc gives it.
_BIG = 27.3
_ONE_OVER_SQRT_PI = 5.6418958354775628695e-1
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


# The rational functions below are evaluated by Horner's rule in place: on large arrays,
# allocating a temporary costs more than the arithmetic done with it.


def _erf_near_zero(x):
    """erf(x) for |x| <= 0.46875."""
    t = x * x
    numerator, denominator = _A[4] * t, t.copy()
    for a, b in zip(_A[:3], _B[:3]):
        numerator += a
        numerator *= t
        denominator += b
        denominator *= t
    numerator += _A[3]
    numerator *= x
    denominator += _B[3]
    numerator /= denominator
    return numerator


def _exp_minus_square(y):
    """e^(-y^2), with y^2 split as h^2 + (y - h)(y + h) where h = y rounded down to a
    multiple of 1/16: h^2 is exact, so the rounding error of y^2 does not get amplified
    by the exponential (Cody's device)."""
    h = y * 16
    np.trunc(h, out=h)
    h /= 16
    remainder = y - h
    remainder *= y + h                      # (y - h)(y + h) = y^2 - h^2, small
    h *= -h
    np.exp(h, out=h)                        # e^(-h^2)
    np.negative(remainder, out=remainder)
    np.exp(remainder, out=remainder)        # e^(-(y^2 - h^2))
    h *= remainder
    return h


def _erfc_middle(y):
    """erfc(y) for 0.46875 <= y <= 4."""
    result = _exp_minus_square(y)       # first, so its temporaries are free again below
    numerator, denominator = _C[8] * y, y.copy()
    for c, d in zip(_C[:7], _D[:7]):
        numerator += c
        numerator *= y
        denominator += d
        denominator *= y
    numerator += _C[7]
    denominator += _D[7]
    numerator /= denominator
    result *= numerator
    return result


def _erfc_tail(y):
    """erfc(y) for 4 < y < 27.3 (the asymptotic expansion in 1/y^2)."""
    t = 1 / (y * y)
    numerator, denominator = _P[5] * t, t.copy()
    for p, q in zip(_P[:4], _Q[:4]):
        numerator += p
        numerator *= t
        denominator += q
        denominator *= t
    series = t * (numerator + _P[4]) / (denominator + _Q[4])
    return _exp_minus_square(y) * (_ONE_OVER_SQRT_PI - series) / y


def _working_copy(x):
    """x as a flat array (a 0-d array would turn into a NumPy scalar, which the in-place
    steps cannot update), in float64 for float64 and in float32 for smaller floats."""
    flat = x.reshape(-1)
    return flat if flat.dtype == np.float64 else flat.astype(np.float32, copy=False)


def _erfc_away_from_zero(y):
    """erfc(y) for y = |x| >= 0.46875 (for smaller y the values are not used). The middle
    formula runs on every element (clipped into its range: one pass, no gathering); the
    tail, rare in practice, only on the elements that reach it. nan stays nan."""
    result = _erfc_middle(np.clip(y, _SMALL, _MIDDLE))
    in_tail = y > _MIDDLE
    if in_tail.any():
        tail = y[in_tail]
        underflows = tail >= _BIG                  # including inf
        result[in_tail] = np.where(underflows, 0, _erfc_tail(np.where(underflows, _MIDDLE,
                                                                        tail)))
    return result


def _erf(x):
    """erf of an array: nan stays nan, +-inf give +-1."""
    work = _working_copy(x)
    y = np.abs(work)
    result = _erfc_away_from_zero(y)
    np.subtract(0.5, result, out=result)
    result += 0.5                                  # 1 - erfc(|x|), in Cody's order
    np.copysign(result, work, out=result)          # erf is odd
    near_zero = y <= _SMALL
    np.copyto(result, _erf_near_zero(np.clip(work, -_SMALL, _SMALL)), where=near_zero)
    return result.reshape(x.shape).astype(x.dtype, copy=False)


def _erfc(x):
    """erfc of an array, with full relative precision in the right tail: nan stays nan,
    +inf gives 0 and -inf 2."""
    work = _working_copy(x)
    y = np.abs(work)
    result = _erfc_away_from_zero(y)
    result = np.where(work < 0, 2 - result, result)      # erfc(-y) = 2 - erfc(y)
    near_zero = y <= _SMALL
    np.copyto(result, 1 - _erf_near_zero(np.clip(work, -_SMALL, _SMALL)), where=near_zero)
    return result.reshape(x.shape).astype(x.dtype, copy=False)


def _gaussian_slope(x):
    """2/sqrt(pi) e^(-x^2): the derivative of erf (0 at +-inf, where it underflows)."""
    slope = _exp_minus_square(np.minimum(np.abs(_working_copy(x)), 2 * _BIG))
    slope *= _TWO_OVER_SQRT_PI
    return slope.reshape(x.shape).astype(x.dtype, copy=False)


class Erf(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf(x)

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * _gaussian_slope(x)                 # d erf(x)/dx = 2/sqrt(pi) e^(-x^2)


class Erfc(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erfc(x)

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return -grad * _gaussian_slope(x)                # d erfc(x)/dx = -2/sqrt(pi) e^(-x^2)


def erf(input) -> Tensor:
    """The error function erf(x) = 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt.

    Accurate to about 1e-16 relative in float64 (Cody's approximations); float32 inputs
    are computed and returned in float32, integers become the default float dtype.

    Example:
        >>> ember.erf(ember.tensor([0.0, 1.0, -float("inf")]))
        tensor([ 0.0000,  0.8427, -1.0000])
    """
    return Erf.apply(float_operand(input))


def erfc(input) -> Tensor:
    """The complementary error function erfc(x) = 1 - erf(x), computed directly so that
    it keeps its relative precision in the right tail (erfc(10) = 2.1e-45, where 1 - erf
    would give 0).

    Example:
        >>> ember.erfc(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 0.1573])
    """
    return Erfc.apply(float_operand(input))
