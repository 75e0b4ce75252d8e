"""Ops that move elements around: reshape, transpose, indexing, gathering, concat, stack.

Their rules move g back the same way: reshape it back, transpose it back,
scatter it into the indexed positions, split it into the pieces.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..autograd import grad_enabled
from ..checks import is_axis
from ..gradients import Scatter
from ..spellings import either
from ..tensor import Rules, Tensor, as_tensor, result


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
    return result("reshape", y, (x,), RESHAPE, ((X.shape, y.shape),))


#             reverse mode: g back to x's shape          forward mode: v to y's shape (directions lead)
RESHAPE = Rules(vjp=(lambda g, shapes: np.reshape(g, shapes[0]),),
                jvp=(lambda v, shapes: np.reshape(v, v.shape[:1] + shapes[1]),))


def is_permutation(axes: tuple, ndim: int) -> bool:
    """Whether `axes` names every one of `ndim` axes once (negative axes counted from the end)."""
    return all(is_axis(a, ndim) for a in axes) and sorted(a % ndim for a in axes) == list(range(ndim))


def transpose(x: Any, *axes) -> Tensor:
    """x with its axes permuted: numpy's `transpose(2, 0, 1)` or `transpose((2, 0, 1))` (every axis,
    reversed when none are given), or PyTorch's `transpose(0, 1)`: two axes swapped, the rest in place;
    the rule applies the inverse permutation"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    elif len(axes) == 2 and all(is_axis(a, X.ndim) for a in axes):      # PyTorch's transpose(dim0, dim1)
        order = list(range(X.ndim))
        order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
        axes = tuple(order)
    axes = tuple(range(X.ndim))[::-1] if not axes else axes
    if not is_permutation(axes, X.ndim):
        raise ValueError(f"transpose: axes {axes} are neither two axes to swap nor a permutation of the "
                         f"{X.ndim} axes of shape {X.shape}")
    axes = tuple(a % X.ndim for a in axes)
    inverse = tuple(int(a) for a in np.argsort(axes))
    return result("transpose", X.transpose(axes), (x,), TRANSPOSE, ((axes, inverse),))


#               reverse mode: the inverse permutation        forward mode: the same one, directions first
TRANSPOSE = Rules(vjp=(lambda g, perms: np.transpose(g, perms[1]),),
                  jvp=(lambda v, perms: np.transpose(v, (0,) + tuple(a + 1 for a in perms[0])),))


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
    prepared, repeats = _prepared_index(index)
    try:
        y = X[prepared]
    except IndexError as error:
        raise IndexError(f"getitem: {error} (tensor of shape {X.shape})") from None
    out = result("getitem", y, (x,), GETITEM, ((prepared, repeats),))
    if prepared is index:       # a basic index (ints, slices, ...: _prepared_index kept it as it was):
        out._base, out._index = x, index    # a part of x, as PyTorch's view: writing into it writes into x
    return out


def _indexed_tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
    """J v = v[index] for each of the k directions: v[:, index] when that keeps the directions in
    front (numpy moves the axes of index arrays that are not side by side to the front; beside an
    array, an integer counts as one)."""
    index, repeats = kept
    parts = index if type(index) is tuple else (index,)
    arrays = [k for k, part in enumerate(parts) if isinstance(part, (np.ndarray, int, np.integer))]
    if not repeats or arrays[-1] - arrays[0] == len(arrays) - 1:
        return v[(slice(None),) + parts]
    return np.stack([direction[index] for direction in v])


#             reverse mode: g scattered back (kept: index, repeats)   forward mode: v indexed alike
GETITEM = Rules(vjp=(lambda g, kept: Scatter(kept[0], g, kept[1]),), jvp=(_indexed_tangent,))


def index_put(x: Any, index: Any, value: Any) -> Tensor:
    """x with `value` written at x[index] (broadcast, in x's dtype), what `x[index] = value` records
    (PyTorch's `index_put`);   the rules: for x, g with zeros where value was written (x's entries
    there are gone); for value, g's entries there (summed over what was broadcast)"""
    x = x if type(x) is Tensor else as_tensor(x)
    value = as_tensor(value, x)
    index, repeats = _prepared_index(index)
    y = x._data.copy()
    try:
        y[index] = value._data
    except (IndexError, ValueError, TypeError) as error:
        raise type(error)(f"index_put: {error} (tensor of shape {x.shape}, value of shape {value.shape})") from None
    if repeats and _names_a_position_twice(x.shape, index):
        raise ValueError(f"index_put: the index names a position of the tensor of shape {x.shape} twice; which "
                         "value lands there is not defined (as in PyTorch)")
    kept = (index, value.shape, x.shape)
    return result("index_put", y, (x, value), INDEX_PUT, (kept, kept))


def _names_a_position_twice(shape: tuple, index: Any) -> bool:
    positions = np.arange(int(np.prod(shape))).reshape(shape)[index]
    return np.unique(positions).size != positions.size


def _unwritten(g: np.ndarray, kept: tuple) -> np.ndarray:
    """g J for x: g with zeros at the written positions."""
    out = g.copy()
    out[kept[0]] = 0
    return out


def _written(g: np.ndarray, kept: tuple) -> np.ndarray:
    """g J for value: g at the written positions, with value's leading axes of size 1 if numpy dropped
    them (the core then sums what was broadcast)."""
    index, shape, _ = kept
    part = g[index]
    return part.reshape((1,) * (len(shape) - part.ndim) + part.shape) if part.ndim < len(shape) else part


def _unwritten_tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
    """J v for x, each direction alike: v with zeros at the written positions."""
    out = v.copy()
    for direction in out:
        direction[kept[0]] = 0
    return out


def _written_tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
    """J v for value: each direction of v written into zeros of x's shape."""
    index, _, shape = kept
    out = np.zeros(v.shape[:1] + shape, dtype=v.dtype)
    for direction, tangent in zip(out, v):
        direction[index] = tangent
    return out


INDEX_PUT = Rules(vjp=(_unwritten, _written), jvp=(_unwritten_tangent, _written_tangent))


def write_into_base(part: Tensor) -> None:
    """After a write into `part` = base[index] (a basic index): base takes index_put(base, index, part),
    and so on up, base being perhaps a part of another tensor (a loop, not a recursion: a part of a
    part of ... may be deep)."""
    recording = grad_enabled.get()
    while getattr(part, "_base", None) is not None:
        base = part._base
        base._take(index_put(base, part._index, part), recording)
        part = base


def setitem(self: Tensor, index: Any, value: Any) -> None:
    """`t[index] = value`: t takes `index_put(t, index, value)`, as the in-place operators take their
    result: a new array (arrays are read-only) and, while recording, its history. When t is a part of
    another tensor (`t = u[0]`, a basic index), the write goes into that tensor too, as into a
    PyTorch view: `u[0][1] = v` writes into u."""
    self._in_place("t[index] = value", lambda t, v: index_put(t, index, v), value)


def gather(x: Any, index: Any) -> Tensor:
    """y[...] = x[..., index[...]]: one entry of the last axis for every position of `index`
    (shape x.shape[:-1]), as PyTorch's x.gather(-1, index[..., None])[..., 0];
    the rule puts g at the picked entries of a zero array shaped like x.

    What a classifier's loss reads: the log-probability of each row's target class.
    """
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    picks = np.array(index)     # a copy: the rule keeps it
    if picks.dtype.kind not in "iu" or X.ndim == 0 or picks.shape != X.shape[:-1]:
        raise ValueError(f"gather: expected integer indices of shape {X.shape[:-1]} for a tensor of shape "
                         f"{X.shape}, got {picks.dtype} indices of shape {picks.shape}")
    if picks.size and (picks.min() < -X.shape[-1] or picks.max() >= X.shape[-1]):
        raise IndexError(f"gather: indices from {picks.min()} to {picks.max()} are out of range "
                         f"for a last axis of size {X.shape[-1]}")
    picks, shape = picks[..., None], X.shape      # the rule keeps x's shape, not x

    return result("gather", np.take_along_axis(X, picks, axis=-1)[..., 0], (x,), GATHER, ((shape, picks),))


def _gathered(g: np.ndarray, kept: tuple) -> np.ndarray:
    shape, picks = kept
    full = np.zeros(shape, dtype=g.dtype)
    np.put_along_axis(full, picks, g[..., None], axis=-1)
    return full


def _gathered_tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
    shape, picks = kept
    return np.take_along_axis(v, np.broadcast_to(picks, v.shape[:1] + picks.shape), axis=-1)[..., 0]


GATHER = Rules(vjp=(_gathered,), jvp=(_gathered_tangent,))


def _piece(g: np.ndarray, kept: tuple) -> np.ndarray:
    """g J for one piece of a concat or a stack: its part of g, g[index]."""
    return g[kept[0]]


def _placed(v: np.ndarray, kept: tuple) -> np.ndarray:
    """J v for one piece: v in its place in an output of zeros (directions lead)."""
    index, shape = kept
    full = np.zeros(v.shape[:1] + shape, dtype=v.dtype)
    full[(slice(None),) + (index if type(index) is tuple else (index,))] = v
    return full


JOIN = Rules(vjp=(_piece,), jvp=(_placed,))


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


def concat(tensors: Sequence[Any], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join along an existing axis (`axis` or `dim`, 0 by default);   each piece's gradient is its slice of g"""
    axis = either("concat", "axis", axis, "dim", dim, 0)
    tensors, y, axis = _joined("concat", np.concatenate, tensors, axis,
                               f"do not line up along axis {axis}")
    pieces, start = [], 0
    for t in tensors:
        stop = start + t.shape[axis]
        pieces.append(_along(axis, slice(start, stop)))
        start = stop
    return result("concat", y, tensors, _join_rules(len(tensors)), [(piece, y.shape) for piece in pieces])


def stack(tensors: Sequence[Any], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join along a new axis (`axis` or `dim`, 0 by default);   each piece's gradient is its index of g along it"""
    axis = either("stack", "axis", axis, "dim", dim, 0)
    tensors, y, axis = _joined("stack", np.stack, tensors, axis, "must all be equal")
    return stacked(tensors, y, axis)


def stacked(tensors: Sequence[Tensor], y: np.ndarray, axis: int = 0) -> Tensor:
    """`stack(tensors, axis)` given its value `y`, an array nothing else holds (a sequence layer writes
    each step's output into its place while the steps run, instead of copying them all at the end)."""
    pieces = [(_along(axis, i), y.shape) for i in range(len(tensors))]
    return result("stack", y, tensors, _join_rules(len(tensors)), pieces)


def _join_rules(count: int) -> Rules:
    """The row of a concat or stack of `count` pieces: the same rules for every piece."""
    return Rules(vjp=JOIN.vjp * count, jvp=JOIN.jvp * count)
