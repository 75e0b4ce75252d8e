"""PyTorch's methods that combine entries into chosen positions: `t.index_add(dim, index, source,
alpha=1)`, `t.index_copy(dim, index, source)`, `t.scatter_add(dim, index, src)` and
`t.scatter_reduce(dim, index, src, reduce, include_self=True)`, each also in place (`index_add_`, ...,
with the rules of `t += u`).

None needs a rule of its own. index_copy is `index_put`. The others gather, for each position that
receives something, its entries into one row of a table (self's entry first when it takes part, then
the entries sent there, padded with the reduction's identity: 0, 1, -inf or inf), reduce each row
with `sum`, `prod` or `max`, and write the results with `index_put`. So the gradient is the chain
rule's, as PyTorch's: the sum passes g to each entry, the mean g / count, the product the product of
the others (exact at zeros, `prod`'s rule), amax and amin g split evenly among the entries that tie
for the result (`max`'s rule).

    counts.index_add_(0, labels, ones)                    # a histogram
    out.scatter_reduce(0, index, src, "amax", include_self=False)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, as_tensor, owned
from . import elementwise as ew
from .arithmetic import min as minimum
from .assign import index_put
from .methods import _axis
from .reduce import max, sum
from .selecting import _along_index, _positions
from .shape import concat, getitem, reshape

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce: str, dtype: np.dtype) -> Any:
    """The entry that leaves `reduce` unchanged, in `dtype`: what pads a short row of the table."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dtype.kind == "b":
        return reduce == "amin"
    limits = np.iinfo(dtype)
    return limits.min if reduce == "amax" else limits.max


def _reduced_into(where: str, self: Tensor, positions: tuple, values: Tensor, reduce: str,
                  include_self: bool) -> Tensor:
    """self with, at each position named in `positions` (one integer array per axis of self, of values'
    shape), the `reduce` of the values sent there (and of self's entry there, with include_self);
    self's other entries as they are."""
    if values.dtype != self.dtype:
        raise TypeError(f"{where}: expected the source in the tensor's dtype {self.dtype}, got {values.dtype}")
    if values.numel() == 0:
        return ew.clone(self)
    targets = np.ravel_multi_index(positions, self.shape).reshape(-1)
    receiving, inverse, counts = np.unique(targets, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    first = np.cumsum(counts) - counts                   # where each receiving position's entries start in order
    rank = np.empty(targets.size, dtype=np.int64)
    rank[order] = np.arange(targets.size) - first[inverse[order]]
    extent, offset = self.numel(), int(bool(include_self))
    table = np.full((receiving.size, counts.max() + offset), extent + targets.size, dtype=np.int64)
    if include_self:
        table[:, 0] = receiving
    table[inverse, rank + offset] = extent + np.arange(targets.size)
    padding = owned(np.full(1, _identity(reduce, self.dtype), dtype=self.dtype))
    rows = getitem(concat([reshape(self, (-1,)), reshape(values, (-1,)), padding]), table)
    if reduce in ("sum", "mean"):
        reduced = sum(rows, axis=1)
        if reduce == "mean":
            taken = (counts + offset).astype(self.dtype)
            reduced = ew.floor_divide(reduced, taken) if self.dtype.kind in "biu" else ew.div(reduced, taken)
    elif reduce == "prod":
        reduced = rows.prod(dim=1)
    else:
        reduced = max(rows, axis=1) if reduce == "amax" else minimum(rows, 1)
    reduced = reduced if reduced.dtype == self.dtype else ew.astype(reduced, self.dtype)
    return index_put(self, np.unravel_index(receiving, self.shape), reduced)


def _source(where: str, src: Any, self: Tensor) -> Tensor:
    return src if isinstance(src, Tensor) else as_tensor(src, self)


def _flat(where: str, self: Tensor, dim: int) -> tuple[Tensor, int]:
    """A 0-d tensor as one axis of one entry (dim 0 or -1), as PyTorch's; others as they are."""
    if self.ndim == 0:
        _axis(where, dim, 1)
        return reshape(self, (1,)), 0
    return self, _axis(where, dim, self.ndim)


def _index_positions(where: str, self: Tensor, dim: int, index: Any, source: Tensor) -> tuple:
    """For index_add and index_copy: the position in self of each entry of `source` (self's shape with
    len(index) along dim): its own position, with index[i] for i along dim."""
    shaped, axis = _flat(where, self, dim)
    picks = _positions(where, index._data if isinstance(index, Tensor) else index, shaped.shape[axis])
    if picks.ndim > 1:
        raise ValueError(f"{where}: expected a 0-d or 1-d index, got shape {picks.shape}")
    picks = picks.reshape(-1)
    expected = shaped.shape[:axis] + (picks.size,) + shaped.shape[axis + 1:]
    if source.shape != expected and not (self.ndim == 0 and source.numel() == picks.size == 1):
        raise ValueError(f"{where}: expected a source of shape {expected} (the tensor's shape {self.shape} with "
                         f"{picks.size} along dim {dim}), got shape {source.shape}")
    positions = list(np.indices(expected, sparse=True))
    positions[axis] = picks.reshape((-1,) + (1,) * (len(expected) - axis - 1))
    return shaped, tuple(np.broadcast_arrays(*positions)), reshape(source, expected)


def index_add(self: Tensor, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
    """self with alpha source[..., i, ...] added at position index[i] along `dim`, as PyTorch's (an index
    named twice adds twice): out[index[i]] += alpha source[i] for dim 0. d/dself = g, d/dsource[i] =
    alpha g[index[i]]."""
    source = _source("index_add", source, self)
    shaped, positions, source = _index_positions("index_add", self, dim, index, source)
    if source.dtype != self.dtype:
        raise TypeError(f"index_add: expected the source in the tensor's dtype {self.dtype}, got {source.dtype}")
    scaled = source if alpha == 1 else ew.astype(ew.mul(source, alpha), self.dtype)
    return reshape(_reduced_into("index_add", shaped, positions, scaled, "sum", True), self.shape)


def index_copy(self: Tensor, dim: int, index: Any, source: Any) -> Tensor:
    """self with source[..., i, ...] written at position index[i] along `dim`, as PyTorch's: out[index[i]]
    = source[i] for dim 0. An `index_put`: the written entries' gradient goes to source, the others' to
    self. An index named twice is refused (which write lands is not defined, in PyTorch too)."""
    source = _source("index_copy", source, self)
    shaped, positions, source = _index_positions("index_copy", self, dim, index, source)
    if source.dtype != self.dtype:
        raise TypeError(f"index_copy: expected the source in the tensor's dtype {self.dtype}, got {source.dtype}")
    try:
        return reshape(index_put(shaped, positions, source), self.shape)
    except ValueError as error:
        raise ValueError(f"index_copy: {str(error).partition('index_put: ')[2] or error}") from None


def _scatter_positions(where: str, self: Tensor, dim: int, index: Any, src: Any) -> tuple:
    """For scatter_add and scatter_reduce: self (a 0-d one as one axis), the positions `index` names
    (as scatter reads them), and src's entries at index's positions."""
    picks = index._data if isinstance(index, Tensor) else np.asarray(index)
    if picks.dtype != np.int64:
        raise TypeError(f"{where}: expected an int64 index (as PyTorch's), got dtype {picks.dtype}")
    shaped, _ = _flat(where, self, dim)
    picks = picks.reshape(-1) if self.ndim == 0 else picks
    source = _source(where, src, self)
    source = reshape(source, (-1,)) if self.ndim == 0 else source
    if source.ndim != picks.ndim or any(n > m for n, m in zip(picks.shape, source.shape)):
        raise ValueError(f"{where}: src of shape {source.shape} does not cover index of shape {picks.shape}")
    positions = _along_index(where, shaped, dim, picks)
    return shaped, tuple(np.broadcast_arrays(*positions)), getitem(source, tuple(slice(0, n) for n in picks.shape))


def scatter_add(self: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    """self with src's entries added where `index` says along `dim`, as PyTorch's: for dim 1,
    out[i][index[i][j]] += src[i][j] (an index named twice adds twice, numpy's `np.add.at`). `index` is
    int64 with self's number of axes, no longer than src anywhere nor than self off `dim`."""
    shaped, positions, values = _scatter_positions("scatter_add", self, dim, index, src)
    return reshape(_reduced_into("scatter_add", shaped, positions, values, "sum", True), self.shape)


def scatter_reduce(self: Tensor, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True) -> Tensor:
    """self with, at each position `index` names along `dim` (as `scatter_add` reads it), the `reduce` of
    the src entries sent there, and of self's entry when `include_self`, as PyTorch's: "sum", "prod",
    "mean" (integers: floor division), "amax", "amin". Positions nothing is sent to keep self's entry.
    Gradients as PyTorch's: amax and amin split g evenly among the entries equal to the result (only
    among those that take part: without include_self, self's entry at a position written to gets 0)."""
    if reduce not in REDUCTIONS:
        raise ValueError(f"scatter_reduce: reduce must be one of {', '.join(REDUCTIONS)}, got {reduce!r}")
    shaped, positions, values = _scatter_positions("scatter_reduce", self, dim, index, src)
    return reshape(_reduced_into("scatter_reduce", shaped, positions, values, reduce, bool(include_self)),
                   self.shape)


def index_add_(self: Tensor, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
    """In place, as `index_add`; returns the tensor."""
    return self._in_place("index_add_", lambda t, _: index_add(t, dim, index, source, alpha=alpha), None)


def index_copy_(self: Tensor, dim: int, index: Any, source: Any) -> Tensor:
    """In place, as `index_copy`; returns the tensor."""
    return self._in_place("index_copy_", lambda t, _: index_copy(t, dim, index, source), None)


def scatter_add_(self: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    """In place, as `scatter_add`; returns the tensor."""
    return self._in_place("scatter_add_", lambda t, _: scatter_add(t, dim, index, src), None)


def scatter_reduce_(self: Tensor, dim: int, index: Any, src: Any, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In place, as `scatter_reduce`; returns the tensor."""
    return self._in_place("scatter_reduce_", lambda t, _: scatter_reduce(t, dim, index, src, reduce,
                                                                         include_self=include_self), None)


Tensor.index_add, Tensor.index_add_ = index_add, index_add_
Tensor.index_copy, Tensor.index_copy_ = index_copy, index_copy_
Tensor.scatter_add, Tensor.scatter_add_ = scatter_add, scatter_add_
Tensor.scatter_reduce, Tensor.scatter_reduce_ = scatter_reduce, scatter_reduce_
