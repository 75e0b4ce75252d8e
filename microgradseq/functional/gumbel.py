"""`gumbel_softmax`, PyTorch's F.gumbel_softmax (torch/nn/functional.py): a differentiable sample of a
categorical distribution, the Gumbel-softmax (or Concrete) relaxation of Jang et al. and Maddison et al.

    g_i = -log(E_i),  E_i ~ Exponential(1)            (so g_i ~ Gumbel(0, 1))
    y_soft = softmax((logits + g) / tau)               along `dim`

argmax_i (logits_i + g_i) is a draw of the class i with probability softmax(logits)_i, and y_soft is
its smooth stand-in, sharper as tau -> 0. With `hard=True` the value is the one-hot vector of
argmax y_soft, and the gradient is y_soft's, the straight-through estimator:

    y = y_hard - detach(y_soft) + y_soft               d y / d logits = d y_soft / d logits

The noise is a constant drawn from `rng` or the library's generator (`mg.manual_seed`), as `dropout`'s
masks, so the gradient is softmax's over the noisy logits, divided by tau.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..checks import flag, is_axis, positive_number, user_stacklevel
from ..random import generator_or_default
from ..tensor import Tensor, as_tensor, owned
from .activations import softmax


def gumbel_softmax(logits: Any, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1, *,
                   rng: np.random.Generator | None = None) -> Tensor:
    """softmax((logits + g) / tau) along `dim`, g Gumbel(0, 1) noise, as PyTorch's F.gumbel_softmax; with
    `hard=True` the one-hot vector of its argmax (the first, on ties) that takes the soft sample's
    gradient. `eps` is deprecated and has no effect (a warning if it is given another value), as there."""
    where = "gumbel_softmax"
    x = as_tensor(logits)
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected floating-point logits, got dtype {x.dtype}")
    tau, hard = positive_number(tau, "tau", where), flag(hard, "hard", where)
    if not is_axis(dim, max(x.ndim, 1)):
        raise ValueError(f"{where}: dim {dim!r} is not an axis of shape {x.shape}")
    if eps != 1e-10:
        warnings.warn(f"{where}: `eps` parameter is deprecated and has no effect.", stacklevel=user_stacklevel())
    exponentials = generator_or_default(rng, where).standard_exponential(x.shape)
    gumbels = owned(-np.log(exponentials).astype(x.dtype))
    y_soft = softmax((x + gumbels) / tau, dim=dim)
    if not hard:
        return y_soft.named(where)
    axis = dim % max(x.ndim, 1)
    soft = y_soft._data.reshape(y_soft.shape or (1,))
    y_hard = np.zeros_like(soft)
    np.put_along_axis(y_hard, soft.argmax(axis=axis, keepdims=True), 1, axis=axis)
    return (owned(y_hard.reshape(x.shape)) - y_soft.detach() + y_soft).named(where)
