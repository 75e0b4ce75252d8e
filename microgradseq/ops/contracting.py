"""PyTorch's products that contract axes, beside `matmul`, `mm`, `bmm`, `outer` and `addmm`
(`arithmetic.py`): `tensordot`, `mv`, `vdot`, `trace`, and the fused additions `addmv`, `addr`,
`baddbmm`, `addbmm` (beta input + alpha product).

None needs a rule of its own: each is `matmul` (or `sum` of indexed entries, for trace) around
reshapes and transposes, so the chain rule gives its gradient and tangent:

    tensordot(a, b, 1):  out[i, k] = sum_j a[i, j] b[j, k]      d/da = g b^T,   d/db = a^T g
    trace(A) = sum_i A[i, i]                                     d/dA = I (of A's shape)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import broadcasts_to, is_int
from ..tensor import Tensor, as_tensor
from . import elementwise as ew
from .arithmetic import _scalar, _scaled
from .linalg import matmul
from .methods import _axis
from .reduce import sum
from .shape import getitem, reshape, transpose


def _operands(input: Any, other: Any, where: str) -> tuple[Tensor, Tensor]:
    """Two tensors: a Python number takes the other tensor's dtype, anything else `as_tensor` makes of it
    (what is not numbers: an error naming `where`)."""
    a = input if isinstance(input, Tensor) else as_tensor(input, other if isinstance(other, Tensor) else None, where)
    return a, other if isinstance(other, Tensor) else as_tensor(other, a, where)


def _contracted_axes(a: Tensor, b: Tensor, dims: Any) -> tuple[list[int], list[int]]:
    """tensordot's `dims` as two lists of axes: a number n (a's last n axes with b's first n), or a pair
    of lists (or of single axes); ValueError naming tensordot otherwise."""
    if isinstance(dims, Tensor):
        dims = dims.item() if dims.ndim == 0 else dims.tolist()
    if is_int(dims):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims={dims} must be from 0 to {min(a.ndim, b.ndim)} for shapes "
                             f"{a.shape} and {b.shape}")
        return list(range(a.ndim - dims, a.ndim)), list(range(dims))
    if not (isinstance(dims, (list, tuple)) and len(dims) == 2):
        raise ValueError(f"tensordot: dims must be a number or a pair of lists of axes, got {dims!r}")
    first, second = ([d] if is_int(d) else list(d) for d in dims)
    if len(first) != len(second):
        raise ValueError(f"tensordot: expected as many axes of each, got {first} and {second}")
    first = [_axis("tensordot", d, a.ndim) for d in first]
    second = [_axis("tensordot", d, b.ndim) for d in second]
    if len(set(first)) != len(first) or len(set(second)) != len(second):
        raise ValueError(f"tensordot: an axis is named twice in dims {dims!r}")
    return first, second


def tensordot(a: Any, b: Any, dims: Any = 2) -> Tensor:
    """The sum of products over the paired axes, as torch.tensordot (numpy's): `dims` a number n (a's
    last n axes against b's first n) or a pair of lists ([1, 0], [0, 1]); the result has a's other axes,
    then b's. a's free axes and b's are each merged into one, and the product is one `matmul`."""
    a, b = _operands(a, b, "tensordot")
    first, second = _contracted_axes(a, b, dims)
    for i, j in zip(first, second):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: shapes {a.shape} and {b.shape} do not line up: dim {i} of the first "
                             f"({a.shape[i]}) against dim {j} of the second ({b.shape[j]})")
    free_a = [d for d in range(a.ndim) if d not in first]
    free_b = [d for d in range(b.ndim) if d not in second]
    inner = int(np.prod([a.shape[d] for d in first], dtype=np.int64))
    left = reshape(transpose(a, tuple(free_a + first)), (-1, inner))
    right = reshape(transpose(b, tuple(second + free_b)), (inner, -1))
    return reshape(matmul(left, right), tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))


def mv(input: Any, vec: Any) -> Tensor:
    """A matrix (n, m) times a vector (m,), as torch.mv: `matmul`, (n,);   d/dinput = g vec^T, d/dvec = input^T g"""
    a, v = _operands(input, vec, "mv")
    if a.ndim != 2 or v.ndim != 1 or a.shape[1] != v.shape[0]:
        raise ValueError(f"mv: expected a matrix (n, m) and a vector (m,), got shapes {a.shape} and {v.shape}")
    return matmul(a, v)


def vdot(input: Any, other: Any) -> Tensor:
    """The inner product of two real vectors of one length and dtype, as torch.vdot (which conjugates
    the first; complex tensors are refused here, `TypeError`): `matmul`, a 0-d tensor."""
    a, b = _operands(input, other, "vdot")
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"vdot: expected two 1-d tensors of the same length, got shapes {a.shape} and {b.shape}")
    if a.dtype != b.dtype or a.dtype.kind == "c":
        raise TypeError(f"vdot: expected two real tensors of the same dtype, got {a.dtype} and {b.dtype}")
    return matmul(a, b)


def trace(input: Any) -> Tensor:
    """The sum of a matrix's main diagonal, as torch.trace (of any m x n matrix; integers sum in int64):
    the diagonal's entries read by indexing and summed, so d/dA is 1 on the diagonal, 0 elsewhere."""
    A = input if isinstance(input, Tensor) else as_tensor(input, where="trace")
    if A.ndim != 2:
        raise ValueError(f"trace: expected a matrix (2 axes), got shape {A.shape}")
    along = np.arange(min(A.shape))
    return sum(getitem(A, (along, along)))


def _fused(where: str, input: Tensor, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """beta input + alpha product, input broadcast to the product's shape; with beta = 0 input's values
    are not used (its NaN and inf do not reach the result), as PyTorch's (and `addmm`'s)."""
    if not broadcasts_to(input.shape, product.shape):
        raise ValueError(f"{where}: input of shape {input.shape} does not broadcast to the product's shape "
                         f"{product.shape}")
    product = _scaled(product, alpha)
    if beta == 0:
        return ew.where(np.ones(product.shape, dtype=bool), product, input)
    return ew.add(_scaled(input, beta), product)


def addmv(input: Any, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta input + alpha (mat @ vec), as torch.addmv: mat (n, m), vec (m,), input broadcast to (n,)."""
    beta, alpha = _scalar("addmv", "beta", beta), _scalar("addmv", "alpha", alpha)
    x = input if isinstance(input, Tensor) else as_tensor(input, where="addmv")
    a, v = _operands(mat, vec, "addmv")
    if a.ndim != 2 or v.ndim != 1 or a.shape[1] != v.shape[0]:
        raise ValueError(f"addmv: expected a matrix (n, m) and a vector (m,), got shapes {a.shape} and {v.shape}")
    return _fused("addmv", x, matmul(a, v), beta, alpha)


def addr(input: Any, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta input + alpha outer(vec1, vec2), as torch.addr: vectors (n,) and (m,), input broadcast to (n, m)."""
    beta, alpha = _scalar("addr", "beta", beta), _scalar("addr", "alpha", alpha)
    x = input if isinstance(input, Tensor) else as_tensor(input, where="addr")
    u, v = _operands(vec1, vec2, "addr")
    if u.ndim != 1 or v.ndim != 1:
        raise ValueError(f"addr: expected two 1-d tensors, got shapes {u.shape} and {v.shape}")
    return _fused("addr", x, ew.mul(reshape(u, (-1, 1)), v), beta, alpha)


def _batches(where: str, batch1: Any, batch2: Any) -> tuple[Tensor, Tensor]:
    first, second = _operands(batch1, batch2, where)
    if not (first.ndim == second.ndim == 3 and first.shape[0] == second.shape[0]
            and first.shape[2] == second.shape[1]):
        raise ValueError(f"{where}: expected two 3-d tensors (b, n, m) and (b, m, p), got shapes {first.shape} and "
                         f"{second.shape}")
    return first, second


def baddbmm(input: Any, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta input + alpha (batch1 @ batch2), as torch.baddbmm: (b, n, m) and (b, m, p), input broadcast
    to (b, n, p) (attention's scaled scores, `baddbmm(bias, q, k^T, alpha=scale)`)."""
    beta, alpha = _scalar("baddbmm", "beta", beta), _scalar("baddbmm", "alpha", alpha)
    x = input if isinstance(input, Tensor) else as_tensor(input, where="baddbmm")
    return _fused("baddbmm", x, matmul(*_batches("baddbmm", batch1, batch2)), beta, alpha)


def addbmm(input: Any, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta input + alpha sum_b batch1[b] @ batch2[b], as torch.addbmm: (b, n, m) and (b, m, p), the batch
    summed away, input broadcast to (n, p). The sum over b is one `matmul` of (n, b m) by (b m, p)."""
    beta, alpha = _scalar("addbmm", "beta", beta), _scalar("addbmm", "alpha", alpha)
    x = input if isinstance(input, Tensor) else as_tensor(input, where="addbmm")
    first, second = _batches("addbmm", batch1, batch2)
    count, rows, inner = first.shape
    left = reshape(transpose(first, (1, 0, 2)), (rows, count * inner))
    return _fused("addbmm", x, matmul(left, reshape(second, (count * inner, -1))), beta, alpha)


Tensor.mv, Tensor.vdot, Tensor.trace = mv, vdot, trace
Tensor.addmv, Tensor.addr, Tensor.baddbmm, Tensor.addbmm = addmv, addr, baddbmm, addbmm
