"""PyTorch's sorting, ranking and counting methods: `t.sort`, `t.argsort`, `t.topk`, `t.unique`,
`t.unique_consecutive`, `t.bincount`, and the searches in sorted sequences `mg.searchsorted` and
`mg.bucketize`. sort's and topk's values come back by indexing (`gather`), whose rule sends each
gradient to where its value came from; unique's values, and every position and count, are constants."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import flag, is_int, no_bool_kernel
from ..tensor import Tensor, array_of, owned
from .methods import _axis
from .selecting import gather
from .reduce import ValuesIndices, _own_values
from .shape import getitem


def topk(self: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    """The k largest (or smallest) entries along `dim`, largest (smallest) first, and where they are.
    A bool tensor is a TypeError, as PyTorch's (its topk kernel has no bool; sort's has)."""
    if self.dtype == np.bool_:
        raise TypeError(no_bool_kernel("topk"))
    if isinstance(dim, (bool, np.bool_)):       # t.topk(4, True) meant largest=True: PyTorch's parser refuses it
        raise TypeError(f"topk: dim must be an integer, got {dim!r} (largest= and sorted= are keywords)")
    axis = _axis("topk", dim, self.ndim)
    if not (is_int(k) and 0 <= k <= self.shape[axis]):
        raise ValueError(f"topk: expected k from 0 to {self.shape[axis]} (dim {dim} of shape {self.shape}), got {k!r}")
    order = np.argsort(self._data, axis=axis, kind="stable")     # (not of -x: unsigned integers)
    ranks = np.arange(self.shape[axis] - 1, self.shape[axis] - 1 - k, -1) if largest else np.arange(k)
    indices = np.take(order, ranks, axis=axis).astype(np.int64)
    return ValuesIndices(gather(self, axis, indices), owned(indices))


def _sorting_order(where: str, self: Tensor, dim: int, descending: bool, stable: Any) -> tuple[int, np.ndarray]:
    """(axis, the int64 positions that sort `self` along it), stable as PyTorch's `stable=True`: equal
    entries keep their order, descending too. Descending is the ascending stable order of the entries
    read backwards, read backwards again: a tie's entries, reversed twice, come in their own order
    (no -x, which unsigned integers and bools have not; NaN comes last ascending, first descending).
    `descending` and `stable` (None too) must be bools, as PyTorch's."""
    descending = flag(descending, "descending", where)
    if stable is not None:
        flag(stable, "stable", where)
    if self.ndim == 0 and is_int(dim) and dim in (0, -1):
        return 0, np.zeros((), dtype=np.int64)          # a 0-d tensor is its own order, as PyTorch's
    axis = _axis(where, dim, self.ndim)
    if not descending:
        return axis, np.argsort(self._data, axis=axis, kind="stable").astype(np.int64)
    backwards = np.flip(self._data, axis=axis)
    last = self.shape[axis] - 1
    return axis, np.flip(last - np.argsort(backwards, axis=axis, kind="stable"), axis=axis).astype(np.int64)


def sort(self: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
    """The entries in order along `dim` and where each came from, PyTorch's pair (values, indices):
    `lengths, order = lengths.sort(0, descending=True)` before packing, `_, unsort = order.sort(0)` after.
    Always stable (so `stable=False` gives one of the orders PyTorch may). The values are gathered at
    the indices, so each entry's gradient goes back to where it came from."""
    axis, indices = _sorting_order("sort", self, dim, descending, stable)
    values = _own_values(getitem(self, ()) if self.ndim == 0 else gather(self, axis, indices))
    return ValuesIndices(values, owned(indices))


def argsort(self: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The int64 positions that sort the entries along `dim` (sort's indices; no gradient)."""
    return owned(_sorting_order("argsort", self, dim, descending, stable)[1])


def unique(self: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Tensor | tuple[Tensor, ...]:
    """The distinct entries, ascending, flattened (or with `dim`, the distinct slices along it), in
    self's dtype, as torch.unique; with `return_inverse` also where each entry went (int64, self's
    shape; along `dim` one per slice) and with `return_counts` how often each came (int64), in that
    order. Always sorted (numpy's unique). No gradient: the values are constants."""
    for name, value in (("sorted", sorted), ("return_inverse", return_inverse), ("return_counts", return_counts)):
        flag(value, name, "unique")
    axis = None if dim is None else _axis("unique", dim, self.ndim)
    if axis is not None and any(n == 0 for a, n in enumerate(self.shape) if a != axis):
        raise ValueError(f"unique: shape {self.shape} has 0-sized axes other than dim {dim}: there are no slices "
                         "to compare (as PyTorch refuses)")
    values, inverse, counts = np.unique(self._data, return_inverse=True, return_counts=True, axis=axis)
    inverse = inverse.reshape(self.shape if axis is None else (self.shape[axis],)).astype(np.int64)
    found = (owned(values),) + ((owned(inverse),) if return_inverse else ()) + (
        (owned(counts.astype(np.int64)),) if return_counts else ())
    return found[0] if len(found) == 1 else found


def unique_consecutive(self: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Tensor | tuple[Tensor, ...]:
    """The entries with each run of equal neighbours kept once, flattened (with `dim`, the runs of equal
    slices along it), as torch.unique_consecutive (`[1, 1, 2, 2, 3, 1, 1]` gives `[1, 2, 3, 1]`); with
    `return_inverse` also which run each entry (slice) is in (int64, self's shape; along `dim` one per
    slice), with `return_counts` each run's length (int64), in that order. No gradient: constants."""
    for name, value in (("return_inverse", return_inverse), ("return_counts", return_counts)):
        flag(value, name, "unique_consecutive")
    if dim is None:
        slices = self._data.reshape(-1, 1)
    else:
        axis = _axis("unique_consecutive", dim, self.ndim)
        width = int(np.prod(self.shape[:axis] + self.shape[axis + 1:]))
        slices = np.moveaxis(self._data, axis, 0).reshape(self.shape[axis], width)
    starts = np.concatenate([[True], (slices[1:] != slices[:-1]).any(axis=1)])[:len(slices)]
    firsts = np.flatnonzero(starts)
    values = slices[firsts, 0] if dim is None else np.take(self._data, firsts, axis=axis)
    inverse = (np.cumsum(starts) - 1).reshape(self.shape if dim is None else (len(slices),))
    counts = np.diff(np.append(firsts, len(slices)))
    found = (owned(values),) + ((owned(inverse.astype(np.int64)),) if return_inverse else ()) + (
        (owned(counts.astype(np.int64)),) if return_counts else ())
    return found[0] if len(found) == 1 else found


def searchsorted(sorted_sequence: Any, values: Any, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Any = None) -> Tensor:
    """Where each of `values` would go in `sorted_sequence` (ascending along its last axis) to keep it
    sorted, as torch.searchsorted: the first such place (sorted_sequence[i-1] < v <= sorted_sequence[i]),
    or with `right=True` (`side="right"`) the last (sorted_sequence[i-1] <= v < sorted_sequence[i]). A 1-d
    sequence serves every value; an N-d one holds one sequence per row, its leading axes those of
    `values`. `sorter`: the int64 positions that sort an unsorted sequence along its last axis. int64
    positions (int32 with `out_int32`) of values' shape; no gradient. NaN goes last, as PyTorch's."""
    right = flag(right, "right", "searchsorted")
    flag(out_int32, "out_int32", "searchsorted")
    if side not in (None, "left", "right") or (side == "left" and right):
        raise ValueError(f"searchsorted: side must be 'left' or 'right' (and not 'left' with right=True), "
                         f"got side={side!r}, right={right}")
    sequence = _array(sorted_sequence, "searchsorted", "sorted_sequence")
    points = _array(values, "searchsorted", "values")
    if sequence.ndim == 0 or (sequence.ndim > 1 and sequence.shape[:-1] != points.shape[:-1]):
        raise ValueError(f"searchsorted: sorted_sequence must be 1-d, or have the leading axes of values, got "
                         f"shapes {sequence.shape} and {points.shape}")
    if sorter is not None:
        order = _array(sorter, "searchsorted", "sorter")
        if order.shape != sequence.shape or order.dtype.kind not in "iu":
            raise ValueError(f"searchsorted: sorter must be integer positions of sorted_sequence's shape "
                             f"{sequence.shape}, got {order.dtype} of shape {order.shape}")
        sequence = np.take_along_axis(sequence, order, axis=-1)
    side = "right" if right or side == "right" else "left"
    if sequence.ndim == 1:
        places = np.searchsorted(sequence, points, side=side)
    else:
        count = int(np.prod(sequence.shape[:-1]))
        rows, row_points = sequence.reshape(count, sequence.shape[-1]), points.reshape(count, points.shape[-1])
        places = np.array([np.searchsorted(row, found, side=side) for row, found in zip(rows, row_points)],
                          dtype=np.int64).reshape(points.shape)
    return owned(np.asarray(places, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input: Any, boundaries: Any, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each entry of `input` between the ascending 1-d `boundaries`, as torch.bucketize:
    i with boundaries[i-1] < x <= boundaries[i] (with `right=True`, boundaries[i-1] <= x < boundaries[i]);
    0 below the first, len(boundaries) above the last. `searchsorted(boundaries, input, right=right)`:
    int64 (int32 with `out_int32`) of input's shape, no gradient."""
    edges, points = _array(boundaries, "bucketize", "boundaries"), _array(input, "bucketize", "input")
    if edges.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-d, got shape {edges.shape}")
    return searchsorted(edges, points, out_int32=out_int32, right=right)


def _array(values: Any, where: str, name: str) -> np.ndarray:
    """A tensor's array, or numpy's reading of anything else (a Python float stays float64); what is not
    numbers (a string, None) is a TypeError naming `where` and the argument `name`."""
    array = array_of(values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {name} must be a real tensor (or numbers), got {type(values).__name__} "
                        f"{values!r:.60}")
    return array


def bincount(self: Tensor, weights: Any = None, minlength: int = 0) -> Tensor:
    """How often each of 0 .. max appears in a 1-d tensor of non-negative integers, as torch.bincount
    (numpy's): int64 counts of length max + 1 (at least `minlength`); with `weights`, the sum of the
    weights at each value (float32 for float32 weights, else float64, as PyTorch's). A constant."""
    values = self._data
    if values.ndim != 1 or values.dtype.kind not in "iub":
        raise ValueError(f"bincount: expected a 1-d tensor of integers, got {values.dtype} of shape {values.shape}")
    if values.size and values.min() < 0:
        raise ValueError(f"bincount: expected non-negative integers, got {values.min()}")
    if not is_int(minlength) or minlength < 0:
        raise ValueError(f"bincount: minlength must be an integer >= 0, got {minlength!r}")
    given = None if weights is None else array_of(weights)
    if given is not None and given.shape != values.shape:
        raise ValueError(f"bincount: weights of shape {given.shape} do not match input of shape {values.shape}")
    counts = np.bincount(values, given, int(minlength))
    if given is None:
        return owned(counts.astype(np.int64))
    return owned(counts.astype(np.float32 if given.dtype == np.float32 else np.float64))   # (PyTorch's rule)


Tensor.topk, Tensor.sort, Tensor.argsort, Tensor.unique = topk, sort, argsort, unique
Tensor.bincount, Tensor.unique_consecutive = bincount, unique_consecutive
