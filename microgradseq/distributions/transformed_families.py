"""The families PyTorch builds as a `TransformedDistribution` of a simpler one (torch/distributions/
log_normal.py, half_normal.py, half_cauchy.py, gumbel.py, pareto.py, weibull.py):

    LogNormal(loc, scale)            exp(X),                 X ~ Normal(loc, scale)
    HalfNormal(scale)                |X|,                    X ~ Normal(0, scale)
    HalfCauchy(scale)                |X|,                    X ~ Cauchy(0, scale)
    Gumbel(loc, scale)               loc - scale log(-log U), U ~ Uniform(tiny, 1 - eps)
    Pareto(scale, alpha)             scale exp(E),           E ~ Exponential(alpha)
    Weibull(scale, concentration)    scale E^(1/k),          E ~ Exponential(1)

    LogisticNormal(loc, scale)       StickBreaking(X),       X ~ Normal(loc, scale), on the simplex

so `rsample`, `log_prob` (change of variables), `cdf` and `icdf` come from the transforms; the
moments and entropies are PyTorch's closed forms (Weibull's through lgamma).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..creation import full_like
from ..ops.elementwise import where
from ..ops.gamma_functions import lgamma
from ..tensor import Tensor, owned
from . import constraints
from .distribution import broadcast_all
from .exponential import Cauchy, Exponential
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform, AffineTransform, ExpTransform, PowerTransform, StickBreakingTransform
from .uniform import Uniform

EULER_GAMMA = 0.57721566490153286060    # (PyTorch's euler_constant: -digamma(1))


class LogNormal(TransformedDistribution):
    """exp(X) with X ~ Normal(loc, scale): mean exp(loc + scale^2 / 2), mode exp(loc - scale^2),
    variance (exp(scale^2) - 1) exp(2 loc + scale^2), entropy that of X plus loc."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all("LogNormal", loc, scale)
        super().__init__(Normal(self.loc, self.scale, validate_args=False), ExpTransform(), validate_args)

    @property
    def mean(self) -> Tensor:
        """exp(loc + scale^2 / 2)."""
        return (self.loc + self.scale ** 2 / 2).exp()

    @property
    def mode(self) -> Tensor:
        """exp(loc - scale^2)."""
        return (self.loc - self.scale ** 2).exp()

    @property
    def variance(self) -> Tensor:
        """(exp(scale^2) - 1) exp(2 loc + scale^2)."""
        scale2 = self.scale ** 2
        return scale2.expm1() * (2 * self.loc + scale2).exp()

    def entropy(self) -> Tensor:
        """Normal(loc, scale)'s entropy + loc."""
        return self.base_dist.entropy() + self.loc


class _Folded(TransformedDistribution):
    """|X| for X symmetric about 0: density twice X's on x >= 0 (-inf below, as PyTorch's), cdf
    2 F_X(x) - 1, icdf F_X^-1((p + 1) / 2), entropy X's minus log 2."""

    support = constraints.nonnegative

    def log_prob(self, value: Any) -> Tensor:
        """log p_X(value) + log 2 for value >= 0, -inf below."""
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return where(np.asarray(getattr(value, "_data", value)) >= 0, log_prob, -math.inf)

    def cdf(self, value: Any) -> Tensor:
        """2 F_X(value) - 1."""
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, value: Any) -> Tensor:
        """F_X^-1((value + 1) / 2)."""
        value = self._icdf_value(value)
        return self.base_dist.icdf((value + 1) / 2)

    def entropy(self) -> Tensor:
        """X's entropy - log 2."""
        return self.base_dist.entropy() - math.log(2)

    @property
    def mode(self) -> Tensor:
        """0."""
        return self.scale * 0.0


class HalfNormal(_Folded):
    """|X| with X ~ Normal(0, scale): mean scale sqrt(2 / pi), variance scale^2 (1 - 2 / pi); icdf
    Normal's at (p + 1) / 2."""

    arg_constraints = {"scale": constraints.positive}

    def __init__(self, scale: Any, validate_args: bool | None = None) -> None:
        (self.scale,) = broadcast_all("HalfNormal", scale)
        base = Normal(full_like(self.scale, 0.0), self.scale, validate_args=False)
        super().__init__(base, AbsTransform(), validate_args)

    @property
    def mean(self) -> Tensor:
        """scale sqrt(2 / pi)."""
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        """scale^2 (1 - 2 / pi)."""
        return self.scale ** 2 * (1 - 2 / math.pi)


class HalfCauchy(_Folded):
    """|X| with X ~ Cauchy(0, scale): infinite mean and variance, as PyTorch's."""

    arg_constraints = {"scale": constraints.positive}

    def __init__(self, scale: Any, validate_args: bool | None = None) -> None:
        (self.scale,) = broadcast_all("HalfCauchy", scale)
        base = Cauchy(full_like(self.scale, 0.0), self.scale, validate_args=False)
        super().__init__(base, AbsTransform(), validate_args)

    @property
    def mean(self) -> Tensor:
        """inf."""
        return owned(np.full(self._extended_shape(), math.inf, dtype=self.scale.dtype))

    @property
    def variance(self) -> Tensor:
        """inf."""
        return self.mean


class Gumbel(TransformedDistribution):
    """p(x) = exp(-(z + exp(-z))) / scale, z = (x - loc) / scale; cdf exp(-exp(-z)). Draws are
    loc - scale log(-log u); mean loc + scale gamma (Euler's), variance (pi scale)^2 / 6, entropy
    log scale + 1 + gamma."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all("Gumbel", loc, scale)
        finfo = np.finfo(self.loc.dtype)
        base = Uniform(full_like(self.loc, finfo.tiny), full_like(self.loc, 1 - finfo.eps), validate_args=False)
        transforms = [ExpTransform().inv, AffineTransform(0, full_like(self.scale, -1.0)), ExpTransform().inv,
                      AffineTransform(self.loc, -self.scale)]
        super().__init__(base, transforms, validate_args)

    def log_prob(self, value: Any) -> Tensor:
        """y - exp(y) - log scale with y = (loc - value) / scale (closed form: more precise than the
        transforms', as PyTorch's)."""
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    @property
    def mean(self) -> Tensor:
        """loc + scale gamma."""
        return self.loc + self.scale * EULER_GAMMA

    @property
    def mode(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def stddev(self) -> Tensor:
        """pi scale / sqrt 6."""
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self) -> Tensor:
        """(pi scale)^2 / 6."""
        return self.stddev ** 2

    def entropy(self) -> Tensor:
        """log scale + 1 + gamma."""
        return self.scale.log() + (1 + EULER_GAMMA)


class Pareto(TransformedDistribution):
    """p(x) = alpha scale^alpha / x^(alpha + 1) on x >= scale: mean alpha scale / (alpha - 1) (inf for
    alpha <= 1), variance scale^2 alpha / ((alpha - 1)^2 (alpha - 2)) (inf for alpha <= 2), mode
    scale, entropy log(scale / alpha) + 1 + 1 / alpha; cdf 1 - (scale / x)^alpha."""

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale: Any, alpha: Any, validate_args: bool | None = None) -> None:
        self.scale, self.alpha = broadcast_all("Pareto", scale, alpha)
        super().__init__(Exponential(self.alpha, validate_args=False), [ExpTransform(), AffineTransform(0, self.scale)],
                         validate_args)

    @property
    def support(self) -> constraints.Constraint:
        """[scale, inf)."""
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self) -> Tensor:
        """alpha scale / (alpha - 1), alpha clamped to >= 1 (so inf below)."""
        a = self.alpha.clamp(min=1)
        with np.errstate(divide="ignore"):
            return a * self.scale / (a - 1)

    @property
    def mode(self) -> Tensor:
        """scale."""
        return self.scale

    @property
    def variance(self) -> Tensor:
        """scale^2 alpha / ((alpha - 1)^2 (alpha - 2)), alpha clamped to >= 2 (so inf below)."""
        a = self.alpha.clamp(min=2)
        with np.errstate(divide="ignore"):
            return self.scale ** 2 * a / ((a - 1) ** 2 * (a - 2))

    def entropy(self) -> Tensor:
        """log(scale / alpha) + 1 + 1 / alpha."""
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


class Weibull(TransformedDistribution):
    """p(x) = (k / scale) (x / scale)^(k - 1) exp(-(x / scale)^k) on x > 0, k the concentration; cdf
    1 - exp(-(x / scale)^k), mode scale ((k - 1) / k)^(1 / k), entropy gamma (1 - 1/k) + log(scale / k) + 1,
    mean scale Gamma(1 + 1/k), variance scale^2 (Gamma(1 + 2/k) - Gamma(1 + 1/k)^2)."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.scale, self.concentration = broadcast_all("Weibull", scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        transforms = [PowerTransform(self.concentration_reciprocal), AffineTransform(0, self.scale)]
        super().__init__(Exponential(full_like(self.scale, 1.0), validate_args=False), transforms, validate_args)

    @property
    def mean(self) -> Tensor:
        """scale exp(lgamma(1 + 1/k))."""
        return self.scale * lgamma(1 + self.concentration_reciprocal).exp()

    @property
    def variance(self) -> Tensor:
        """scale^2 (exp(lgamma(1 + 2/k)) - exp(2 lgamma(1 + 1/k)))."""
        k_inverse = self.concentration_reciprocal
        return self.scale ** 2 * (lgamma(1 + 2 * k_inverse).exp() - (2 * lgamma(1 + k_inverse)).exp())

    @property
    def mode(self) -> Tensor:
        """scale ((k - 1) / k)^(1 / k)."""
        return self.scale * ((self.concentration - 1) / self.concentration) ** self.concentration_reciprocal

    def entropy(self) -> Tensor:
        """gamma (1 - 1/k) + log(scale / k) + 1."""
        k_inverse = self.concentration_reciprocal
        return EULER_GAMMA * (1 - k_inverse) + (self.scale * k_inverse).log() + 1


class LogisticNormal(TransformedDistribution):
    """StickBreaking(X), X ~ Normal(loc, scale) over K - 1 entries: a distribution on the K-simplex
    (event_shape (K,)); scalar parameters are taken as one entry (K = 2), as PyTorch's."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        loc, scale = broadcast_all("LogisticNormal", loc, scale)
        base = Normal(loc, scale, validate_args=validate_args)
        if not base.batch_shape:
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    @property
    def loc(self) -> Tensor:
        """The Normal's loc."""
        return self.base_dist.loc

    @property
    def scale(self) -> Tensor:
        """The Normal's scale."""
        return self.base_dist.scale
