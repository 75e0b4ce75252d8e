"""PyTorch's methods that combine entries into chosen positions: `t.index_add(dim, index, source,
alpha=1)`, `t.index_copy(dim, index, source)`, `t.scatter_add(dim, index, src)` and
`t.scatter_reduce(dim, index, src, reduce, include_self=True)`, each also in place (`index_add_`, ...,
with the rules of `t += u`); `t.index_put(indices, values, accumulate=False)`, `t.put(index, source,
accumulate=False)` and `t.masked_scatter(mask, source)` (also in place), `t.take(index)`, and the
functions that write a part: `select_scatter`, `slice_scatter` and `diagonal_scatter`.

None needs a rule of its own. index_copy, the `*_scatter` functions, masked_scatter, and put and
index_put without accumulate are `index_put` (the written entries' gradient goes to what was written,
the others' to self). The others (put and index_put with accumulate too) gather, for each position that
receives something, its entries into one row of a table (self's entry first when it takes part, then the
entries sent there, padded with the reduction's identity: 0, 1, -inf or inf), reduce each row with
`sum`, `prod` or `max`, and write the results with `index_put`. So the gradient is the chain rule's, as
PyTorch's: the sum passes g to each entry, the mean g / count, the product the product of the others
(exact at zeros, `prod`'s rule), amax and amin g split evenly among the entries that tie for the result
(`max`'s rule).

    counts.index_add_(0, labels, ones)                    # a histogram
    out.scatter_reduce(0, index, src, "amax", include_self=False)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, array_of, as_tensor, owned
from . import elementwise as ew
from .arithmetic import min as minimum
from ..checks import is_int
from .assign import index_put
from .expanding import expand
from .in_place import in_place
from .methods import _axis
from .reduce import max, sum
from .selecting import _along_index, _positions
from .shape import _along, concat, getitem, reshape

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
    return src if isinstance(src, Tensor) else as_tensor(src, self, where)


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
    picks = array_of(index)
    if picks.dtype != np.int64:
        raise TypeError(f"{where}: expected an int64 index (as PyTorch's), got dtype {picks.dtype}")
    shaped, _ = _flat(where, self, dim)
    picks = picks.reshape(-1) if self.ndim == 0 else picks
    source = _source(where, src, self)
    source = reshape(source, (-1,)) if self.ndim == 0 else source
    if picks.size == 0:                 # an empty index sends nothing, whatever its shape (as PyTorch's check)
        _axis(where, dim, shaped.ndim)
        return shaped, (np.zeros(0, dtype=np.int64),) * shaped.ndim, getitem(reshape(source, (-1,)), slice(0, 0))
    if source.ndim != picks.ndim or any(n > m for n, m in zip(picks.shape, source.shape)):
        raise ValueError(f"{where}: src of shape {source.shape} does not cover index of shape {picks.shape}")
    positions = _along_index(where, shaped, dim, picks)
    return shaped, tuple(np.broadcast_arrays(*positions)), getitem(source, tuple(slice(0, n) for n in picks.shape))


def scatter_add(self: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    """self with src's entries added where `index` says along `dim`, as PyTorch's: for dim 1,
    out[i][index[i][j]] += src[i][j] (an index named twice adds twice, numpy's `np.add.at`). `index` is
    int64 with self's number of axes, no longer than src anywhere nor than self off `dim`; an empty one
    (of any shape) adds nothing, as PyTorch's."""
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


def _places(x: Tensor) -> np.ndarray:
    """Each entry's position in the flattened x, laid out in x's shape: indexing it names positions."""
    return np.arange(x.numel(), dtype=np.int64).reshape(x.shape)


def _written(where: str, x: Tensor, positions: np.ndarray, src: Any) -> Tensor:
    """x with src written at the flattened positions `positions` (src's shape exactly): `index_put`."""
    src = _source(where, src, x)
    if src.shape != positions.shape:
        raise ValueError(f"{where}: expected src of shape {positions.shape} (the part of shape {x.shape} it "
                         f"replaces), got shape {src.shape}")
    return reshape(index_put(reshape(x, (-1,)), positions, src), x.shape)


def select_scatter(input: Any, src: Any, dim: int, index: int) -> Tensor:
    """input with src written as its slice at position `index` along `dim` (that axis removed from src's
    shape), as torch.select_scatter: out.select(dim, index) = src, the rest input's. An `index_put`, so
    src gets that slice of g and input the rest."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="select_scatter")
    axis = _axis("select_scatter", dim, x.ndim)
    extent = x.shape[axis]
    if not (is_int(index) and -extent <= index < extent):
        raise IndexError(f"select_scatter: index {index!r} is out of range for dim {dim} of shape {x.shape}")
    return _written("select_scatter", x, _places(x)[_along(axis, index)], src)


def slice_scatter(input: Any, src: Any, dim: int = 0, start: int | None = None, end: int | None = None,
                  step: int = 1) -> Tensor:
    """input with src written into its slice start:end:step along `dim`, as torch.slice_scatter; src has
    that slice's shape. An `index_put`, so src gets that slice of g and input the rest."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="slice_scatter")
    axis = _axis("slice_scatter", dim, x.ndim)
    if not (is_int(step) and step > 0) or not all(b is None or is_int(b) for b in (start, end)):
        raise ValueError(f"slice_scatter: expected integer start and end and a positive integer step, got "
                         f"start={start!r}, end={end!r}, step={step!r}")
    return _written("slice_scatter", x, _places(x)[_along(axis, slice(start, end, step))], src)


def diagonal_scatter(input: Any, src: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """input with src written on its `offset`-th diagonal in dims dim1, dim2 (src of the shape
    `input.diagonal(offset, dim1, dim2)` has, the diagonal last), as torch.diagonal_scatter. An
    `index_put`, so src gets the diagonal of g and input the rest."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="diagonal_scatter")
    if x.ndim < 2:
        raise ValueError(f"diagonal_scatter: expected a tensor with at least 2 axes, got shape {x.shape}")
    first, second = _axis("diagonal_scatter", dim1, x.ndim), _axis("diagonal_scatter", dim2, x.ndim)
    if first == second or not is_int(offset):
        raise ValueError(f"diagonal_scatter: expected two different dims and an integer offset, got dim1={dim1!r}, "
                         f"dim2={dim2!r}, offset={offset!r}")
    return _written("diagonal_scatter", x, np.diagonal(_places(x), offset, first, second), src)


def _flat_positions(where: str, index: Any, count: int) -> np.ndarray:
    """`index` (integers) as positions in a flattened tensor of `count` entries, a negative one counting
    from the end, as PyTorch's take and put; IndexError naming `where` for one out of range."""
    picks = array_of(index)
    if picks.dtype.kind not in "iu":
        raise TypeError(f"{where}: expected an integer index (int64, as PyTorch's), got dtype {picks.dtype}")
    outside = (picks < -count) | (picks >= count)
    if outside.any():
        raise IndexError(f"{where}: index {picks[outside].flat[0]} is out of range for a tensor of {count} "
                         f"entries (expected -{count} to {count - 1})")
    return np.where(picks < 0, picks + count, picks).astype(np.int64)


def take(self: Tensor, index: Any) -> Tensor:
    """The entries of the flattened tensor at `index` (a negative one counts from the end), in index's
    shape, as torch.take: indexing, so each entry read gets the gradient of its places (summed)."""
    return getitem(reshape(self, (-1,)), _flat_positions("take", index, self.numel()))


def put(self: Tensor, index: Any, source: Any, accumulate: bool = False) -> Tensor:
    """self with source's entries written (added, with `accumulate`) at the positions `index` names in the
    flattened self, as torch.put: source has as many entries as index, and self's dtype. Without
    accumulate an `index_put` (which write of a repeated position lands is not defined, as in PyTorch);
    with it, the positions' sums (`scatter_add`'s): d/dself = g, d/dsource[i] = g[index[i]]."""
    source = _source("put", source, self)
    picks = _flat_positions("put", index, self.numel()).reshape(-1)
    if picks.size != source.numel():
        raise ValueError(f"put: expected a source with as many entries as index ({picks.size}), got "
                         f"{source.numel()} (shape {source.shape})")
    if source.dtype != self.dtype:
        raise TypeError(f"put: expected the source in the tensor's dtype {self.dtype}, got {source.dtype}")
    flat, values = reshape(self, (-1,)), reshape(source, (-1,))
    out = _reduced_into("put", flat, (picks,), values, "sum", True) if accumulate else index_put(flat, picks, values)
    return reshape(out, self.shape)


def index_put_tensors(self: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """`t.index_put(indices, values, accumulate=False)`, as PyTorch's: t[indices] = values for a tuple of
    index tensors (integers or bools, one per leading axis), values broadcast and in t's dtype; with
    accumulate, values added there instead, a position named twice adding twice (without it, which
    write lands is not defined, as in PyTorch). `index_put` (mg.ops's primitive), or with accumulate
    the positions' sums, so d/dself = g and values get g at their positions (summed where broadcast)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put: expected a tuple of index tensors, got {type(indices).__name__}")
    index = tuple(array_of(i) for i in indices)
    if any(i.dtype.kind not in "iub" for i in index):
        raise TypeError(f"index_put: expected integer or bool index tensors, got dtypes "
                        f"{[str(i.dtype) for i in index]}")
    values = _source("index_put", values, self)
    if values.dtype != self.dtype:
        raise TypeError(f"index_put: expected values in the tensor's dtype {self.dtype}, got {values.dtype}")
    try:
        positions = _places(self)[index]
        np.broadcast_to(np.empty(values.shape, np.bool_), positions.shape)
    except (IndexError, ValueError) as error:
        raise type(error)(f"index_put: {error} (tensor of shape {self.shape}, values of shape {values.shape}, "
                          f"indices of shapes {[i.shape for i in index]})") from None
    if not accumulate:
        return index_put(self, index, values)
    spread = values if values.shape == positions.shape else expand(values, *positions.shape)
    return reshape(_reduced_into("index_put", reshape(self, (-1,)), (positions,), spread, "sum", True), self.shape)


index_put_tensors.__name__ = index_put_tensors.__qualname__ = "index_put"
index_put_tensors.__code__ = index_put_tensors.__code__.replace(co_name="index_put")    # (as public_name reads it)


def masked_scatter(self: Tensor, mask: Any, source: Any) -> Tensor:
    """self with source's first entries written, in order, where the bool `mask` (broadcast with self) is
    True, as torch.masked_scatter: source (self's dtype) has at least as many entries as mask has True
    ones. An `index_put`: the written entries' gradient goes to source's first entries (the others get
    0), the rest to self."""
    picks = array_of(mask)
    if picks.dtype != np.bool_:
        raise TypeError(f"masked_scatter: expected a bool mask, got dtype {picks.dtype}")
    try:
        shape = np.broadcast_shapes(self.shape, picks.shape)
    except ValueError:
        raise ValueError(f"masked_scatter: mask of shape {picks.shape} does not broadcast with the tensor's shape "
                         f"{self.shape}") from None
    source = _source("masked_scatter", source, self)
    if source.dtype != self.dtype:
        raise TypeError(f"masked_scatter: expected the source in the tensor's dtype {self.dtype}, got {source.dtype}")
    chosen = np.flatnonzero(np.broadcast_to(picks, shape))
    if source.numel() < chosen.size:
        raise ValueError(f"masked_scatter: expected a source of at least {chosen.size} entries (the mask's True "
                         f"ones), got {source.numel()} (shape {source.shape})")
    spread = self if self.shape == shape else expand(self, *shape)
    values = getitem(reshape(source, (-1,)), slice(0, chosen.size))
    return reshape(index_put(reshape(spread, (-1,)), chosen, values), shape)


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
Tensor.take, Tensor.put, Tensor.index_put, Tensor.masked_scatter = take, put, index_put_tensors, masked_scatter
Tensor.select_scatter, Tensor.slice_scatter, Tensor.diagonal_scatter = select_scatter, slice_scatter, diagonal_scatter
Tensor.put_, Tensor.index_put_ = in_place("put_", put), in_place("index_put_", index_put_tensors)
Tensor.masked_scatter_ = in_place("masked_scatter_", masked_scatter)
