"""PyTorch's order statistics: the running extremes `t.cummax(dim)` and `t.cummin(dim)`; the middle
entry `t.median()` (and `t.nanmedian()`, which skips NaNs), the k-th smallest `t.kthvalue(k)` and the
most frequent `t.mode()`; the quantiles `t.quantile(q)` (and `t.nanquantile(q)`); and both extremes
at once, `t.aminmax()`.

None needs a rule of its own. Each finds its positions with numpy (integers: no gradient, as a
position is a step function of x) and reads the values there by indexing (`gather`), whose rule sends
each gradient back to the entry it came from, where PyTorch's derivatives send it
(tools/autograd/derivatives.yaml: `cummaxmin_backward` scatters g to the indices, and median(dim),
kthvalue and mode use `value_selecting_reduction_backward`). quantile is sort, gather and a `lerp`
between the two neighbours, as PyTorch's `quantile_impl` (aten/src/ATen/native/Sorting.cpp), so its
gradient is the interpolation's: (1 - w) to the lower neighbour, w to the upper.

    values, indices = losses.cummin(0)            # the best loss so far, and the step it came at
    low, high = x.quantile(mg.tensor([0.05, 0.95]), dim=0)
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np

from ..checks import flag, is_int, no_bool_kernel
from ..tensor import Tensor, array_of, owned
from . import elementwise as ew
from . import reduce
from .arithmetic import min as minimum
from .methods import _axis
from .reduce import ValuesIndices, _own_values
from .selecting import gather
from .shape import getitem, reshape, transpose
from .sorting import sort


def _running_extreme(name: str, self: Tensor, dim: int, extreme: np.ufunc) -> ValuesIndices:
    """cummax (`extreme` np.maximum) or cummin along `dim`: the running extreme, and where along dim it
    was reached, as PyTorch's CPU kernel: a later entry equal to it takes over (>= for cummax, <= for
    cummin), and so does every NaN, which the values keep from there on."""
    if self.dtype.kind == "c":
        raise TypeError(f"{name}: expected a real tensor, got dtype {self.dtype}")
    axis = _axis(name, dim, self.ndim, scalar_dim=True)
    if self.ndim == 0:
        return ValuesIndices(_own_values(reshape(self, ())), owned(np.zeros((), dtype=np.int64)))
    X = self._data
    running = extreme.accumulate(X, axis=axis)
    reached = X == running                      # (an entry equal to the running extreme is where it is now)
    if X.dtype.kind == "f":
        reached |= np.isnan(X)
    positions = np.arange(X.shape[axis], dtype=np.int64).reshape((-1,) + (1,) * (X.ndim - axis - 1))
    indices = np.maximum.accumulate(np.where(reached, positions, 0), axis=axis)
    return ValuesIndices(gather(self, axis, indices), owned(indices))


def cummax(self: Tensor, dim: int) -> ValuesIndices:
    """The running maximum along `dim`, values_i = max(x_0, ..., x_i), and the index it was reached
    at, as torch.cummax's pair (values, indices): of equal entries the later one, a NaN from where it
    comes (PyTorch's kernel). dL/dx_j = the sum of g_i over the i whose index is j (the values are
    gathered at the indices, as PyTorch's cummaxmin_backward scatters g)."""
    return _running_extreme("cummax", self, dim, np.maximum)


def cummin(self: Tensor, dim: int) -> ValuesIndices:
    """The running minimum along `dim` and where it was reached, as torch.cummin (see `cummax`)."""
    return _running_extreme("cummin", self, dim, np.minimum)


def _real_and_nonempty(name: str, self: Tensor, bools: bool = True) -> None:
    """TypeError for a complex tensor (and a bool one unless `bools`: PyTorch's median and kthvalue kernels
    have none, its mode's has), ValueError for an empty one, naming `name`."""
    if self.dtype.kind == "c":
        raise TypeError(f"{name}: expected a real tensor, got dtype {self.dtype}")
    if self.dtype.kind == "b" and not bools:
        raise TypeError(no_bool_kernel(name))
    if self._data.size == 0:
        raise ValueError(f"{name}: expected a non-empty tensor, got shape {self.shape}")


def _selected(name: str, self: Tensor, dim: int, keepdim: bool, rank: Any) -> ValuesIndices:
    """The entry at position `rank` (an int, or an array broadcasting against the reduced shape with
    dim kept) of the stable ascending order along `dim` (NaN last), and its index: PyTorch's order by
    (value, index). The value is gathered there, so its gradient goes whole to that index."""
    keepdim = flag(keepdim, "keepdim", name)
    axis = _axis(name, dim, self.ndim, scalar_dim=True)
    if self.ndim == 0:
        return ValuesIndices(_own_values(reshape(self, ())), owned(np.zeros((), dtype=np.int64)))
    order = np.argsort(self._data, axis=axis, kind="stable")
    kept = self.shape[:axis] + (1,) + self.shape[axis + 1:]
    indices = np.take_along_axis(order, np.broadcast_to(rank, kept).astype(np.int64), axis=axis)
    values = gather(self, axis, indices)
    if not keepdim:
        values, indices = reshape(values, self.shape[:axis] + self.shape[axis + 1:]), np.squeeze(indices, axis)
    return ValuesIndices(values, owned(indices.astype(np.int64)))


def _middle(name: str, self: Tensor, dim: Any, keepdim: bool, skip_nan: bool) -> Tensor | ValuesIndices:
    """median (`skip_nan` False) or nanmedian: the lower of the two middle entries, as PyTorch's."""
    _real_and_nonempty(name, self, bools=False)
    X = self._data
    if dim is None:
        flat = X.reshape(-1)
        missing = np.isnan(flat) if X.dtype.kind == "f" else np.zeros(flat.shape, dtype=bool)
        present = np.sort(flat[~missing])
        if present.size == 0 or (missing.any() and not skip_nan):
            ties = missing                                          # the median is NaN: the NaNs share g
        else:
            ties = flat == present[(present.size - 1) // 2]
        return reduce.max(getitem(reshape(self, (-1,)), np.flatnonzero(ties)))     # (ties share g, as max)
    axis = _axis(name, dim, self.ndim, scalar_dim=True)
    extent = self.shape[axis] if self.ndim else 1
    counted = (~np.isnan(X)).sum(axis=axis, keepdims=True) if X.dtype.kind == "f" and self.ndim else extent
    if skip_nan:
        rank = np.maximum(np.asarray(counted) - 1, 0) // 2        # (no value at all: the first NaN)
    else:
        rank = np.where(np.asarray(counted) < extent, counted, (extent - 1) // 2)     # (the first NaN)
    return _selected(name, self, dim, keepdim, rank)


def median(self: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | ValuesIndices:
    """The median, as torch.median: the lower of the two middle entries (numpy's median takes their
    mean), NaN where there is a NaN. Without `dim`, of all entries: a 0-d tensor, its gradient shared
    equally between the entries equal to it (PyTorch's evenly_distribute_backward). With `dim`, the
    pair (values, indices) along it, the index of the median's entry in the stable order (the first
    NaN where there is one); its gradient goes whole to that index. `keepdim` keeps dim as size 1."""
    return _middle("median", self, dim, keepdim, skip_nan=False)


def nanmedian(self: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | ValuesIndices:
    """The median of the entries that are not NaN (NaN when all are), as torch.nanmedian (see `median`)."""
    return _middle("nanmedian", self, dim, keepdim, skip_nan=True)


def kthvalue(self: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The k-th smallest entry along `dim` (k from 1) and its index, as torch.kthvalue's pair (values,
    indices): NaN counts as the largest; of equal entries the k-th in the stable order (PyTorch's
    quickselect may pick another of them). The value's gradient goes whole to its index."""
    _real_and_nonempty("kthvalue", self, bools=False)
    extent = self.shape[_axis("kthvalue", dim, self.ndim, scalar_dim=True)] if self.ndim else 1
    if not (is_int(k) and 1 <= k <= extent):
        raise ValueError(f"kthvalue: k must be from 1 to {extent} (dim {dim} of shape {self.shape}), got {k!r}")
    return _selected("kthvalue", self, dim, keepdim, k - 1)


def mode(self: Tensor, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The most frequent entry along `dim` (the smallest of those equally frequent) and an index of it,
    as torch.mode's pair (values, indices): the index of its last occurrence, where PyTorch's CPU kernel
    reads the end of its run after sorting. The value's gradient goes whole to that index."""
    _real_and_nonempty("mode", self)
    axis = _axis("mode", dim, self.ndim, scalar_dim=True)
    if self.ndim == 0:
        return _selected("mode", self, dim, keepdim, 0)
    extent = self.shape[axis]
    order = np.argsort(self._data, axis=axis, kind="stable")
    ordered = np.moveaxis(np.take_along_axis(self._data, order, axis=axis), axis, -1)
    starts = np.concatenate([np.ones(ordered.shape[:-1] + (1,), bool), ordered[..., 1:] != ordered[..., :-1]], -1)
    positions = np.arange(extent)
    run_start = np.maximum.accumulate(np.where(starts, positions, 0), axis=-1)
    run_ends = np.concatenate([starts[..., 1:], np.ones(ordered.shape[:-1] + (1,), bool)], -1)
    longest_end = np.argmax(np.where(run_ends, positions - run_start, -1), axis=-1)   # (the first: the smallest)
    return _selected("mode", self, dim, keepdim, np.expand_dims(longest_end, axis))


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_levels(name: str, self: Tensor, q: Any) -> np.ndarray:
    """q as an array of self's dtype, 0-d or 1-d, each level in [0, 1]; TypeError or ValueError naming
    `name` otherwise (a tensor q must have self's dtype, as PyTorch's)."""
    if isinstance(q, Tensor) and q.dtype != self.dtype:
        raise TypeError(f"{name}: a tensor q must have the input's dtype {self.dtype}, got {q.dtype}")
    if isinstance(q, numbers.Real) and not isinstance(q, bool):
        levels = np.asarray(q, dtype=self.dtype)
    else:
        levels = array_of(q)
        if levels.dtype.kind not in "fiu" or levels.ndim > 1:
            raise ValueError(f"{name}: q must be a number or a 0-d or 1-d tensor of levels, got {q!r}")
        levels = levels.astype(self.dtype)
    if np.isnan(levels).any() or (levels < 0).any() or (levels > 1).any():
        raise ValueError(f"{name}: q must be in [0, 1], got {q!r}")
    return levels


def _quantile(name: str, self: Tensor, q: Any, dim: int | None, keepdim: bool, interpolation: str,
              skip_nan: bool) -> Tensor:
    """quantile (`skip_nan` False) or nanquantile, as PyTorch's quantile_impl: sorted along the reduced
    axis (moved last; NaN last), rank = q (n - 1) over the n entries (over those not NaN for nanquantile;
    n - 1 where quantile finds a NaN, whose value is NaN), the rank rounded as `interpolation` says, and
    the value lerp(sorted[floor rank], sorted[ceil rank], w), w = rank - floor rank (0.5 for midpoint)."""
    if self.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: expected a float32 or float64 tensor, got {self.dtype}")
    if self._data.size == 0:
        raise ValueError(f"{name}: expected a non-empty tensor, got shape {self.shape}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{name}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, got {interpolation!r}")
    keepdim = flag(keepdim, "keepdim", name)
    levels = _quantile_levels(name, self, q)
    if dim is None:
        rows, kept = reshape(self, (-1,)), (1,) * self.ndim
    else:
        axis = _axis(name, dim, self.ndim, scalar_dim=True)
        order = tuple(a for a in range(self.ndim) if a != axis) + (axis,)
        rows = transpose(self, order) if self.ndim else reshape(self, (1,))
        kept = self.shape[:axis] + (1,) + self.shape[axis + 1:] if self.ndim else ()
    ordered = sort(rows, -1).values
    extent = ordered.shape[-1]
    nan = np.isnan(ordered._data)
    if skip_nan:
        ranks = np.maximum(levels.reshape(-1) * ((~nan).sum(-1, keepdims=True) - 1), 0)
    else:
        ranks = np.where(nan.any(-1, keepdims=True), extent - 1, levels.reshape(-1) * (extent - 1))
    if interpolation in ("lower", "higher", "nearest"):
        ranks = {"lower": np.floor, "higher": np.ceil, "nearest": np.round}[interpolation](ranks)
    below = gather(ordered, -1, np.floor(ranks).astype(np.int64))
    if interpolation in ("linear", "midpoint"):
        above = gather(ordered, -1, np.ceil(ranks).astype(np.int64))
        weights = np.full(ranks.shape, 0.5) if interpolation == "midpoint" else ranks - np.floor(ranks)
        below = ew.lerp(below, above, weights.astype(self.dtype))
    found = transpose(below, (below.ndim - 1,) + tuple(range(below.ndim - 1)))     # (the levels first)
    reduced = kept if keepdim else found.shape[1:]
    return reshape(found, levels.shape + reduced)


def quantile(self: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The q-th quantiles along `dim` (all entries flattened when None), as torch.quantile: q a number
    or a 1-d tensor of levels in [0, 1] (the levels then make the first axis of the result); between
    the sorted entries i = floor(q (n - 1)) and i + 1 `interpolation` takes the 'linear' x_i + w (x_i+1
    - x_i) with w = q (n - 1) - i, the 'lower', 'higher', 'nearest' (half to even) or the 'midpoint'.
    NaN where there is a NaN. The gradient is the interpolation's: (1 - w) and w to the two entries."""
    return _quantile("quantile", self, q, dim, keepdim, interpolation, skip_nan=False)


def nanquantile(self: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """The quantiles of the entries that are not NaN (NaN when all are), as torch.nanquantile (see
    `quantile`)."""
    return _quantile("nanquantile", self, q, dim, keepdim, interpolation, skip_nan=True)


class MinMax(NamedTuple):
    """What PyTorch's `t.aminmax()` returns: the minima and the maxima."""

    min: Tensor
    max: Tensor


def aminmax(self: Tensor, *, dim: int | None = None, keepdim: bool = False) -> MinMax:
    """The smallest and the largest entries, over all entries or along `dim`, as torch.aminmax's pair
    (min, max): `t.amin(dim)` and `t.amax(dim)`, so each gradient is shared equally between ties."""
    keepdim = flag(keepdim, "keepdim", "aminmax")
    if dim is None:
        reduced = tuple(range(self.ndim))
    else:
        reduced = (_axis("aminmax", dim, self.ndim, scalar_dim=True),)      # (a 0-d tensor: its dim 0)
    if self._data.size == 0 and (dim is None or self.shape[reduced[0]] == 0):
        raise ValueError(f"aminmax: no minimum or maximum over an empty axis (shape {self.shape}, dim {dim!r})")
    return MinMax(minimum(self, reduced, keepdim), reduce.max(self, reduced, keepdim))


Tensor.cummax, Tensor.cummin, Tensor.median, Tensor.nanmedian = cummax, cummin, median, nanmedian
Tensor.kthvalue, Tensor.mode, Tensor.quantile, Tensor.nanquantile = kthvalue, mode, quantile, nanquantile
Tensor.aminmax = aminmax
