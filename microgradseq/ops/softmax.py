"""log_softmax as one op, with its gradient in closed form.

Written from primitives (`x - m - log(sum(exp(x - m)))`), log_softmax would
keep three arrays of the logits' size for the backward pass (x - m, its
exponential, and the output); a character model's readout is the largest
array it makes. As one op it keeps its output y alone, because the whole
gradient follows from y:

    dL/dx_i = g_i - softmax(x)_i * sum_j g_j,    softmax(x) = e^y.

(Keeping softmax(x) instead would save the backward pass one exponential, but
y is usually held anyway, by the loss that reads it, and then the two would
be two arrays of the logits' size.)

(`functional.softmax` stays a composite of primitives: its gradient is left to
the chain rule.)
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, record


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """y = (x - m) - log sum_j e^(x_j - m) along `axis`, m = max of x there (it cancels; it keeps e^ finite);
    dL/dx = g - e^y * sum of g along `axis`."""
    X = x._data
    if X.ndim == 0:
        raise ValueError("log_softmax: expected a tensor with at least one axis, got a 0-d tensor")
    if not -X.ndim <= axis < X.ndim:
        raise ValueError(f"log_softmax: axis {axis} is out of range for shape {X.shape}")
    shifted = X - X.max(axis=axis, keepdims=True)
    log_total = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    in_place = shifted if shifted.dtype == log_total.dtype else None    # (integer logits: a float y)
    y = np.subtract(shifted, log_total, out=in_place)     # the logits' size is the largest here: one array
    return record("log_softmax", y, (x,), (_d_log_softmax,), ((y, axis),))


def _d_log_softmax(g: np.ndarray, kept: tuple) -> np.ndarray:
    y, axis = kept
    scaled_softmax = np.exp(y)
    scaled_softmax *= g.sum(axis=axis, keepdims=True)
    return np.subtract(g, scaled_softmax, out=scaled_softmax)    # one array of the logits' size, not three
