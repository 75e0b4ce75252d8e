"""Families on the simplex and the unit interval, PyTorch's (torch/distributions/dirichlet.py, beta.py,
kumaraswamy.py, continuous_bernoulli.py):

    Dirichlet(c)                 p(x) = Gamma(sum c) / prod Gamma(c_i) prod x_i^(c_i - 1) on the simplex
    Beta(c1, c0)                 the first entry of Dirichlet([c1, c0])
    Kumaraswamy(a, b)            (1 - U^(1/b))^(1/a), U ~ Uniform(0, 1)
    ContinuousBernoulli(p)       p(x) = C(p) p^x (1 - p)^(1 - x) on [0, 1]

A Dirichlet's `rsample` is g / sum(g) with g_i = standard_gamma(c_i), so its gradient reaches c through the
Gamma's implicit reparameterisation (PyTorch's _Dirichlet uses the Beta marginals' _dirichlet_grad instead:
another unbiased pathwise gradient of the same draws' law).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..functional.layer_functions import one_hot
from ..functional.losses import binary_cross_entropy_with_logits
from ..ops.elementwise import sigmoid, where
from ..ops.gamma_functions import digamma, lgamma
from ..ops.gamma_sampling import standard_gamma
from ..ops.more_elementwise import xlogy
from ..ops.shape import stack
from ..tensor import Tensor, owned
from . import constraints
from .distribution import Distribution, broadcast_all, clamp_probs, draw, lazy_property
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform

EULER_GAMMA = 0.57721566490153286060


class Dirichlet(Distribution):
    """Dirichlet(c), `concentration` of shape batch_shape + (K,), K > 0 entries all positive: mean c / c0,
    variance c (c0 - c) / (c0^2 (c0 + 1)) with c0 = sum c, mode (c - 1)^+ normalised (one-hot at the largest
    c_i where every c_i < 1); log_prob sum (c - 1) log x + lgamma(c0) - sum lgamma(c); entropy
    sum lgamma(c) - lgamma(c0) - (K - c0) digamma(c0) - sum (c - 1) digamma(c)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Any, validate_args: bool | None = None) -> None:
        if not isinstance(concentration, Tensor) or concentration.ndim < 1:
            raise ValueError(f"Dirichlet: expected concentration to be a tensor of at least one dimension, got "
                             f"{type(concentration).__name__} of shape {getattr(concentration, 'shape', ())}")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def _param_tail(self, value: Tensor) -> tuple:
        return tuple(self._event_shape)

    @property
    def mean(self) -> Tensor:
        """c / sum c."""
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        """(c - 1)^+ / sum (c - 1)^+, one-hot at argmax c where all c_i < 1."""
        c = self.concentration
        mode = (c - 1).clamp(min=0)
        all_below = np.all(c._data < 1, axis=-1, keepdims=True)
        safe = where(np.broadcast_to(all_below, c.shape), 1.0, mode)
        peak = one_hot(c.argmax(-1), c.shape[-1]).to(c.dtype)
        return where(np.broadcast_to(all_below, c.shape), peak, safe / safe.sum(-1, keepdim=True))

    @property
    def variance(self) -> Tensor:
        """c (c0 - c) / (c0^2 (c0 + 1))."""
        c0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (c0 - self.concentration) / (c0 ** 2 * (c0 + 1))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """g / sum g, g_i = standard_gamma(c_i) of shape sample_shape + batch_shape + (K,), as PyTorch's
        _sample_dirichlet: the draws and the ratio in float64 (small concentrations underflow in float32), then
        in the dtype kept inside [tiny, the float below 1] (no log of 0 or of 1 - 1; the gradient unchanged)."""
        c = self.concentration.expand(*self._extended_shape(sample_shape))
        g = standard_gamma(c.double(), draw())
        x = (g / g.sum(-1, keepdim=True)).to(c.dtype)
        low, high = np.finfo(x.dtype).tiny, np.nextafter(x.dtype.type(1), x.dtype.type(0))
        return x + (x.clamp(float(low), float(high)) - x).detach()

    def log_prob(self, value: Any) -> Tensor:
        """sum (c - 1) log x + lgamma(sum c) - sum lgamma(c)."""
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return xlogy(c - 1.0, value).sum(-1) + lgamma(c.sum(-1)) - lgamma(c).sum(-1)

    def entropy(self) -> Tensor:
        """sum lgamma(c) - lgamma(c0) - (K - c0) digamma(c0) - sum (c - 1) digamma(c)."""
        c = self.concentration
        k, c0 = c.shape[-1], c.sum(-1)
        return lgamma(c).sum(-1) - lgamma(c0) - (k - c0) * digamma(c0) - ((c - 1.0) * digamma(c)).sum(-1)


class Beta(Distribution):
    """Beta(c1, c0) on [0, 1]: the first entry of a Dirichlet([c1, c0]) (its rsample, log_prob at
    [x, 1 - x], entropy); mean c1 / (c1 + c0), variance c1 c0 / ((c1 + c0)^2 (c1 + c0 + 1))."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1: Any, concentration0: Any, validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all("Beta", concentration1, concentration0)
        self._dirichlet = Dirichlet(stack([self.concentration1, self.concentration0], -1), validate_args=False)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any) -> "Beta":
        """The parameters and the inner Dirichlet expanded to `batch_shape`."""
        new = super().expand(batch_shape)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        """c1 / (c1 + c0)."""
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        """The Dirichlet's mode's first entry."""
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self) -> Tensor:
        """c1 c0 / ((c1 + c0)^2 (c1 + c0 + 1))."""
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total ** 2 * (total + 1))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """The Dirichlet's draw's first entry: g1 / (g1 + g0)."""
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value: Any) -> Tensor:
        """The Dirichlet's log_prob at [value, 1 - value]."""
        if self._validate_args:
            self._validate_sample(value)
        value = value if isinstance(value, Tensor) else owned(np.asarray(value, dtype=self.concentration1.dtype))
        return self._dirichlet.log_prob(stack([value, 1.0 - value], -1))

    def entropy(self) -> Tensor:
        """The Dirichlet's entropy."""
        return self._dirichlet.entropy()


def _kumaraswamy_moment(a: Tensor, b: Tensor, n: int) -> Tensor:
    """E[X^n] = b B(1 + n / a, b) = b exp(lgamma(1 + n / a) + lgamma(b) - lgamma(1 + n / a + b))."""
    arg1 = 1 + n / a
    return b * (lgamma(arg1) + lgamma(b) - lgamma(arg1 + b)).exp()


class Kumaraswamy(TransformedDistribution):
    """p(x) = a b x^(a - 1) (1 - x^a)^(b - 1) on [0, 1], a = `concentration1`, b = `concentration0`: draws
    (1 - U^(1/b))^(1/a); mean b B(1 + 1/a, b); mode ((a - 1) / (a b - 1))^(1/a) (NaN where a < 1 or b < 1);
    entropy (1 - 1/b) + (1 - 1/a) (digamma(b + 1) + gamma) - log a - log b."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval

    def __init__(self, concentration1: Any, concentration0: Any, validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all("Kumaraswamy", concentration1, concentration0)
        zeros = owned(np.zeros(self.concentration0.shape, dtype=self.concentration0.dtype))
        base = Uniform(zeros, zeros + 1.0, validate_args=False)
        transforms = [PowerTransform(self.concentration0.reciprocal()), AffineTransform(1.0, -1.0),
                      PowerTransform(self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args)

    @property
    def mean(self) -> Tensor:
        """b B(1 + 1/a, b)."""
        return _kumaraswamy_moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self) -> Tensor:
        """((a - 1) / (a b - 1))^(1/a), where the density's slope is 0; NaN where a < 1 or b < 1 (PyTorch's
        log-space form, log(1 - b) / b - log(1 - a b), is NaN for every b > 1: not copied)."""
        a, b = self.concentration1, self.concentration0
        bad = (a._data < 1) | (b._data < 1)
        safe_a, safe_b = where(bad, 2.0, a), where(bad, 2.0, b)
        return where(bad, math.nan, ((safe_a - 1) / (safe_a * safe_b - 1)) ** safe_a.reciprocal())

    @property
    def variance(self) -> Tensor:
        """E[X^2] - mean^2."""
        return _kumaraswamy_moment(self.concentration1, self.concentration0, 2) - self.mean ** 2

    def entropy(self) -> Tensor:
        """(1 - 1/b) + (1 - 1/a) (digamma(b + 1) + gamma) - log a - log b."""
        a, b = self.concentration1, self.concentration0
        t1, t0 = 1 - a.reciprocal(), 1 - b.reciprocal()
        return t0 + t1 * (digamma(b + 1) + EULER_GAMMA) - a.log() - b.log()


class ContinuousBernoulli(Distribution):
    """p(x) = C(p) p^x (1 - p)^(1 - x) on [0, 1] (Loaiza-Ganem and Cunningham, 2019), from `probs` or
    `logits`; C(p) = 2 atanh(1 - 2p) / (1 - 2p), and near p = 1/2 (inside `lims`) the Taylor forms PyTorch
    uses for C, the mean and the variance. `rsample` is the icdf of a uniform draw."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs: Any = None, logits: Any = None, lims: tuple = (0.499, 0.501),
                 validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("ContinuousBernoulli: either `probs` or `logits` must be specified, but not both")
        if probs is not None:
            (probs,) = broadcast_all("ContinuousBernoulli", probs)
            if self._validate_args if validate_args is None else validate_args:     # (before the clamp hides it)
                self._check_parameters({"probs": probs})
            self.probs = clamp_probs(probs)
        else:
            (self.logits,) = broadcast_all("ContinuousBernoulli", logits)
        self._lims = lims
        shape = self.__dict__.get("probs", self.__dict__.get("logits")).shape
        super().__init__(shape, validate_args=validate_args)

    @lazy_property
    def logits(self) -> Tensor:
        """log p - log(1 - p)."""
        return self.probs.log() - (-self.probs).log1p()

    @lazy_property
    def probs(self) -> Tensor:
        """sigmoid(logits), clamped to [eps, 1 - eps]."""
        return clamp_probs(sigmoid(self.logits))

    def _outside(self) -> np.ndarray:
        """Where p is outside (lims[0], lims[1]]: the closed forms are stable there."""
        p = self.probs._data
        return (p <= self._lims[0]) | (p > self._lims[1])

    def _cut_probs(self) -> Tensor:
        return where(self._outside(), self.probs, self._lims[0])

    def _cont_bern_log_norm(self) -> Tensor:
        """log C(p) = log|log(1 - p) - log p| - log|1 - 2p|; near 1/2: log 2 + (4/3 + 104/45 x) x, x = (p - 1/2)^2."""
        cut = self._cut_probs()
        below = cut._data <= 0.5
        log_norm = ((-cut).log1p() - cut.log()).abs().log() - where(
            below, (-2.0 * where(below, cut, 0.0)).log1p(), (2.0 * where(cut._data >= 0.5, cut, 1.0) - 1.0).log())
        x = (self.probs - 0.5) ** 2
        return where(self._outside(), log_norm, math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x)

    @property
    def mean(self) -> Tensor:
        """p / (2p - 1) + 1 / (log(1 - p) - log p); near 1/2: 1/2 + (1/3 + 16/45 x^2) x, x = p - 1/2."""
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        return where(self._outside(), mus, 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x ** 2) * x)

    @property
    def variance(self) -> Tensor:
        """p (p - 1) / (1 - 2p)^2 + 1 / (log(1 - p) - log p)^2; near 1/2: 1/12 - (1/15 - 128/945 x) x."""
        cut = self._cut_probs()
        variances = cut * (cut - 1.0) / (1.0 - 2.0 * cut) ** 2 + 1.0 / ((-cut).log1p() - cut.log()) ** 2
        x = (self.probs - 0.5) ** 2
        return where(self._outside(), variances, 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """icdf(u), u ~ Uniform(0, 1) of shape sample_shape + batch_shape."""
        shape = self._extended_shape(sample_shape)
        return self.icdf(owned(draw().random(shape).astype(self.probs.dtype)))

    def log_prob(self, value: Any) -> Tensor:
        """-BCEWithLogits(logits, value) + log C(p)."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all("ContinuousBernoulli.log_prob", self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value: Any) -> Tensor:
        """(p^x (1 - p)^(1 - x) + p - 1) / (2p - 1) (x near p = 1/2), 0 below 0 and 1 above 1."""
        if self._validate_args:
            self._validate_sample(value)
        cut = self._cut_probs()
        cdfs = (cut ** value * (1.0 - cut) ** (1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        unbounded = where(self._outside(), cdfs, value)
        data = np.asarray(getattr(value, "_data", value))
        return where(data <= 0.0, 0.0, where(data >= 1.0, 1.0, unbounded))

    def icdf(self, value: Any) -> Tensor:
        """(log1p(-p + u (2p - 1)) - log1p(-p)) / (log p - log1p(-p)) (u near p = 1/2)."""
        value = self._icdf_value(value)
        cut = self._cut_probs()
        inverse = ((-cut + value * (2.0 * cut - 1.0)).log1p() - (-cut).log1p()) / (cut.log() - (-cut).log1p())
        return where(self._outside(), inverse, value)

    def entropy(self) -> Tensor:
        """mean (log(1 - p) - log p) - log C(p) - log(1 - p)."""
        log_probs0, log_probs1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0
