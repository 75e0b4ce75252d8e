"""The losses, written with primitive ops (cross-entropy over classes and the binary
cross-entropies are ops of their own: `ops.losses` says why): cross_entropy, nll_loss, the
regression losses, the binary cross-entropies, kl_div; and `reduction=`, PyTorch's deprecated
`size_average=`/`reduce=` included."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import numpy as np

from .. import ops
from ..checks import broadcasts_to, flag, is_int, non_negative_number, positive_number, probability
from ..ops.losses import binary_cross_entropy as binary_cross_entropy_op
from ..ops.losses import binary_cross_entropy_with_logits as binary_cross_entropy_with_logits_op
from ..ops.losses import cross_entropy as cross_entropy_op
from ..ops.losses import kl_div as kl_div_op
from ..tensor import Tensor, as_tensor, owned
from .activations import log_softmax

REDUCTIONS = ("mean", "sum", "none")      # what `reduction=` may be (the loss modules check it too)


def legacy_reduction(where: str, size_average: Any, reduce: Any, reduction: str) -> str:
    """`reduction`, or the one PyTorch's deprecated `size_average=` and `reduce=` stand for, with
    PyTorch's warning: both None (their default) leave `reduction` as it is; else reduce=False is
    "none", size_average=False "sum", and both True (or None) "mean"."""
    if size_average is None and reduce is None:
        return reduction
    if isinstance(size_average, str):          # F.mse_loss(x, y, "sum"): PyTorch's third argument is size_average
        raise TypeError(f"{where}: expected size_average (PyTorch's deprecated flag, which comes before "
                        f"reduction) as a bool, got the string {size_average!r}: pass reduction={size_average!r} by name")
    size_average = True if size_average is None else flag(size_average, "size_average", where)
    reduce = True if reduce is None else flag(reduce, "reduce", where)
    legacy = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{legacy}' instead.",
                  UserWarning, stacklevel=_outside_the_library())
    return legacy


def _outside_the_library() -> int:
    """The stacklevel of the first caller outside microgradseq (the user's line that made the loss)."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY):
        frame, level = frame.f_back, level + 1
    return level


_LIBRARY = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def checked_reduction(where: str, reduction: Any, allowed: tuple = REDUCTIONS) -> str:
    """`reduction`, or TypeError naming `where` for what is not a string and ValueError for another
    string."""
    if not isinstance(reduction, str):
        raise TypeError(f"{where}: reduction must be one of {allowed}, got {type(reduction).__name__} "
                        f"{reduction!r:.40}")
    if reduction not in allowed:
        raise ValueError(f"{where}: reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def _reduce(losses: Tensor, reduction: str, name: str) -> Tensor:
    checked_reduction(name, reduction)
    if reduction == "mean":
        if not losses._data.size:      # the mean of nothing: NaN, as PyTorch's, without numpy's warning
            return losses.sum() + owned(np.full((), np.nan, losses.dtype))
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses                       # "none"


def _kept_targets(where: str, classes: np.ndarray, count: int, ignore_index: Any) -> np.ndarray | None:
    """Where the class targets are not `ignore_index` (a bool array), or None when none is ignored;
    ValueError naming `where` unless every other target lies in [0, count). (The common case, every
    target in range and ignore_index negative, costs one min and one max.)"""
    if not is_int(ignore_index):
        raise TypeError(f"{where}: ignore_index must be an integer, got {ignore_index!r}")
    if not classes.size:
        return None
    low, high = classes.min(), classes.max()
    if ignore_index < 0 and low >= 0 or ignore_index >= 0 and not low <= ignore_index <= high:
        kept = None
    else:
        kept = classes != ignore_index
        low, high = (classes[kept].min(), classes[kept].max()) if kept.any() else (0, 0)
    if low < 0 or high >= count:
        raise ValueError(f"{where}: class targets must lie in [0, {count}) (or equal ignore_index={ignore_index}), "
                         f"got values from {low} to {high}")
    return kept


def class_weights(where: str, weight: Any, classes: int, dtype: np.dtype) -> np.ndarray | None:
    """PyTorch's `weight=` of a classification loss: None, or one weight per class, an array of `dtype`
    of shape (C,); ValueError naming `where` for another shape, RuntimeError for a tensor that
    requires grad (the loss is not differentiable in it, as in PyTorch)."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise TypeError(f"{where}: expected weight (class weights, the third argument, as PyTorch's) as a tensor "
                        f"of numbers, got the string {weight!r}: pass reduction={weight!r} by name")
    if isinstance(weight, Tensor) and weight.requires_grad:
        raise RuntimeError(f"{where}: not differentiable with respect to weight, so weight cannot require grad, "
                           "as in PyTorch (pass weight.detach())")
    weights = _constant(weight, dtype, "weight", where)
    if weights.shape != (classes,):
        raise ValueError(f"{where}: expected one weight per class, shape ({classes},), got weight of shape "
                         f"{weights.shape}")
    return weights


def _negative_log_likelihood(log_probs: Tensor, classes: np.ndarray, kept: np.ndarray | None,
                             weights: np.ndarray | None, reduction: str, where: str) -> Tensor:
    """-w[t] log_probs[t] per row, t its class (w = 1 without class weights; nothing for a row whose
    target is ignored, `kept` False): "none" each (0 where ignored), "sum" their sum, "mean" their
    sum over the sum of the kept rows' w[t] (without weights, their mean), as PyTorch's. A mean over
    no weight is NaN, with gradient 0."""
    if kept is None and weights is None:
        return _reduce(-ops.gather(log_probs, classes), reduction, where)
    if reduction == "none":
        targets = classes if kept is None else np.where(kept, classes, 0)
        scale = -np.ones(classes.shape) if weights is None else -weights[targets]
        if kept is not None:
            scale = np.where(kept, scale, 0.0)                  # (+0: the gradient there is +0 too)
        return ops.gather(log_probs, targets) * owned(scale.astype(log_probs.dtype)) + 0.0    # (+ 0: -0 is 0)
    if kept is not None:
        log_probs, classes = log_probs[kept], classes[kept]
    losses = -ops.gather(log_probs, classes)
    if weights is None:
        return _reduce(losses, reduction, where)
    total = (losses * owned(weights[classes])).sum()
    return total if reduction == "sum" else _divided(total, weights[classes].sum())


def _divided(total: Tensor, divisor: Any) -> Tensor:
    """total / divisor, a weighted mean. A divisor of 0 gives NaN, as PyTorch's, without numpy's
    warning: the gradient is 0 where nothing was kept (every target ignored) and NaN at rows kept
    with weight 0, as PyTorch's."""
    if divisor == 0:
        return total * owned(np.full((), np.nan, total.dtype))
    return total / float(divisor)


def _smoothing(log_probs: Tensor, classes: np.ndarray, kept: np.ndarray | None, weights: np.ndarray | None,
               reduction: str) -> Tensor:
    """PyTorch's label-smoothing term of a class-target cross-entropy: -sum_c w_c log_probs_c per row
    (0 where the target is ignored), reduced as the negative log-likelihood is ("mean": over the
    weight of the kept rows' classes, or their number without weights)."""
    per_row = -(log_probs if weights is None else log_probs * owned(weights)).sum(axis=-1)
    if kept is not None:
        per_row = ops.where(kept, per_row, 0.0)
    if reduction == "none":
        return per_row
    rows = classes if kept is None else classes[kept]
    return per_row.sum() if reduction == "sum" else _divided(per_row.sum(), rows.size if weights is None
                                                             else weights[rows].sum())


def _classes_last(where: str, scores: Tensor) -> Tensor:
    """PyTorch's layouts of a classification loss, (C,), (N, C) or (N, C, d1, ...) with the classes on
    axis 1, as scores (..., C) with the classes last; the scores must be floating-point."""
    if scores.ndim == 0:
        raise ValueError(f"{where}: expected scores with a class axis, (C,), (N, C) or (N, C, d1, ...), "
                         "got a 0-d tensor")
    if scores.dtype.kind != "f":
        raise TypeError(f"{where}: expected floating-point scores, got dtype {scores.dtype}")
    return scores if scores.ndim < 3 else scores.permute(0, *range(2, scores.ndim), 1)


def cross_entropy(input: Any, target: Any, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
                  reduce: Any = None, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """-sum_c w_c p_c log softmax(input)_c per row, with p one-hot (class indices) or given, w the
    class weights (1 without `weight`).

    As PyTorch's: input (N, C) logits (or (C,), or (N, C, d1, ...) with the classes on axis 1);
    target: integer classes (N,) (or (), or (N, d1, ...)), or probabilities of the input's shape (a
    tensor of them gets a gradient, -w log softmax(input) per row). A class target equal to
    `ignore_index` (padding, say) adds nothing. "mean" divides by the weight of the kept class
    targets (their number without `weight`), or by the number of rows for probabilities.
    `label_smoothing` = e in [0, 1] mixes each target with the uniform one, (1 - e) p + e / C.
    """
    reduction = legacy_reduction("cross_entropy", size_average, reduce, reduction)
    checked_reduction("cross_entropy", reduction)
    smoothing = probability(label_smoothing, "label_smoothing", "cross_entropy")
    given = as_tensor(input)
    logits = _classes_last("cross_entropy", given)
    count = logits.shape[-1]
    weights = class_weights("cross_entropy", weight, count, logits.dtype)
    target_array = np.asarray(target)
    if target_array.dtype.kind in "iu":
        if target_array.shape != logits.shape[:-1]:
            raise ValueError(
                f"cross_entropy: class targets of shape {target_array.shape} do not match logits of shape "
                f"{given.shape} (expected {logits.shape[:-1]}; the classes are on axis 1, as in PyTorch: "
                "flatten logits (T, B, C) to (T * B, C) and targets to (T * B,))")
        kept = _kept_targets("cross_entropy", target_array, count, ignore_index)
        if kept is None and weights is None and not smoothing and reduction != "none":
            return cross_entropy_op(logits, target_array, reduction == "mean")  # one node (ops/losses.py)
        log_probs = log_softmax(logits, axis=-1)
        loss = _negative_log_likelihood(log_probs, target_array, kept, weights, reduction, "cross_entropy")
        if not smoothing:
            return loss
        return (1 - smoothing) * loss + smoothing / count * _smoothing(log_probs, target_array, kept, weights, reduction)
    if np.shape(target) != given.shape:
        hint = (f"; class indices must be integers (.long()), these are {target_array.dtype}"
                if np.shape(target) == given.shape[:1] + given.shape[2:] else "")
        raise ValueError(f"cross_entropy: probability targets of shape {np.shape(target)} "
                         f"do not match logits of shape {given.shape}{hint}")
    probabilities = _classes_last("cross_entropy", _target(target, given.dtype, "cross_entropy"))
    if smoothing:
        probabilities = (1 - smoothing) * probabilities + smoothing / count
    log_probs = log_softmax(logits, axis=-1)
    if weights is not None:
        log_probs = log_probs * owned(weights)
    return _reduce(-(log_probs * probabilities).sum(axis=-1), reduction, "cross_entropy")


def _target(target: Any, dtype: np.dtype, where: str) -> Tensor:
    """A target of probabilities (or of any numbers) as a tensor of `dtype`: a tensor keeps its
    gradient, as PyTorch's targets do (a target made by the model gets dL/dtarget); an array or
    numbers are a constant. TypeError naming `where` for what is not numbers."""
    if isinstance(target, Tensor) and target.dtype.kind in "biuf":
        return target.to(dtype)
    return owned(_constant(target, dtype, "target", where))


# ---- regression losses: the error d = input - target (pred - target) ---------------------------

def _difference(where: str, input: Any, target: Any) -> Tensor:
    """input - target; both get gradients, as in PyTorch (dL/dtarget = -dL/dinput). ValueError naming
    `where` unless the shapes are equal."""
    input = as_tensor(input)
    try:
        if target is None or isinstance(target, str):
            raise TypeError
        target = as_tensor(target, input)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected target as a tensor of numbers, got {type(target).__name__}") from None
    if input.shape != target.shape:
        raise ValueError(f"{where}: input of shape {input.shape} and target of shape {target.shape} differ")
    return input - target


def mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """d^2, averaged or summed over every element (d = input - target);   d/dinput = 2 d."""
    reduction = legacy_reduction("mse_loss", size_average, reduce, reduction)
    diff = _difference("mse_loss", input, target)
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """|d|, averaged or summed over every element (d = input - target);   d/dinput = sign(d)
    (0 where d = 0, as PyTorch's)."""
    reduction = legacy_reduction("l1_loss", size_average, reduce, reduction)
    return _reduce(_difference("l1_loss", input, target).abs(), reduction, "l1_loss")


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
        return _reduce(size, reduction, "smooth_l1_loss")
    return _reduce(ops.where(size._data < beta, 0.5 * diff * diff / beta, size - 0.5 * beta), reduction,
                   "smooth_l1_loss")


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target): `smooth_l1_loss`
    with beta = delta, times delta;   d/dinput = d inside, delta sign(d) outside."""
    positive_number(delta, "delta", "huber_loss")
    diff = _difference("huber_loss", input, target)
    size = diff.abs()
    return _reduce(ops.where(size._data < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta)), reduction,
                   "huber_loss")


# ---- binary classification: one probability per element --------------------------------------

def _binary_operands(where: str, input: Any, target: Any, **weights: Any) -> tuple[Tensor, Tensor, dict]:
    """The input tensor (floating-point, else TypeError), the target as a tensor of its dtype and
    shape (`_target`), and each weight given (None stays None) as a constant array of its dtype that
    broadcasts to its shape; ValueError naming `where` and both shapes otherwise. A weight that
    requires grad raises RuntimeError, as in PyTorch (the loss is not differentiable in it)."""
    x = as_tensor(input)
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point input, got dtype {x.dtype}")
    for name, value in weights.items():
        if isinstance(value, Tensor) and value.requires_grad:
            raise RuntimeError(f"{where}: not differentiable with respect to {name}, so {name} cannot require "
                               f"grad, as in PyTorch (pass {name}.detach())")
    y = _target(target, x.dtype, where)
    if y.shape != x.shape:
        raise ValueError(f"{where}: target of shape {y.shape} and input of shape {x.shape} differ (as in "
                         "PyTorch, they must have the same shape)")
    arrays = {}
    for name, value in weights.items():
        array = None if value is None else _constant(value, x.dtype, name, where)
        if array is not None and not broadcasts_to(array.shape, x.shape):
            raise ValueError(f"{where}: {name} of shape {array.shape} does not broadcast to the input's "
                             f"shape {x.shape}")
        arrays[name] = array
    return x, y, arrays


def _constant(value: Any, dtype: np.dtype, name: str, where: str) -> np.ndarray:
    """A tensor's values (no gradient reaches it), an array or numbers, as an array of `dtype`;
    TypeError naming `where` and `name` for what is not numbers."""
    try:
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError
        return array.astype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected {name} as a tensor of numbers, got {type(value).__name__}") from None


def _weighted(losses: Tensor, weight: np.ndarray | None, reduction: str, where: str) -> Tensor:
    """w * losses (w a constant), reduced."""
    return _reduce(losses if weight is None else losses * owned(weight), reduction, where)


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
    (`ops.losses.kl_div`): d/dinput = -target, and a target tensor gets log target + 1 - input
    (e^target (target - input + 1) with log_target), as in PyTorch."""
    reduction = legacy_reduction("kl_div", size_average, reduce, reduction)
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
                      UserWarning, stacklevel=2)
    return _reduce(losses, reduction, "kl_div")


def nll_loss(input: Any, target: Any, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
             reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-w[t] input[t] per row: the negative log-likelihood of each row's class t, given log-probabilities
    (N, C) (or (C,), or (N, C, d1, ...): classes on axis 1, as PyTorch's), integer classes (N,) (or
    (N, d1, ...)) and optional class weights w (1 without); so nll_loss(log_softmax(z, dim=1), y) =
    cross_entropy(z, y). Targets equal to `ignore_index` add nothing, and "mean" divides by the
    weight of the others, as in `cross_entropy`."""
    reduction = legacy_reduction("nll_loss", size_average, reduce, reduction)
    checked_reduction("nll_loss", reduction)
    given = as_tensor(input)
    classes = np.asarray(target)
    log_probs = _classes_last("nll_loss", given)
    if classes.dtype.kind not in "iu" or classes.shape != log_probs.shape[:-1]:
        raise ValueError(f"nll_loss: expected integer class targets of shape {log_probs.shape[:-1]} for "
                         f"log-probabilities of shape {given.shape}, got {classes.dtype} of shape {classes.shape}")
    weights = class_weights("nll_loss", weight, log_probs.shape[-1], log_probs.dtype)
    kept = _kept_targets("nll_loss", classes, log_probs.shape[-1], ignore_index)
    return _negative_log_likelihood(log_probs, classes, kept, weights, reduction, "nll_loss")
