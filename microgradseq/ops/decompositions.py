"""Matrix decompositions, as torch.linalg's: eigh, qr and svd. Each output is a primitive of its own
(numpy's `np.linalg` gives the values), with PyTorch's rules (torch/csrc/autograd/FunctionsManual.cpp:
linalg_eig_backward and linalg_eig_jvp for the symmetric case, linalg_qr_backward and linalg_qr_jvp,
svd_backward and linalg_svd_jvp). The reverse-mode rules there are linear in the gradients of the outputs,
so the part each output's gradient contributes is its own rule and the chain rule adds them up.

    eigh   A = V diag(l) V^T    dl = diag(V^T dA V)      dV = V ((V^T dA V) / E), 0 on the diagonal
                                gA = V diag(gl) V^T      gA = V (skew(V^T gV) / E) V^T
    svd    A = U diag(s) V^T    ds = diag(U^T dA V)      gA = U diag(gs) V^T      (U, Vh: _singular_vector_*)
    qr     A = Q R              dR = P R,  dQ = dA R^-1 - Q P,  P = Phi(Y + Y^T), Y = Q^T dA R^-1   (m >= n;
                                the rest in _qr_tangent and _qr_grad)

with E_ij = l_j - l_i (s_j^2 - s_i^2 for svd) off the diagonal, skew(X) = (X - X^T) / 2 and Phi(X) X's
upper triangle with its diagonal halved. Where eigenvalues (singular values) repeat, E has zeros and the
vectors' gradients are undefined, PyTorch's too (so are svd's with a zero singular value of a non-square A,
and qr's of a rank-deficient A); the rules of the values alone divide by nothing. Only functions of the
vectors that do not depend on their signs (U diag(w) Vh, V diag(w) V^T, squared entries) have a gradient
that means anything.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..tensor import Rules, Tensor, owned, result
from .matrix_functions import mT, real_matrices, right_solve, square_matrices


def _gaps(values: np.ndarray) -> np.ndarray:
    """E_ij = values_j - values_i, with 1 on the diagonal (a number that only ever divides a zero)."""
    E = values[..., None, :] - values[..., :, None]
    diagonal = np.arange(values.shape[-1])
    E[..., diagonal, diagonal] = 1.0
    return E


def _off_diagonal(X: np.ndarray) -> np.ndarray:
    return X - X * np.eye(X.shape[-1], dtype=X.dtype)


# ---- eigh ----------------------------------------------------------------------------------------------

class Eigh(NamedTuple):
    """torch.linalg.eigh's pair: A = eigenvectors diag(eigenvalues) eigenvectors^T."""

    eigenvalues: Tensor
    eigenvectors: Tensor


def _checked_uplo(where: str, UPLO: Any) -> str:
    """UPLO upper-cased, as PyTorch's checkUplo (and numpy) read it: 'l' is 'L'."""
    if not isinstance(UPLO, str) or UPLO.upper() not in ("L", "U"):
        raise ValueError(f"{where}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO.upper()


def eigh(A: Any, UPLO: str = "L") -> Eigh:
    """torch.linalg.eigh: the eigenvalues of a symmetric A in ascending order and orthonormal eigenvectors
    (columns), from A's lower triangle (upper with UPLO="U"); see the module's docstring for the rules."""
    A = square_matrices("linalg.eigh", A)
    values, V = np.linalg.eigh(A._data, UPLO=_checked_uplo("linalg.eigh", UPLO))
    return Eigh(result("eigvalsh", values, (A,), EIGVALSH, (V,)),
                result("eigh_vectors", V, (A,), EIGH_VECTORS, ((values, V),)))


def eigvalsh(A: Any, UPLO: str = "L") -> Tensor:
    """torch.linalg.eigvalsh: the eigenvalues of a symmetric A, ascending;   dl = diag(V^T dA V),
    gA = V diag(gl) V^T"""
    A = square_matrices("linalg.eigvalsh", A)
    values, V = np.linalg.eigh(A._data, UPLO=_checked_uplo("linalg.eigvalsh", UPLO))
    return result("eigvalsh", values, (A,), EIGVALSH, (V,))


def _eigenvector_grad(g: np.ndarray, kept: tuple) -> np.ndarray:
    values, V = kept
    VtgV = mT(V) @ g
    return V @ ((0.5 * (VtgV - mT(VtgV))) / _gaps(values)) @ mT(V)


def _eigenvector_tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
    values, V = kept
    return V @ (_off_diagonal(mT(V) @ v @ V) / _gaps(values))


EIGVALSH = Rules(vjp=(lambda g, V: (V * g[..., None, :]) @ mT(V),),
                 jvp=(lambda v, V: np.einsum("...ji,...jk,...ki->...i", V, v, V),))
EIGH_VECTORS = Rules(vjp=(_eigenvector_grad,), jvp=(_eigenvector_tangent,))


# ---- svd -----------------------------------------------------------------------------------------------

class SVD(NamedTuple):
    """torch.linalg.svd's triple: A = U diag(S) Vh."""

    U: Tensor
    S: Tensor
    Vh: Tensor


def svd(A: Any, full_matrices: bool = True) -> SVD:
    """torch.linalg.svd: U, the singular values S (descending) and Vh with A = U diag(S) Vh; U (..., m, m)
    and Vh (..., n, n) with `full_matrices`, else (..., m, k) and (..., k, n), k = min(m, n). With
    `full_matrices` only the first k columns of U (rows of Vh) have a gradient, as PyTorch's."""
    A = real_matrices("linalg.svd", A)
    full = bool(full_matrices)
    U, S, Vh = np.linalg.svd(A._data, full_matrices=full)
    k = S.shape[-1]
    kept = (U[..., :, :k], S, Vh[..., :k, :], full)
    return SVD(result("svd_u", U, (A,), SVD_U, (kept,)), result("svdvals", S, (A,), SVDVALS, (kept[:3],)),
               result("svd_vh", Vh, (A,), SVD_VH, (kept,)))


def svdvals(A: Any) -> Tensor:
    """torch.linalg.svdvals: the singular values, descending;   ds = diag(U^T dA V),   gA = U diag(gs) V^T"""
    A = real_matrices("linalg.svdvals", A)
    U, S, Vh = np.linalg.svd(A._data, full_matrices=False)
    return result("svdvals", S, (A,), SVDVALS, ((U, S, Vh),))


def _singular_vector_grad(g: np.ndarray, kept: tuple, left: bool) -> np.ndarray:
    """gA from gU (left) or from gVh alone (PyTorch's svd_backward, one of its two terms):
        gU:   U (skew2(U^T gU) / E) S V^T + (I - U U^T) gU S^-1 V^T      (the second term when m > n)
        gVh:  U S (skew2(V^T gV) / E) V^T + U S^-1 gVh (I - V V^T)      (the second term when m < n)
    with skew2(X) = X - X^T and E_ij = s_j^2 - s_i^2; only the first k columns of gU (rows of gVh) count."""
    U, S, Vh, _ = kept
    m, n, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
    E = _gaps(S * S)
    if left:
        g = g[..., :, :k]
        UtgU = mT(U) @ g
        inner = U @ ((UtgU - mT(UtgU)) / E * S[..., None, :])
        if m > n:
            scaled = g / S[..., None, :]
            inner = inner + scaled - U @ (mT(U) @ scaled)
        return inner @ Vh
    g = g[..., :k, :]
    VtgV = Vh @ mT(g)
    inner = (S[..., :, None] * ((VtgV - mT(VtgV)) / E)) @ Vh
    if m < n:
        scaled = g / S[..., :, None]
        inner = inner + scaled - (scaled @ mT(Vh)) @ Vh
    return U @ inner


def _singular_vector_tangent(v: np.ndarray, kept: tuple, left: bool) -> np.ndarray:
    """dU (left) or dVh (PyTorch's linalg_svd_jvp), with dX = U^T dA V off its diagonal:
        dU  = U ((dX S + (dX S)^T) / E) + (I - U U^T) dA V S^-1        (the second term when m > n)
        dVh = (-(S dX + (S dX)^T) / E) Vh + S^-1 U^T dA (I - V V^T)    (the second term when m < n)
    padded with zero columns (rows) to the full U (Vh)."""
    U, S, Vh, full = kept
    m, n, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
    dX = _off_diagonal(mT(U) @ v @ mT(Vh))
    E = _gaps(S * S)
    if left:
        scaled = dX * S[..., None, :]
        tangent = U @ ((scaled + mT(scaled)) / E)
        if m > n:
            dAVS = v @ (mT(Vh) / S[..., None, :])
            tangent = tangent + dAVS - U @ (mT(U) @ dAVS)
        padding = np.zeros(tangent.shape[:-1] + ((m - k) if full else 0,), v.dtype)
        return np.concatenate([tangent, padding], axis=-1)
    scaled = S[..., :, None] * dX
    tangent = -((scaled + mT(scaled)) / E) @ Vh
    if m < n:
        SUdA = (mT(U) / S[..., :, None]) @ v
        tangent = tangent + SUdA - (SUdA @ mT(Vh)) @ Vh
    padding = np.zeros(tangent.shape[:-2] + ((n - k) if full else 0, n), v.dtype)
    return np.concatenate([tangent, padding], axis=-2)


SVDVALS = Rules(vjp=(lambda g, kept: (kept[0] * g[..., None, :]) @ kept[2],),
                jvp=(lambda v, kept: np.einsum("...ji,...jk,...ik->...i", kept[0], v, kept[2]),))
SVD_U = Rules(vjp=(lambda g, kept: _singular_vector_grad(g, kept, True),),
              jvp=(lambda v, kept: _singular_vector_tangent(v, kept, True),))
SVD_VH = Rules(vjp=(lambda g, kept: _singular_vector_grad(g, kept, False),),
               jvp=(lambda v, kept: _singular_vector_tangent(v, kept, False),))


# ---- qr ------------------------------------------------------------------------------------------------

class QR(NamedTuple):
    """torch.linalg.qr's pair: A = Q R."""

    Q: Tensor
    R: Tensor


def _refused(message: str) -> Rules:
    """The rules of an output PyTorch does not differentiate: a RuntimeError with its message, when used."""
    def refuse(*_: Any) -> np.ndarray:
        raise RuntimeError(message)
    return Rules(vjp=(refuse,), jvp=(refuse,))


QR_COMPLETE = _refused("linalg.qr: The QR decomposition is not differentiable when mode='complete' and "
                       "nrows > ncols.")
QR_R_ONLY = _refused("linalg.qr: The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                     "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")


def qr(A: Any, mode: str = "reduced") -> QR:
    """torch.linalg.qr: Q with orthonormal columns and R upper triangular, A = Q R; mode "reduced" (Q (..., m, k),
    R (..., k, n), k = min(m, n)), "complete" (Q (..., m, m), R (..., m, n)) or "r" (R alone, Q an empty
    tensor). Not differentiable, as PyTorch's: mode "r", and "complete" with m > n (RuntimeError on use)."""
    A = real_matrices("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: qr received unrecognized mode {mode!r} but expected one of 'reduced' "
                         "(default), 'r', or 'complete'")
    m, n = A.shape[-2:]
    Q, R = np.linalg.qr(A._data, mode="complete" if mode == "complete" else "reduced")
    if mode == "r":
        return QR(owned(np.zeros((0,), A.dtype)), result("qr_r", R, (A,), QR_R_ONLY, (None,)))
    if mode == "complete" and m > n:
        return QR(result("qr_q", Q, (A,), QR_COMPLETE, (None,)), result("qr_r", R, (A,), QR_COMPLETE, (None,)))
    return QR(result("qr_q", Q, (A,), QR_Q, ((Q, R),)), result("qr_r", R, (A,), QR_R, ((Q, R),)))


def _qr_grad(g: np.ndarray, kept: tuple, of_q: bool) -> np.ndarray:
    """gA from gQ (of_q) or from gR alone (PyTorch's linalg_qr_backward), with X = gR R^T or -Q^T gQ:
        m >= n:  gA = (Q S(triu(X)) [+ gQ]) R^-T,     S(M) = M + triu(M, 1)^T
        m < n:   gA = [Q tril(X^T - X) R_1^-T, 0] [+ Q gR],     R_1 = R's first m columns"""
    Q, R = kept
    m, n = Q.shape[-2], R.shape[-1]
    X = -(mT(Q) @ g) if of_q else g @ mT(R)
    if m >= n:
        upper = np.triu(X)
        gA = Q @ (upper + mT(np.triu(upper, 1)))
        return right_solve(gA + g if of_q else gA, mT(R))
    gA = right_solve(Q @ np.tril(mT(X) - X), mT(R[..., :m]))
    gA = np.concatenate([gA, np.zeros(gA.shape[:-1] + (n - m,), gA.dtype)], axis=-1)
    return gA if of_q else gA + Q @ g


def _qr_tangent(v: np.ndarray, kept: tuple, of_q: bool) -> np.ndarray:
    """dQ (of_q) or dR (PyTorch's linalg_qr_jvp):
        m >= n:  dR = P R, dQ = dA R^-1 - Q P,   P = triu(Y + Y^T) with its diagonal halved, Y = Q^T dA R^-1
        m < n:   dQ = Q K, dR = Q^T dA - K R,    K = tril(Z, -1) - tril(Z, -1)^T, Z = (Q^T dA)_1 R_1^-1"""
    Q, R = kept
    m, n = Q.shape[-2], R.shape[-1]
    if m >= n:
        dA_Rinv = right_solve(v, R)
        Y = mT(Q) @ dA_Rinv
        P = np.triu(Y + mT(Y))
        P = P - 0.5 * P * np.eye(n, dtype=P.dtype)
        return dA_Rinv - Q @ P if of_q else P @ R
    QtdA = mT(Q) @ v
    below = np.tril(right_solve(QtdA[..., :m], R[..., :m]), -1)
    K = below - mT(below)
    return Q @ K if of_q else QtdA - K @ R


QR_Q = Rules(vjp=(lambda g, kept: _qr_grad(g, kept, True),), jvp=(lambda v, kept: _qr_tangent(v, kept, True),))
QR_R = Rules(vjp=(lambda g, kept: _qr_grad(g, kept, False),), jvp=(lambda v, kept: _qr_tangent(v, kept, False),))
