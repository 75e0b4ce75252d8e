"""More of PyTorch's tensor methods, each written with the primitive ops (so none needs a rule
of its own): `t.split`, `t.gather(dim, index)`, `t.repeat_interleave`, `t.expand`,
`t.tril`, `t.triu`, `t.roll`, `t.flip`, `t.unfold`, `t.masked_select`, the in-place `t.add_(u)`,
`t.copy_(u)` and kin, and the logical `&`, `|`, `^`, `~`, `t.logical_and(u)` and kin, `t.all()`,
`t.any()` ... (and one function, `mg.meshgrid`: vectors expanded into grids)

A PyTorch script ports by changing its imports; these are the methods course
scripts use beyond the numpy names (`methods.py`). Selecting (split, chunk,
unbind, index_select, gather, repeat_interleave) is indexing, whose
rule scatters the gradient back; `expand` and `repeat` broadcast, and `sum_to` sums the gradient
back; `min` is -max(-x). (Filling chosen positions, `masked_fill` and kin, is `filling.py`; sorting,
`sort`, `topk` and kin, `sorting.py`.)
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..checks import broadcasts_to, is_int
from ..autograd import CUT, LEAF
from ..spellings import CPU, axis_keepdims, check_device, either, shape_of
from ..tensor import Tensor, as_tensor, owned
from . import elementwise as ew
from . import reduce
from .reduce import ValuesIndices
from .methods import _axis, to
from .shape import getitem, reshape, transpose


def _along(axis: int, part: Any) -> tuple:
    """The index that takes `part` along `axis` and everything along the axes before it."""
    return (slice(None),) * axis + (part,)


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
    picks = np.asarray(index)
    if picks.dtype.kind not in "iu":
        raise ValueError(f"{where}: expected integer indices, got dtype {picks.dtype}")
    if picks.size and (picks.min() < 0 or picks.max() >= extent):
        raise IndexError(f"{where}: indices from {picks.min()} to {picks.max()} are out of range for a dim "
                         f"of size {extent}")
    return picks


def index_select(self: Tensor, dim: int, index: Any) -> Tensor:
    """The entries at positions `index` (1-d integers) along `dim`."""
    axis = _axis("index_select", dim, self.ndim)
    picks = _positions("index_select", index, self.shape[axis])
    if picks.ndim != 1:
        raise ValueError(f"index_select: expected a 1-d index, got shape {picks.shape}")
    return getitem(self, _along(axis, picks))


def gather(self: Tensor, dim: int, index: Any) -> Tensor:
    """out[i][j][k] = self[index[i][j][k]][j][k] for dim 0 (and alike for the others), as PyTorch's:
    `log_probs.gather(1, targets.unsqueeze(1))` picks each row's target. `index` has self's number
    of axes, and along the other axes no more entries than self."""
    return getitem(self, _along_index("gather", self, dim, index))


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


def repeat_interleave(self: Tensor, repeats: Any = None, dim: int | None = None) -> Tensor:
    """Each entry along `dim` repeated `repeats` times in place (an int, or a 1-d integer tensor of one
    count per entry), as PyTorch's and numpy's repeat: `[a, b].repeat_interleave(2)` is `[a, a, b, b]`.
    Without `dim` the tensor is flattened first. Indexing, so an entry's gradient is the sum over its
    copies. With no `repeats`, the tensor holds the counts: `tensor([2, 1]).repeat_interleave()` is
    `[0, 0, 1]`."""
    if repeats is None:                     # the counts alone: positions 0, 1, ... each repeated
        if self.ndim != 1:
            raise ValueError(f"repeat_interleave: expected 1-d counts, got shape {self.shape}")
        self, repeats = owned(np.arange(self.shape[0], dtype=np.int64)), self
    source = reshape(self, (-1,)) if dim is None else self
    axis = 0 if dim is None else _axis("repeat_interleave", dim, self.ndim)
    extent = source.shape[axis]
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or counts.size not in (1, extent) or np.any(counts < 0):
        got = f"{counts.dtype} counts of shape {counts.shape}" if counts.ndim else repr(repeats)
        along = "of the flattened tensor" if dim is None else f"along dim {dim}"
        raise ValueError(f"repeat_interleave: expected a non-negative integer, or 1-d non-negative integer "
                         f"counts of length 1 or {extent} (one per entry {along}), got {got}")
    picks = np.repeat(np.arange(extent, dtype=np.int64), np.broadcast_to(counts.reshape(-1), (extent,)))
    return getitem(source, _along(axis, picks))


def min(self: Tensor, axis: Any = None, keepdims: bool | None = None, *, dim: Any = None,
        keepdim: bool | None = None) -> Tensor | ValuesIndices:
    """The minimum, -max(-x), over `axis` (all by default); with `dim=`, PyTorch's pair (values, indices).
    (Integers and bools, which have no gradient, straight from numpy: -x would wrap an unsigned one.)"""
    if self.dtype.kind not in "fc":
        axis, keep = axis_keepdims("min", axis, keepdims, dim, keepdim)
        values = owned(np.asarray(np.min(self._data, axis=axis, keepdims=keep)))
        if dim is None:
            return _with_indices(values, self, axis, keep, "min") if is_int(axis) else values
        return ValuesIndices(values, owned(np.argmin(self._data, axis=axis, keepdims=keep).astype(np.int64)))
    axis, keep = axis_keepdims("min", axis, keepdims, dim, keepdim)
    if dim is not None:
        return reduce.extreme_and_index(self, axis, keep, "min")
    values = ew.neg(reduce.max(ew.neg(self), axis, keep))
    return _with_indices(values, self, axis, keep, "min") if is_int(axis) else values


def max_of(self: Tensor, axis: Any = None, keepdims: bool | None = None, *, dim: Any = None,
           keepdim: bool | None = None) -> Tensor | ValuesIndices:
    """`reduce.max` as a method: over one axis given by position (`t.max(1)`) the values, which also
    answer to `.values` and `.indices` (`reduce.ExtremesAlong`); with `dim=`, PyTorch's pair."""
    values = reduce.max(self, axis, keepdims, dim=dim, keepdim=keepdim)
    if dim is not None or not is_int(axis):
        return values
    return _with_indices(values, self, axis, values.ndim == self.ndim, "max")


def _with_indices(values: Tensor, x: Tensor, axis: int, keepdim: bool, which: str) -> reduce.ExtremesAlong:
    """t.max(d)'s (or t.min(d)'s) values, answering also to `.values` and `.indices`."""
    indices = (np.argmax if which == "max" else np.argmin)(x._data, axis=axis, keepdims=keepdim)
    return reduce.extremes_along(values, (x, axis, keepdim, which), np.asarray(indices))


def amax(self: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The largest entry over `dim` (an axis, a tuple, or `()` for all), as torch.amax: the values
    only, and the gradient shared equally between ties (`max` over `axis=`)."""
    return reduce.max(self, reduce.reduced_axes("amax", dim, self.shape), keepdim)


def amin(self: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The smallest entry over `dim`, as torch.amin (see `amax`)."""
    return min(self, reduce.reduced_axes("amin", dim, self.shape), keepdim)


def square(self: Tensor) -> Tensor:
    """x^2, as torch.square: `x ** 2`;   d/dx = 2x"""
    return ew.power(self, 2)


def rsqrt(self: Tensor) -> Tensor:
    """1 / sqrt(x), as torch.rsqrt: `x ** -0.5`;   d/dx = -x^(-3/2) / 2"""
    return ew.power(self, -0.5)


def _test(test: np.ufunc, name: str) -> Any:
    def entrywise_test(self: Tensor) -> Tensor:
        return owned(test(self._data))
    entrywise_test.__name__ = entrywise_test.__qualname__ = name
    entrywise_test.__doc__ = f"Where the entries are {name[2:]}, as torch.{name}: a bool tensor, no gradient."
    return entrywise_test


isnan, isinf, isfinite = _test(np.isnan, "isnan"), _test(np.isinf, "isinf"), _test(np.isfinite, "isfinite")


def expand(self: Tensor, *sizes: Any) -> Tensor:
    """The tensor broadcast to `sizes` (-1 keeps an axis's size): self + zeros of that shape, so the
    gradient is summed back over the stretched axes."""
    shape = shape_of(sizes)
    lead = len(shape) - self.ndim
    if lead < 0 or any(n == -1 and a < lead for a, n in enumerate(shape)):
        raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}")
    target = tuple(self.shape[a - lead] if n == -1 else n for a, n in enumerate(shape))
    try:
        np.broadcast_shapes(self.shape, target)
    except ValueError:
        raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}") from None
    return ew.add(self, np.zeros(target, dtype=self.dtype))


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, *other.shape)


def repeat(self: Tensor, *sizes: Any) -> Tensor:
    """The tensor tiled `sizes` times along each axis (numpy's tile): each axis of size n gets a
    new axis of size r in front, broadcast, and the two are merged into one of size r n."""
    repeats = shape_of(sizes)
    if len(repeats) < self.ndim or not all(is_int(r) and r >= 0 for r in repeats):
        raise ValueError(f"repeat: expected at least {self.ndim} non-negative counts, got {repeats}")
    shape = (1,) * (len(repeats) - self.ndim) + self.shape
    spread = reshape(self, tuple(x for n in shape for x in (1, n)))
    tiled = expand(spread, *[x for r, n in zip(repeats, shape) for x in (r, n)])
    return reshape(tiled, tuple(r * n for r, n in zip(repeats, shape)))


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


def masked_select(self: Tensor, mask: Any) -> Tensor:
    """The entries where the bool `mask` (broadcast with self) is True, in row-major order, as a 1-d
    tensor: indexing at the mask's positions, whose rule scatters the gradient back."""
    picks = np.asarray(mask)
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


def type_as(self: Tensor, other: Any) -> Tensor:
    """The tensor in `other`'s dtype, as `to(other.dtype)`."""
    return to(self, as_tensor(other).dtype)


def divide(self: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """self / other; PyTorch's `rounding_mode="floor"` is self // other and `"trunc"` rounds toward
    zero (both with a zero gradient, as PyTorch's): `torch.div(positions, vocab_size, rounding_mode="floor")`."""
    if rounding_mode is None:
        return ew.div(self, other)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
    quotient = ew.floor_divide(self, other)
    if rounding_mode == "floor":
        return quotient
    self, other = as_tensor(self, other if isinstance(other, Tensor) else None), as_tensor(other, quotient)
    inexact_negative = ((self < 0) ^ (other < 0)) & (ew.remainder(self, other) != 0)
    return ew.where(inexact_negative, quotient + 1, quotient)


def clamp(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """min(max(self, min), max): `clip` under PyTorch's names."""
    return ew.clip(self, min, max)


def clamp_min(self: Tensor, min: Any) -> Tensor:
    """max(self, min), as torch.clamp_min (fast.ai's relu, `x.clamp_min(0.)`): d/dself = 1 where
    self >= min, else 0; a tensor `min` (broadcast) gets the gradient where it is taken, self < min."""
    if isinstance(min, Tensor):
        return ew.where(self >= min, self, min)
    return ew.clip(self, min, None)


def clamp_max(self: Tensor, max: Any) -> Tensor:
    """min(self, max), as torch.clamp_max: d/dself = 1 where self <= max, else 0; a tensor `max`
    (broadcast) gets the gradient where it is taken, self > max."""
    if isinstance(max, Tensor):
        return ew.where(self <= max, self, max)
    return ew.clip(self, None, max)


def add(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """self + alpha * other."""
    return ew.add(self, other if alpha == 1 else ew.mul(as_tensor(other, self), alpha))


def sub(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """self - alpha * other."""
    return ew.sub(self, other if alpha == 1 else ew.mul(as_tensor(other, self), alpha))


def type_(self: Tensor, dtype: Any = None) -> Tensor | str:
    """`t.type(dtype)` converts, as `to(dtype)`; `t.type()` names the dtype."""
    return str(self.dtype) if dtype is None else to(self, dtype)


def _in_place_method(name: str, operator: str, combine) -> Any:
    """PyTorch's `t.add_(u)` and kin: the in-place operator's rules (`_in_place`), as a method."""
    def method(self: Tensor, other: Any, **options: Any) -> Tensor:
        return self._in_place(name, lambda t, u: combine(t, u, **options), other)
    method.__name__ = name
    method.__doc__ = f"In place, as `t {operator} u` (the tensor gets a new array); returns the tensor."
    return method


add_, sub_ = _in_place_method("add_", "+=", add), _in_place_method("sub_", "-=", sub)
mul_, div_ = _in_place_method("mul_", "*=", ew.mul), _in_place_method("div_", "/=", ew.div)


def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """`src` (broadcast to the tensor's shape, cast to its dtype) copied into the tensor, with the rules
    of the in-place operators: under `no_grad` the tensor gets a new array (`p.copy_(w)` sets a
    parameter, as `nn.init` does); while recording it takes src's history, so the gradient goes to
    src, summed over the broadcast axes. Returns the tensor."""
    def copied(t: Tensor, u: Any) -> Tensor:
        u = to(as_tensor(u, t), t.dtype)
        if not broadcasts_to(u.shape, t.shape):
            raise ValueError(f"copy_: the source's shape {u.shape} does not broadcast to the tensor's "
                             f"shape {t.shape}")
        return ew.add(u, np.zeros(t.shape, dtype=t.dtype))
    return self._in_place("copy_", copied, src)


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
    return transpose(windows, tuple(a for a in range(self.ndim + 1) if a != axis + 1) + (axis + 1,))


def flip(self: Tensor, dims: Any) -> Tensor:
    """The entries in reverse order along each of `dims` (an axis or a list of them), as PyTorch's
    `torch.flip`: indexing with reversed slices, whose rule sends the gradient back."""
    axes = [_axis("flip", axis, self.ndim) for axis in ([dims] if is_int(dims) else list(dims))]
    if len(set(axes)) != len(axes):
        raise ValueError(f"flip: each dim may appear once, got {dims!r}")
    index = [slice(None)] * self.ndim
    for axis in axes:
        index[axis] = slice(None, None, -1)
    out = getitem(self, tuple(index))
    out._part_of = None                     # PyTorch's flip copies: a write into the result leaves self
    return out


def _logical(ufunc: np.ufunc, name: str) -> Any:
    """`t & u`, `t | u`, `t ^ u` of bool (or integer) tensors, as PyTorch's: no gradient."""
    def logical(self: Tensor, other: Any) -> Tensor:
        if not isinstance(other, (Tensor, np.ndarray, np.generic, bool, int)):
            return NotImplemented
        other = as_tensor(other, self)
        if self.dtype.kind not in "biu" or other.dtype.kind not in "biu":
            raise TypeError(f"{name}: expected bool or integer tensors, got dtypes {self.dtype} and {other.dtype}")
        return owned(np.asarray(ew.operands(name, ufunc, self, other)[2]))
    return logical


def invert(self: Tensor) -> Tensor:
    """`~t`: logical not of a bool tensor (bitwise of an integer one), as PyTorch's."""
    if self.dtype.kind not in "biu":
        raise TypeError(f"bitwise_not (~): expected a bool or integer tensor, got dtype {self.dtype}")
    return owned(np.asarray(np.invert(self._data)))


def _truth(reduce_: Any, name: str) -> Any:
    """`t.all()` / `t.any()`, over every entry or along `dim`: a bool tensor, as PyTorch's."""
    def truth(self: Tensor, dim: Any = None, keepdim: Any = None, *, axis: Any = None, keepdims: Any = None) -> Tensor:
        axis, keep = axis_keepdims(name, axis, keepdims, dim, keepdim)
        if isinstance(axis, (tuple, list)):
            axis = tuple(_axis(name, d, self.ndim) for d in axis)
        elif axis is not None:
            axis = _axis(name, axis, self.ndim)
        out = np.asarray(reduce_(self._data, axis=axis, keepdims=keep))
        return owned(out.astype(np.uint8) if self.dtype == np.uint8 else out)    # (uint8 stays uint8, as PyTorch's)
    truth.__name__ = name
    truth.__doc__ = (f"Whether {name} entries are true (nonzero), over every entry or along `dim`, as "
                     f"torch.{name}: a bool tensor (uint8 for uint8), no gradient; `dim` an axis or a tuple.")
    return truth


def equal(self: Tensor, other: Any) -> bool:
    """The same shape and the same values, as torch.equal (`t.equal(u)`)."""
    a, b = self._data, as_tensor(other)._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _logical_of(ufunc: np.ufunc, name: str) -> Any:
    """torch.logical_and (or, xor): of two tensors of any dtypes, nonzero counting as True."""
    def logical(self: Tensor, other: Any) -> Tensor:
        return owned(np.asarray(ew.operands(name, lambda a, b: ufunc(a != 0, b != 0), self, other)[2]))
    logical.__name__ = name
    logical.__doc__ = (f"`t.{name}(u)` (and `mg.{name}(t, u)`): the entries' {name[8:]} (a nonzero entry is "
                       f"True, zero is False), broadcast, as torch.{name}: a bool tensor, no gradient.")
    return logical


logical_and = _logical_of(np.logical_and, "logical_and")
logical_or = _logical_of(np.logical_or, "logical_or")
logical_xor = _logical_of(np.logical_xor, "logical_xor")


def logical_not(self: Tensor) -> Tensor:
    """`t.logical_not()` (and `mg.logical_not(t)`): True where an entry is zero, as torch.logical_not
    (for a bool tensor, `~t`): a bool tensor, no gradient."""
    return owned(np.asarray(self._data == 0))


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """torch.meshgrid(x_1, ..., x_k, indexing="ij"): for vectors x_i of lengths n_i, k tensors G_i of one
    shape (n_1, ..., n_k), with G_i[j_1, ..., j_k] = x_i[j_i]; indexing="xy" (numpy's default) swaps the
    first two axes, shape (n_2, n_1, n_3, ...), for x-y plots. The tensors come as arguments or as one
    list or tuple, 0-d ones counting as vectors of length 1, all of one dtype. Each G_i is x_i reshaped
    to length 1 on every other axis and expanded, so dL/dx_i[j] = sum of dL/dG_i over the entries with
    j_i = j. Without `indexing` it is "ij" and a UserWarning says to pass it, as PyTorch's."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("meshgrid: pass indexing='ij' (the default used here, PyTorch's) or indexing='xy' "
                      "(numpy's), as PyTorch asks", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: expected at least one tensor, got none")
    xs = [as_tensor(x) for x in tensors]
    if any(x.ndim > 1 for x in xs):
        raise ValueError(f"meshgrid: expected 0-d or 1-d tensors, got shapes {[x.shape for x in xs]}")
    if len({x.dtype for x in xs}) > 1:
        raise TypeError(f"meshgrid: expected tensors of one dtype, got {[str(x.dtype) for x in xs]}")
    axes = list(range(len(xs)))
    if indexing == "xy" and len(xs) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(xs)
    for x, axis in zip(xs, axes):
        shape[axis] = x._data.size
    grids = []
    for x, axis in zip(xs, axes):
        along = [1] * len(xs)
        along[axis] = x._data.size
        grids.append(expand(reshape(x, tuple(along)), *shape))
    return tuple(grids)


def _cuda(self: Tensor, device: Any = None, non_blocking: bool = False) -> Tensor:
    """PyTorch's `t.cuda()`: there is no GPU here, so a RuntimeError naming `cuda` (use `t.to("cpu")`)."""
    check_device("cuda", f"cuda:{device}" if is_int(device) else device or "cuda")
    return self


Tensor.split, Tensor.chunk, Tensor.unbind, Tensor.index_select, Tensor.gather = split, chunk, unbind, index_select, gather
Tensor.min, Tensor.expand, Tensor.expand_as, Tensor.repeat = min, expand, expand_as, repeat
Tensor.clamp, Tensor.add, Tensor.sub, Tensor.type = clamp, add, sub, type_
Tensor.masked_select, Tensor.type_as, Tensor.div = masked_select, type_as, divide
Tensor.floor_divide, Tensor.remainder = ew.floor_divide, ew.remainder
Tensor.matmul, Tensor.mm, Tensor.bmm, Tensor.pow = (Tensor.__matmul__,) * 3 + (ew.power,)
Tensor.add_, Tensor.sub_, Tensor.mul_, Tensor.div_, Tensor.flip = add_, sub_, mul_, div_, flip
Tensor.copy_, Tensor.unfold, Tensor.tril, Tensor.triu, Tensor.roll = copy_, unfold, tril, triu, roll
Tensor.amax, Tensor.amin, Tensor.square, Tensor.rsqrt = amax, amin, square, rsqrt
Tensor.isnan, Tensor.isinf, Tensor.isfinite = isnan, isinf, isfinite
Tensor.is_floating_point = lambda self: self._data.dtype.kind == "f"
Tensor.repeat_interleave = repeat_interleave
Tensor.__and__ = Tensor.__rand__ = _logical(np.bitwise_and, "bitwise_and (&)")
Tensor.__or__ = Tensor.__ror__ = _logical(np.bitwise_or, "bitwise_or (|)")
Tensor.__xor__ = Tensor.__rxor__ = _logical(np.bitwise_xor, "bitwise_xor (^)")
Tensor.__invert__, Tensor.all, Tensor.any = invert, _truth(np.all, "all"), _truth(np.any, "any")
Tensor.int, Tensor.bool, Tensor.half = (lambda self: to(self, np.int32), lambda self: to(self, np.bool_),
                                        lambda self: to(self, np.float16))
Tensor.is_leaf = property(lambda self: self._node is None or self._node.kind in (LEAF, CUT))
Tensor.grad_fn = property(lambda self: None if self.is_leaf else self._node)     # the node that made it
Tensor.device, Tensor.is_cuda, Tensor.cuda = property(lambda self: CPU), property(lambda self: False), _cuda
Tensor.retain_grad = lambda self: None      # every tensor the user holds keeps its gradient already
Tensor.max, Tensor.log10, Tensor.log2, Tensor.equal = max_of, ew.log10, ew.log2, equal
Tensor.clamp_min, Tensor.clamp_max, Tensor.sign = clamp_min, clamp_max, ew.sign
Tensor.cosh, Tensor.sinh = ew.cosh, ew.sinh
Tensor.logical_and, Tensor.logical_or, Tensor.logical_xor = logical_and, logical_or, logical_xor
Tensor.logical_not = logical_not
