"""The inverses and scaled forms of the error function and the normal distribution, as PyTorch's: `erfinv`
(`mg.erfinv`, `t.erfinv()`, `t.erfinv_()`), and torch.special's `ndtri` (the standard normal quantile),
`log_ndtr` (log of the standard normal CDF, without underflow far left) and `erfcx` (e^(x^2) erfc x).

Each is a primitive with PyTorch's derivative (tools/autograd/derivatives.yaml), computed in float64 (float32
and float16 input: the value rounded to the input's dtype); integers and bools give the default float dtype.
erfinv and ndtri are Math.h's calc_erfinv and calc_ndtri (Cephes), log_ndtr is its calc_log_ndtr; erfcx,
whose PyTorch kernel is a table of a hundred Chebyshev fits, is e^(x^2) erfc x with the square's rounding
error carried (below 10) and the continued fraction of the tail (from 10), to a few ulps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import Tensor, result
from .elementwise import _math_erf, elementwise
from .gamma_functions import _horner, _in_dtype_of
from .in_place import in_place
from .more_elementwise import _math_erfc, _real

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _float64(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _erfinv(y: np.ndarray) -> np.ndarray:
    """erf^-1 of a float64 array as Math.h's calc_erfinv: a rational first guess (|y| <= 0.7, and in
    sqrt(-log((1 - |y|) / 2)) beyond), then two Newton steps x -= (erf x - y) / (2 / sqrt(pi) e^(-x^2))
    with Python's math.erf; +-inf at +-1, NaN beyond."""
    magnitude = np.abs(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        square = y * y
        central = y * _horner((-0.140543331, 0.914624893, -1.645349621, 0.886226899), square) / _horner(
            (0.012229801, -0.329097515, 1.442710462, -2.118377725, 1.0), square)
        z = np.sqrt(-np.log((1 - np.minimum(magnitude, 1)) / 2))
        tail = np.copysign(_horner((1.641345311, 3.429567803, -1.624906493, -1.970840454), z), y) / _horner(
            (1.637067800, 3.543889200, 1.0), z)
        x = np.where(magnitude <= 0.7, central, tail)
        for _ in range(2):
            x = x - (_float64(_math_erf(x)) - y) / (2 / _SQRT_PI * np.exp(-x * x))
    x = np.where(magnitude == 1, np.copysign(np.inf, y), x)
    return np.where(magnitude > 1, np.nan, x)


def _exp_square(x: np.ndarray) -> np.ndarray:
    """e^(x^2) without x^2's rounding error (x^2 = hi^2 + the rest, hi^2 exact: Veltkamp's split of x)."""
    scaled = 134217729.0 * x                        # (2^27 + 1) x
    high = scaled - (scaled - x)
    low = x - high
    return np.exp(high * high) * np.exp(low * (high + x))


def _erfcx(x: np.ndarray) -> np.ndarray:
    """e^(x^2) erfc x of a float64 array: below 10 the product (Python's math.erfc, e^(x^2) by
    `_exp_square`; +inf from x < -26.6, where e^(x^2) overflows, as PyTorch's); from 10 the continued
    fraction 1 / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))) to 40 levels."""
    below = x < 10
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        near = np.where(below, np.maximum(x, -27.0), 0.0)
        product = np.where(x < -27.0, np.inf, _exp_square(near) * _float64(_math_erfc(near)))
        far = np.where(below, 10.0, x)
        denominator = far
        for k in range(40, 0, -1):
            denominator = far + (k / 2) / denominator
        fraction = 1 / _SQRT_PI / denominator
    return np.where(below, product, fraction)


def _ndtri(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile of a float64 array as Math.h's calc_ndtri (Cephes): a rational function
    of p - 1/2 in the centre, of 1 / sqrt(-2 log p) in the tails (p or 1 - p below e^-2); -inf at 0, +inf
    at 1, NaN outside [0, 1]."""
    upper = p > 1 - 0.13533528323661269189
    tail_p = np.where(upper, 1 - p, p)
    central = tail_p > 0.13533528323661269189
    with np.errstate(divide="ignore", invalid="ignore"):
        shifted = tail_p - 0.5
        square = shifted * shifted
        middle = (shifted + shifted * (square * _horner(_P0, square) / _horner(_Q0, square))) * _SQRT_2PI
        root = np.sqrt(-2.0 * np.log(tail_p))
        inverse = 1 / root
        correction = np.where(root < 8.0, inverse * _horner(_P1, inverse) / _horner(_Q1, inverse),
                              inverse * _horner(_P2, inverse) / _horner(_Q2, inverse))
        tail = root - np.log(root) / root - correction
    x = np.where(central, middle, np.where(upper, tail, -tail))
    x = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, x))
    return np.where((p < 0) | (p > 1), np.nan, x)


# Cephes' ndtri coefficients (Math.h): the centre, z = sqrt(-2 log p) in [2, 8), and z in [8, 64)
_P0 = (-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1, 1.39312609387279679503E1,
       -1.23916583867381258016E0)
_Q0 = (1.0, 1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
       -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1, 1.59056225126211695515E1,
       -1.18331621121330003142E0)
_P1 = (4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1, 4.40805073893200834700E1,
       1.46849561928858024014E1, 2.18663306850790267539E0, -1.40256079171354495875E-1, -3.50424626827848203418E-2,
       -8.57456785154685413611E-4)
_Q1 = (1.0, 1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1, 1.50425385692907503408E1,
       2.50464946208309415979E0, -1.42182922854787788574E-1, -3.80806407691578277194E-2, -9.33259480895457427372E-4)
_P2 = (3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0, 1.33303460815807542389E0,
       2.01485389549179081538E-1, 1.23716634817820021358E-2, 3.01581553508235416007E-4, 2.65806974686737550832E-6,
       6.23974539184983293730E-9)
_Q2 = (1.0, 6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0, 2.16236993594496635890E-1,
       1.34204006088543189037E-2, 3.28014464682127739104E-4, 2.89247864745380683936E-6, 6.79019408009981274425E-9)


def _log_ndtr(x: np.ndarray) -> np.ndarray:
    """log Phi(x) of a float64 array as Math.h's calc_log_ndtr: with t = x / sqrt 2, log(erfcx(-t) / 2) - t^2
    for x < -1 (no underflow), log1p(-erfc(t) / 2) otherwise."""
    t = x * math.sqrt(0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.log(_erfcx(-np.where(x < -1, t, -1.0)) / 2) - t * t
        right = np.log1p(-_float64(_math_erfc(np.where(x < -1, 0.0, t))) / 2)
    return np.where(x < -1, left, right)


def erfinv(input: Any) -> Tensor:
    """The inverse error function, erf(erfinv(y)) = y, as torch.erfinv (+-inf at +-1, NaN outside [-1, 1]):
    PyTorch's calc_erfinv, within about 1e-15 relative of the exact inverse in float64 (its two Newton steps
    use Python's math.erf);   d erfinv(y)/dy = sqrt(pi) / 2 e^(erfinv(y)^2)"""
    x, X = _real("erfinv", input)
    y = _in_dtype_of(X, _erfinv(X.astype(np.float64)))
    return result("erfinv", y, (x,), ERFINV, (y,))


ERFINV = elementwise(lambda g, y: g * (_SQRT_PI / 2) * np.exp(y * y))


def ndtri(input: Any) -> Tensor:
    """The standard normal quantile, ndtr(ndtri(p)) = p, as torch.special.ndtri (-inf at 0, +inf at 1, NaN
    outside [0, 1]);   d ndtri(p)/dp = sqrt(2 pi) e^(ndtri(p)^2 / 2)"""
    x, X = _real("ndtri", input)
    y = _in_dtype_of(X, _ndtri(X.astype(np.float64)))
    return result("ndtri", y, (x,), NDTRI, (y,))


NDTRI = elementwise(lambda g, y: g * _SQRT_2PI * np.exp(y * y / 2))


def log_ndtr(input: Any) -> Tensor:
    """log of the standard normal CDF, as torch.special.log_ndtr (about -x^2/2 - log(-x sqrt(2 pi)) far left,
    where ndtr underflows);   d log_ndtr(x)/dx = e^(-x^2/2) / sqrt(2 pi) / ndtr(x)
    = e^(-(log_ndtr(x) + x^2/2)) / sqrt(2 pi) (PyTorch's form: no underflow)"""
    x, X = _real("log_ndtr", input)
    y = _in_dtype_of(X, _log_ndtr(X.astype(np.float64)))
    return result("log_ndtr", y, (x,), LOG_NDTR, ((X, y),))


def _d_log_ndtr(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, y = kept
    return g * np.exp(-(y + x * x / 2)) / _SQRT_2PI


LOG_NDTR = elementwise(_d_log_ndtr)


def erfcx(input: Any) -> Tensor:
    """The scaled complementary error function e^(x^2) erfc(x), as torch.special.erfcx (about 1 / (x sqrt pi)
    for large x, where erfc underflows; +inf below about -26.6);   d erfcx(x)/dx = 2 x erfcx(x) - 2 / sqrt(pi)"""
    x, X = _real("erfcx", input)
    y = _in_dtype_of(X, _erfcx(X.astype(np.float64)))
    return result("erfcx", y, (x,), ERFCX, ((X, y),))


def _d_erfcx(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, y = kept
    return g * (2 * x * y - 2 / _SQRT_PI)


ERFCX = elementwise(_d_erfcx)

Tensor.erfinv, Tensor.erfinv_ = erfinv, in_place("erfinv_", erfinv)
