"""PyTorch's methods that broadcast a tensor to a larger shape: `t.expand(*sizes)`, `t.expand_as(u)`,
`t.repeat(*counts)` (numpy's tile), and one function, `mg.meshgrid`: vectors expanded into grids.

None needs a rule of its own: expanding is adding zeros of the larger shape, so `sum_to` sums the
gradient back over the stretched axes, as for any broadcast; repeat and meshgrid are reshapes around
an expand.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..checks import is_int, user_stacklevel
from ..spellings import shape_of
from ..tensor import Tensor, as_tensor
from . import elementwise as ew
from .shape import reshape


def expand(self: Tensor, *sizes: Any) -> Tensor:
    """The tensor broadcast to `sizes` (-1 keeps an axis's size): self + zeros of that shape, so the
    gradient is summed back over the stretched axes."""
    shape = shape_of(sizes)
    lead = len(shape) - self.ndim
    if lead < 0 or any(n == -1 and a < lead for a, n in enumerate(shape)):
        raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}")
    target = tuple(self.shape[a - lead] if n == -1 else n for a, n in enumerate(shape))
    if any(n < 0 for n in target):
        raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}")
    for a, (n, m) in enumerate(zip(self.shape, target[lead:])):
        if n != m and n != 1:           # only an axis of size 1 stretches, as PyTorch's
            raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}: the expanded size ({m}) "
                             f"must match the existing size ({n}) at non-singleton axis {a + lead}")
    return ew.add(self, np.zeros(target, dtype=self.dtype))


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    """The tensor broadcast to `other`'s shape, as `expand(*other.shape)`."""
    if not hasattr(other, "shape"):
        raise TypeError(f"expand_as: expected a tensor (or an array) to take the shape of, got {type(other).__name__}")
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
                      "(numpy's), as PyTorch asks", UserWarning, stacklevel=user_stacklevel())
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: expected at least one tensor, got none")
    xs = [as_tensor(x, where="meshgrid") for x in tensors]
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


def _tile(self: Tensor, *dims: Any) -> Tensor:
    """PyTorch's `t.tile(dims)`: `repeat` with fewer counts than axes allowed, padded with leading ones
    (`t.tile((2,))` of a matrix repeats its columns), as numpy's tile; repeat's gradient."""
    if not dims:
        raise TypeError("tile() missing 1 required positional argument: 'dims'")
    counts = shape_of(dims)
    return repeat(self, *((1,) * (self.ndim - len(counts)) + tuple(counts)))


Tensor.expand, Tensor.expand_as, Tensor.repeat, Tensor.tile = expand, expand_as, repeat, _tile
