"""`MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None, scale_tril=None)`, PyTorch's
(torch/distributions/multivariate_normal.py): N(loc, Sigma) over vectors of n entries, everything
computed from the lower Cholesky factor L of Sigma = L L^T:

    rsample     loc + L eps,                                 eps ~ N(0, I)
    log_prob    -(n log 2 pi + |z|^2) / 2 - sum_i log L_ii,  L z = value - loc
    entropy     n (1 + log 2 pi) / 2 + sum_i log L_ii

L z = d is solved with `mg.linalg.solve_triangular` (forward substitution, as PyTorch's
_batch_mahalanobis), so gradients reach loc and the matrix by the chain rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..ops.matrix_functions import cholesky, inv
from ..ops.solvers import solve_triangular
from ..spellings import Size
from ..tensor import Tensor, owned
from . import constraints
from .distribution import Distribution, draw, lazy_property


def mahalanobis(scale_tril: Tensor, diff: Tensor) -> Tensor:
    """|z|^2 with L z = diff: diff^T Sigma^-1 diff for Sigma = L L^T, batch axes broadcast."""
    return solve_triangular(scale_tril, diff.unsqueeze(-1), upper=False).squeeze(-1).pow(2).sum(-1)


def half_log_det(scale_tril: Tensor) -> Tensor:
    """sum_i log L_ii = log det(Sigma) / 2."""
    return scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


class MultivariateNormal(Distribution):
    """N(loc, Sigma), Sigma given as exactly one of `covariance_matrix`, `precision_matrix` (its
    inverse) or `scale_tril` (L, lower triangular with a positive diagonal); batch axes of loc and the
    matrix broadcast. The other two are computed when first read (covariance L L^T, precision
    inv(Sigma)); mean and mode loc, variance the diagonal of Sigma."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Any, covariance_matrix: Any = None, precision_matrix: Any = None, scale_tril: Any = None,
                 validate_args: bool | None = None) -> None:
        given = {name: m for name, m in (("covariance_matrix", covariance_matrix),
                                         ("precision_matrix", precision_matrix), ("scale_tril", scale_tril))
                 if m is not None}
        if len(given) != 1:
            raise ValueError("MultivariateNormal: exactly one of covariance_matrix or precision_matrix or scale_tril "
                             f"may be specified, got {sorted(given) or 'none'}")
        (name, matrix), = given.items()
        for what, value in (("loc", loc), (name, matrix)):
            if not isinstance(value, Tensor):
                raise TypeError(f"MultivariateNormal: expected {what} to be a tensor, got {type(value).__name__}")
        if loc.ndim < 1:
            raise ValueError(f"MultivariateNormal: loc must be at least one-dimensional, got shape {loc.shape}")
        if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2] or matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(f"MultivariateNormal: {name} must be at least two-dimensional with square (n, n) "
                             f"matrices, n = loc.shape[-1] = {loc.shape[-1]}, got shape {matrix.shape}")
        try:
            batch_shape = np.broadcast_shapes(loc.shape[:-1], matrix.shape[:-2])
        except ValueError:
            raise ValueError(f"MultivariateNormal: incompatible batch shapes: vector {loc.shape}, matrix "
                             f"{matrix.shape}") from None
        event_shape = loc.shape[-1:]
        square = batch_shape + event_shape + event_shape
        setattr(self, name, matrix.expand(*square))
        self.loc = loc.expand(*(batch_shape + event_shape))
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = cholesky(inv(matrix))

    def _square(self, matrix: Tensor) -> Tensor:
        """An (n, n) matrix (or a batch of them) expanded to batch_shape + (n, n)."""
        return matrix.expand(*(self._batch_shape + self._event_shape + self._event_shape))

    @lazy_property
    def scale_tril(self) -> Tensor:
        """L, lower triangular, Sigma = L L^T."""
        return self._square(self._unbroadcasted_scale_tril)

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        """Sigma = L L^T."""
        L = self._unbroadcasted_scale_tril
        return self._square(L.matmul(L.transpose(-1, -2)))

    @lazy_property
    def precision_matrix(self) -> Tensor:
        """Sigma^-1."""
        L = self._unbroadcasted_scale_tril
        return self._square(inv(L.matmul(L.transpose(-1, -2))))

    @property
    def mean(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def variance(self) -> Tensor:
        """diag(Sigma)_i = sum_j L_ij^2."""
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(*(self._batch_shape + self._event_shape))

    def expand(self, batch_shape: Any) -> "MultivariateNormal":
        """The same distribution over a larger batch: loc and the given matrices expanded."""
        new = object.__new__(MultivariateNormal)
        batch_shape, event = tuple(Size(batch_shape)), self._event_shape
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(*(batch_shape + event + event)))
        new.loc = self.loc.expand(*(batch_shape + event))
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        Distribution.__init__(new, batch_shape, event, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """loc + L eps, eps ~ N(0, I) of shape sample_shape + batch_shape + (n,), in loc's dtype."""
        shape = self._extended_shape(sample_shape)
        eps = owned(draw().standard_normal(shape).astype(self.loc.dtype))
        return self.loc + self._unbroadcasted_scale_tril.matmul(eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value: Any) -> Tensor:
        """-(n log 2 pi + |z|^2) / 2 - sum_i log L_ii, L z = value - loc."""
        if self._validate_args:
            self._validate_sample(value)
        M = mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - half_log_det(self._unbroadcasted_scale_tril)

    def entropy(self) -> Tensor:
        """n (1 + log 2 pi) / 2 + sum_i log L_ii, one per batch entry."""
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det(self._unbroadcasted_scale_tril)
        return H.expand(*self._batch_shape) if self._batch_shape else H
