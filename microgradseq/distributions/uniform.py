"""`Uniform(low, high)`, PyTorch's `torch.distributions.Uniform` (torch/distributions/uniform.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import Tensor, owned
from . import constraints
from .distribution import Distribution, broadcast_all, draw


class Uniform(Distribution):
    """Uniform on [low, high), one per entry of low and high broadcast together. `rsample` is
    low + u (high - low) with u ~ U[0, 1) (gradient 1 - u to low, u to high); `log_prob` is
    -log(high - low) inside [low, high), -inf outside; `cdf` (value - low) / (high - low) clamped to
    [0, 1]; `entropy` log(high - low). With `validate_args`, low < high everywhere (else `ValueError`)."""

    arg_constraints = {"low": constraints.dependent, "high": constraints.dependent}    # (checked together below)
    has_rsample = True

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_all("Uniform", low, high)
        super().__init__(self.low.shape, validate_args=validate_args)
        if self._validate_args and not np.all(self.low._data < self.high._data):
            raise ValueError(f"Uniform: is not defined when low >= high, got low={self.low}, high={self.high}")

    @property
    def support(self) -> constraints.Constraint:
        """[low, high]."""
        return constraints.interval(self.low, self.high)

    @property
    def mean(self) -> Tensor:
        """(low + high) / 2."""
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        """NaN: every value is as likely."""
        return math.nan * self.high

    @property
    def stddev(self) -> Tensor:
        """(high - low) / sqrt 12."""
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self) -> Tensor:
        """(high - low)^2 / 12."""
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """low + u (high - low), u ~ U[0, 1) from the library's generator, in low's dtype."""
        shape = self._extended_shape(sample_shape)
        unit = owned(draw().random(shape).astype(self.low.dtype))
        return self.low + unit * (self.high - self.low)

    def log_prob(self, value: Any) -> Tensor:
        """log 1[low <= value < high] - log(high - low): -inf outside, as PyTorch's."""
        if self._validate_args:
            self._validate_sample(value)
        values = np.asarray(getattr(value, "_data", value))
        inside = (self.low._data <= values) & (self.high._data > values)
        with np.errstate(divide="ignore"):
            log_inside = owned(np.log(inside.astype(self.low.dtype)))
        return log_inside - (self.high - self.low).log()

    def cdf(self, value: Any) -> Tensor:
        """(value - low) / (high - low), clamped to [0, 1]."""
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value: Any) -> Tensor:
        """low + value (high - low)."""
        value = self._icdf_value(value)
        return self.low + value * (self.high - self.low)

    def entropy(self) -> Tensor:
        """log(high - low)."""
        return (self.high - self.low).log()
