"""`Bernoulli(probs=None, logits=None)`, PyTorch's `torch.distributions.Bernoulli`
(torch/distributions/bernoulli.py): 1 with probability p, 0 otherwise."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functional.losses import binary_cross_entropy_with_logits
from ..ops.elementwise import sigmoid
from ..tensor import Tensor, owned
from . import constraints
from .distribution import Distribution, binary_logits, broadcast_all, draw, lazy_property


class Bernoulli(Distribution):
    """1 with probability `probs` (in [0, 1]) or sigmoid(`logits`), not both, one per entry (a number:
    batch_shape ()); the other is computed when first read (logits = log p - log(1 - p), p clamped
    to [eps, 1 - eps]). `sample` gives 0.0 and 1.0 in the parameter's dtype (no gradient);
    `log_prob(value)` is -BCEWithLogits(logits, value) = value log p + (1 - value) log(1 - p), and
    `entropy` BCEWithLogits(logits, p)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Bernoulli: either `probs` or `logits` must be specified, but not both")
        if probs is not None:
            (self.probs,) = broadcast_all("Bernoulli", probs)
        else:
            (self.logits,) = broadcast_all("Bernoulli", logits)
        super().__init__(self.__dict__.get("probs", self.__dict__.get("logits")).shape, validate_args=validate_args)

    @lazy_property
    def logits(self) -> Tensor:
        """log p - log(1 - p), p clamped to [eps, 1 - eps] (PyTorch's probs_to_logits, is_binary)."""
        return binary_logits(self.probs)

    @lazy_property
    def probs(self) -> Tensor:
        """sigmoid(logits)."""
        return sigmoid(self.logits)

    @property
    def mean(self) -> Tensor:
        """p."""
        return self.probs

    @property
    def mode(self) -> Tensor:
        """1 where p > 1/2, 0 where p < 1/2, NaN at p = 1/2 (either), as PyTorch's."""
        probs = self.probs._data
        return owned(np.where(probs == 0.5, np.nan, probs > 0.5).astype(probs.dtype))

    @property
    def variance(self) -> Tensor:
        """p (1 - p)."""
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """0.0 or 1.0 (in the parameter's dtype), 1 where a uniform number from the library's generator
        falls below p; shape sample_shape + batch_shape, no gradient."""
        shape = self._extended_shape(sample_shape)
        probs = self.probs._data
        return owned((draw().random(shape) < probs).astype(probs.dtype))

    def log_prob(self, value: Any) -> Tensor:
        """value log p + (1 - value) log(1 - p), from the logits (no log of 0)."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all("Bernoulli.log_prob", self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        """-p log p - (1 - p) log(1 - p)."""
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """0.0 and 1.0 along a new first axis (expanded over batch_shape unless `expand=False`)."""
        dtype = self.__dict__.get("probs", self.__dict__.get("logits")).dtype
        values = owned(np.arange(2, dtype=dtype).reshape((-1,) + (1,) * len(self._batch_shape)))
        return values.expand(-1, *self._batch_shape) if expand else values
