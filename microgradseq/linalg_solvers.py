"""torch.linalg's least squares, LU factorizations, triangular and Cholesky solves and the `_ex` variants (an
info tensor instead of an error), with PyTorch's deprecated top-level spellings (torch.triangular_solve,
torch.lu, torch.lu_solve, torch.lu_unpack, torch.cholesky_solve, torch.pinverse).

Written with the primitives of `ops/solvers.py` (solve_triangular, lu, pinv) and `ops/matrix_functions.py`,
so their gradients come from the chain rule and are PyTorch's:

    lu_factor(A)          LU = tril(L, -1) + U, the pivots LAPACK's (int32, 1-based)
    lu_solve(LU, p, B)    X = U^-1 L^-1 P^T B by two triangular solves (gradients to LU and B)
    lstsq(A, B)           X = A^+ B, the least-squares solution of least norm (gradient through X only)
    cholesky_solve(B, L)  X = (L L^T)^-1 B; gL = -(G X^T + X G^T) L on every entry, G = (L L^T)^-1 gX
                          (PyTorch's cholesky_solve_backward), though only L's triangle is read
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .ops.elementwise import where
from .ops.linalg import matmul
from .ops.matrix_functions import LinAlgError, cholesky, inv, real_matrices, solve_matrices, square_matrices
from .ops.solvers import (lu as lu_factors, lu_factor_values, lu_with_pivots, permutation, pinv,
                          singular_value_tolerances, solve_triangular)
from .ops.decompositions import svdvals
from .ops.shape import concat
from .tensor import Tensor, array_of, as_tensor, owned

__all__ = ["CholeskyEx", "InvEx", "LU", "LUFactor", "Lstsq", "SolveEx", "TriangularSolve", "cholesky_ex",
           "cholesky_inverse", "cholesky_solve", "inv_ex", "lstsq", "lu", "lu_factor", "lu_solve", "lu_unpack",
           "matrix_rank", "pinv", "pinverse", "solve_triangular", "torch_lu", "torch_lu_solve", "triangular_solve"]


class LU(NamedTuple):
    """torch.linalg.lu's (and torch.lu_unpack's) triple: A = P L U."""

    P: Tensor
    L: Tensor
    U: Tensor


class LUFactor(NamedTuple):
    """torch.linalg.lu_factor's pair: L's strict lower part and U in one matrix, and LAPACK's pivots."""

    LU: Tensor
    pivots: Tensor


class Lstsq(NamedTuple):
    """torch.linalg.lstsq's four: the solution and what the driver computes (else empty tensors)."""

    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


class CholeskyEx(NamedTuple):
    """torch.linalg.cholesky_ex's pair."""

    L: Tensor
    info: Tensor


class InvEx(NamedTuple):
    """torch.linalg.inv_ex's pair."""

    inverse: Tensor
    info: Tensor


class SolveEx(NamedTuple):
    """torch.linalg.solve_ex's pair."""

    result: Tensor
    info: Tensor


class TriangularSolve(NamedTuple):
    """torch.triangular_solve's pair: the solution and a copy of A."""

    solution: Tensor
    cloned_coefficient: Tensor


# ---- LU --------------------------------------------------------------------------------------------------

def lu(A: Any, *, pivot: bool = True) -> LU:
    """torch.linalg.lu: the named triple (P, L, U), A = P L U (the rules: ops/solvers.py)."""
    return LU(*lu_factors(A, pivot=pivot))


def lu_factor(A: Any, *, pivot: bool = True) -> LUFactor:
    """torch.linalg.lu_factor: (LU, pivots), LU holding L's strict lower part and U (A = P L U), pivots
    LAPACK's (int32, 1-based: row j was swapped with row pivots[j] - 1). Differentiable through LU."""
    A = real_matrices("linalg.lu_factor", A)
    P, L, U, pivots = lu_with_pivots(A, pivot)
    m, n = A.shape[-2:]
    k = min(m, n)
    if m >= n:
        packed = concat([L[..., :k, :].tril(-1) + U, L[..., k:, :]], -2)
    else:
        packed = concat([U[..., :, :k] + L.tril(-1), U[..., :, k:]], -1)
    return LUFactor(packed, owned(pivots))


def _order(where: str, pivots: Any, m: int) -> np.ndarray:
    """The rows of A in the order of L U, from LAPACK's pivots (row j swapped with row pivots[j] - 1)."""
    pivots = array_of(pivots)
    if pivots.dtype.kind not in "iu" or pivots.ndim < 1 or pivots.shape[-1] > m or (
            pivots.size and (pivots.min() < 1 or pivots.max() > m)):
        raise ValueError(f"{where}: pivots must be integers from 1 to {m} over the last axis, got shape "
                         f"{pivots.shape} and dtype {pivots.dtype}")
    order = np.tile(np.arange(m), pivots.shape[:-1] + (1,))
    for j in range(pivots.shape[-1]):
        swap = pivots[..., j:j + 1] - 1
        here = order[..., j:j + 1].copy()
        order[..., j:j + 1] = np.take_along_axis(order, swap, -1)
        np.put_along_axis(order, swap, here, -1)
    return order


def lu_solve(LU: Any, pivots: Any, B: Any, *, left: bool = True, adjoint: bool = False) -> Tensor:
    """torch.linalg.lu_solve: X with A X = B (A^T X = B with `adjoint`; X A = B, X A^T = B when not `left`)
    from A's LU factorization (`lu_factor`'s), by two triangular solves: gradients to LU and B."""
    LU = square_matrices("linalg.lu_solve", LU)
    B = B if isinstance(B, Tensor) else as_tensor(B, LU, "linalg.lu_solve")
    if not left:
        return lu_solve(LU, pivots, B.transpose(-2, -1), adjoint=not adjoint).transpose(-2, -1)
    P = owned(permutation(_order("linalg.lu_solve", pivots, LU.shape[-1]), LU.dtype))
    if adjoint:         # A^T = U^T L^T P^T:  X = P L^-T U^-T B
        Y = solve_triangular(LU.transpose(-2, -1), B, upper=False)
        return matmul(P, solve_triangular(LU.transpose(-2, -1), Y, upper=True, unitriangular=True))
    Y = solve_triangular(LU, matmul(P.transpose(-2, -1), B), upper=False, unitriangular=True)
    return solve_triangular(LU, Y, upper=True)


def lu_unpack(LU_data: Any, LU_pivots: Any, unpack_data: bool = True, unpack_pivots: bool = True) -> LU:
    """torch.lu_unpack: (P, L, U) from lu_factor's pair; L and U differentiable in LU_data (its strict lower
    part and its upper triangle); an output not unpacked is an empty tensor, as PyTorch's."""
    LU_data = real_matrices("lu_unpack", LU_data)
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    empty = owned(np.zeros((0,), LU_data.dtype))
    P = owned(permutation(_order("lu_unpack", LU_pivots, m), LU_data.dtype)) if unpack_pivots else empty
    if not unpack_data:
        return LU(P, empty, empty)
    L = LU_data[..., :, :k].tril(-1) + np.eye(m, k, dtype=LU_data.dtype)
    return LU(P, L, LU_data[..., :k, :].triu())


def torch_lu(A: Any, pivot: bool = True, get_infos: bool = False) -> tuple:
    """torch.lu (deprecated in PyTorch for linalg.lu_factor): (LU, pivots), and the infos (int32, 0 where
    the factorization succeeded, else the 1-based index of U's first zero diagonal entry) with `get_infos`."""
    LU_data, pivots = lu_factor(A, pivot=pivot)
    return (LU_data, pivots, owned(_zero_pivot(LU_data._data))) if get_infos else (LU_data, pivots)


def torch_lu_solve(b: Any, LU_data: Any, LU_pivots: Any) -> Tensor:
    """torch.lu_solve (deprecated for linalg.lu_solve, whose argument order differs): X with A X = b."""
    return lu_solve(LU_data, LU_pivots, b)


def _zero_pivot(LU: np.ndarray) -> np.ndarray:
    """LAPACK getrf's info: the 1-based index of U's first zero diagonal entry, 0 where there is none."""
    zero = np.diagonal(LU, axis1=-2, axis2=-1) == 0
    return np.where(zero.any(axis=-1), zero.argmax(axis=-1) + 1, 0).astype(np.int32)


# ---- the _ex variants: an info tensor instead of an error --------------------------------------------------

def _reported(where: str, info: np.ndarray, check_errors: bool, problem: str) -> Tensor:
    """info as a tensor; with `check_errors` a LinAlgError for its first nonzero entry, as PyTorch's."""
    if check_errors and info.any():
        first = np.argwhere(info)[0]
        batch = f"(Batch element {int(np.ravel_multi_index(first, info.shape))}): " if info.ndim else ""
        raise LinAlgError(f"{where}: {batch}{problem.format(int(info[tuple(first)]))}")
    return owned(info)


def _where_fine(info: np.ndarray, compute: Any, A: Tensor, B: Any = None) -> Tensor:
    """compute(A) (or compute(A, B)) where info is 0 and nan elsewhere: the failed matrices replaced by the
    identity before the call (no error; no gradient reaches them), their results by nan after it."""
    failed = info[..., None, None] != 0
    if not failed.any():
        return compute(A) if B is None else compute(A, B)
    safe = where(failed, np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape), A)
    value = compute(safe) if B is None else compute(safe, B)
    return where(failed, np.array(np.nan, value.dtype), value)


def _cholesky_info(A: np.ndarray) -> np.ndarray:
    """LAPACK potrf's info: the order of the first leading minor (read from the lower triangle) that is
    not positive-definite, 0 where A is."""
    info = np.zeros(A.shape[:-2], np.int32)
    for index in np.ndindex(A.shape[:-2]):
        for order in range(1, A.shape[-1] + 1):
            try:
                np.linalg.cholesky(A[index][:order, :order])
            except np.linalg.LinAlgError:
                info[index] = order
                break
    return info


def cholesky_ex(A: Any, *, upper: bool = False, check_errors: bool = False) -> CholeskyEx:
    """torch.linalg.cholesky_ex: (L, info), info (int32, batch shape) 0 where A is positive-definite, else the
    order of its first leading minor that is not; L is nan there (PyTorch's holds LAPACK's partial result).
    With `check_errors`, a LinAlgError instead, as linalg.cholesky."""
    A = square_matrices("linalg.cholesky_ex", A)
    try:
        np.linalg.cholesky(A._data)
        info = np.zeros(A.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        info = _cholesky_info(A._data)
    info_tensor = _reported("linalg.cholesky_ex", info, check_errors,
                            "The factorization could not be completed because the input is not positive-definite "
                            "(the leading minor of order {} is not positive-definite).")
    return CholeskyEx(_where_fine(info, lambda M: cholesky(M, upper=upper), A), info_tensor)


_SINGULAR = ("The diagonal element {} is zero, the inversion could not be completed because the input matrix is "
             "singular.")


def inv_ex(A: Any, *, check_errors: bool = False) -> InvEx:
    """torch.linalg.inv_ex: (inverse, info), info (int32, batch shape) 0 where A is invertible, else the
    1-based index of the zero pivot of its LU factorization; the inverse is nan there (PyTorch's holds
    what LAPACK left). With `check_errors`, a LinAlgError instead."""
    A = square_matrices("linalg.inv_ex", A)
    info = _zero_pivot(lu_factor_values(A._data)[0])
    info_tensor = _reported("linalg.inv_ex", info, check_errors, _SINGULAR)
    return InvEx(_where_fine(info, inv, A), info_tensor)


# ---- least squares, rank, the pseudo-inverse ---------------------------------------------------------------

_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Any, B: Any, rcond: float | None = None, *, driver: str | None = None) -> Lstsq:
    """torch.linalg.lstsq: X minimizing ||A X - B||_F (of least norm), B (..., m, k) or (..., m), as
    A^+ B with singular values at or below rcond s_1 dropped (rcond: eps max(m, n) by default). With
    PyTorch's CPU default driver 'gelsy': residuals ||A X - B||^2 per column (..., k) when m > n and every
    A has rank n (else empty), rank (int64, batch shape), singular_values empty; 'gelsd' and 'gelss'
    also give the singular values, 'gels' neither rank nor them. Only the solution is differentiable."""
    A = real_matrices("linalg.lstsq", A)
    B = B if isinstance(B, Tensor) else as_tensor(B, A, "linalg.lstsq")
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise ValueError(f"linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), "
                         f"got {driver!r}")
    if B.dtype.kind != "f" or not 0 <= A.ndim - B.ndim <= 1:
        raise ValueError(f"linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                         f"(input.dim() - other.dim()) <= 1, with a real floating-point B; got shapes {A.shape} "
                         f"and {B.shape}")
    vector = B.ndim == A.ndim - 1
    matrices = B.reshape(B.shape + (1,)) if vector else B
    m, n = A.shape[-2:]
    if matrices.shape[-2] != m:
        raise ValueError(f"linalg.lstsq: input.size(-2) should match other.size(-2), got shapes {A.shape} and "
                         f"{B.shape}")
    rtol = np.finfo(A.dtype).eps * max(m, n) if rcond is None or rcond < 0 else rcond
    X = matmul(pinv(A, rtol=rtol), matrices)
    empty = owned(np.zeros((0,), A.dtype))
    rank = empty if driver == "gels" else owned(_rank(A._data, None, rtol, False))
    full_rank = driver == "gels" or bool(np.all(rank._data == n))
    residuals = empty
    if m > n and full_rank:
        residuals = owned(((A._data @ X._data - matrices._data) ** 2).sum(axis=-2))
    singular_values = svdvals(A).detach() if driver in ("gelsd", "gelss") else empty
    return Lstsq(X.reshape(X.shape[:-1]) if vector else X, residuals, rank, singular_values)


def _rank(A: np.ndarray, atol: Any, rtol: Any, hermitian: bool) -> np.ndarray:
    """The number of singular values (|eigenvalues| when `hermitian`) above max(atol, rtol s_1), int64."""
    if A.shape[-1] == 0 or A.shape[-2] == 0:
        return np.zeros(A.shape[:-2], np.int64)
    values = np.abs(np.linalg.eigvalsh(A)) if hermitian else np.linalg.svd(A, compute_uv=False)
    atol, rtol = singular_value_tolerances(A, atol, rtol)
    threshold = np.maximum(np.asarray(atol, A.dtype), np.asarray(rtol, A.dtype) * values.max(axis=-1))
    return (values > threshold[..., None]).sum(axis=-1).astype(np.int64)


def matrix_rank(A: Any, tol: Any = None, hermitian: bool = False, *, atol: Any = None, rtol: Any = None) -> Tensor:
    """torch.linalg.matrix_rank: the number of singular values above max(atol, rtol s_1) (int64, batch
    shape), rtol eps max(m, n) when both are None, 0 where atol > 0 when only atol is given; `tol` (PyTorch's older
    overload) is atol with rtol 0. With `hermitian`, |eigenvalues| of the symmetric A instead."""
    A = real_matrices("linalg.matrix_rank", A)
    if tol is not None:
        atol, rtol = tol, 0.0
    atol, rtol = (t._data if isinstance(t, Tensor) else t for t in (atol, rtol))
    return owned(_rank(A._data, atol, rtol, bool(hermitian)))


def pinverse(input: Any, rcond: float = 1e-15) -> Tensor:
    """torch.pinverse: linalg.pinv with rtol = rcond."""
    return pinv(input, rtol=rcond)


# ---- triangular and Cholesky solves ----------------------------------------------------------------------

def triangular_solve(b: Any, A: Any, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False) -> TriangularSolve:
    """torch.triangular_solve (deprecated in PyTorch for linalg.solve_triangular; note the order b, A): X
    with A X = b (A^T X = b with `transpose`), and a copy of A: (solution, cloned_coefficient)."""
    A = real_matrices("triangular_solve", A)
    system = A.transpose(-2, -1) if transpose else A
    solution = solve_triangular(system, b, upper=bool(upper) != bool(transpose), unitriangular=unitriangular)
    return TriangularSolve(solution, A.clone())


def cholesky_solve(B: Any, L: Any, upper: bool = False) -> Tensor:
    """torch.cholesky_solve: X with A X = B for A = L L^T (U^T U with `upper`), L its Cholesky factor: only
    L's lower (upper) triangle is read, but its gradient is PyTorch's on every entry (the module's docstring)."""
    L = square_matrices("cholesky_solve", L)
    triangle = L.triu() if upper else L.tril()
    factor = L + (triangle - L).detach()     # the triangle's values; the gradient of every entry
    A = matmul(factor.transpose(-2, -1), factor) if upper else matmul(factor, factor.transpose(-2, -1))
    B = B if isinstance(B, Tensor) else as_tensor(B, L, "cholesky_solve")
    if B.ndim < 2 or B.shape[-2] != L.shape[-1]:
        raise ValueError(f"cholesky_solve: B must be matrices (..., {L.shape[-1]}, k) to go with L of shape "
                         f"{L.shape}, got shape {B.shape}")
    return solve_matrices(A, B)


def cholesky_inverse(L: Any, upper: bool = False) -> Tensor:
    """torch.cholesky_inverse: (L L^T)^-1 (U^T U with `upper`) from the Cholesky factor, `cholesky_solve` of
    the identity, so its gradient is PyTorch's cholesky_inverse_backward, -(A^-1 (G + G^T) A^-1) L on every
    entry (only L's triangle is read). Batched over leading axes."""
    L = square_matrices("cholesky_inverse", L)
    identity = owned(np.broadcast_to(np.eye(L.shape[-1], dtype=L.dtype), L.shape).copy())
    return cholesky_solve(identity, L, upper=upper)
