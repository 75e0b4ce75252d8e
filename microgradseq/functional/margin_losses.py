"""The margin losses, as PyTorch's: hinges max(0, margin - score) that are 0 once a score clears its
margin, for ranking two scores (`margin_ranking_loss`), for a pair's cosine (`cosine_embedding_loss`),
for triplets of embeddings (`triplet_margin_loss` and `triplet_margin_with_distance_loss`), for one
score per element (`hinge_embedding_loss`, and its smooth form `soft_margin_loss`) and for class
scores against one class (`multi_margin_loss`) or several (`multilabel_margin_loss`, and the smooth
`multilabel_soft_margin_loss`).

Each is written with primitive ops, so the chain rule gives its gradient. The kinks are PyTorch's:
where PyTorch's kernel tests z > 0 (multi_margin, multilabel_margin) the hinge is `relu`, slope 0
at z = 0; where it calls clamp_min (margin_ranking, hinge_embedding, cosine_embedding, the triplets)
the hinge is `clip(z, 0)`, slope 1 there. The formulas are those of PyTorch's kernels
(aten/src/ATen/native/Loss.cpp, LossMultiMargin.cpp, LossMultiLabelMargin.cpp) and of
torch/nn/functional.py."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .. import ops
from ..checks import broadcasts_to, broadcasts_with, flag
from ..function_forms import minimum
from ..tensor import Tensor, array_of, as_tensor, get_default_dtype, owned
from .activations import argument, logsigmoid, pairwise_distance
from .classification import class_weights
from .reduction import as_target, checked_reduction, constant, legacy_reduction, reduce_losses

# PyTorch's Loss.cpp adds `constexpr float EPSILON = 1e-12` to each squared norm of cosine_embedding_loss
COSINE_EPSILON = float(np.float32(1e-12))


# ---- reading the arguments ----------------------------------------------------------------------

def _reduction(where: str, size_average: Any, reduce: Any, reduction: Any) -> str:
    """The reduction PyTorch's arguments stand for (`legacy_reduction`), checked."""
    return checked_reduction(where, legacy_reduction(where, size_average, reduce, reduction))


def _scores(where: str, name: str, value: Any) -> Tensor:
    """`value` as a tensor, which must be floating-point (TypeError naming `where` and `name` otherwise)."""
    x = value if isinstance(value, Tensor) else as_tensor(value)
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected {name} as a floating-point tensor, got dtype {x.dtype}")
    return x


def finite_number(where: str, name: str, value: Any) -> Any:
    """A margin: a finite number (TypeError or ValueError naming `where` and `name` otherwise)."""
    return argument(where, name, value, math.isfinite, "a finite number")


def positive_margin(where: str, margin: Any) -> Any:
    """The triplets' margin: a number > 0, as PyTorch's ("margin must be greater than 0")."""
    return argument(where, "margin", margin, lambda v: v > 0, "greater than 0")


def _same_shapes(where: str, **tensors: Any) -> None:
    """ValueError naming `where` and every shape unless the tensors (or arrays) have one shape."""
    shapes = {name: np.shape(value) for name, value in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} of shape {shape}" for name, shape in shapes.items())
        raise ValueError(f"{where}: {listed} differ (they must have the same shape here; see docs/pytorch.md)")


def _rows(where: str, x: Tensor) -> tuple[int, int]:
    """(N, C) of class scores (C,) (one row), (N, C), or 0-d (one score), as PyTorch's multi-class margin
    losses take them; ValueError naming `where` for another shape or no class."""
    if x.ndim > 2 or (x.ndim and not x.shape[-1]):
        raise ValueError(f"{where}: expected a non-empty vector or matrix of scores, (C,) or (N, C), got input of "
                         f"shape {x.shape}")
    return (x.shape[0] if x.ndim == 2 else 1), (x.shape[-1] if x.ndim else 1)


def _labels(where: str, target: Any) -> np.ndarray:
    """Class indices as an integer array (ValueError naming `where` for other numbers)."""
    labels = array_of(target)
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{where}: expected integer class indices as target, got dtype {labels.dtype}")
    return labels


# ---- two scores, or one score, per element ------------------------------------------------------

def margin_ranking_loss(input1: Any, input2: Any, target: Any, margin: float = 0, size_average: Any = None,
                        reduce: Any = None, reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin) per element: x1 should rank above x2 by `margin` where y = 1, below
    where y = -1;   d/dx1 = -y, d/dx2 = y, d/dy = -(x1 - x2) where the hinge is open or at its kink
    (>= 0), else 0, as PyTorch's clamp_min_ (Loss.cpp). input1, input2 and target of one shape
    (ValueError otherwise, as PyTorch's)."""
    where = "margin_ranking_loss"
    reduction = _reduction(where, size_average, reduce, reduction)
    margin = finite_number(where, "margin", margin)
    x1 = _scores(where, "input1", input1)
    x2, y = as_target(input2, x1.dtype, where, "input2"), as_target(target, x1.dtype, where)
    _same_shapes(where, input1=x1, input2=x2, target=y)
    return reduce_losses(ops.clip(-y * (x1 - x2) + margin, 0.0, None), reduction, where)


def hinge_embedding_loss(input: Any, target: Any, margin: float = 1.0, size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (x a distance, y says whether a pair is alike);
    PyTorch's kernel adds both terms where y is neither, and gives 0 to neither. The target is only
    compared, so it gets no gradient; d/dx = 1 where y = 1, -1 where y = -1 and margin - x >= 0."""
    where = "hinge_embedding_loss"
    reduction = _reduction(where, size_average, reduce, reduction)
    margin = finite_number(where, "margin", margin)
    x = _scores(where, "input", input)
    y = constant(target, x.dtype, "target", where)
    _same_shapes(where, input=x, target=y)
    hinge = ops.clip(margin - x, 0.0, None)
    return reduce_losses(ops.where(y != 1, hinge, 0.0) + ops.where(y != -1, x, 0.0), reduction, where)


def soft_margin_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + e^(-y x)) per element, a smooth hinge of the margin y x (y = 1 or -1), written
    -logsigmoid(y x) so that it never overflows;   d/dx = -y sigmoid(-y x). input and target of one
    shape; a target tensor gets a gradient, -x sigmoid(-y x)."""
    where = "soft_margin_loss"
    reduction = _reduction(where, size_average, reduce, reduction)
    x = _scores(where, "input", input)
    y = as_target(target, x.dtype, where)
    _same_shapes(where, input=x, target=y)
    return reduce_losses(-logsigmoid(y * x) + 0.0, reduction, where)      # (+ 0.0: -0 is 0)


# ---- pairs and triplets of embeddings -----------------------------------------------------------

def cosine_embedding_loss(input1: Any, input2: Any, target: Any, margin: float = 0, size_average: Any = None,
                          reduce: Any = None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where y = 1 (the pair should point alike), max(0, cos(x1, x2) - margin) where
    y = -1, 0 where y is neither, with PyTorch's cosine <x1, x2> / sqrt((|x1|^2 + e)(|x2|^2 + e)),
    e = 1e-12 (float32). Embeddings (N, D) with targets (N,), or one pair (D,) with a 0-d target, as
    PyTorch's; the target is only compared (no gradient). Integer (or bool) embeddings are read as
    PyTorch's promotion reads them: in input2's floating dtype, else the default one (float32)."""
    where = "cosine_embedding_loss"
    reduction = _reduction(where, size_average, reduce, reduction)
    margin = finite_number(where, "margin", margin)
    x1 = input1 if isinstance(input1, Tensor) else as_tensor(input1)
    if x1.dtype.kind in "biu":
        other = input2.dtype if isinstance(input2, Tensor) else np.asarray(input2).dtype
        x1 = x1.to(other if other.kind == "f" else get_default_dtype())
    x1 = _scores(where, "input1", x1)
    x2 = as_target(input2, x1.dtype, where, "input2")
    y = constant(target, x1.dtype, "target", where)
    if y.ndim > 1:
        raise ValueError(f"{where}: expected a 0-d or 1-d target (multi-target not supported), got target of "
                         f"shape {y.shape}")
    if x1.ndim != y.ndim + 1 or x2.ndim != y.ndim + 1:
        raise ValueError(f"{where}: a {y.ndim}-d target expects {y.ndim + 1}-d inputs, got inputs of shapes "
                         f"{x1.shape} and {x2.shape}")
    _same_shapes(where, input1=x1, input2=x2)
    if x1.shape[:-1] != y.shape:
        raise ValueError(f"{where}: expected one target per pair, shape {x1.shape[:-1]}, got target of shape {y.shape}")
    squares = ((x1 * x1).sum(axis=-1) + COSINE_EPSILON) * ((x2 * x2).sum(axis=-1) + COSINE_EPSILON)
    cosine = (x1 * x2).sum(axis=-1) / ops.sqrt(squares)
    losses = ops.where(y == 1, 1 - cosine, 0.0) + ops.where(y == -1, ops.clip(cosine - margin, 0.0, None), 0.0)
    return reduce_losses(losses, reduction, where)


def _triplet(where: str, anchor: Any, positive: Any, negative: Any, distance: Callable, margin: float, swap: Any,
             reduction: str) -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) per triplet, d(a, n) replaced by d(p, n) where that is smaller
    with `swap` (Balntas et al.'s distance swap; `mg.minimum`: g / 2 to each at a tie, as PyTorch's)."""
    swap = flag(swap, "swap", where)
    a, p, n = (v if isinstance(v, Tensor) else as_tensor(v) for v in (anchor, positive, negative))
    if not a.ndim == p.ndim == n.ndim:
        raise ValueError(f"{where}: the anchor, positive and negative tensors must have the same number of "
                         f"dimensions, got anchor {a.ndim}-d, positive {p.ndim}-d and negative {n.ndim}-d")
    close, far = distance(a, p), distance(a, n)
    if swap:
        far = minimum(far, distance(p, n))
    return reduce_losses(ops.clip(margin + close - far, 0.0, None), reduction, where)


def triplet_margin_loss(anchor: Any, positive: Any, negative: Any, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, margin + ||a - p + eps||_p - ||a - n + eps||_p) per triplet (`pairwise_distance` over the
    last axis): the anchor should be nearer the positive than the negative by `margin` (> 0, else
    ValueError, as PyTorch's). Embeddings (N, D), or one triplet (D,); the three broadcast together."""
    where = "triplet_margin_loss"
    reduction = _reduction(where, size_average, reduce, reduction)
    margin = positive_margin(where, margin)
    p = argument(where, "p", p, lambda v: not math.isnan(v), "a number, not NaN")
    eps = finite_number(where, "eps", eps)
    shapes = [np.shape(v._data if isinstance(v, Tensor) else v) for v in (anchor, positive, negative)]
    if len({len(shape) for shape in shapes}) == 1 and not broadcasts_with(*shapes):
        raise ValueError(f"{where}: anchor, positive and negative of shapes {shapes[0]}, {shapes[1]} and {shapes[2]} "
                         "cannot be broadcast together")
    return _triplet(where, anchor, positive, negative, lambda x1, x2: pairwise_distance(x1, x2, p, eps), margin,
                    swap, reduction)


def triplet_margin_with_distance_loss(anchor: Any, positive: Any, negative: Any, *,
                                      distance_function: Callable | None = None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) per triplet with any distance d(x1, x2) (None:
    `pairwise_distance`), e.g. `lambda x, y: 1 - F.cosine_similarity(x, y)`; the keyword arguments as
    PyTorch's (keyword-only, no legacy pair), margin > 0."""
    where = "triplet_margin_with_distance_loss"
    reduction = checked_reduction(where, reduction)
    margin = positive_margin(where, margin)
    if distance_function is not None and not callable(distance_function):
        raise TypeError(f"{where}: distance_function must be callable (or None), got "
                        f"{type(distance_function).__name__}")
    return _triplet(where, anchor, positive, negative, distance_function or pairwise_distance, margin, swap,
                    reduction)


# ---- class scores against one class or several --------------------------------------------------

def multi_margin_loss(input: Any, target: Any, p: int = 1, margin: float = 1.0, weight: Any = None,
                      size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """sum over i != y of w[y] max(0, margin - x[y] + x[i])^p / C per row: the multi-class hinge of
    scores x (N, C) (or (C,)) against class indices y (N,) (or () or (1,)), p 1 or 2 (else ValueError,
    as PyTorch's), w optional class weights (C,) (1 without; a constant, as PyTorch's). As PyTorch's
    kernel: w[y] multiplies after the power, and the sum is divided by C;   d/dx[i] = w[y] p z^(p-1) / C
    where z = margin - x[y] + x[i] > 0, and x[y] gets minus their sum."""
    where = "multi_margin_loss"
    reduction = _reduction(where, size_average, reduce, reduction)
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"{where}: only p == 1 and p == 2 supported, got p={p!r}")
    margin = finite_number(where, "margin", margin)
    x = _scores(where, "input", input)
    count, classes = _rows(where, x)
    labels = _labels(where, target)
    if labels.ndim > 1 or labels.size != count:
        raise ValueError(f"{where}: expected {count} class indices, shape ({count},) or (), for input of shape "
                         f"{x.shape}, got target of shape {labels.shape}")
    picks = labels.reshape(count)
    if picks.size and (picks.min() < 0 or picks.max() >= classes):
        raise ValueError(f"{where}: class indices must lie in [0, {classes}), got values from {picks.min()} to "
                         f"{picks.max()}")
    weights = class_weights(where, weight, classes, x.dtype)
    scores = x.reshape(count, classes)
    hinge = ops.relu(margin - ops.gather(scores, picks).reshape(count, 1) + scores)
    if p == 2:
        hinge = hinge * hinge
    scale = (np.arange(classes) != picks[:, None]) / classes      # (not the row's own class)
    if weights is not None:
        scale = scale * weights[picks][:, None]
    losses = (hinge * owned(scale.astype(x.dtype))).sum(axis=-1)
    return reduce_losses(losses.reshape(labels.shape), reduction, where)


def multilabel_margin_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
                           reduction: str = "mean") -> Tensor:
    """sum over the row's labels j and the other classes i of max(0, 1 - x[j] + x[i]) / C per row: each
    label's score should beat every non-label's by 1. Scores (C,) or (N, C); target of the same shape,
    each row's label indices first, ended by -1 (`[3, 0, -1, 1]`: labels 3 and 0), as PyTorch's (a label
    listed twice counts twice, as its kernel);   d/dx[i] = 1 / C per open hinge, d/dx[j] minus that."""
    where = "multilabel_margin_loss"
    reduction = _reduction(where, size_average, reduce, reduction)
    x = _scores(where, "input", input)
    count, classes = _rows(where, x)
    labels = _labels(where, target)
    expected = (count, classes) if x.ndim == 2 else (classes,)
    if labels.shape != expected and not (x.ndim < 2 and labels.ndim <= 1 and labels.size == classes):
        raise ValueError(f"{where}: expected target of shape {expected} (label indices, ended by -1) for input of "
                         f"shape {x.shape}, got target of shape {labels.shape}")
    rows = labels.reshape(count, classes)
    if rows.size and (rows.min() < -1 or rows.max() >= classes):
        raise ValueError(f"{where}: label indices must lie in [0, {classes}) (or be -1, ending the list), got values "
                         f"from {rows.min()} to {rows.max()}")
    listed = np.cumprod(rows >= 0, axis=1).astype(bool)         # each row's labels: those before its first -1
    is_label = np.zeros((count, classes), bool)
    is_label[np.nonzero(listed)[0], rows[listed]] = True
    width = int(listed.sum(axis=1).max(initial=0))              # the most labels a row has
    scores = x.reshape(count, classes)
    label_scores = ops.gather(scores.reshape(count, 1, classes).expand(count, width, classes),
                              np.where(listed[:, :width], rows[:, :width], 0))
    margins = ops.relu(1 - label_scores.reshape(count, width, 1) + scores.reshape(count, 1, classes))
    counted = listed[:, :width, None] & ~is_label[:, None, :]
    losses = (margins * owned((counted / classes).astype(x.dtype))).sum(axis=-1).sum(axis=-1)
    return reduce_losses(losses if labels.ndim == 2 else losses.reshape(()), reduction, where)


def multilabel_soft_margin_loss(input: Any, target: Any, weight: Any = None, size_average: Any = None,
                                reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-sum_c w_c [y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)] / C per row: a binary
    cross-entropy from logits for each of C classes (the last axis), averaged over them, as PyTorch's
    (functional.py, which writes it with logsigmoid too). target (0 or 1 per class) of input's shape;
    `weight` w broadcasts to it (one per class, say); a target or weight tensor gets its gradient."""
    where = "multilabel_soft_margin_loss"
    reduction = _reduction(where, size_average, reduce, reduction)
    x = _scores(where, "input", input)
    if not x.ndim:
        raise ValueError(f"{where}: expected scores with a class axis (the last), (C,) or (N, C), got a 0-d tensor")
    y = as_target(target, x.dtype, where)
    _same_shapes(where, input=x, target=y)
    losses = -(y * logsigmoid(x) + (1 - y) * logsigmoid(-x))
    if weight is not None:
        w = as_target(weight, x.dtype, where, "weight")
        if not broadcasts_to(w.shape, x.shape):
            raise ValueError(f"{where}: weight of shape {w.shape} does not broadcast to the input's shape {x.shape}")
        losses = losses * w
    return reduce_losses(losses.sum(axis=-1) / x.shape[-1], reduction, where)
