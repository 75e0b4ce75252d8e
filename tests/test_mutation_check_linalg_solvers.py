"""Tests written from a mutation check of the linear algebra added with the solvers (ops/solvers.py's
solve_triangular, lu and pinv primitives; linalg_solvers.py's lu_factor, lu_solve, lu_unpack, lstsq,
matrix_rank, cholesky_ex, inv_ex, pinverse, triangular_solve, cholesky_solve; linalg.py's cond, multi_dot,
cross, vecdot, vander, tensorinv, tensorsolve, inner, chain_matmul, solve_ex): each pins a behaviour that a
hand-made wrong implementation changed without any other test noticing. Expected values come from closed
forms (diagonal matrices, whose singular values are exact), hand-written numpy, and PyTorch's documented
rules (torch/linalg/__init__.py docstrings; aten/src/ATen/native/LinearAlgebra.cpp's get_atol_rtol,
linalg_pinv and matrix_rank_impl), never from the library's own output."""

import math
import warnings

import numpy as np
import pytest

import microgradseq as mg

EPS = np.finfo(np.float64).eps


def tall_diagonal(values, rows):
    """A (rows, len(values)) matrix with `values` on its diagonal: its singular values are exactly |values|."""
    A = np.zeros((rows, len(values)))
    A[range(len(values)), range(len(values))] = values
    return A


# ---- solve_triangular ----------------------------------------------------------------------------------

def test_solve_triangular_refuses_an_integer_b():
    """PyTorch's solve_triangular takes floating B only; the library's check names the function."""
    with pytest.raises(ValueError, match="linalg.solve_triangular: expected B a real floating-point"):
        mg.linalg.solve_triangular(mg.tensor(np.eye(2)), mg.tensor(np.ones((2, 1), dtype=np.int64)), upper=True)


def test_solve_triangular_refuses_a_non_square_a_whose_columns_match_b():
    """A (3, 2) with B (2, 1): the columns match B's rows, but A must be square (PyTorch's checkIsSquareMatrix)."""
    with pytest.raises(ValueError, match="linalg.solve_triangular: incompatible shapes .* A must be square"):
        mg.linalg.solve_triangular(mg.tensor(np.ones((3, 2))), mg.tensor(np.ones((2, 1))), upper=True)


def test_solve_triangular_tangent_of_an_unbatched_a_against_a_batch_of_b():
    """Forward mode with A (3, 3) broadcast against B (2, 3, 2): dX = -T^-1 triu(dA) X (the closed form of
    PyTorch's linalg_solve_triangular_forward_AD), of the output's batch shape."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    B = rng.standard_normal((2, 3, 2))
    V = rng.standard_normal((3, 3))
    T = np.triu(A)
    X = np.linalg.solve(T, B)
    _, tangent = mg.jvp(lambda A: mg.linalg.solve_triangular(A, mg.tensor(B), upper=True), (mg.tensor(A),), (V,))
    np.testing.assert_allclose(np.asarray(tangent), -np.linalg.solve(T, np.triu(V) @ X), atol=1e-12)


# ---- LU ------------------------------------------------------------------------------------------------

def test_lu_of_a_zero_column_leaves_it_unscaled_as_getrf():
    """LAPACK's getrf skips the scaling of a column whose pivot is 0: A = [[0, 1], [0, 2]] is P = L = I,
    U = A (no nan), pivots [1, 2]; inv_ex reports the zero pivot 1."""
    A = np.array([[0.0, 1.0], [0.0, 2.0]])
    P, L, U = mg.linalg.lu(mg.tensor(A))
    np.testing.assert_array_equal(P.numpy(), np.eye(2))
    np.testing.assert_array_equal(L.numpy(), np.eye(2))
    np.testing.assert_array_equal(U.numpy(), A)
    LU, pivots = mg.linalg.lu_factor(mg.tensor(A))
    np.testing.assert_array_equal(LU.numpy(), A)
    assert pivots.tolist() == [1, 2]
    assert mg.linalg.inv_ex(mg.tensor(A)).info.item() == 1


@pytest.mark.parametrize("pivots, why", [(np.array([1.0, 2.0]), "float"), (np.array([3, 2], np.int32), "too big")])
def test_lu_solve_refuses_pivots_that_are_not_integers_from_1_to_n(pivots, why):
    with pytest.raises(ValueError, match="linalg.lu_solve: pivots must be integers from 1 to 2"):
        mg.linalg.lu_solve(mg.tensor(np.eye(2)), mg.tensor(pivots), mg.tensor(np.ones((2, 1))))


def test_lu_solve_refuses_a_non_square_lu_naming_itself():
    with pytest.raises(ValueError, match="linalg.lu_solve: A must be batches of square matrices"):
        mg.linalg.lu_solve(mg.tensor(np.ones((3, 2))), mg.tensor(np.array([1, 2], np.int32)),
                           mg.tensor(np.ones((2, 1))))


def test_lu_unpack_leaves_p_empty_without_unpack_pivots_and_keeps_the_dtype():
    """torch.lu_unpack: an output not unpacked is an empty tensor of LU_data's dtype."""
    LU = np.array([[2.0, 1.0], [0.5, 3.0]], dtype=np.float32)
    P, L, U = mg.lu_unpack(mg.tensor(LU), mg.tensor(np.array([1, 2], np.int32)), unpack_pivots=False)
    assert P.shape == (0,) and P.dtype == np.float32
    np.testing.assert_array_equal(L.numpy(), [[1, 0], [0.5, 1]])
    np.testing.assert_array_equal(U.numpy(), [[2, 1], [0, 3]])
    P, L, U = mg.lu_unpack(mg.tensor(LU), mg.tensor(np.array([2, 2], np.int32)), unpack_data=False)
    assert L.shape == (0,) and L.dtype == np.float32 and U.dtype == np.float32
    np.testing.assert_array_equal(P.numpy(), [[0, 1], [1, 0]])


# ---- the _ex variants ----------------------------------------------------------------------------------

def test_ex_error_names_the_flattened_batch_element():
    """PyTorch's "(Batch element i)" counts over the flattened batch: a (2, 2) batch failing at [1, 0] is 2."""
    A = np.broadcast_to(np.eye(2), (2, 2, 2, 2)).copy()
    A[1, 0] = 0.0
    with pytest.raises(mg.linalg.LinAlgError, match=r"linalg.inv_ex: \(Batch element 2\): The diagonal element 1"):
        mg.linalg.inv_ex(mg.tensor(A), check_errors=True)


def test_cholesky_ex_reports_a_failure_at_the_last_leading_minor():
    """[[1, 2], [2, 1]]: the minor of order 1 is positive, of order 2 (det -3) not: info 2 (LAPACK's potrf)."""
    L, info = mg.linalg.cholesky_ex(mg.tensor(np.array([[1.0, 2.0], [2.0, 1.0]])))
    assert info.item() == 2 and info.dtype == np.int32
    assert np.isnan(L.numpy()).all()
    with pytest.raises(mg.linalg.LinAlgError, match="leading minor of order 2"):
        mg.linalg.cholesky_ex(mg.tensor(np.array([[1.0, 2.0], [2.0, 1.0]])), check_errors=True)


def test_cholesky_ex_upper_gives_the_upper_factor():
    """upper=True: U with A = U^T U, U = L^T."""
    A = np.array([[4.0, 2.0], [2.0, 5.0]])
    U, info = mg.linalg.cholesky_ex(mg.tensor(A), upper=True)
    np.testing.assert_allclose(U.numpy(), np.linalg.cholesky(A).T, atol=1e-12)
    assert info.item() == 0


def test_solve_ex_honours_left_false():
    """left=False solves X A = B."""
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal((2, 3))
    X, info = mg.linalg.solve_ex(mg.tensor(A), mg.tensor(B), left=False)
    np.testing.assert_allclose(X.numpy(), B @ np.linalg.inv(A), atol=1e-12)
    assert info.item() == 0


# ---- the tolerances of pinv, matrix_rank and lstsq ----------------------------------------------------------

def test_default_rtol_is_eps_times_the_larger_dimension():
    """rtol = eps max(m, n) by default: for (6, 3) with singular values 1, 0.5, 4.5 eps the last is below
    6 eps (dropped), though above 3 eps = eps min(m, n)."""
    A = tall_diagonal([1.0, 0.5, 4.5 * EPS], 6)
    expected = tall_diagonal([1.0, 2.0, 0.0], 6).T
    np.testing.assert_array_equal(mg.linalg.pinv(mg.tensor(A)).numpy(), expected)
    assert mg.linalg.matrix_rank(mg.tensor(A)).item() == 2
    B = np.arange(6.0)[:, None]
    result = mg.linalg.lstsq(mg.tensor(A), mg.tensor(B))
    assert result.rank.item() == 2
    np.testing.assert_allclose(result.solution.numpy(), expected @ B)


def test_atol_zero_keeps_the_default_rtol():
    """get_atol_rtol: rtol falls to 0 only where atol > 0; atol = 0 keeps eps max(m, n), dropping 1e-17."""
    A = np.diag([1.0, 1e-17])
    np.testing.assert_array_equal(mg.linalg.pinv(mg.tensor(A), atol=0.0).numpy(), np.diag([1.0, 0.0]))
    assert mg.linalg.matrix_rank(mg.tensor(A), atol=0.0).item() == 1


def test_a_batch_of_atol_sets_rtol_per_matrix():
    A = np.stack([np.diag([1.0, 1e-17]), np.diag([1.0, 0.25])])
    atol = mg.tensor([0.0, 0.5])
    np.testing.assert_array_equal(mg.linalg.pinv(mg.tensor(A), atol=atol).numpy(),
                                  np.stack([np.diag([1.0, 0.0])] * 2))
    assert mg.linalg.matrix_rank(mg.tensor(A), atol=atol).tolist() == [1, 1]


def test_a_singular_value_at_the_threshold_is_dropped():
    """PyTorch keeps S > tol: a singular value equal to max(atol, rtol s_1) counts as zero."""
    A = np.diag([1.0, 0.5])
    np.testing.assert_array_equal(mg.linalg.pinv(mg.tensor(A), atol=0.5).numpy(), np.diag([1.0, 0.0]))
    assert mg.linalg.matrix_rank(mg.tensor(A), atol=0.5).item() == 1
    assert mg.linalg.matrix_rank(mg.tensor(A), rtol=0.5).item() == 1


def test_hermitian_tolerance_is_relative_to_the_largest_eigenvalue_magnitude():
    """eigh's eigenvalues come in ascending order: rtol multiplies max |lambda| (4), not the first (0.5)."""
    A = np.diag([4.0, 0.5])
    np.testing.assert_array_equal(mg.linalg.pinv(mg.tensor(A), hermitian=True, rtol=0.2).numpy(),
                                  np.diag([0.25, 0.0]))
    assert mg.linalg.matrix_rank(mg.tensor(A), hermitian=True, rtol=0.2).item() == 1


def test_hermitian_reads_the_lower_triangle_only():
    """With hermitian=True only the lower triangle is used (as eigh's): [[1, 5], [1, 1]] is read as
    [[1, 1], [1, 1]], eigenvalues 0 and 2, rank 1 and pinv [[1, 1], [1, 1]] / 4."""
    A = np.array([[1.0, 5.0], [1.0, 1.0]])
    assert mg.linalg.matrix_rank(mg.tensor(A), hermitian=True).item() == 1
    np.testing.assert_allclose(mg.linalg.pinv(mg.tensor(A), hermitian=True).numpy(), np.full((2, 2), 0.25),
                               atol=1e-12)


def test_matrix_rank_tol_is_atol_with_rtol_zero():
    """The older overload matrix_rank(A, tol): atol = tol, rtol = 0 (even for tol = 0, keeping 1e-17)."""
    assert mg.linalg.matrix_rank(mg.tensor(np.diag([1.0, 1e-17])), 0.0).item() == 2


def test_matrix_rank_of_an_empty_matrix_is_zero():
    """matrix_rank_impl: an input with no elements has rank 0."""
    out = mg.linalg.matrix_rank(mg.tensor(np.zeros((2, 3, 0))))
    assert out.dtype == np.int64 and out.tolist() == [0, 0]


def test_pinverse_default_rcond_is_1e_15():
    """torch.pinverse(input, rcond=1e-15): a singular value of 5e-16 is dropped (above eps max(m, n) = 4.4e-16)."""
    np.testing.assert_array_equal(mg.pinverse(mg.tensor(np.diag([1.0, 5e-16]))).numpy(), np.diag([1.0, 0.0]))


def test_lstsq_refuses_a_b_with_more_axes_than_a():
    with pytest.raises(ValueError, match=r"linalg.lstsq: input.dim\(\) must be greater or equal to other.dim\(\)"):
        mg.linalg.lstsq(mg.tensor(np.ones((3, 2))), mg.tensor(np.ones((2, 3, 1))))


def test_lstsq_gelss_gives_singular_values_and_a_square_system_no_residuals():
    """Drivers gelsd and gelss compute the singular values; residuals only when m > n (docs)."""
    A = tall_diagonal([3.0, 2.0], 4)
    out = mg.linalg.lstsq(mg.tensor(A), mg.tensor(np.ones((4, 1))), driver="gelss")
    np.testing.assert_allclose(out.singular_values.numpy(), [3.0, 2.0])
    np.testing.assert_allclose(out.residuals.numpy(), [2.0])          # rows 3 and 4 unreached: 1 + 1
    square = mg.linalg.lstsq(mg.tensor(np.diag([2.0, 4.0])), mg.tensor(np.ones((2, 1))))
    assert square.residuals.shape == (0,)
    np.testing.assert_allclose(square.solution.numpy(), [[0.5], [0.25]])


# ---- triangular and Cholesky solves ------------------------------------------------------------------------

def test_triangular_solve_honours_unitriangular_and_returns_a_copy_of_a():
    A = np.array([[2.0, 1.0], [0.0, 4.0]])
    b = np.array([[3.0], [1.0]])
    A_tensor = mg.tensor(A)
    solution, clone = mg.triangular_solve(mg.tensor(b), A_tensor, unitriangular=True)
    np.testing.assert_allclose(solution.numpy(), np.linalg.solve(np.array([[1.0, 1.0], [0.0, 1.0]]), b))
    assert clone is not A_tensor
    np.testing.assert_array_equal(clone.numpy(), A)


def test_cholesky_solve_refuses_b_of_the_wrong_rows():
    with pytest.raises(ValueError, match=r"cholesky_solve: B must be matrices \(\.\.\., 2, k\)"):
        mg.cholesky_solve(mg.tensor(np.ones((3, 1))), mg.tensor(np.eye(2)))


# ---- cond, products ----------------------------------------------------------------------------------------

def test_cond_refuses_an_unknown_string_norm():
    with pytest.raises(ValueError, match="linalg.cond got an invalid norm type: 'abc'"):
        mg.linalg.cond(mg.tensor(np.eye(2)), "abc")


def test_multi_dot_multiplies_in_the_order_of_fewest_scalar_products(monkeypatch):
    """PyTorch's matrix_chain_order: for (10, 100), (100, 5), (5, 50), (A B) C costs 5000 + 2500 products
    and A (B C) 25000 + 50000, so A B is formed first."""
    import microgradseq.linalg as linalg_module
    seen = []
    real = linalg_module.matmul

    def recording(a, b):
        seen.append((a.shape, b.shape))
        return real(a, b)
    monkeypatch.setattr(linalg_module, "matmul", recording)
    rng = np.random.default_rng(2)
    A, B, C = rng.standard_normal((10, 100)), rng.standard_normal((100, 5)), rng.standard_normal((5, 50))
    out = mg.linalg.multi_dot([mg.tensor(A), mg.tensor(B), mg.tensor(C)])
    np.testing.assert_allclose(out.numpy(), A @ B @ C, atol=1e-10)
    assert seen == [((10, 100), (100, 5)), ((10, 5), (5, 50))]


def test_multi_dot_refuses_a_vector_in_the_middle():
    """Only the first and the last tensor may be 1-d (PyTorch: "tensor 1 must be 2D but got 1D")."""
    with pytest.raises(ValueError, match="linalg.multi_dot: tensor 1 must be 2D but got 1D"):
        mg.linalg.multi_dot([mg.tensor(np.ones((2, 3))), mg.tensor(np.ones(3)), mg.tensor(np.ones((3, 2)))])


def test_cross_refuses_an_other_of_length_1_along_dim():
    """linalg.cross needs length 3 along `dim` in both inputs (no broadcasting along it)."""
    with pytest.raises(ValueError, match="linalg.cross: inputs dimension -1 must have length 3"):
        mg.linalg.cross(mg.tensor(np.ones((2, 3))), mg.tensor(np.ones((2, 1))))


def test_inner_with_a_0_d_operand_is_the_product():
    """torch.inner: if either input is a scalar, the result is input * other."""
    b = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(mg.inner(mg.tensor(2.0), mg.tensor(b)).numpy(), 2 * b)
    np.testing.assert_array_equal(mg.inner(mg.tensor(b), mg.tensor(3.0)).numpy(), 3 * b)


@pytest.mark.parametrize("dtype", [np.int32, np.bool_])
def test_vander_of_integers_or_bools_is_int64(dtype):
    """linalg.vander builds cumprod(x) (int64 for integer and bool x, as PyTorch's cumprod) after a column of
    ones of the result's dtype."""
    x = np.array([1, 0, 1], dtype=dtype)
    out = mg.linalg.vander(mg.tensor(x), N=3)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.array([[1, 1, 1], [1, 0, 0], [1, 1, 1]]))


def test_vander_of_a_0_d_tensor_is_one_row():
    """PyTorch's linalg_vander unsqueezes a 0-d x to (1,): x = 2 with N = 3 is [[1, 2, 4]]."""
    out = mg.linalg.vander(mg.tensor(2.0), N=3)
    assert out.shape == (1, 3)
    np.testing.assert_array_equal(out.numpy(), [[1.0, 2.0, 4.0]])


def test_tensorinv_refuses_ind_0():
    with pytest.raises(ValueError, match="linalg.tensorinv: Expected a strictly positive integer for 'ind'"):
        mg.linalg.tensorinv(mg.tensor(np.eye(4)), 0)


def test_tensorsolve_refuses_a_non_square_merge():
    """A (2, 3, 4) against B (2, 3): 6 rows but 4 columns, refused with PyTorch's requirement."""
    with pytest.raises(ValueError, match=r"linalg.tensorsolve: Expected self to satisfy the requirement"):
        mg.linalg.tensorsolve(mg.tensor(np.ones((2, 3, 4))), mg.tensor(np.ones((2, 3))))


def test_vecdot_refuses_a_dim_out_of_range_naming_itself():
    """An out-of-range `dim` is PyTorch's IndexError, the message naming linalg.vecdot."""
    with pytest.raises(IndexError, match="linalg.vecdot: dim 3 is out of range"):
        mg.linalg.vecdot(mg.tensor(np.ones((2, 3))), mg.tensor(np.ones(3)), dim=3)


def test_vander_keeps_a_float32_dtype():
    out = mg.linalg.vander(mg.tensor(np.array([2.0, 3.0], np.float32)))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [[1, 2], [1, 3]])


def test_cond_minus_2_of_a_rectangular_matrix_is_the_ratio_of_singular_values():
    """p = -2 (like None and 2) takes any (m, n): s_min / s_max, 2 / 8 here."""
    A = tall_diagonal([8.0, 2.0], 3)
    assert mg.linalg.cond(mg.tensor(A), -2).item() == 0.25
    assert mg.linalg.cond(mg.tensor(A.T), 2).item() == 4.0


def test_lstsq_residuals_need_every_matrix_of_the_batch_full_rank():
    """residuals: computed when m > n and every matrix in A is full-rank, else empty (docs)."""
    A = np.stack([tall_diagonal([1.0, 2.0], 3), tall_diagonal([1.0, 0.0], 3)])
    out = mg.linalg.lstsq(mg.tensor(A), mg.tensor(np.ones((2, 3, 1))))
    assert out.rank.tolist() == [2, 1]
    assert out.residuals.shape == (0,)


def test_cholesky_ex_info_is_int32_where_it_succeeds_too():
    _, info = mg.linalg.cholesky_ex(mg.tensor(np.stack([np.eye(2), 2 * np.eye(2)])))
    assert info.dtype == np.int32 and info.tolist() == [0, 0]


def test_lstsq_honours_rcond():
    """Singular values at or below rcond s_1 count as zero: rcond 0.6 drops 0.5 of diag(1, 0.5)."""
    out = mg.linalg.lstsq(mg.tensor(np.diag([1.0, 0.5])), mg.tensor(np.ones((2, 1))), rcond=0.6)
    np.testing.assert_array_equal(out.solution.numpy(), [[1.0], [0.0]])
    assert out.rank.item() == 1


def test_lu_factor_without_pivoting_is_refused_as_on_pytorchs_cpu():
    with pytest.raises(RuntimeError, match="LU without pivoting is not implemented"):
        mg.linalg.lu_factor(mg.tensor(np.eye(2)), pivot=False)


def test_the_zero_pivot_reported_is_the_first_zero_of_us_diagonal():
    """[[1, 2], [2, 4]]: rows swapped, U = [[2, 4], [0, 0]]: only U_22 is zero, so LAPACK's info is 2
    (torch.lu's infos, inv_ex's info and the error's "diagonal element 2")."""
    A = np.array([[1.0, 2.0], [2.0, 4.0]])
    _, _, infos = mg.lu(mg.tensor(A), get_infos=True)
    assert infos.item() == 2
    assert mg.linalg.inv_ex(mg.tensor(A)).info.item() == 2
    with pytest.raises(mg.linalg.LinAlgError, match="The diagonal element 2 is zero"):
        mg.linalg.solve_ex(mg.tensor(A), mg.tensor(np.ones((2, 1))), check_errors=True)


def test_top_level_cross_without_dim_and_without_an_axis_of_size_3_is_refused():
    with pytest.raises(ValueError, match="cross: no dimension of size 3"):
        mg.cross(mg.tensor(np.ones((2, 2))), mg.tensor(np.ones((2, 2))))


def test_tensorsolve_takes_dims_as_one_int():
    """dims=0 moves A's axis 0 to the end, as dims=(0,) (numpy's axes=(0,))."""
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((6, 2, 3)), rng.standard_normal((2, 3))
    A = A + 3 * np.eye(6).reshape(6, 2, 3)
    expected = np.linalg.solve(np.moveaxis(A, 0, -1).reshape(6, 6), B.reshape(6))
    np.testing.assert_allclose(mg.linalg.tensorsolve(mg.tensor(A), mg.tensor(B), dims=0).numpy(), expected,
                               atol=1e-12)


def test_vecdot_refuses_shapes_that_do_not_broadcast_naming_itself():
    with pytest.raises(ValueError, match=r"linalg.vecdot: the shapes \(2, 3\) and \(4, 3\) do not broadcast"):
        mg.linalg.vecdot(mg.tensor(np.ones((2, 3))), mg.tensor(np.ones((4, 3))))


def test_linalg_diagonal_defaults_to_the_main_diagonal_of_the_last_two_axes():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(mg.linalg.diagonal(mg.tensor(x)).numpy(), [[0, 5, 10], [12, 17, 22]])


def test_cond_of_a_singular_matrix_is_inf_without_a_warning():
    """s_1 / s_n with s_n = 0 is inf (PyTorch's division), no numpy RuntimeWarning on the way."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mg.linalg.cond(mg.tensor(np.diag([1.0, 0.0]))).item() == math.inf
        assert mg.linalg.cond(mg.tensor(np.diag([1.0, 0.0])), -2).item() == 0.0
