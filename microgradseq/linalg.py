"""PyTorch's `torch.linalg`: norms, and the differentiable matrix functions and decompositions that
matrix calculus, Gaussian log-likelihoods, whitening and orthogonal RNNs (expRNN's Cayley map) call.

The primitives, each with its rules beside it, live in `ops/matrix_functions.py` (inv, solve, det,
slogdet, matrix_exp, cholesky), `ops/decompositions.py` (eigh, eigvalsh, svd, svdvals, qr) and
`ops/solvers.py` (solve_triangular, lu, pinv). Written
here with them and the other primitives, so their gradients come from the chain rule:

    vector_norm, norm      mg.norm's p-norms over `dim` (ord 2, 1, inf)
    matrix_norm            "fro": sqrt(sum A_ij^2);  "nuc": sum of singular values;  2 (-2): the largest
                           (smallest) singular value;  1 (-1): the largest (smallest) column sum of |A_ij|;
                           inf (-inf): the largest (smallest) row sum
    matrix_power(A, n)     A A ... A (n factors) by repeated squaring; n < 0: inv(A)^-n; n = 0: I
    solve(A, B, left)      A X = B (left) or X A = B, B a matrix or (PyTorch's rule) a vector per matrix
    logdet(A)              log det A = logabsdet + log(sign): nan for a negative determinant, as PyTorch's
    cond(A, p)             s_1 / s_n (p None, 2; -2: its inverse), else matrix_norm(A, p) matrix_norm(A^-1, p)
    multi_dot(As)          A_1 A_2 ... A_k, multiplied in the order of fewest scalar products
    cross(a, b), vecdot    the cross product along `dim` (a_2 b_3 - a_3 b_2, ...);  sum_i x_i y_i along `dim`
    tensorinv, tensorsolve inv and solve of A's axes merged into a square matrix

The least squares, LU and triangular solves (lstsq, lu_factor, lu, lu_solve, solve_triangular, pinv,
matrix_rank, the `_ex` variants) are `linalg_solvers.py`'s, named here.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple, Sequence

import numpy as np

from .checks import is_axis, is_int
from .linalg_solvers import (LU, CholeskyEx, InvEx, Lstsq, LUFactor, SolveEx, _reported, _SINGULAR, _where_fine,
                             _zero_pivot, cholesky_ex, cholesky_inverse, cholesky_solve, inv_ex, lstsq, lu, lu_factor,
                             lu_solve, matrix_rank, pinverse, torch_lu, torch_lu_solve, triangular_solve)
from .ops.combining import diagonal as _diagonal
from .ops.contracting import tensordot
from .ops.decompositions import QR, SVD, Eigh, eigh, eigvalsh, qr, svd, svdvals
from .ops.elementwise import abs, neg, where
from .ops.linalg import matmul
from .ops.matrix_functions import (LinAlgError, SignLogAbsDet, cholesky, det, inv, matrix_exp, real_matrices,
                                   slogdet, solve_matrices, square_matrices)
from .ops.methods import _axis
from .ops.products import cumprod
from .ops.reduce import max, norm as _p_norm, sum
from .ops.shape import concat, getitem
from .ops.solvers import lu_factor_values, pinv, solve_triangular
from .tensor import Tensor, as_tensor, owned

__all__ = ["Eigh", "LinAlgError", "QR", "SVD", "SignLogAbsDet", "cholesky", "det", "eigh", "eigvalsh", "inv",
           "logdet", "matrix_exp", "matrix_norm", "matrix_power", "norm", "qr", "slogdet", "solve", "svd",
           "svdvals", "vector_norm"]
__all__ += ["CholeskyEx", "InvEx", "LU", "LUFactor", "Lstsq", "SolveEx", "cholesky_ex", "cond", "cross", "diagonal",
            "inv_ex", "lstsq", "lu", "lu_factor", "lu_solve", "matrix_rank", "multi_dot", "pinv", "solve_ex",
            "solve_triangular", "tensorinv", "tensorsolve", "vander", "vecdot"]

_VECTOR_ORDERS = {2: 2, 1: 1, math.inf: math.inf}
_MATRIX_ORDERS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def _vector_order(where: str, ord: Any) -> Any:
    if isinstance(ord, str) or ord not in _VECTOR_ORDERS:
        raise ValueError(f"{where}: ord={ord!r} is not supported here; the vector norms ord=2, 1 and inf are "
                         "(as mg.norm)")
    return _VECTOR_ORDERS[ord]


def vector_norm(x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.vector_norm: the ord-norm of x's entries over `dim` (an int, a tuple, or every axis)."""
    x = as_tensor(x, where="linalg.vector_norm")
    if dtype is not None:
        x = x.to(dtype)
    return _p_norm(x, _vector_order("linalg.vector_norm", ord), dim=dim, keepdim=keepdim)


def norm(A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.norm: a vector norm over one `dim` (or of a 1-d A, or of every entry with ord and
    dim None), or a matrix norm over a pair of axes (`dim` a 2-tuple, or a 2-d A without `dim`):
    `matrix_norm`, ord None meaning 'fro'."""
    if isinstance(dim, (tuple, list)) and len(dim) not in (1, 2):
        raise ValueError(f"linalg.norm: dim must be an int or a tuple of 1 or 2 axes (a vector or a matrix norm), "
                         f"got {dim!r}, as PyTorch's; vector_norm takes any number of axes")
    A = as_tensor(A, where="linalg.norm")
    if dtype is not None:
        A = A.to(dtype)
    pair = (isinstance(dim, (tuple, list)) and len(dim) == 2) or (dim is None and ord is not None and A.ndim == 2)
    if pair:
        return _matrix_norm("linalg.norm", A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim,
                            keepdim)
    if ord is None:
        return _p_norm(A, 2, dim=dim, keepdim=keepdim)
    if dim is None and A.ndim != 1:
        raise ValueError(f"linalg.norm: with ord={ord!r} and no dim the input must be 1-d or 2-d, got shape "
                         f"{A.shape} (use vector_norm for the norm of every entry)")
    return _p_norm(A, _vector_order("linalg.norm", ord), dim=dim, keepdim=keepdim)


def matrix_norm(A: Any, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """torch.linalg.matrix_norm: the ord-norm of the matrices in the axes `dim` (a pair): "fro", "nuc",
    2, -2 (singular values), 1, -1, inf, -inf (column and row sums of |A|); see the module's docstring."""
    A = as_tensor(A, where="linalg.matrix_norm")
    if dtype is not None:
        A = A.to(dtype)
    return _matrix_norm("linalg.matrix_norm", A, ord, dim, keepdim)


def _matrix_norm(where: str, A: Tensor, ord: Any, dim: Any, keepdim: bool) -> Tensor:
    if not (isinstance(ord, str) and ord in ("fro", "nuc")) and (isinstance(ord, str) or ord not in _MATRIX_ORDERS):
        raise ValueError(f"{where}: ord={ord!r} is not a matrix norm; expected 'fro', 'nuc', 2, -2, 1, -1, inf or "
                         "-inf")
    if A.dtype.kind != "f":
        raise TypeError(f"{where}: expected a real floating-point tensor, got dtype {A.dtype}")
    if not (isinstance(dim, (tuple, list)) and len(dim) == 2 and all(is_axis(d, A.ndim) for d in dim)
            and dim[0] % A.ndim != dim[1] % A.ndim):
        raise ValueError(f"{where}: dim must be a pair of two different axes of a tensor with {A.ndim} axes "
                         f"(at least 2), got {dim!r}")
    rows, columns = dim[0] % A.ndim, dim[1] % A.ndim
    if ord == "fro":
        return _p_norm(A, 2, dim=(rows, columns), keepdim=keepdim)
    if ord in ("nuc", 2, -2):
        S = svdvals(A.movedim((rows, columns), (-2, -1)))
        value = sum(S, axis=-1) if ord == "nuc" else S[..., 0] if ord == 2 else S[..., -1]
    else:
        summed, extreme = (rows, columns) if ord in (1, -1) else (columns, rows)
        sums = sum(abs(A), axis=summed, keepdims=True)
        value = max(sums, axis=extreme, keepdims=True) if ord > 0 else neg(max(neg(sums), axis=extreme,
                                                                                keepdims=True))
    kept = [1 if axis in (rows, columns) else n for axis, n in enumerate(A.shape)]
    return value.reshape(tuple(kept) if keepdim else tuple(n for axis, n in enumerate(A.shape)
                                                             if axis not in (rows, columns)))


def matrix_power(A: Any, n: int) -> Tensor:
    """torch.linalg.matrix_power: A^n by repeated squaring (matmul); n < 0: inv(A)^|n|; n = 0: the identity,
    in the graph with gradient 0 (as PyTorch's A.clone().copy_(eye): `where` picks the identity everywhere)."""
    A = square_matrices("linalg.matrix_power", A)
    if not is_int(n):
        raise TypeError(f"linalg.matrix_power: n must be an integer, got {type(n).__name__} {n!r}")
    if n == 0:
        return where(np.ones(A.shape, bool), np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape), A)
    if n < 0:
        A, n = inv(A), -n
    power, product = A, None
    while n:
        if n & 1:
            product = power if product is None else matmul(product, power)
        n >>= 1
        if n:
            power = matmul(power, power)
    return product


def solve(A: Any, B: Any, *, left: bool = True) -> Tensor:
    """torch.linalg.solve: X with A X = B (X A = B when not `left`), batch axes broadcast; B (..., n, k), or
    (as PyTorch's rule) a vector per matrix, (n,) or A's shape without its last axis. Singular A: LinAlgError."""
    A = square_matrices("linalg.solve", A)
    B = B if isinstance(B, Tensor) else as_tensor(B, A, "linalg.solve")
    if B.dtype.kind != "f":
        raise TypeError(f"linalg.solve: expected a real floating-point B, got dtype {B.dtype}")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector and not left:
        raise ValueError("linalg.solve: Vector broadcasting of the left hand side is not supported for left=False. "
                         "In this case linalg.solve is equivalent to B / A.squeeze(-1)")
    if not vector and (B.ndim < 2 or B.shape[-1 if not left else -2] != A.shape[-1]):
        raise ValueError(f"linalg.solve: incompatible shapes of A and B for the equation {'AX' if left else 'XA'} = B "
                         f"({A.shape} and {B.shape})")
    matrices = B.reshape(B.shape + (1,)) if vector else B if left else B.transpose(-2, -1)
    try:
        X = solve_matrices(A if left else A.transpose(-2, -1), matrices)
    except ValueError as error:
        if "broadcast" not in str(error):
            raise
        raise ValueError(f"linalg.solve: the batch shapes of A {A.shape} and B {B.shape} do not broadcast") from None
    return X.reshape(X.shape[:-1]) if vector else X if left else X.transpose(-2, -1)


def logdet(A: Any) -> Tensor:
    """torch.logdet: log det A = log|det A| + log(sign): nan where the determinant is negative, -inf where
    it is 0, as PyTorch's; the gradient is slogdet's, g A^-T."""
    sign, logabsdet = slogdet(square_matrices("logdet", A))
    with np.errstate(divide="ignore", invalid="ignore"):
        return logabsdet + np.log(sign._data)


def solve_ex(A: Any, B: Any, *, left: bool = True, check_errors: bool = False) -> SolveEx:
    """torch.linalg.solve_ex: (result, info), result `solve`'s X, info (int32, batch shape) 0 where A is
    invertible, else the 1-based index of the zero pivot of its LU factorization (X nan there); with
    `check_errors`, a LinAlgError instead."""
    A = square_matrices("linalg.solve_ex", A)
    info = _zero_pivot(lu_factor_values(A._data)[0])
    info_tensor = _reported("linalg.solve_ex", info, check_errors, _SINGULAR)
    return SolveEx(_where_fine(info, lambda M, N: solve(M, N, left=left), A, B), info_tensor)


_COND_ORDERS = (None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf)


def cond(A: Any, p: Any = None) -> Tensor:
    """torch.linalg.cond: s_1 / s_n, the ratio of the extreme singular values (p None or 2; -2: s_n / s_1), of
    any (..., m, n); for p 'fro', 'nuc', 1, -1, inf, -inf (square A) matrix_norm(A, p) matrix_norm(A^-1, p),
    inf where A is singular (as PyTorch's)."""
    A = real_matrices("linalg.cond", A)
    if (isinstance(p, str) and p not in ("fro", "nuc")) or (not isinstance(p, str) and p not in _COND_ORDERS):
        raise ValueError(f"linalg.cond got an invalid norm type: {p!r}; expected None, 2, -2, 'fro', 'nuc', 1, -1, "
                         "inf or -inf")
    if p in (None, 2, -2):
        S = svdvals(A)
        with np.errstate(divide="ignore", invalid="ignore"):
            return S[..., -1] / S[..., 0] if p == -2 else S[..., 0] / S[..., -1]
    A = square_matrices("linalg.cond", A)
    inverse, info = inv_ex(A)
    value = _matrix_norm("linalg.cond", A, p, (-2, -1), False) * _matrix_norm("linalg.cond", inverse, p, (-2, -1),
                                                                             False)
    return where(info._data != 0, np.array(np.inf, A.dtype), value)


def _cheapest_order(sizes: list[int]) -> list[list[int]]:
    """split[i][j]: where the product of matrices i..j is best split (the matrix-chain dynamic program, as
    PyTorch's multi_dot), matrix i being sizes[i] by sizes[i + 1]."""
    count = len(sizes) - 1
    cost = [[0] * count for _ in range(count)]
    split = [[0] * count for _ in range(count)]
    for length in range(1, count):
        for i in range(count - length):
            j = i + length
            cost[i][j], split[i][j] = min((cost[i][k] + cost[k + 1][j] + sizes[i] * sizes[k + 1] * sizes[j + 1], k)
                                          for k in range(i, j))
    return split


def multi_dot(tensors: Sequence[Any]) -> Tensor:
    """torch.linalg.multi_dot: the product of the matrices in order, the first may be a vector (a row) and
    the last a vector (a column), multiplied in the order of fewest scalar products (`matmul`s)."""
    tensors = [t if isinstance(t, Tensor) else as_tensor(t, where="linalg.multi_dot") for t in tensors]
    if len(tensors) < 2:
        raise ValueError(f"linalg.multi_dot: expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            which = "the first tensor" if i == 0 else "the last tensor" if i == len(tensors) - 1 else f"tensor {i}"
            raise ValueError(f"linalg.multi_dot: {which} must be {' or '.join(f'{d}D' for d in allowed)} but got "
                             f"{t.ndim}D (shape {t.shape})")
    first, last = tensors[0], tensors[-1]
    matrices = [first.reshape((1, first.shape[0])) if first.ndim == 1 else first, *tensors[1:-1],
                last.reshape((last.shape[0], 1)) if last.ndim == 1 else last]
    for i in range(len(matrices) - 1):
        if matrices[i].shape[1] != matrices[i + 1].shape[0]:
            raise ValueError(f"linalg.multi_dot: tensors {i} and {i + 1} with shapes {tensors[i].shape} and "
                             f"{tensors[i + 1].shape} cannot be multiplied")
    split = _cheapest_order([m.shape[0] for m in matrices] + [matrices[-1].shape[1]])

    def product(i: int, j: int) -> Tensor:
        return matrices[i] if i == j else matmul(product(i, split[i][j]), product(split[i][j] + 1, j))

    out = product(0, len(matrices) - 1)
    return out.reshape(tuple(n for n, vector in zip(out.shape, (first.ndim == 1, last.ndim == 1)) if not vector))


def _operands(input: Any, other: Any, where: str) -> tuple[Tensor, Tensor]:
    a = input if isinstance(input, Tensor) else as_tensor(input, other if isinstance(other, Tensor) else None, where)
    return a, other if isinstance(other, Tensor) else as_tensor(other, a, where)


def _cross(where: str, a: Tensor, b: Tensor, dim: int) -> Tensor:
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{where}: the shapes {a.shape} and {b.shape} do not broadcast") from None
    after = _axis(where, dim, len(shape)) - len(shape)         # the axis, counted from the end
    if any(t.ndim < -after or t.shape[after] != 3 for t in (a, b)):
        raise ValueError(f"{where}: inputs dimension {dim} must have length 3. Got shapes {a.shape} and {b.shape}")

    def turned(t: Tensor, order: tuple) -> Tensor:
        return getitem(t, (Ellipsis, np.array(order)) + (slice(None),) * (-after - 1))

    return turned(a, (1, 2, 0)) * turned(b, (2, 0, 1)) - turned(a, (2, 0, 1)) * turned(b, (1, 2, 0))


def cross(input: Any, other: Any, *, dim: int = -1) -> Tensor:
    """torch.linalg.cross: the cross product of 3-vectors along `dim`, batch axes broadcast:
    (a_2 b_3 - a_3 b_2, a_3 b_1 - a_1 b_3, a_1 b_2 - a_2 b_1)."""
    return _cross("linalg.cross", *_operands(input, other, "linalg.cross"), dim)


def torch_cross(input: Any, other: Any, dim: int | None = None) -> Tensor:
    """torch.cross: linalg.cross along `dim`; without one, PyTorch's deprecated rule: the first axis of
    size 3 (with PyTorch's warning)."""
    a, b = _operands(input, other, "cross")
    if dim is None:
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"cross: the shapes {a.shape} and {b.shape} do not broadcast") from None
        if 3 not in shape:
            raise ValueError(f"cross: no dimension of size 3 in input (shapes {a.shape} and {b.shape})")
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated. Please either pass the dim "
                      "explicitly or simply use torch.linalg.cross. The default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
        dim = shape.index(3)
    return _cross("cross", a, b, dim)


def vecdot(x: Any, y: Any, *, dim: int = -1) -> Tensor:
    """torch.linalg.vecdot: sum_i x_i y_i along `dim`, batch axes broadcast."""
    a, b = _operands(x, y, "linalg.vecdot")
    try:
        ndim = len(np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise ValueError(f"linalg.vecdot: the shapes {a.shape} and {b.shape} do not broadcast") from None
    return sum(a * b, axis=_axis("linalg.vecdot", dim, ndim) - ndim)


def inner(input: Any, other: Any) -> Tensor:
    """torch.inner: sum over the last axes of both, a.shape[:-1] + b.shape[:-1] (a product with a 0-d one)."""
    a, b = _operands(input, other, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: the last dimension must match on both input tensors but got shapes {a.shape} "
                         f"and {b.shape}")
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def chain_matmul(*matrices: Any) -> Tensor:
    """torch.chain_matmul (deprecated in PyTorch for linalg.multi_dot): the product of 2-d matrices."""
    matrices = [m if isinstance(m, Tensor) else as_tensor(m, where="chain_matmul") for m in matrices]
    if not matrices or any(m.ndim != 2 for m in matrices):
        raise ValueError(f"chain_matmul: expected one or more 2-d matrices, got shapes {[m.shape for m in matrices]}")
    return matrices[0].clone() if len(matrices) == 1 else multi_dot(matrices)


def diagonal(A: Any, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """torch.linalg.diagonal: torch.diagonal with the last two axes as the default matrix axes."""
    return _diagonal(A, offset, dim1, dim2)


def vander(x: Any, *, N: int | None = None) -> Tensor:
    """torch.linalg.vander: (..., n, N) with column j x^j (1, x, x^2, ...: increasing, unlike torch.vander),
    N = x.shape[-1] by default; as PyTorch builds it, the cumulative product of x, then a column of ones."""
    x = x if isinstance(x, Tensor) else as_tensor(x, where="linalg.vander")
    x = x.reshape((1,)) if x.ndim == 0 else x
    N = x.shape[-1] if N is None else N
    if not (is_int(N) and N > 1):
        raise ValueError(f"linalg.vander: N must be greater than 1, got {N!r}")
    if x.dtype.kind in "biu":
        x = x.to(np.int64)
    powers = cumprod(x.reshape(x.shape + (1,)).expand(*x.shape, N - 1), -1)
    return concat([owned(np.ones(x.shape + (1,), x.dtype)), powers], -1)


def tensorinv(A: Any, ind: int = 2) -> Tensor:
    """torch.linalg.tensorinv: the inverse of A's first `ind` axes merged against the rest (a square
    matrix), shaped A.shape[ind:] + A.shape[:ind]."""
    A = A if isinstance(A, Tensor) else as_tensor(A, where="linalg.tensorinv")
    if not (is_int(ind) and ind > 0):
        raise ValueError(f"linalg.tensorinv: Expected a strictly positive integer for 'ind', but got {ind!r}")
    rows, columns = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != columns:
        raise ValueError(f"linalg.tensorinv: Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                         f"prod(self.shape[:ind]), but got {columns} != {rows} (shape {A.shape}, ind={ind})")
    return inv(A.reshape((rows, columns))).reshape(A.shape[ind:] + A.shape[:ind])


def tensorsolve(A: Any, B: Any, dims: Any = None) -> Tensor:
    """torch.linalg.tensorsolve: X with tensordot(A, X, X.ndim) = B, X of shape A.shape[B.ndim:] (after the
    axes `dims` of A are moved to the end): solve of A merged into a square matrix."""
    A = A if isinstance(A, Tensor) else as_tensor(A, where="linalg.tensorsolve")
    B = B if isinstance(B, Tensor) else as_tensor(B, A, "linalg.tensorsolve")
    if dims is not None:
        dims = [dims] if is_int(dims) else list(dims)
        A = A.movedim(dims, list(range(A.ndim - len(dims), A.ndim)))
    shape = A.shape[B.ndim:]
    rows, columns = math.prod(A.shape[:B.ndim]), math.prod(shape)
    if B.ndim > A.ndim or rows != columns or B.numel() != rows:
        raise ValueError(f"linalg.tensorsolve: Expected self to satisfy the requirement prod(self.shape[other.ndim:]) "
                         f"== prod(self.shape[:other.ndim]), but got shapes {A.shape} and {B.shape}")
    return solve_matrices(A.reshape((rows, rows)), B.reshape((rows, 1))).reshape(shape)


def _cholesky(input: Any, upper: bool = False) -> Tensor:
    """torch.cholesky (deprecated in PyTorch for linalg.cholesky): `upper` may be passed by position."""
    return cholesky(input, upper=upper)


class TorchSVD(NamedTuple):
    """torch.svd's triple: input = U diag(S) Vᵀ (V itself, where linalg.svd gives Vh = Vᵀ)."""

    U: Tensor
    S: Tensor
    V: Tensor


def torch_svd(input: Any, some: bool = True, compute_uv: bool = True) -> TorchSVD:
    """torch.svd (deprecated in PyTorch for linalg.svd): `U, S, Vh = linalg.svd(input, full_matrices=not
    some)`, V = Vhᵀ, so U (..., m, k) and V (..., n, k), k = min(m, n), with `some` (the default), else
    (..., m, m) and (..., n, n). Without `compute_uv`, S is linalg.svdvals(input) and U, V are zeros of shape
    (..., m, m) and (..., n, n), as PyTorch's (`some` then changes nothing). The pytorch-esn readout's
    `U, s, V = torch.svd(X)`."""
    A = real_matrices("svd", input)
    if not compute_uv:
        m, n = A.shape[-2:]
        return TorchSVD(owned(np.zeros(A.shape[:-2] + (m, m), A.dtype)), svdvals(A),
                        owned(np.zeros(A.shape[:-2] + (n, n), A.dtype)))
    U, S, Vh = svd(A, full_matrices=not some)
    return TorchSVD(U, S, Vh.transpose(-2, -1))


# PyTorch's top-level spellings (`torch.inverse`, `t.det()`, ...), made mg.* in the package's __init__
inverse = inv
Tensor.inverse, Tensor.det, Tensor.logdet, Tensor.slogdet = inv, det, logdet, slogdet
Tensor.matrix_exp, Tensor.cholesky, Tensor.matrix_power = matrix_exp, _cholesky, matrix_power
Tensor.pinverse, Tensor.cholesky_solve, Tensor.triangular_solve = pinverse, cholesky_solve, triangular_solve
Tensor.cholesky_inverse, Tensor.svd = cholesky_inverse, torch_svd
Tensor.inner, Tensor.cross, Tensor.lu, Tensor.lu_solve = inner, torch_cross, torch_lu, torch_lu_solve
