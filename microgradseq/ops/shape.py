"""Ops that move elements around: reshape, transpose, indexing, concat, stack.

Their rules move g back the same way: reshape it back, transpose it back,
scatter it into the indexed positions, split it into the pieces.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..autograd import Scatter
from ..tensor import Tensor, as_tensor, record


def reshape(x: Tensor, *shape) -> Tensor:
    """x viewed with a new shape;   the rule reshapes g back to x's shape"""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    X = x._data
    try:
        y = X.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape shape {X.shape} ({X.size} elements) into {shape}") from None
    return record("reshape", y, (x,), (lambda g: np.reshape(g, X.shape),))


def transpose(x: Tensor, *axes) -> Tensor:
    """x with its axes permuted (reversed when none are given);   the rule applies the inverse permutation"""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    X = x._data
    axes = tuple(range(X.ndim))[::-1] if not axes else axes
    if sorted(a % X.ndim for a in axes) != list(range(X.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {X.ndim} axes of shape {X.shape}")
    inverse = tuple(np.argsort(axes))
    return record("transpose", X.transpose(axes), (x,), (lambda g: np.transpose(g, inverse),))


def _plain_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index


def _is_advanced(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


def getitem(x: Tensor, index: Any) -> Tensor:
    """x[index];   the rule puts g at the indexed positions of a zero array shaped like x (adding repeats)

    The rule hands back a `Scatter` (g and where it goes) rather than the full
    array: the backward pass adds it into one buffer per operand. The rule
    keeps the index, not x itself.
    """
    X = x._data
    index = _plain_index(index)
    try:
        y = X[index]
    except IndexError as error:
        raise IndexError(f"getitem: {error} (tensor of shape {X.shape})") from None
    repeats = _is_advanced(index)
    return record("getitem", np.asarray(y) if y.ndim == 0 else y, (x,),
                  (lambda g: Scatter(index, g, repeats),))


def _split_rule(axis: int, start: int, stop: int, stacked: bool):
    def rule(g):
        piece = [slice(None)] * g.ndim
        piece[axis] = start if stacked else slice(start, stop)
        return g[tuple(piece)]
    return rule


def _joined(name: str, join, tensors: Sequence[Any], axis: int, mismatch: str):
    """(tensors, joined data, axis as a non-negative number); errors name the op and all shapes."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{name}: expected at least one tensor, got none")
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
    rules, start = [], 0
    for t in tensors:
        stop = start + t.shape[axis]
        rules.append(_split_rule(axis, start, stop, stacked=False))
        start = stop
    return record("concat", y, tensors, rules)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join along a new axis;   each piece's gradient is its index of g along that axis"""
    tensors, y, axis = _joined("stack", np.stack, tensors, axis, "must all be equal")
    rules = [_split_rule(axis, i, i + 1, stacked=True) for i in range(len(tensors))]
    return record("stack", y, tensors, rules)
