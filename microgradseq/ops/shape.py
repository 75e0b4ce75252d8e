"""Ops that move elements around: reshape, transpose, indexing, gathering, concat, stack.

Their rules move g back the same way: reshape it back, transpose it back,
scatter it into the indexed positions, split it into the pieces.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from ..checks import is_axis, is_int, user_stacklevel
from ..gradients import Scatter
from ..promotion import promoted_dtype
from ..spellings import either
from ..tensor import Rules, Tensor, as_tensor, result


def reshape(x: Any, *shape) -> Tensor:
    """x viewed with a new shape;   the rule reshapes g back to x's shape"""
    x = x if type(x) is Tensor else as_tensor(x, where="reshape")
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    X = x._data
    try:
        y = X.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape shape {X.shape} ({X.size} elements) into {shape}") from None
    except TypeError:           # (`x.view(-1, n / 2)`: a float size; named here, at no cost otherwise)
        raise TypeError(f"reshape: a shape must be integers (-1 for one inferred size), got {shape!r}") from None
    out = result("reshape", y, (x,), RESHAPE, ((X.shape, y.shape),))
    if np.may_share_memory(y, X):       # a view, as PyTorch's reshape when the layout allows one: a part of x
        made_part_of(x, out, Rearranged(reshape, (y.shape,), (X.shape,)))
    return out


#             reverse mode: g back to x's shape          forward mode: v to y's shape (directions lead)
RESHAPE = Rules(vjp=(lambda g, shapes: np.reshape(g, shapes[0]),),
                jvp=(lambda v, shapes: np.reshape(v, v.shape[:1] + shapes[1]),))


def is_permutation(axes: tuple, ndim: int) -> bool:
    """Whether `axes` names every one of `ndim` axes once (negative axes counted from the end)."""
    return all(is_axis(a, ndim) for a in axes) and sorted(a % ndim for a in axes) == list(range(ndim))


def transpose(x: Any, *axes, dim0: Any = None, dim1: Any = None) -> Tensor:
    """x with its axes permuted: numpy's `transpose(2, 0, 1)` or `transpose((2, 0, 1))` (every axis,
    reversed when none are given), or PyTorch's `transpose(0, 1)` (or `dim0=0, dim1=1`): two axes
    swapped, the rest in place; the rule applies the inverse permutation"""
    x = x if type(x) is Tensor else as_tensor(x, where="transpose")
    X = x._data
    if dim0 is not None or dim1 is not None:        # PyTorch's keywords: (dim0=a, dim1=b) or (a, dim1=b)
        if len(axes) == 1 and dim0 is None and dim1 is not None:
            axes = (axes[0], dim1)
        elif not axes and dim0 is not None and dim1 is not None:
            axes = (dim0, dim1)
        else:
            raise TypeError(f"transpose: expected two axes, transpose(dim0, dim1), by position or keyword; got "
                            f"axes {axes}, dim0={dim0!r}, dim1={dim1!r}")
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
    out = result("transpose", X.transpose(axes), (x,), TRANSPOSE, ((axes, inverse),))
    return made_part_of(x, out, Rearranged(transpose, (axes,), (inverse,)))     # a view, as PyTorch's


#               reverse mode: the inverse permutation        forward mode: the same one, directions first
TRANSPOSE = Rules(vjp=(lambda g, perms: np.transpose(g, perms[1]),),
                  jvp=(lambda v, perms: np.transpose(v, (0,) + tuple(a + 1 for a in perms[0])),))


_BASIC_PARTS = (int, slice, type(Ellipsis), type(None))


def _prepared_index(index: Any, array: np.ndarray) -> tuple[Any, bool, bool]:
    """(index as numpy takes it, read as PyTorch reads it, for `array`; whether numpy
    indexes with arrays here (a copy that may name one position twice, so its gradient adds repeats);
    whether it is basic: ints, slices, Ellipsis and None, whose result is a part of the tensor, see
    PART_DEPTH).

    The rule keeps the index, so index arrays and lists are copied: the caller may write into
    theirs before backward, and the gradient must go where the forward pass read."""
    parts = index if type(index) is tuple else (index,)
    for part in parts:
        if type(part) not in _BASIC_PARTS:
            break
    else:
        return index, False, True               # ints, slices, ... and None: the common case
    plain = tuple(map(_plain, parts))
    if int in map(type, plain) and _apart(plain):        # (an int beside arrays only: numpy's layout is PyTorch's)
        return _integers_first(plain, array.shape), True, False
    repeats = any(isinstance(p, np.ndarray) for p in plain)     # x[((0, 0),)] too
    basic = all(type(p) in _BASIC_PARTS for p in plain)
    return (plain if type(index) is tuple else plain[0]), repeats, basic


def _apart(parts: tuple) -> bool:
    """Whether an index's integers and arrays stand apart, with an array among them (a slice,
    Ellipsis or None between two of them): numpy then puts the arrays' axes first."""
    selecting = [k for k, p in enumerate(parts) if isinstance(p, np.ndarray) or type(p) is int]
    arrays = any(isinstance(parts[k], np.ndarray) for k in selecting)
    return arrays and selecting[-1] - selecting[0] >= len(selecting)


def _integers_first(parts: tuple, shape: tuple) -> tuple:
    """An index whose integers and arrays stand apart, read as PyTorch reads it: the integers select
    first, then the arrays index what is left, so x[0, :, [1, 2]] is x[0][:, [1, 2]], the slice's axis
    in front (numpy reads the integers with the arrays and puts the arrays' axis first). Given as the
    positions it reads, one integer array per axis of x, which numpy reads the same way."""
    selected = sum(((slice(None),) * (p.ndim if p.dtype == bool else 1) if isinstance(p, np.ndarray) else (p,)
                    for p in parts), ())
    rest = tuple(p if isinstance(p, np.ndarray) or p is Ellipsis else slice(None) for p in parts if type(p) is not int)
    return np.unravel_index(np.arange(math.prod(shape)).reshape(shape)[selected][rest], shape)


def _plain(part: Any) -> Any:
    """One part of an index as numpy takes it: a numpy integer or a 0-d integer tensor as an int (PyTorch
    reads one as a select: `counts[label][guess] += 1` with tensor labels writes into counts); a uint8
    tensor as a mask, as PyTorch's (deprecated, it warns); an array, a list or a tensor as a fresh
    array (an empty list as integers, PyTorch's `t[[]]`); anything else (a slice, a bool) as it is."""
    if isinstance(part, Tensor):
        data = part._data
        if data.dtype == np.uint8:
            warnings.warn("indexing with dtype uint8 is deprecated (PyTorch reads it as a mask, and so does "
                          "this library): use a bool tensor", UserWarning, stacklevel=user_stacklevel())
            return data != 0
        if data.ndim == 0 and data.dtype.kind in "iu":
            return int(data)
        if data.dtype.kind not in "iub":         # (an empty float tensor too, which numpy would take)
            raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, got {data.dtype}")
        part = data
    if isinstance(part, np.integer):
        return int(part)
    if isinstance(part, (list, tuple, np.ndarray)):
        array = np.array(part)
        return array.astype(np.intp) if array.size == 0 and array.dtype.kind == "f" else array
    return part


# A tensor taken with a basic index, t = base[index], is a part of base, as a PyTorch view is: a write into
# t goes into base too (ops/assign.py). So is a reshape that numpy makes without copying (as PyTorch's view
# and reshape), and a transpose: all of base, rearranged. t._part_of is (base, index, seen, depth): `index`
# the basic index, a `Rearranged` or an `InTurn`, `seen` base's array when t was last in step with it, `depth`
# the number of tensors above (a part of a part of ...); None otherwise.
PART_DEPTH = 64     # a part of a part ... deeper than this is a copy: `h = h[1:]` in a loop holds a short chain
                    # (a Blelloch scan's views nest 3 levels a halving: 64 covers 2^21 steps)


class Rearranged(NamedTuple):
    """Where a part made by `reshape` or `transpose` sits in its base: all of it, rearranged.
    `op(base, *forward)` is the part; `op(part, *back)` is the base's values from the part."""

    op: Callable
    forward: tuple
    back: tuple


class InTurn(NamedTuple):
    """Where a part sits that an in-place shape change (`squeeze_`, `t_`, ...) made of a part: `steps` (basic
    indices and `Rearranged`s) taken in turn from its base, so the part stays one level below it."""

    steps: tuple


def made_part_of(x: Tensor, out: Tensor, index: Any) -> Tensor:
    """out, whose array is a view of x's, made a part of x at `index` (unless the chain is too deep)."""
    depth = 1 if x._part_of is None else x._part_of[3] + 1
    if depth <= PART_DEPTH:
        out._part_of = (x, index, x._data, depth)
    return out


def _pytorch_words(error: Exception) -> str:
    """numpy's indexing error in PyTorch's words: "index 5 is out of bounds for dimension 1 with size 5" (numpy
    says axis; of an empty axis "for dimension with size 0", as PyTorch's); a value that does not fit a bool mask's
    positions is PyTorch's "shape mismatch"."""
    text = re.sub(r"for axis \d+ with size 0\b", "for dimension with size 0", str(error))
    text = text.replace("for axis", "for dimension")
    return f"shape mismatch: {text}" if "boolean array indexing assignment" in text else text


def getitem(x: Any, index: Any) -> Tensor:
    """x[index];   the rule puts g at the indexed positions of a zero array shaped like x (adding repeats)

    The rule hands back a `Scatter` (g and where it goes) rather than the full
    array: the backward pass adds it into one buffer per operand. The rule
    keeps the index, not x itself. With a basic index the result is a part of x.
    """
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    try:
        index, repeats, basic = _prepared_index(index, X)
        y = X[index]
    except IndexError as error:
        if X.ndim == 0:             # (old PyTorch's `loss[0]` / `total_loss += loss.data[0]`: PyTorch's hint)
            raise IndexError("getitem: invalid index of a 0-d tensor (shape ()): use t.item() to get its "
                             "number (old code's loss[0] or loss.data[0] is loss.item())") from None
        raise IndexError(f"getitem: {_pytorch_words(error)} (tensor of shape {X.shape})") from None
    out = result("getitem", y, (x,), GETITEM, ((index, repeats),))
    if basic:                           # made_part_of(x, out, index), spelled out: a call fewer a slice
        depth = 1 if x._part_of is None else x._part_of[3] + 1
        if depth <= PART_DEPTH:
            out._part_of = (x, index, X, depth)
    return out


def getitem_copy(x: Tensor, index: tuple) -> Tensor:
    """x[index] for a basic index, as an array of its own instead of a part of x (`narrow_copy`): a write
    into it leaves x alone, and what keeps it keeps none of x's other entries alive. getitem's rules."""
    return result("getitem", np.array(x._data[index]), (x,), GETITEM, ((index, False),))


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


def gather(x: Any, index: Any) -> Tensor:
    """y[...] = x[..., index[...]]: one entry of the last axis for every position of `index`
    (shape x.shape[:-1]), as PyTorch's x.gather(-1, index[..., None])[..., 0];
    the rule puts g at the picked entries of a zero array shaped like x.

    What a classifier's loss reads: the log-probability of each row's target class.
    """
    x = x if type(x) is Tensor else as_tensor(x, where="gather")
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


def tensor_list(where: str, tensors: Any) -> list[Tensor]:
    """A sequence of tensors (arrays and numbers too) as a list of tensors; TypeError naming `where` for
    one Tensor (it would iterate over its rows) or what is not a sequence, ValueError for none."""
    if isinstance(tensors, Tensor):     # a Tensor iterates over its rows: a silent surprise
        raise TypeError(f"{where}: expected a sequence of tensors, got a single Tensor of shape "
                        f"{tensors.shape}; wrap it in a list")
    if not hasattr(tensors, "__iter__"):
        raise TypeError(f"{where}: expected a sequence of tensors, got {type(tensors).__name__} {tensors!r:.60}")
    tensors = [as_tensor(t, where=where) for t in tensors]
    if not tensors:
        raise ValueError(f"{where}: expected at least one tensor, got none")
    return tensors


def _joined(name: str, join, tensors: list[Tensor], axis: int, mismatch: str):
    """(tensors, joined data, axis as a non-negative number) of a `tensor_list`; errors name the op and all
    shapes."""
    ndim = tensors[0].ndim + (name == "stack")
    if not is_axis(axis, ndim):
        raise ValueError(f"{name}: axis {axis!r} is out of range for a result with {ndim} axes")
    arrays = [t._data for t in tensors]
    try:
        y = join(arrays, axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"{name}: shapes {shapes} {mismatch}") from None
    if y.dtype is not arrays[0].dtype:      # pieces of several dtypes (numpy's promotion gave another one)
        dtype = functools.reduce(promoted_dtype, [array.dtype for array in arrays])
        if y.dtype != dtype:                # as PyTorch's: across categories the higher one's dtype (int64 and
            y = join(arrays, axis=axis, dtype=dtype, casting="unsafe")    # float32: float32; numpy's float64)
    return tensors, y, axis % y.ndim


def concat(tensors: Sequence[Any], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join along an existing axis (`axis` or `dim`, 0 by default);   each piece's gradient is its slice of g

    As torch.cat, a 1-d empty piece of shape (0,) joins pieces of any shape: it is taken as an empty
    piece of theirs (Transformer-XL's first memory, `torch.empty(0)`), still an operand (its gradient
    is empty) whose dtype counts."""
    axis = either("concat", "axis", axis, "dim", dim, 0)
    tensors = tensor_list("concat", tensors)
    shaped = next((t for t in tensors if t.shape != (0,)), None)
    if shaped is not None and is_int(axis) and -shaped.ndim <= axis < shaped.ndim:
        empty = tuple(0 if k == axis % shaped.ndim else n for k, n in enumerate(shaped.shape))
        tensors = [reshape(t, empty) if t.shape == (0,) else t for t in tensors]
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
    tensors, y, axis = _joined("stack", np.stack, tensor_list("stack", tensors), axis, "must all be equal")
    return stacked(tensors, y, axis)


def stacked(tensors: Sequence[Tensor], y: np.ndarray, axis: int = 0) -> Tensor:
    """`stack(tensors, axis)` given its value `y`, an array nothing else holds (a sequence layer writes
    each step's output into its place while the steps run, instead of copying them all at the end)."""
    pieces = [(_along(axis, i), y.shape) for i in range(len(tensors))]
    return result("stack", y, tensors, _join_rules(len(tensors)), pieces)


def _join_rules(count: int) -> Rules:
    """The row of a concat or stack of `count` pieces: the same rules for every piece."""
    return Rules(vjp=JOIN.vjp * count, jvp=JOIN.jvp * count)
