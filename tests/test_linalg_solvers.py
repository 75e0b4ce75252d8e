"""torch.linalg's solvers and factorizations (mg.linalg.pinv, lstsq, matrix_rank, cond, solve_triangular, lu_factor,
lu, lu_solve, cholesky_ex, inv_ex, solve_ex, tensorinv, tensorsolve), its products (multi_dot, cross, vecdot,
diagonal, vander) and PyTorch's top-level spellings (mg.pinverse, cholesky_solve, triangular_solve, lu, lu_solve,
lu_unpack, inner, chain_matmul, cross) with their Tensor methods.

References, independent of the code under test: numpy (np.linalg.pinv, lstsq, matrix_rank, cond, solve on
triangles built by hand, np.cross), a hand-written LU with partial pivoting (one matrix at a time), closed forms
(A A+ A = A, P L U = A, A X = B) and central differences in float64 of those numpy functions for every gradient
(reverse mode) and tangent (forward mode), on batched full-rank inputs.
"""

import math
import warnings

import numpy as np
import pytest
from test_op_gradients import assert_gradients_match, assert_tangents_match_differences

import microgradseq as mg

RNG = np.random.default_rng(11)


def check_both_modes(mg_fn, np_fn, *arrays):
    assert_gradients_match(mg_fn, np_fn, *arrays)
    assert_tangents_match_differences(mg_fn, np_fn, arrays, [RNG.standard_normal(np.shape(a)) for a in arrays])


def mT(a):
    return np.swapaxes(a, -1, -2)


def well_conditioned(*shape):
    return RNG.standard_normal(shape) + 3 * np.eye(shape[-2], shape[-1])


def reference_lu(A):
    """P, L, U of one matrix by Gaussian elimination with partial pivoting, row by row (the textbook loop)."""
    A = np.array(A, dtype=float)
    m, n = A.shape
    k = min(m, n)
    rows = list(range(m))
    for j in range(k):
        p = j + int(np.argmax(np.abs(A[j:, j])))
        A[[j, p]] = A[[p, j]]
        rows[j], rows[p] = rows[p], rows[j]
        A[j + 1:, j] /= A[j, j]
        A[j + 1:, j + 1:] -= np.outer(A[j + 1:, j], A[j, j + 1:])
    P = np.zeros((m, m))
    P[rows, range(m)] = 1
    return P, np.tril(A[:, :k], -1) + np.eye(m, k), np.triu(A[:k])


def packed(L, U):
    """L's strict lower part and U in one matrix of A's shape (lu_factor's LU)."""
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    if m >= n:
        return np.concatenate([np.tril(L[..., :k, :], -1) + U, L[..., k:, :]], axis=-2)
    return np.concatenate([U[..., :k] + np.tril(L, -1), U[..., k:]], axis=-1)


def batched(function, A, *more):
    """function applied to each matrix of a batch, the results stacked."""
    flat = A.reshape((-1,) + A.shape[-2:])
    parts = [function(a, *(m.reshape((-1,) + m.shape[-2:])[i] for m in more)) for i, a in enumerate(flat)]
    if isinstance(parts[0], tuple):
        return tuple(np.stack(p).reshape(A.shape[:-2] + p[0].shape) for p in zip(*parts))
    return np.stack(parts).reshape(A.shape[:-2] + parts[0].shape)


# ---- pinv, lstsq, matrix_rank, cond ------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 5, 3), (4, 4)])
def test_pinv_matches_numpy_and_the_penrose_identity(shape):
    A = RNG.standard_normal(shape)
    Y = mg.linalg.pinv(mg.tensor(A)).numpy()
    np.testing.assert_allclose(Y, np.linalg.pinv(A), atol=1e-12)
    np.testing.assert_allclose(A @ Y @ A, A, atol=1e-12)
    np.testing.assert_allclose(mg.pinverse(mg.tensor(A)).numpy(), Y, atol=1e-12)
    np.testing.assert_allclose(mg.tensor(A).pinverse().numpy(), Y, atol=1e-12)


def test_pinv_drops_singular_values_below_the_tolerances():
    A = np.diag([4.0, 1e-3, 0.0])
    np.testing.assert_allclose(mg.linalg.pinv(mg.tensor(A)).numpy(), np.diag([0.25, 1e3, 0.0]))
    np.testing.assert_allclose(mg.linalg.pinv(mg.tensor(A), rtol=1e-2).numpy(), np.diag([0.25, 0, 0]))
    np.testing.assert_allclose(mg.linalg.pinv(mg.tensor(A), atol=0.5).numpy(), np.diag([0.25, 0, 0]))
    np.testing.assert_allclose(mg.linalg.pinv(mg.tensor(A), 1e-2).numpy(), np.diag([0.25, 0, 0]))
    symmetric = np.diag([-2.0, 0.5, 0.0])
    np.testing.assert_allclose(mg.linalg.pinv(mg.tensor(symmetric), hermitian=True).numpy(), np.diag([-0.5, 2, 0]))


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 5, 3), (3, 3)])
def test_pinv_gradient_and_tangent(shape):
    check_both_modes(mg.linalg.pinv, np.linalg.pinv, RNG.standard_normal(shape))


def test_lstsq_matches_numpy_with_gelsys_fields():
    A, B = RNG.standard_normal((2, 6, 3)), RNG.standard_normal((2, 6, 2))
    solution, residuals, rank, singular_values = mg.linalg.lstsq(mg.tensor(A), mg.tensor(B))
    for i in range(2):
        x, r, k, _ = np.linalg.lstsq(A[i], B[i], rcond=None)
        np.testing.assert_allclose(solution.numpy()[i], x, atol=1e-12)
        np.testing.assert_allclose(residuals.numpy()[i], r, rtol=1e-10)
        assert rank.numpy()[i] == k
    assert rank.dtype == np.int64 and singular_values.shape == (0,)
    vector = mg.linalg.lstsq(mg.tensor(A), mg.tensor(B[..., 0])).solution
    np.testing.assert_allclose(vector.numpy(), solution.numpy()[..., 0], atol=1e-12)
    gelsd = mg.linalg.lstsq(mg.tensor(A), mg.tensor(B), driver="gelsd")
    np.testing.assert_allclose(gelsd.singular_values.numpy(), np.linalg.svd(A, compute_uv=False), atol=1e-12)
    gels = mg.linalg.lstsq(mg.tensor(A), mg.tensor(B), driver="gels")
    assert gels.rank.shape == (0,) and gels.residuals.shape == (2, 2)


def test_lstsq_of_a_wide_or_rank_deficient_system_has_no_residuals():
    wide = mg.linalg.lstsq(mg.tensor(RNG.standard_normal((3, 5))), mg.tensor(RNG.standard_normal((3, 1))))
    assert wide.residuals.shape == (0,) and wide.rank.item() == 3
    deficient = np.ones((5, 3))
    result = mg.linalg.lstsq(mg.tensor(deficient), mg.tensor(np.arange(5.0)[:, None]))
    assert result.residuals.shape == (0,) and result.rank.item() == 1
    np.testing.assert_allclose(result.solution.numpy(), np.linalg.pinv(deficient) @ np.arange(5.0)[:, None])


def test_lstsq_gradient_and_tangent_through_the_solution():
    check_both_modes(lambda A, B: mg.linalg.lstsq(A, B).solution, lambda A, B: np.linalg.pinv(A) @ B,
                     RNG.standard_normal((2, 5, 3)), RNG.standard_normal((2, 5, 2)))


def test_matrix_rank_matches_numpy():
    A = RNG.standard_normal((3, 5, 2)) @ RNG.standard_normal((3, 2, 4))
    np.testing.assert_array_equal(mg.linalg.matrix_rank(mg.tensor(A)).numpy(), np.linalg.matrix_rank(A))
    assert mg.linalg.matrix_rank(mg.tensor(np.diag([1.0, 1e-3])), atol=1e-2).item() == 1
    assert mg.linalg.matrix_rank(mg.tensor(np.diag([1.0, 1e-3])), 1e-4).item() == 2
    assert mg.linalg.matrix_rank(mg.tensor(np.diag([1.0, -2.0])), hermitian=True).item() == 2


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf])
def test_cond_matches_numpy(p):
    A = RNG.standard_normal((2, 4, 4))
    np.testing.assert_allclose(mg.linalg.cond(mg.tensor(A), p).numpy(), np.linalg.cond(A, p), rtol=1e-10)


def test_cond_of_a_singular_matrix_is_inf_and_of_a_rectangular_one_uses_singular_values():
    assert mg.linalg.cond(mg.tensor(np.zeros((2, 2))), "fro").item() == math.inf
    wide = RNG.standard_normal((3, 5))
    S = np.linalg.svd(wide, compute_uv=False)
    np.testing.assert_allclose(mg.linalg.cond(mg.tensor(wide)).item(), S[0] / S[-1])


@pytest.mark.parametrize("p", [None, "fro", 1])
def test_cond_gradient_and_tangent(p):
    check_both_modes(lambda A: mg.linalg.cond(A, p), lambda A: np.linalg.cond(A, p), RNG.standard_normal((2, 3, 3)))


# ---- triangular solves -------------------------------------------------------------------------------------

def triangle(A, upper, unitriangular):
    T = np.triu(A, int(unitriangular)) if upper else np.tril(A, -int(unitriangular))
    return T + np.eye(A.shape[-1]) if unitriangular else T


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [False, True])
def test_solve_triangular_solves_and_has_pytorchs_gradient_and_tangent(upper, left, unitriangular):
    A = well_conditioned(2, 1, 3, 3)                    # batch axes broadcast against B's
    B = RNG.standard_normal((4, 3, 2) if left else (4, 2, 3))
    T = triangle(A, upper, unitriangular)
    X = mg.linalg.solve_triangular(mg.tensor(A), mg.tensor(B), upper=upper, left=left,
                                   unitriangular=unitriangular).numpy()
    np.testing.assert_allclose(T @ X if left else X @ T, np.broadcast_to(B, X.shape), atol=1e-12)

    def np_fn(A, B):
        T = triangle(A, upper, unitriangular)
        return np.linalg.solve(T, B) if left else mT(np.linalg.solve(mT(T), mT(B)))
    check_both_modes(lambda A, B: mg.linalg.solve_triangular(A, B, upper=upper, left=left,
                                                             unitriangular=unitriangular), np_fn, A, B)


def test_triangular_gradient_lives_on_the_triangle_read():
    A = mg.tensor(well_conditioned(3, 3), requires_grad=True)
    B = mg.tensor(RNG.standard_normal((3, 2)))
    mg.linalg.solve_triangular(A, B, upper=True, unitriangular=True).sum().backward()
    np.testing.assert_array_equal(np.tril(A.grad), 0)


def test_deprecated_triangular_solve_takes_b_then_a_and_clones_a():
    A, b = well_conditioned(2, 3, 3), RNG.standard_normal((2, 3, 2))
    solution, clone = mg.triangular_solve(mg.tensor(b), mg.tensor(A))
    np.testing.assert_allclose(solution.numpy(), np.linalg.solve(np.triu(A), b), atol=1e-12)
    np.testing.assert_array_equal(clone.numpy(), A)
    transposed = mg.tensor(b).triangular_solve(mg.tensor(A), upper=False, transpose=True).solution
    np.testing.assert_allclose(transposed.numpy(), np.linalg.solve(mT(np.tril(A)), b), atol=1e-12)
    check_both_modes(lambda b, A: mg.triangular_solve(b, A, transpose=True)[0],
                     lambda b, A: np.linalg.solve(mT(np.triu(A)), b), b, A)


def test_cholesky_solve_solves_and_has_pytorchs_gradient():
    X0 = RNG.standard_normal((2, 3, 3))
    A = X0 @ mT(X0) + 3 * np.eye(3)
    L, B = np.linalg.cholesky(A), RNG.standard_normal((2, 3, 2))
    for upper in (False, True):
        factor = mT(L) if upper else L
        X = mg.cholesky_solve(mg.tensor(B), mg.tensor(factor), upper=upper).numpy()
        np.testing.assert_allclose(X, np.linalg.solve(A, B), atol=1e-12)
        np.testing.assert_allclose(mg.tensor(B).cholesky_solve(mg.tensor(factor), upper).numpy(), X, atol=1e-12)
    assert_gradients_match(lambda B: mg.cholesky_solve(B, mg.tensor(L)), lambda B: np.linalg.solve(A, B), B)
    L_tensor = mg.tensor(L + np.triu(RNG.standard_normal((3, 3)), 1), requires_grad=True)   # upper part unread
    gX = RNG.standard_normal(B.shape)
    X = mg.cholesky_solve(mg.tensor(B), L_tensor)
    np.testing.assert_allclose(X.numpy(), np.linalg.solve(A, B), atol=1e-12)
    (X * gX).sum().backward()
    G = np.linalg.solve(A, gX)                          # PyTorch's cholesky_solve_backward, on every entry of L
    np.testing.assert_allclose(L_tensor.grad, -((G @ mT(X.numpy()) + X.numpy() @ mT(G)) @ L), atol=1e-12)


def test_cholesky_inverse_inverts_and_has_pytorchs_gradient():
    X0 = RNG.standard_normal((2, 3, 3))
    A = X0 @ mT(X0) + 3 * np.eye(3)
    L = np.linalg.cholesky(A)
    for upper in (False, True):
        factor = mT(L) if upper else L
        np.testing.assert_allclose(mg.cholesky_inverse(mg.tensor(factor), upper=upper).numpy(), np.linalg.inv(A),
                                   atol=1e-12)
        np.testing.assert_allclose(mg.tensor(factor).cholesky_inverse(upper).numpy(), np.linalg.inv(A), atol=1e-12)
    L_tensor = mg.tensor(L + np.triu(RNG.standard_normal((3, 3)), 1), requires_grad=True)   # upper part unread
    g = RNG.standard_normal(A.shape)
    (mg.cholesky_inverse(L_tensor) * g).sum().backward()
    inverse = np.linalg.inv(A)                          # PyTorch's cholesky_inverse_backward, on every entry of L
    np.testing.assert_allclose(L_tensor.grad, -(inverse @ (g + mT(g)) @ inverse) @ L, atol=1e-12)
    with pytest.raises(ValueError, match="cholesky_inverse"):
        mg.cholesky_inverse(mg.ones(2, 3))


# ---- LU ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 4, 4), (3, 5), (5, 3)])
def test_lu_factors_as_the_textbook_elimination(shape):
    A = RNG.standard_normal(shape)
    P, L, U = mg.linalg.lu(mg.tensor(A))
    expected = batched(reference_lu, A)
    for got, want in zip((P, L, U), expected):
        np.testing.assert_allclose(got.numpy(), want, atol=1e-12)
    np.testing.assert_allclose(P.numpy() @ L.numpy() @ U.numpy(), A, atol=1e-12)
    np.testing.assert_array_equal(np.diagonal(L.numpy(), axis1=-2, axis2=-1), 1)
    LU, pivots = mg.linalg.lu_factor(mg.tensor(A))
    np.testing.assert_allclose(LU.numpy(), packed(*expected[1:]), atol=1e-12)
    k = min(shape[-2:])
    assert pivots.dtype == np.int32 and pivots.shape == shape[:-2] + (k,)
    P2, L2, U2 = mg.lu_unpack(LU, pivots)
    for got, want in zip((P2, L2, U2), (P, L, U)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 3), (3, 5), (5, 3)])
@pytest.mark.parametrize("factor", [1, 2])
def test_lu_gradient_and_tangent_of_each_factor(shape, factor):
    check_both_modes(lambda A: mg.linalg.lu(A)[factor], lambda A: batched(reference_lu, A)[factor],
                     RNG.standard_normal(shape))


@pytest.mark.parametrize("shape", [(2, 3, 3), (3, 5), (5, 3)])
def test_lu_factor_gradient_and_tangent(shape):
    def np_fn(A):
        return packed(*batched(reference_lu, A)[1:])
    check_both_modes(lambda A: mg.linalg.lu_factor(A).LU, np_fn, RNG.standard_normal(shape))


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_solves_and_differentiates_in_lu_and_b(left, adjoint):
    A = RNG.standard_normal((2, 4, 4))
    B = RNG.standard_normal((2, 4, 3) if left else (2, 3, 4))
    LU, pivots = mg.linalg.lu_factor(mg.tensor(A))
    X = mg.linalg.lu_solve(LU, pivots, mg.tensor(B), left=left, adjoint=adjoint).numpy()
    system = mT(A) if adjoint else A
    np.testing.assert_allclose(system @ X if left else X @ system, B, atol=1e-12)
    P = batched(reference_lu, A)[0]

    def np_fn(LU, B):                                   # A = P L U from the packed entries, P fixed
        M = P @ (np.tril(LU, -1) + np.eye(4)) @ np.triu(LU)
        M = mT(M) if adjoint else M
        return np.linalg.solve(M, B) if left else mT(np.linalg.solve(mT(M), mT(B)))
    check_both_modes(lambda LU, B: mg.linalg.lu_solve(LU, pivots, B, left=left, adjoint=adjoint), np_fn,
                     LU.numpy(), B)


def test_deprecated_lu_and_lu_solve_spellings():
    A, b = RNG.standard_normal((2, 3, 3)), RNG.standard_normal((2, 3, 1))
    LU, pivots = mg.lu(mg.tensor(A))
    np.testing.assert_allclose(mg.lu_solve(mg.tensor(b), LU, pivots).numpy(), np.linalg.solve(A, b), atol=1e-12)
    np.testing.assert_allclose(mg.tensor(b).lu_solve(LU, pivots).numpy(), np.linalg.solve(A, b), atol=1e-12)
    _, _, infos = mg.tensor(A).lu(get_infos=True)
    assert infos.dtype == np.int32 and infos.tolist() == [0, 0]
    P, L, U = mg.lu_unpack(LU, pivots, unpack_data=False)
    assert L.shape == (0,) and U.shape == (0,) and P.shape == (2, 3, 3)


# ---- the _ex variants --------------------------------------------------------------------------------------

def test_ex_variants_report_info_per_matrix_and_nan_there():
    good = well_conditioned(3, 3)
    singular = np.array([[1.0, 2, 3], [2, 4, 6], [0, 1, 1]])
    A = np.stack([good, singular])
    inverse, info = mg.linalg.inv_ex(mg.tensor(A))
    assert info.dtype == np.int32 and info.tolist()[0] == 0 and info.tolist()[1] > 0
    np.testing.assert_allclose(inverse.numpy()[0], np.linalg.inv(good), atol=1e-12)
    assert np.isnan(inverse.numpy()[1]).all()
    B = RNG.standard_normal((2, 3, 2))
    result, info = mg.linalg.solve_ex(mg.tensor(A), mg.tensor(B))
    np.testing.assert_allclose(result.numpy()[0], np.linalg.solve(good, B[0]), atol=1e-12)
    assert info.tolist()[1] > 0
    not_positive = np.array([[[4.0, 2, 0], [2, 5, 0], [0, 0, 1]], [[1.0, 2, 0], [2, 1, 0], [0, 0, 1]]])
    L, info = mg.linalg.cholesky_ex(mg.tensor(not_positive))
    assert info.tolist() == [0, 2]                       # the leading minor of order 2 is not positive-definite
    np.testing.assert_allclose(L.numpy()[0], np.linalg.cholesky(not_positive[0]), atol=1e-12)


def test_ex_variants_gradient_and_tangent_where_they_succeed():
    check_both_modes(lambda A: mg.linalg.inv_ex(A).inverse, np.linalg.inv, well_conditioned(2, 3, 3))
    check_both_modes(lambda A, B: mg.linalg.solve_ex(A, B).result, np.linalg.solve, well_conditioned(2, 3, 3),
                     RNG.standard_normal((2, 3, 2)))


@pytest.mark.parametrize("function, args, message", [
    (mg.linalg.inv_ex, (np.zeros((2, 2)),), r"linalg.inv_ex: The diagonal element 1 is zero"),
    (mg.linalg.solve_ex, (np.stack([np.eye(2), np.zeros((2, 2))]), np.ones((2, 2, 1))),
     r"linalg.solve_ex: \(Batch element 1\): The diagonal element 1 is zero"),
    (mg.linalg.cholesky_ex, (-np.eye(2),), r"linalg.cholesky_ex: .*leading minor of order 1"),
])
def test_ex_variants_raise_with_check_errors(function, args, message):
    with pytest.raises(mg.linalg.LinAlgError, match=message):
        function(*[mg.tensor(a) for a in args], check_errors=True)


# ---- products ----------------------------------------------------------------------------------------------

def test_multi_dot_matches_the_product_and_drops_vector_axes():
    a, B, C, d = (RNG.standard_normal(s) for s in [(4,), (4, 6), (6, 2), (2,)])
    np.testing.assert_allclose(mg.linalg.multi_dot([mg.tensor(B), mg.tensor(C)]).numpy(), B @ C, atol=1e-12)
    out = mg.linalg.multi_dot([mg.tensor(x) for x in (a, B, C, d)])
    assert out.shape == () and np.isclose(out.item(), a @ B @ C @ d)
    np.testing.assert_allclose(mg.chain_matmul(mg.tensor(B), mg.tensor(C), mg.tensor(C.T)).numpy(), B @ C @ C.T)
    check_both_modes(lambda a, B, C: mg.linalg.multi_dot([a, B, C]), lambda a, B, C: a @ B @ C, a, B, C)


@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_cross_matches_numpy_with_broadcasting(dim):
    shape = [2, 4, 5]
    shape[dim] = 3
    broadcast = list(shape)
    broadcast[(dim + 1) % 3] = 1                        # b broadcasts along another axis
    a, b = RNG.standard_normal(shape), RNG.standard_normal(broadcast)
    expected = np.cross(a, b, axis=dim)
    np.testing.assert_allclose(mg.linalg.cross(mg.tensor(a), mg.tensor(b), dim=dim).numpy(), expected, atol=1e-12)
    check_both_modes(lambda a, b: mg.linalg.cross(a, b, dim=dim), lambda a, b: np.cross(a, b, axis=dim), a, b)


def test_top_level_cross_defaults_to_the_first_axis_of_size_3_with_pytorchs_warning():
    a, b = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
    with pytest.warns(UserWarning, match="without specifying the dim arg is deprecated"):
        out = mg.cross(mg.tensor(a), mg.tensor(b))
    np.testing.assert_allclose(out.numpy(), np.cross(a, b, axis=0), atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(mg.tensor(a).cross(mg.tensor(b), dim=1).numpy(), np.cross(a, b), atol=1e-12)


def test_vecdot_inner_and_diagonal():
    x, y = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((3, 4))
    np.testing.assert_allclose(mg.linalg.vecdot(mg.tensor(x), mg.tensor(y)).numpy(), (x * y).sum(-1))
    np.testing.assert_allclose(mg.linalg.vecdot(mg.tensor(x), mg.tensor(y[:, :1]), dim=1).numpy(),
                               (x * y[:, :1]).sum(1))
    check_both_modes(lambda x, y: mg.linalg.vecdot(x, y, dim=-2), lambda x, y: (x * y).sum(-2), x, y)
    np.testing.assert_allclose(mg.inner(mg.tensor(x), mg.tensor(y)).numpy(), np.inner(x, y), atol=1e-12)
    np.testing.assert_allclose(mg.tensor(x).inner(mg.tensor(y)).numpy(), np.inner(x, y), atol=1e-12)
    check_both_modes(mg.inner, np.inner, x, y)
    np.testing.assert_array_equal(mg.linalg.diagonal(mg.tensor(x), offset=1).numpy(),
                                  np.diagonal(x, 1, axis1=-2, axis2=-1))


def test_vander_is_increasing_powers_along_a_new_last_axis():
    x = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(mg.linalg.vander(mg.tensor(x)).numpy(), np.stack([np.vander(r, increasing=True)
                                                                                for r in x]), atol=1e-12)
    assert mg.linalg.vander(mg.tensor([1, 2, 3]), N=4).tolist()[2] == [1, 3, 9, 27]
    check_both_modes(lambda x: mg.linalg.vander(x, N=4), lambda x: x[..., None] ** np.arange(4), x)


def test_tensorinv_and_tensorsolve_match_numpy():
    A = RNG.standard_normal((4, 6, 8, 3))
    np.testing.assert_allclose(mg.linalg.tensorinv(mg.tensor(A), ind=2).numpy(), np.linalg.tensorinv(A, 2),
                               atol=1e-10)
    S, B = RNG.standard_normal((2, 3, 6)), RNG.standard_normal((2, 3))
    np.testing.assert_allclose(mg.linalg.tensorsolve(mg.tensor(S), mg.tensor(B)).numpy(), np.linalg.tensorsolve(S, B),
                               atol=1e-10)
    moved = RNG.standard_normal((6, 2, 3))
    np.testing.assert_allclose(mg.linalg.tensorsolve(mg.tensor(moved), mg.tensor(B), dims=(0,)).numpy(),
                               np.linalg.tensorsolve(moved, B, axes=(0,)), atol=1e-10)
    check_both_modes(lambda A: mg.linalg.tensorinv(A, 1), lambda A: np.linalg.tensorinv(A, 1),
                     well_conditioned(4, 4).reshape(4, 2, 2))
    check_both_modes(mg.linalg.tensorsolve, np.linalg.tensorsolve, well_conditioned(6, 6).reshape(2, 3, 6), B)


# ---- errors ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.linalg.solve_triangular(mg.tensor(np.eye(3)), mg.tensor(np.ones((2, 1))), upper=True), ValueError,
     r"linalg.solve_triangular: incompatible shapes of A and B .*\(3, 3\) and \(2, 1\)"),
    (lambda: mg.linalg.solve_triangular(mg.tensor(np.zeros((2, 2))), mg.tensor(np.ones((2, 1))), upper=True),
     mg.linalg.LinAlgError, "linalg.solve_triangular: the triangular matrix has a zero on its diagonal"),
    (lambda: mg.linalg.pinv(mg.tensor([1.0, 2.0])), ValueError, r"linalg.pinv: expected a matrix .* shape \(2,\)"),
    (lambda: mg.linalg.lstsq(mg.tensor(np.ones((3, 2))), mg.tensor(np.ones((4, 1)))), ValueError,
     r"linalg.lstsq: input.size\(-2\) should match other.size\(-2\)"),
    (lambda: mg.linalg.lstsq(mg.tensor(np.ones((3, 2))), mg.tensor(np.ones((3, 1))), driver="qr"), ValueError,
     r"linalg.lstsq: parameter `driver` should be one of .* got 'qr'"),
    (lambda: mg.linalg.cond(mg.tensor(np.eye(2)), 3), ValueError, "linalg.cond got an invalid norm type: 3"),
    (lambda: mg.linalg.cond(mg.tensor(np.ones((2, 3))), "fro"), ValueError, r"linalg.cond: A must be batches of "),
    (lambda: mg.linalg.multi_dot([mg.tensor(np.ones((2, 3)))]), ValueError,
     "linalg.multi_dot: expected at least 2 tensors but got 1"),
    (lambda: mg.linalg.multi_dot([mg.tensor(np.ones((2, 3))), mg.tensor(np.ones((4, 2)))]), ValueError,
     r"linalg.multi_dot: tensors 0 and 1 with shapes \(2, 3\) and \(4, 2\) cannot be multiplied"),
    (lambda: mg.linalg.multi_dot([mg.tensor(np.ones((2, 3, 3))), mg.tensor(np.ones(3))]), ValueError,
     "linalg.multi_dot: the first tensor must be 1D or 2D but got 3D"),
    (lambda: mg.linalg.cross(mg.tensor(np.ones(4)), mg.tensor(np.ones(4))), ValueError,
     r"linalg.cross: inputs dimension -1 must have length 3. Got shapes \(4,\) and \(4,\)"),
    (lambda: mg.linalg.lu(mg.tensor(np.eye(2)), pivot=False), RuntimeError, "linalg.lu: LU without pivoting"),
    (lambda: mg.linalg.lu_factor(mg.tensor([[1, 2], [3, 4]])), TypeError, "linalg.lu_factor: expected a real "),
    (lambda: mg.linalg.lu_solve(mg.tensor(np.eye(2)), mg.tensor([0, 1]), mg.tensor(np.ones((2, 1)))), ValueError,
     r"linalg.lu_solve: pivots must be integers from 1 to 2"),
    (lambda: mg.linalg.tensorinv(mg.tensor(np.ones((2, 3))), 1), ValueError, r"linalg.tensorinv: .* 3 != 2"),
    (lambda: mg.linalg.vander(mg.tensor([1.0, 2.0]), N=1), ValueError, "linalg.vander: N must be greater than 1"),
    (lambda: mg.inner(mg.tensor(np.ones(2)), mg.tensor(np.ones(3))), ValueError,
     r"inner: the last dimension must match .* \(2,\) and \(3,\)"),
    (lambda: mg.chain_matmul(mg.tensor(np.ones(2))), ValueError, "chain_matmul: expected one or more 2-d matrices"),
])
def test_bad_input_is_refused_naming_the_function_and_what_came(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_refused_call_leaves_its_inputs_unchanged():
    A = mg.tensor(np.zeros((2, 2)), requires_grad=True)
    with pytest.raises(mg.linalg.LinAlgError):
        mg.linalg.inv_ex(A, check_errors=True)
    np.testing.assert_array_equal(A.numpy(), 0)
    assert A.grad is None


def test_complex_eig_stays_out():
    assert not hasattr(mg.linalg, "eig") and not hasattr(mg.linalg, "eigvals")
