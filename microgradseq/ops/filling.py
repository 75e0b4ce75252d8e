"""PyTorch's methods that fill chosen positions: `t.masked_fill(mask, v)`, `t.index_fill(dim, index, v)`,
`t.scatter(dim, index, src)`, each also in place (`masked_fill_`, `index_fill_`, `scatter_`, with the
rules of `t += u`), and `t.nonzero()`, the positions of the true entries.

None needs a rule of its own: masked_fill and index_fill are `where` (the gradient passes where the
entries are kept), scatter is `index_put` (the written positions send their gradient to the source,
the others to the tensor).

    scores.masked_fill_(mask == 0, -float("inf"))            # attention: no weight on padding
    smoothed.scatter_(1, target.unsqueeze(1), confidence)     # label smoothing's target distribution
    smoothed.index_fill_(0, torch.nonzero(target == pad).squeeze(), 0.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, as_tensor, owned
from . import elementwise as ew
from .assign import index_put
from .methods import _axis, to
from .pytorch_methods import _positions
from .shape import getitem


def masked_fill(self: Tensor, mask: Any, value: Any) -> Tensor:
    """`value` where `mask` is True, self elsewhere (mask broadcasts): where(mask, value, self), in
    self's dtype."""
    filled = ew.where(mask, value, self)
    return filled if filled.dtype == self.dtype else to(filled, self.dtype)


def masked_fill_(self: Tensor, mask: Any, value: Any) -> Tensor:
    """In place, as `masked_fill` (the tensor gets a new array, with the rules of `t += u`): attention
    scores masked before a softmax, `scores.masked_fill_(mask == 0, -float('inf'))`. Returns the tensor."""
    return self._in_place("masked_fill_", lambda t, m: masked_fill(t, m, value), mask)


def index_fill(self: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """`value` at every entry whose position along `dim` is in `index` (0-d or 1-d integers), self
    elsewhere, as PyTorch's: a `where` over those slices, in self's dtype."""
    axis = _axis("index_fill", dim, max(self.ndim, 1))
    picks = _positions("index_fill", index._data if isinstance(index, Tensor) else index,
                       self.shape[axis] if self.ndim else 1)
    if picks.ndim > 1:
        raise IndexError(f"index_fill: expected a 0-d or 1-d index, got shape {picks.shape}")
    chosen = np.zeros(self.shape[axis] if self.ndim else 1, dtype=bool)
    chosen[picks] = True
    along = chosen.reshape((-1,) + (1,) * (self.ndim - axis - 1)) if self.ndim else chosen.reshape(())
    return masked_fill(self, along, value)


def index_fill_(self: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """In place, as `index_fill`; returns the tensor."""
    return self._in_place("index_fill_", lambda t, _: index_fill(t, dim, index, value), None)


def scatter(self: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None) -> Tensor:
    """self with src's entries written where `index` says along `dim`, as PyTorch's: for dim 1,
    out[i][index[i][j]] = src[i][j] (src a tensor of at least index's size, or one number). `index`
    is int64 with self's number of axes, no longer than self along the others. An `index_put`: the
    gradient of the written entries goes to src, the others' to self."""
    if reduce is not None:
        raise TypeError("scatter: reduce= is not supported (PyTorch's scatter_reduce is not here)")
    if (src is None) == (value is None):
        raise TypeError("scatter: pass the values to write once: a tensor `src` or a number `value`")
    axis = _axis("scatter", dim, max(self.ndim, 1))
    picks = index._data if isinstance(index, Tensor) else np.asarray(index)
    if picks.dtype != np.int64:
        raise TypeError(f"scatter: expected an int64 index (as PyTorch's), got dtype {picks.dtype}")
    picks = _positions("scatter", picks, self.shape[axis] if self.ndim else 1)
    if picks.ndim != self.ndim or any(n > m for a, (n, m) in enumerate(zip(picks.shape, self.shape)) if a != axis):
        raise ValueError(f"scatter: expected an index with {self.ndim} axes, each but dim {dim} no longer than "
                         f"shape {self.shape}'s, got shape {picks.shape}")
    given = value if src is None else src
    if isinstance(given, (Tensor, np.ndarray, list)):
        source = as_tensor(given)
        if source.ndim != picks.ndim or any(n > m for n, m in zip(picks.shape, source.shape)):
            raise ValueError(f"scatter: src of shape {source.shape} does not cover index of shape {picks.shape}")
        given = getitem(source, tuple(slice(0, n) for n in picks.shape))
    positions = list(np.indices(picks.shape, sparse=True))
    positions[axis] = picks
    return index_put(self, tuple(positions), given)


def scatter_(self: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None,
             reduce: Any = None) -> Tensor:
    """In place, as `scatter`; returns the tensor."""
    return self._in_place("scatter_", lambda t, _: scatter(t, dim, index, src, value=value, reduce=reduce), None)


def nonzero(self: Tensor, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """Where the entries are not zero, in row-major order, as PyTorch's: int64 of shape (count,
    self.dim()), one row per entry; with `as_tuple`, one 1-d tensor per axis (numpy's nonzero).
    Integers out: no gradient."""
    data = self._data
    if as_tuple:
        return tuple(owned(axis.astype(np.int64)) for axis in np.nonzero(np.atleast_1d(data)))
    return owned(np.argwhere(data).astype(np.int64))


Tensor.masked_fill, Tensor.masked_fill_ = masked_fill, masked_fill_
Tensor.index_fill, Tensor.index_fill_, Tensor.scatter, Tensor.scatter_ = index_fill, index_fill_, scatter, scatter_
Tensor.nonzero = nonzero
