"""`VonMises(loc, concentration)`, PyTorch's (torch/distributions/von_mises.py): the circular normal on
angles, p(x) = exp(kappa cos(x - loc)) / (2 pi I0(kappa)), drawn by Best and Fisher's rejection sampler
(Applied Statistics, 1979) as PyTorch's _rejection_sample; no rsample, as PyTorch's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..grad_mode import no_grad
from ..ops.bessel import i0e, i1e
from ..tensor import Tensor, owned
from . import constraints
from .distribution import Distribution, broadcast_all, draw


def _log_i0(kappa: Tensor) -> Tensor:
    """log I0(kappa) = log(i0e(kappa)) + kappa (exact for large kappa; PyTorch's polynomial approximation is
    good to about 1e-7)."""
    return i0e(kappa).log() + kappa


class VonMises(Distribution):
    """A von Mises distribution on angles: `loc` any real (read modulo 2 pi), `concentration` kappa > 0.
    log_prob kappa cos(x - loc) - log(2 pi) - log I0(kappa); mean and mode loc (the circular mean); variance
    the circular one, 1 - I1(kappa) / I0(kappa); draws in [-pi, pi)."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all("VonMises", loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        """loc (the circular mean)."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def variance(self) -> Tensor:
        """1 - I1(kappa) / I0(kappa) (the circular variance)."""
        return 1 - i1e(self.concentration) / i0e(self.concentration)

    def log_prob(self, value: Any) -> Tensor:
        """kappa cos(value - loc) - log(2 pi) - log I0(kappa)."""
        if self._validate_args:
            self._validate_sample(value)
        return self.concentration * (value - self.loc).cos() - math.log(2 * math.pi) - _log_i0(self.concentration)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Best and Fisher's rejection sampler in float64 (PyTorch's, with its r = 1 / kappa + kappa for
        kappa < 1e-5), wrapped to [-pi, pi); shape sample_shape + batch_shape in loc's dtype, no gradient."""
        shape = self._extended_shape(sample_shape)
        with no_grad():
            kappa = np.broadcast_to(self.concentration._data.astype(np.float64), shape)
            loc = np.broadcast_to(self.loc._data.astype(np.float64), shape)
            tau = 1 + np.sqrt(1 + 4 * kappa ** 2)
            with np.errstate(divide="ignore", invalid="ignore"):    # (the branch np.where does not take)
                rho = (tau - np.sqrt(2 * tau)) / (2 * kappa)
                proposal_r = np.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho ** 2) / (2 * rho))
            x, done = np.zeros(shape), np.zeros(shape, dtype=bool)
            while not done.all():
                u1, u2, u3 = draw().random((3,) + tuple(shape))
                z = np.cos(math.pi * u1)
                f = (1 + proposal_r * z) / (proposal_r + z)
                c = kappa * (proposal_r - f)
                with np.errstate(divide="ignore"):
                    accept = ((c * (2 - c) - u2) > 0) | (np.log(c / u2) + 1 - c >= 0)
                x = np.where(accept & ~done, np.sign(u3 - 0.5) * np.arccos(np.clip(f, -1, 1)), x)
                done = done | accept
            angles = np.mod(x + math.pi + loc, 2 * math.pi) - math.pi
        return owned(angles.astype(self.loc.dtype))
