"""Triangular solves, the LU factorization and the pseudo-inverse, as torch.linalg's: each a primitive whose
values come from numpy and whose rules are PyTorch's (torch/csrc/autograd/FunctionsManual.cpp:
linalg_solve_triangular_forward_AD and linalg_solve_triangular_backward, linalg_lu_jvp and linalg_lu_backward,
pinv_jvp and pinv_backward), batched over leading axes, g = dL/dY, tri(.) the triangle A is read from:

    solve_triangular  X = A^-1 B      dX = A^-1 (dB - tri(dA) X)          gB = A^-T g,   gA = tri(-gB X^T)
    lu                A = P L U       dK = L^-1 P^T dA U^-1,  dL = L tril(dK, -1),  dU = triu(dK) U
                                      gA = P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T      (square A)
    pinv              Y = A^+         dY = -Y dA Y + (I - Y A) dA^T Y^T Y + Y Y^T dA^T (I - A Y)

(left=False solves X A = B, its rules the same with the products turned round; a wide or tall A's LU
carries the extra block of U or L through, as in _lu_grad.) P is a constant: a permutation has no
derivative. pinv's derivative exists where A's rank does not change (PyTorch's too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Rules, Tensor, as_tensor, owned, result
from .matrix_functions import lapack, mT, real_matrices, right_solve


# ---- triangular solves ---------------------------------------------------------------------------------

def _triangle(A: np.ndarray, upper: bool, unitriangular: bool) -> np.ndarray:
    """The part of A a triangular solve reads: its upper (lower) triangle, with 1 on the diagonal when
    `unitriangular` (the diagonal then is not read: its derivative is 0)."""
    if upper:
        return np.triu(A, int(unitriangular))
    return np.tril(A, -int(unitriangular))


def _with_unit_diagonal(T: np.ndarray, unitriangular: bool) -> np.ndarray:
    return T + np.eye(T.shape[-1], dtype=T.dtype) if unitriangular else T


def _solve(T: np.ndarray, B: np.ndarray, left: bool) -> np.ndarray:
    """T^-1 B (left) or B T^-1."""
    return np.linalg.solve(T, B) if left else right_solve(B, T)


def solve_triangular(A: Any, B: Any, *, upper: bool, left: bool = True, unitriangular: bool = False) -> Tensor:
    """torch.linalg.solve_triangular: X with A X = B (X A = B when not `left`) for A triangular, read from
    its upper (`upper`) or lower triangle, its diagonal taken as 1 with `unitriangular`; batch axes
    broadcast;   dX = A^-1 (dB - tri(dA) X),   gB = A^-T g,   gA = tri(-gB X^T)"""
    A = real_matrices("linalg.solve_triangular", A)
    B = B if isinstance(B, Tensor) else as_tensor(B, A, "linalg.solve_triangular")
    if B.dtype.kind != "f" or B.ndim < 2:
        raise ValueError(f"linalg.solve_triangular: expected B a real floating-point matrix or batch of matrices, "
                         f"got shape {B.shape} and dtype {B.dtype}")
    n = A.shape[-1]
    if A.shape[-2] != n or B.shape[-2 if left else -1] != n:
        raise ValueError(f"linalg.solve_triangular: incompatible shapes of A and B for the equation "
                         f"{'AX' if left else 'XA'} = B ({A.shape} and {B.shape}); A must be square")
    try:
        np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    except ValueError:
        raise ValueError(f"linalg.solve_triangular: the batch shapes of A {A.shape} and B {B.shape} do not "
                         "broadcast") from None
    flags = (bool(upper), bool(left), bool(unitriangular))
    T = _with_unit_diagonal(_triangle(A._data, *flags[::2]), flags[2])
    X = lapack("linalg.solve_triangular", _solve, T, B._data, flags[1],
               problem="the triangular matrix has a zero on its diagonal")
    return result("solve_triangular", X, (A, B), SOLVE_TRIANGULAR, ((T, X, flags), (T, flags)))


def _solve_triangular_grad_of_A(g: np.ndarray, kept: tuple) -> np.ndarray:
    T, X, (upper, left, unitriangular) = kept
    gB = _solve(mT(T), g, left)
    return _triangle(-(gB @ mT(X)) if left else -(mT(X) @ gB), upper, unitriangular)


def _solve_triangular_tangent_of_A(v: np.ndarray, kept: tuple) -> np.ndarray:
    T, X, (upper, left, unitriangular) = kept
    dA = _triangle(v, upper, unitriangular)
    return _solve(T, -(dA @ X) if left else -(X @ dA), left)


#                                A: reverse mode, forward mode                 B
SOLVE_TRIANGULAR = Rules(vjp=(_solve_triangular_grad_of_A, lambda g, kept: _solve(mT(kept[0]), g, kept[1][1])),
                         jvp=(_solve_triangular_tangent_of_A, lambda v, kept: _solve(kept[0], v, kept[1][1])),
                         broadcasts=True)


# ---- LU ------------------------------------------------------------------------------------------------

def lu_factor_values(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(LU, pivots, order) of Gaussian elimination with partial pivoting (LAPACK's getrf, unblocked): at
    step j the row with the largest |entry| in column j (the first such) is swapped into row j; LU holds
    L's strict lower part and U; pivots (int32, 1-based, LAPACK's) the row swapped with row j, order the
    rows of A in the order of L U (A[order] = L U). A zero pivot leaves its column as it is (getrf)."""
    batch, (m, n) = A.shape[:-2], A.shape[-2:]
    LU = np.array(A, dtype=A.dtype).reshape((-1, m, n))
    count, k = LU.shape[0], min(m, n)
    every = np.arange(count)
    order = np.tile(np.arange(m), (count, 1))
    pivots = np.empty((count, k), np.int32)
    for j in range(k):
        p = j + np.argmax(np.abs(LU[:, j:, j]), axis=-1)
        pivots[:, j] = p + 1
        LU[every, j], LU[every, p] = LU[every, p], LU[every, j].copy()
        order[every, j], order[every, p] = order[every, p], order[every, j].copy()
        pivot = LU[:, j, j][:, None]
        np.divide(LU[:, j + 1:, j], pivot, out=LU[:, j + 1:, j], where=pivot != 0)
        LU[:, j + 1:, j + 1:] -= LU[:, j + 1:, j, None] * LU[:, j, None, j + 1:]
    return LU.reshape(A.shape), pivots.reshape(batch + (k,)), order.reshape(batch + (m,))


def permutation(order: np.ndarray, dtype: Any) -> np.ndarray:
    """P with P[order[i], i] = 1: A = P L U when A[order] = L U."""
    m = order.shape[-1]
    return mT(np.eye(m, dtype=dtype)[order])


def lu(A: Any, *, pivot: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """torch.linalg.lu: (P, L, U) with A = P L U, P a permutation matrix (a constant), L (..., m, k) unit
    lower triangular, U (..., k, n) upper triangular, k = min(m, n); see the module's docstring for the rules."""
    P, L, U, _ = lu_with_pivots(A, pivot)
    return P, L, U


def lu_with_pivots(A: Any, pivot: bool) -> tuple[Tensor, Tensor, Tensor, np.ndarray]:
    """`lu`'s (P, L, U) and LAPACK's pivots from the same elimination (`lu_factor` needs both)."""
    A = real_matrices("linalg.lu", A)
    if not pivot:
        raise RuntimeError("linalg.lu: LU without pivoting is not implemented on the CPU (as PyTorch's)")
    LU, pivots, order = lu_factor_values(A._data)
    k = min(A.shape[-2:])
    L = np.tril(LU[..., :, :k], -1) + np.eye(A.shape[-2], k, dtype=A.dtype)
    U = np.triu(LU[..., :k, :])
    P = permutation(order, A.dtype)
    kept = (P, L, U)
    return owned(P), result("lu_l", L, (A,), LU_L, (kept,)), result("lu_u", U, (A,), LU_U, (kept,)), pivots


def _lu_grad(g: np.ndarray, kept: tuple, of_l: bool) -> np.ndarray:
    """gA from gL (of_l) or from gU (PyTorch's linalg_lu_backward, each factor's part on its own):
        m <= n:  gA = P L^-T [tril(M, -1) U_1^-T (+ triu(gU_1) | gU_2)],  M = L^T gL or -triu(gU) U^T
        m > n:   gA = P [L_1^-T triu(M) (+ tril(gL_1, -1)) ; (gL_2)] U^-T,  M = gU U^T or -L^T tril(gL, -1)
    with U_1 (L_1) the first k columns of U (rows of L) and U_2 (L_2) the rest."""
    P, L, U = kept
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    if m <= n:
        M = mT(L) @ g if of_l else -(np.triu(g) @ mT(U))
        inner = right_solve(np.tril(M, -1), mT(U[..., :k]))
        if of_l:
            inner = np.concatenate([inner, np.zeros(inner.shape[:-1] + (n - k,), g.dtype)], axis=-1)
        else:
            inner = np.concatenate([inner + np.triu(g[..., :k]), g[..., k:]], axis=-1)
        return P @ np.linalg.solve(mT(L), inner)
    M = -(mT(L) @ np.tril(g, -1)) if of_l else g @ mT(U)
    inner = np.linalg.solve(mT(L[..., :k, :]), np.triu(M))
    if of_l:
        inner = np.concatenate([inner + np.tril(g[..., :k, :], -1), g[..., k:, :]], axis=-2)
    else:
        inner = np.concatenate([inner, np.zeros(inner.shape[:-2] + (m - k, n), g.dtype)], axis=-2)
    return P @ right_solve(inner, mT(U))


def _lu_tangent(v: np.ndarray, kept: tuple, of_l: bool) -> np.ndarray:
    """dL (of_l) or dU (PyTorch's linalg_lu_jvp): dK = L_1^-1 (P^T dA)_1 U_1^-1, dL_1 = L_1 tril(dK, -1),
    dU_1 = triu(dK) U_1; a wide A's dU_2 = L_1^-1 (P^T dA)_2 - tril(dK, -1) U_2, a tall A's
    dL_2 = (P^T dA)_2 U_1^-1 - L_2 triu(dK)."""
    P, L, U = kept
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    PdA = mT(P) @ v
    L1, U1 = L[..., :k, :], U[..., :, :k]
    dK = right_solve(np.linalg.solve(L1, PdA[..., :k, :k]), U1)
    if of_l:
        dL = L1 @ np.tril(dK, -1)
        if m <= n:
            return dL
        return np.concatenate([dL, right_solve(PdA[..., k:, :], U1) - L[..., k:, :] @ np.triu(dK)], axis=-2)
    dU = np.triu(dK) @ U1
    if m >= n:
        return dU
    return np.concatenate([dU, np.linalg.solve(L1, PdA[..., :k, k:]) - np.tril(dK, -1) @ U[..., k:]], axis=-1)


LU_L = Rules(vjp=(lambda g, kept: _lu_grad(g, kept, True),), jvp=(lambda v, kept: _lu_tangent(v, kept, True),))
LU_U = Rules(vjp=(lambda g, kept: _lu_grad(g, kept, False),), jvp=(lambda v, kept: _lu_tangent(v, kept, False),))


# ---- the pseudo-inverse --------------------------------------------------------------------------------

def singular_value_tolerances(A: np.ndarray, atol: Any, rtol: Any) -> tuple[Any, Any]:
    """(atol, rtol) for the rule s_i > max(atol, rtol s_1), as PyTorch's get_atol_rtol: atol 0 when None;
    rtol eps max(m, n) when None, but 0 for each matrix whose atol > 0 when only atol is given."""
    if rtol is None:
        m, n = A.shape[-2:]
        rtol = np.finfo(A.dtype).eps * max(m, n)
        rtol = rtol if atol is None else np.where(np.asarray(atol) > 0, 0.0, rtol)
    return (0.0 if atol is None else atol), rtol


def pinv_values(A: np.ndarray, atol: Any, rtol: Any, hermitian: bool) -> np.ndarray:
    """A^+ = V diag(1/s_i) U^T over the singular values s_i > max(atol, rtol s_1) (the tolerances of
    `singular_value_tolerances`); from eigh's |eigenvalues| when `hermitian`."""
    atol, rtol = singular_value_tolerances(A, atol, rtol)
    if hermitian:
        S, V = np.linalg.eigh(A)
        U, Vh, magnitude = V, mT(V), np.abs(S)
    else:
        U, S, Vh = np.linalg.svd(A, full_matrices=False)
        magnitude = S
    largest = magnitude.max(axis=-1, keepdims=True) if magnitude.shape[-1] else magnitude
    threshold = np.maximum(np.asarray(atol, A.dtype)[..., None], np.asarray(rtol, A.dtype)[..., None] * largest)
    kept = magnitude > threshold
    inverse = np.divide(1.0, S, out=np.zeros_like(S), where=kept)
    return (mT(Vh) * inverse[..., None, :]) @ mT(U)


def pinv(A: Any, rcond: Any = None, hermitian: bool = False, *, atol: Any = None, rtol: Any = None) -> Tensor:
    """torch.linalg.pinv: the Moore-Penrose pseudo-inverse A^+ (..., n, m), singular values at or below
    max(atol, rtol s_1) dropped (`rcond`, PyTorch's older overload, is rtol);   gA = PyTorch's pinv_backward,
    dY = pinv_jvp (the module's docstring)."""
    A = real_matrices("linalg.pinv", A)
    rtol = rcond if rtol is None else rtol
    atol, rtol = (t._data if isinstance(t, Tensor) else t for t in (atol, rtol))
    Y = pinv_values(A._data, atol, rtol, bool(hermitian))
    return result("pinv", Y, (A,), PINV, ((A._data, Y),))


def _pinv_grad(g: np.ndarray, kept: tuple) -> np.ndarray:
    A, Y = kept
    if A.shape[-2] <= A.shape[-1]:
        K = mT(g) @ Y
        KYt = K @ mT(Y)
        return -mT(Y @ K) + KYt - (A @ Y) @ KYt + (mT(Y) @ Y) @ (mT(g) - K @ A)
    K = Y @ mT(g)
    YtK = mT(Y) @ K
    return -mT(K @ Y) + (mT(g) - A @ K) @ Y @ mT(Y) + YtK - YtK @ Y @ A


def _pinv_tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
    A, Y = kept
    if A.shape[-2] <= A.shape[-1]:
        K = mT(Y) @ mT(v)
        return Y @ (K - mT(K) - K @ (A @ Y)) + (mT(v) - Y @ (A @ mT(v))) @ (mT(Y) @ Y)
    K = Y @ v
    return (mT(K) - K - (Y @ A) @ mT(K)) @ Y + (Y @ mT(Y)) @ (mT(v) - (mT(v) @ A) @ Y)


PINV = Rules(vjp=(_pinv_grad,), jvp=(_pinv_tangent,))
