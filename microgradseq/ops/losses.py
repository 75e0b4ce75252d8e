"""Losses as one op each, with their gradients in closed form: cross-entropy against class
indices, and binary cross-entropy from logits or from probabilities (below).

Written from primitives (`functional.cross_entropy` with `reduction="none"`
still is), the loss of a batch of logits is four nodes: log_softmax, gather
(each row's target entry), neg, and the sum or mean. A recurrent model takes
this loss at every time step, so in a loop of cells those four nodes are a
fifth of the graph. As one node it keeps softmax(x) and the targets, and

    L = sum over rows r of -log softmax(x_r)[t_r]   (divided by the count N for a mean),
    dL/dx_r = g * (softmax(x_r) - onehot(t_r))       (/ N),
    J v     = sum over rows of (sum_j softmax(x_r)_j v_rj - v_r[t_r])   (/ N).

`tests/test_losses_op.py` checks it against the composite of primitives, and
`tests/test_losses_binary.py` the binary ones against numpy and finite differences.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Rules, Tensor, result
from .elementwise import elementwise, scaled


def cross_entropy(x: Tensor, classes: np.ndarray, mean: bool) -> Tensor:
    """-log softmax(x)[classes] summed over the rows of x (..., C) (averaged when `mean`);
    `classes` holds valid class indices of shape x.shape[:-1] (the caller checks them)."""
    X = np.ascontiguousarray(x._data)         # (rows in C order: the rule writes into d.ravel(), a view then)
    shifted = X - X.max(axis=-1, keepdims=True)
    softmax = np.exp(shifted)
    total = softmax.sum(axis=-1, keepdims=True)
    # each row's target, in the flat array (as intp: uint64 classes plus int64 offsets would be float64)
    targets = np.arange(classes.size) * X.shape[-1] + classes.ravel().astype(np.intp, copy=False)
    loss = np.log(total).sum() - shifted.ravel()[targets].sum()         # sum of -log softmax at the targets
    count = classes.size if mean else 1
    softmax /= total
    if mean:       # (the mean of no row is NaN, as PyTorch's, without numpy's 0/0 warning)
        loss = loss / count if count else np.nan
    return result("cross_entropy", np.asarray(loss, dtype=X.dtype), (x,), CROSS_ENTROPY,
                  ((softmax, targets, max(count, 1)),))


def _d_cross_entropy(g: np.ndarray, kept: tuple) -> np.ndarray:
    softmax, targets, count = kept
    scale = g / count if count != 1 else g
    d = softmax * scale
    d.ravel()[targets] -= scale                 # softmax - onehot(target), times g / N
    return d


def _cross_entropy_tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
    """J v for v of shape (k, *x.shape): one number per direction."""
    softmax, targets, count = kept
    flat = v.reshape(len(v), -1)
    return ((softmax * v).reshape(len(v), -1).sum(axis=1) - flat[:, targets].sum(axis=1)) / count


CROSS_ENTROPY = Rules(vjp=(_d_cross_entropy,), jvp=(_cross_entropy_tangent,))


# ---- binary cross-entropy: elementwise, so one rule serves both modes --------------------------
#
# Each loss below is y_j = l(x_j) for every element, its target (and pos_weight) constants, so its
# Jacobian is diagonal: g J = g * l'(x) and J v = v * l'(x) are the same product, the row of an
# elementwise op that keeps its factor (`elementwise(scaled)`, as exp's).
# Written with primitives, l would need max(x, 0) and |x| for stability, whose derivatives at x = 0
# (0 by convention) add up to the wrong slope there: -y instead of sigmoid(0) - y.

def binary_cross_entropy_with_logits(x: Tensor, target: np.ndarray, pos_weight: np.ndarray | None) -> Tensor:
    """Per element, from logits x, targets y and pos_weight p (1 when None), s = sigmoid(x):

        l      = -[p y log s + (1 - y) log(1 - s)]
               = (1 - y) x + (1 + (p - 1) y) softplus(-x),   softplus(-x) = log(1 + e^-|x|) + max(-x, 0)
        dl/dx  = (1 + (p - 1) y) s - p y                    (s - y when p = 1)

    The second form never overflows (e^-|x| <= 1). `target` and `pos_weight` are arrays of x's
    dtype that broadcast to x's shape (the caller checks them)."""
    X = x._data
    small = np.exp(-np.abs(X))                                      # e^-|x|, in (0, 1]
    s = np.where(X >= 0, 1 / (1 + small), small / (1 + small))      # sigmoid(x), without overflow
    positive = target if pos_weight is None else pos_weight * target
    log_weight = 1 + (positive - target)                            # 1 + (p - 1) y
    loss = (1 - target) * X + log_weight * (np.log1p(small) + np.maximum(-X, 0))
    slope = log_weight * s - positive
    return result("binary_cross_entropy_with_logits", loss.astype(X.dtype, copy=False), (x,), BINARY_CROSS_ENTROPY,
                  (slope.astype(X.dtype, copy=False),))


def binary_cross_entropy(x: Tensor, target: np.ndarray) -> Tensor:
    """Per element, from probabilities x in [0, 1] and targets y, as PyTorch computes it:

        l      = -[y max(log x, -100) + (1 - y) max(log(1 - x), -100)]
        dl/dx  = (x - y) / max(x (1 - x), 1e-12)

    The logs are clamped at -100, so x = 0 or 1 costs at most 100 rather than inf; inside (0, 1)
    the rule is the exact derivative (y / x and (1 - y) / (1 - x) over one denominator), and at
    the ends it stays finite, as PyTorch's does. `target`: an array of x's dtype and shape."""
    X = x._data
    with np.errstate(divide="ignore"):                              # (log 0 = -inf, then clamped)
        log_x, log_rest = np.maximum(np.log(X), -100), np.maximum(np.log1p(-X), -100)
    loss = -(target * log_x + (1 - target) * log_rest)
    slope = (X - target) / np.maximum(X * (1 - X), 1e-12)
    return result("binary_cross_entropy", loss.astype(X.dtype, copy=False), (x,), BINARY_CROSS_ENTROPY,
                  (slope.astype(X.dtype, copy=False),))


BINARY_CROSS_ENTROPY = elementwise(scaled)         # g * dl/dx, and v * dl/dx
