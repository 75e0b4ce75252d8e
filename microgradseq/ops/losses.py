"""Losses as one op each, with their gradients in closed form: cross-entropy against class
indices, binary cross-entropy from logits or from probabilities, and the Kullback-Leibler
divergence (below).

Written from primitives (`functional.cross_entropy` with `reduction="none"`
still is), the loss of a batch of logits is four nodes: log_softmax, gather
(each row's target entry), neg, and the sum or mean. A recurrent model takes
this loss at every time step, so in a loop of cells those four nodes are a
fifth of the graph. As one node it keeps softmax(x) and the targets, and

    L = sum over rows r of -log softmax(x_r)[t_r]   (divided by the count N for a mean),
    dL/dx_r = g * (softmax(x_r) - onehot(t_r))       (/ N),
    J v     = sum over rows of (sum_j softmax(x_r)_j v_rj - v_r[t_r])   (/ N).

`tests/test_losses_op.py` checks it against the composite of primitives, and
`tests/test_losses_binary.py` the binary ones against numpy and finite differences (their
targets' gradients too).
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
# Each loss below is l_j = l(x_j, y_j) for every element, from the input x and the target y (pos_weight
# a constant), so both Jacobians are diagonal: g J = g * dl/dx and J v = v * dl/dx are the same
# product, and so for y: the row of an elementwise op that keeps its factors (`elementwise(scaled)`,
# as mul's). The target gets a gradient, as in PyTorch (a target made by the model, say).
# Written with primitives, l would need max(x, 0) and |x| for stability, whose derivatives at x = 0
# (0 by convention) add up to the wrong slope there: -y instead of sigmoid(0) - y.

def binary_cross_entropy_with_logits(x: Tensor, target: Tensor, pos_weight: np.ndarray | None) -> Tensor:
    """Per element, from logits x, targets y and pos_weight p (1 when None), s = sigmoid(x):

        l      = -[p y log s + (1 - y) log(1 - s)]
               = (1 - y) x + (1 + (p - 1) y) softplus(-x),   softplus(-x) = log(1 + e^-|x|) + max(-x, 0)
        dl/dx  = (1 + (p - 1) y) s - p y                    (s - y when p = 1)
        dl/dy  = (p - 1) softplus(-x) - x                   (-x when p = 1)

    The second form never overflows (e^-|x| <= 1). `target`: a tensor of x's dtype and shape;
    `pos_weight`: an array of x's dtype that broadcasts to x's shape (the caller checks them)."""
    X, Y = x._data, target._data
    small = np.exp(-np.abs(X))                                      # e^-|x|, in (0, 1]
    s = np.where(X >= 0, 1 / (1 + small), small / (1 + small))      # sigmoid(x), without overflow
    softplus = np.log1p(small) + np.maximum(-X, 0)                  # softplus(-x) = -log s
    positive = Y if pos_weight is None else pos_weight * Y
    log_weight = 1 + (positive - Y)                                 # 1 + (p - 1) y
    loss = (1 - Y) * X + log_weight * softplus
    slope = log_weight * s - positive
    target_slope = -X if pos_weight is None else (pos_weight - 1) * softplus - X
    return result("binary_cross_entropy_with_logits", loss.astype(X.dtype, copy=False), (x, target),
                  BINARY_CROSS_ENTROPY, (slope.astype(X.dtype, copy=False), target_slope.astype(X.dtype, copy=False)))


def binary_cross_entropy(x: Tensor, target: Tensor) -> Tensor:
    """Per element, from probabilities x in [0, 1] and targets y, as PyTorch computes it:

        l      = -[y max(log x, -100) + (1 - y) max(log(1 - x), -100)]
        dl/dx  = (x - y) / max(x (1 - x), 1e-12)
        dl/dy  = log(1 - x) - log x                         (+inf at x = 0, -inf at x = 1)

    The logs are clamped at -100, so x = 0 or 1 costs at most 100 rather than inf; inside (0, 1)
    the rule is the exact derivative (y / x and (1 - y) / (1 - x) over one denominator), and at
    the ends it stays finite, as PyTorch's does. The target's rule is not clamped, as PyTorch's
    is not. `target`: a tensor of x's dtype and shape."""
    X, Y = x._data, target._data
    with np.errstate(divide="ignore"):                              # (log 0 = -inf: clamped in the loss)
        log_x, log_rest = np.log(X), np.log1p(-X)
    loss = -(Y * np.maximum(log_x, -100) + (1 - Y) * np.maximum(log_rest, -100))
    slope = (X - Y) / np.maximum(X * (1 - X), 1e-12)
    target_slope = log_rest - log_x
    return result("binary_cross_entropy", loss.astype(X.dtype, copy=False), (x, target), BINARY_CROSS_ENTROPY,
                  (slope.astype(X.dtype, copy=False), target_slope.astype(X.dtype, copy=False)))


BINARY_CROSS_ENTROPY = elementwise(scaled, scaled)     # g * dl/dx and g * dl/dy; v * dl/dx and v * dl/dy


# ---- the Kullback-Leibler divergence, pointwise: elementwise in the input and the target too ----

def kl_div(log_q: Tensor, target: Tensor, log_target: bool) -> Tensor:
    """Per element, from log-probabilities log q (the input) and a target p, as PyTorch's F.kl_div:

        l      = p (log p - log q)          (0 where p = 0)
        dl/dlog q = -p,    dl/dp = log p + 1 - log q     (NaN where p = 0, as PyTorch's: its
                                                          xlogy(p, p) has the slope p / p there)

    or with `log_target`, the target t = log p given:

        l      = e^t (t - log q)
        dl/dlog q = -e^t,  dl/dt = e^t (t - log q + 1)

    A negative p gives NaN, as PyTorch's. `target`: a tensor of log_q's dtype and shape."""
    Q, P = log_q._data, target._data
    with np.errstate(divide="ignore", invalid="ignore"):            # (log of 0 or of a negative target)
        if log_target:
            p = np.exp(P)
            loss, target_slope = p * (P - Q), p * (P - Q + 1)
        else:
            p, log_p = P, np.log(P)
            loss = np.where(P == 0, 0, P * log_p) - P * Q
            target_slope = np.where(P == 0, np.nan, log_p + 1 - Q)
    return result("kl_div", loss.astype(Q.dtype, copy=False), (log_q, target), KL_DIV,
                  ((-p).astype(Q.dtype, copy=False), target_slope.astype(Q.dtype, copy=False)))


KL_DIV = elementwise(scaled, scaled)
