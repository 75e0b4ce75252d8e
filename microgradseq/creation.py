"""Tensors made from nothing: zeros, ones, randn."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import generator
from .random import default_generator
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
    rng = generator(rng, "randn") or default_generator()
    data = rng.standard_normal(_shape(shape)).astype(dtype or get_default_dtype())
    return owned(data, requires_grad)
