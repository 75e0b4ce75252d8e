"""The gamma family, each `mg.X(...)` and `t.X(...)` (and `t.X_(...)` in place), as PyTorch's: `lgamma`
(log |Gamma(x)|), `digamma` (psi = d lgamma/dx), `polygamma(n, x)` (the n-th derivative of digamma) and
the composite `mvlgamma(x, p)` (the log of the multivariate gamma function).

Their derivatives are each other: d lgamma/dx = digamma, d digamma/dx = polygamma(1, x), d polygamma(n, x)/dx
= polygamma(n + 1, x) (PyTorch's tools/autograd/derivatives.yaml). numpy has none of them, so the values
are computed here in float64 (float32 and float16 input: then rounded to the input's dtype), by the methods
of PyTorch's aten/src/ATen/native/Math.h: Boost's Lanczos approximation (PyTorch's lanczos_sum_expg_scaled
coefficients) for lgamma, Cephes' recurrence and asymptotic series for digamma (calc_digamma), the series
and Cephes' Hurwitz zeta for n >= 1 (calc_polygamma, zeta; PyTorch's kernel has a shorter series for n = 1,
accurate to about 1e-9 only). Integers and
bools give the default float dtype; complex input is a TypeError.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

import numpy as np

from ..tensor import Tensor, result
from . import elementwise as ew
from .elementwise import elementwise
from .in_place import in_place
from .more_elementwise import _real
from .reduce import sum as _sum
from .shape import reshape

# Boost's lanczos13m53 (Math.h's lanczos_sum_expg_scaled): Gamma(z) = L(z) ((z + g - 1/2) / e)^(z - 1/2),
# L(z) = N(z) / (z (z + 1) ... (z + 11)); both polynomials' coefficients from the highest power down
_LANCZOS_G = 6.024680040776729583740234375
_LANCZOS_NUM = (0.006061842346248906525783753964555936883222, 0.5098416655656676188125178644804694509993,
                19.51992788247617482847860966235652136208, 449.9445569063168119446858607650988409623,
                6955.999602515376140356310115515198987526, 75999.29304014542649875303443598909137092,
                601859.6171681098786670226533699352302507, 3481712.15498064590882071018964774556468,
                14605578.08768506808414169982791359218571, 43338889.32467613834773723740590533316085,
                86363131.28813859145546927288977868422342, 103794043.1163445451906271053616070238554,
                56906521.91347156388090791033559122686859)
_LANCZOS_DENOM = (1.0, 66.0, 1925.0, 32670.0, 357423.0, 2637558.0, 13339535.0, 45995730.0, 105258076.0,
                  150917976.0, 120543840.0, 39916800.0, 0.0)
# Cephes' digamma: its value at 10 and the asymptotic series in 1 / x^2 (Bernoulli numbers B_2k / 2k)
_PSI_10 = 2.25175258906672110764
_DIGAMMA_SERIES = (8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
                   -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
                   8.33333333333333333333E-2)
# Cephes' zeta: the Euler-Maclaurin denominators (2k)! / B_2k, and its tolerance
_ZETA_TERMS = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
               -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
               1.8152105401943546773e17, -7.1661652561756670113e18)
_MACHEP = 1.11022302462515654042E-16


def _horner(coefficients: tuple, x: np.ndarray) -> np.ndarray:
    """The polynomial with these coefficients, highest power first, at x (Cephes' polevl)."""
    total = np.full_like(x, coefficients[0])
    for c in coefficients[1:]:
        total = total * x + c
    return total


def _lanczos_lgamma(z: np.ndarray) -> np.ndarray:
    """log Gamma(z) for z >= 1/2: log L(z) + (z - 1/2) (log(z + g - 1/2) - 1). Past z = 1 the ratio is
    taken in 1 / z (both polynomials reversed), as Math.h's ratevl, so large z does not overflow."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inverse = 1 / z
        ratio = np.where(z <= 1, _horner(_LANCZOS_NUM, z) / _horner(_LANCZOS_DENOM, z),
                         _horner(_LANCZOS_NUM[::-1], inverse) / _horner(_LANCZOS_DENOM[::-1], inverse))
        return np.log(ratio) + (z - 0.5) * (np.log(z + _LANCZOS_G - 0.5) - 1)


def _lgamma(x: np.ndarray) -> np.ndarray:
    """log |Gamma(x)| of a float64 array: Lanczos for x >= 1/2; lgamma(x + 1) - log |x| for |x| < 1/2 (no
    loss near 0); the reflection log(pi / |sin(pi x)|) - lgamma(1 - x) for x <= -1/2 (sin of x's distance to
    the nearest integer); +inf at the poles 0, -1, -2, ... and at -inf, as C's lgamma (PyTorch's)."""
    pole = (x <= 0) & (x == np.floor(x))
    small, negative = (np.abs(x) < 0.5) & ~pole, (x <= -0.5) & ~pole
    large = ~(pole | small | negative)              # (x >= 1/2, +inf and NaN)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fraction = x - np.round(x)                  # (in [-1/2, 1/2]: sin(pi x) exact to the last bits near poles)
        reflected = np.log(np.pi / np.abs(np.sin(np.pi * fraction))) - _lanczos_lgamma(np.where(negative, 1 - x, 1))
        shifted = _lanczos_lgamma(np.where(small, x + 1, 1)) - np.log(np.abs(x))
    y = np.where(negative, reflected, np.where(small, shifted, _lanczos_lgamma(np.where(large, x, 1))))
    near_one, near_two = np.abs(x - 1) <= _NEAR_ZERO, np.abs(x - 2) <= _NEAR_ZERO
    if near_one.any() or near_two.any():                # (lgamma's zeros: exact there, as C's lgamma)
        z = np.where(near_one, x - 1, np.where(near_two, x - 2, 0))
        series = _lgamma_1p(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(near_one, series, np.where(near_two, series + np.log1p(z), y))
    return np.where(pole, np.inf, y)


def _lgamma_1p(z: np.ndarray) -> np.ndarray:
    """lgamma(1 + z) for |z| <= _NEAR_ZERO by its Taylor series -euler z + sum_k (-1)^k zeta(k) z^k / k,
    so lgamma has a small relative error near its zeros at 1 and 2 (Lanczos' absolute error there is
    about 1e-16), and is exactly 0 at them."""
    return z * _horner(_lgamma_1p_coefficients()[::-1], z) + 0.0      # (+ 0.0: lgamma(1) is +0, not -0)


def _digamma(x: np.ndarray) -> np.ndarray:
    """psi(x) of a float64 array as Math.h's calc_digamma: -inf at +0 and +inf at -0, NaN at negative
    integers (and -inf); for x < 0 the reflection psi(1 - x) - pi / tan(pi r), r = x - round(x) (PyTorch's r
    is x - trunc(x), the same tangent, less exact near the poles); for x > 0 the recurrence
    psi(x) = psi(x + 1) - 1/x up to x >= 10, then psi(10) exactly or log x - 1/(2x) - sum B_2k / (2k x^2k)."""
    negative = x < 0
    pole = negative & (x == np.trunc(x))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):     # (z * z past 1e154)
        z = np.where(negative, 1 - x, x)
        total = np.zeros_like(z)
        for _ in range(10):                         # (x in (0, 1) reaches 10 in ten steps)
            below = z < 10
            total = total - np.where(below, 1 / z, 0)
            z = np.where(below, z + 1, z)
        inverse_square = 1 / (z * z)
        tail = np.where(z < 1e17, inverse_square * _horner(_DIGAMMA_SERIES, inverse_square), 0)
        y = total + np.where(z == 10, _PSI_10, np.log(z) - 0.5 / z - tail)
        y = np.where(negative, y - np.pi / np.tan(np.pi * (x - np.round(x))), y)     # (tan has period pi)
    y = np.where(x == 0, np.copysign(np.inf, -x), y)
    return np.where(pole, np.nan, y)


def _zeta(s: float, q: np.ndarray) -> np.ndarray:
    """The Hurwitz zeta function sum_k (q + k)^-s for an integer s >= 2, as Cephes' zeta (Math.h): +inf at
    q = 0, -1, -2, ...; the sum's terms up to q + k > 9 (at least nine), then Euler-Maclaurin's tail."""
    out = np.where((q <= 0) & (q == np.floor(q)), np.inf, np.nan)
    active = ~((q <= 0) & (q == np.floor(q)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        total, a, b, steps = q ** -s, q.copy(), np.zeros_like(q), 0
        while True:
            going = active & ((steps < 9) | (a <= 9))
            if not going.any():
                break
            steps += 1
            a = np.where(going, a + 1, a)
            b = np.where(going, a ** -s, b)
            total = np.where(going, total + b, total)
            done = going & (-_MACHEP * total < b) & (b < _MACHEP * total)
            out, active = np.where(done, total, out), active & ~done
        w = a
        total = total + w ** (1 - s) / (s - 1) - 0.5 * b     # (not b w: b = w^-s underflows first)
        factor, k = 1.0, 0.0
        for term in _ZETA_TERMS:
            factor *= s + k
            b = b / w
            t = factor * b / term
            total = total + t
            done = active & (np.abs(t / total) < _MACHEP)
            out, active = np.where(done, total, out), active & ~done
            k += 1
            factor *= s + k
            b = b / w
            k += 1
    return np.where(active, total, out)


_NEAR_ZERO = 0.25


@functools.cache
def _lgamma_1p_coefficients() -> tuple:
    """lgamma(1 + z) = z (c_1 + c_2 z + ...): c_1 = -euler, c_k = (-1)^k zeta(k) / k (|z| <= 1/4: 28 terms),
    computed on first use (5 ms: not at import)."""
    return (-0.57721566490153286061,) + tuple((-1) ** k * float(_zeta(k, np.array([1.0]))[0]) / k
                                              for k in range(2, 30))


def _polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """psi^(n)(x) of a float64 array: digamma for n = 0, else (-1)^(n + 1) n! zeta(n + 1, x), as PyTorch's
    calc_polygamma (n! as exp(lgamma(n + 1))); PyTorch's kernel takes its short `trigamma` series for n = 1
    (about 1e-9 relative), here the zeta sum too (about 1e-15)."""
    if n == 0:
        return _digamma(x)
    with np.errstate(over="ignore"):
        factorial = np.exp(np.float64(math.lgamma(n + 1)))
    return (1.0 if n % 2 else -1.0) * factorial * _zeta(n + 1.0, x)


def _in_dtype_of(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values (computed in float64) in x's floating dtype (float32 and float16: rounded once)."""
    return values.astype(x.dtype, copy=False)


def lgamma(input: Any) -> Tensor:
    """log |Gamma(x)|, as torch.lgamma (+inf at 0, -1, -2, ... and at +-inf);   d lgamma(x)/dx = digamma(x)

    Accurate to a few ulps in float64; exactly 0 at 1 and 2, with a small relative error beside them (a
    Taylor series in x - 1 there, as C's lgamma)."""
    x, X = _real("lgamma", input)
    return result("lgamma", _in_dtype_of(X, _lgamma(X.astype(np.float64))), (x,), LGAMMA, (X,))


LGAMMA = elementwise(lambda g, x: g * _in_dtype_of(x, _digamma(x.astype(np.float64))))


def digamma(input: Any) -> Tensor:
    """psi(x) = d log Gamma(x)/dx, as torch.digamma (-inf at +0, +inf at -0, NaN at -1, -2, ...);
    d psi(x)/dx = polygamma(1, x)"""
    x, X = _real("digamma", input)
    return result("digamma", _in_dtype_of(X, _digamma(X.astype(np.float64))), (x,), DIGAMMA, (X,))


DIGAMMA = elementwise(lambda g, x: g * _in_dtype_of(x, _polygamma(1, x.astype(np.float64))))


def polygamma(n: int, input: Any) -> Tensor:
    """psi^(n)(x), the n-th derivative of digamma, as torch.polygamma(n, input): n = 0 is digamma, and for
    n >= 1 psi^(n)(x) = (-1)^(n+1) n! sum_k 1 / (x + k)^(n+1);   d psi^(n)(x)/dx = psi^(n+1)(x)"""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"polygamma: n must be an integer, got {type(n).__name__} {n!r}")
    if n < 0:
        raise ValueError(f"polygamma: n must be >= 0 (PyTorch's polygamma(n, x) does not support negative n), "
                         f"got {n}")
    x, X = _real("polygamma", input)
    return result("polygamma", _in_dtype_of(X, _polygamma(int(n), X.astype(np.float64))), (x,), POLYGAMMA,
                  ((X, int(n)),))


def _d_polygamma(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, n = kept
    return g * _in_dtype_of(x, _polygamma(n + 1, x.astype(np.float64)))


POLYGAMMA = elementwise(_d_polygamma)


def mvlgamma(input: Any, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension p, as torch.mvlgamma (torch.special's
    multigammaln): p (p - 1) / 4 log(pi) + sum_{i=0}^{p-1} lgamma(x - i/2), a composite of `lgamma`, so
    d/dx = sum_i digamma(x - i/2). Every entry must exceed (p - 1) / 2 (PyTorch's check: a ValueError)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Integral):
        raise TypeError(f"mvlgamma: p must be an integer, got {type(p).__name__} {p!r}")
    if p < 1:
        raise ValueError(f"mvlgamma: p has to be greater than or equal to 1, got {p}")
    x, X = _real("mvlgamma", input)
    if x.dtype.kind == "b":
        raise TypeError("mvlgamma: the input tensor may not be a boolean tensor, as PyTorch's")
    if not np.all(X > (p - 1) / 2):
        raise ValueError(f"mvlgamma: all elements must be greater than (p - 1) / 2 = {(p - 1) / 2}, got "
                         f"{np.min(X)} as the smallest")
    offsets = -np.arange(p, dtype=X.dtype) / 2                        # 0, -1/2, ..., -(p - 1)/2
    terms = lgamma(ew.add(reshape(x, *x.shape, 1), offsets))
    return ew.add(_sum(terms, -1), p * (p - 1) / 4 * math.log(math.pi))


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    """`t.polygamma(n)`: `mg.polygamma(n, t)`, as torch.Tensor.polygamma (n first in the function, the
    tensor first in the method)."""
    return polygamma(n, self)


Tensor.lgamma, Tensor.digamma, Tensor.polygamma, Tensor.mvlgamma = lgamma, digamma, _polygamma_method, mvlgamma
for _name, _op in (("lgamma_", lgamma), ("digamma_", digamma), ("polygamma_", _polygamma_method),
                   ("mvlgamma_", mvlgamma)):
    setattr(Tensor, _name, in_place(_name, _op))
