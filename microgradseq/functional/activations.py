"""Softmax and the activations written with primitives: `softmax`, `log_softmax` (one op,
`ops.softmax`), `gelu`. (`relu`, `sigmoid` and `tanh` are the ops themselves.)"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..checks import is_axis
from ..ops import exp, sum, tanh
from ..spellings import either
from ..tensor import Tensor, as_tensor


def _shifted(x: Tensor, axis: int) -> Tensor:
    """x - max(x) along axis; the max is held constant (it cancels in softmax)."""
    return x - x._data.max(axis=axis, keepdims=True)


def softmax(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m), along `axis` (or `dim`; the last by default)."""
    axis = either("softmax", "axis", axis, "dim", dim, -1)
    x = x if type(x) is Tensor else as_tensor(x)
    if x.ndim == 0 and is_axis(axis, 1):    # a 0-d tensor's dim 0 (or -1), as PyTorch's: its one entry, 1
        return x.softmax(axis)
    if not is_axis(axis, x.ndim):
        raise ValueError(f"softmax: axis {axis!r} is not an axis of shape {x.shape}")
    if x.shape[axis] == 0:
        return exp(x)                       # nothing to normalise: an empty result, as PyTorch's
    e = exp(_shifted(x, axis))
    return e / sum(e, axis=axis, keepdims=True)


def log_softmax(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """log softmax(x)_i = (x_i - m) - log sum_j e^(x_j - m);   one op (`ops.log_softmax`)."""
    return ops.log_softmax(x, either("log_softmax", "axis", axis, "dim", dim, -1))


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal's distribution function, as PyTorch's F.gelu:

        approximate="none":  x (1 + erf(x / sqrt 2)) / 2
        approximate="tanh":  x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2

    Written with primitives (erf or tanh, mul, add): the chain rule gives its derivative,
    Phi(x) + x phi(x) for the exact form."""
    x = as_tensor(input)
    if x.dtype.kind != "f":
        raise TypeError(f"gelu: expected a floating-point tensor, got dtype {x.dtype}")
    if x.dtype == np.float16 and approximate in ("none", "tanh"):      # (x^3 would overflow half from 41)
        return ops.astype(gelu(ops.astype(x, np.float32), approximate), np.float16)
    if approximate == "none":
        return x * (ops.erf(x * (1 / math.sqrt(2))) + 1) * 0.5
    if approximate == "tanh":
        return x * (tanh((x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)) + 1) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
