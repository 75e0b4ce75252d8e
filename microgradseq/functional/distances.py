"""PyTorch's distances between rows, beside `pairwise_distance` (`activations.py`): `mg.cdist` (every row
of one batch of points against every row of another), `mg.pdist` and `F.pdist` (every pair of rows of
one matrix), `mg.dist` (and `t.dist`: the p-norm of a difference), and `mg.renorm` (`t.renorm`: each
slice's p-norm capped).

All are differences, indexing and the p-norm of `activations._vector_norm` (`ops.norm` for p = 1, 2,
inf: slope 0 at a zero difference, as PyTorch's `_euclidean_dist_backward` and norm_backward), so the
chain rule gives their gradients:

    cdist(x1, x2)[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p
    pdist(x)[k] = ||x[i] - x[j]||_p   for the k-th pair i < j, in row-major order
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..ops.methods import _axis
from ..tensor import Tensor, as_tensor
from .activations import _floating, _vector_norm, argument


def _order(where: str, p: Any) -> float:
    """p as a number >= 0 (inf too), as cdist, pdist and renorm take it (TypeError or ValueError naming `where`)."""
    return float(argument(where, "p", p, lambda v: v >= 0, ">= 0"))


def cdist(x1: Any, x2: Any, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M), as
    torch.cdist: (..., P, R), the batch axes broadcast. `compute_mode` is accepted and changes nothing:
    the differences are always formed (PyTorch's matrix-product route for p = 2 is faster, less exact)."""
    a, b = _floating("cdist", x1), _floating("cdist", x2)
    p = _order("cdist", p)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ValueError(f"cdist: expected x1 (..., P, M) and x2 (..., R, M) with the same M, got shapes {a.shape} "
                         f"and {b.shape}")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"cdist: the batch shapes of {a.shape} and {b.shape} cannot be broadcast together") from None
    differences = ops.sub(a.unsqueeze(-2), b.unsqueeze(-3))
    return _vector_norm("cdist", differences, p, -1, False)


def pdist(input: Any, p: float = 2.0) -> Tensor:
    """The p-norm distance between each pair of rows i < j of a matrix (N, M), in row-major order, as
    torch.pdist and F.pdist: N (N - 1) / 2 entries (the upper triangle of cdist(x, x), flattened)."""
    x = _floating("pdist", input)
    p = _order("pdist", p)
    if x.ndim != 2:
        raise ValueError(f"pdist: expected a matrix (N, M), got shape {x.shape}")
    first, second = np.triu_indices(x.shape[0], 1)
    differences = ops.sub(ops.getitem(x, first), ops.getitem(x, second))
    return _vector_norm("pdist", differences, p, -1, False)


def dist(input: Any, other: Any, p: float = 2.0) -> Tensor:
    """The p-norm of input - other (broadcast) over every entry, as torch.dist; p as torch.norm's:
    1, 2, inf, -inf, 0 or any other number. A 0-d tensor."""
    a = input if isinstance(input, Tensor) else as_tensor(input, other if isinstance(other, Tensor) else None, "dist")
    b = other if isinstance(other, Tensor) else as_tensor(other, a, "dist")
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"dist: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
    difference = ops.sub(a, b)
    if difference.dtype.kind != "f":
        raise TypeError(f"dist: expected floating-point tensors, got dtypes {a.dtype} and {b.dtype}")
    return _vector_norm("dist", ops.reshape(difference, (-1,)), p, 0, False)


def renorm(input: Any, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along `dim` (input.select(dim, i)) whose p-norm is above `maxnorm` scaled to norm maxnorm,
    as torch.renorm: x maxnorm / (||x||_p + 1e-7) there, x elsewhere. The scale is differentiated too, so
    the gradient is PyTorch's renorm_backward: maxnorm / (n + 1e-7) (g - (d n/dx) <x, g> / (n + 1e-7))."""
    x = _floating("renorm", input)
    p = _order("renorm", p)
    if p == 0 or x.ndim < 2:
        raise ValueError(f"renorm: expected p > 0 and a tensor with at least 2 axes, got p={p!r}, shape {x.shape}")
    maxnorm = argument("renorm", "maxnorm", maxnorm, lambda v: v >= 0, ">= 0")
    axis = _axis("renorm", dim, x.ndim)
    others = tuple(a for a in range(x.ndim) if a != axis)
    norms = _vector_norm("renorm", x, p, others, True)
    above = norms._data > maxnorm
    scale = ops.where(above, ops.div(maxnorm, ops.add(norms, 1e-7)), np.ones((), x.dtype))
    return ops.mul(x, ops.astype(scale, x.dtype) if scale.dtype != x.dtype else scale)
