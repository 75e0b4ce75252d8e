"""Softmax and losses, written with primitive ops (their gradients need no rule of their own).

All are stable for large logits: they subtract the row maximum first
(log-sum-exp), a constant that cancels out of every formula below.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .ops import exp, log, sum
from .tensor import Tensor, as_tensor

_REDUCTIONS = ("mean", "sum", "none")


def _shifted(x: Tensor, axis: int) -> Tensor:
    """x - max(x) along axis; the max is held constant (it cancels in softmax)."""
    return x - x._data.max(axis=axis, keepdims=True)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m)."""
    e = exp(_shifted(x, axis))
    return e / sum(e, axis=axis, keepdims=True)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log softmax(x)_i = (x_i - m) - log sum_j e^(x_j - m)."""
    z = _shifted(x, axis)
    return z - log(sum(exp(z), axis=axis, keepdims=True))


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
    log_p = log_softmax(logits, axis=-1)
    if target_array.dtype.kind in "iu":
        if target_array.shape != logits.shape[:-1]:
            raise ValueError(
                f"cross_entropy: class targets of shape {target_array.shape} do not match "
                f"logits of shape {logits.shape} (expected {logits.shape[:-1]})")
        classes = logits.shape[-1]
        if target_array.size and (target_array.min() < 0 or target_array.max() >= classes):
            raise ValueError(f"cross_entropy: class targets must lie in [0, {classes}), "
                             f"got values from {target_array.min()} to {target_array.max()}")
        if logits.ndim == 1:
            losses = -log_p[int(target_array)]
        else:
            rows = np.arange(target_array.size)
            losses = -log_p.reshape(-1, classes)[rows, target_array.reshape(-1)].reshape(target_array.shape)
    else:
        if target_array.shape != logits.shape:
            raise ValueError(f"cross_entropy: probability targets of shape {target_array.shape} "
                             f"do not match logits of shape {logits.shape}")
        losses = -(log_p * target_array.astype(logits.dtype)).sum(axis=-1)
    return _reduce(losses, reduction, "cross_entropy")


def mse_loss(pred: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(pred - target)^2, averaged or summed over every element."""
    pred = as_tensor(pred)
    target = as_tensor(target, pred)
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred of shape {pred.shape} and target of shape {target.shape} differ")
    diff = pred - target.detach()
    return _reduce(diff * diff, reduction, "mse_loss")
