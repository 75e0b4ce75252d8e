"""Counting distributions, PyTorch's (torch/distributions/poisson.py, binomial.py, negative_binomial.py,
multinomial.py):

    Poisson(rate)                          P(k) = rate^k e^-rate / k!
    Binomial(total_count, probs|logits)    P(k) = C(n, k) p^k (1 - p)^(n - k),        k = 0 .. n
    NegativeBinomial(total_count, p|l)     P(k) = C(n + k - 1, k) p^k (1 - p)^n        (k successes before n failures)
    Multinomial(total_count, probs|logits) P(x) = n! / prod x_i! prod p_i^x_i,        sum x = n

log_prob is written with `lgamma` (log k! = lgamma(k + 1)), so its gradient reaches the parameters; the
draws come from numpy's samplers on the library's generator, without history.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..functional.activations import logsigmoid
from ..ops.elementwise import sigmoid, where
from ..ops.gamma_functions import lgamma
from ..ops.more_elementwise import xlogy
from ..tensor import Tensor, owned
from . import constraints
from .categorical import Categorical
from .distribution import Distribution, binary_logits, broadcast_all, check_wrapped, draw, lazy_property


class Poisson(Distribution):
    """P(k) = rate^k e^-rate / k! on k = 0, 1, ...: mean and variance rate, mode floor(rate)."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all("Poisson", rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        """rate."""
        return self.rate

    @property
    def mode(self) -> Tensor:
        """floor(rate)."""
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        """rate."""
        return self.rate

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Counts of shape sample_shape + batch_shape in rate's dtype (numpy's poisson), no gradient."""
        shape = self._extended_shape(sample_shape)
        rate = self.rate._data
        return owned(draw().poisson(np.broadcast_to(rate, shape)).astype(rate.dtype))

    def log_prob(self, value: Any) -> Tensor:
        """k log rate - rate - lgamma(k + 1) (xlogy: 0 log 0 = 0)."""
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all("Poisson.log_prob", self.rate, value)
        return xlogy(value, rate) - rate - lgamma(value + 1)


class _BinaryParameters(Distribution):
    """`probs` or `logits` (not both), the other computed when first read, as a Bernoulli's."""

    def _set_parameter(self, where_: str, probs: Any, logits: Any, *others: Any) -> list:
        if (probs is None) == (logits is None):
            raise ValueError(f"{where_}: either `probs` or `logits` must be specified, but not both")
        name, value = ("probs", probs) if probs is not None else ("logits", logits)
        value, *others = broadcast_all(where_, value, *others)
        setattr(self, name, value)
        return [value, *others]

    @lazy_property
    def logits(self) -> Tensor:
        """log p - log(1 - p), p clamped to [eps, 1 - eps]."""
        return binary_logits(self.probs)

    @lazy_property
    def probs(self) -> Tensor:
        """sigmoid(logits)."""
        return sigmoid(self.logits)


class Binomial(_BinaryParameters):
    """The number of successes in n = `total_count` Bernoulli(p) trials: mean n p, variance n p (1 - p), mode
    floor((n + 1) p) clamped to n; `enumerate_support` 0 .. n (one n for the whole batch)."""

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        param, self.total_count = self._set_parameter("Binomial", probs, logits, total_count)
        self.total_count = self.total_count.to(param.dtype)
        super().__init__(param.shape, validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:
        """The integers 0 .. total_count."""
        return constraints.integer_interval(0, self.total_count._data)

    @property
    def mean(self) -> Tensor:
        """n p."""
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        """floor((n + 1) p), at most n."""
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        """n p (1 - p)."""
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Counts of shape sample_shape + batch_shape in p's dtype (numpy's binomial), no gradient."""
        shape = self._extended_shape(sample_shape)
        probs = self.probs._data
        n = np.broadcast_to(self.total_count._data, shape).astype(np.int64)
        return owned(draw().binomial(n, np.broadcast_to(probs, shape)).astype(probs.dtype))

    def log_prob(self, value: Any) -> Tensor:
        """k logits - lgamma(k + 1) - lgamma(n - k + 1) + lgamma(n + 1) - n max(logits, 0) - n log(1 + e^-|logits|)
        (n log(1 + e^logits) written without overflow)."""
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        clamped = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2      # (PyTorch's _clamp_by_zero)
        normalize = n * clamped + n * (-logits.abs()).exp().log1p() - lgamma(n + 1)
        return value * logits - lgamma(value + 1) - lgamma(n - value + 1) - normalize

    def entropy(self) -> Tensor:
        """-sum_k P(k) log P(k) over 0 .. n; NotImplementedError unless one n for the whole batch."""
        counts = self.total_count._data
        if counts.size and counts.min() != counts.max():
            raise NotImplementedError("Binomial.entropy: inhomogeneous total_count is not supported, got values "
                                      f"from {counts.min()} to {counts.max()}")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """0 .. n along a new first axis (expanded over batch_shape unless `expand=False`); one n for the batch."""
        counts = self.total_count._data
        if counts.size and counts.min() != counts.max():
            raise NotImplementedError("Binomial.enumerate_support: inhomogeneous total_count is not supported, got "
                                      f"values from {counts.min()} to {counts.max()}")
        n = int(counts.max()) if counts.size else 0
        values = owned(np.arange(n + 1, dtype=counts.dtype).reshape((-1,) + (1,) * len(self._batch_shape)))
        return values.expand(-1, *self._batch_shape) if expand else values


class NegativeBinomial(_BinaryParameters):
    """The number of successes (probability p each) before n = `total_count` failures: mean n e^logits,
    variance mean / (1 - p), mode floor((n - 1) e^logits) at least 0; draws Poisson(Gamma(n, e^-logits))."""

    arg_constraints = {"total_count": constraints.nonnegative, "probs": constraints.half_open_unit_interval,
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        param, self.total_count = self._set_parameter("NegativeBinomial", probs, logits, total_count)
        self.total_count = self.total_count.to(param.dtype)
        super().__init__(param.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        """n e^logits."""
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        """floor((n - 1) e^logits), at least 0."""
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        """mean / sigmoid(-logits)."""
        return self.mean / sigmoid(-self.logits)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Poisson(lambda), lambda ~ Gamma(n, rate e^-logits), both numpy's; no gradient."""
        shape = self._extended_shape(sample_shape)
        n = np.broadcast_to(self.total_count._data, shape).astype(np.float64)
        scale = np.broadcast_to(np.exp(self.logits._data.astype(np.float64)), shape)
        rate = np.where(n > 0, draw().standard_gamma(np.where(n > 0, n, 1.0)) * scale, 0.0)
        return owned(draw().poisson(rate).astype(self.total_count.dtype))

    def log_prob(self, value: Any) -> Tensor:
        """n logsigmoid(-logits) + k logsigmoid(logits) + lgamma(n + k) - lgamma(1 + k) - lgamma(n) (the last three
        0 where n + k = 0)."""
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        log_unnormalized = n * logsigmoid(-logits) + value * logsigmoid(logits)
        log_normalization = -lgamma(n + value) + lgamma(1.0 + value) + lgamma(n)
        zero = np.asarray((n + value)._data == 0)
        return log_unnormalized - where(np.broadcast_to(zero, log_normalization.shape), 0.0, log_normalization)


class Multinomial(Distribution):
    """Counts of `total_count` draws (an int) among K classes of a Categorical (`probs` or `logits` of shape
    batch_shape + (K,)): event_shape (K,), mean n p, variance n p (1 - p); log_prob
    lgamma(n + 1) - sum lgamma(x_i + 1) + sum x_i logits_i."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count: int = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        if isinstance(total_count, bool) or not isinstance(total_count, (int, np.integer)) or total_count < 0:
            raise ValueError(f"Multinomial: total_count must be a non-negative int (inhomogeneous total_count is "
                             f"not supported), got {total_count!r}")
        self.total_count = int(total_count)
        self._categorical = Categorical(probs, logits, validate_args=False)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)
        check_wrapped(self, self._categorical, probs)

    @property
    def support(self) -> constraints.Constraint:
        """Non-negative integer vectors summing to at most total_count."""
        return constraints.multinomial(self.total_count)

    @property
    def probs(self) -> Tensor:
        """The class probabilities (normalised)."""
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        """The normalised log-probabilities."""
        return self._categorical.logits

    @property
    def mean(self) -> Tensor:
        """n p."""
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        """n p (1 - p)."""
        return self.total_count * self.probs * (1 - self.probs)

    def expand(self, batch_shape: Any) -> "Multinomial":
        """The Categorical expanded to `batch_shape`."""
        new = object.__new__(Multinomial)
        new.total_count, new._categorical = self.total_count, self._categorical.expand(batch_shape)
        Distribution.__init__(new, new._categorical.batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Counts of shape sample_shape + batch_shape + (K,) in p's dtype (numpy's multinomial), no gradient."""
        shape = self._extended_shape(sample_shape)
        probs = self.probs._data
        p = probs.astype(np.float64)
        p = p / p.sum(-1, keepdims=True)
        return owned(draw().multinomial(self.total_count, p, size=shape[:-1]).astype(probs.dtype))

    def log_prob(self, value: Any) -> Tensor:
        """lgamma(n + 1) - sum lgamma(x_i + 1) + sum x_i logits_i (a class with logit -inf and x_i = 0 adds 0)."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all("Multinomial.log_prob", self.logits, value)
        logits = where((value._data == 0) & (logits._data == -np.inf), 0.0, logits)
        return lgamma(value.sum(-1) + 1) - lgamma(value + 1).sum(-1) + (logits * value).sum(-1)

    def entropy(self) -> Tensor:
        """n H(p) - lgamma(n + 1) + sum_i E[lgamma(X_i + 1)], X_i ~ Binomial(n, p_i) (PyTorch's formula)."""
        n = self.total_count
        binomial = Binomial(n, self.probs, validate_args=False)
        support = binomial.enumerate_support(expand=False)[1:]
        binomial_probs = binomial.log_prob(support).exp()
        weights = lgamma(support + 1)
        return n * self._categorical.entropy() - math.lgamma(n + 1) + (binomial_probs * weights).sum((0, -1))
