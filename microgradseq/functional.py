"""Softmax and losses.

`softmax` and the losses are written with primitive ops: their gradients need
no rule of their own. `log_softmax` is a primitive (`ops.softmax` says why:
it keeps one array instead of three), and cross-entropy with class targets
picks each row's log-probability with `gather`.
All are stable for large logits: they subtract the row maximum first
(log-sum-exp), a constant that cancels out of every formula below.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .ops import exp, sum
from .ops.losses import cross_entropy as cross_entropy_op
from .tensor import Tensor, as_tensor

_REDUCTIONS = ("mean", "sum", "none")


def _shifted(x: Tensor, axis: int) -> Tensor:
    """x - max(x) along axis; the max is held constant (it cancels in softmax)."""
    return x - x._data.max(axis=axis, keepdims=True)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m)."""
    x = x if type(x) is Tensor else as_tensor(x)
    e = exp(_shifted(x, axis))
    return e / sum(e, axis=axis, keepdims=True)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """log softmax(x)_i = (x_i - m) - log sum_j e^(x_j - m);   one op (`ops.log_softmax`)."""
    return ops.log_softmax(x, axis)


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W^T + b, as PyTorch's F.linear (W of shape (out, in)); one node."""
    return ops.linear(x, weight, bias)


def _reduce(losses: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def cross_entropy(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """-sum_c p_c log softmax(logits)_c per row, with p one-hot (class indices) or given.

    logits (B, C) (or (C,)); target: integer classes (B,) or probabilities (B, C).
    """
    logits = as_tensor(logits)
    target_array = np.asarray(target._data if isinstance(target, Tensor) else target)
    if target_array.dtype.kind in "iu":
        if target_array.shape != logits.shape[:-1]:
            raise ValueError(
                f"cross_entropy: class targets of shape {target_array.shape} do not match "
                f"logits of shape {logits.shape} (expected {logits.shape[:-1]})")
        classes = logits.shape[-1]
        if target_array.size and (target_array.min() < 0 or target_array.max() >= classes):
            raise ValueError(f"cross_entropy: class targets must lie in [0, {classes}), "
                             f"got values from {target_array.min()} to {target_array.max()}")
        if reduction in ("sum", "mean"):       # one node (ops/losses.py), the same value and gradient
            return cross_entropy_op(logits, target_array, reduction == "mean")
        losses = -ops.gather(log_softmax(logits, axis=-1), target_array)
    else:
        if target_array.shape != logits.shape:
            raise ValueError(f"cross_entropy: probability targets of shape {target_array.shape} "
                             f"do not match logits of shape {logits.shape}")
        losses = -(log_softmax(logits, axis=-1) * target_array.astype(logits.dtype)).sum(axis=-1)
    return _reduce(losses, reduction, "cross_entropy")


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(pred - target)^2, averaged or summed over every element."""
    pred = as_tensor(pred)
    target = as_tensor(target, pred)
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred of shape {pred.shape} and target of shape {target.shape} differ")
    diff = pred - target.detach()
    return _reduce(diff * diff, reduction, "mse_loss")
