"""PyTorch's `torch.nn.utils.parametrizations.orthogonal` (read from its torch/nn/utils/parametrizations.py):
a weight Q kept orthogonal, Q^T Q = I (QQ^T = I for a wide one), as expRNN keeps a recurrent weight so that
its gradients neither explode nor vanish over many steps. The parametrization maps an unconstrained X to Q:

    "matrix_exp":   Q = exp(A)                          A = tril(X) - tril(X)^T, skew-symmetric
    "cayley":       Q = (I - A/2)^-1 (I + A/2)
    "householder":  Q = H_1 H_2 ... H_k [I; 0]           H_i = I - tau_i v_i v_i^T, v_i column i of X below
                                                         the diagonal with a 1 on it, tau_i = 2 / ||v_i||^2

exp(A) and the Cayley map through `linalg.matrix_exp` and `linalg.solve` (primitives with their own rules,
as PyTorch's), the Householder product written with the library's primitives (matmul, tril, sums, indexing)
as LAPACK's orgqr forms it, so the gradient to X comes from the chain rule. With `use_trivialization=True`
(the default) the module also keeps a buffer `base`, an orthogonal matrix, and returns base Q ("dynamic
trivialization", Lezcano-Casado 2019): assigning a weight stores it (made orthogonal by a QR decomposition
when it is not) as `base`, and X as -I.
"""

from __future__ import annotations

import numpy as np

from ...creation import eye
from ...grad_mode import no_grad
from ...linalg import matrix_exp, solve
from ...ops import concat, matmul
from ...random import default_generator
from ...tensor import Tensor, owned
from ..module import Module
from .parametrize import register_parametrization

_MAPS = ("matrix_exp", "cayley", "householder")


def _mT(x: Tensor) -> Tensor:
    return x.transpose(-2, -1)


def _cayley(A: Tensor) -> Tensor:
    """(I - A/2)^-1 (I + A/2), by `linalg.solve` (I - A/2 has symmetric part I, so it is never singular)."""
    identity = eye(A.shape[-1], dtype=A.dtype)
    return solve(identity - A / 2, identity + A / 2)


def _householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """H_1 H_2 ... H_k [I_k; 0] (n x k), H_i = I - tau_i v_i v_i^T, v_i column i of A with 1 on the diagonal
    (A's entries on and above it are not read), as torch.linalg.householder_product; applied to [I_k; 0]
    from H_k to H_1, each as X - tau_i v_i (v_i^T X)."""
    n, k = A.shape[-2:]
    below = A.tril(-1)
    Q = owned(np.broadcast_to(np.eye(n, k, dtype=A.dtype), A.shape))
    for i in range(k - 1, -1, -1):
        v = below[..., :, i] + np.eye(n, dtype=A.dtype)[i]
        Q = Q - (tau[..., i, None] * v)[..., :, None] * matmul(v[..., None, :], Q)
    return Q


def _make_orthogonal(A: np.ndarray) -> np.ndarray:
    """The Q of A = QR with diag(R) >= 0 (PyTorch's `_make_orthogonal`, through numpy's QR)."""
    Q, R = np.linalg.qr(A)
    return Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[..., None, :]


def _is_orthogonal(Q: np.ndarray) -> bool:
    """Q^T Q = I to 10 n eps, as PyTorch's `_is_orthogonal` (allclose, rtol 1e-5)."""
    n, k = Q.shape[-2:]
    return bool(np.allclose(np.swapaxes(Q, -2, -1) @ Q, np.eye(k), atol=10.0 * n * np.finfo(Q.dtype).eps))


class _Orthogonal(Module):
    """The parametrization `orthogonal` registers: X -> Q by `orthogonal_map` (then base Q, with a base)."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2:]
        transposed = n < k
        if transposed:
            X, n, k = _mT(X), k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:          # embed the tall X in a square matrix
                X = concat([X, owned(np.zeros(X.shape[:-2] + (n, n - k), X.dtype))], dim=-1)
            A = X - _mT(X)
            Q = matrix_exp(A) if self.orthogonal_map == "matrix_exp" else _cayley(A)
            Q = Q[..., :k] if n != k else Q
        else:
            A = X.tril(-1)
            Q = _householder_product(A, 2.0 / (1.0 + (A * A).sum(dim=-2)))
            # X's diagonal (1s and -1s) chooses the signs; as PyTorch's `.int()` it is neither differentiated
            # nor updated
            Q = Q * np.trunc(np.diagonal(X._data, axis1=-2, axis2=-1))[..., None, :]
        if "base" in self._buffers:
            Q = matmul(self.base, Q)
        return _mT(Q) if transposed else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        """X with forward(X) = Q: with a base, Q (made orthogonal if it is not) becomes the base and X is -I;
        without, the Householder vectors of Q's QR decomposition (the other maps have no inverse here:
        NotImplementedError, as PyTorch's)."""
        if Q.shape != self.shape:
            raise ValueError(f"orthogonal: expected a matrix or batch of matrices of shape {self.shape}, got a "
                             f"tensor of shape {Q.shape}")
        with no_grad():
            data = Q._data
            n, k = data.shape[-2:]
            transpose = n < k
            if transpose:
                data, n, k = np.swapaxes(data, -2, -1), k, n
            if "base" not in self._buffers:
                if self.orthogonal_map != "householder":
                    raise NotImplementedError("It is not possible to assign to the matrix exponential or the "
                                              "Cayley parametrizations when use_trivialization=False.")
                reflectors, tau = np.linalg.qr(data, mode="raw")        # (LAPACK's geqrf, transposed)
                A = np.swapaxes(reflectors, -2, -1).copy()
                diagonal = np.arange(k)
                A[..., diagonal, diagonal] = np.sign(A[..., diagonal, diagonal]) * np.where(tau == 0, -1, 1)
                return owned(np.swapaxes(A, -2, -1) if transpose else A)
            if n == k:
                base = data.copy() if _is_orthogonal(data) else _make_orthogonal(data)
            else:               # complete the columns to an n x n orthogonal matrix
                extra = default_generator().standard_normal(data.shape[:-2] + (n, n - k)).astype(data.dtype)
                base = _make_orthogonal(np.concatenate([data, extra], axis=-1))
            self.base = owned(base.astype(data.dtype))
            negative_identity = np.zeros(Q.shape, Q.dtype)
            diagonal = np.arange(min(n, k))
            negative_identity[..., diagonal, diagonal] = -1.0
            return owned(negative_identity)


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """PyTorch's `parametrizations.orthogonal`: `module.<name>` (a matrix, or a batch of them in its last two
    axes) kept orthogonal (orthonormal columns when tall, rows when wide) through `orthogonal_map`,
    "matrix_exp" (the default for a square one), "cayley" or "householder" (the default otherwise); see the
    module's docstring. The initial value is the weight's own if orthogonal, else its QR decomposition's Q.
    A name that is no tensor of the module, a tensor of fewer than 2 axes, or another map is a ValueError.
    Returns the module."""
    weight = getattr(module, name, None) if isinstance(name, str) else None
    if not isinstance(weight, Tensor):
        raise ValueError(f"orthogonal: {type(module).__name__} has no parameter or buffer with name {name!r}")
    if weight.ndim < 2:
        raise ValueError(f"orthogonal: expected a matrix or batch of matrices, got a tensor of {weight.ndim} "
                         "dimensions")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f'orthogonal: orthogonal_map has to be one of "matrix_exp", "cayley", "householder", '
                         f"got {orthogonal_map!r}")
    if weight.dtype.kind != "f":
        raise TypeError(f"orthogonal: expected a floating-point {name}, got dtype {weight.dtype}")
    parametrization = _Orthogonal(weight, orthogonal_map, use_trivialization=bool(use_trivialization))
    return register_parametrization(module, name, parametrization, unsafe=True)
