"""PyTorch's `torch.linalg`: norms, and the differentiable matrix functions and decompositions that
matrix calculus, Gaussian log-likelihoods, whitening and orthogonal RNNs (expRNN's Cayley map) call.

The primitives, each with its rules beside it, live in `ops/matrix_functions.py` (inv, solve, det,
slogdet, matrix_exp, cholesky) and `ops/decompositions.py` (eigh, eigvalsh, svd, svdvals, qr). Written
here with them and the other primitives, so their gradients come from the chain rule:

    vector_norm, norm      mg.norm's p-norms over `dim` (ord 2, 1, inf)
    matrix_norm            "fro": sqrt(sum A_ij^2);  "nuc": sum of singular values;  2 (-2): the largest
                           (smallest) singular value;  1 (-1): the largest (smallest) column sum of |A_ij|;
                           inf (-inf): the largest (smallest) row sum
    matrix_power(A, n)     A A ... A (n factors) by repeated squaring; n < 0: inv(A)^-n; n = 0: I
    solve(A, B, left)      A X = B (left) or X A = B, B a matrix or (PyTorch's rule) a vector per matrix
    logdet(A)              log det A = logabsdet + log(sign): nan for a negative determinant, as PyTorch's
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .checks import is_axis, is_int
from .ops.decompositions import QR, SVD, Eigh, eigh, eigvalsh, qr, svd, svdvals
from .ops.elementwise import abs, neg, where
from .ops.linalg import matmul
from .ops.matrix_functions import (LinAlgError, SignLogAbsDet, cholesky, det, inv, matrix_exp, slogdet,
                                   solve_matrices, square_matrices)
from .ops.reduce import max, norm as _p_norm, sum
from .tensor import Tensor, as_tensor

__all__ = ["Eigh", "LinAlgError", "QR", "SVD", "SignLogAbsDet", "cholesky", "det", "eigh", "eigvalsh", "inv",
           "logdet", "matrix_exp", "matrix_norm", "matrix_power", "norm", "qr", "slogdet", "solve", "svd",
           "svdvals", "vector_norm"]

_VECTOR_ORDERS = {2: 2, 1: 1, math.inf: math.inf}
_MATRIX_ORDERS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


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
    dim None), or a matrix norm over a pair of axes (`dim` a 2-tuple, or a 2-d A without `dim`):
    `matrix_norm`, ord None meaning 'fro'."""
    if isinstance(dim, (tuple, list)) and len(dim) not in (1, 2):
        raise ValueError(f"linalg.norm: dim must be an int or a tuple of 1 or 2 axes (a vector or a matrix norm), "
                         f"got {dim!r}, as PyTorch's; vector_norm takes any number of axes")
    A = as_tensor(A)
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
    A = as_tensor(A)
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
    B = B if isinstance(B, Tensor) else as_tensor(B, A)
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


def _cholesky(input: Any, upper: bool = False) -> Tensor:
    """torch.cholesky (deprecated in PyTorch for linalg.cholesky): `upper` may be passed by position."""
    return cholesky(input, upper=upper)


# PyTorch's top-level spellings (`torch.inverse`, `t.det()`, ...), made mg.* in the package's __init__
inverse = inv
Tensor.inverse, Tensor.det, Tensor.logdet, Tensor.slogdet = inv, det, logdet, slogdet
Tensor.matrix_exp, Tensor.cholesky, Tensor.matrix_power = matrix_exp, _cholesky, matrix_power
