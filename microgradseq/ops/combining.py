"""PyTorch's functions that join, split, turn and lay out tensors: `hstack`, `vstack`, `dstack`,
`column_stack` (and `row_stack`); `tensor_split`, `hsplit`, `vsplit`, `dsplit`; `select`, `narrow_copy`;
`diagonal`, `diag_embed`, `diagflat`, `block_diag`; `rot90`, `fliplr`, `flipud`; `broadcast_tensors`,
`broadcast_shapes`;
`kron`, `cartesian_prod`, `combinations` and `vander`.

None needs a rule of its own: each is `concat`, indexing (`getitem`), a transpose, a reshape, an
expand or a product of these, so the chain rule gives its gradient and tangent.

    mg.hstack([a, b])                       # cat along dim 1 (dim 0 for vectors)
    x.tensor_split(3, dim=1)                # 3 pieces, the first ones a longer by one where needed
    mg.diag_embed(v)                        # (..., n) -> (..., n, n), v on each diagonal
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np

from ..checks import is_int
from ..promotion import tensors_dtype
from ..spellings import Size
from ..tensor import Tensor, as_tensor, get_default_dtype, owned
from . import elementwise as ew
from .expanding import expand
from .methods import _axis, _narrowed, movedim
from .products import cumprod
from .selecting import flip
from .shape import _along, concat, getitem, getitem_copy, reshape, stack, tensor_list, transpose


def _at_least(t: Tensor, ndim: int) -> Tensor:
    """numpy's atleast_1d/2d/3d: a 0-d tensor as (1,), (1, 1) or (1, 1, 1); a vector (n) as (1, n) or
    (1, n, 1); a matrix (m, n) as (m, n, 1) for 3 axes."""
    if t.ndim >= ndim:
        return t
    shape = {0: (1,) * ndim, 1: (1,) + t.shape + (1,) * (ndim - 2), 2: t.shape + (1,)}[t.ndim]
    return reshape(t, shape)


def hstack(tensors: Sequence[Any]) -> Tensor:
    """The tensors joined along dim 1 (dim 0 when they are vectors or 0-d, each then a vector), as
    torch.hstack (numpy's): `concat`, so each piece's gradient is its slice of g."""
    tensors = [_at_least(t, 1) for t in tensor_list("hstack", tensors)]
    return concat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Any]) -> Tensor:
    """The tensors, each at least 2-d (a vector (n) as a row (1, n)), joined along dim 0, as torch.vstack
    (and its alias `row_stack`)."""
    return concat([_at_least(t, 2) for t in tensor_list("vstack", tensors)], 0)


def dstack(tensors: Sequence[Any]) -> Tensor:
    """The tensors, each at least 3-d (a vector (n) as (1, n, 1), a matrix (m, n) as (m, n, 1)), joined
    along dim 2, as torch.dstack."""
    return concat([_at_least(t, 3) for t in tensor_list("dstack", tensors)], 2)


def column_stack(tensors: Sequence[Any]) -> Tensor:
    """The tensors side by side as columns, as torch.column_stack: a vector (n) or a 0-d tensor as a
    column (n, 1), the others as they are, joined along dim 1."""
    tensors = tensor_list("column_stack", tensors)
    return concat([reshape(t, (t.shape[0] if t.ndim else 1, 1)) if t.ndim < 2 else t for t in tensors], 1)


def _sections(where: str, extent: int, given: Any) -> list[int]:
    """The split points of `tensor_split`: for a number n of sections, the first extent % n pieces one
    longer than the others; for a list of indices, those (clamped to the axis, as slices are)."""
    if isinstance(given, Tensor):
        if given.dtype.kind not in "iu" or given.ndim > 1:
            raise TypeError(f"{where}: expected a 0-d or 1-d integer tensor of sections or indices, got dtype "
                            f"{given.dtype} and shape {given.shape}")
        given = given.item() if given.ndim == 0 else given.tolist()
    if is_int(given):
        if given <= 0:
            raise ValueError(f"{where}: the number of sections must be at least 1, got {given}")
        size, longer = divmod(extent, given)
        return [k * size + min(k, longer) for k in range(1, given)]
    if not (isinstance(given, (list, tuple)) and all(is_int(i) for i in given)):
        raise TypeError(f"{where}: expected a number of sections or a list of indices, got {given!r}")
    return list(given)


def tensor_split(input: Any, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces along `dim`, as torch.tensor_split (numpy's array_split): a number n of sections (the first
    extent % n pieces one longer; more sections than entries give empty ones), or the indices to cut at
    (a piece per gap, empty where two are out of order). Slices, so each piece's gradient is its part of g."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="tensor_split")
    if x.ndim == 0:
        raise ValueError("tensor_split: expected a tensor with at least one axis, got a 0-d tensor")
    axis = _axis("tensor_split", dim, x.ndim)
    cuts = [0] + _sections("tensor_split", x.shape[axis], indices_or_sections) + [None]
    return tuple(getitem(x, _along(axis, slice(start, stop))) for start, stop in zip(cuts, cuts[1:]))


def _split_along(where: str, x: Any, given: Any, axis: int, least: int) -> tuple[Tensor, ...]:
    """hsplit, vsplit, dsplit: tensor_split along `axis` of a tensor with at least `least` axes, a number
    of sections dividing that axis evenly (as PyTorch's, numpy's)."""
    x = x if isinstance(x, Tensor) else as_tensor(x, where=where)
    if x.ndim < least:
        raise ValueError(f"{where}: expected a tensor with at least {least} axes, got shape {x.shape}")
    if is_int(given) and given > 0 and x.shape[axis] % given:
        raise ValueError(f"{where}: {given} sections do not divide dim {axis} of shape {x.shape} evenly")
    if not (is_int(given) or isinstance(given, (list, tuple))):
        raise TypeError(f"{where}: expected a number of sections or a list of indices, got {given!r}")
    return tensor_split(x, given, axis)


def hsplit(input: Any, indices_or_sections: Any) -> tuple[Tensor, ...]:
    """tensor_split along dim 1 (dim 0 for a vector), as torch.hsplit; a number of sections must divide it."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="hsplit")
    return _split_along("hsplit", x, indices_or_sections, 0 if x.ndim == 1 else 1, 1)


def vsplit(input: Any, indices_or_sections: Any) -> tuple[Tensor, ...]:
    """tensor_split along dim 0 of a tensor with at least 2 axes, as torch.vsplit."""
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Any, indices_or_sections: Any) -> tuple[Tensor, ...]:
    """tensor_split along dim 2 of a tensor with at least 3 axes, as torch.dsplit."""
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


def select(input: Any, dim: int, index: int) -> Tensor:
    """The slice at position `index` along `dim`, that axis removed, as torch.select: input[:, index] for
    dim 1 (a negative index counts from the end). Indexing: the gradient goes back to that slice."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="select")
    axis = _axis("select", dim, x.ndim)
    extent = x.shape[axis]
    if not (is_int(index) and -extent <= index < extent):
        raise IndexError(f"select: index {index!r} is out of range for dim {dim} of shape {x.shape}")
    return getitem(x, _along(axis, index))


def diagonal(input: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The `offset`-th diagonal of the matrices in dims dim1 and dim2 (0 the main one, > 0 above it, < 0
    below), as torch.diagonal: those two axes removed and the diagonal appended as the last axis.
    Indexing (a copy, where PyTorch's is a view), so each entry's gradient is the gradient at its place."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="diagonal")
    if x.ndim < 2:
        raise ValueError(f"diagonal: expected a tensor with at least 2 axes, got shape {x.shape}")
    first, second = _axis("diagonal", dim1, x.ndim), _axis("diagonal", dim2, x.ndim)
    if first == second or not is_int(offset):
        raise ValueError(f"diagonal: expected two different dims and an integer offset, got dim1={dim1!r}, "
                         f"dim2={dim2!r}, offset={offset!r}")
    matrices = movedim(x, (first, second), (-2, -1))
    rows, columns = matrices.shape[-2:]
    first_row, first_column = max(0, -offset), max(0, offset)
    along = np.arange(max(0, min(rows - first_row, columns - first_column)))
    return getitem(matrices, (Ellipsis, first_row + along, first_column + along))


def diag_embed(input: Any, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Each vector of the last axis laid on the `offset`-th diagonal of a square matrix of zeros (side
    n + |offset|), as torch.diag_embed: the matrices' axes are dims dim1 and dim2 of the result (one axis
    more than input). Indexing into the input with a 0 put after each vector, so each entry's gradient
    is the gradient at its place on the diagonal."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="diag_embed")
    if x.ndim == 0:
        raise ValueError("diag_embed: expected a tensor with at least one axis, got a 0-d tensor")
    first, second = _axis("diag_embed", dim1, x.ndim + 1), _axis("diag_embed", dim2, x.ndim + 1)
    if first == second or not is_int(offset):
        raise ValueError(f"diag_embed: expected two different dims and an integer offset, got dim1={dim1!r}, "
                         f"dim2={dim2!r}, offset={offset!r}")
    n, side = x.shape[-1], x.shape[-1] + abs(offset)
    padded = concat([x, owned(np.zeros(x.shape[:-1] + (1,), x.dtype))], -1)
    rows, columns = np.indices((side, side))
    place = np.where(columns - rows == offset, rows if offset >= 0 else columns, n)
    return movedim(getitem(padded, (Ellipsis, place)), (-2, -1), (first, second))


def diagflat(input: Any, offset: int = 0) -> Tensor:
    """The flattened input laid on the `offset`-th diagonal of a square matrix of zeros (side numel +
    |offset|), as torch.diagflat (numpy's diagflat): `diag_embed` of the flattened input, so each entry's
    gradient is the gradient at its place on the diagonal."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="diagflat")
    if not is_int(offset):
        raise TypeError(f"diagflat: offset must be an integer, got {offset!r}")
    return diag_embed(reshape(x, (-1,)), offset)


def narrow_copy(input: Any, dim: int, start: int, length: int) -> Tensor:
    """Entries start .. start + length - 1 along `dim`, as torch.narrow_copy: `narrow`'s entries in an
    array of their own (a write into the result leaves `input` alone); the gradient goes back to that slice."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="narrow_copy")
    return getitem_copy(x, _narrowed("narrow_copy", x, dim, start, length))


def block_diag(*tensors: Any) -> Tensor:
    """The tensors on the diagonal of one matrix, zeros elsewhere, as torch.block_diag: each 0-d (1 x 1),
    1-d (a row, 1 x n) or 2-d; in their common dtype (integers beside floats take the floats'). Each row
    of blocks is the block between zeros, joined with `concat`, so each block's gradient is its part of g."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        raise TypeError("block_diag: pass the tensors as arguments, block_diag(a, b), as PyTorch's")
    blocks = [t if isinstance(t, Tensor) else as_tensor(t, where="block_diag") for t in tensors]
    if any(b.ndim > 2 for b in blocks):
        raise ValueError(f"block_diag: expected tensors with at most 2 axes, got shapes {[b.shape for b in blocks]}")
    # PyTorch's result_type: the dimensioned tensors' dtype, then a 0-d one's only if of a higher category
    dtype = tensors_dtype(blocks) if blocks else get_default_dtype()
    blocks = [reshape(b, (1, -1) if b.ndim == 1 else (1, 1)) if b.ndim < 2 else b for b in blocks]
    width = sum(b.shape[1] for b in blocks)
    rows, before = [], 0
    for b in blocks:
        b = b if b.dtype == dtype else ew.astype(b, dtype)
        zeros = [owned(np.zeros((b.shape[0], n), dtype)) for n in (before, width - before - b.shape[1])]
        rows.append(concat([zeros[0], b, zeros[1]], 1))
        before += b.shape[1]
    return concat(rows, 0) if rows else owned(np.zeros((1, 0), dtype))


def rot90(input: Any, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """The tensor turned by k quarter turns in the plane of `dims`, from the first axis towards the
    second, as torch.rot90 (numpy's): k = 1 is flip(dims[1]) then a transpose, k = 2 flips both, k = 3
    flips dims[0] then transposes; k counts modulo 4 (negative turns back). Indexing and a transpose."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="rot90")
    dims = list(dims) if isinstance(dims, (list, tuple)) else dims
    if not (isinstance(dims, list) and len(dims) == 2 and is_int(k)):
        raise ValueError(f"rot90: expected an integer k and two dims, got k={k!r}, dims={dims!r}")
    if x.ndim < 2:
        raise ValueError(f"rot90: expected a tensor with at least 2 axes, got shape {x.shape}")
    first, second = (_axis("rot90", d, x.ndim) for d in dims)
    if first == second:
        raise ValueError(f"rot90: expected two different dims, got {dims!r}")
    turns = k % 4
    if turns == 0:
        return ew.clone(x)
    if turns == 2:
        return flip(x, [first, second])
    return transpose(flip(x, second if turns == 1 else first), first, second)


def fliplr(input: Any) -> Tensor:
    """The entries in reverse order along dim 1 (left to right), as torch.fliplr; at least 2 axes."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="fliplr")
    if x.ndim < 2:
        raise ValueError(f"fliplr: expected a tensor with at least 2 axes, got shape {x.shape}")
    return flip(x, 1)


def flipud(input: Any) -> Tensor:
    """The entries in reverse order along dim 0 (up to down), as torch.flipud; at least 1 axis."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="flipud")
    if x.ndim < 1:
        raise ValueError("flipud: expected a tensor with at least 1 axis, got a 0-d tensor")
    return flip(x, 0)


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape the given shapes broadcast to, as torch.broadcast_shapes (a number n counts as (n,))."""
    given = [(s,) if is_int(s) else tuple(s) for s in shapes]
    if not all(is_int(n) and n >= 0 for s in given for n in s):
        raise TypeError(f"broadcast_shapes: expected shapes of integers >= 0, got {shapes!r}")
    try:
        return Size(np.broadcast_shapes(*given))
    except ValueError:
        raise ValueError(f"broadcast_shapes: shapes {', '.join(map(str, given))} cannot be broadcast "
                         "together") from None


def broadcast_tensors(*tensors: Any) -> tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape, as torch.broadcast_tensors: `expand`, so
    each gradient is summed back over the stretched axes."""
    xs = [t if isinstance(t, Tensor) else as_tensor(t, where="broadcast_tensors") for t in tensors]
    try:
        shape = np.broadcast_shapes(*(x.shape for x in xs))
    except ValueError:
        raise ValueError(f"broadcast_tensors: shapes {', '.join(str(x.shape) for x in xs)} cannot be broadcast "
                         "together") from None
    return tuple(x if x.shape == shape else expand(x, *shape) for x in xs)


def kron(input: Any, other: Any) -> Tensor:
    """The Kronecker product, as torch.kron: out[i_1 m_1 + j_1, ...] = input[i_1, ...] other[j_1, ...], the
    one with fewer axes given leading axes of size 1. Each operand reshaped to put a size-1 axis beside
    each of its axes, multiplied (broadcast) and merged: the gradient of input[i] is the sum of g over its
    block times other."""
    a = input if isinstance(input, Tensor) else as_tensor(input, other if isinstance(other, Tensor) else None, "kron")
    b = other if isinstance(other, Tensor) else as_tensor(other, a, "kron")
    ndim = max(a.ndim, b.ndim)
    a_shape, b_shape = (1,) * (ndim - a.ndim) + a.shape, (1,) * (ndim - b.ndim) + b.shape
    spread_a = reshape(a, tuple(n for m in a_shape for n in (m, 1)))
    spread_b = reshape(b, tuple(n for m in b_shape for n in (1, m)))
    return reshape(ew.mul(spread_a, spread_b), tuple(m * n for m, n in zip(a_shape, b_shape)))


def cartesian_prod(*tensors: Any) -> Tensor:
    """Every tuple of one entry from each vector, in row-major order, as torch.cartesian_prod (itertools'
    product): (n_1 ... n_k, k), the vectors of one dtype; one vector is returned as it is, as PyTorch's
    releases do (issue 116465). The vectors' meshgrid, flattened and stacked as columns, so each entry's
    gradient is the sum of g over the tuples holding it."""
    xs = [t if isinstance(t, Tensor) else as_tensor(t, where="cartesian_prod") for t in tensors]
    if not xs or any(x.ndim != 1 for x in xs):
        raise ValueError(f"cartesian_prod: expected one or more 1-d tensors, got shapes {[x.shape for x in xs]}")
    if len({x.dtype for x in xs}) > 1:
        raise TypeError(f"cartesian_prod: expected tensors of one dtype, got {[str(x.dtype) for x in xs]}")
    if len(xs) == 1:
        return xs[0]
    lengths = tuple(x.shape[0] for x in xs)
    columns = []
    for axis, x in enumerate(xs):
        along = tuple(n if a == axis else 1 for a, n in enumerate(lengths))
        columns.append(reshape(expand(reshape(x, along), *lengths), (-1,)))
    return stack(columns, 1)


def combinations(input: Any, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-r combinations of a vector's entries, one per row, as torch.combinations (itertools'
    combinations, or combinations_with_replacement): (C, r), in itertools' order (r > n without
    replacement: (0, r)); r = 0 gives an empty vector, as PyTorch's (aten/src/ATen/native/Itertools.cpp).
    Indexing, so each entry's gradient is the sum of g over its places."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="combinations")
    if x.ndim != 1:
        raise ValueError(f"combinations: expected a 1-d tensor, got shape {x.shape}")
    if not (is_int(r) and r >= 0):
        raise ValueError(f"combinations: r must be an integer >= 0, got {r!r}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    if r == 0:
        return getitem(x, np.zeros(0, dtype=np.int64))
    picks = np.array(list(pick(range(x.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return getitem(x, picks)


def vander(x: Any, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a vector, as torch.vander: column j is x^(N - 1 - j) (x^j when
    `increasing`), N columns (len(x) by default); integers give int64. As PyTorch builds it: the columns
    1, x, x, ... multiplied up with `cumprod` (exact at x = 0), then flipped unless increasing."""
    v = x if isinstance(x, Tensor) else as_tensor(x, where="vander")
    if v.ndim != 1:
        raise ValueError(f"vander: expected a 1-d tensor, got shape {v.shape}")
    N = v.shape[0] if N is None else N
    if not (is_int(N) and N >= 0):
        raise ValueError(f"vander: N must be an integer >= 0, got {N!r}")
    if v.dtype.kind in "biu":
        v = ew.astype(v, np.int64)
    n = v.shape[0]
    if N == 0:                                  # (no column: still a result of v, its gradient empty)
        return getitem(reshape(v, (n, 1)), (slice(None), slice(0, 0)))
    columns = concat([owned(np.ones((n, 1), v.dtype)), expand(reshape(v, (n, 1)), n, N - 1)], 1)
    powers = cumprod(columns, 1)
    return powers if increasing else flip(powers, 1)


Tensor.tensor_split, Tensor.hsplit, Tensor.vsplit, Tensor.dsplit = tensor_split, hsplit, vsplit, dsplit
Tensor.select, Tensor.diagonal, Tensor.diag_embed = select, diagonal, diag_embed
Tensor.diagflat, Tensor.narrow_copy = diagflat, narrow_copy
Tensor.rot90, Tensor.fliplr, Tensor.flipud, Tensor.kron = rot90, fliplr, flipud, kron
