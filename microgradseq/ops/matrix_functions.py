"""Functions of square matrices, as torch.linalg's: each a primitive whose forward value is numpy's
(`np.linalg`) and whose rules are PyTorch's (torch/csrc/autograd/FunctionsManual.cpp: linalg_det_backward,
slogdet_backward, cholesky_jvp and cholesky_backward, linalg_matrix_exp_differential; the rest from
tools/autograd/derivatives.yaml), all batched over leading axes, g = dL/dY:

    inv         Y = A^-1            dY = -Y dA Y                    gA = -Y^T g Y^T
    solve       X = A^-1 B          dX = A^-1 (dB - dA X)           gB = A^-T g,   gA = -gB X^T
    det         d = det A           dd = tr(C^T dA) = d tr(A^-1 dA)     gA = g C,  C = cof(A) = d A^-T
    slogdet     l = log |det A|     dl = tr(A^-1 dA)                gA = g A^-T     (the sign: a constant)
    matrix_exp  E = exp(A)          dE = exp([[A, dA], [0, A]])_12  gA = exp([[A^T, g], [0, A^T]])_12
    cholesky    A = L L^T           dL = L Phi(L^-1 dA L^-T)        gA = sym(L^-T Phi(L^T g) L^-1)

Phi(X) is X's lower triangle with its diagonal halved and sym(X) = (X + X^T) / 2: cholesky reads A as
symmetric, so its gradient is a symmetric matrix, as PyTorch's. The cofactor matrix C comes from the SVD
A = U S V^T, C = det(U) det(V) U diag(prod_{j != i} s_j) V^T (PyTorch's formula for a singular A), so
det's gradient is exact at a singular A too. slogdet's is undefined there (PyTorch's too).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..tensor import Rules, Tensor, as_tensor, result

_TAYLOR_DEGREE = 16


class LinAlgError(RuntimeError):
    """A matrix the function cannot take (singular, not positive-definite), as torch.linalg.LinAlgError."""


def mT(a: np.ndarray) -> np.ndarray:
    """a with its last two axes swapped: the transposes of a batch of matrices."""
    return np.swapaxes(a, -1, -2)


def real_matrices(where: str, A: Any) -> Tensor:
    """A as a tensor of real floating-point matrices (..., m, n), else an error naming the function."""
    A = A if isinstance(A, Tensor) else as_tensor(A, where=where)
    if A.dtype.kind != "f":
        raise TypeError(f"{where}: expected a real floating-point tensor, got dtype {A.dtype}")
    if A.ndim < 2:
        raise ValueError(f"{where}: expected a matrix or a batch of matrices (..., m, n), got shape {A.shape}")
    return A


def square_matrices(where: str, A: Any) -> Tensor:
    """A as a tensor of real floating-point square matrices (..., n, n), else TypeError or ValueError naming
    the function, with what came."""
    A = A if isinstance(A, Tensor) else as_tensor(A, where=where)
    if A.dtype.kind != "f":
        raise TypeError(f"{where}: expected a real floating-point tensor, got dtype {A.dtype}")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        got = f"{A.shape[-2]} by {A.shape[-1]} matrices" if A.ndim >= 2 else f"a tensor of {A.ndim} axes"
        raise ValueError(f"{where}: A must be batches of square matrices (..., n, n), but they are {got} "
                         f"(shape {A.shape})")
    return A


def lapack(where: str, compute: Any, *arrays: np.ndarray, problem: str = "the input matrix is singular") -> Any:
    """compute(*arrays) by numpy's LAPACK routines, their LinAlgError turned into ours naming `where`."""
    try:
        return compute(*arrays)
    except np.linalg.LinAlgError as error:
        raise LinAlgError(f"{where}: {problem} (numpy: {error})") from None


# ---- inverse and solve ---------------------------------------------------------------------------------

def inv(A: Any) -> Tensor:
    """torch.linalg.inv: A^-1;   d(A^-1) = -A^-1 dA A^-1,   gA = -A^-T g A^-T"""
    A = square_matrices("linalg.inv", A)
    Y = lapack("linalg.inv", np.linalg.inv, A._data)
    return result("inv", Y, (A,), INV, (Y,))


INV = Rules(vjp=(lambda g, Y: -(mT(Y) @ g @ mT(Y)),), jvp=(lambda v, Y: -(Y @ v @ Y),))


def solve_matrices(A: Tensor, B: Tensor) -> Tensor:
    """X = A^-1 B for B (..., n, k), batch axes broadcast;   dX = A^-1 (dB - dA X),   gB = A^-T g, gA = -gB X^T
    (derivatives.yaml's _linalg_solve_ex row; the formulas of FunctionsManual.cpp's note "Forward / Backward
    AD solve_triangular", written there for any solver)."""
    X = lapack("linalg.solve", np.linalg.solve, A._data, B._data)
    return result("solve", X, (A, B), SOLVE, ((A._data, X), A._data))


def _solve_grad_of_A(g: np.ndarray, kept: tuple) -> np.ndarray:
    A, X = kept
    return -(np.linalg.solve(mT(A), g) @ mT(X))


#                    A: reverse mode, forward mode (J v)                       B
SOLVE = Rules(vjp=(_solve_grad_of_A,                                   lambda g, A: np.linalg.solve(mT(A), g)),
              jvp=(lambda v, kept: -np.linalg.solve(kept[0], v @ kept[1]), lambda v, A: np.linalg.solve(A, v)),
              broadcasts=True)


# ---- determinants --------------------------------------------------------------------------------------

def _cofactors(A: np.ndarray) -> np.ndarray:
    """cof(A) = det(A) A^-T, from A = U S V^T as det(U) det(V) U diag(prod_{j != i} s_j) V^T: each
    product of all singular values but one from the products before and after it (no division by s_i,
    so a singular A has one too)."""
    U, S, Vh = np.linalg.svd(A)
    ones = np.ones(S.shape[:-1] + (1,), S.dtype)
    before = np.cumprod(np.concatenate([ones, S[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, S[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    sign = np.linalg.det(U) * np.linalg.det(Vh)
    return (U * (sign[..., None] * before * after)[..., None, :]) @ Vh


def det(A: Any) -> Tensor:
    """torch.linalg.det: det A;   d det A = det A tr(A^-1 dA) = tr(cof(A)^T dA),   gA = g cof(A) = g det(A) A^-T"""
    A = square_matrices("linalg.det", A)
    return result("det", np.linalg.det(A._data), (A,), DET, (A._data,))


DET = Rules(vjp=(lambda g, A: g[..., None, None] * _cofactors(A),),
            jvp=(lambda v, A: (_cofactors(A) * v).sum(axis=(-2, -1)),))


class SignLogAbsDet(NamedTuple):
    """torch.linalg.slogdet's pair: det A = sign exp(logabsdet)."""

    sign: Tensor
    logabsdet: Tensor


def slogdet(A: Any) -> SignLogAbsDet:
    """torch.linalg.slogdet: (sign, log |det A|);   d log|det A| = tr(A^-1 dA),   gA = g A^-T. The sign
    is a constant (its derivative is 0 where it is defined). A singular A has sign 0 and logabsdet -inf,
    where the gradient is undefined (PyTorch's too)."""
    A = square_matrices("linalg.slogdet", A)
    sign, logabsdet = np.linalg.slogdet(A._data)
    return SignLogAbsDet(as_tensor(np.asarray(sign)), result("slogdet", logabsdet, (A,), SLOGDET, (A._data,)))


SLOGDET = Rules(vjp=(lambda g, A: g[..., None, None] * mT(lapack("linalg.slogdet", np.linalg.inv, A)),),
                jvp=(lambda v, A: np.trace(np.linalg.solve(A, v), axis1=-2, axis2=-1),))


# ---- the matrix exponential ----------------------------------------------------------------------------

def expm(A: np.ndarray) -> np.ndarray:
    """exp(A) = (T(A / 2^s))^(2^s), T the Taylor polynomial of degree 16 in Horner's form,
    I + B (I + B/2 (I + B/3 (...))), s the least with ||A / 2^s||_1 <= 1/2 (the largest over the batch):
    the remainder is below 1e-19 of ||exp(A)||."""
    largest = float(np.abs(A).sum(axis=-2).max()) if A.size else 0.0
    squarings = max(0, math.ceil(math.log2(largest / 0.5))) if largest > 0.5 else 0
    B = A / 2.0 ** squarings
    identity = np.eye(A.shape[-1], dtype=A.dtype)
    power_series = identity
    for j in range(_TAYLOR_DEGREE, 0, -1):
        power_series = identity + (B @ power_series) / j
    for _ in range(squarings):
        power_series = power_series @ power_series
    return power_series


def _block_exp(A: np.ndarray, E: np.ndarray) -> np.ndarray:
    """The upper right block of exp([[A, E], [0, A]]): the derivative of exp at A along E (Mathias 1996;
    PyTorch's differential_analytic_matrix_function), batched as E is."""
    A = np.broadcast_to(A, E.shape)
    n = A.shape[-1]
    block = np.zeros(E.shape[:-2] + (2 * n, 2 * n), E.dtype)
    block[..., :n, :n] = block[..., n:, n:] = A
    block[..., :n, n:] = E
    return expm(block)[..., :n, n:]


def matrix_exp(A: Any) -> Tensor:
    """torch.linalg.matrix_exp: exp(A) = sum_k A^k / k!;   dE = exp([[A, dA], [0, A]])_12,
    gA = exp([[A^T, g], [0, A^T]])_12"""
    A = square_matrices("linalg.matrix_exp", A)
    return result("matrix_exp", expm(A._data), (A,), MATRIX_EXP, (A._data,))


MATRIX_EXP = Rules(vjp=(lambda g, A: _block_exp(mT(A), g),), jvp=(lambda v, A: _block_exp(A, v),))


# ---- Cholesky ------------------------------------------------------------------------------------------

def _phi(X: np.ndarray) -> np.ndarray:
    """X's lower triangle with its diagonal halved: the inverse of L^-1 dL -> L^-1 dL + (L^-1 dL)^T."""
    lower = np.tril(X)
    return lower - 0.5 * (np.eye(X.shape[-1], dtype=X.dtype) * lower)


def right_solve(X: np.ndarray, M: np.ndarray) -> np.ndarray:
    """X M^-1, batched (numpy's solve, broadcasting the batch axes)."""
    return mT(np.linalg.solve(mT(M), mT(X)))


def _cholesky_grad(g: np.ndarray, L: np.ndarray) -> np.ndarray:
    """gA = sym(L^-T Phi(L^T g) L^-1) (PyTorch's cholesky_backward)."""
    inner = np.linalg.solve(mT(L), _phi(mT(L) @ np.tril(g)))
    gA = right_solve(inner, L)
    return 0.5 * (gA + mT(gA))


def _cholesky_tangent(v: np.ndarray, L: np.ndarray) -> np.ndarray:
    """dL = L Phi(L^-1 dA L^-T) (PyTorch's cholesky_jvp), for a symmetric dA."""
    L = np.broadcast_to(L, v.shape)
    return L @ _phi(right_solve(np.linalg.solve(L, v), mT(L)))


def cholesky(A: Any, *, upper: bool = False) -> Tensor:
    """torch.linalg.cholesky: L lower triangular with A = L L^T for a symmetric positive-definite A (its
    lower triangle is read), or U = L^T with `upper`;   dL = L Phi(L^-1 dA L^-T),
    gA = sym(L^-T Phi(L^T g) L^-1). Not positive-definite: LinAlgError naming the function."""
    A = square_matrices("linalg.cholesky", A)
    L = lapack("linalg.cholesky", np.linalg.cholesky, A._data,
               problem="the factorization could not be completed because the input is not positive-definite")
    factor = result("cholesky", L, (A,), CHOLESKY, (L,))
    return factor.transpose(-2, -1) if upper else factor


CHOLESKY = Rules(vjp=(_cholesky_grad,), jvp=(_cholesky_tangent,))
