"""PyTorch's trapezoidal rule: `mg.trapezoid(y, x=None, *, dx=None, dim=-1)` and
`mg.cumulative_trapezoid(...)`, the integral of y sampled at x along `dim`, whole or up to each sample
(numpy's `np.trapezoid` and scipy's `cumulative_trapezoid`), as PyTorch's
aten/src/ATen/native/Integration.cpp:

    trapezoid = sum_i (x_{i+1} - x_i) (y_i + y_{i+1}) / 2        (x_{i+1} - x_i = dx, 1 by default)

A 1-d x is laid along `dim`; an x of fewer axes than y gets leading axes of size 1; then x's and y's
differences along `dim` broadcast together (not x against y), as numpy's. With a constant spacing,
trapezoid is (sum y - (y_first + y_last) / 2) dx, PyTorch's form. Composites of indexing, `add`,
`mul`, `sum` and `cumsum`, so the gradients, to y and to x, are the chain rule's.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..tensor import Tensor, as_tensor, owned
from . import elementwise as ew
from .methods import _axis
from .reduce import cumsum, sum
from .shape import _along, getitem, reshape


def _samples(name: str, y: Any, x: Any, dx: Any, dim: int) -> tuple[Tensor, Any, int]:
    """y as a tensor, the spacing (a number, or x's differences along `dim` laid out against y's), and
    dim as an axis of y."""
    y = y if isinstance(y, Tensor) else as_tensor(y, where=name)
    axis = _axis(name, dim, y.ndim)
    if x is not None and dx is not None:
        raise TypeError(f"{name}: expected x or dx, not both (got x of shape {np.shape(x)} and dx={dx!r})")
    if y.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected a real (not bool or complex) y, got dtype {y.dtype}")
    if x is None:
        spacing = 1 if dx is None else dx
        if not isinstance(spacing, numbers.Real) or isinstance(spacing, (bool, np.bool_)):
            raise TypeError(f"{name}: dx must be a real number, got {dx!r}")
        return y, spacing, axis
    x = x if isinstance(x, Tensor) else as_tensor(x, where=name)
    if x.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected a real (not bool or complex) x, got dtype {x.dtype}")
    if x.ndim == 1:
        if x.shape[0] != y.shape[axis]:
            raise ValueError(f"{name}: expected one x per sample point ({y.shape[axis]} along dim {dim} of y's "
                             f"shape {y.shape}), got {x.shape[0]}")
        x = reshape(x, tuple(x.shape[0] if a == axis else 1 for a in range(y.ndim)))
    elif x.ndim < y.ndim:
        x = reshape(x, (1,) * (y.ndim - x.ndim) + x.shape)
    if axis >= x.ndim:
        raise ValueError(f"{name}: x of shape {x.shape} has no dim {dim} (y's shape {y.shape})")
    return y, ew.sub(getitem(x, _along(axis, slice(1, None))), getitem(x, _along(axis, slice(None, -1)))), axis


def _pair_sums(name: str, y: Tensor, spacing: Any, axis: int) -> Tensor:
    """(y_i + y_{i+1}) times the spacing, for each neighbouring pair along `axis`."""
    pairs = ew.add(getitem(y, _along(axis, slice(None, -1))), getitem(y, _along(axis, slice(1, None))))
    try:
        return ew.mul(pairs, spacing)
    except ValueError:
        raise ValueError(f"{name}: the differences of y (shape {pairs.shape}) and of x (shape {spacing.shape}) "
                         "along dim do not broadcast together") from None


def trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along `dim`: sum_i (x_{i+1} - x_i)(y_i + y_{i+1}) / 2, with spacing dx (1 by
    default) when x is not given, as torch.trapezoid (numpy's trapezoid); `dim` removed. Zero samples
    give zeros in y's dtype, as PyTorch's."""
    y, spacing, axis = _samples("trapezoid", y, x, dx, dim)
    if y.shape[axis] == 0:
        return owned(np.zeros(y.shape[:axis] + y.shape[axis + 1:], y.dtype))
    if not isinstance(spacing, Tensor):
        ends = ew.add(getitem(y, _along(axis, 0)), getitem(y, _along(axis, -1)))
        return ew.mul(ew.sub(sum(y, axis), ew.mul(ends, 0.5)), spacing)
    return ew.div(sum(_pair_sums("trapezoid", y, spacing, axis), axis), 2.0)


def cumulative_trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule up to each sample after the first along `dim` (one fewer along it), as
    torch.cumulative_trapezoid: the running sum (`cumsum`) of trapezoid's terms."""
    y, spacing, axis = _samples("cumulative_trapezoid", y, x, dx, dim)
    if not isinstance(spacing, Tensor):
        return cumsum(_pair_sums("cumulative_trapezoid", y, spacing / 2, axis), axis)
    return ew.div(cumsum(_pair_sums("cumulative_trapezoid", y, spacing, axis), axis), 2.0)
