"""Reductions: sum, mean, max, norm, and the running sum cumsum. Their rules spread g back over the
reduced axes. var, std, var_mean, std_mean and nansum are written with them (no rules of their own);
count_nonzero counts (no gradient). The products, prod and cumprod, are products.py."""

from __future__ import annotations

import builtins
import math
import numbers
import warnings
from typing import Any, NamedTuple

import numpy as np

from ..checks import flag, is_axis, is_finite_number, is_int, user_stacklevel
from ..spellings import axis_keepdims, either
from ..tensor import Rules, Tensor, as_tensor, owned, result
from . import elementwise as ew
from .elementwise import astype, in_dtype
from .shape import getitem, reshape


def _normalise_axes(name: str, axis, shape: tuple) -> tuple:
    """`axis` (None, an int or a sequence of ints) as a tuple of non-negative axes of `shape` (a 0-d
    tensor takes dim 0 or -1 and reduces nothing, as PyTorch's); ValueError naming the op and the
    shape for anything else."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    if not ndim and len(axes) == 1 and is_axis(axes[0], 1):
        return ()
    if not all(is_axis(a, ndim) for a in axes) or len({a % ndim for a in axes}) != len(axes):
        raise ValueError(f"{name}: axis {axis!r} is not an axis (or distinct axes) of shape {shape}")
    return tuple(a % ndim for a in axes)


def _expand(g: np.ndarray, shape: tuple, axes: tuple, keepdims: bool) -> np.ndarray:
    """Put the reduced axes back into g (as size 1) so it broadcasts against the input."""
    g = np.asarray(g)
    if not keepdims:
        for a in sorted(axes):
            g = np.expand_dims(g, a)
    return g


def sum(x: Any, axis=None, keepdims: bool | None = None, *, dim=None, keepdim: bool | None = None,
        dtype: Any = None) -> Tensor:
    """sum of x over `axis` (or `dim`; integers and bools sum in int64, as PyTorch's; `dtype` converts
    x first and is the result's, as PyTorch's);   d/dx[i] = 1 for every summed element: g is broadcast back"""
    axis, keepdims = axis_keepdims("sum", axis, keepdims, dim, keepdim)
    x = x if type(x) is Tensor else as_tensor(x, where="sum")
    if dtype is not None:
        x = astype(x, dtype)
    X = x._data
    axes = _normalise_axes("sum", axis, X.shape)
    y = np.asarray(X.sum(axis=axes, keepdims=keepdims, dtype=accumulated_dtype(X, dtype)))
    return result("sum", y, (x,), SUM, ((X.shape, axes, keepdims, 1),))


def _spread(g: np.ndarray, kept: tuple) -> np.ndarray:
    """g / count broadcast back over the axes a sum (count 1) or a mean (count N) reduced."""
    shape, axes, keepdims, count = kept
    g = _expand(g, shape, axes, keepdims)
    return np.broadcast_to(g if count == 1 else g / count, shape)


def _summed(v: np.ndarray, kept: tuple) -> np.ndarray:
    """J v for a sum (count 1) or a mean (count N): v summed over the same axes (counted from the
    end, so a leading axis of directions stays), divided by the count."""
    shape, axes, keepdims, count = kept
    total = v.sum(axis=tuple(a - len(shape) for a in axes), keepdims=keepdims)
    return total if count == 1 else total / count


#          reverse mode: g broadcast back   forward mode: v summed
SUM = Rules(vjp=(_spread,),                jvp=(_summed,))


def mean(x: Any, axis=None, keepdims: bool | None = None, *, dim=None, keepdim: bool | None = None,
         dtype: Any = None) -> Tensor:
    """mean of x over `axis` (or `dim`; N elements each; `dtype`, floating-point, converts x first, as
    PyTorch's);   d/dx[i] = 1 / N"""
    axis, keepdims = axis_keepdims("mean", axis, keepdims, dim, keepdim)
    x = x if type(x) is Tensor else as_tensor(x, where="mean")
    x = in_dtype("mean", x, dtype, kinds="fc")
    X = x._data
    axes = _normalise_axes("mean", axis, X.shape)
    count = int(np.prod([X.shape[a] for a in axes])) if axes else 1
    y = np.asarray(X.mean(axis=axes, keepdims=keepdims))
    return result("mean", y, (x,), SUM, ((X.shape, axes, keepdims, count),))


def max(x: Any, axis=None, keepdims: bool | None = None, *, dim=None,
        keepdim: bool | None = None) -> "Tensor | ValuesIndices":
    """max of x over `axis`;   d/dx[i] = 1 at the maximum (shared equally between ties), else 0

    With PyTorch's `dim=` (one axis) it returns what PyTorch's does: the pair (values, indices),
    the values picked at the indices (the whole gradient goes to each index, as PyTorch's).
    """
    keepdims = bool(either("max", "keepdims", keepdims, "keepdim", keepdim, False))
    if dim is not None:
        return extreme_and_index(x, either("max", "axis", axis, "dim", dim), keepdims)
    x = x if type(x) is Tensor else as_tensor(x, where="max")
    X = x._data
    axes = _normalise_axes("max", axis, X.shape)
    if X.size == 0 and (not axes or any(X.shape[a] == 0 for a in axes)):
        raise ValueError(f"max: no maximum over an empty axis (shape {X.shape}, axis {axis!r})")
    y_kept = X.max(axis=axes, keepdims=True)
    y = np.asarray(y_kept if keepdims else np.squeeze(y_kept, axis=axes))     # (no second max over x)
    return result("max", y, (x,), MAX, ((X, y_kept, axes, keepdims),))


def _shares(x: np.ndarray, y_kept: np.ndarray, axes: tuple) -> np.ndarray:
    """1 / (number of ties) at each maximum, 0 elsewhere, in x's dtype (a NaN maximum is where the
    NaNs are, as PyTorch's: NaN == NaN is false)."""
    is_max = (x == y_kept) | (np.isnan(x) & np.isnan(y_kept)) if x.dtype.kind in "fc" else x == y_kept
    return np.divide(is_max, is_max.sum(axis=axes, keepdims=True), dtype=x.dtype if x.dtype.kind in "fc" else None)


def _to_maxima(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, y_kept, axes, keepdims = kept
    return _expand(g, x.shape, axes, keepdims) * _shares(x, y_kept, axes)


def _of_maxima(v: np.ndarray, kept: tuple) -> np.ndarray:
    x, y_kept, axes, keepdims = kept
    return (v * _shares(x, y_kept, axes)).sum(axis=tuple(a - x.ndim for a in axes), keepdims=keepdims)


MAX = Rules(vjp=(_to_maxima,), jvp=(_of_maxima,))


def _order(p: Any) -> float:
    """p as 1, 2 or inf (given as a number, or as the string 'inf'; PyTorch's default 'fro', the
    Frobenius norm, is the 2-norm over the entries reduced); ValueError naming `norm` otherwise."""
    if isinstance(p, str) and p in ("inf", "fro"):
        return math.inf if p == "inf" else 2.0
    if isinstance(p, numbers.Real) and not isinstance(p, (bool, np.bool_)) and p in (1, 2, math.inf):
        return float(p)
    raise ValueError(f"norm: p={p!r} is not supported; use p=2 (the Euclidean norm), p=1, or p=inf "
                     "('inf' or float('inf'): the largest |x|)")


def norm(x: Any, p: Any = 2, dim=None, keepdim: bool | None = None, *, axis=None,
         keepdims: bool | None = None) -> Tensor:
    """The p-norm of x over `dim` (or `axis`: an int, a tuple, or all entries), as torch.norm:

        p = 2:    y = sqrt(sum x_i^2)    d y/dx_i = x_i / y        (0 where y = 0)
        p = 1:    y = sum |x_i|          d y/dx_i = sign x_i       (0 at x_i = 0)
        p = inf:  y = max |x_i|          d y/dx_i = sign x_i at the entries where |x_i| = y,
                                                    shared equally between ties (as max), else 0

    One op, not sqrt(sum(x * x)): that chain's gradient at x = 0 is 0 / 0 = NaN, where this
    rule gives PyTorch's subgradient 0. Forward mode contracts the same slopes with the tangent:
    dy = sum_i (d y/dx_i) v_i over the reduced axes. `p` is 2, 1, or inf ('inf' or
    float('inf')), or 'fro' (= 2); anything else is a ValueError. Integer input gives float64 (as `mean`);
    half precision is computed in float32 and rounded once, as PyTorch accumulates it.
    """
    axis, keepdims = axis_keepdims("norm", axis, keepdims, dim, keepdim)
    order = _order(p)
    x = x if type(x) is Tensor else as_tensor(x, where="norm")
    X = x._data
    if X.dtype.kind not in "biuf":
        raise TypeError(f"norm: expected a real tensor, got dtype {X.dtype}")
    axes = _normalise_axes("norm", axis, X.shape)
    if X.dtype == np.float16:       # (PyTorch accumulates half in float32: 300^2 passes 65504, the norm 500 does not)
        return astype(norm(astype(x, np.float32), p, axes, keepdims), np.float16)
    magnitudes = np.abs(X if X.dtype.kind == "f" else X.astype(np.float64))
    if order == 2:
        y_kept = np.sqrt(np.sum(magnitudes * magnitudes, axis=axes, keepdims=True))
    elif order == 1:
        y_kept = np.sum(magnitudes, axis=axes, keepdims=True)
    else:
        if X.size == 0 and (not axes or any(X.shape[a] == 0 for a in axes)):
            raise ValueError(f"norm: no largest |x| over an empty axis for p=inf (shape {X.shape}, dim {axis!r})")
        y_kept = np.max(magnitudes, axis=axes, keepdims=True)
    y = np.asarray(y_kept if keepdims else np.squeeze(y_kept, axis=axes))
    return result("norm", y, (x,), NORM, ((X, y_kept, axes, keepdims, order),))


def _slopes(kept: tuple) -> np.ndarray:
    """d y/dx, entry by entry, in x's dtype (its reduced groups broadcast against y_kept)."""
    x, y_kept, axes, _, order = kept
    if order == 1:
        return np.sign(x)
    if order == 2:
        return np.divide(x, y_kept, out=np.zeros(x.shape, y_kept.dtype), where=y_kept != 0)
    return np.sign(x) * _shares(np.abs(x), y_kept, axes)


def _to_norm(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, _, axes, keepdims, _ = kept
    return _expand(g, x.shape, axes, keepdims) * _slopes(kept)


def _of_norm(v: np.ndarray, kept: tuple) -> np.ndarray:
    x, _, axes, keepdims, _ = kept
    return (v * _slopes(kept)).sum(axis=tuple(a - x.ndim for a in axes), keepdims=keepdims)


#           reverse mode: g (d y/dx)    forward mode: sum (d y/dx) v over the reduced axes
NORM = Rules(vjp=(_to_norm,),          jvp=(_of_norm,))


def cumsum(x: Any, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Tensor:
    """The running sum along `dim`: y_i = x_0 + ... + x_i;
    dL/dx_j = sum over i >= j of g_i (the running sum of g from the far end),   J v = the running sum of v.

    As torch.cumsum: `dim` is required; the result is in `dtype` when given (x is converted first),
    else int64 for integers and bools, else x's dtype."""
    x, axis = scanned("cumsum", x, dim, axis, dtype)
    X = x._data
    summed_in = accumulated_dtype(X, dtype)
    if X.ndim == 0:                         # (a 0-d tensor is its own running sum, as PyTorch's)
        return result("cumsum", X.astype(summed_in), (x,), CUMSUM, (None,))
    from_end = axis - X.ndim if axis >= 0 else axis
    return result("cumsum", np.cumsum(X, axis=axis, dtype=summed_in), (x,), CUMSUM, (from_end,))


def scanned(name: str, x: Any, dim: Any, axis: Any, dtype: Any) -> tuple[Tensor, int]:
    """The input and axis of a running sum or product (`name`), as torch.cumsum's: `dim` (or `axis`) is
    required and must be an axis of x (ValueError naming `name`); x converted to `dtype` when given."""
    axis = either(name, "axis", axis, "dim", dim)
    x = x if type(x) is Tensor else as_tensor(x, where=name)
    if axis is None or not is_axis(axis, builtins.max(x.ndim, 1)):
        raise ValueError(f"{name}: dim {axis!r} is not an axis of shape {x.shape} (dim is required)")
    return in_given_dtype(name, x, dtype), axis


def in_given_dtype(name: str, x: Tensor, dtype: Any) -> Tensor:
    """x converted to `dtype` first (None: as it is), as PyTorch's sums and products take `dtype=`;
    TypeError naming `name` for what is not a dtype."""
    if dtype is None:
        return x
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: dtype must be a dtype (mg.float32, mg.int64, ...), got {dtype!r}") from None
    return astype(x, dtype)


def accumulated_dtype(X: np.ndarray, dtype: Any) -> np.dtype:
    """The dtype a sum or product of X is in, as PyTorch's: X's when `dtype` was given (X is in it) or
    X is floating or complex, else int64 (integers and bools)."""
    return X.dtype if dtype is not None or X.dtype.kind in "fc" else np.dtype(np.int64)


def _running_sum_from_the_end(g: np.ndarray, axis: int | None) -> np.ndarray:
    return g if axis is None else np.flip(np.cumsum(np.flip(g, axis), axis), axis)


def _running_sum(v: np.ndarray, axis: int | None) -> np.ndarray:
    return v if axis is None else np.cumsum(v, axis)


#             reverse mode: g summed from the far end   forward mode: v summed from the start
CUMSUM = Rules(vjp=(_running_sum_from_the_end,),        jvp=(_running_sum,))


def reduced_axes(name: str, axis: Any, shape: tuple) -> tuple:
    """The axes a reduction written for PyTorch reduces: `axis` as `_normalise_axes` reads it, except
    that an empty tuple means every axis, as PyTorch's var and logsumexp read it."""
    if isinstance(axis, (tuple, list)) and not axis:
        axis = None
    return _normalise_axes(name, axis, shape)


def var(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool | None = None, *,
        correction: Any = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """The variance over `dim`, as PyTorch's: sum (x - mean)^2 / (N - correction), correction 1
    (Bessel's; `unbiased=False` or `correction=0` divide by N, as numpy's var does by default).
    `x.var(False)` is PyTorch's older var(unbiased).

    Written with mean, sub, mul and sum, so it needs no rule of its own:
    dvar/dx_i = 2 (x_i - mean) / (N - correction) (the mean's own share sums to zero)."""
    if isinstance(dim, (bool, np.bool_)) and unbiased is None:
        dim, unbiased = None, dim
    axis, keepdims = axis_keepdims("var", axis, keepdims, dim, keepdim)
    correction = _correction("var", unbiased, correction)
    x = x if type(x) is Tensor else as_tensor(x, where="var")
    if x.dtype.kind != "f":
        raise TypeError(f"var: expected a real floating-point tensor, got {x.dtype}")
    axes = reduced_axes("var", axis, x.shape)
    if x.dtype == np.float16:       # (PyTorch sums half in a wider type: (x - mean)^2 passes 65504 from 256)
        return astype(var(astype(x, np.float32), axes, correction=correction, keepdim=keepdims), np.float16)
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    if count - correction <= 0:
        warnings.warn(f"var: {count} values and correction {correction} leave no degrees of freedom "
                      "(the result is NaN or infinite), as PyTorch warns", UserWarning, stacklevel=user_stacklevel())
    centred = ew.sub(x, mean(x, axes, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return ew.div(sum(ew.mul(centred, centred), axes, keepdims), builtins.max(count - correction, 0))


def std(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool | None = None, *,
        correction: Any = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """The standard deviation over `dim`: sqrt(var), with var's arguments (correction 1 by default,
    as PyTorch's);   dstd/dx_i = (x_i - mean) / ((N - correction) std), and 0 where std = 0, as
    PyTorch's (sqrt's own slope is infinite there: a constant row would give NaN). The zeros come from
    `where`: std is where(var = 0, 0, sqrt(where(var = 0, 1, var)))."""
    variance = var(x, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)
    zero = variance._data == 0
    return ew.where(zero, 0, ew.sqrt(ew.where(zero, 1, variance)))


def var_mean(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool | None = None, *,
             correction: Any = None, axis: Any = None, keepdims: bool | None = None) -> tuple[Tensor, Tensor]:
    """(var, mean) over `dim`, as torch.var_mean: `var` with the same arguments (correction 1 by
    default) and `mean` over the same axes, so each has its own gradient."""
    return _with_mean("var_mean", var, x, dim, unbiased, keepdim, correction, axis, keepdims)


def std_mean(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool | None = None, *,
             correction: Any = None, axis: Any = None, keepdims: bool | None = None) -> tuple[Tensor, Tensor]:
    """(std, mean) over `dim`, as torch.std_mean: `std` with the same arguments and `mean` over the
    same axes."""
    return _with_mean("std_mean", std, x, dim, unbiased, keepdim, correction, axis, keepdims)


def _with_mean(name: str, spread: Any, x: Any, dim: Any, unbiased: Any, keepdim: Any, correction: Any, axis: Any,
               keepdims: Any) -> tuple[Tensor, Tensor]:
    """(spread(x), mean(x)) over the axes var reads from its arguments; the checks name `name`."""
    if isinstance(dim, (bool, np.bool_)) and unbiased is None:
        dim, unbiased = None, dim
    axis, keepdims = axis_keepdims(name, axis, keepdims, dim, keepdim)
    _correction(name, unbiased, correction)
    x = x if type(x) is Tensor else as_tensor(x, where=name)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a real floating-point tensor, got {x.dtype}")
    axes = reduced_axes(name, axis, x.shape)
    return spread(x, axes, unbiased, keepdims, correction=correction), mean(x, axes, keepdims)


def nansum(x: Any, dim: Any = None, keepdim: bool | None = None, *, dtype: Any = None, axis: Any = None,
           keepdims: bool | None = None) -> Tensor:
    """The sum over `dim` (an axis, a tuple of them, or every axis) with each NaN counted as 0, as
    torch.nansum: sum(where(isnan(x), 0, x)), so dL/dx_i = 1, and 0 at a NaN (PyTorch's nansum_backward).
    Integers and bools sum in int64; `dtype` converts x first; a complex tensor, or a floating one given
    a dtype that is not floating, is a TypeError."""
    axis, keepdims = axis_keepdims("nansum", axis, keepdims, dim, keepdim)
    x = x if type(x) is Tensor else as_tensor(x, where="nansum")
    if x.dtype.kind == "c":
        raise TypeError(f"nansum: expected a real tensor, got dtype {x.dtype} (PyTorch's nansum takes no complex)")
    axes = _normalise_axes("nansum", axis, x.shape)
    # (PyTorch's nansum kernel is floating only; integers and bools go to sum, which takes any dtype)
    x = ew.in_dtype("nansum", x, dtype) if x.dtype.kind == "f" else in_given_dtype("nansum", x, dtype)
    if x.dtype.kind == "f":
        x = ew.where(np.isnan(x._data), 0, x)
    return sum(x, axes, keepdims, dtype=dtype)


def nanmean(x: Any, dim: Any = None, keepdim: bool | None = None, *, dtype: Any = None, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
    """The mean over `dim` of the entries that are not NaN (NaN where all are), as torch.nanmean (PyTorch's
    own composite): nansum(x) / (number not NaN), so dL/dx_i = 1 / count, and 0 at a NaN. Floating point
    only (`dtype` converts x first)."""
    axis, keepdims = axis_keepdims("nanmean", axis, keepdims, dim, keepdim)
    x = x if type(x) is Tensor else as_tensor(x, where="nanmean")
    if x.dtype.kind != "f":
        raise TypeError(f"nanmean: expected a floating-point tensor (as PyTorch's), got dtype {x.dtype}")
    x = in_dtype("nanmean", x, dtype)
    axes = _normalise_axes("nanmean", axis, x.shape)
    counts = np.sum(~np.isnan(x._data), axis=axes, keepdims=keepdims).astype(x.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ew.div(nansum(x, axes, keepdims), counts)


def count_nonzero(x: Any, dim: Any = None) -> Tensor:
    """How many entries are not zero over `dim` (an axis, a tuple of them, or every axis), as
    torch.count_nonzero: int64 counts, no gradient (a count is a step function of x)."""
    x = x if type(x) is Tensor else as_tensor(x, where="count_nonzero")
    axes = _normalise_axes("count_nonzero", dim, x.shape)
    return owned(np.asarray(np.count_nonzero(x._data, axis=axes), dtype=np.int64))


def _correction(where: str, unbiased: Any, correction: Any) -> Any:
    """The number var divides N less by: PyTorch's `correction=` (default 1), or its older
    `unbiased=` (True: 1, False: 0); not both."""
    if unbiased is not None and correction is not None:
        raise TypeError(f"{where}: got both unbiased= and correction=; pass one")
    if unbiased is not None:
        return 1 if flag(unbiased, "unbiased", where) else 0
    if correction is None:
        return 1
    if not is_finite_number(correction) or correction < 0:
        raise ValueError(f"{where}: correction must be a number >= 0, got {correction!r}")
    return correction


class ValuesIndices(NamedTuple):
    """What PyTorch's `t.max(dim=d)` returns: the maxima, and where along `d` they are."""

    values: Tensor
    indices: Tensor


def _own_values(values: Tensor) -> Tensor:
    """`values`, a reshape or basic index of the input, made a tensor of its own, not a part of it, as
    the values PyTorch's max(dim), sort, cummax, median(dim), ... return: a write into them leaves the input alone."""
    values._part_of = None
    return values


def extreme_and_index(x: Any, dim: Any, keepdim: bool, which: str = "max") -> ValuesIndices:
    """PyTorch's `x.max(dim=d)` (`which="max"`) or `x.min(dim=d)`: the values picked at the indices
    argmax (argmin) finds, so the whole gradient goes to each index, as PyTorch's (ties are not
    shared here, and a NaN extreme is where numpy's argmax found the first NaN)."""
    x = x if type(x) is Tensor else as_tensor(x)
    if not is_int(dim):
        raise TypeError(f"{which}: dim= takes one axis of shape {x.shape} (as PyTorch's), got {dim!r}; "
                        "use axis= to reduce over several")
    if not is_axis(dim, builtins.max(x.ndim, 1)):
        raise IndexError(f"{which}: dim {dim} is out of range for a tensor of shape {x.shape}")
    if x.ndim == 0:             # a 0-d tensor's dim 0 (or -1), as PyTorch's: its one entry, at index 0
        return ValuesIndices(_own_values(reshape(x, ())), owned(np.zeros((), dtype=np.int64)))
    axis = dim % x.ndim
    if x.shape[axis] == 0:
        raise ValueError(f"{which}: no {which}imum over an empty axis (shape {x.shape}, dim {dim})")
    indices = (np.argmax if which == "max" else np.argmin)(x._data, axis=axis).astype(np.int64)
    positions = list(np.indices(indices.shape, sparse=True))
    positions.insert(axis, indices)
    values = _own_values(getitem(x, tuple(positions)))     # (of a 1-D x, positions are a 0-d array: a basic index)
    if keepdim:
        values, indices = reshape(values, x.shape[:axis] + (1,) + x.shape[axis + 1:]), np.expand_dims(indices, axis)
    return ValuesIndices(values, owned(indices))


class ExtremesAlong(Tensor):
    """What `t.max(d)` and `t.min(d)` return for one axis `d` given by position: numpy's meaning,
    the values (the gradient shared between ties, as `max` over `axis=`), which also answer to the
    names of PyTorch's pair, so `logits.max(1, keepdim=True).values` and `logits.max(1).indices` port:

        .values   the extremes picked at .indices, as PyTorch's `values` (the whole gradient to each index)
        .indices  where along d they are: int64, the first of ties (numpy's argmax and argmin)

    The indices are found with the values. Only while t's values are differentiated (recorded, or
    carrying a tangent in forward mode) is t kept, for `.values`' rule (a RuntimeError if t was
    changed in place since). Unpacking (`values, indices = t.max(1)`) still
    iterates over the values, and `t.max(1)[0]` is their first row: PyTorch's idioms for the pair,
    which mean other numbers here, so both warn (`t.max(dim=1)` is the pair)."""

    __slots__ = ("_indices", "_source", "_which")   # int64 indices; (x, d, keepdim, "max" or "min", x's array)
                                                    # or None; "max" or "min"

    def __iter__(self):
        self._warn("iterating over it (as `values, indices = t.max(1)` does) gives its rows")
        return Tensor.__iter__(self)           # (rows by `getitem`: the warning once, not per row)

    def __getitem__(self, index: Any) -> Tensor:
        if is_int(index):
            self._warn(f"[{index}] is its row {index}")
        return getitem(self, index)

    def _warn(self, what: str) -> None:
        warnings.warn(f"t.{self._which}(d) without dim= is the {self._which}ima along d, as numpy's, and {what}; "
                      f"PyTorch's is the pair (values, indices): write t.{self._which}(dim=d) for it, or "
                      f".values / .indices", UserWarning, stacklevel=user_stacklevel())

    @property
    def values(self) -> Tensor:
        if self._source is None:                # (nothing recorded: the values are the extremes at the indices)
            return owned(self._data)
        x, dim, keepdim, which, array = self._source
        if x._data is not array:
            raise RuntimeError(f"{which}(...).values: the tensor was changed in place after {which} was taken; "
                               f"take {which} again (or t.{which}(dim={dim}) for the pair at once)")
        return extreme_and_index(x, dim, keepdim, which).values

    @property
    def indices(self) -> Tensor:
        return owned(self._indices)

    def __copy__(self) -> "ExtremesAlong":
        out = Tensor.__copy__(self)
        out._indices, out._source, out._which = self._indices, self._source, self._which
        return out

    def __reduce_ex__(self, protocol: int) -> tuple:
        return _rebuilt_extremes, (np.array(self._data), np.array(self._indices), self._which)


def _rebuilt_extremes(values: np.ndarray, indices: np.ndarray, which: str = "max") -> ExtremesAlong:
    """An ExtremesAlong from pickle or deepcopy: the values and indices, without history."""
    return extremes_along(owned(values), None, indices, which)


def extremes_along(values: Tensor, source: tuple | None, indices: np.ndarray, which: str) -> ExtremesAlong:
    """`values` (x's maxima or minima, `which`, along an axis) over the same array and node, with their
    `indices`; `source` = (x, axis, keepdim, which) is kept while the values are differentiated."""
    out = object.__new__(ExtremesAlong)
    out._data, out._node, out._tangent, out._part_of = values._data, values._node, values._tangent, None
    out._indices = indices.astype(np.int64, copy=False)
    out._which = which
    recorded = values._node is not None or values._tangent is not None      # (reverse or forward mode)
    out._source = source + (source[0]._data,) if source is not None and recorded else None
    return out
