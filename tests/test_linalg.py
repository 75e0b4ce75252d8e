"""torch.linalg's matrix functions and decompositions (mg.linalg.inv, solve, det, slogdet, matrix_exp, cholesky,
eigh, eigvalsh, qr, svd, svdvals, matrix_norm, matrix_power) and PyTorch's top-level and Tensor spellings.

References, independent of the rules under test: numpy's np.linalg for the values, closed forms (inv(A) A = I,
d det A = det A tr(A^-1 dA), log det of an SPD matrix = 2 sum log diag(L), exp of a rotation generator), and
central differences in float64 of the numpy functions for every gradient (reverse mode) and tangent (forward
mode). For eigh and svd the differentiated functions do not depend on the vectors' signs (V diag(w) V^T,
U diag(w) Vh, squared entries), as PyTorch's own gradcheck of them does.
"""

import math

import numpy as np
import pytest
from test_op_gradients import assert_gradients_match, assert_tangents_match_differences

import microgradseq as mg

RNG = np.random.default_rng(7)


def well_conditioned(*shape):
    """Random square matrices plus 3 I: far from singular."""
    return RNG.standard_normal(shape) + 3 * np.eye(shape[-1])


def symmetric_positive(*shape):
    X = RNG.standard_normal(shape)
    return X @ np.swapaxes(X, -1, -2) + shape[-1] * np.eye(shape[-1])


def check_both_modes(mg_fn, np_fn, *arrays):
    """Gradient and tangent (along a random direction per operand) against central differences."""
    assert_gradients_match(mg_fn, np_fn, *arrays)
    assert_tangents_match_differences(mg_fn, np_fn, arrays, [RNG.standard_normal(np.shape(a)) for a in arrays])


def mT(a):
    return np.swapaxes(a, -1, -2)


# ---- inverse and solve ---------------------------------------------------------------------------------

def test_inv_matches_numpy_and_inverts():
    A = well_conditioned(2, 3, 4, 4)
    Y = mg.linalg.inv(mg.tensor(A))
    np.testing.assert_allclose(Y.numpy(), np.linalg.inv(A), rtol=1e-12)
    np.testing.assert_allclose(Y.numpy() @ A, np.broadcast_to(np.eye(4), A.shape), atol=1e-12)
    assert mg.linalg.inv(mg.tensor(A[0, 0], dtype=mg.float32)).dtype == np.float32
    for spelling in (mg.inverse(mg.tensor(A)), mg.tensor(A).inverse()):
        np.testing.assert_array_equal(spelling.numpy(), Y.numpy())


def test_inv_gradient_and_tangent():
    check_both_modes(mg.linalg.inv, np.linalg.inv, well_conditioned(2, 3, 3))


def test_solve_matches_numpy_for_matrices_vectors_and_broadcast_batches():
    A = well_conditioned(2, 3, 3)
    B = RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(mg.linalg.solve(mg.tensor(A), mg.tensor(B)).numpy(), np.linalg.solve(A, B),
                               rtol=1e-12)
    vector = RNG.standard_normal(3)                     # (n,): one vector for every matrix
    np.testing.assert_allclose(mg.linalg.solve(mg.tensor(A), mg.tensor(vector)).numpy(),
                               np.linalg.solve(A, vector[:, None])[..., 0], rtol=1e-12)
    batched_vectors = RNG.standard_normal((2, 3))       # A's shape without its last axis: a vector per matrix
    X = mg.linalg.solve(mg.tensor(A), mg.tensor(batched_vectors))
    assert X.shape == (2, 3)
    np.testing.assert_allclose(np.einsum("bij,bj->bi", A, X.numpy()), batched_vectors, atol=1e-12)
    shared = well_conditioned(3, 3)                     # one A, a batch of B
    np.testing.assert_allclose(mg.linalg.solve(mg.tensor(shared), mg.tensor(B)).numpy(), np.linalg.solve(shared, B),
                               rtol=1e-12)


def test_solve_on_the_right_solves_x_a_equals_b():
    A, B = well_conditioned(2, 3, 3), RNG.standard_normal((2, 4, 3))
    X = mg.linalg.solve(mg.tensor(A), mg.tensor(B), left=False).numpy()
    np.testing.assert_allclose(X @ A, B, atol=1e-12)


@pytest.mark.parametrize("shapes", [((2, 3, 3), (2, 3, 2)), ((3, 3), (2, 3, 2)), ((2, 1, 3, 3), (4, 3, 1)),
                                    ((2, 3, 3), (3,))])
def test_solve_gradient_and_tangent_with_broadcast_batches(shapes):
    A, B = well_conditioned(*shapes[0]), RNG.standard_normal(shapes[1])
    if B.ndim == 1:
        check_both_modes(mg.linalg.solve, lambda a, b: np.linalg.solve(a, b[:, None])[..., 0], A, B)
    else:
        check_both_modes(mg.linalg.solve, np.linalg.solve, A, B)
    check_both_modes(lambda a, b: mg.linalg.solve(a, b, left=False),
                     lambda a, b: mT(np.linalg.solve(mT(a), mT(b))), well_conditioned(2, 3, 3),
                     RNG.standard_normal((2, 4, 3)))


# ---- determinants --------------------------------------------------------------------------------------

def test_det_matches_numpy_and_its_gradient_is_det_times_the_inverse_transpose():
    A = well_conditioned(2, 3, 3)
    x = mg.tensor(A, requires_grad=True)
    d = mg.linalg.det(x)
    np.testing.assert_allclose(d.numpy(), np.linalg.det(A), rtol=1e-12)
    d.sum().backward()
    np.testing.assert_allclose(x.grad, np.linalg.det(A)[:, None, None] * mT(np.linalg.inv(A)), rtol=1e-10)
    dA = RNG.standard_normal(A.shape)             # d det = det tr(A^-1 dA)
    _, tangent = mg.jvp(mg.linalg.det, (mg.tensor(A),), (dA,))
    np.testing.assert_allclose(tangent, np.linalg.det(A) * np.trace(np.linalg.solve(A, dA), axis1=-2, axis2=-1),
                               rtol=1e-10)
    assert mg.det(x).tolist() == d.tolist() and x.det().tolist() == d.tolist()


@pytest.mark.parametrize("A", [np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0],
                                                                             [7.0, 8.0, 9.0]])])
def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix(A):
    """det is a polynomial, so central differences are exact there too (PyTorch's SVD formula)."""
    check_both_modes(mg.linalg.det, np.linalg.det, A)
    x = mg.tensor(A, requires_grad=True)
    mg.linalg.det(x).backward()
    if len(A) == 2:
        np.testing.assert_allclose(x.grad, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)


def test_det_gradient_and_tangent_on_a_batch():
    check_both_modes(mg.linalg.det, np.linalg.det, RNG.standard_normal((3, 4, 4)))


def test_slogdet_is_a_named_pair_whose_sign_is_a_constant():
    A = RNG.standard_normal((4, 3, 3))
    sign, logabsdet = np.linalg.slogdet(A)
    x = mg.tensor(A, requires_grad=True)
    result = mg.linalg.slogdet(x)
    assert result.sign is result[0] and result.logabsdet is result[1]
    np.testing.assert_array_equal(result.sign.numpy(), sign)
    np.testing.assert_allclose(result.logabsdet.numpy(), logabsdet, rtol=1e-12)
    assert not result.sign.requires_grad and result.logabsdet.requires_grad
    assert mg.slogdet(x).logabsdet.tolist() == x.slogdet().logabsdet.tolist() == result.logabsdet.tolist()
    check_both_modes(lambda t: mg.linalg.slogdet(t).logabsdet, lambda a: np.linalg.slogdet(a)[1], A)


def test_logdet_of_an_spd_matrix_is_twice_the_log_of_its_cholesky_diagonal():
    A = symmetric_positive(2, 4, 4)
    L = np.linalg.cholesky(A)
    expected = 2 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
    np.testing.assert_allclose(mg.logdet(mg.tensor(A)).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(mg.tensor(A).logdet().numpy(), expected, rtol=1e-12)
    check_both_modes(mg.logdet, lambda a: np.log(np.linalg.det(a)), A)
    assert math.isnan(mg.logdet(mg.tensor([[0.0, 1.0], [1.0, 0.0]])).item())     # det -1: nan, as PyTorch's


# ---- the matrix exponential ----------------------------------------------------------------------------

def taylor_expm(A, terms=40):
    """sum_k A^k / k!, hand-written (for matrices of norm below 2: the remainder is below 1e-20)."""
    total, term = np.broadcast_to(np.eye(A.shape[-1]), A.shape).copy(), np.broadcast_to(np.eye(A.shape[-1]), A.shape)
    for k in range(1, terms):
        term = term @ A / k
        total = total + term
    return total


def test_matrix_exp_closed_forms():
    t = 0.7
    rotation = mg.linalg.matrix_exp(mg.tensor([[0.0, -t], [t, 0.0]])).numpy()
    np.testing.assert_allclose(rotation, [[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]], atol=1e-15)
    np.testing.assert_allclose(mg.matrix_exp(mg.tensor(np.diag([1.0, -2.0, 5.0]))).numpy(),
                               np.diag(np.exp([1.0, -2.0, 5.0])), rtol=1e-14)
    S = symmetric_positive(3, 3) / 3            # exp of a symmetric matrix: V diag(exp(l)) V^T
    values, V = np.linalg.eigh(S)
    np.testing.assert_allclose(mg.tensor(S).matrix_exp().numpy(), (V * np.exp(values)) @ V.T, rtol=1e-12)
    A = RNG.standard_normal((2, 3, 3)) / 3
    np.testing.assert_allclose(mg.linalg.matrix_exp(mg.tensor(A)).numpy(), taylor_expm(A), rtol=1e-13)


def test_matrix_exp_gradient_and_tangent():
    check_both_modes(mg.linalg.matrix_exp, taylor_expm, RNG.standard_normal((2, 3, 3)) / 2)


# ---- Cholesky ------------------------------------------------------------------------------------------

def test_cholesky_matches_numpy_lower_and_upper():
    A = symmetric_positive(2, 3, 4, 4)
    L = mg.linalg.cholesky(mg.tensor(A)).numpy()
    np.testing.assert_allclose(L, np.linalg.cholesky(A), rtol=1e-12)
    np.testing.assert_allclose(L @ mT(L), A, rtol=1e-12)
    U = mg.linalg.cholesky(mg.tensor(A), upper=True).numpy()
    np.testing.assert_allclose(U, mT(np.linalg.cholesky(A)), rtol=1e-12)
    assert mg.cholesky(mg.tensor(A), True).tolist() == U.tolist() == mg.tensor(A).cholesky(upper=True).tolist()


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_gradient_and_tangent_of_a_symmetric_input(upper):
    """X -> X X^T + 3 I is symmetric positive-definite for any X, so every direction of X is allowed."""
    def np_fn(x):
        L = np.linalg.cholesky(x @ mT(x) + 3 * np.eye(3))
        return mT(L) if upper else L
    check_both_modes(lambda x: mg.linalg.cholesky(x @ x.transpose(-2, -1) + mg.eye(3, dtype=mg.float64) * 3,
                                                  upper=upper), np_fn, RNG.standard_normal((2, 3, 3)))


def test_cholesky_gradient_is_symmetric_as_pytorchs():
    x = mg.tensor(symmetric_positive(3, 3), requires_grad=True)
    (mg.linalg.cholesky(x) * mg.tensor(RNG.standard_normal((3, 3)))).sum().backward()
    np.testing.assert_allclose(x.grad, x.grad.T, atol=1e-12)


# ---- eigh ----------------------------------------------------------------------------------------------

def test_eigh_matches_numpy_for_either_triangle():
    A = RNG.standard_normal((2, 4, 4))
    for uplo in ("L", "U"):
        values, vectors = mg.linalg.eigh(mg.tensor(A), UPLO=uplo)
        expected_values, expected_vectors = np.linalg.eigh(A, UPLO=uplo)
        np.testing.assert_allclose(values.numpy(), expected_values, rtol=1e-12)
        np.testing.assert_allclose(np.abs(vectors.numpy()), np.abs(expected_vectors), atol=1e-12)
        np.testing.assert_allclose(mg.linalg.eigvalsh(mg.tensor(A), UPLO=uplo).numpy(), expected_values, rtol=1e-12)
    symmetric = A + mT(A)
    result = mg.linalg.eigh(mg.tensor(symmetric))
    assert result.eigenvalues is result[0] and result.eigenvectors is result[1]
    V, values = result.eigenvectors.numpy(), result.eigenvalues.numpy()
    np.testing.assert_allclose(symmetric @ V, V * values[..., None, :], atol=1e-12)


def symmetrized(fn):
    return lambda x: fn(x + x.transpose(-2, -1)) if isinstance(x, mg.Tensor) else fn(x + mT(x))


WEIGHTS = np.array([0.3, -1.2, 2.0, 0.7])


@pytest.mark.parametrize("name, mg_fn, np_fn", [
    ("eigenvalues", lambda A: mg.linalg.eigh(A).eigenvalues, lambda A: np.linalg.eigh(A)[0]),
    ("eigvalsh", mg.linalg.eigvalsh, np.linalg.eigvalsh),
    ("V diag(w) V^T", lambda A: (lambda V: (V * WEIGHTS) @ V.transpose(-2, -1))(mg.linalg.eigh(A).eigenvectors),
     lambda A: (lambda V: (V * WEIGHTS) @ mT(V))(np.linalg.eigh(A)[1])),
    ("V squared", lambda A: mg.linalg.eigh(A).eigenvectors ** 2, lambda A: np.linalg.eigh(A)[1] ** 2),
])
def test_eigh_gradients_and_tangents_of_sign_free_functions(name, mg_fn, np_fn):
    check_both_modes(symmetrized(mg_fn), symmetrized(np_fn), RNG.standard_normal((2, 4, 4)))


# ---- svd -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 4), (4, 4)])
def test_svd_matches_numpy_and_reconstructs(shape):
    A = RNG.standard_normal(shape)
    for full in (True, False):
        U, S, Vh = mg.linalg.svd(mg.tensor(A), full_matrices=full)
        expected = np.linalg.svd(A, full_matrices=full)
        assert U.shape == expected[0].shape and Vh.shape == expected[2].shape
        np.testing.assert_allclose(S.numpy(), expected[1], rtol=1e-12)
        k = S.shape[-1]
        np.testing.assert_allclose((U.numpy()[..., :k] * S.numpy()[..., None, :]) @ Vh.numpy()[..., :k, :], A,
                                   atol=1e-12)
    np.testing.assert_allclose(mg.linalg.svdvals(mg.tensor(A)).numpy(), np.linalg.svd(A, compute_uv=False),
                               rtol=1e-12)


def u_diag_vh(U, S, Vh):
    weights = np.array([1.0, -0.5, 2.0])[:S.shape[-1]]
    return (U[..., :S.shape[-1]] * weights) @ Vh[..., :S.shape[-1], :]


@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 4), (3, 3)])
@pytest.mark.parametrize("name, mg_fn, np_fn", [
    ("S", lambda A: mg.linalg.svd(A).S, lambda A: np.linalg.svd(A)[1]),
    ("svdvals", mg.linalg.svdvals, lambda A: np.linalg.svd(A, compute_uv=False)),
    ("U diag(w) Vh", lambda A: u_diag_vh(*mg.linalg.svd(A, full_matrices=False)),
     lambda A: u_diag_vh(*np.linalg.svd(A, full_matrices=False))),
    ("U squared", lambda A: mg.linalg.svd(A, full_matrices=False).U ** 2,
     lambda A: np.linalg.svd(A, full_matrices=False)[0] ** 2),
    ("Vh squared", lambda A: mg.linalg.svd(A, full_matrices=False).Vh ** 2,
     lambda A: np.linalg.svd(A, full_matrices=False)[2] ** 2),
    ("full U's first columns squared", lambda A: mg.linalg.svd(A).U[..., :3] ** 2,
     lambda A: np.linalg.svd(A)[0][..., :3] ** 2),
])
def test_svd_gradients_and_tangents_of_sign_free_functions(shape, name, mg_fn, np_fn):
    check_both_modes(mg_fn, np_fn, RNG.standard_normal(shape))


# ---- qr ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 4), (3, 3)])
def test_qr_matches_numpy_in_every_mode(shape):
    A = RNG.standard_normal(shape)
    for mode in ("reduced", "complete"):
        Q, R = mg.linalg.qr(mg.tensor(A), mode=mode)
        expected_Q, expected_R = np.linalg.qr(A, mode=mode)
        np.testing.assert_allclose(Q.numpy(), expected_Q, atol=1e-12)
        np.testing.assert_allclose(R.numpy(), expected_R, atol=1e-12)
        np.testing.assert_allclose(Q.numpy() @ R.numpy(), A, atol=1e-12)
        np.testing.assert_allclose(np.triu(R.numpy()), R.numpy())
    Q, R = mg.linalg.qr(mg.tensor(A), mode="r")
    assert Q.shape == (0,)
    np.testing.assert_allclose(R.numpy(), np.linalg.qr(A, mode="r"), atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 4), (3, 3), (2, 2, 5)])
@pytest.mark.parametrize("output", [0, 1])
def test_qr_gradient_and_tangent_of_each_factor(shape, output):
    check_both_modes(lambda A: mg.linalg.qr(A)[output], lambda A: np.linalg.qr(A)[output], RNG.standard_normal(shape))


def test_qr_refuses_gradients_where_pytorch_does():
    tall = mg.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    Q, _ = mg.linalg.qr(tall, mode="complete")
    with pytest.raises(RuntimeError, match="linalg.qr: The QR decomposition is not differentiable when "
                                           "mode='complete' and nrows > ncols"):
        Q.sum().backward()
    _, R = mg.linalg.qr(tall, mode="r")
    with pytest.raises(RuntimeError, match="linalg.qr: The derivative of linalg.qr depends on Q"):
        R.sum().backward()
    assert tall.grad is None
    wide = mg.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    mg.linalg.qr(wide, mode="complete").Q.sum().backward()          # (m <= n: complete is reduced)
    assert wide.grad.shape == (3, 4)


# ---- matrix_norm and matrix_power ------------------------------------------------------------------------

ORDERS = ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]


@pytest.mark.parametrize("ord", ORDERS)
def test_matrix_norm_matches_numpy_over_any_pair_of_axes(ord):
    A = RNG.standard_normal((3, 4, 5))
    np.testing.assert_allclose(mg.linalg.matrix_norm(mg.tensor(A), ord).numpy(), np.linalg.norm(A, ord, axis=(-2, -1)),
                               rtol=1e-12)
    value = mg.linalg.matrix_norm(mg.tensor(A), ord, dim=(2, 0), keepdim=True)
    np.testing.assert_allclose(value.numpy(), np.linalg.norm(A, ord, axis=(2, 0), keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(mg.linalg.norm(mg.tensor(A[0]), ord).item(), np.linalg.norm(A[0], ord), rtol=1e-12)


@pytest.mark.parametrize("ord", ORDERS)
@pytest.mark.parametrize("dim, keepdim", [((-2, -1), False), ((0, 2), True), ((2, 1), False)])
def test_matrix_norm_gradient_and_tangent(ord, dim, keepdim):
    A = RNG.standard_normal((3, 4, 3))          # (entries distinct: no ties at a largest sum)
    check_both_modes(lambda t: mg.linalg.matrix_norm(t, ord, dim=dim, keepdim=keepdim),
                     lambda a: np.linalg.norm(a, ord, axis=dim, keepdims=keepdim), A)


@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 5])
def test_matrix_power_matches_numpy_and_its_gradient_central_differences(n):
    A = well_conditioned(2, 3, 3) / 3
    np.testing.assert_allclose(mg.linalg.matrix_power(mg.tensor(A), n).numpy(), np.linalg.matrix_power(A, n),
                               rtol=1e-12, atol=1e-14)
    assert mg.matrix_power(mg.tensor(A), n).tolist() == mg.tensor(A).matrix_power(n).tolist()
    if n != 0:
        check_both_modes(lambda t: mg.linalg.matrix_power(t, n), lambda a: np.linalg.matrix_power(a, n), A)


# ---- errors --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "matrix_exp", "cholesky", "eigh", "eigvalsh",
                                  "matrix_power"])
def test_functions_of_square_matrices_refuse_other_shapes_naming_themselves(name):
    fn = getattr(mg.linalg, name)
    args = (2,) if name == "matrix_power" else ()
    x = mg.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=rf"linalg.{name}: A must be batches of square matrices .* 2 by 3 matrices"):
        fn(x, *args)
    with pytest.raises(ValueError, match=rf"linalg.{name}: .* a tensor of 1 axes"):
        fn(mg.tensor([1.0, 2.0]), *args)
    with pytest.raises(TypeError, match=rf"linalg.{name}: expected a real floating-point tensor, got dtype int64"):
        fn(mg.tensor([[1, 2], [3, 4]]), *args)
    assert x.grad is None and x.grad_fn is None


def test_singular_matrices_are_linalg_errors_naming_the_function():
    singular = mg.tensor([[1.0, 2.0], [2.0, 4.0]])
    assert issubclass(mg.linalg.LinAlgError, RuntimeError)
    with pytest.raises(mg.linalg.LinAlgError, match="linalg.inv: the input matrix is singular"):
        mg.linalg.inv(singular)
    with pytest.raises(mg.linalg.LinAlgError, match="linalg.solve: the input matrix is singular"):
        mg.linalg.solve(singular, mg.tensor([1.0, 1.0]))
    with pytest.raises(mg.linalg.LinAlgError, match="linalg.cholesky: .* not positive-definite"):
        mg.linalg.cholesky(mg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    assert singular.tolist() == [[1.0, 2.0], [2.0, 4.0]]


def test_bad_arguments_name_the_function():
    A = mg.tensor(well_conditioned(3, 3))
    with pytest.raises(ValueError, match=r"linalg.solve: incompatible shapes of A and B .*\(3, 3\) and \(4, 2\)"):
        mg.linalg.solve(A, mg.zeros(4, 2, dtype=mg.float64))
    with pytest.raises(ValueError, match=r"linalg.solve: the batch shapes of A \(2, 3, 3\) and B \(4, 3, 1\)"):
        mg.linalg.solve(mg.tensor(well_conditioned(2, 3, 3)), mg.zeros(4, 3, 1, dtype=mg.float64))
    with pytest.raises(ValueError, match="linalg.qr: qr received unrecognized mode 'full'"):
        mg.linalg.qr(A, mode="full")
    with pytest.raises(ValueError, match="linalg.eigh: UPLO must be 'L' or 'U', got 'X'"):
        mg.linalg.eigh(A, UPLO="X")
    with pytest.raises(ValueError, match="linalg.matrix_norm: ord=3 is not a matrix norm"):
        mg.linalg.matrix_norm(A, 3)
    with pytest.raises(ValueError, match=r"linalg.matrix_norm: dim must be a pair of two different axes"):
        mg.linalg.matrix_norm(A, dim=(0, 0))
    with pytest.raises(ValueError, match="linalg.svd: expected a matrix or a batch of matrices"):
        mg.linalg.svd(mg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="linalg.matrix_power: n must be an integer, got float 2.0"):
        mg.linalg.matrix_power(A, 2.0)
