"""Tests written from a mutation check of the reductions and the linear algebra (ops/reduce.py,
the extremes `min`/`amax`/`amin` and `mm`/`bmm`/`dot` around them, ops/linalg.py, linalg.py, the
gradients and tangents of ops/einsum.py, ops/logical.py, functional/reduction.py and logsumexp):
each pins a behaviour that a hand-made wrong implementation changed without any other test noticing.
Expected values come from closed forms, numpy written by hand, central differences in float64,
or PyTorch's documented behaviour, never from the library's own output."""

import copy
import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F

EPS = 1e-6


# ---- references: central differences of numpy functions -------------------------------------------

def numeric_vjp(np_fn, arrays, u, eps=EPS):
    """d/dx_k sum(u * f(x_1, ..., x_n)) for each operand, by central differences (float64)."""
    grads = []
    for k, a in enumerate(arrays):
        grad = np.zeros_like(a)
        for index in np.ndindex(*a.shape):
            shifted = [b.copy() for b in arrays]
            shifted[k][index] += eps
            plus = np.sum(u * np_fn(*shifted))
            shifted[k][index] -= 2 * eps
            minus = np.sum(u * np_fn(*shifted))
            grad[index] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return grads


def numeric_jvp(np_fn, arrays, directions, eps=EPS):
    """(f(x + eps v) - f(x - eps v)) / (2 eps) for each of the k directions (a leading axis of each v)."""
    k = directions[0].shape[0]
    out = []
    for d in range(k):
        plus = np_fn(*[a + eps * v[d] for a, v in zip(arrays, directions)])
        minus = np_fn(*[a - eps * v[d] for a, v in zip(arrays, directions)])
        out.append((np.asarray(plus) - np.asarray(minus)) / (2 * eps))
    return np.stack(out)


def check_gradients_and_tangents(mg_fn, np_fn, arrays, seed=0, k=2):
    """Reverse mode (every operand's gradient of sum(u * f)) and forward mode (k directions at once,
    every operand moved) against central differences of the numpy function, in float64."""
    rng = np.random.default_rng(seed)
    tensors = [mg.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    y = mg_fn(*tensors)
    expected_y = np.asarray(np_fn(*arrays))
    assert y.shape == expected_y.shape
    np.testing.assert_allclose(y.detach().numpy(), expected_y, rtol=1e-12, atol=1e-12)
    u = rng.normal(size=expected_y.shape)
    (y * mg.tensor(u)).sum().backward()
    for tensor, expected in zip(tensors, numeric_vjp(np_fn, arrays, u)):
        assert tensor.grad is not None and tensor.grad.shape == expected.shape
        np.testing.assert_allclose(tensor.grad, expected, rtol=1e-6, atol=1e-7)
    directions = [rng.normal(size=(k,) + a.shape) for a in arrays]
    _, tangent = mg.jvp(mg_fn, [mg.tensor(a, dtype=np.float64) for a in arrays], directions)
    np.testing.assert_allclose(np.asarray(tangent), numeric_jvp(np_fn, arrays, directions), rtol=1e-6, atol=1e-7)


def random_arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for shape in shapes]


# ---- matmul: every operand layout, gradients and tangents --------------------------------------------

MATMUL_SHAPES = {
    "vector_dot_vector": [(4,), (4,)],
    "vector_times_matrix": [(2,), (2, 3)],
    "vector_times_square_matrix": [(3,), (3, 3)],
    "vector_times_batch_of_square_matrices": [(3,), (2, 3, 3)],
    "square_matrix_times_vector": [(3, 3), (3,)],
    "batch_of_square_matrices_times_vector": [(2, 3, 3), (3,)],
    "square_matrices": [(3, 3), (3, 3)],
    "batch_times_shared_matrix": [(2, 3, 4), (4, 5)],
    "matrix_times_batch": [(3, 4), (2, 4, 5)],
    "broadcast_batches": [(2, 1, 3, 4), (5, 4, 2)],
}


@pytest.mark.parametrize("case", sorted(MATMUL_SHAPES))
def test_matmul_gradients_and_tangents_match_central_differences(case):
    """a @ b (numpy's matmul rules: a 1-d operand is a row or a column, batch axes broadcast):
    both operands' gradients and k = 2 tangents at once against central differences, square
    factors included so that a transposed factor gives wrong values rather than a shape error."""
    arrays = random_arrays(len(case), *MATMUL_SHAPES[case])
    check_gradients_and_tangents(lambda a, b: a @ b, np.matmul, arrays)


def test_a_batch_times_a_shared_square_matrix_gets_the_gradient_summed_over_the_batch():
    # dL/dB = sum over the batch of A_i^T G_i (closed form), B shared by every batch entry
    A, B, G = random_arrays(3, (4, 3, 3), (3, 3), (4, 3, 3))
    a, b = mg.tensor(A, requires_grad=True), mg.tensor(B, requires_grad=True)
    (a @ b).backward(G)
    np.testing.assert_allclose(b.grad, np.einsum("bij,bik->jk", A, G), rtol=1e-12)
    np.testing.assert_allclose(a.grad, G @ B.T, rtol=1e-12)


@pytest.mark.parametrize("bias_shape", [(4,), (3, 4)])
def test_linear_gradients_and_tangents_match_central_differences(bias_shape):
    """F.linear(x, W, b) = x W^T + b with x (2, 3, 4), a square W (4, 4), and a vector bias or an
    addend (3, 4) that broadcasts to the output (2, 3, 4): every operand's gradient and tangent."""
    arrays = random_arrays(5, (2, 3, 4), (4, 4), bias_shape)
    check_gradients_and_tangents(F.linear, lambda x, w, b: x @ w.T + b, arrays)


def test_linear_gives_x_w_transposed_again_at_the_second_product_with_the_same_weight():
    # every product with one weight array uses its cached W^T: still x W^T (numpy by hand)
    X, W = random_arrays(6, (3, 4), (4, 4))
    weight = mg.tensor(W)
    for _ in range(3):
        np.testing.assert_allclose(F.linear(mg.tensor(X), weight).numpy(), X @ W.T, rtol=1e-12)


def test_mm_bmm_and_dot_refuse_what_matmul_would_take():
    # torch.mm takes two matrices, torch.bmm two 3-d batches of one size, torch.dot two vectors of one dtype
    with pytest.raises(ValueError, match="mm: expected two 2-d tensors"):
        mg.ones(3).mm(mg.ones(3, 2))
    with pytest.raises(ValueError, match="mm: expected two 2-d tensors"):
        mg.ones(2, 2, 3).mm(mg.ones(3, 2))
    with pytest.raises(ValueError, match="bmm: expected two 3-d tensors"):
        mg.ones(1, 2, 3).bmm(mg.ones(4, 3, 2))
    with pytest.raises(ValueError, match="bmm: expected two 3-d tensors"):
        mg.ones(3, 2, 3).bmm(mg.ones(3, 3))           # (matmul would take this matrix)
    with pytest.raises(ValueError, match="dot: expected two 1-d tensors"):
        mg.ones(3).dot(mg.ones(3, 1))
    with pytest.raises(TypeError, match="dot: expected two tensors of the same dtype"):
        mg.ones(3, dtype=np.float32).dot(mg.ones(3, dtype=np.float64))


def test_matmul_names_itself_when_the_inner_sizes_differ():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not line up \(3 != 4\)"):
        mg.ones(2, 3) @ mg.ones(4, 5)
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 2, 3\) and \(2, 4, 5\) do not line up"):
        mg.ones(2, 2, 3) @ mg.ones(2, 4, 5)
    with pytest.raises(ValueError, match=r"matmul: batch shapes of \(2, 2, 3\) and \(3, 3, 5\) cannot be broadcast"):
        mg.ones(2, 2, 3) @ mg.ones(3, 3, 5)


# ---- torch.linalg norms --------------------------------------------------------------------------------

def test_linalg_norm_of_a_matrix_without_dim_is_the_frobenius_norm_for_ord_fro():
    A = np.array([[1.0, -2.0], [3.0, 4.0]])
    assert mg.linalg.norm(mg.tensor(A), ord="fro").item() == pytest.approx(np.sqrt(30.0))


def test_linalg_norm_of_a_matrix_with_ord_2_is_its_largest_singular_value_and_vector_norm_refuses_ord_0():
    # ord=2 of a matrix is its largest singular value, as PyTorch's, not the Frobenius norm (here 2, not 2 sqrt(2));
    # ord=0 (a count of nonzeros in PyTorch) is not one of the orders this library has (2, 1, inf)
    assert mg.linalg.norm(mg.ones(2, 2), ord=2, dim=(0, 1)).item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="linalg.vector_norm: ord=0"):
        mg.linalg.vector_norm(mg.ones(3), ord=0)
    with pytest.raises(ValueError, match="linalg.vector_norm: ord='fro'"):     # (a matrix norm's name)
        mg.linalg.vector_norm(mg.ones(3), ord="fro")


# ---- einsum gradients and tangents -------------------------------------------------------------------

EINSUM_CASES = {
    "matrix_product": ("ij,jk->ik", [(2, 3), (3, 4)]),
    "size_one_axis_broadcast": ("ij,ij->ij", [(1, 3), (4, 3)]),
    "two_size_one_axes_broadcast": ("ijk,ijk->ijk", [(1, 3, 1), (2, 3, 4)]),
    "diagonal": ("ii->i", [(3, 3)]),
    "trace": ("ii", [(3, 3)]),
    "first_letter_summed_away": ("ab,b->b", [(2, 3), (3,)]),
    "diagonal_times_vector": ("iij,j->i", [(3, 3, 2), (2,)]),
}


@pytest.mark.parametrize("case", sorted(EINSUM_CASES))
def test_einsum_gradients_and_tangents_match_central_differences(case):
    """Each operand's gradient (g times the others, summed over what it lacks; a size-1 axis that
    broadcast gets the sum; a repeated letter its diagonal) and k = 2 tangents, against central
    differences of numpy's einsum."""
    equation, shapes = EINSUM_CASES[case]
    arrays = random_arrays(len(case), *shapes)
    check_gradients_and_tangents(lambda *ts: mg.einsum(equation, *ts), lambda *xs: np.einsum(equation, *xs), arrays)


# ---- var / std -----------------------------------------------------------------------------------------

def test_var_of_an_integer_tensor_is_refused_naming_var():
    # PyTorch: "std and var only support floating point and complex dtypes"
    with pytest.raises(TypeError, match="var: expected a real floating-point tensor"):
        mg.tensor(np.array([1, 2, 4])).var()
    with pytest.raises(TypeError, match="var: expected a real floating-point tensor"):
        mg.tensor(np.array([1, 2, 4], dtype=np.uint8)).std()


def test_var_refuses_both_unbiased_and_correction_and_a_negative_correction():
    x = mg.tensor(np.array([1.0, 2.0, 4.0]))
    with pytest.raises(TypeError, match="var: got both unbiased= and correction="):
        x.var(unbiased=True, correction=1)
    with pytest.raises(ValueError, match="var: correction must be a number >= 0"):
        x.var(correction=-1)
    with pytest.raises(ValueError, match="unbiased must be True or False"):
        x.var(unbiased=1)


def test_var_with_a_positional_bool_is_the_older_unbiased_argument():
    # PyTorch's older x.var(unbiased): False divides by N, True by N - 1
    data = np.array([[1.0, 2.0, 6.0], [0.0, -1.0, 4.0]])
    x = mg.tensor(data)
    assert x.var(False).item() == pytest.approx(np.var(data))
    assert x.var(True).item() == pytest.approx(np.var(data, ddof=1))
    assert x.std(False).item() == pytest.approx(np.std(data))


def test_var_of_one_value_warns_that_no_degrees_of_freedom_are_left():
    # N - correction = 1 - 1 = 0: PyTorch warns and gives NaN (0 / 0)
    with pytest.warns(UserWarning, match="no degrees of freedom"):
        y = mg.tensor(np.array([3.0])).var()
    assert np.isnan(y.item())


def test_var_of_half_precision_squares_in_float32_and_keeps_the_axis():
    # one deviation of 270 squares to 72900, past float16's largest 65504; the variance, 9000, is not
    data = np.zeros((2, 10), dtype=np.float16)
    data[:, 0] = 300
    x = mg.tensor(data)
    expected = np.var(data.astype(np.float64), axis=1, ddof=1)
    y = x.var(1)
    assert y.dtype == np.float16 and y.shape == (2,)
    np.testing.assert_allclose(y.numpy().astype(np.float64), expected, rtol=1e-3)
    kept = x.var(1, keepdim=True)
    assert kept.shape == (2, 1)
    np.testing.assert_allclose(kept.numpy()[:, 0].astype(np.float64), expected, rtol=1e-3)


@pytest.mark.parametrize("dim, correction", [(0, 1), (2, 0), ((0, 2), 2), (-1, 1)])
def test_var_and_std_gradients_and_tangents_match_central_differences(dim, correction):
    x, = random_arrays(7, (3, 2, 4))
    for mg_name, np_fn in (("var", np.var), ("std", np.std)):
        check_gradients_and_tangents(
            lambda t: getattr(t, mg_name)(dim, correction=correction, keepdim=False),
            lambda a: np_fn(a, axis=dim, ddof=correction), [x])


# ---- sum / mean / max / norm: gradients and tangents over axes ---------------------------------------

REDUCTIONS = {
    "sum_dim_tuple": (lambda t: t.sum((0, 2)), lambda a: a.sum(axis=(0, 2))),
    "sum_negative_dim_keepdim": (lambda t: t.sum(-2, keepdim=True), lambda a: a.sum(axis=-2, keepdims=True)),
    "mean_dim_tuple_keepdim": (lambda t: t.mean((0, 2), keepdim=True), lambda a: a.mean(axis=(0, 2), keepdims=True)),
    "mean_all": (lambda t: t.mean(), lambda a: a.mean()),
    "max_axis_keepdims": (lambda t: mg.ops.max(t, axis=1, keepdims=True), lambda a: a.max(axis=1, keepdims=True)),
    "amax_dim_tuple": (lambda t: t.amax((0, 2)), lambda a: a.max(axis=(0, 2))),
    "amin_negative_dim": (lambda t: t.amin(-1), lambda a: a.min(axis=-1)),
    "norm_2_dim_0": (lambda t: t.norm(2, dim=0), lambda a: np.sqrt((a * a).sum(axis=0))),
    "norm_1_dim_tuple": (lambda t: t.norm(1, dim=(0, 2)), lambda a: np.abs(a).sum(axis=(0, 2))),
    "norm_inf_keepdim": (lambda t: t.norm(float("inf"), dim=2, keepdim=True),
                         lambda a: np.abs(a).max(axis=2, keepdims=True)),
    "cumsum_dim_0": (lambda t: t.cumsum(0), lambda a: np.cumsum(a, axis=0)),
    "cumsum_dim_1": (lambda t: t.cumsum(dim=1), lambda a: np.cumsum(a, axis=1)),
    "logsumexp_dim_tuple": (lambda t: t.logsumexp((0, 2)),
                            lambda a: np.log(np.exp(a).sum(axis=(0, 2)))),
}


@pytest.mark.parametrize("case", sorted(REDUCTIONS))
def test_reduction_gradients_and_tangents_match_central_differences(case):
    """Distinct values (no ties), shape (3, 4, 5) so every reduced axis has its own size."""
    mg_fn, np_fn = REDUCTIONS[case]
    rng = np.random.default_rng(8)
    x = (rng.permutation(60).reshape(3, 4, 5) + 0.3) / 10.0 - 3.0     # (no two equal magnitudes)
    check_gradients_and_tangents(mg_fn, np_fn, [x], k=3)


def test_amax_shares_the_gradient_between_the_ties_of_each_row_only():
    # row 0 has two maxima (1/2 each), row 1 one (all of it): the count is per row, not over the tensor
    x = mg.tensor(np.array([[3.0, 1.0, 3.0], [0.0, 5.0, 2.0]]), requires_grad=True)
    x.amax(1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    _, tangent = mg.jvp(lambda t: t.amax(1), [mg.tensor(x.detach().numpy())], [np.array([[2.0, 7.0, 4.0], [1.0, 6.0, 1.0]])])
    np.testing.assert_array_equal(tangent, [3.0, 6.0])


def test_amax_and_amin_keep_the_reduced_axes_when_asked():
    data = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(mg.tensor(data).amax((0, 2), keepdim=True).numpy(), data.max(axis=(0, 2), keepdims=True))
    np.testing.assert_array_equal(mg.tensor(data).amin(1, keepdim=True).numpy(), data.min(axis=1, keepdims=True))


def test_max_over_an_empty_axis_names_max():
    with pytest.raises(ValueError, match="max: no maximum over an empty axis"):
        mg.ops.max(mg.zeros(0, 3), axis=0)
    with pytest.raises(ValueError, match="max: no maximum over an empty axis"):
        mg.zeros(2, 0).amax(1)


def test_norm_refuses_a_bool_order():
    # p is 2, 1, inf, 'inf' or 'fro'; anything else (a bool too) is a ValueError naming norm (its docstring)
    with pytest.raises(ValueError, match="norm: p=True is not supported"):
        mg.ones(3).norm(True)


def test_the_inf_norm_is_the_largest_magnitude_with_the_gradient_to_it_and_its_sign():
    x = mg.tensor(np.array([[1.0, -4.0, 2.0], [3.0, 0.5, -1.0]]), requires_grad=True)
    y = x.norm(float("inf"), dim=1)
    np.testing.assert_array_equal(y.detach().numpy(), [4.0, 3.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])


# ---- cumsum --------------------------------------------------------------------------------------------

def test_cumsum_computes_in_the_dtype_asked_for():
    # torch.cumsum(x, dim, dtype=d): x is cast to d first and the result is d
    ints = mg.tensor(np.array([1, 2, 3], dtype=np.int64))
    y = ints.cumsum(0, dtype=np.int32)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y.numpy(), [1, 3, 6])
    floats = mg.tensor(np.array([0.1, 0.2, 0.3], dtype=np.float64))
    z = floats.cumsum(0, dtype=np.float32)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.numpy(), np.cumsum(np.float32([0.1, 0.2, 0.3])), rtol=1e-7)


def test_cumsum_of_a_0d_tensor_over_dim_0_is_itself_with_gradient_one():
    x = mg.tensor(np.float64(2.5), requires_grad=True)
    y = x.cumsum(0)
    assert y.shape == () and y.item() == 2.5
    y.backward()
    assert x.grad == 1.0
    with pytest.raises(ValueError, match="cumsum: dim 1 is not an axis"):
        x.cumsum(1)


# ---- max(dim=) / min(dim=): PyTorch's pair, and t.max(d)'s values with .values / .indices -------------

def test_max_with_dim_refuses_a_tuple_and_an_axis_out_of_range_as_pytorch():
    x = mg.ones(2, 3)
    with pytest.raises(TypeError, match="max: dim= takes one axis"):
        x.max(dim=(0, 1))
    with pytest.raises(IndexError, match="max: dim 2 is out of range"):
        x.max(dim=2)
    with pytest.raises(IndexError, match="min: dim -3 is out of range"):
        x.min(dim=-3)


def test_max_and_min_with_dim_0_of_a_0d_tensor_give_it_and_index_0_with_gradient_one():
    # PyTorch: torch.tensor(2.5).max(dim=0) is (tensor(2.5), tensor(0)), the index int64
    for which in ("max", "min"):
        x = mg.tensor(np.float64(2.5), requires_grad=True)
        values, indices = getattr(x, which)(dim=0)
        assert values.shape == () and values.item() == 2.5
        assert indices.dtype == np.int64 and indices.item() == 0
        values.backward()
        assert x.grad == 1.0


def test_min_with_dim_gives_the_minima_and_their_first_index_with_the_gradient_there():
    x = mg.tensor(np.array([[2.0, -1.0, -1.0], [0.5, 3.0, 0.0]]), requires_grad=True)
    values, indices = x.min(dim=1)
    np.testing.assert_array_equal(values.detach().numpy(), [-1.0, 0.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 2])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def test_values_of_a_positional_max_refuse_a_tensor_changed_in_place_since():
    x = mg.tensor(np.array([[1.0, 4.0], [7.0, 0.0]]), requires_grad=True)
    h = x * 1.0
    extremes = h.max(1)
    h += 1.0
    with pytest.raises(RuntimeError, match=r"max\(\.\.\.\)\.values: the tensor was changed in place"):
        extremes.values


def test_unpacking_a_positional_max_warns_that_it_iterates_over_the_values():
    with pytest.warns(UserWarning, match=r"t\.max\(dim=d\)"):
        first, second = mg.tensor(np.array([[1.0, 4.0], [7.0, 0.0]])).max(1)


def test_a_copied_positional_max_still_sends_the_gradient_of_its_values_to_the_indices():
    x = mg.tensor(np.array([[1.0, 4.0, 4.0], [7.0, 0.0, 2.0]]), requires_grad=True)
    copied = copy.copy(x.max(1))
    copied.values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def test_values_of_a_positional_max_carry_the_tangent_at_the_indices_in_forward_mode():
    data = np.array([[1.0, 4.0, 4.0], [7.0, 0.0, 2.0]])
    v = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    _, tangent = mg.jvp(lambda t: t.max(1).values, [mg.tensor(data)], [v])
    np.testing.assert_array_equal(tangent, [20.0, 40.0])     # the whole tangent at the first index


def test_values_of_a_positional_max_with_keepdim_keep_the_axis_and_the_gradient():
    x = mg.tensor(np.array([[1.0, 4.0, 4.0], [7.0, 0.0, 2.0]]), requires_grad=True)
    values = x.max(1, keepdim=True).values
    assert values.shape == (2, 1)
    np.testing.assert_array_equal(values.detach().numpy(), [[4.0], [7.0]])
    (values * mg.tensor(np.array([[2.0], [3.0]]))).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 2.0, 0.0], [3.0, 0.0, 0.0]])


def test_a_positional_min_of_an_integer_tensor_has_its_indices():
    t = mg.tensor(np.array([[3, 1, 1], [0, 5, -2]]))
    out = t.min(1)
    np.testing.assert_array_equal(out.numpy(), [1, -2])
    np.testing.assert_array_equal(out.indices.numpy(), [1, 2])
    np.testing.assert_array_equal(out.values.numpy(), [1, -2])



def test_max_and_min_with_dim_0_of_a_3d_tensor_pick_along_that_axis():
    data = np.random.default_rng(9).permutation(24).reshape(2, 3, 4).astype(np.float64)
    for which, np_pick, np_index in (("max", np.max, np.argmax), ("min", np.min, np.argmin)):
        x = mg.tensor(data, requires_grad=True)
        values, indices = getattr(x, which)(dim=0)
        np.testing.assert_array_equal(values.detach().numpy(), np_pick(data, axis=0))
        np.testing.assert_array_equal(indices.numpy(), np_index(data, axis=0))
        values.sum().backward()
        expected = np.zeros_like(data)
        np.put_along_axis(expected, np_index(data, axis=0)[None], 1.0, axis=0)
        np.testing.assert_array_equal(x.grad, expected)


def test_slicing_a_positional_max_does_not_warn_and_a_max_over_a_dim_tuple_is_plain_values():
    x = mg.tensor(np.array([[1.0, 4.0], [7.0, 0.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(x.max(1)[:1].numpy(), [4.0])
    data = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(mg.tensor(data).max((0, 2)).numpy(), data.max(axis=(0, 2)))


# ---- logsumexp -----------------------------------------------------------------------------------------

def test_logsumexp_of_a_row_of_minus_inf_is_minus_inf_and_of_an_empty_dim_minus_inf():
    # log(0) = -inf, as torch.logsumexp; an empty sum is 0 too
    x = mg.tensor(np.array([[-np.inf, -np.inf], [0.0, np.log(3.0)]]))
    np.testing.assert_allclose(x.logsumexp(1).numpy(), [-np.inf, np.log(4.0)])
    y = mg.zeros(2, 0).logsumexp(1)
    np.testing.assert_array_equal(y.numpy(), [-np.inf, -np.inf])


def test_logsumexp_needs_dim_and_a_bool_keepdim():
    x = mg.ones(2, 3)
    with pytest.raises(TypeError, match="logsumexp: dim is required"):
        x.logsumexp()
    with pytest.raises(ValueError, match="keepdim must be True or False"):
        x.logsumexp(1, keepdim=1)
    assert x.logsumexp(1, keepdim=True).shape == (2, 1)


# ---- logical ops ---------------------------------------------------------------------------------------

def test_bitwise_operators_refuse_a_float_tensor_on_either_side_and_invert_names_itself():
    ints = mg.tensor(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match=r"bitwise_and \(&\): expected bool or integer tensors"):
        ints & mg.tensor(np.array([1.0, 0.0, 1.0]))
    with pytest.raises(TypeError, match=r"bitwise_not \(~\): expected a bool or integer tensor"):
        ~mg.tensor(np.array([1.0, 0.0]))


def test_xor_and_logical_not_and_isinf_of_negative_entries():
    a = mg.tensor(np.array([True, True, False, False]))
    b = mg.tensor(np.array([True, False, True, False]))
    np.testing.assert_array_equal((a ^ b).numpy(), [False, True, True, False])
    small = mg.tensor(np.array([3, 4], dtype=np.uint8)) & 1      # PyTorch: a Python int keeps the tensor's uint8
    assert small.dtype == np.uint8
    np.testing.assert_array_equal(small.numpy(), [1, 0])
    with pytest.raises((OverflowError, ValueError, RuntimeError)):   # PyTorch: 300 does not fit uint8 (not wrapped to 44)
        mg.tensor(np.array([3, 4], dtype=np.uint8)) & 300
    np.testing.assert_array_equal(mg.tensor(np.array([-2.0, 0.0, 0.5])).logical_not().numpy(), [False, True, False])
    np.testing.assert_array_equal(mg.tensor(np.array([-np.inf, np.inf, np.nan, 1.0])).isinf().numpy(),
                                  [True, True, False, False])


def test_any_and_all_along_a_dim_of_a_0d_tensor_and_out_of_range():
    t = mg.tensor(np.array([[0.0, 0.0], [0.0, 2.0]]))
    np.testing.assert_array_equal(t.any(1).numpy(), [False, True])
    np.testing.assert_array_equal(t.all(0).numpy(), [False, False])
    assert mg.tensor(np.float64(3.0)).any(0).item() is True      # PyTorch: a 0-d tensor's dim 0 is its entry
    assert mg.tensor(np.float64(0.0)).all(dim=-1).item() is False
    with pytest.raises(IndexError, match="any: dim 2 is out of range"):
        t.any(2)


# ---- reduction= and the legacy size_average / reduce ---------------------------------------------------

@pytest.mark.parametrize("size_average, reduce, expected", [
    (False, None, "sum"), (None, False, "none"), (True, False, "none"), (False, True, "sum"),
    (True, True, "mean"), (True, None, "mean"), (None, True, "mean")])
def test_legacy_size_average_and_reduce_stand_for_a_reduction_with_pytorchs_warning(size_average, reduce, expected):
    # PyTorch's _Reduction.legacy_get_string: reduce False -> 'none'; else size_average False -> 'sum'; else 'mean'
    pred, target = np.array([1.0, 2.0, 4.0]), np.array([0.0, 0.0, 1.0])
    squares = (pred - target) ** 2
    with pytest.warns(UserWarning, match=f"please use reduction='{expected}' instead"):
        loss = F.mse_loss(mg.tensor(pred), mg.tensor(target), size_average=size_average, reduce=reduce)
    np.testing.assert_allclose(loss.numpy(), {"sum": squares.sum(), "mean": squares.mean(), "none": squares}[expected])


def test_a_reduction_given_twice_or_not_a_string_is_refused():
    pred, target = mg.tensor(np.array([1.0, 2.0])), mg.tensor(np.array([0.0, 0.0]))
    with pytest.raises(TypeError, match="mse_loss: a reduction given twice"):
        F.mse_loss(pred, target, "sum", reduction="none")
    with pytest.raises(TypeError, match="reduction must be one of"):
        F.mse_loss(pred, target, reduction=1)
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(pred, target, reduction="batchmean")


def test_the_mean_of_no_losses_is_nan_in_the_losses_dtype_without_a_warning():
    pred = mg.tensor(np.zeros(0, dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.mse_loss(pred, mg.tensor(np.zeros(0, dtype=np.float32)))
    assert loss.dtype == np.float32 and np.isnan(loss.item())


def test_a_loss_sends_a_gradient_to_a_tensor_target_in_the_inputs_dtype():
    # binary_cross_entropy_with_logits: l = max(x, 0) - x y + log(1 + e^-|x|), so dL/dy = -x / N for
    # the mean (PyTorch's targets keep their gradient); the float64 target is read in the logits' float32
    logits = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    target = mg.tensor(np.array([0.0, 1.0, 0.25]), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(mg.tensor(logits, requires_grad=True), target)
    assert loss.dtype == np.float32
    loss.backward()
    np.testing.assert_allclose(target.grad, -logits / 3, rtol=1e-6)


def test_cross_entropy_reads_a_probability_target_in_the_inputs_dtype_and_differentiates_it():
    # l = -sum_c t_c log softmax(x)_c per row, mean over rows: dL/dt = -log softmax(x) / N;
    # the float64 probabilities are read in the logits' float32 (as_target), so the loss is float32
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], dtype=np.float32)
    target = mg.tensor(np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]), requires_grad=True)
    loss = F.cross_entropy(mg.tensor(logits, requires_grad=True), target)
    assert loss.dtype == np.float32
    loss.backward()
    z = logits.astype(np.float64)
    log_softmax = z - z.max(axis=1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(target.grad, -log_softmax / 2, rtol=1e-6)


def test_a_weight_that_requires_grad_and_a_target_of_text_are_refused():
    pred = mg.tensor(np.array([0.2, 0.7]))
    with pytest.raises(RuntimeError, match="binary_cross_entropy: not differentiable with respect to weight"):
        F.binary_cross_entropy(pred, mg.tensor(np.array([0.0, 1.0])),
                               weight=mg.tensor(np.array([1.0, 2.0]), requires_grad=True))
    with pytest.raises(TypeError, match="binary_cross_entropy_with_logits: expected target as a tensor of numbers"):
        F.binary_cross_entropy_with_logits(pred, np.array(["0", "1"]))     # (text, even of digits)


# ---- a bug found by the check -------------------------------------------------------------------------

def test_the_two_norm_of_half_precision_entries_does_not_overflow_in_the_squares():
    # ||(300, 400)|| = 500 and ||(3, 4)|| = 5 (closed form), both representable in float16; the gradient
    # x / ||x|| = (0.6, 0.8) for each row
    x = mg.tensor(np.array([[300.0, 400.0], [3.0, 4.0]], dtype=np.float16), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)       # (no overflow on the way)
        y = x.norm(dim=1)
        y.sum().backward()
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.detach().numpy().astype(np.float64), [500.0, 5.0], rtol=1e-3)
    np.testing.assert_allclose(x.grad.astype(np.float64), [[0.6, 0.8], [0.6, 0.8]], rtol=1e-3)
