"""`Normal(loc, scale)`, PyTorch's `torch.distributions.Normal` (torch/distributions/normal.py)."""

from __future__ import annotations

import math
from typing import Any

from ..ops.elementwise import erf
from ..ops.error_functions import erfinv
from ..tensor import Tensor, owned
from . import constraints
from .distribution import Distribution, broadcast_all, draw


class Normal(Distribution):
    """N(loc, scale^2), one per entry of loc and scale broadcast together (a number each: batch_shape
    ()). `rsample` is loc + eps * scale with eps ~ N(0, 1) (the reparameterisation: its gradient
    reaches loc, 1, and scale, eps); `log_prob`, `cdf` and `entropy` are the closed forms below."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all("Normal", loc, scale)
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
        """scale."""
        return self.scale

    @property
    def variance(self) -> Tensor:
        """scale^2."""
        return self.scale ** 2

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """loc + eps * scale, eps ~ N(0, 1) of shape sample_shape + batch_shape, in loc's dtype:
        d/dloc = 1, d/dscale = eps."""
        shape = self._extended_shape(sample_shape)
        eps = owned(draw().standard_normal(shape).astype(self.loc.dtype))
        return self.loc + eps * self.scale

    def log_prob(self, value: Any) -> Tensor:
        """-(value - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi)."""
        if self._validate_args:
            self._validate_sample(value)
        return -((value - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value: Any) -> Tensor:
        """(1 + erf((value - loc) / (scale sqrt 2))) / 2."""
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value: Any) -> Tensor:
        """loc + scale erfinv(2 value - 1) sqrt 2."""
        value = self._icdf_value(value)
        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self) -> Tensor:
        """1/2 + log(2 pi) / 2 + log scale."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
