"""PyTorch's `torch.linalg` norms, as newer scripts spell them: `torch.linalg.norm(x, dim=-1)`,
`torch.linalg.vector_norm(g)`. Both are `mg.norm` (`ops/reduce.py`: one op whose rule is the
p-norm's gradient) for the orders it has:

    ord = 2:    sqrt(sum x_i^2)     ord = 1:    sum |x_i|     ord = inf:  max |x_i|

`vector_norm` treats x as a vector over `dim` (all of it by default); `norm` does too for one `dim`
or a 1-d x, and for a pair of axes (or a 2-d x without `dim`) computes the Frobenius norm, ord None
or "fro": sqrt of the sum of squares over both, which is the 2-norm of the entries. The matrix norms
that need singular values (ord 2, -2, "nuc") or are not entrywise sums (ord 1, inf of a matrix) are
not here: ValueError naming the function.
"""

from __future__ import annotations

import math
from typing import Any

from .ops.reduce import norm as _p_norm
from .tensor import Tensor, as_tensor

_VECTOR_ORDERS = {2: 2, 1: 1, math.inf: math.inf}


def _vector_order(where: str, ord: Any) -> Any:
    if isinstance(ord, str) or ord not in _VECTOR_ORDERS:
        raise ValueError(f"{where}: ord={ord!r} is not supported here; the vector norms ord=2, 1 and inf are "
                         "(as mg.norm)")
    return _VECTOR_ORDERS[ord]


def vector_norm(x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.vector_norm: the ord-norm of x's entries over `dim` (an int, a tuple, or every axis)."""
    x = as_tensor(x)
    if dtype is not None:
        x = x.to(dtype)
    return _p_norm(x, _vector_order("linalg.vector_norm", ord), dim=dim, keepdim=keepdim)


def norm(A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.norm: a vector norm over one `dim` (or of a 1-d A, or of every entry with ord and
    dim None), or the Frobenius norm over a pair of axes (`dim` a 2-tuple, or a 2-d A without `dim`)."""
    if isinstance(dim, (tuple, list)) and len(dim) not in (1, 2):
        raise ValueError(f"linalg.norm: dim must be an int or a tuple of 1 or 2 axes (a vector or a matrix norm), "
                         f"got {dim!r}, as PyTorch's; vector_norm takes any number of axes")
    A = as_tensor(A)
    if dtype is not None:
        A = A.to(dtype)
    pair = (isinstance(dim, (tuple, list)) and len(dim) == 2) or (dim is None and ord is not None and A.ndim == 2)
    if pair:
        if ord not in (None, "fro"):
            raise ValueError(f"linalg.norm: the matrix norm ord={ord!r} is not supported here; ord=None or "
                             "'fro' (the Frobenius norm) is")
        return _p_norm(A, 2, dim=(-2, -1) if dim is None else tuple(dim), keepdim=keepdim)
    if ord is None:
        return _p_norm(A, 2, dim=dim, keepdim=keepdim)
    if dim is None and A.ndim != 1:
        raise ValueError(f"linalg.norm: with ord={ord!r} and no dim the input must be 1-d or 2-d, got shape "
                         f"{A.shape} (use vector_norm for the norm of every entry)")
    return _p_norm(A, _vector_order("linalg.norm", ord), dim=dim, keepdim=keepdim)
