"""Cross-entropy against class indices as one op, with its gradient in closed form.

Written from primitives (`functional.cross_entropy` with `reduction="none"`
still is), the loss of a batch of logits is four nodes: log_softmax, gather
(each row's target entry), neg, and the sum or mean. A recurrent model takes
this loss at every time step, so in a loop of cells those four nodes are a
fifth of the graph. As one node it keeps softmax(x) and the targets, and

    L = sum over rows r of -log softmax(x_r)[t_r]   (divided by the count N for a mean),
    dL/dx_r = g * (softmax(x_r) - onehot(t_r))       (/ N),
    J v     = sum over rows of (sum_j softmax(x_r)_j v_rj - v_r[t_r])   (/ N).

`tests/test_losses_op.py` checks it against the composite of primitives.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Rules, Tensor, result


def cross_entropy(x: Tensor, classes: np.ndarray, mean: bool) -> Tensor:
    """-log softmax(x)[classes] summed over the rows of x (..., C) (averaged when `mean`);
    `classes` holds valid class indices of shape x.shape[:-1] (the caller checks them)."""
    X = np.ascontiguousarray(x._data)         # (rows in C order: the rule writes into d.ravel(), a view then)
    shifted = X - X.max(axis=-1, keepdims=True)
    softmax = np.exp(shifted)
    total = softmax.sum(axis=-1, keepdims=True)
    targets = np.arange(classes.size) * X.shape[-1] + classes.ravel()  # each row's target, in the flat array
    loss = np.log(total).sum() - shifted.ravel()[targets].sum()         # sum of -log softmax at the targets
    count = classes.size if mean else 1
    softmax /= total
    return result("cross_entropy", np.asarray(loss / count if mean else loss, dtype=X.dtype), (x,), CROSS_ENTROPY,
                  ((softmax, targets, count),))


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
