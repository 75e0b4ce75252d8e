"""`OneHotCategorical(probs=None, logits=None)` and `Geometric(probs=None, logits=None)`, PyTorch's
(torch/distributions/one_hot_categorical.py, geometric.py): a Categorical's class as a one-hot vector,
and the number of failures before the first success of Bernoulli(p) trials."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functional.layer_functions import one_hot
from ..functional.losses import binary_cross_entropy_with_logits
from ..ops.elementwise import where
from ..tensor import Tensor, owned
from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution, broadcast_all, check_wrapped, draw


class OneHotCategorical(Distribution):
    """A Categorical (`probs` or `logits` of shape batch_shape + (K,)) whose draws are one-hot vectors
    of event_shape (K,), in the parameter's dtype. `log_prob(value)` is the Categorical's at the index
    of value's 1; `entropy` the Categorical's; mean p, variance p (1 - p), mode the most likely class
    one-hot."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits, validate_args=False)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)
        check_wrapped(self, self._categorical, probs)

    @property
    def probs(self) -> Tensor:
        """The class probabilities (normalised)."""
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        """The normalised log-probabilities."""
        return self._categorical.logits

    @property
    def param_shape(self) -> tuple:
        """batch_shape + (K,)."""
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        """p."""
        return self.probs

    @property
    def mode(self) -> Tensor:
        """one_hot(argmax p), in p's dtype."""
        return one_hot(self.probs.argmax(-1), self._event_shape[0]).to(self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        """p (1 - p)."""
        return self.probs * (1 - self.probs)

    def expand(self, batch_shape: Any) -> "OneHotCategorical":
        """The Categorical expanded to `batch_shape`."""
        new = object.__new__(OneHotCategorical)
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, new._categorical.batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """one_hot of the Categorical's sample, shape sample_shape + batch_shape + (K,), no gradient."""
        indices = self._categorical.sample(sample_shape)
        return one_hot(indices, self._event_shape[0]).to(self.probs.dtype)

    def log_prob(self, value: Any) -> Tensor:
        """log p_k, k the index of value's 1."""
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self) -> Tensor:
        """-sum_k p_k log p_k."""
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The K one-hot vectors along a new first axis (expanded over batch_shape unless `expand=False`)."""
        n = self._event_shape[0]
        values = owned(np.eye(n, dtype=self.probs.dtype).reshape((n,) + (1,) * len(self._batch_shape) + (n,)))
        return values.expand(n, *self._batch_shape, n) if expand else values

    def __repr__(self) -> str:
        return f"OneHotCategorical({self._categorical!r})"


class Geometric(Distribution):
    """P(X = k) = (1 - p)^k p, k = 0, 1, ... (failures before the first success: PyTorch's, unlike
    `t.geometric_`, which counts trials from 1), from `probs` in (0, 1] or `logits`, not both. Mean
    1/p - 1, variance (1/p - 1) / p, mode 0, entropy BCEWithLogits(logits, p) / p."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer
    logits, probs = Bernoulli.logits, Bernoulli.probs     # (the same pair of lazily computed parameters)

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Geometric: either `probs` or `logits` must be specified, but not both")
        if probs is not None:
            (self.probs,) = broadcast_all("Geometric", probs)
        else:
            (self.logits,) = broadcast_all("Geometric", logits)
        super().__init__(self.__dict__.get("probs", self.__dict__.get("logits")).shape, validate_args=validate_args)
        if self._validate_args and probs is not None and not np.all(self.probs._data > 0):
            raise ValueError(f"Geometric: expected parameter probs (Tensor of shape {tuple(self.probs.shape)}) of "
                             f"distribution {self!r} to be positive but found invalid values:\n{self.probs}")

    @property
    def mean(self) -> Tensor:
        """1/p - 1."""
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        """0."""
        return self.probs * 0.0

    @property
    def variance(self) -> Tensor:
        """(1/p - 1) / p."""
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """floor(log u / log(1 - p)), u uniform on [tiny, 1) from the library's generator; no gradient."""
        shape = self._extended_shape(sample_shape)
        probs = self.probs._data
        u = np.maximum(draw().random(shape), np.finfo(probs.dtype).tiny)
        with np.errstate(divide="ignore"):
            return owned(np.floor(np.log(u) / np.log1p(-probs)).astype(probs.dtype))

    def log_prob(self, value: Any) -> Tensor:
        """value log(1 - p) + log p (0 log 0 taken as 0 where p = 1 and value = 0)."""
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all("Geometric.log_prob", value, self.probs)
        probs = where((probs._data == 1) & (value._data == 0), 0.0, probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        """BCEWithLogits(logits, p) / p: the Bernoulli's entropy per expected trial."""
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs
