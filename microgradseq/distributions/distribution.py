"""`Distribution`, the base class of PyTorch's `torch.distributions` (torch/distributions/distribution.py):
shapes, argument checks, `sample` as an `rsample` without history, and PyTorch's repr.

A distribution's draws have shape `sample_shape + batch_shape + event_shape`: `batch_shape` is the
shape of its parameters (one independent distribution per entry), `event_shape` that of one draw
(`()` for the scalar ones, `(K,)` for a vector's). Its values (`log_prob`, `entropy`, `rsample`, ...) are built from
differentiable ops, so a loss made of them sends gradients to the parameters.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..checks import broadcasts_with, flag, is_int, public_name
from ..grad_mode import no_grad
from ..random import default_generator
from ..spellings import Size
from ..tensor import Tensor, get_default_dtype, owned
from . import constraints


class Distribution:
    """The base class: `batch_shape`, `event_shape`, `sample(sample_shape=())`, `rsample`, `log_prob`,
    `cdf`, `icdf`, `entropy`, `perplexity()`, `mean`, `variance`, `stddev`, as PyTorch's. With
    `validate_args` (on by default, as PyTorch's outside `python -O`) the parameters are checked
    against `arg_constraints` when it is made, and values against `support` in `log_prob` and `cdf`
    (`ValueError` naming the distribution, the parameter and what came)."""

    has_rsample = False
    _validate_args = __debug__
    arg_constraints: dict = {}

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Switch argument checks on or off for every distribution made later, as PyTorch's."""
        Distribution._validate_args = flag(value, "value", "Distribution.set_default_validate_args")

    def __init__(self, batch_shape: Any = (), event_shape: Any = (), validate_args: bool | None = None) -> None:
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        if validate_args is not None:
            self._validate_args = flag(validate_args, "validate_args", type(self).__name__)
        if self._validate_args:
            self._check_parameters(self.__dict__)

    def _check_parameters(self, parameters: dict) -> None:
        """Each parameter named in `arg_constraints` and given in `parameters` must satisfy its constraint
        (a distribution that keeps its parameters in an inner one passes them here itself)."""
        for name, constraint in self.arg_constraints.items():
            if name not in parameters or constraint is constraints.dependent:
                continue            # (computed later from the other parameter, or set by the others: as PyTorch)
            value = parameters[name]
            if not np.all(constraint.check(value)):
                raise ValueError(f"{self._name()}: expected parameter {name} ({type(value).__name__} of "
                                 f"shape {tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                                 f"{constraint!r}, but found invalid values:\n{value}")

    @property
    def batch_shape(self) -> Size:
        """The shape over which the parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        """The shape of one draw."""
        return self._event_shape

    @property
    def support(self) -> Any:
        """The set the draws live in (a `constraints.Constraint`)."""
        raise NotImplementedError(f"{type(self).__name__}: has no support defined")

    @property
    def mean(self) -> Tensor:
        """The mean."""
        raise NotImplementedError(f"{type(self).__name__}: has no mean defined")

    @property
    def mode(self) -> Tensor:
        """The most likely value."""
        raise NotImplementedError(f"{type(self).__name__}: has no mode defined")

    @property
    def variance(self) -> Tensor:
        """The variance."""
        raise NotImplementedError(f"{type(self).__name__}: has no variance defined")

    @property
    def stddev(self) -> Tensor:
        """The standard deviation, sqrt(variance)."""
        return self.variance.sqrt()

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """A draw of shape `sample_shape + batch_shape + event_shape`, without history (an `rsample` under
        `no_grad`), from the generator `mg.manual_seed` seeds."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """A reparameterised draw: a differentiable function of the parameters and noise."""
        raise NotImplementedError(f"{type(self).__name__}: has no reparameterised sample (rsample); use sample")

    def log_prob(self, value: Any) -> Tensor:
        """log p(value)."""
        raise NotImplementedError(f"{type(self).__name__}: has no log_prob defined")

    def cdf(self, value: Any) -> Tensor:
        """P(X <= value)."""
        raise NotImplementedError(f"{type(self).__name__}: has no cdf defined")

    def icdf(self, value: Any) -> Tensor:
        """The inverse of cdf: the x with P(X <= x) = value."""
        raise NotImplementedError(f"{type(self).__name__}: has no icdf defined")

    def entropy(self) -> Tensor:
        """The entropy -E[log p(X)], one per batch entry."""
        raise NotImplementedError(f"{type(self).__name__}: has no entropy defined")

    def perplexity(self) -> Tensor:
        """exp(entropy())."""
        return self.entropy().exp()

    def expand(self, batch_shape: Any) -> "Distribution":
        """The same distribution over a larger `batch_shape` (the parameters expanded, not checked again)."""
        batch_shape = Size(batch_shape)
        new = object.__new__(type(self))
        new.__dict__.update({name: value.expand(*(batch_shape + self._param_tail(value)))
                             if isinstance(value, Tensor) else value for name, value in self.__dict__.items()})
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _param_tail(self, value: Tensor) -> tuple:
        """The axes of a parameter past the batch's (a Categorical's classes)."""
        return tuple(value.shape[len(self._batch_shape):])

    def _extended_shape(self, sample_shape: Any = ()) -> Size:
        """sample_shape + batch_shape + event_shape: the shape of a draw."""
        if not isinstance(sample_shape, (tuple, list)) or not all(is_int(n) and n >= 0 for n in sample_shape):
            raise TypeError(f"{self._name()}: sample_shape must be a tuple of sizes (a torch.Size), such as "
                            f"(10,), got {sample_shape!r}")
        return Size(tuple(sample_shape) + self._batch_shape + self._event_shape)

    def _name(self) -> str:
        """For an error: the distribution the user's line made or called (`HalfNormal`, not the `Normal` it
        wraps), or this one's class. Walks the stack: call it only on the error path."""
        return public_name(type(self).__name__).split(".")[0]

    def _icdf_value(self, value: Any) -> Any:
        """`value` for `icdf`: a number, or a tensor of probabilities that broadcasts with batch_shape +
        event_shape; anything else is an error naming the distribution's icdf (not the op it fails in)."""
        if isinstance(value, Tensor):
            expected = tuple(self._batch_shape + self._event_shape)
            if not broadcasts_with(value.shape, expected):
                raise ValueError(f"{self._name()}.icdf: value of shape {value.shape} is not broadcastable with "
                                 f"batch_shape+event_shape {expected}")
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return value
        raise TypeError(f"{self._name()}.icdf: expected value a tensor (or a number) of probabilities, got "
                        f"{type(value).__name__}")

    def _validate_sample(self, value: Any) -> None:
        """`value` must be a tensor that broadcasts with batch_shape + event_shape, inside the support."""
        if not isinstance(value, Tensor):
            raise ValueError(f"{self._name()}: the value argument to log_prob must be a Tensor, got "
                             f"{type(value).__name__}")
        if value.dtype.kind == "c" and getattr(self.support, "is_discrete", False):
            raise TypeError(f"{self._name()}: expected the value argument to log_prob a real tensor of outcomes in "
                            f"the support ({self.support!r}), got dtype {value.dtype}")
        expected = self._batch_shape + self._event_shape
        if any(i != 1 and j != 1 and i != j for i, j in zip(reversed(value.shape), reversed(expected))):
            raise ValueError(f"{self._name()}: value is not broadcastable with batch_shape+event_shape: "
                             f"{value.shape} vs {tuple(expected)}")
        if not np.all(self.support.check(value)):
            raise ValueError(f"{self._name()}: expected value argument ({type(value).__name__} of shape "
                             f"{tuple(value.shape)}) to be within the support ({self.support!r}) of the "
                             f"distribution {self!r}, but found invalid values:\n{value}")

    def __repr__(self) -> str:
        shown = [f"{name}: {value if value.numel() == 1 else value.shape}"
                 for name, value in self.__dict__.items() if name in self.arg_constraints]
        return f"{type(self).__name__}({', '.join(shown)})"


class lazy_property:
    """A parameter computed from the other one when first read, then kept (PyTorch's: a Categorical
    made from probs has logits = log(probs) only once they are asked for)."""

    def __init__(self, compute: Any) -> None:
        self.compute, self.__doc__ = compute, compute.__doc__

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.compute.__name__] = self.compute(instance)
        return value


def broadcast_all(where: str, *values: Any) -> list[Tensor]:
    """Numbers and tensors broadcast to one shape, as PyTorch's `broadcast_all`: numbers become tensors
    of the first tensor's dtype (the default float dtype if all are numbers); `expand`, so gradients
    flow back to each. Anything else: `TypeError` naming `where`."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    for value in values:
        if not isinstance(value, Tensor) and not isinstance(value, numbers.Real):
            raise TypeError(f"{where}: expected numbers or tensors as parameters, got {type(value).__name__}")
    dtype = tensors[0].dtype if tensors else get_default_dtype()
    made = [v if isinstance(v, Tensor) else owned(np.asarray(v, dtype=dtype)) for v in values]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in made))
    except ValueError:
        raise ValueError(f"{where}: parameters of shapes {', '.join(str(t.shape) for t in made)} cannot be broadcast "
                         "together") from None
    return [t if t.shape == shape else t.expand(*shape) for t in made]


def sum_rightmost(value: Any, dim: int) -> Any:
    """value summed over its last `dim` axes (PyTorch's `_sum_rightmost`): an event's log-density from
    those of its independent entries. dim = 0: value itself."""
    return value.sum(tuple(range(-dim, 0))) if dim > 0 else value


def clamp_probs(probs: Tensor) -> Tensor:
    """probs clamped to [eps, 1 - eps], eps the dtype's machine epsilon (PyTorch's `clamp_probs`), so that
    log p and log(1 - p) stay finite."""
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def binary_logits(probs: Tensor) -> Tensor:
    """log p - log(1 - p) of the clamped probabilities (PyTorch's `probs_to_logits(probs, is_binary=True)`)."""
    clamped = clamp_probs(probs)
    return clamped.log() - (-clamped).log1p()


def check_wrapped(dist: Distribution, inner: Any, probs: Any) -> None:
    """With dist's validate_args, the given parameter (probs, else logits), which `inner` (a Categorical
    or a Bernoulli-like base) keeps, checked against dist's constraints under dist's name."""
    if dist._validate_args:
        name = "probs" if probs is not None else "logits"
        dist._check_parameters({name: getattr(inner, name)})


def draw() -> np.random.Generator:
    """The generator draws come from: the library's, which `mg.manual_seed` reseeds."""
    return default_generator()
