"""PyTorch's methods that select entries of a tensor: pieces along an axis (`t.split`, `t.chunk`,
`t.unbind`); the entries at given positions (`t.index_select`, `t.gather(dim, index)`,
`t.masked_select(mask)`, `t.repeat_interleave`, `t.take_along_dim(indices, dim)`); windows and
reorderings (`t.unfold`, `t.flip`, `t.roll`); and the triangles and diagonals of a matrix (`t.tril`,
`t.triu`, `t.diag`).

None needs a rule of its own: each is indexing (`getitem`), whose rule scatters the gradient back to
the positions read (an entry read more than once gets the sum), except tril and triu, which are
`where` (the gradient passes where the entries are kept). (Writing at chosen positions, `scatter`
and kin, is `filling.py`, which finds its positions with gather's `_along_index`.)

    log_probs.gather(1, targets.unsqueeze(1))     # each row's target
    windows = series.unfold(0, 20, 1)             # the (n - 19, 20) sliding windows
    torch.tril(torch.ones(T, T))                  # a causal mask
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import broadcasts_with, is_int
from ..spellings import either
from ..tensor import Tensor, array_of, owned
from . import elementwise as ew
from .expanding import expand
from .methods import _axis
from .shape import _along, concat, getitem, reshape, transpose


def split(self: Tensor, split_size_or_sections: int | list | None = None, dim: int = 0, *,
          split_size: int | list | None = None) -> tuple[Tensor, ...]:
    """Pieces along `dim`: each `split_size` long (the last may be shorter), or of the given lengths.
    `split_size=` is the keyword of PyTorch's `Tensor.split` (older scripts write `t.split(split_size=2)`)."""
    split_size_or_sections = either("split", "split_size_or_sections", split_size_or_sections,
                                    "split_size", split_size)
    axis = _axis("split", dim, self.ndim)
    extent, sizes = self.shape[axis], split_size_or_sections
    if is_int(sizes) and sizes > 0:
        sizes = [sizes] * (extent // sizes) + ([extent % sizes] if extent % sizes else [])
    elif not (isinstance(sizes, (list, tuple)) and all(is_int(n) and n >= 0 for n in sizes) and sum(sizes) == extent):
        raise ValueError(f"split: expected a positive size, or lengths that add up to {extent} (dim {dim} of "
                         f"shape {self.shape}), got {split_size_or_sections!r}")
    ends = np.cumsum(sizes).tolist() or [0]       # (an empty axis: one empty piece, as PyTorch's)
    sizes = sizes or [0]
    return tuple(getitem(self, _along(axis, slice(end - size, end))) for size, end in zip(sizes, ends))


def chunk(self: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most `chunks` pieces of one length along `dim` (the last may be shorter), as PyTorch's."""
    if not (is_int(chunks) and chunks > 0):
        raise ValueError(f"chunk: expected a positive number of chunks, got {chunks!r}")
    extent = self.shape[_axis("chunk", dim, self.ndim)]
    return split(self, math.ceil(extent / chunks) or 1, dim)


def unbind(self: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along `dim`, that axis removed: `h1, h2 = t.unbind(0)`."""
    axis = _axis("unbind", dim, self.ndim)
    return tuple(getitem(self, _along(axis, i)) for i in range(self.shape[axis]))


def _positions(where: str, index: Any, extent: int) -> np.ndarray:
    """`index` as integer positions 0 .. extent - 1 (IndexError naming `where` otherwise: PyTorch
    takes no negative index here)."""
    picks = array_of(index)
    if picks.dtype.kind not in "iu":
        raise ValueError(f"{where}: expected integer indices, got dtype {picks.dtype}")
    if picks.size and (picks.min() < 0 or picks.max() >= extent):
        raise IndexError(f"{where}: indices from {picks.min()} to {picks.max()} are out of range for a dim "
                         f"of size {extent}")
    return picks


def index_select(self: Tensor, dim: int, index: Any) -> Tensor:
    """The entries at positions `index` (integers, 1-d or 0-d: one position) along `dim`. A 0-d tensor
    counts as one axis of one entry (dim 0 or -1, index [0]), and the result stays 0-d, as PyTorch's."""
    if self.ndim == 0:
        _axis("index_select", dim, 1)
        picks = _positions("index_select", index, 1)
        if picks.size != 1:
            raise ValueError(f"index_select: expected one index into a 0-d tensor, got shape {picks.shape}")
        return reshape(getitem(reshape(self, (1,)), picks.reshape(-1)), ())
    axis = _axis("index_select", dim, self.ndim)
    picks = _positions("index_select", index, self.shape[axis])
    if picks.ndim > 1:
        raise ValueError(f"index_select: expected a 0-d or 1-d index, got shape {picks.shape}")
    return getitem(self, _along(axis, picks.reshape(-1)))       # (a 0-d index: one position, as PyTorch's)


def gather(self: Tensor, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j][k] = self[index[i][j][k]][j][k] for dim 0 (and alike for the others), as PyTorch's:
    `log_probs.gather(1, targets.unsqueeze(1))` picks each row's target. `index` has self's number
    of axes, and along the other axes no more entries than self. `sparse_grad` is taken as PyTorch's
    signature has it; with no sparse tensors here, the gradient is dense either way (its values are
    those PyTorch's sparse one holds)."""
    return getitem(self, _along_index("gather", self, dim, index))


def take_along_dim(self: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    """The entries at `indices` along `dim`, as torch.take_along_dim (numpy's take_along_axis): self and
    indices (integers, self's number of axes) broadcast against each other off `dim`, then out[..., i, ...]
    = self[..., indices[..., i, ...], ...]. Without `dim`, the entries of the flattened self at the
    flattened indices. Indexing: the gradient goes back to the entries read (summed where read twice)."""
    picks = array_of(indices)
    if dim is None:
        flat = reshape(self, (-1,))
        return getitem(flat, _positions("take_along_dim", picks.reshape(-1), flat.shape[0]))
    axis = _axis("take_along_dim", dim, self.ndim)
    picks = _positions("take_along_dim", picks, self.shape[axis])
    if picks.ndim != self.ndim or not broadcasts_with(_off(self.shape, axis), _off(picks.shape, axis)):
        raise ValueError(f"take_along_dim: expected indices with {self.ndim} axes that broadcast with shape "
                         f"{self.shape} off dim {dim}, got shape {picks.shape}")
    ranges = (np.arange(n).reshape(_off((1,) * self.ndim, a, n)) for a, n in enumerate(self.shape))
    return getitem(self, tuple(picks if a == axis else positions for a, positions in enumerate(ranges)))


def _off(shape: tuple, axis: int, size: int | None = None) -> tuple:
    """`shape` without `axis` (with `size`: with `size` there instead)."""
    return shape[:axis] + (() if size is None else (size,)) + shape[axis + 1:]


def _along_index(where: str, self: Tensor, dim: int, index: Any) -> tuple:
    """The numpy index gather reads and scatter writes: for each entry of `index` (integers, self's
    number of axes, no longer than self along the others), the position it names along `dim` and
    its own position along the others. ValueError/IndexError naming `where` otherwise."""
    axis = _axis(where, dim, self.ndim)
    picks = _positions(where, index, self.shape[axis])
    if (picks.ndim != self.ndim
            or any(n > m for a, (n, m) in enumerate(zip(picks.shape, self.shape)) if a != axis)):
        raise ValueError(f"{where}: expected an integer index with {self.ndim} axes, each but dim {dim} no longer "
                         f"than shape {self.shape}'s, got dtype {picks.dtype} and shape {picks.shape}")
    positions = list(np.indices(picks.shape, sparse=True))
    positions[axis] = picks
    return tuple(positions)


def masked_select(self: Tensor, mask: Any) -> Tensor:
    """The entries where the bool `mask` (broadcast with self) is True, in row-major order, as a 1-d
    tensor: indexing at the mask's positions, whose rule scatters the gradient back."""
    picks = array_of(mask)
    if picks.dtype != np.bool_:
        raise TypeError(f"masked_select: expected a bool mask, got dtype {picks.dtype}")
    try:
        shape = np.broadcast_shapes(self.shape, picks.shape)
    except ValueError:
        raise ValueError(f"masked_select: the mask's shape {picks.shape} does not broadcast with the tensor's "
                         f"shape {self.shape}") from None
    spread = self if self.shape == shape else expand(self, *shape)
    if not shape:                       # a 0-d tensor and mask: one entry or none, 1-d as PyTorch's
        spread, shape = reshape(spread, (1,)), (1,)
    return getitem(spread, np.nonzero(np.broadcast_to(picks, shape)))


def repeat_interleave(self: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each entry along `dim` repeated `repeats` times in place (an int, or a 1-d integer tensor of one
    count per entry), as PyTorch's and numpy's repeat: `[a, b].repeat_interleave(2)` is `[a, a, b, b]`.
    Without `dim` the tensor is flattened first. Indexing, so an entry's gradient is the sum over its
    copies. With no `repeats`, the tensor holds the counts: `tensor([2, 1]).repeat_interleave()` is
    `[0, 0, 1]`. `output_size`, PyTorch's hint of the result's length along `dim` (the sum of the
    counts), is checked against it (`ValueError` when they differ)."""
    if repeats is None:                     # the counts alone: positions 0, 1, ... each repeated
        if self.ndim != 1:
            raise ValueError(f"repeat_interleave: expected 1-d counts, got shape {self.shape}")
        self, repeats = owned(np.arange(self.shape[0], dtype=np.int64)), self
    source = reshape(self, (-1,)) if dim is None else self
    axis = 0 if dim is None else _axis("repeat_interleave", dim, self.ndim)
    extent = source.shape[axis]
    counts = array_of(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or counts.size not in (1, extent) or np.any(counts < 0):
        got = f"{counts.dtype} counts of shape {counts.shape}" if counts.ndim else repr(repeats)
        along = "of the flattened tensor" if dim is None else f"along dim {dim}"
        raise ValueError(f"repeat_interleave: expected a non-negative integer, or 1-d non-negative integer "
                         f"counts of length 1 or {extent} (one per entry {along}), got {got}")
    picks = np.repeat(np.arange(extent, dtype=np.int64), np.broadcast_to(counts.reshape(-1), (extent,)))
    if output_size is not None and not (is_int(output_size) and output_size == len(picks)):
        raise ValueError(f"repeat_interleave: output_size={output_size!r} is not the size of the result "
                         f"along the repeated dim ({len(picks)})")
    return getitem(source, _along(axis, picks))


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Every window of `size` entries along `dimension`, one every `step`, as PyTorch's `t.unfold`:
    that axis becomes the window count (n - size) // step + 1 and the windows' entries a new last
    axis (`series.unfold(0, 20, 1)` is the (n - 19, 20) sliding windows). Indexing, so the gradient
    of an entry is the sum over the windows holding it. A 0-d tensor reads as one entry (dim 0 or
    -1, size 0 or 1: shape (size,)), as PyTorch's."""
    if self.ndim == 0 and not (is_int(dimension) and dimension in (0, -1)):
        raise IndexError(f"unfold: dim {dimension!r} is out of range for a 0-d tensor (expected 0 or -1)")
    axis = _axis("unfold", dimension, max(self.ndim, 1))
    extent = self.shape[axis] if self.ndim else 1
    if not (is_int(size) and 0 <= size <= extent and is_int(step) and step > 0):
        raise ValueError(f"unfold: expected a size from 0 to {extent} (dim {dimension} of shape {self.shape}) "
                         f"and a step > 0, got size={size!r}, step={step!r}")
    if self.ndim == 0:
        return getitem(reshape(self, (1,)), slice(0, size))
    starts = np.arange((extent - size) // step + 1, dtype=np.int64) * step
    windows = getitem(self, _along(axis, starts[:, None] + np.arange(size, dtype=np.int64)))
    out = transpose(windows, tuple(a for a in range(self.ndim + 1) if a != axis + 1) + (axis + 1,))
    out._part_of = None                     # a copy here (docs/pytorch.md), not a part of the windows' array
    return out


def flip(self: Tensor, *args: Any, dims: Any = None) -> Tensor:
    """The entries in reverse order along each of `dims` (an axis or a list of them), as PyTorch's
    `torch.flip`: indexing with reversed slices, whose rule sends the gradient back. As PyTorch's
    `Tensor.flip`, the axes may come one by one too (`t.flip(0, 1)`), or as `dims=`."""
    if args and dims is not None:
        raise TypeError(f"flip: dims given both by position {args!r} and by keyword {dims!r}")
    if dims is None:
        if not args:
            raise TypeError("flip() missing 1 required positional argument: 'dims'")
        dims = args[0] if len(args) == 1 else args
    if not is_int(dims) and not hasattr(dims, "__iter__"):
        raise TypeError(f"flip: dims must be an axis or a tuple or list of axes, got {type(dims).__name__} {dims!r}")
    axes = [_axis("flip", axis, self.ndim, scalar_dim=True) for axis in ([dims] if is_int(dims) else list(dims))]
    if len(set(axes)) != len(axes):
        raise ValueError(f"flip: each dim may appear once, got {dims!r}")
    index = [slice(None)] * self.ndim
    for axis in axes if self.ndim else ():  # a 0-d tensor (dim 0 or -1, as PyTorch's) is its own flip
        index[axis] = slice(None, None, -1)
    out = getitem(self, tuple(index))
    out._part_of = None                     # PyTorch's flip copies: a write into the result leaves self
    return out


def roll(self: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """The entries shifted by `shifts` places along `dims`, those leaving one end coming back at the
    other, as torch.roll (numpy's roll); shifts and dims may be sequences of one length. Without dims
    the tensor is flattened, rolled and put back in its shape. Indexing, so the gradient is rolled back."""
    shift_list = list(shifts) if isinstance(shifts, (tuple, list)) else [shifts]
    if not shift_list or not all(is_int(shift) for shift in shift_list):
        raise TypeError(f"roll: shifts must be an integer or a sequence of them, got {shifts!r}")
    if dims is None:
        if len(shift_list) != 1:
            raise ValueError(f"roll: without dims, shifts must be one integer (the tensor is flattened), "
                             f"got {shifts!r}")
        return reshape(roll(reshape(self, (-1,)), shift_list[0], 0), self.shape)
    dim_list = list(dims) if isinstance(dims, (tuple, list)) else [dims]
    if len(dim_list) != len(shift_list):
        raise ValueError(f"roll: shifts and dims must have the same length, got {shifts!r} and {dims!r}")
    axes = [_axis("roll", dim, max(self.ndim, 1)) for dim in dim_list]     # (a 0-d tensor: dim 0 or -1)
    rolled = self
    for shift, axis in zip(shift_list, axes):
        extent = self.shape[axis] if self.ndim else 0
        if extent:
            rolled = getitem(rolled, _along(axis, (np.arange(extent) - shift % extent) % extent))
    return rolled


def _triangle(name: str, lower: bool) -> Any:
    def triangle(self: Tensor, diagonal: int = 0) -> Tensor:
        if self.ndim < 2:
            raise ValueError(f"{name}: expected a tensor with at least 2 axes (its last two are the matrix), "
                             f"got shape {self.shape}")
        if not is_int(diagonal):
            raise TypeError(f"{name}: diagonal must be an integer, got {diagonal!r}")
        rows, columns = self.shape[-2:]
        below = np.tri(rows, columns, diagonal if lower else diagonal - 1, dtype=bool)
        return ew.where(below if lower else ~below, self, np.zeros((), self.dtype))
    side = "on and below" if lower else "on and above"
    triangle.__name__ = triangle.__qualname__ = name
    triangle.__doc__ = (f"The entries {side} the `diagonal`-th diagonal of the last two axes, 0 elsewhere, as "
                        f"torch.{name} (diagonal 0 is the main one, > 0 above it, < 0 below): a `where`, so the "
                        "gradient passes where the entries are kept. `torch.tril(torch.ones(T, T))` is a "
                        "causal mask.")
    return triangle


tril, triu = _triangle("tril", lower=True), _triangle("triu", lower=False)


def diag(self: Tensor, diagonal: int = 0) -> Tensor:
    """As torch.diag (and numpy's diag): of a matrix, its `diagonal`-th diagonal as a vector (0 the main
    one, > 0 above it, < 0 below); of a vector, the square matrix with the vector on that diagonal and 0
    elsewhere. Indexing (the zeros are read from a 0 put after the vector), so each entry's gradient is the
    gradient at its place on the diagonal: `torch.diag(torch.cos(x))` is the Jacobian of sin at x."""
    if not is_int(diagonal):
        raise TypeError(f"diag: diagonal must be an integer, got {diagonal!r}")
    if self.ndim == 2:
        first_row, first_column = max(0, -diagonal), max(0, diagonal)
        along = np.arange(max(0, min(self.shape[0] - first_row, self.shape[1] - first_column)))
        return getitem(self, (first_row + along, first_column + along))
    if self.ndim != 1:
        raise ValueError(f"diag: expected a vector or a matrix (as PyTorch's), got shape {self.shape}")
    n, size = self.shape[0], self.shape[0] + abs(diagonal)
    rows, columns = np.indices((size, size))
    # entry (i, j) on the diagonal (j - i = diagonal) holds v[i] above the main one, v[j] below it; every
    # other entry reads a 0 put after the vector (position n), so even an empty vector gives a result of it
    padded = concat([self, owned(np.zeros(1, self.dtype))])
    place = np.where(columns - rows == diagonal, rows if diagonal >= 0 else columns, n)
    return getitem(padded, place)


Tensor.split, Tensor.chunk, Tensor.unbind = split, chunk, unbind
Tensor.index_select, Tensor.gather, Tensor.masked_select = index_select, gather, masked_select
Tensor.repeat_interleave = repeat_interleave
Tensor.unfold, Tensor.flip, Tensor.roll, Tensor.tril, Tensor.triu = unfold, flip, roll, tril, triu
Tensor.diag, Tensor.take_along_dim = diag, take_along_dim
