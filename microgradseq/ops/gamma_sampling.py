"""`standard_gamma(concentration, generator)`: draws of Gamma(alpha, 1), one per entry of alpha, with PyTorch's
implicit reparameterisation gradient (torch._standard_gamma, aten/src/ATen/native/Distributions.h). A draw x
is a function of alpha through its uniform u = F(x; alpha) held fixed, so

    dx/dalpha = -(dF(x; alpha)/dalpha) / p(x; alpha)

(F the regularised lower incomplete gamma function, p the density). `_gamma_grad` is Distributions.h's
standard_gamma_grad_one: a Taylor series in x for x < 0.8, Rice's saddle point expansion for alpha > 8, a
bivariate rational approximation in log(x / alpha) and log(alpha) elsewhere. The value comes from numpy's
standard_gamma; the rule is elementwise, so it is both the reverse-mode (VJP) and the forward-mode (JVP) one.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, result
from .elementwise import elementwise
from .gamma_functions import _digamma, _in_dtype_of

# Distributions.h's coef_uv: p / q with coefficients in v = log(alpha), each a quadratic in u = log(x / alpha)
_COEF_UV = np.array([[0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084],
                     [0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915,
                      -0.00058392623],
                     [0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326,
                      0.00085092367, -1.5247877e-07]])


def _small_x(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x < 0.8: F(x) ~ x^alpha sum_i (-x)^i / (i! (alpha + i)) (six terms), differentiated in alpha; 0 for NaN."""
    numer, denom = np.ones_like(x), alpha.copy()
    series1, series2 = numer / denom, numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * -x / i
        denom = denom + 1
        series1, series2 = series1 + numer / denom, series2 + numer / (denom * denom)
    pow_x_alpha = x ** alpha
    gamma_pdf = x ** (alpha - 1) * np.exp(-x)
    gamma_cdf_alpha = (np.log(x) - _digamma(alpha)) * pow_x_alpha * series1 - pow_x_alpha * series2
    out = -gamma_cdf_alpha / gamma_pdf
    return np.where(np.isnan(out), 0.0, out)


def _large_alpha(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """alpha > 8: Rice's saddle point expansion (its polynomial within 10% of alpha, where it is singular)."""
    numer_1 = 1 + 24 * alpha * (1 + 12 * alpha)
    numer_2 = 1440 * alpha ** 2 + 6 * x * (53 - 120 * x) - 65 * x * x / alpha + alpha * (107 + 3600 * x)
    near = numer_1 * numer_2 / (1244160 * alpha ** 4)
    denom = np.sqrt(8 * alpha)
    term2 = denom / (alpha - x)
    term3 = (x - alpha - alpha * np.log(x / alpha)) ** -1.5
    term23 = np.where(x < alpha, term2 - term3, term2 + term3)
    term1 = np.log(x / alpha) * term23 - np.sqrt(2 / alpha) * (alpha + x) / ((alpha - x) * (alpha - x))
    stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
    far = -stirling * x * term1 / denom
    return np.where((0.9 * alpha <= x) & (x <= 1.1 * alpha), near, far)


def _rational(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Elsewhere: exp(p(u, v) / q(u, v)), u = log(x / alpha), v = log(alpha)."""
    u, v = np.log(x / alpha), np.log(alpha)
    c = [_COEF_UV[0, i] + u * (_COEF_UV[1, i] + u * _COEF_UV[2, i]) for i in range(8)]
    p = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
    q = c[4] + v * (c[5] + v * (c[6] + v * c[7]))
    return np.exp(p / q)


def _gamma_grad(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx/dalpha at draws x of Gamma(alpha, 1), in float64 (standard_gamma_grad_one, entry by entry)."""
    alpha, x = np.broadcast_arrays(alpha.astype(np.float64), x.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        small = _small_x(alpha, np.where(x < 0.8, x, 0.5))
        large = _large_alpha(np.where(alpha > 8, alpha, 9.0), x)
        other = _rational(alpha, x)
    return np.where(x < 0.8, small, np.where(alpha > 8, large, other))


def standard_gamma(concentration: Tensor, generator: np.random.Generator) -> Tensor:
    """x ~ Gamma(alpha, 1) of alpha's shape and float dtype (numpy's standard_gamma from `generator`, at least
    the dtype's tiny), as PyTorch's torch._standard_gamma;
    dx/dalpha = -(dF(x; alpha)/dalpha) / p(x; alpha)   (implicit reparameterisation)"""
    alpha = concentration._data
    x = _in_dtype_of(alpha, np.asarray(generator.standard_gamma(alpha.astype(np.float64))))
    x = np.maximum(x, np.finfo(x.dtype).tiny)       # (PyTorch clamps its draws to tiny: no log of 0)
    return result("standard_gamma", x, (concentration,), STANDARD_GAMMA, ((alpha, x),))


STANDARD_GAMMA = elementwise(lambda g, kept: g * _in_dtype_of(kept[0], _gamma_grad(*kept)))
