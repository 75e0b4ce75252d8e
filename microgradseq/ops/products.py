"""Products along an axis: `prod` (of every entry, or along one dim) and the running product `cumprod`.

Both rules need, for each entry, the product of the other entries it multiplies. y / x gives it only
where x != 0, so the rules here form it without dividing: a slice with one zero, two zeros or only
zeros gets its exact gradient, as PyTorch's (prod_backward and prod_safe_zeros_backward in
torch/csrc/autograd/FunctionsManual.cpp; cumprod_backward in aten/src/ATen/native/ReduceOps.cpp).

    x = (a, b, c):   prod = abc,   d prod/dx = (bc, ac, ab) = (1, a, ab) * (bc, c, 1)
                     (the running product of the entries before each, times that of those after it)
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..checks import is_axis
from ..spellings import axis_keepdims
from ..tensor import Rules, Tensor, as_tensor, result
from .reduce import accumulated_dtype, in_given_dtype, scanned


def prod(x: Any, dim: Any = None, keepdim: bool | None = None, *, dtype: Any = None, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """The product of x's entries, of all of them or along one `dim`, as torch.prod:
    y = x_0 x_1 ... x_(n-1);   d y/dx_i = the product of the others (0 wherever another entry is 0),
    J v = sum_i (d y/dx_i) v_i.

    Integers and bools multiply in int64, as PyTorch's; `dtype` converts x first. `dim` is one axis
    (PyTorch's prod takes no tuple); an empty slice's product is 1."""
    axis, keepdims = axis_keepdims("prod", axis, keepdims, dim, keepdim)
    x = x if type(x) is Tensor else as_tensor(x, where="prod")
    if axis is not None and not is_axis(axis, builtins.max(x.ndim, 1)):
        raise ValueError(f"prod: dim {axis!r} is not an axis of shape {x.shape} (one axis, or None for every entry)")
    x = in_given_dtype("prod", x, dtype)
    X = x._data
    multiplied_in = accumulated_dtype(X, dtype)
    if axis is None or X.ndim == 0:         # (a 0-d tensor's dim 0 is its one entry, as PyTorch's)
        y = np.prod(X, dtype=multiplied_in, keepdims=keepdims)
        return result("prod", y, (x,), PROD, ((X, None, keepdims),))
    along = axis % X.ndim
    y = np.prod(X, axis=along, dtype=multiplied_in, keepdims=keepdims)
    return result("prod", y, (x,), PROD, ((X, along, keepdims),))


def _others(x: np.ndarray, axis: int) -> np.ndarray:
    """For each entry of x, the product of the other entries of its slice along `axis`: the running
    product of those before it times that of those after it (no division: exact where entries are 0)."""
    n = x.shape[axis]
    if n == 0:
        return np.ones_like(x)
    head = tuple(slice(None) for _ in range(axis))
    one = np.ones_like(x[head + (slice(0, 1),)])
    before = np.cumprod(np.concatenate([one, x[head + (slice(0, n - 1),)]], axis), axis)
    after = np.flip(np.cumprod(np.concatenate([one, np.flip(x[head + (slice(1, n),)], axis)], axis), axis), axis)
    return before * after


def _slopes(kept: tuple) -> np.ndarray:
    """d y/dx_i for every entry, in x's shape."""
    x, axis, _ = kept
    return _others(x.reshape(-1), 0).reshape(x.shape) if axis is None else _others(x, axis)


def _to_factors(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, axis, keepdims = kept
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return g * _slopes(kept)


def _of_factors(v: np.ndarray, kept: tuple) -> np.ndarray:
    x, axis, keepdims = kept
    reduced = tuple(range(-x.ndim, 0)) if axis is None else (axis - x.ndim,)    # from the end: directions lead
    return (v * _slopes(kept)).sum(axis=reduced, keepdims=keepdims)


#           reverse mode: g (d y/dx)   forward mode: sum (d y/dx) v over the axis
PROD = Rules(vjp=(_to_factors,),      jvp=(_of_factors,))


def cumprod(x: Any, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Tensor:
    """The running product along `dim`: y_j = x_0 x_1 ... x_j, as torch.cumprod.

    dL/dx_k = y_(k-1) s_k   with   s_k = g_k + x_(k+1) s_(k+1)   (s_(n-1) = g_(n-1), y_(-1) = 1):
    s_k = sum over j >= k of g_j x_(k+1) ... x_j, gathered from the far end as Horner's rule does,
    so no x is divided by and a zero is exact.   J v: t_j = x_j t_(j-1) + y_(j-1) v_j (t_0 = v_0),
    the product rule one step at a time.

    As torch.cumprod: `dim` is required; the result is in `dtype` when given (x is converted first),
    else int64 for integers and bools, else x's dtype."""
    x, axis = scanned("cumprod", x, dim, axis, dtype)
    X = x._data
    multiplied_in = accumulated_dtype(X, dtype)
    if X.ndim == 0:                         # (a 0-d tensor is its own running product, as PyTorch's)
        y = X.astype(multiplied_in)
        return result("cumprod", y, (x,), CUMPROD, ((X, y, None),))
    from_end = axis - X.ndim if axis >= 0 else axis
    y = np.cumprod(X, axis=axis, dtype=multiplied_in)
    return result("cumprod", y, (x,), CUMPROD, ((X, y, from_end),))


def _to_running_factors(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, y, axis = kept
    if axis is None:
        return g
    g, x, y = (np.moveaxis(a, axis, 0) for a in (g, x, y))
    grad = np.empty(g.shape, np.result_type(g, x))
    s = None
    for k in reversed(range(len(g))):
        s = g[k] if s is None else g[k] + x[k + 1] * s
        grad[k] = s if k == 0 else y[k - 1] * s
    return np.moveaxis(grad, 0, axis)


def _running_factors(v: np.ndarray, kept: tuple) -> np.ndarray:
    x, y, axis = kept
    if axis is None:
        return v
    v, x, y = (np.moveaxis(a, axis, 0) for a in (v, x, y))      # (v's directions lead, x's axes follow)
    tangent = np.empty(v.shape[:1] + np.broadcast_shapes(v.shape[1:], x.shape[1:]), np.result_type(v, x))
    for j in range(len(v)):
        tangent[j] = v[0] if j == 0 else x[j] * tangent[j - 1] + y[j - 1] * v[j]
    return np.moveaxis(tangent, 0, axis)


#              reverse mode: s gathered from the far end   forward mode: t carried from the start
CUMPROD = Rules(vjp=(_to_running_factors,),                jvp=(_running_factors,))
