"""`TransformedDistribution(base_distribution, transforms)`, PyTorch's
(torch/distributions/transformed_distribution.py): Y = f(X) for X from the base and f the transforms
applied in order, with the change of variables

    log p_Y(y) = log p_X(x) - sum_t log|det dt(x_t)/dx_t|,    x = f^-1(y)

(each term summed over the event's axes). A normalising flow, a LogNormal (exp of a Normal) and a
tanh-squashed Gaussian policy are all this.
"""

from __future__ import annotations

from typing import Any

from ..grad_mode import no_grad
from ..tensor import Tensor
from .distribution import Distribution, sum_rightmost
from .transforms import ComposeTransform, Transform


class TransformedDistribution(Distribution):
    """The base distribution pushed through `transforms` (one Transform or a list). `event_shape` has
    the larger of the base's event axes and the transforms' `event_dim`; `sample`/`rsample` apply the
    transforms to the base's draw (`rsample` only if the base has one); `log_prob` inverts them and adds
    the log-Jacobians; `cdf` and `icdf` go through the base's, flipped where the map decreases."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, transforms: Any, validate_args: bool | None = None) -> None:
        if not isinstance(base_distribution, Distribution):
            raise TypeError(f"{type(self).__name__}: expected base_distribution to be a Distribution, got "
                            f"{type(base_distribution).__name__}")
        if isinstance(transforms, Transform):
            transforms = [transforms]
        if not isinstance(transforms, list) or not all(isinstance(t, Transform) for t in transforms):
            raise ValueError(f"{type(self).__name__}: transforms must be a Transform or a list of Transforms, got "
                             f"{transforms!r}")
        base_shape = base_distribution.batch_shape + base_distribution.event_shape
        transform = ComposeTransform(transforms)
        if len(base_shape) < transform.domain.event_dim:    # (a Transform without a domain stops here, as PyTorch's)
            raise ValueError(f"{type(self).__name__}: base_distribution needs to have shape with size at least "
                             f"{transform.domain.event_dim}, but got {tuple(base_shape)}")
        self.base_dist, self.transforms = base_distribution, transforms
        shape = transform.forward_shape(base_shape)      # (a stick-breaking map adds an entry)
        event_dim = max([len(base_distribution.event_shape)] + [t.event_dim for t in transforms])
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:], validate_args=validate_args)

    @property
    def has_rsample(self) -> bool:
        """The base's."""
        return self.base_dist.has_rsample

    @property
    def support(self) -> Any:
        """The last transform's codomain (the base's support when there are none)."""
        return self.transforms[-1].codomain if self.transforms else self.base_dist.support

    def expand(self, batch_shape: Any) -> "TransformedDistribution":
        """The base expanded so the batch is `batch_shape` (parameters of subclasses expanded too)."""
        new = super().expand(batch_shape)
        shape = ComposeTransform(self.transforms).inverse_shape(new.batch_shape + self.event_shape)
        new.base_dist = self.base_dist.expand(shape[:len(shape) - len(self.base_dist.event_shape)])
        return new

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """The transforms applied to the base's sample, without history."""
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for transform in self.transforms:
                x = transform(x)
            return x

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """The transforms applied to the base's rsample."""
        x = self.base_dist.rsample(sample_shape)
        for transform in self.transforms:
            x = transform(x)
        return x

    def log_prob(self, value: Any) -> Tensor:
        """log p_X(f^-1(value)) - sum of log|det J| of each transform at its input."""
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self.event_shape)
        log_prob, y = 0.0, value
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            log_prob = log_prob - sum_rightmost(transform.log_abs_det_jacobian(x, y), event_dim - transform.event_dim)
            y = x
        return log_prob + sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value: Any) -> Any:
        """value, or 1 - value where the composed map decreases (sign -1)."""
        sign = ComposeTransform(self.transforms).sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value: Any) -> Tensor:
        """The base's cdf at f^-1(value), as 1 - it where f decreases."""
        if self._validate_args:
            self._validate_sample(value)
        for transform in reversed(self.transforms):
            value = transform.inv(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value: Any) -> Tensor:
        """f(the base's icdf at value, or at 1 - value where f decreases)."""
        value = self._icdf_value(value)
        value = self.base_dist.icdf(self._monotonize_cdf(value))
        for transform in self.transforms:
            value = transform(value)
        return value
