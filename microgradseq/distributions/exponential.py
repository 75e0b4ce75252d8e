"""`Exponential(rate)`, `Laplace(loc, scale)` and `Cauchy(loc, scale)`, PyTorch's
(torch/distributions/exponential.py, laplace.py, cauchy.py): scalar families with closed-form
densities, cdfs and inverse cdfs, each reparameterised by an inverse cdf of uniform noise."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import Tensor, owned
from . import constraints
from .distribution import Distribution, broadcast_all, draw


def _noise(shape: tuple, dtype: Any, kind: str) -> Tensor:
    """Standard noise of `kind` (exponential, cauchy) from the library's generator, as a constant."""
    sampler = {"exponential": draw().standard_exponential, "cauchy": draw().standard_cauchy}[kind]
    return owned(np.asarray(sampler(shape)).astype(dtype))


class Exponential(Distribution):
    """p(x) = rate exp(-rate x) on x >= 0, one per entry of `rate`. `rsample` is e / rate with
    e ~ Exp(1) (d/drate = -e / rate^2); cdf 1 - exp(-rate x), icdf -log(1 - p) / rate, entropy
    1 - log rate, mean 1 / rate, variance 1 / rate^2, mode 0."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all("Exponential", rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        """1 / rate."""
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        """0."""
        return self.rate * 0.0

    @property
    def stddev(self) -> Tensor:
        """1 / rate."""
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        """1 / rate^2."""
        return self.rate ** -2

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """e / rate, e ~ Exp(1) of shape sample_shape + batch_shape."""
        return _noise(self._extended_shape(sample_shape), self.rate.dtype, "exponential") / self.rate

    def log_prob(self, value: Any) -> Tensor:
        """log rate - rate value."""
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value: Any) -> Tensor:
        """1 - exp(-rate value)."""
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value: Any) -> Tensor:
        """-log(1 - value) / rate."""
        value = self._icdf_value(value)
        return -(-value).log1p() / self.rate

    def entropy(self) -> Tensor:
        """1 - log rate."""
        return 1.0 - self.rate.log()


class Laplace(Distribution):
    """p(x) = exp(-|x - loc| / scale) / (2 scale). `rsample` is loc - scale sign(u) log(1 - |u|) with
    u ~ U(eps - 1, 1); mean and mode loc, variance 2 scale^2, entropy 1 + log(2 scale)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all("Laplace", loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def stddev(self) -> Tensor:
        """sqrt(2) scale."""
        return 2 ** 0.5 * self.scale

    @property
    def variance(self) -> Tensor:
        """2 scale^2."""
        return 2 * self.scale ** 2

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """loc - scale sign(u) log(1 - |u|), u ~ U(eps - 1, 1) (eps keeps log(1 - |u|) finite)."""
        shape = self._extended_shape(sample_shape)
        eps = float(np.finfo(self.loc.dtype).eps)
        u = owned(draw().uniform(eps - 1, 1, shape).astype(self.loc.dtype))
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value: Any) -> Tensor:
        """-log(2 scale) - |value - loc| / scale."""
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value: Any) -> Tensor:
        """1/2 - sign(value - loc) (exp(-|value - loc| / scale) - 1) / 2."""
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value: Any) -> Tensor:
        """loc - scale sign(value - 1/2) log(1 - 2 |value - 1/2|)."""
        value = self._icdf_value(value)
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        """1 + log(2 scale)."""
        return 1 + (2 * self.scale).log()


class Cauchy(Distribution):
    """p(x) = 1 / (pi scale (1 + ((x - loc) / scale)^2)): no mean (NaN) and infinite variance, as
    PyTorch's. `rsample` is loc + scale c with c standard Cauchy; cdf atan((x - loc) / scale) / pi + 1/2,
    icdf loc + scale tan(pi (p - 1/2)), entropy log(4 pi scale)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all("Cauchy", loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        """NaN: a Cauchy has no mean."""
        return owned(np.full(self._extended_shape(), math.nan, dtype=self.loc.dtype))

    @property
    def mode(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def variance(self) -> Tensor:
        """inf."""
        return owned(np.full(self._extended_shape(), math.inf, dtype=self.loc.dtype))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """loc + scale c, c standard Cauchy of shape sample_shape + batch_shape."""
        return self.loc + _noise(self._extended_shape(sample_shape), self.loc.dtype, "cauchy") * self.scale

    def log_prob(self, value: Any) -> Tensor:
        """-log pi - log scale - log(1 + ((value - loc) / scale)^2)."""
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value: Any) -> Tensor:
        """atan((value - loc) / scale) / pi + 1/2."""
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Any) -> Tensor:
        """loc + scale tan(pi (value - 1/2))."""
        value = self._icdf_value(value)
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        """log(4 pi) + log scale."""
        return math.log(4 * math.pi) + self.scale.log()
