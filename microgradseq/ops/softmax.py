"""log_softmax as one op, with its gradient in closed form.

Written from primitives (`x - m - log(sum(exp(x - m)))`), log_softmax would
keep three arrays of the logits' size for the backward pass (x - m, its
exponential, and the output); a character model's readout is the largest
array it makes. As one op it keeps one, softmax(x), because the whole
gradient follows from it:

    dL/dx_i = g_i - softmax(x)_i * sum_j g_j.

The forward pass computes the exponentials anyway, so keeping softmax(x)
spares the backward pass an exponential of every logit. (Keeping the output
y = log softmax(x) instead would need e^y again there. A cross-entropy over
class indices reads y once and lets it go, so only softmax(x) is kept; a loss
that keeps y itself, such as one against target probabilities, keeps both.)

(`functional.softmax`, `logsumexp`, `logcumsumexp`, `logaddexp` and `logaddexp2` stay composites of primitives: their
gradients are left to the chain rule.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import flag, is_axis, no_bool_kernel
from . import elementwise as ew
from . import reduce
from .more_elementwise import exp2
from ..spellings import either
from .shape import _along, concat, getitem, reshape, stack
from ..tensor import Rules, Tensor, as_tensor, get_default_dtype, result


def log_softmax(x: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """y = (x - m) - log sum_j e^(x_j - m) along `axis`, m = max of x there (it cancels; it keeps e^ finite);
    dL/dx = g - softmax(x) * sum of g along `axis`,   J v = v - sum_j softmax_j v_j,
    softmax(x) = e^(x - m) / sum_j e^(x_j - m)."""
    axis = either("log_softmax", "axis", axis, "dim", dim, -1)
    x = x if type(x) is Tensor else as_tensor(x, where="log_softmax")
    X = x._data
    if X.ndim == 0 and is_axis(axis, 1):    # a 0-d tensor's dim 0 (or -1), as PyTorch's: its one entry, y = 0
        return reshape(log_softmax(reshape(x, (1,))), ())
    if not is_axis(axis, X.ndim):
        raise ValueError(f"log_softmax: axis {axis!r} is not an axis of shape {X.shape}")
    along = axis - X.ndim if axis >= 0 else axis        # from the end: tangents have their directions in front
    if X.dtype.kind in "iu":                # integer logits: in the default float dtype, as `F.softmax` and `exp`
        X = X.astype(get_default_dtype())   # (numpy's exp would give float16 for int8, float64 for int32)
    if X.shape[along] == 0:                 # nothing to normalise: an empty result, as PyTorch's
        empty = np.empty(X.shape, X.dtype if X.dtype.kind == "f" else np.float64)
        return result("log_softmax", empty, (x,), LOG_SOFTMAX, ((empty, along),))
    try:
        shifted = X - X.max(axis=along, keepdims=True)
    except TypeError:           # (bools: numpy refuses their subtraction; named here, at no cost otherwise)
        if X.dtype.kind != "b":
            raise
        raise TypeError(no_bool_kernel("log_softmax", convert="t.float()")) from None
    softmax = np.exp(shifted)
    total = softmax.sum(axis=along, keepdims=True)
    y = np.subtract(shifted, np.log(total), out=shifted)
    softmax /= total
    return result("log_softmax", y, (x,), LOG_SOFTMAX, ((softmax, along),))


def _d_log_softmax(g: np.ndarray, kept: tuple) -> np.ndarray:
    softmax, axis = kept
    scaled_softmax = softmax * g.sum(axis=axis, keepdims=True)
    return np.subtract(g, scaled_softmax, out=scaled_softmax)    # one array of the logits' size, not two


def _log_softmax_tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
    """J v = v - sum_j softmax_j v_j along the axis (counted from the end: directions lead)."""
    softmax, axis = kept
    return v - (softmax * v).sum(axis=axis, keepdims=True)


LOG_SOFTMAX = Rules(vjp=(_d_log_softmax,), jvp=(_log_softmax_tangent,))


def logsumexp(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
    """log sum_j e^(x_j) along `dim` (an axis or a tuple of them; `()` is every axis), as torch.logsumexp:
    m + log sum_j e^(x_j - m), m = the max of x there, taken as a constant (it cancels, and keeps e^
    finite);   dL/dx_j = g softmax(x)_j, which the chain rule finds through exp, sum and log.
    A slice of -inf gives -inf."""
    axis = either("logsumexp", "axis", axis, "dim", dim)
    keepdim = flag(keepdim, "keepdim", "logsumexp")
    x = x if type(x) is Tensor else as_tensor(x, where="logsumexp")
    if axis is None:
        raise TypeError(f"logsumexp: dim is required (an axis of shape {x.shape}, or a tuple of them)")
    axes = reduce.reduced_axes("logsumexp", axis, x.shape)
    X = ew.floats(x)
    if X is not x._data:                # integers and bools, as floats (they have no gradient), as PyTorch's
        x = as_tensor(X)
    m = X.max(axis=axes, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0).astype(X.dtype)        # (a slice of -inf: e^(x - 0) = 0, log 0 = -inf)
    total = reduce.sum(ew.exp(ew.sub(x, m)), axes, keepdims=True)
    with np.errstate(divide="ignore"):
        y = ew.add(ew.log(total), m)
    return y if keepdim else y.reshape(tuple(n for i, n in enumerate(y.shape) if i not in axes))


def logcumsumexp(x: Any, dim: Any = None, *, axis: Any = None) -> Tensor:
    """The running logsumexp along `dim`, as torch.logcumsumexp: y_i = log sum_{j <= i} e^(x_j);
    dL/dx_j = sum_{i >= j} g_i e^(x_j - y_i), which the chain rule finds through logsumexp.

    Hillis and Steele's scan: in the round with stride d = 1, 2, 4, ... each y_i becomes
    logsumexp(y_i, y_(i-d)) where i >= d, so after ceil(log2 n) rounds y_i covers x_0 .. x_i. Each pair
    is shifted by its own max, so e^ stays finite however far apart the x's are (a single shift by
    the max of the whole axis would send the early entries of a decaying sequence to log 0 = -inf).
    A prefix of -inf gives -inf (its gradient is NaN, as PyTorch's); a +inf gives +inf from there on,
    and sends no NaN back to the entries before it (`_log_add_exp`). Half precision is computed in
    float32 and rounded once, as PyTorch's kernel. Integer and bool tensors are a TypeError (PyTorch
    does not implement them); `dim` is required."""
    axis = either("logcumsumexp", "axis", axis, "dim", dim)
    x = x if type(x) is Tensor else as_tensor(x, where="logcumsumexp")
    if axis is None:
        raise TypeError(f"logcumsumexp: dim is required (an axis of shape {x.shape})")
    if x.dtype.kind not in "fc":
        raise TypeError(f"logcumsumexp: expected a floating-point tensor, got dtype {x.dtype}")
    if not is_axis(axis, max(x.ndim, 1)):
        raise ValueError(f"logcumsumexp: dim {axis!r} is not an axis of shape {x.shape}")
    if x.ndim == 0:
        return ew.clone(x)                  # (a 0-d tensor is its own running logsumexp, as PyTorch's)
    if x.dtype == np.float16:
        return ew.astype(logcumsumexp(ew.astype(x, np.float32), axis), np.float16)
    axis, n = axis % x.ndim, x.shape[axis % x.ndim]
    y, stride = x, 1
    while stride < n:
        head, later, earlier = (getitem(y, _along(axis, part)) for part in
                                (slice(0, stride), slice(stride, n), slice(0, n - stride)))
        y = concat([head, _log_add_exp(later, earlier)], axis)
        stride *= 2
    return y


def logaddexp(x: Any, other: Any) -> Tensor:
    """log(e^x + e^other) elementwise (the two broadcast), as torch.logaddexp, computed as
    max(x, other) + log1p(e^-|x - other|), which overflows nowhere;   dL/dx = g / (1 + e^(other - x)),
    which the chain rule finds: the max gives its side 1, the log1p term -sigmoid(-|x - other|) to it and
    +sigmoid(-|x - other|) to the other. At a tie the max shares g equally and |.|'s slope is 0, so each
    gets g / 2, the formula's value. Where both are the same infinity the result is that infinity (x - other
    would be NaN), as PyTorch's kernel gives, with g / 2 to each. Integer and bool tensors are a TypeError,
    as PyTorch has no integer logaddexp."""
    return _log_add("logaddexp", x, other, ew.exp, None)


def logaddexp2(x: Any, other: Any) -> Tensor:
    """log2(2^x + 2^other) elementwise, as torch.logaddexp2: max(x, other) + log1p(2^-|x - other|) / ln 2,
    PyTorch's kernel, written as `logaddexp` is (the same ties, infinities and integer TypeError);
    dL/dx = g / (1 + 2^(other - x)), from the chain rule."""
    return _log_add("logaddexp2", x, other, exp2, 1 / math.log(2))


def _log_add(name: str, x: Any, other: Any, exp: Any, scale: float | None) -> Tensor:
    """max(x, other) + log1p(exp(-|x - other|)) (times `scale`): logaddexp (exp) and logaddexp2 (exp2)."""
    x, other, _ = ew.operands(name, lambda A, B: np.broadcast_shapes(A.shape, B.shape), x, other)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected floating-point tensors, got dtypes {x.dtype} and {other.dtype}")
    X, OTHER = x._data, other._data
    with np.errstate(invalid="ignore"):     # (inf - inf and inf + -inf in the branches `where` leaves out)
        tie = ew.add(ew.mul(x, 0.5), ew.mul(other, 0.5))        # (a NaN on either side lands here too: NaN)
        larger = ew.where(X > OTHER, x, ew.where(X < OTHER, other, tie))
        gap = ew.abs(ew.where(X == OTHER, 0.0, ew.sub(x, other)))  # (equal: 0, also where inf - inf is NaN)
        tail = ew.log1p(exp(ew.neg(gap)))
        return ew.add(larger, tail if scale is None else ew.mul(tail, scale))


def _log_add_exp(a: Tensor, b: Tensor) -> Tensor:
    """log(e^a + e^b) elementwise, by `logsumexp`, but +inf where either is +inf (and neither is NaN), by a
    `where` that passes the gradient to the +inf one alone (its limit, 1; PyTorch's is NaN there): through
    logsumexp, e^(x - y) = e^(inf - inf) would send NaN back through every earlier round of the scan, to
    entries whose gradient is finite."""
    A, B = a._data, b._data
    infinite = ((A == np.inf) | (B == np.inf)) & ~np.isnan(A) & ~np.isnan(B)
    if not infinite.any():
        return logsumexp(stack([a, b]), 0)
    finite = logsumexp(stack([ew.where(infinite, 0.0, a), ew.where(infinite, 0.0, b)]), 0)
    return ew.where(infinite, ew.where(A == np.inf, a, b), finite)
