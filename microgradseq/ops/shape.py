"""Ops that move elements around: reshape, transpose, indexing, gathering, concat, stack.

Their rules move g back the same way: reshape it back, transpose it back,
scatter it into the indexed positions, split it into the pieces.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..autograd import Scatter
from ..checks import is_axis
from ..tensor import Tensor, as_tensor, record, written_into


def _viewing(y: Tensor, x: Tensor) -> Tensor:
    """y, the output of a view op on x. If its array views x's unwatched one, handing it out
    (`.data`) hands out x's array too: writing into it writes into x."""
    if y._data.base is not None and not y._exposed:
        if y._node is None and x._node is not None:     # (under no_grad) no node to watch y on: hand x out
            x._expose()
            y._exposed = True
        else:
            y._view_of = x
    return y


def reshape(x: Any, *shape) -> Tensor:
    """x viewed with a new shape;   the rule reshapes g back to x's shape"""
    x = x if type(x) is Tensor else as_tensor(x)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    X = x._data
    try:
        y = X.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape shape {X.shape} ({X.size} elements) into {shape}") from None
    return _viewing(record("reshape", y, (x,), (_reshaped,), (X.shape,)), x)


def _reshaped(g: np.ndarray, shape: tuple) -> np.ndarray:
    return np.reshape(g, shape)


def transpose(x: Any, *axes) -> Tensor:
    """x with its axes permuted (reversed when none are given);   the rule applies the inverse permutation"""
    x = x if type(x) is Tensor else as_tensor(x)
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    X = x._data
    axes = tuple(range(X.ndim))[::-1] if not axes else axes
    if sorted(a % X.ndim for a in axes) != list(range(X.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {X.ndim} axes of shape {X.shape}")
    inverse = tuple(np.argsort(axes))
    return _viewing(record("transpose", X.transpose(axes), (x,), (_transposed,), (inverse,)), x)


def _transposed(g: np.ndarray, axes: tuple) -> np.ndarray:
    return np.transpose(g, axes)


_BASIC_PARTS = (int, slice, type(Ellipsis), type(None))


def _prepared_index(index: Any) -> tuple[Any, bool]:
    """(index with any tensors in it replaced by their arrays, whether numpy indexes with
    arrays here: a copy that may name one position twice, so its gradient adds repeats).

    The rule keeps the index, so index arrays and lists are copied: the caller may write into
    theirs before backward, and the gradient must go where the forward pass read."""
    parts = index if type(index) is tuple else (index,)
    for part in parts:
        if type(part) not in _BASIC_PARTS:
            break
    else:
        return index, False                     # ints, slices, ... and None: the common case
    plain = tuple(_own_copy(p._data if isinstance(p, Tensor) else p) for p in parts)
    repeats = any(isinstance(p, np.ndarray) for p in plain)     # x[((0, 0),)] too
    return (plain if type(index) is tuple else plain[0]), repeats


def _own_copy(part: Any) -> Any:
    """An index array or sequence as a fresh array; anything else (an int, a slice) as it is."""
    if isinstance(part, (list, tuple, np.ndarray)):
        return np.array(part)
    return part


def getitem(x: Any, index: Any) -> Tensor:
    """x[index];   the rule puts g at the indexed positions of a zero array shaped like x (adding repeats)

    The rule hands back a `Scatter` (g and where it goes) rather than the full
    array: the backward pass adds it into one buffer per operand. The rule
    keeps the index, not x itself.
    """
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    index, repeats = _prepared_index(index)
    try:
        y = X[index]
    except IndexError as error:
        raise IndexError(f"getitem: {error} (tensor of shape {X.shape})") from None
    y = np.asarray(y) if y.ndim == 0 else y
    return _viewing(record("getitem", y, (x,), _GETITEM_RULES, ((index, repeats),)), x)


_GETITEM_RULES = (lambda g, kept: Scatter(kept[0], g, kept[1]),)      # kept: (index, repeats)


def gather(x: Any, index: Any) -> Tensor:
    """y[...] = x[..., index[...]]: one entry of the last axis for every position of `index`
    (shape x.shape[:-1]), as PyTorch's x.gather(-1, index[..., None])[..., 0];
    the rule puts g at the picked entries of a zero array shaped like x.

    What a classifier's loss reads: the log-probability of each row's target class.
    """
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    picks = np.array(index._data if isinstance(index, Tensor) else index)     # a copy: the rule keeps it
    if picks.dtype.kind not in "iu" or X.ndim == 0 or picks.shape != X.shape[:-1]:
        raise ValueError(f"gather: expected integer indices of shape {X.shape[:-1]} for a tensor of shape "
                         f"{X.shape}, got {picks.dtype} indices of shape {picks.shape}")
    if picks.size and (picks.min() < -X.shape[-1] or picks.max() >= X.shape[-1]):
        raise IndexError(f"gather: indices from {picks.min()} to {picks.max()} are out of range "
                         f"for a last axis of size {X.shape[-1]}")
    picks, shape = picks[..., None], X.shape      # the rule keeps x's shape, not x

    return record("gather", np.take_along_axis(X, picks, axis=-1)[..., 0], (x,), (_gathered,), ((shape, picks),))


def _gathered(g: np.ndarray, kept: tuple) -> np.ndarray:
    shape, picks = kept
    full = np.zeros(shape, dtype=g.dtype)
    np.put_along_axis(full, picks, g[..., None], axis=-1)
    return full


def _piece(g: np.ndarray, index: Any) -> np.ndarray:
    """The rule of one piece of a concat or a stack: its part of g, g[index]."""
    return g[index]


def _along(axis: int, part: int | slice) -> int | slice | tuple:
    """The index that picks `part` along `axis` (as it is, for axis 0)."""
    return part if axis == 0 else (slice(None),) * axis + (part,)


def _joined(name: str, join, tensors: Sequence[Any], axis: int, mismatch: str):
    """(tensors, joined data, axis as a non-negative number); errors name the op and all shapes."""
    if isinstance(tensors, Tensor):     # a Tensor iterates over its rows: a silent surprise
        raise TypeError(f"{name}: expected a sequence of tensors, got a single Tensor of shape "
                        f"{tensors.shape}; wrap it in a list")
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{name}: expected at least one tensor, got none")
    ndim = tensors[0].ndim + (name == "stack")
    if not is_axis(axis, ndim):
        raise ValueError(f"{name}: axis {axis!r} is out of range for a result with {ndim} axes")
    try:
        y = join([t._data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"{name}: shapes {shapes} {mismatch}") from None
    return tensors, y, axis % y.ndim


def concat(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join along an existing axis;   each piece's gradient is its slice of g"""
    tensors, y, axis = _joined("concat", np.concatenate, tensors, axis,
                               f"do not line up along axis {axis}")
    pieces, start = [], 0
    for t in tensors:
        stop = start + t.shape[axis]
        pieces.append(_along(axis, slice(start, stop)))
        start = stop
    return record("concat", y, tensors, (_piece,) * len(tensors), pieces)


def stack(tensors: Sequence[Any], axis: int = 0, out: np.ndarray | None = None) -> Tensor:
    """Join along a new axis;   each piece's gradient is its index of g along that axis

    `out`: the array to hold the result, as numpy's out=. A layer whose steps have
    already written their states into out[0], out[1], ... passes it, so the graph
    keeps one array of states instead of the states and their stacked copy.
    """
    tensors, y, axis = _joined("stack", lambda arrays, axis: np.stack(arrays, axis=axis, out=out),
                               tensors, axis, "must all be equal")
    pieces = [_along(axis, i) for i in range(len(tensors))]
    stacked = record("stack", y, tensors, (_piece,) * len(tensors), pieces)
    return stacked if out is None else written_into(stacked, out)


def stack_in_place(tensors: Sequence[Tensor], rows: list, out: np.ndarray) -> Tensor:
    """`stack(tensors, out=out)` for tensors computed straight into the rows of `out`.

    `rows` is `list(out)`, the very arrays the steps wrote into (a layer passes
    rows[t] as step t's `out=`). When each tensor's data *is* its row, nothing
    is copied: np.stack would copy every row onto itself, through a temporary
    array (0.13 ms for an RNN (128, 32) sequence). Otherwise (a tensor whose
    data is not its row, rows that are not views of `out`) this is `stack`.
    """
    if not len(tensors) == len(rows) == len(out) or any(
            t._data is not row or row.base is not out for t, row in zip(tensors, rows)):
        return stack(tensors, out=out)
    return record("stack", out, tensors, (_piece,) * len(tensors), list(range(len(tensors))))

