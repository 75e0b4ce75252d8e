"""PyTorch's covariance and correlation matrices: `mg.cov(input, *, correction=1, fweights=None,
aweights=None)` and `mg.corrcoef(input)` (also `t.cov(...)`, `t.corrcoef()`), the rows of input the
variables and its columns the observations (numpy's `np.cov` and `np.corrcoef`).

With weights w (fweights f, aweights a, or f a when both are given), the weighted means mu_i =
sum_k w_k x_ik / sum_k w_k and

    cov_ij = sum_k w_k (x_ik - mu_i)(x_jk - mu_j) / max(0, sum_k w_k - correction sum_k w_k a_k / sum_k w_k)

(without aweights the divisor is sum w - correction, without weights N - correction): PyTorch's
aten/src/ATen/native/Correlation.cpp. Both are composites of `mul`, `sum`, `sub`, `matmul` and `div`
(corrcoef adds `sqrt` and `clip`), so their gradients, to input and to float aweights, are the chain
rule's.

    mg.cov(returns.T)                       # variables are the columns of `returns`
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..checks import is_int, user_stacklevel
from ..tensor import Tensor, as_tensor
from . import elementwise as ew
from .combining import diagonal
from .linalg import matmul
from .methods import squeeze
from .reduce import sum
from .shape import reshape, transpose


def _weights(name: str, given: Any, observations: int, integral: bool) -> Tensor:
    """fweights (integers) or aweights (floating point): 0-d or 1-d, one per observation, none negative."""
    weights = given if isinstance(given, Tensor) else as_tensor(given, where="cov")
    kind, expected = ("iu", "an integer") if integral else ("f", "a floating-point")
    if weights.ndim > 1 or weights.dtype.kind not in kind or weights.numel() != observations:
        raise ValueError(f"cov: expected {name} of {expected} dtype with at most one axis and one entry per "
                         f"observation ({observations}), got dtype {weights.dtype} and shape {weights.shape}")
    if observations and weights._data.min() < 0:
        raise ValueError(f"cov: {name} cannot be negative, got a minimum of {weights._data.min()}")
    return reshape(weights, (-1,))


def cov(input: Any, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Tensor:
    """The covariance matrix of input's rows (variables) over its columns (observations), as torch.cov
    (numpy's `np.cov(input, ddof=correction, fweights=..., aweights=...)`); a 0-d or 1-d input is one
    variable, and its variance a 0-d tensor. See the module's docstring for the weighted formula."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="cov")
    if x.ndim > 2:
        raise ValueError(f"cov: expected a tensor with at most 2 axes (variables x observations), got shape {x.shape}")
    if x.dtype.kind not in "iuf":
        raise TypeError(f"cov: expected a real tensor (not bool or complex), got dtype {x.dtype}")
    if not is_int(correction):
        raise TypeError(f"cov: correction must be an integer, got {correction!r}")
    rows = reshape(x, (1, -1)) if x.ndim < 2 else x
    count = rows.shape[1]
    weights = None if fweights is None else _weights("fweights", fweights, count, integral=True)
    if aweights is not None:
        importance = _weights("aweights", aweights, count, integral=False)
        weights = importance if weights is None else ew.mul(weights, importance)
    if weights is None:
        mean = ew.div(sum(rows, 1, keepdims=True), count)
        divisor: Any = count - correction
    else:
        total = sum(weights)
        if total._data == 0:
            raise ValueError("cov: the weights sum to zero, so they cannot be normalised")
        mean = ew.div(sum(ew.mul(rows, weights), 1, keepdims=True), total)
        divisor = total
        if correction and aweights is None:
            divisor = ew.sub(total, correction)
        elif correction and fweights is None and count == 1 and correction == 1:
            divisor = 0                 # (PyTorch's corner case: w a / w is a, so w - a is 0 but for rounding)
        elif correction:
            divisor = ew.sub(total, ew.div(ew.mul(sum(ew.mul(weights, importance)), correction), total))
    if (divisor._data if isinstance(divisor, Tensor) else divisor) <= 0:
        warnings.warn("cov: the degrees of freedom are <= 0 (correction should be less than the number of "
                      "observations), as PyTorch warns", UserWarning, stacklevel=user_stacklevel())
        divisor = 0
    if count == 1 and (fweights is None) != (aweights is None):
        centred = ew.mul(ew.sub(rows, mean), 0)     # (PyTorch's corner case: x - mean is 0 but for rounding)
    else:
        centred = ew.sub(rows, mean)
    product = matmul(centred, transpose(centred if weights is None else ew.mul(centred, weights)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return squeeze(ew.div(product, divisor))


def corrcoef(input: Any) -> Tensor:
    """The Pearson correlation matrix of input's rows, as torch.corrcoef (numpy's corrcoef): cov divided
    by the outer product of the standard deviations (its diagonal's square roots), clipped to [-1, 1] as
    PyTorch and numpy do for rounding (`clip`: no gradient where an entry is clipped). Of one variable,
    c / c: 1, or NaN where its variance is 0, NaN or infinite."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="corrcoef")
    if x.ndim > 2:
        raise ValueError(f"corrcoef: expected a tensor with at most 2 axes (variables x observations), got "
                         f"shape {x.shape}")
    covariance = cov(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        if covariance.ndim == 0:
            return ew.div(covariance, covariance)
        deviations = ew.sqrt(diagonal(covariance))
        scaled = ew.div(ew.div(covariance, reshape(deviations, (-1, 1))), reshape(deviations, (1, -1)))
    return ew.clip(scaled, -1, 1)


Tensor.cov, Tensor.corrcoef = cov, corrcoef
