"""`Categorical(probs=None, logits=None)`, PyTorch's `torch.distributions.Categorical`
(torch/distributions/categorical.py): the policy of REINFORCE and actor-critic, a class index drawn
with the given probabilities."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..functional.activations import softmax
from ..tensor import Tensor, owned
from . import constraints
from .distribution import Distribution, clamp_probs, draw, lazy_property


class Categorical(Distribution):
    """One of K classes, 0 .. K - 1, per batch entry: `probs` (non-negative, normalised here to sum to 1
    over the last axis) or `logits` (unnormalised log-probabilities, normalised here to
    logits - logsumexp(logits)), not both, of shape batch_shape + (K,); the other is computed when
    first read (probs = softmax(logits), logits = log(probs clamped to [eps, 1 - eps])). `sample` gives
    int64 indices; `log_prob(value)` is logits[value] (value broadcast with batch_shape), `entropy`
    -sum p log p; `mean` and `variance` are NaN, as PyTorch's."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError(f"{self._name()}: either `probs` or `logits` must be specified, but not both")
        given, name = (probs, "probs") if probs is not None else (logits, "logits")
        if not isinstance(given, Tensor):
            raise TypeError(f"{self._name()}: expected `{name}` to be a tensor, got {type(given).__name__}")
        if given.ndim < 1:
            raise ValueError(f"{self._name()}: `{name}` parameter must be at least one-dimensional, got shape "
                             f"{given.shape}")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
        self._num_events = given.shape[-1]
        super().__init__(given.shape[:-1], validate_args=validate_args)

    @lazy_property
    def logits(self) -> Tensor:
        """log(probs), the probabilities clamped to [eps, 1 - eps] first (PyTorch's probs_to_logits)."""
        return clamp_probs(self.probs).log()

    @lazy_property
    def probs(self) -> Tensor:
        """softmax(logits) over the classes."""
        return softmax(self.logits, dim=-1)

    @property
    def support(self) -> constraints.Constraint:
        """The integers 0 .. K - 1."""
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self) -> tuple:
        """batch_shape + (K,)."""
        return self.__dict__.get("probs", self.__dict__.get("logits")).shape

    @property
    def mean(self) -> Tensor:
        """NaN: classes have no mean (PyTorch's gives NaN too)."""
        return owned(np.full(self._extended_shape(), math.nan, dtype=self.probs.dtype))

    @property
    def variance(self) -> Tensor:
        """NaN, as the mean."""
        return self.mean

    @property
    def mode(self) -> Tensor:
        """The most likely class."""
        return self.probs.argmax(-1)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Class indices (int64) of shape sample_shape + batch_shape, drawn by inverting the running sum
        of probs with uniform numbers from the library's generator (no gradient)."""
        shape = self._extended_shape(sample_shape)
        running = np.cumsum(self.probs._data.astype(np.float64), axis=-1)
        uniform = draw().random(shape)
        picked = (uniform[..., None] >= running).sum(-1)
        return owned(np.minimum(picked, self._num_events - 1).astype(np.int64))

    def log_prob(self, value: Any) -> Tensor:
        """logits[..., value]: value (class indices) broadcast with batch_shape."""
        if self._validate_args:
            self._validate_sample(value)
        index = np.asarray(getattr(value, "_data", value)).astype(np.int64)[..., None]
        shape = np.broadcast_shapes(index.shape, self.logits.shape)
        logits = self.logits if self.logits.shape == shape else self.logits.expand(*shape)
        index = owned(np.ascontiguousarray(np.broadcast_to(index, shape[:-1] + (1,))))
        return logits.gather(-1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        """-sum_k p_k log p_k over the classes (logits clamped to the dtype's least number, so a class of
        probability 0 adds 0, not NaN)."""
        least = float(np.finfo(self.logits.dtype).min)
        return -(self.logits.clamp(min=least) * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """0 .. K - 1 along a new first axis (expanded over batch_shape unless `expand=False`)."""
        values = owned(np.arange(self._num_events, dtype=np.int64).reshape((-1,) + (1,) * len(self._batch_shape)))
        return values.expand(-1, *self._batch_shape) if expand else values

    def _param_tail(self, value: Tensor) -> tuple:
        return (self._num_events,)
