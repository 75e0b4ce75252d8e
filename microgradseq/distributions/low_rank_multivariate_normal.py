"""`LowRankMultivariateNormal(loc, cov_factor, cov_diag)`, PyTorch's
(torch/distributions/lowrank_multivariate_normal.py): N(loc, Sigma) with Sigma = W W^T + D, W of shape
(n, m) and D diagonal, computed through the m x m capacitance C = I + W^T D^-1 W (Woodbury's identity and the
matrix determinant lemma), with L_C its Cholesky factor:

    log det Sigma          2 sum log diag(L_C) + sum log D
    d^T Sigma^-1 d         sum d^2 / D - |L_C^-1 W^T D^-1 d|^2
    rsample                loc + W eps_W + sqrt(D) eps_D,     eps_W ~ N(0, I_m), eps_D ~ N(0, I_n)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..ops.combining import diag_embed
from ..ops.matrix_functions import cholesky
from ..ops.solvers import solve_triangular
from ..spellings import Size
from ..tensor import Tensor, owned
from . import constraints
from .distribution import Distribution, draw, lazy_property
from .multivariate_normal import MultivariateNormal, mahalanobis


def _capacitance_tril(W: Tensor, D: Tensor) -> Tensor:
    """The Cholesky factor of I + W^T D^-1 W."""
    m = W.shape[-1]
    K = (W.transpose(-1, -2) / D.unsqueeze(-2)).matmul(W)
    return cholesky(K + owned(np.eye(m, dtype=W.dtype)))


class LowRankMultivariateNormal(Distribution):
    """N(loc, W W^T + diag(D)), W = `cov_factor` (batch + (n, m)), D = `cov_diag` (batch + (n,), positive);
    batch axes of the three broadcast. Mean and mode loc, variance sum_j W_ij^2 + D_i; `covariance_matrix`,
    `precision_matrix` and `scale_tril` computed when first read."""

    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True
    _square = MultivariateNormal._square     # (its matrices expanded to batch_shape + (n, n), as there)

    def __init__(self, loc: Any, cov_factor: Any, cov_diag: Any, validate_args: bool | None = None) -> None:
        for name, value in (("loc", loc), ("cov_factor", cov_factor), ("cov_diag", cov_diag)):
            if not isinstance(value, Tensor):
                raise TypeError(f"LowRankMultivariateNormal: expected {name} to be a tensor, got "
                                f"{type(value).__name__}")
        if loc.ndim < 1:
            raise ValueError("LowRankMultivariateNormal: loc must be at least one-dimensional, got shape ()")
        event_shape = loc.shape[-1:]
        if cov_factor.ndim < 2 or cov_factor.shape[-2:-1] != event_shape:
            raise ValueError(f"LowRankMultivariateNormal: cov_factor must be a batch of matrices with shape "
                             f"{event_shape[0]} x m, got shape {cov_factor.shape}")
        if cov_diag.shape[-1:] != event_shape:
            raise ValueError(f"LowRankMultivariateNormal: cov_diag must be a batch of vectors with shape "
                             f"{event_shape}, got shape {cov_diag.shape}")
        try:
            batch_shape = np.broadcast_shapes(loc.shape[:-1], cov_factor.shape[:-2], cov_diag.shape[:-1])
        except ValueError:
            raise ValueError(f"LowRankMultivariateNormal: incompatible batch shapes: loc {loc.shape}, cov_factor "
                             f"{cov_factor.shape}, cov_diag {cov_diag.shape}") from None
        self.loc = loc.expand(*(batch_shape + event_shape))
        self.cov_factor = cov_factor.expand(*(batch_shape + cov_factor.shape[-2:]))
        self.cov_diag = cov_diag.expand(*(batch_shape + event_shape))
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = cov_factor, cov_diag
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

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
        """sum_j W_ij^2 + D_i."""
        variance = self._unbroadcasted_cov_factor.pow(2).sum(-1) + self._unbroadcasted_cov_diag
        return variance.expand(*(self._batch_shape + self._event_shape))

    @lazy_property
    def scale_tril(self) -> Tensor:
        """sqrt(D) chol(I + D^-1/2 W W^T D^-1/2): the Cholesky factor of Sigma."""
        n = self._event_shape[0]
        root = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        scaled = self._unbroadcasted_cov_factor / root
        K = scaled.matmul(scaled.transpose(-1, -2)) + owned(np.eye(n, dtype=root.dtype))
        return self._square(root * cholesky(K))

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        """W W^T + diag(D)."""
        W = self._unbroadcasted_cov_factor
        return self._square(W.matmul(W.transpose(-1, -2)) + diag_embed(self._unbroadcasted_cov_diag))

    @lazy_property
    def precision_matrix(self) -> Tensor:
        """diag(1 / D) - A^T A, A = L_C^-1 W^T D^-1 (Woodbury)."""
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        A = solve_triangular(self._capacitance_tril, W.transpose(-1, -2) / D.unsqueeze(-2), upper=False)
        return self._square(diag_embed(D.reciprocal()) - A.transpose(-1, -2).matmul(A))

    def expand(self, batch_shape: Any) -> "LowRankMultivariateNormal":
        """The same distribution over a larger batch (the unbroadcast parameters shared)."""
        new = object.__new__(LowRankMultivariateNormal)
        batch_shape, event = tuple(Size(batch_shape)), tuple(self._event_shape)
        new.__dict__.update({name: self.__dict__[name] for name in
                             ("_unbroadcasted_cov_factor", "_unbroadcasted_cov_diag", "_capacitance_tril")})
        new.loc, new.cov_diag = self.loc.expand(*(batch_shape + event)), self.cov_diag.expand(*(batch_shape + event))
        new.cov_factor = self.cov_factor.expand(*(batch_shape + tuple(self.cov_factor.shape[-2:])))
        Distribution.__init__(new, batch_shape, event, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """loc + W eps_W + sqrt(D) eps_D."""
        shape = self._extended_shape(sample_shape)
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        eps_W = owned(draw().standard_normal(tuple(shape[:-1]) + W.shape[-1:]).astype(self.loc.dtype))
        eps_D = owned(draw().standard_normal(shape).astype(self.loc.dtype))
        return self.loc + W.matmul(eps_W.unsqueeze(-1)).squeeze(-1) + D.sqrt() * eps_D

    def _log_det(self) -> Tensor:
        """log det Sigma = 2 sum log diag(L_C) + sum log D."""
        return (2 * self._capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
                + self._unbroadcasted_cov_diag.log().sum(-1))

    def log_prob(self, value: Any) -> Tensor:
        """-(n log 2 pi + log det Sigma + d^T Sigma^-1 d) / 2, d = value - loc."""
        if self._validate_args:
            self._validate_sample(value)
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        diff = value - self.loc
        Wt_Dinv_x = (W.transpose(-1, -2) / D.unsqueeze(-2)).matmul(diff.unsqueeze(-1)).squeeze(-1)
        M = (diff.pow(2) / D).sum(-1) - mahalanobis(self._capacitance_tril, Wt_Dinv_x)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + self._log_det() + M)

    def entropy(self) -> Tensor:
        """(n (1 + log 2 pi) + log det Sigma) / 2."""
        H = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return H.expand(*self._batch_shape)
