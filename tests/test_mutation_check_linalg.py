"""Tests written from a mutation check of the linear algebra (ops/matrix_functions.py, ops/decompositions.py,
linalg.py): each pins a behaviour that a hand-made wrong implementation changed without any other test
noticing. Expected values come from numpy's np.linalg, closed forms, or the formulas of PyTorch's
FunctionsManual.cpp written out here in numpy (each test says which), never from the library's own output.
The existing tests differentiate only along symmetric directions for cholesky and eigh; the tangent rules
along any direction are PyTorch's formulas, pinned here."""

import math
import warnings

import numpy as np
import pytest
from test_op_gradients import assert_gradients_match

import microgradseq as mg


def spd(rng, n):
    X = rng.standard_normal((n, n))
    return X @ X.T + n * np.eye(n)


# ---- argument checks -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["inv", "det", "matrix_exp", "cholesky", "eigvalsh"])
def test_tall_matrices_are_refused_too(name):
    """A (3, 2) input is not square: PyTorch's squareCheckInputs refuses it as it does a (2, 3) one
    (a check of only one of the two orders would let it through)."""
    with pytest.raises(ValueError, match=rf"linalg.{name}: A must be batches of square matrices .* 3 by 2"):
        getattr(mg.linalg, name)(mg.tensor(np.ones((3, 2))))


def test_eigvalsh_checks_uplo_naming_itself():
    """PyTorch's checkUplo refuses anything but one letter L or U, for eigvalsh as for eigh."""
    with pytest.raises(ValueError, match="linalg.eigvalsh: UPLO must be 'L' or 'U', got 'X'"):
        mg.linalg.eigvalsh(mg.tensor(np.eye(3)), UPLO="X")


@pytest.mark.parametrize("call", [lambda t: mg.linalg.svd(t), lambda t: mg.linalg.svdvals(t),
                                  lambda t: mg.linalg.qr(t)], ids=["svd", "svdvals", "qr"])
def test_decompositions_refuse_integer_matrices(call):
    """torch.linalg.svd / svdvals / qr of an integer tensor is an error ("Expected a floating point or complex
    tensor"); numpy would silently cast it."""
    with pytest.raises(TypeError, match=r"linalg\.(svd|svdvals|qr): expected a real floating-point tensor, "
                                        r"got dtype int64"):
        call(mg.tensor([[1, 2], [3, 4]]))


def test_eigh_accepts_lower_case_uplo_as_pytorch():
    """aten/src/ATen/native/LinearAlgebraUtils.h checkUplo: std::toupper(uplo[0]) must be 'U' or 'L'
    (numpy's eigh upper-cases it too)."""
    A = np.array([[2.0, 1.0], [5.0, 3.0]])
    for uplo in ("l", "u"):
        np.testing.assert_allclose(mg.linalg.eigh(mg.tensor(A), UPLO=uplo).eigenvalues.numpy(),
                                   np.linalg.eigh(A, UPLO=uplo.upper())[0], rtol=1e-12)
        np.testing.assert_allclose(mg.linalg.eigvalsh(mg.tensor(A), UPLO=uplo).numpy(),
                                   np.linalg.eigvalsh(A, UPLO=uplo.upper()), rtol=1e-12)


def test_keyword_only_arguments_are_keyword_only():
    """torch.linalg.cholesky(A, *, upper=False) and torch.linalg.solve(A, B, *, left=True): a second
    positional argument is a TypeError (the deprecated torch.cholesky(A, upper) is the one taking it)."""
    A = mg.tensor(np.eye(2) * 2)
    with pytest.raises(TypeError):
        mg.linalg.cholesky(A, True)
    with pytest.raises(TypeError):
        mg.linalg.solve(A, mg.tensor(np.ones((2, 2))), False)


def test_defaults_are_pytorchs():
    """svd: full_matrices=True; eigh and eigvalsh: UPLO='L' (read on a non-symmetric A); matrix_norm: 'fro'."""
    rng = np.random.default_rng(9)
    tall = rng.standard_normal((4, 3))
    U, S, Vh = mg.linalg.svd(mg.tensor(tall))
    assert U.shape == (4, 4) and S.shape == (3,) and Vh.shape == (3, 3)
    A = rng.standard_normal((3, 3))                     # not symmetric: the triangle read matters
    np.testing.assert_allclose(mg.linalg.eigh(mg.tensor(A)).eigenvalues.numpy(), np.linalg.eigvalsh(np.tril(A) +
                               np.tril(A, -1).T), rtol=1e-12)
    np.testing.assert_allclose(mg.linalg.eigvalsh(mg.tensor(A)).numpy(), np.linalg.eigvalsh(np.tril(A) +
                               np.tril(A, -1).T), rtol=1e-12)
    assert mg.linalg.matrix_norm(mg.tensor(A)).item() == pytest.approx(math.sqrt(np.sum(A * A)), rel=1e-14)


# ---- solve's rules in forward mode with a broadcast batch ------------------------------------------------

def test_solve_jacobian_by_forward_mode_with_one_a_for_a_batch_of_b():
    """jacfwd pushes a batch of directions through solve: A (3, 3) shared by B (2, 3, 2). dX = -A^-1 dA X,
    so d X[b, i, j] / d A[p, q] = -(A^-1)[i, p] X[b, q, j] (the directions' axis must broadcast past B's
    batch axis)."""
    rng = np.random.default_rng(10)
    A, B = rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal((2, 3, 2))
    X, A_inv = np.linalg.solve(A, B), np.linalg.inv(A)
    J = mg.func.jacfwd(lambda a: mg.linalg.solve(a, mg.tensor(B)))(mg.tensor(A))
    np.testing.assert_allclose(np.asarray(J), -np.einsum("ip,bqj->bijpq", A_inv, X), rtol=1e-10, atol=1e-12)


# ---- slogdet ---------------------------------------------------------------------------------------------

def test_slogdet_sign_has_the_dtype_of_a_float32_input():
    """torch.linalg.slogdet's sign has A's dtype (float32 in, float32 sign)."""
    A = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    sign, logabsdet = mg.linalg.slogdet(mg.tensor(A))
    assert sign.dtype == np.float32 and logabsdet.dtype == np.float32
    assert sign.item() == -1.0


def test_slogdet_gradient_at_a_singular_matrix_is_a_linalg_error_naming_slogdet():
    """The gradient g A^-T does not exist at a singular A: PyTorch's backward raises (a LinAlgError, a
    RuntimeError), so does this one, naming the function rather than leaking numpy's error."""
    x = mg.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    _, logabsdet = mg.linalg.slogdet(x)
    with pytest.raises(mg.linalg.LinAlgError, match="linalg.slogdet"):
        logabsdet.backward()


# ---- matrix_exp ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(0, 3, 3), (2, 0, 0), (0, 0)])
def test_matrix_exp_of_no_matrices_is_empty_of_the_same_shape(shape):
    """torch.linalg.matrix_exp of an empty batch (or of 0 by 0 matrices) is an empty tensor of that shape."""
    out = mg.linalg.matrix_exp(mg.tensor(np.zeros(shape)))
    assert out.shape == shape and out.dtype == np.float64


def test_matrix_exp_is_accurate_to_a_few_ulps_at_norm_one():
    """The docstring's scaling keeps ||A / 2^s||_1 <= 1/2, so the degree-16 Taylor remainder is below 1e-19:
    exp(-1) and exp(1) come out within 2 ulps of math.exp (a threshold of 1 instead of 1/2 leaves a
    remainder of ~7e-15 at -1)."""
    values = np.array([-1.0, 1.0, 0.9])
    out = mg.linalg.matrix_exp(mg.tensor(np.diag(values))).numpy()
    np.testing.assert_allclose(np.diagonal(out), np.exp(values), rtol=5e-16, atol=0)


# ---- cholesky --------------------------------------------------------------------------------------------

def test_cholesky_reads_only_the_lower_triangle():
    """As its docstring (and LAPACK's potrf with uplo 'L', which numpy and PyTorch call): the strictly upper
    triangle of A is never read, so a non-symmetric A factors as the symmetric matrix of its lower triangle."""
    rng = np.random.default_rng(3)
    S = spd(rng, 4)
    A = S + np.triu(rng.standard_normal((4, 4)), 1)            # junk above the diagonal
    expected = np.linalg.cholesky(np.tril(A) + np.tril(A, -1).T)
    np.testing.assert_allclose(mg.linalg.cholesky(mg.tensor(A)).numpy(), expected, rtol=1e-12)


def test_cholesky_tangent_along_a_non_symmetric_direction_is_pytorchs_formula():
    """PyTorch's cholesky_jvp: dL = L Phi(L^-1 dA L^-T), Phi the lower triangle with its diagonal halved,
    applied to dA as given (no symmetrisation of dA)."""
    rng = np.random.default_rng(4)
    A, dA = spd(rng, 4), rng.standard_normal((4, 4))
    L = np.linalg.cholesky(A)
    inner = np.linalg.solve(L, dA) @ np.linalg.inv(L).T
    phi = np.tril(inner) - 0.5 * np.diag(np.diag(inner))
    _, tangent = mg.jvp(mg.linalg.cholesky, (mg.tensor(A),), (dA,))
    np.testing.assert_allclose(np.asarray(tangent), L @ phi, rtol=1e-10, atol=1e-12)


# ---- eigh ------------------------------------------------------------------------------------------------

def test_eigenvector_tangent_along_a_non_symmetric_direction_is_pytorchs_formula():
    """PyTorch's linalg_eig_jvp for a Hermitian A: dV = V ((V^T dA V) / E) with E_ij = l_j - l_i and a zero
    diagonal, dA as given (V^T dA V, not V^T dA^T V nor its symmetric part); dl = diag(V^T dA V)."""
    rng = np.random.default_rng(5)
    A = spd(rng, 4)
    dA = rng.standard_normal((4, 4))
    values, V = np.linalg.eigh(A)
    P = V.T @ dA @ V
    E = values[None, :] - values[:, None]
    np.fill_diagonal(E, 1.0)
    quotient = P / E
    np.fill_diagonal(quotient, 0.0)
    (out_values, out_vectors), (d_values, d_vectors) = mg.jvp(lambda a: tuple(mg.linalg.eigh(a)),
                                                             (mg.tensor(A),), (dA,))
    np.testing.assert_allclose(np.asarray(d_values), np.diag(P), rtol=1e-10, atol=1e-12)
    signs = np.sign(np.sum(out_vectors.numpy() * V, axis=0))      # align numpy's vectors with the library's
    np.testing.assert_allclose(np.asarray(d_vectors), (V @ quotient) * signs, rtol=1e-9, atol=1e-11)


def test_svd_gradient_through_the_first_rows_of_a_full_vh_of_a_wide_matrix():
    """With full_matrices a wide A's Vh is (n, n); only its first k = m rows have a gradient (PyTorch's
    svd_backward narrows gVh to them). Squared entries do not depend on the rows' signs, so central
    differences of numpy's svd are the reference."""
    A = np.random.default_rng(11).standard_normal((2, 3, 5))
    assert_gradients_match(lambda t: mg.linalg.svd(t).Vh[..., :3, :] ** 2,
                           lambda a: np.linalg.svd(a)[2][..., :3, :] ** 2, A)


# ---- qr --------------------------------------------------------------------------------------------------

def test_qr_complete_of_a_square_matrix_is_differentiable():
    """PyTorch refuses the gradient of mode='complete' only when nrows > ncols; a square A's complete
    factorisation is its reduced one, with the same gradient."""
    rng = np.random.default_rng(6)
    A = rng.standard_normal((2, 3, 3))
    weights = rng.standard_normal((2, 3, 3))
    grads = []
    for mode in ("complete", "reduced"):
        x = mg.tensor(A, requires_grad=True)
        Q, R = mg.linalg.qr(x, mode=mode)
        ((Q * mg.tensor(weights)).sum() + (R * mg.tensor(weights)).sum()).backward()
        grads.append(x.grad)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_qr_mode_r_gives_an_empty_q_of_the_input_dtype():
    """torch.linalg.qr(A, mode='r') returns an empty Q with A's options (float32 in, float32 Q)."""
    Q, R = mg.linalg.qr(mg.tensor(np.eye(3, dtype=np.float32)), mode="r")
    assert Q.shape == (0,) and Q.dtype == np.float32 and R.dtype == np.float32


# ---- matrix_power ----------------------------------------------------------------------------------------

def test_matrix_power_zero_stays_in_the_graph_with_a_zero_gradient():
    """aten/src/ATen/native/LinearAlgebra.cpp linalg_matrix_power_impl: for n == 0, "Clone input to include
    result in the autograd graph", then copy the identity in: the result requires grad and A's gradient
    is zeros."""
    x = mg.tensor(np.array([[2.0, 1.0], [0.0, 3.0]]), requires_grad=True)
    y = mg.linalg.matrix_power(x, 0)
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 2)))


def test_matrix_power_zero_keeps_the_dtype_of_a_float32_input():
    """The identity of A's options (PyTorch: eye(n, self.options())), batched as A."""
    out = mg.linalg.matrix_power(mg.tensor(np.ones((2, 3, 3), dtype=np.float32)), 0)
    assert out.dtype == np.float32 and out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(np.eye(3, dtype=np.float32), (2, 3, 3)))


def test_matrix_power_refuses_a_bool_exponent():
    """PyTorch's argument parser takes no bool for an int64 argument (THPUtils_checkLong excludes bools)."""
    with pytest.raises(TypeError, match="linalg.matrix_power: n must be an integer, got bool True"):
        mg.linalg.matrix_power(mg.tensor(np.eye(2)), True)


# ---- matrix_norm and norm's matrix orders ----------------------------------------------------------------

def test_matrix_norm_refuses_integer_matrices():
    """torch.linalg.matrix_norm: "Expected a floating point or complex tensor as input"."""
    with pytest.raises(TypeError, match="linalg.matrix_norm: expected a real floating-point tensor, got dtype int64"):
        mg.linalg.matrix_norm(mg.tensor([[1, 2], [3, 4]]))


@pytest.mark.parametrize("dim", [(0, -2), (1, -1), (0, 2), (0, 3), (-3, 0)])
def test_matrix_norm_refuses_a_repeated_or_out_of_range_axis(dim):
    """dim must name two different axes of A: (0, -2) is one axis twice in a 2-d A, and 2 (or -3) is no axis
    of it (PyTorch: "dims must be different" / "Dimension out of range"): 3 and -3 must not wrap around to
    axis 1 of a 2-d A."""
    with pytest.raises(ValueError, match="linalg.matrix_norm: dim must be a pair of two different axes"):
        mg.linalg.matrix_norm(mg.tensor(np.eye(3)), dim=dim)


def test_matrix_norm_refuses_the_string_inf():
    """The orders are the strings 'fro' and 'nuc' and the numbers 2, -2, 1, -1, inf, -inf: 'inf' is not one."""
    with pytest.raises(ValueError, match="linalg.matrix_norm: ord='inf' is not a matrix norm"):
        mg.linalg.matrix_norm(mg.tensor(np.eye(3)), "inf")


def test_matrix_norm_computes_in_the_requested_dtype():
    """dtype= casts A before the norm (torch.linalg.matrix_norm's dtype argument): float32 in, float64 out,
    with the float64 value of the float32 entries."""
    A = np.array([[1.0, -2.0], [3.0, 0.5]], dtype=np.float32)
    out = mg.linalg.matrix_norm(mg.tensor(A), dtype=mg.float64)
    assert out.dtype == np.float64
    assert out.item() == pytest.approx(math.sqrt(1 + 4 + 9 + 0.25), rel=1e-15)


@pytest.mark.parametrize("ord", ["nuc", 2, 1])
def test_norm_and_matrix_norm_take_dim_as_a_list(ord):
    """PyTorch's dim is an int list: [0, 1] is the pair (0, 1), a matrix norm (numpy's value)."""
    A = np.random.default_rng(12).standard_normal((3, 4))
    expected = np.linalg.norm(A, ord)
    assert mg.linalg.norm(mg.tensor(A), ord, dim=[0, 1]).item() == pytest.approx(expected, rel=1e-12)
    assert mg.linalg.matrix_norm(mg.tensor(A), ord, dim=[0, 1]).item() == pytest.approx(expected, rel=1e-12)


def test_norm_takes_a_one_axis_tuple_as_a_vector_norm():
    """torch.linalg.norm: dim an int or a tuple of 1 or 2 axes; a 1-tuple is the vector norm over that axis."""
    A = np.array([[3.0, 4.0, 0.0], [1.0, 2.0, 2.0]])
    np.testing.assert_allclose(mg.linalg.norm(mg.tensor(A), dim=(1,)).numpy(), [5.0, 3.0], rtol=1e-15)


# ---- solve -----------------------------------------------------------------------------------------------

def test_solve_refuses_vector_right_hand_sides_with_left_false():
    """PyTorch: "Vector broadcasting of the left hand side is not supported for left=False"."""
    A = mg.tensor(np.eye(3) * 2)
    with pytest.raises(ValueError, match="linalg.solve: Vector broadcasting of the left hand side is not "
                                         "supported for left=False"):
        mg.linalg.solve(A, mg.tensor(np.ones(3)), left=False)
    with pytest.raises(ValueError, match="Vector broadcasting"):
        mg.linalg.solve(mg.tensor(np.eye(3)[None].repeat(2, 0)), mg.tensor(np.ones((2, 3))), left=False)


def test_solve_refuses_an_integer_b():
    with pytest.raises(TypeError, match="linalg.solve: expected a real floating-point B, got dtype int64"):
        mg.linalg.solve(mg.tensor(np.eye(2)), mg.tensor([[1], [2]]))


def test_solve_refuses_a_b_with_fewer_rows_than_a():
    """A (3, 3) and B (2, 2): AX = B has no solution of any shape (numpy's error would not name solve)."""
    with pytest.raises(ValueError, match=r"linalg.solve: incompatible shapes of A and B .*\(3, 3\) and \(2, 2\)"):
        mg.linalg.solve(mg.tensor(np.eye(3)), mg.tensor(np.ones((2, 2))))


# ---- logdet and the Tensor spellings ---------------------------------------------------------------------

def test_logdet_of_negative_and_zero_determinants_warns_nothing():
    """nan for a negative determinant and -inf for a zero one, as PyTorch's, without numpy's RuntimeWarnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(mg.logdet(mg.tensor([[0.0, 1.0], [1.0, 0.0]])).item())
        assert mg.logdet(mg.tensor([[1.0, 2.0], [2.0, 4.0]])).item() == -math.inf


def test_logdet_names_itself_in_its_errors():
    """PyTorch's logdet checks its input as "logdet" before calling linalg.slogdet."""
    with pytest.raises(ValueError, match=r"^logdet: A must be batches of square matrices"):
        mg.logdet(mg.tensor(np.ones((2, 3))))


def test_tensor_cholesky_defaults_to_the_lower_factor():
    """torch.Tensor.cholesky(upper=False): the lower triangular L with A = L L^T (numpy's cholesky)."""
    A = spd(np.random.default_rng(8), 3)
    np.testing.assert_allclose(mg.tensor(A).cholesky().numpy(), np.linalg.cholesky(A), rtol=1e-12)
    np.testing.assert_allclose(mg.cholesky(mg.tensor(A)).numpy(), np.linalg.cholesky(A), rtol=1e-12)


def test_matrix_exp_tangent_of_a_float32_input_is_float32():
    """PyTorch's tangents have their primal's dtype: the block matrix [[A, dA], [0, A]] is built in it too."""
    A = (np.eye(2) * 0.5).astype(np.float32)
    out, tangent = mg.jvp(mg.linalg.matrix_exp, (mg.tensor(A),), (np.ones((2, 2), np.float32),))
    assert out.dtype == np.float32 and np.asarray(tangent).dtype == np.float32


def test_qr_refuses_forward_mode_where_pytorch_refuses_gradients():
    """PyTorch's linalg_qr_jvp checks as linalg_qr_backward does: no tangent for mode='r', nor for
    mode='complete' with nrows > ncols, for Q and for R alike (a silent zero would be wrong)."""
    tall = np.random.default_rng(13).standard_normal((4, 3))
    for mode, output in (("complete", 0), ("complete", 1), ("r", 1)):
        with pytest.raises(RuntimeError, match="linalg.qr: The"):
            mg.jvp(lambda a, mode=mode, output=output: mg.linalg.qr(a, mode=mode)[output], (mg.tensor(tall),),
                   (np.ones((4, 3)),))
    x = mg.tensor(tall, requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
        mg.linalg.qr(x, mode="complete").R.sum().backward()


def test_square_matrix_functions_check_array_like_inputs_too():
    """A nested list is taken as a tensor and checked as one: ints are refused, a vector is not square."""
    with pytest.raises(TypeError, match="linalg.matrix_exp: expected a real floating-point tensor, got dtype int64"):
        mg.linalg.matrix_exp([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="linalg.inv: .* a tensor of 1 axes"):
        mg.linalg.inv([1.0, 2.0])
    np.testing.assert_allclose(mg.linalg.matrix_exp([[0.0, 0.0], [0.0, 0.0]]).numpy(), np.eye(2))
