"""The losses of values: the regression losses (the error d = input - target), the binary
cross-entropies (one probability per element; ops of their own, `ops.losses` says why), kl_div, and
the negative log-likelihoods of a Poisson count and of a Gaussian sample.
The losses over classes are in `classification.py`; how every loss reads `reduction=` and its
targets, in `reduction.py`."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from .. import ops
from ..checks import broadcasts_to, flag, non_negative_number, positive_number, user_stacklevel
from ..spellings import also_by_keyword
from ..ops.losses import binary_cross_entropy as binary_cross_entropy_op
from ..ops.losses import binary_cross_entropy_with_logits as binary_cross_entropy_with_logits_op
from ..ops.losses import kl_div as kl_div_op
from ..tensor import Tensor, as_tensor, owned
from .reduction import REDUCTIONS, as_target, checked_reduction, constant_weight, legacy_reduction, reduce_losses


# ---- regression losses: the error d = input - target (pred - target) ---------------------------

def _difference(where: str, input: Any, target: Any, name: str = "input") -> Tensor:
    """input - target; both get gradients, as in PyTorch (dL/dtarget = -dL/dinput). ValueError naming
    `where` (and the input by `name`) unless the shapes are equal."""
    input = as_tensor(input)
    try:
        if target is None or isinstance(target, str):
            raise TypeError
        target = as_tensor(target, input)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected target as a tensor of numbers, got {type(target).__name__}") from None
    if input.shape != target.shape:
        raise ValueError(f"{where}: {name} of shape {input.shape} and target of shape {target.shape} differ")
    return input - target


def _elementwise_weighted(where: str, losses: Tensor, weight: Any, reduction: str, mean_over_weights: bool = True) -> Tensor:
    """The per-element `losses` reduced, or with PyTorch 2.13's elementwise `weight=` w (the losses'
    shape, else ValueError; a tensor that requires grad gets dL/dw = the losses, reduced as they are):
    w * losses, whose "mean" is sum(w l) / sum(w) for mse_loss and l1_loss, and the plain mean of
    w l for huber_loss (`mean_over_weights=False`), as PyTorch's."""
    if weight is None:
        return reduce_losses(losses, reduction, where)
    checked_reduction(where, reduction)
    w = as_target(weight, losses.dtype, where, "weight")
    if w.shape != losses.shape:
        raise ValueError(f"{where}: weight of shape {w.shape} and input of shape {losses.shape} differ (as in "
                         "PyTorch, they must have the same shape)")
    if reduction == "mean" and mean_over_weights:
        with np.errstate(divide="ignore", invalid="ignore"):    # (weights summing to 0: inf or NaN, quietly, as PyTorch's)
            return (losses * w).sum() / w.sum()
    return reduce_losses(losses * w, reduction, where)


@also_by_keyword(pred="input")
def mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
             weight: Any = None) -> Tensor:
    """d^2, averaged or summed over every element (d = input - target);   d/dinput = 2 d. With a
    `weight` w of input's shape: w d^2, whose mean is sum(w d^2) / sum(w) (`_elementwise_weighted`)."""
    reduction = legacy_reduction("mse_loss", size_average, reduce, reduction)
    diff = _difference("mse_loss", input, target)
    return _elementwise_weighted("mse_loss", diff * diff, weight, reduction)


def l1_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
            weight: Any = None) -> Tensor:
    """|d|, averaged or summed over every element (d = input - target);   d/dinput = sign(d)
    (0 where d = 0, as PyTorch's). With a `weight` w of input's shape: w |d|, whose mean is
    sum(w |d|) / sum(w) (`_elementwise_weighted`)."""
    reduction = legacy_reduction("l1_loss", size_average, reduce, reduction)
    return _elementwise_weighted("l1_loss", _difference("l1_loss", input, target).abs(), weight, reduction)


def smooth_l1_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target): the squared error near
    0, the absolute error beyond, so a large error pulls no harder than 1;   d/dinput = d / beta inside,
    sign(d) outside. beta = 0 is `l1_loss`, as in PyTorch."""
    reduction = legacy_reduction("smooth_l1_loss", size_average, reduce, reduction)
    non_negative_number(beta, "beta", "smooth_l1_loss")
    diff = _difference("smooth_l1_loss", input, target)
    size = diff.abs()
    if beta == 0:
        return reduce_losses(size, reduction, "smooth_l1_loss")
    return reduce_losses(ops.where(size._data < beta, 0.5 * diff * diff / beta, size - 0.5 * beta), reduction,
                         "smooth_l1_loss")


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target): `smooth_l1_loss`
    with beta = delta, times delta;   d/dinput = d inside, delta sign(d) outside. With a `weight` w of
    input's shape: w times that, whose mean is the plain mean, as PyTorch's (`_elementwise_weighted`)."""
    positive_number(delta, "delta", "huber_loss")
    diff = _difference("huber_loss", input, target)
    size = diff.abs()
    losses = ops.where(size._data < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
    return _elementwise_weighted("huber_loss", losses, weight, reduction, mean_over_weights=False)


# ---- binary classification: one probability per element --------------------------------------

def _binary_operands(where: str, input: Any, target: Any, **weights: Any) -> tuple[Tensor, Tensor, dict]:
    """The input tensor (floating-point, else TypeError), the target as a tensor of its dtype and
    shape (`as_target`), and each weight given (None stays None) as a constant array of its dtype
    (`constant_weight`) that broadcasts to its shape; ValueError naming `where` and both shapes
    otherwise."""
    x = as_tensor(input)
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point input, got dtype {x.dtype}")
    arrays = {name: None if value is None else constant_weight(value, x.dtype, name, where)
              for name, value in weights.items()}
    y = as_target(target, x.dtype, where)
    if y.shape != x.shape:
        raise ValueError(f"{where}: target of shape {y.shape} and input of shape {x.shape} differ (as in "
                         "PyTorch, they must have the same shape)")
    for name, array in arrays.items():
        if array is not None and not broadcasts_to(array.shape, x.shape):
            raise ValueError(f"{where}: {name} of shape {array.shape} does not broadcast to the input's "
                             f"shape {x.shape}")
    return x, y, arrays


def _weighted(losses: Tensor, weight: np.ndarray | None, reduction: str, where: str) -> Tensor:
    """w * losses (w a constant), reduced."""
    return reduce_losses(losses if weight is None else losses * owned(weight), reduction, where)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    """-w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] per element, from logits x (a sentiment
    model's one output per example, say), targets y in [0, 1] of x's shape, an optional weight w and
    a weight p of the positive class (pos_weight, e.g. one per class on the last axis), both
    broadcasting to x's shape. Stable for any x: one op (`ops.losses`), whose
    gradient is w ((1 + (p - 1) y) sigmoid(x) - p y), sigmoid(x) - y when w = p = 1."""
    reduction = legacy_reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    x, y, weights = _binary_operands("binary_cross_entropy_with_logits", input, target, weight=weight,
                                     pos_weight=pos_weight)
    losses = binary_cross_entropy_with_logits_op(x, y, weights["pos_weight"])
    return _weighted(losses, weights["weight"], reduction, "binary_cross_entropy_with_logits")


def binary_cross_entropy(input: Any, target: Any, weight: Any = None, size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """-w [y log x + (1 - y) log(1 - x)] per element, from probabilities x in [0, 1] (a sigmoid's
    output), targets y of x's shape and an optional weight w that broadcasts to it. As PyTorch's, each
    log is clamped at -100 (one op, `ops.losses`). `binary_cross_entropy_with_logits` on the logits is
    the stable way to the same loss."""
    reduction = legacy_reduction("binary_cross_entropy", size_average, reduce, reduction)
    x, y, weights = _binary_operands("binary_cross_entropy", input, target, weight=weight)
    X = x._data
    if not ((X >= 0) & (X <= 1)).all():
        raise ValueError(f"binary_cross_entropy: expected probabilities in [0, 1] as input (for logits use "
                         f"binary_cross_entropy_with_logits), got values from {X.min()} to {X.max()}")
    return _weighted(binary_cross_entropy_op(x, y), weights["weight"], reduction, "binary_cross_entropy")


# ---- losses of log-probabilities: the KL divergence from a target, the negative log-likelihood ----

def kl_div(input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """The Kullback-Leibler divergence of `input` (log-probabilities) from `target` (probabilities, or
    log-probabilities with `log_target`), pointwise as PyTorch's F.kl_div:

        target (log target - input)     (0 where target = 0);   e^target (target - input) with log_target

    `reduction`: "batchmean" divides the sum by input.size(0) (the divergence per sample), "sum",
    "none", and "mean" divides by the number of entries, with PyTorch's warning that this is not
    the divergence (PyTorch's deprecated size_average= and reduce= too, with its warning). One op
    (`ops.losses.kl_div`): d/dinput = -target (-e^target with log_target), and a target tensor gets
    log target + 1 - input (e^target (target - input + 1) with log_target), as in PyTorch."""
    reduction = legacy_reduction("kl_div", size_average, reduce, reduction, REDUCTIONS + ("batchmean",))
    checked_reduction("kl_div", reduction, REDUCTIONS + ("batchmean",))
    log_q, p, _ = _binary_operands("kl_div", input, target)
    losses = kl_div_op(log_q, p, flag(log_target, "log_target", "kl_div"))
    if reduction == "batchmean":
        if log_q.ndim and not log_q.shape[0]:      # (a batch of none: NaN, as PyTorch's 0 / 0, without a warning)
            return losses.sum() + owned(np.full((), np.nan, losses.dtype))
        return losses.sum() / (log_q.shape[0] if log_q.ndim else 1)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=user_stacklevel())
    return reduce_losses(losses, reduction, "kl_div")


def poisson_nll_loss(input: Any, target: Any, log_input: bool = True, full: bool = False, size_average: Any = None,
                     eps: float = 1e-8, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of counts y under a Poisson distribution of rate e^x (`log_input`) or x,
    without log(y!), as PyTorch's:

        e^x - y x                  (log_input; d/dx = e^x - y)
        x - y log(x + eps)         (log_input=False; d/dx = 1 - y / (x + eps))

    `full` adds Stirling's approximation of log(y!), y log y - y + log(2 pi y) / 2, where y > 1 (0
    elsewhere, as PyTorch's; it is computed only there, so a target tensor's gradient is finite). input
    and target of one shape; a target tensor gets its gradient."""
    where = "poisson_nll_loss"
    reduction = checked_reduction(where, legacy_reduction(where, size_average, reduce, reduction))
    log_input, full = flag(log_input, "log_input", where), flag(full, "full", where)
    eps = non_negative_number(eps, "eps", where)
    x, y, _ = _binary_operands(where, input, target)
    losses = ops.exp(x) - y * x if log_input else x - y * ops.log(x + eps)
    if full:
        counted = y._data > 1
        count = ops.where(counted, y, 1.0)
        stirling = count * ops.log(count) - count + 0.5 * ops.log(2 * math.pi * count)
        losses = losses + ops.where(counted, stirling, 0.0)
    return reduce_losses(losses, reduction, where)


def gaussian_nll_loss(input: Any, target: Any, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of a sample y under a Gaussian of mean x and variance v, as PyTorch's:

        (log max(v, eps) + (x - y)^2 / max(v, eps)) / 2        (+ log(2 pi) / 2 with `full`)

    `var`: one variance per element of input (its shape), a shared one (input's shape without its last
    axis, or with size 1 on one axis where input's differs), or a number; ValueError naming the shapes
    otherwise, and for a negative variance, as PyTorch's. As PyTorch's (which clamps a copy under
    no_grad), the clamp at eps is not differentiated: var gets the slope at max(v, eps),
    1 / (2 v) - (x - y)^2 / (2 v^2), wherever v is. target broadcasts to input's shape (one axis of
    size 1, say); target and var tensors get their gradients."""
    where = "gaussian_nll_loss"
    x = as_tensor(input)
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point input, got dtype {x.dtype}")
    if isinstance(var, numbers.Real) and not isinstance(var, (bool, np.bool_)):
        if var < 0:
            raise ValueError(f"{where}: var has a negative entry (a variance is >= 0), got var={var!r}")
        variance = owned(np.full(x.shape, var, x.dtype))
    else:
        variance = as_target(var, x.dtype, where, "var")
        if (variance._data < 0).any():
            raise ValueError(f"{where}: var has negative entries (a variance is >= 0), the least "
                             f"{variance._data.min()}")
    if variance.shape != x.shape:
        if variance.shape == x.shape[:-1]:
            variance = variance.reshape(variance.shape + (1,))
        elif variance.ndim != x.ndim or sum(v for i, v in zip(x.shape, variance.shape) if i != v) != 1:
            raise ValueError(f"{where}: var of shape {variance.shape} is of incorrect size for input of shape "
                             f"{x.shape} (expected that shape, that shape without its last axis, or size 1 on one "
                             "axis where it differs)")
    reduction = checked_reduction(where, reduction)
    full, eps = flag(full, "full", where), non_negative_number(eps, "eps", where)
    y = as_target(target, x.dtype, where)
    if not broadcasts_to(y.shape, x.shape):
        raise ValueError(f"{where}: target of shape {y.shape} does not broadcast to the input's shape {x.shape}")
    values = variance._data
    clamped = variance + owned(np.maximum(values, eps) - values)     # max(v, eps), slope 1 in v everywhere
    diff = x - y
    losses = 0.5 * (ops.log(clamped) + diff * diff / clamped)
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return reduce_losses(losses, reduction, where)
