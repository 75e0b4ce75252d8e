"""The dropouts beside `dropout` (layer_functions.py), as PyTorch's: `dropout1d`, `dropout2d` and `dropout3d`
zero whole channels, `alpha_dropout` and `feature_alpha_dropout` keep a standard normal input standard normal (the
companions of SELU). All five are PyTorch's _dropout_impl (aten/src/ATen/native/Dropout.cpp): a 0/1 mask
`keep`, 1 with probability 1 - p, drawn per element or per (sample, channel) (`make_feature_noise`, the
shape (N, C, 1, ..., 1)), then

    dropout:        y = x keep / (1 - p)
    alpha dropout:  y = x keep a + (keep - 1) alpha a + alpha a p,   a = 1 / sqrt((alpha^2 p + 1)(1 - p))

with alpha = 1.7580993408473766, SELU's -scale * alpha (its saturation, where a dropped entry lands
before the affine map); a and the shift are chosen so a mean 0, variance 1 input keeps mean 0 and
variance 1. The mask enters as a constant: d y / d x = keep / (1 - p) or keep a. Masks come from `rng` or
the library's generator (`mg.manual_seed`), as `dropout`'s; while not training, for p = 0 or an empty
input the result is x itself, and p = 1 gives x * 0, as PyTorch's. `inplace` is the activations' (`with_inplace`):
a tensor keeps its value and a numpy array is written into, as PyTorch's in-place forms write into their input."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..checks import flag, probability, user_stacklevel
from ..random import generator_or_default
from ..tensor import Tensor, as_tensor, owned
from .activations import with_inplace

ALPHA = 1.7580993408473766      # Dropout.cpp's alpha: SELU's scale * alpha (1.0507... * 1.6732...)


@with_inplace
def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              rng: np.random.Generator | None = None) -> Tensor:
    """Each channel x[n, c] (all L of its entries) of x (N, C, L), or unbatched (C, L), zeroed with
    probability p and the rest scaled by 1 / (1 - p), while `training`, as PyTorch's F.dropout1d."""
    x = as_tensor(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected an input of 2 axes (C, L) or 3 (N, C, L), got shape {x.shape}")
    if x.ndim == 2:
        return _dropped("dropout1d", x.reshape((1,) + x.shape), p, training, rng, True, False).reshape(x.shape)
    return _dropped("dropout1d", x, p, training, rng, True, False)


@with_inplace
def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              rng: np.random.Generator | None = None) -> Tensor:
    """Each channel x[n, c] (an H x W map) of x (N, C, H, W) zeroed with probability p and the rest scaled by
    1 / (1 - p), while `training`, as PyTorch's F.dropout2d: a 3-d input is read as (N, C, L), with a warning
    (PyTorch's: it is not taken as an unbatched (C, H, W)), and other ranks are dropped per (x[0], x[1])
    pair of indices with a warning (deprecated there)."""
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated (as in PyTorch); "
                      "dropout2d exists for channel-wise dropout on 3-D or 4-D inputs", stacklevel=user_stacklevel())
    elif x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), as PyTorch's; use dropout1d "
                      "for that", stacklevel=user_stacklevel())
    return _dropped("dropout2d", x, p, training, rng, True, False)


@with_inplace
def dropout3d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              rng: np.random.Generator | None = None) -> Tensor:
    """Each channel x[n, c] (a D x H x W volume) of x (N, C, D, H, W), or unbatched (C, D, H, W), zeroed with
    probability p and the rest scaled by 1 / (1 - p), while `training`, as PyTorch's F.dropout3d: other
    ranks are read as unbatched, dropped per x[i] (whole entries along the first axis), with a warning
    (deprecated there)."""
    x = as_tensor(input)
    if x.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {x.ndim}-D input to dropout3d, which is deprecated (as in PyTorch); "
                      "dropout3d exists for channel-wise dropout on 4-D or 5-D inputs", stacklevel=user_stacklevel())
    if x.ndim == 5:
        return _dropped("dropout3d", x, p, training, rng, True, False)
    return _dropped("dropout3d", x.reshape((1,) + x.shape), p, training, rng, True, False).reshape(x.shape)


@with_inplace
def alpha_dropout(input: Any, p: float = 0.5, training: bool = False, inplace: bool = False, *,
                  rng: np.random.Generator | None = None) -> Tensor:
    """Each element dropped with probability p to SELU's saturation, then every element mapped by the
    affine map that keeps mean 0 and variance 1 (the module docstring's formula), while `training`
    (False by default, as PyTorch's F.alpha_dropout)."""
    return _dropped("alpha_dropout", as_tensor(input), p, training, rng, False, True)


@with_inplace
def feature_alpha_dropout(input: Any, p: float = 0.5, training: bool = False, inplace: bool = False, *,
                          rng: np.random.Generator | None = None) -> Tensor:
    """`alpha_dropout` of whole channels x[n, c] of x (N, C, *), while `training` (False by default, as
    PyTorch's F.feature_alpha_dropout)."""
    return _dropped("feature_alpha_dropout", as_tensor(input), p, training, rng, True, True)


def _dropped(where: str, x: Tensor, p: float, training: bool, rng: np.random.Generator | None, channels: bool,
             alpha: bool) -> Tensor:
    """PyTorch's _dropout_impl<feature_dropout=channels, alpha_dropout=alpha>: the module docstring's formulas,
    with x's mask drawn per element or per (sample, channel)."""
    p = probability(p, "p", where)
    training = flag(training, "training", where)
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point tensor, got dtype {x.dtype}")
    if channels and x.ndim < 2:
        raise ValueError(f"{where}: dropping whole channels needs an input of at least 2 axes (N, C, *), got "
                         f"shape {x.shape}")
    if not training or p == 0 or x.numel() == 0:
        return x
    if p == 1:
        return (x * owned(np.zeros((), x.dtype))).named(where)
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if channels else x.shape
    keep = (generator_or_default(rng, where).random(shape) >= p).astype(np.float64)
    if not alpha:
        return (x * owned((keep / (1 - p)).astype(x.dtype))).named(where)
    a = 1 / math.sqrt((ALPHA * ALPHA * p + 1) * (1 - p))
    shift = (keep - 1) * ALPHA * a + ALPHA * a * p
    return (x * owned((keep * a).astype(x.dtype)) + owned(shift.astype(x.dtype))).named(where)
