"""Tensors made from nothing: zeros, ones, randn."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import is_finite_number
from .random import generator_or_default
from .tensor import Tensor, get_default_dtype, owned


def _shape(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: `zeros(2, 3)` or `zeros((2, 3))`."""
    return owned(np.zeros(_shape(shape), dtype=dtype or get_default_dtype()), requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: `ones(2, 3)` or `ones((2, 3))`."""
    return owned(np.ones(_shape(shape), dtype=dtype or get_default_dtype()), requires_grad)


def randn(*shape: Any, rng: np.random.Generator | None = None, dtype: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples, from `rng` or the generator `manual_seed` sets."""
    rng = generator_or_default(rng, "randn")
    data = rng.standard_normal(_shape(shape)).astype(dtype or get_default_dtype())
    return owned(data, requires_grad)


# ---- PyTorch's creation functions: arange, full, zeros_like, ones_like, rand, multinomial ----------

def _fill_dtype(value: Any) -> np.dtype:
    """The dtype PyTorch gives a tensor of `value`: bool, int64 for integers, the default float dtype."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(value, (complex, np.complexfloating)):
        return np.dtype(np.complex128)
    return get_default_dtype()


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """start, start + step, ... up to but not including end (`arange(n)`: 0 .. n - 1); int64 when every
    bound is an integer, else the default float dtype, as PyTorch's."""
    if end is None:
        start, end = 0, start
    if not all(is_finite_number(v) for v in (start, end, step)) or step == 0:
        raise ValueError(f"arange: start, end and step must be finite numbers and step not 0, got "
                         f"start={start!r}, end={end!r}, step={step!r}")
    integers = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end, step))
    dtype = dtype or (np.int64 if integers else get_default_dtype())
    return owned(np.arange(start, end, step, dtype=dtype), requires_grad)


def full(size: Any, fill_value: Any, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape `size` with every element `fill_value` (its dtype as PyTorch infers it)."""
    return owned(np.full(_shape((size,)), fill_value, dtype=dtype or _fill_dtype(fill_value)), requires_grad)


def _like_shape_dtype(like: Any, dtype: Any) -> tuple[tuple, np.dtype]:
    data = like._data if isinstance(like, Tensor) else np.asarray(like)
    return data.shape, np.dtype(dtype) if dtype is not None else data.dtype


def zeros_like(like: Any, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of `like`'s shape and dtype (or `dtype`)."""
    shape, dtype = _like_shape_dtype(like, dtype)
    return owned(np.zeros(shape, dtype=dtype), requires_grad)


def ones_like(like: Any, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of `like`'s shape and dtype (or `dtype`)."""
    shape, dtype = _like_shape_dtype(like, dtype)
    return owned(np.ones(shape, dtype=dtype), requires_grad)


def rand(*shape: Any, rng: np.random.Generator | None = None, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Samples from uniform[0, 1), from `rng` or the generator `manual_seed` sets."""
    rng = generator_or_default(rng, "rand")
    return owned(rng.random(_shape(shape)).astype(dtype or get_default_dtype()), requires_grad)


def multinomial(probs: Any, num_samples: int, replacement: bool = False, *,
                rng: np.random.Generator | None = None) -> Tensor:
    """`num_samples` category indices drawn with probabilities proportional to `probs` (weights (C,) or one
    row per draw (B, C): then (B, num_samples)), without replacement unless `replacement`; int64, as
    PyTorch's. Draws from `rng` or the generator `manual_seed` sets."""
    weights = np.asarray(probs._data if isinstance(probs, Tensor) else probs, dtype=np.float64)
    if weights.ndim not in (1, 2) or weights.shape[-1] == 0:
        raise ValueError(f"multinomial: expected weights of shape (C,) or (B, C), got shape {weights.shape}")
    if not (isinstance(num_samples, (int, np.integer)) and not isinstance(num_samples, bool) and num_samples > 0):
        raise ValueError(f"multinomial: num_samples must be a positive integer, got {num_samples!r}")
    rows = weights.reshape(-1, weights.shape[-1])
    if not np.all(np.isfinite(rows)) or np.any(rows < 0) or np.any(rows.sum(axis=-1) <= 0):
        raise ValueError("multinomial: weights must be finite and non-negative, with a positive sum in every row")
    if not replacement and np.any((rows > 0).sum(axis=-1) < num_samples):
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from rows with "
                         f"fewer categories of non-zero weight ({(rows > 0).sum(axis=-1).min()})")
    rng = generator_or_default(rng, "multinomial")
    draws = np.stack([rng.choice(len(row), size=num_samples, replace=bool(replacement), p=row / row.sum())
                      for row in rows]).astype(np.int64)
    return owned(draws.reshape(weights.shape[:-1] + (num_samples,)))
