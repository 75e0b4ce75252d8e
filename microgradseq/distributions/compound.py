"""Distributions made of others, PyTorch's (torch/distributions/independent.py, mixture_same_family.py):

    Independent(base, r)              the base's last r batch axes read as one event:
                                      log p(x) = sum over those axes of the base's log p
    MixtureSameFamily(mixture, comp)  pick component k ~ mixture (a Categorical), draw from it:
                                      log p(x) = logsumexp_k(log pi_k + log p_k(x))

A diagonal Gaussian over vectors is Independent(Normal(mu, sigma), 1); a mixture density network's
output is MixtureSameFamily(Categorical(logits=...), Independent(Normal(...), 1)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import is_int
from ..ops.softmax import log_softmax
from ..tensor import Tensor, owned
from . import constraints
from .categorical import Categorical
from .distribution import Distribution, sum_rightmost


class Independent(Distribution):
    """The base distribution with its last `reinterpreted_batch_ndims` batch axes moved into the event:
    the same draws, `log_prob` and `entropy` summed over those axes, mean and variance the base's."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, reinterpreted_batch_ndims: int,
                 validate_args: bool | None = None) -> None:
        if not isinstance(base_distribution, Distribution):
            raise TypeError(f"Independent: expected base_distribution to be a Distribution, got "
                            f"{type(base_distribution).__name__}")
        base_batch = base_distribution.batch_shape
        if not is_int(reinterpreted_batch_ndims) or not 0 <= reinterpreted_batch_ndims <= len(base_batch):
            raise ValueError(f"Independent: expected 0 <= reinterpreted_batch_ndims <= len(base_distribution."
                             f"batch_shape), actual {reinterpreted_batch_ndims!r} vs {len(base_batch)}")
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, reinterpreted_batch_ndims
        shape = base_batch + base_distribution.event_shape
        event_dim = reinterpreted_batch_ndims + len(base_distribution.event_shape)
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:], validate_args)

    @property
    def has_rsample(self) -> bool:
        """The base's."""
        return self.base_dist.has_rsample

    @property
    def support(self) -> constraints.Constraint:
        """The base's, over whole events."""
        support = self.base_dist.support
        return constraints.independent(support, self.reinterpreted_batch_ndims) if self.reinterpreted_batch_ndims \
            else support

    @property
    def mean(self) -> Tensor:
        """The base's."""
        return self.base_dist.mean

    @property
    def mode(self) -> Tensor:
        """The base's."""
        return self.base_dist.mode

    @property
    def variance(self) -> Tensor:
        """The base's."""
        return self.base_dist.variance

    def expand(self, batch_shape: Any) -> "Independent":
        """The base expanded to batch_shape + the reinterpreted axes."""
        extra = self._event_shape[:self.reinterpreted_batch_ndims]
        new = Independent(self.base_dist.expand(tuple(batch_shape) + tuple(extra)), self.reinterpreted_batch_ndims,
                          validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """The base's sample."""
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """The base's rsample."""
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value: Any) -> Tensor:
        """The base's log_prob summed over the reinterpreted axes."""
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        """The base's entropy summed over the reinterpreted axes."""
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


class MixtureSameFamily(Distribution):
    """A mixture of the components of `component_distribution` (its last batch axis, of size K, indexes
    them) with weights from `mixture_distribution`, a Categorical over K whose batch shape broadcasts
    with the component's without K. Mean sum_k pi_k mu_k; variance (the law of total variance)
    sum_k pi_k var_k + sum_k pi_k (mu_k - mean)^2; cdf sum_k pi_k F_k; no rsample, as PyTorch's."""

    arg_constraints: dict = {}

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args: bool | None = None) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(f"MixtureSameFamily: the mixture distribution needs to be a Categorical, got "
                             f"{type(mixture_distribution).__name__}")
        if not isinstance(component_distribution, Distribution) or not component_distribution.batch_shape:
            raise ValueError("MixtureSameFamily: the component distribution needs to be a Distribution with at least "
                             f"one batch axis (the components), got {component_distribution!r}")
        mixture_batch, component_batch = mixture_distribution.batch_shape, component_distribution.batch_shape[:-1]
        if any(m != 1 and c != 1 and m != c for m, c in zip(reversed(mixture_batch), reversed(component_batch))):
            raise ValueError(f"MixtureSameFamily: mixture_distribution.batch_shape ({tuple(mixture_batch)}) is not "
                             f"compatible with component_distribution.batch_shape ({tuple(component_batch)})")
        num_mixture, num_component = mixture_distribution.param_shape[-1], component_distribution.batch_shape[-1]
        if num_mixture != num_component:
            raise ValueError(f"MixtureSameFamily: mixture_distribution component ({num_mixture}) does not equal "
                             f"component_distribution.batch_shape[-1] ({num_component})")
        self._mixture_distribution, self._component_distribution = mixture_distribution, component_distribution
        self._num_component, self._event_ndims = num_mixture, len(component_distribution.event_shape)
        super().__init__(component_batch, component_distribution.event_shape, validate_args)

    @property
    def mixture_distribution(self) -> Categorical:
        """The Categorical over components."""
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        """The components, batched along the last batch axis."""
        return self._component_distribution

    @property
    def support(self) -> Any:
        """The components'."""
        return self._component_distribution.support

    def _pad(self, x: Any) -> Any:
        """x with a component axis before the event's (so it broadcasts with the components)."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _weights(self) -> Tensor:
        """pi_k broadcast against per-component values (batch..., K, event...)."""
        probs = self._mixture_distribution.probs
        return probs.reshape(probs.shape + (1,) * self._event_ndims)

    @property
    def mean(self) -> Tensor:
        """sum_k pi_k mu_k."""
        means = self._component_distribution.mean
        return (self._weights() * means).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        """sum_k pi_k var_k + sum_k pi_k (mu_k - mean)^2."""
        means, weights, axis = self._component_distribution.mean, self._weights(), -1 - self._event_ndims
        mean_cond_var = (weights * self._component_distribution.variance).sum(axis)
        var_cond_mean = (weights * (means - self._pad(self.mean)) ** 2).sum(axis)
        return mean_cond_var + var_cond_mean

    def expand(self, batch_shape: Any) -> "MixtureSameFamily":
        """Both parts expanded: the components to batch_shape + (K,), the mixture to batch_shape."""
        batch_shape = tuple(batch_shape)
        new = MixtureSameFamily(self._mixture_distribution.expand(batch_shape),
                                self._component_distribution.expand(batch_shape + (self._num_component,)),
                                validate_args=False)
        new._validate_args = self._validate_args
        return new

    def cdf(self, value: Any) -> Tensor:
        """sum_k pi_k F_k(value)."""
        return (self._component_distribution.cdf(self._pad(value)) * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, value: Any) -> Tensor:
        """logsumexp_k(log pi_k + log p_k(value))."""
        if self._validate_args:
            self._validate_sample(value)
        log_prob_x = self._component_distribution.log_prob(self._pad(value))
        log_mix_prob = log_softmax(self._mixture_distribution.logits, dim=-1)
        return (log_prob_x + log_mix_prob).logsumexp(-1)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """A component index k from the mixture, then the draw of component k: shape sample_shape +
        batch_shape + event_shape, no gradient."""
        picked = self._mixture_distribution.sample(sample_shape)._data       # (sample..., mixture batch...)
        draws = self._component_distribution.sample(sample_shape)._data      # (sample..., batch..., K, event...)
        sample_shape, axis = tuple(sample_shape), draws.ndim - self._event_ndims - 1
        pad = (1,) * (len(self._batch_shape) - len(self._mixture_distribution.batch_shape))
        index = picked.reshape(sample_shape + pad + picked.shape[len(sample_shape):] + (1,) * (self._event_ndims + 1))
        index = np.broadcast_to(index, draws.shape[:axis] + (1,) + draws.shape[axis + 1:])
        return owned(np.take_along_axis(draws, index, axis=axis).squeeze(axis))

    def __repr__(self) -> str:
        return f"MixtureSameFamily(\n  {self._mixture_distribution!r},\n  {self._component_distribution!r})"
