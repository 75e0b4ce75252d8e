"""The Concrete / Gumbel-softmax relaxations (Maddison et al. 2017, Jang et al. 2017), PyTorch's
(torch/distributions/relaxed_bernoulli.py, relaxed_categorical.py): continuous stand-ins for a
Bernoulli and a one-hot Categorical whose draws are differentiable in the parameters, sharper as the
`temperature` T goes to 0.

    LogitRelaxedBernoulli    (logit p + log u - log(1 - u)) / T,        u ~ U(0, 1)
    RelaxedBernoulli         sigmoid of that
    ExpRelaxedCategorical    log softmax((logits + g) / T),              g_k = -log(-log u_k) (Gumbel noise)
    RelaxedOneHotCategorical softmax((logits + g) / T)
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..functional.activations import softplus
from ..tensor import Tensor, owned
from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution, broadcast_all, check_wrapped, clamp_probs, draw
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform


def _temperature(where: str, temperature: Any, like: Tensor) -> Tensor:
    """The temperature as a tensor (a number becomes a 0-d one in like's dtype)."""
    if isinstance(temperature, Tensor):
        return temperature
    if not isinstance(temperature, numbers.Real):
        raise TypeError(f"{where}: expected temperature to be a number or a tensor, got {type(temperature).__name__}")
    return owned(np.asarray(temperature, dtype=like.dtype))


def _clamped_uniform(shape: tuple, dtype: Any) -> np.ndarray:
    """u ~ U(0, 1) clamped to [eps, 1 - eps] (PyTorch's clamp_probs), so its logs stay finite."""
    eps = np.finfo(dtype).eps
    return np.clip(draw().random(shape), eps, 1 - eps).astype(dtype)


class LogitRelaxedBernoulli(Distribution):
    """The logit of a RelaxedBernoulli: (logit p + log u - log(1 - u)) / T;
    log p(x) = log T + d - 2 log(1 + exp d), d = logits - T x."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True
    logits, probs = Bernoulli.logits, Bernoulli.probs     # (the same pair of lazily computed parameters)

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        where = self._name()
        if (probs is None) == (logits is None):
            raise ValueError(f"{where}: either `probs` or `logits` must be specified, but not both")
        if probs is not None:
            (self.probs,) = broadcast_all(where, probs)
        else:
            (self.logits,) = broadcast_all(where, logits)
        param = self.__dict__.get("probs", self.__dict__.get("logits"))
        self.temperature = _temperature(where, temperature, param)
        super().__init__(param.shape, validate_args=validate_args)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """(log p - log(1 - p) + log u - log(1 - u)) / T, p and u clamped to [eps, 1 - eps]."""
        shape = self._extended_shape(sample_shape)
        probs = clamp_probs(self.probs.expand(*shape))
        u = owned(_clamped_uniform(shape, self.probs.dtype))
        return (u.log() - (-u).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value: Any) -> Tensor:
        """log T + d - 2 softplus(d), d = logits - T value."""
        if self._validate_args:
            self._validate_sample(value)
        diff = self.logits - value * self.temperature
        return self.temperature.log() + diff - 2 * softplus(diff)




class ExpRelaxedCategorical(Distribution):
    """The log of a RelaxedOneHotCategorical: log softmax((logits + g) / T), g Gumbel noise; event
    (K,). log p(x) = lgamma(K) + (K - 1) log T + sum_k (s_k - logsumexp(s)), s = logits - T x."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits, validate_args=False)
        self.temperature = _temperature(type(self).__name__, temperature, self._categorical.logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)
        check_wrapped(self, self._categorical, probs)

    @property
    def logits(self) -> Tensor:
        """The normalised log-probabilities."""
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        """The class probabilities."""
        return self._categorical.probs

    @property
    def param_shape(self) -> tuple:
        """batch_shape + (K,)."""
        return self._categorical.param_shape

    def expand(self, batch_shape: Any) -> "ExpRelaxedCategorical":
        """The Categorical expanded to `batch_shape`, the same temperature."""
        new = object.__new__(type(self))
        new._categorical, new.temperature = self._categorical.expand(batch_shape), self.temperature
        Distribution.__init__(new, new._categorical.batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """s - logsumexp(s), s = (logits + g) / T, g = -log(-log u), u clamped to [eps, 1 - eps]."""
        shape = self._extended_shape(sample_shape)
        gumbels = owned(-np.log(-np.log(_clamped_uniform(shape, self.logits.dtype))))
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def log_prob(self, value: Any) -> Tensor:
        """lgamma(K) + (K - 1) log T + sum_k (s_k - logsumexp(s)), s = logits - T value (lgamma(K) =
        log (K - 1)!, a constant)."""
        if self._validate_args:
            self._validate_sample(value)
        num_events = self._event_shape[0]
        score = self.logits - value * self.temperature
        score = (score - score.logsumexp(-1, keepdim=True)).sum(-1)
        return score + (math.lgamma(num_events) + (num_events - 1) * self.temperature.log())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(temperature: {self.temperature}, {self._categorical!r})"


class _Relaxed(TransformedDistribution):
    """A relaxation as its log-space distribution (`base_type`, made from temperature, probs | logits)
    mapped by `transform_type`; temperature, logits and probs are the base's."""

    base_type: type
    transform_type: type

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        base = self.base_type(temperature, probs, logits, validate_args=False)
        super().__init__(base, self.transform_type(), validate_args)
        check_wrapped(self, base, probs)

    @property
    def temperature(self) -> Tensor:
        """T."""
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        """The base's logits: log p - log(1 - p) for a Bernoulli, the normalised log-probabilities for
        a categorical."""
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        """The base's probabilities."""
        return self.base_dist.probs


class RelaxedBernoulli(_Relaxed):
    """sigmoid of a LogitRelaxedBernoulli(temperature, probs | logits): values in (0, 1), `rsample`
    differentiable in the parameters."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    base_type, transform_type = LogitRelaxedBernoulli, SigmoidTransform


class RelaxedOneHotCategorical(_Relaxed):
    """exp of an ExpRelaxedCategorical(temperature, probs | logits): points of the simplex, the
    Gumbel-softmax of a straight-through estimator or a discrete VAE, `rsample` differentiable."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    base_type, transform_type = ExpRelaxedCategorical, ExpTransform
