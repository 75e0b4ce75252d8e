"""`Dropout`: zero each element with probability p while training, scale the rest by 1 / (1 - p);
`Dropout1d`, `Dropout2d` and `Dropout3d`: the same for whole channels; `AlphaDropout` and `FeatureAlphaDropout`: the
dropout that keeps SELU's mean 0 and variance 1 (functional/dropouts.py says how), of elements or of
whole channels. Each is active after `train()` and the identity after `eval()`, as PyTorch's."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import flag, probability
from ..functional import alpha_dropout, dropout, dropout1d, dropout2d, dropout3d, feature_alpha_dropout
from ..tensor import Tensor
from .module import Module


class _DropoutNd(Module):
    """PyTorch's _DropoutNd: p (a probability) and inplace, printed as `p=0.5, inplace=False`; the function
    a layer computes is its `function`, called as function(x, p, training, rng=...). Masks come from `rng`
    or the library's generator (`mg.manual_seed`). `inplace=True` is accepted and changes nothing (arrays
    are read-only: the result is a new tensor)."""

    function = staticmethod(dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        where = type(self).__name__
        probability(p, "p", where)
        self.p = p                  # as given (PyTorch's repr shows Dropout(p=0, ...) for an int)
        self.inplace, self.rng = flag(inplace, "inplace", where), rng

    def forward(self, x: Any) -> Tensor:
        return self.function(x, self.p, self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """`F.dropout(x, p, training=self.training)`: each element zeroed with probability p, the rest scaled
    by 1 / (1 - p)."""


class Dropout1d(_DropoutNd):
    """`F.dropout1d(x, p, training=self.training)`: each channel x[n, c] of x (N, C, L) or (C, L) zeroed
    with probability p, the rest scaled by 1 / (1 - p)."""

    function = staticmethod(dropout1d)


class Dropout2d(_DropoutNd):
    """`F.dropout2d(x, p, training=self.training)`: each channel x[n, c] of x (N, C, H, W) zeroed with
    probability p, the rest scaled by 1 / (1 - p); a 3-d input is read as (N, C, L), with a warning, as
    PyTorch's."""

    function = staticmethod(dropout2d)


class Dropout3d(_DropoutNd):
    """`F.dropout3d(x, p, training=self.training)`: each channel x[n, c] of x (N, C, D, H, W) or (C, D, H, W)
    zeroed with probability p, the rest scaled by 1 / (1 - p)."""

    function = staticmethod(dropout3d)


class AlphaDropout(_DropoutNd):
    """`F.alpha_dropout(x, p, training=self.training)`: each element dropped with probability p to SELU's
    saturation, then the affine map that keeps mean 0 and variance 1."""

    function = staticmethod(alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """`F.feature_alpha_dropout(x, p, training=self.training)`: alpha dropout of whole channels x[n, c]."""

    function = staticmethod(feature_alpha_dropout)
