"""The sets a distribution's parameters and samples live in, as PyTorch's `torch.distributions.constraints`
(torch/distributions/constraints.py): each checks an array entry by entry (`check(values)` gives a bool
array) and prints as PyTorch's does (`GreaterThan(lower_bound=0.0)`), so an error names the set."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


class Constraint:
    """A set of values: `check(values)`, a bool numpy array (over the event's axes when `event_dim` is
    1: one answer per vector), and PyTorch's name for it."""

    def __init__(self, name: str, check: Callable[[np.ndarray], np.ndarray], event_dim: int = 0,
                 is_discrete: bool = False) -> None:
        self._name, self._check, self.event_dim, self.is_discrete = name, check, event_dim, is_discrete

    def check(self, value: Any) -> np.ndarray:
        """Whether each entry (each vector when `event_dim` is 1) of `value` is in the set."""
        return self._check(np.asarray(getattr(value, "_data", value)))

    def __repr__(self) -> str:
        return self._name


def _no_nan(x: np.ndarray) -> np.ndarray:
    return x == x


def _simplex(x: np.ndarray) -> np.ndarray:
    return np.all(x >= 0, axis=-1) & (np.abs(x.sum(-1) - 1) < 1e-6)


real = Constraint("Real()", _no_nan)
real_vector = Constraint("IndependentConstraint(Real(), 1)", lambda x: np.all(x == x, axis=-1), event_dim=1)
positive = Constraint("GreaterThan(lower_bound=0.0)", lambda x: x > 0)
unit_interval = Constraint("Interval(lower_bound=0.0, upper_bound=1.0)", lambda x: (x >= 0) & (x <= 1))
half_open_unit_interval = Constraint("HalfOpenInterval(lower_bound=0.0, upper_bound=1.0)", lambda x: (x >= 0) & (x < 1))
simplex = Constraint("Simplex()", _simplex, event_dim=1)
boolean = Constraint("Boolean()", lambda x: (x == 0) | (x == 1), is_discrete=True)
dependent = Constraint("Dependent()", lambda x: np.ones(x.shape, dtype=bool))    # (set by other parameters:
                                                                              # not checked alone)


def integer_interval(lower_bound: int, upper_bound: int) -> Constraint:
    """The integers lower_bound .. upper_bound (a Categorical's classes)."""
    return Constraint(f"IntegerInterval(lower_bound={lower_bound}, upper_bound={upper_bound})",
                      lambda x: (x % 1 == 0) & (lower_bound <= x) & (x <= upper_bound), is_discrete=True)


def interval(lower_bound: Any, upper_bound: Any) -> Constraint:
    """The closed interval [lower_bound, upper_bound] (arrays: entry by entry, broadcast)."""
    low, high = (np.asarray(getattr(b, "_data", b)) for b in (lower_bound, upper_bound))
    return Constraint(f"Interval(lower_bound={low}, upper_bound={high})", lambda x: (low <= x) & (x <= high))


def _lower_cholesky(x: np.ndarray) -> np.ndarray:
    lower = np.all(np.triu(x, 1) == 0, axis=(-2, -1))
    return lower & np.all(np.diagonal(x, axis1=-2, axis2=-1) > 0, axis=-1)


def _positive_definite(x: np.ndarray) -> np.ndarray:
    symmetric = np.all(np.abs(x - np.swapaxes(x, -2, -1)) <= 1e-6 * (1 + np.abs(x)), axis=(-2, -1))
    return symmetric & np.all(np.linalg.eigvalsh(x) > 0, axis=-1)


def _one_hot(x: np.ndarray) -> np.ndarray:
    return np.all((x == 0) | (x == 1), axis=-1) & (x.sum(-1) == 1)


nonnegative = Constraint("GreaterThanEq(lower_bound=0.0)", lambda x: x >= 0)
nonnegative_integer = Constraint("IntegerGreaterThan(lower_bound=0)", lambda x: (x % 1 == 0) & (x >= 0),
                                 is_discrete=True)
one_hot = Constraint("OneHot()", _one_hot, event_dim=1, is_discrete=True)
lower_cholesky = Constraint("LowerCholesky()", _lower_cholesky, event_dim=2)
positive_definite = Constraint("PositiveDefinite()", _positive_definite, event_dim=2)


def greater_than_eq(lower_bound: Any) -> Constraint:
    """[lower_bound, inf) (arrays: entry by entry, broadcast): a Pareto's support."""
    low = np.asarray(getattr(lower_bound, "_data", lower_bound))
    return Constraint(f"GreaterThanEq(lower_bound={low})", lambda x: x >= low)


def independent(base: Constraint, reinterpreted_batch_ndims: int) -> Constraint:
    """`base` on each of the last `reinterpreted_batch_ndims` axes at once: one answer per event."""
    axes = tuple(range(-reinterpreted_batch_ndims, 0))      # (base's check has already removed its event axes)
    return Constraint(f"IndependentConstraint({base!r}, {reinterpreted_batch_ndims})",
                      lambda x: np.all(base._check(x), axis=axes) if axes else base._check(x),
                      event_dim=base.event_dim + reinterpreted_batch_ndims, is_discrete=base.is_discrete)


def multinomial(upper_bound: int) -> Constraint:
    """Vectors of non-negative entries summing to at most `upper_bound` (a Multinomial's counts)."""
    return Constraint(f"Multinomial(upper_bound={upper_bound})",
                      lambda x: np.all(x >= 0, axis=-1) & (x.sum(-1) <= upper_bound), event_dim=1, is_discrete=True)
