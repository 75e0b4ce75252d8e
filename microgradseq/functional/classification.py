"""The losses over classes, as PyTorch's: `cross_entropy` from logits and `nll_loss` from
log-probabilities, with class weights, `ignore_index` and label smoothing, in PyTorch's layouts
((C,), (N, C), or (N, C, d1, ...) with the classes on axis 1). A summed or averaged cross-entropy
against class indices without the options is one op (`ops.losses` says why)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..checks import is_int, probability
from ..spellings import also_by_keyword
from ..ops.losses import cross_entropy as cross_entropy_op
from ..tensor import Tensor, array_of, as_tensor, owned
from .activations import log_softmax
from .reduction import (as_target, checked_reduction, constant_weight, legacy_reduction, reduce_losses,
                        reduction_in_place_of)


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
    weights = constant_weight(weight, dtype, "weight", where)
    if weights.shape != (classes,):
        raise ValueError(f"{where}: expected one weight per class, shape ({classes},), got weight of shape "
                         f"{weights.shape}")
    return weights


def _negative_log_likelihood(log_probs: Tensor, classes: np.ndarray, kept: np.ndarray | None,
                             weights: np.ndarray | None, reduction: str, where: str) -> Tensor:
    """-w[t] log_probs[t] per row, t its class (w = 1 without class weights; nothing for a row whose
    target is ignored, `kept` False): "none" each (0 where ignored), "sum" their sum, "mean" their
    sum over the sum of the kept rows' w[t] (without weights, their mean), as PyTorch's. A mean over
    no weight is NaN (`_divided`)."""
    if kept is None and weights is None:
        return reduce_losses(-ops.gather(log_probs, classes), reduction, where)
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
        return reduce_losses(losses, reduction, where)
    row_weights = weights[classes]
    total = (losses * owned(row_weights)).sum()
    return total if reduction == "sum" else _divided(total, row_weights.sum())


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


def _plain_class_targets(logits: Any, target: Any) -> np.ndarray | None:
    """The targets of the call a training loop makes at every step, logits (N, C) and N class indices
    in [0, C), as an array; None for anything else (the full path below checks it and words any error).
    One min and one max check them, so that the one-node loss costs little more than its numpy."""
    if type(logits) is not Tensor or logits.ndim != 2 or logits.dtype.kind != "f":
        return None
    classes = target._data if type(target) is Tensor else target
    if (type(classes) is not np.ndarray or classes.dtype.kind not in "iu" or classes.shape != logits.shape[:1]
            or not classes.size or np.minimum.reduce(classes) < 0 or np.maximum.reduce(classes) >= logits.shape[1]):
        return None
    return classes


_NO_SMOOTHING = 0.0     # (compared by identity: a label_smoothing given, 0.0 too, takes the full path's check)


@also_by_keyword(logits="input")
def cross_entropy(input: Any, target: Any, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
                  reduce: Any = None, reduction: str = "mean", label_smoothing: float = _NO_SMOOTHING) -> Tensor:
    """-sum_c w_c p_c log softmax(logits)_c per row, with p one-hot (class indices) or given, w the
    class weights (1 without `weight`).

    As PyTorch's, argument for argument: input, the logits, (N, C) (or (C,), or (N, C, d1, ...) with the classes
    on axis 1); target: integer classes (N,) (or (), or (N, d1, ...)), or probabilities of the logits'
    shape (a tensor of them gets a gradient, -w log softmax(logits) per row). A reduction string in
    weight's place is the reduction (`cross_entropy(logits, target, "sum")`). A class target equal to
    `ignore_index` (padding, say) adds nothing. "mean" divides by the weight of the kept class
    targets (their number without `weight`), or by the number of rows for probabilities.
    `label_smoothing` = e in [0, 1] mixes each target with the uniform one, (1 - e) p + e / C.
    """
    if (weight is None and size_average is None and reduce is None and label_smoothing is _NO_SMOOTHING
            and type(ignore_index) is int and ignore_index < 0
            and type(reduction) is str and reduction in ("sum", "mean")):
        classes = _plain_class_targets(input, target)      # (the call a loop makes each step: few checks)
        if classes is not None:
            return cross_entropy_op(input, classes, reduction == "mean")
    weight, reduction = reduction_in_place_of("cross_entropy", "weight", weight, reduction)
    reduction = legacy_reduction("cross_entropy", size_average, reduce, reduction)
    checked_reduction("cross_entropy", reduction)
    smoothing = probability(label_smoothing, "label_smoothing", "cross_entropy")
    given = as_tensor(input)
    logits = _classes_last("cross_entropy", given)
    count = logits.shape[-1]
    weights = class_weights("cross_entropy", weight, count, logits.dtype)
    target_array = array_of(target)
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
    probabilities = _classes_last("cross_entropy", as_target(target, given.dtype, "cross_entropy"))
    if smoothing:
        probabilities = (1 - smoothing) * probabilities + smoothing / count
    log_probs = log_softmax(logits, axis=-1)
    if weights is not None:
        log_probs = log_probs * owned(weights)
    return reduce_losses(-(log_probs * probabilities).sum(axis=-1), reduction, "cross_entropy")


def nll_loss(input: Any, target: Any, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
             reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-w[t] input[t] per row: the negative log-likelihood of each row's class t, given log-probabilities
    (N, C) (or (C,), or (N, C, d1, ...): classes on axis 1, as PyTorch's), integer classes (N,) (or
    (N, d1, ...)) and optional class weights w (1 without); so nll_loss(log_softmax(z, dim=1), y) =
    cross_entropy(z, y). Targets equal to `ignore_index` add nothing, and "mean" divides by the
    weight of the others, as in `cross_entropy` (and a reduction string in weight's place is the
    reduction)."""
    weight, reduction = reduction_in_place_of("nll_loss", "weight", weight, reduction)
    reduction = legacy_reduction("nll_loss", size_average, reduce, reduction)
    checked_reduction("nll_loss", reduction)
    given = as_tensor(input)
    classes = array_of(target)
    log_probs = _classes_last("nll_loss", given)
    if classes.dtype.kind not in "iu" or classes.shape != log_probs.shape[:-1]:
        hint = "; class indices must be integers: target.long()" if classes.dtype.kind not in "iu" else ""
        raise ValueError(f"nll_loss: expected integer class targets of shape {log_probs.shape[:-1]} for "
                         f"log-probabilities of shape {given.shape}, got {classes.dtype} of shape {classes.shape}"
                         f"{hint}")
    weights = class_weights("nll_loss", weight, log_probs.shape[-1], log_probs.dtype)
    kept = _kept_targets("nll_loss", classes, log_probs.shape[-1], ignore_index)
    return _negative_log_likelihood(log_probs, classes, kept, weights, reduction, "nll_loss")
