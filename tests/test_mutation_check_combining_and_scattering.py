"""Tests written from a mutation check of the shape, indexing and product functions (ops/combining.py,
ops/contracting.py, ops/scattering.py, functional/distances.py, and creation.py's logspace,
tril_indices and triu_indices): each pins a behaviour that a hand-made wrong implementation changed
without any other test noticing. Expected values come from numpy's own functions (np.dstack,
np.column_stack, np.flipud, np.tensordot, np.tril_indices, ...), hand-written numpy of PyTorch's
documented formula, or PyTorch's documented behaviour and ATen source (named where used), never from
the library's own output."""

import numpy as np
import pytest

import microgradseq as mg

RNG = np.random.default_rng(26)


def rand(*shape):
    return RNG.standard_normal(shape)


# ---- joining ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
def test_the_stacking_functions_refuse_a_single_tensor_and_an_empty_list_naming_themselves(name):
    """PyTorch's take a sequence of tensors: one Tensor (which would be iterated over its rows) is a
    TypeError, and an empty sequence an error rather than an empty result."""
    with pytest.raises(TypeError, match=f"{name}: expected a sequence of tensors, got a single Tensor"):
        getattr(mg, name)(mg.ones(2, 3))
    with pytest.raises(ValueError, match=f"{name}: expected at least one tensor, got none"):
        getattr(mg, name)([])


def test_dstack_of_4_d_tensors_joins_along_dim_2_not_the_last():
    """torch.dstack (numpy's) concatenates along the third axis, whatever the number of axes."""
    a, b = rand(2, 3, 1, 2), rand(2, 3, 2, 2)
    out = mg.dstack([mg.tensor(a), mg.tensor(b)])
    assert out.shape == (2, 3, 3, 2)
    np.testing.assert_array_equal(out.numpy(), np.dstack([a, b]))


def test_column_stack_of_3_d_tensors_joins_along_dim_1_not_the_last():
    """torch.column_stack: tensors with 2 or more axes are joined as they are along dim 1 (numpy's)."""
    a, b = rand(2, 1, 3), rand(2, 2, 3)
    out = mg.column_stack([mg.tensor(a, dtype=mg.float64), mg.tensor(b, dtype=mg.float64)])
    np.testing.assert_array_equal(out.numpy(), np.column_stack([a, b]))


# ---- splitting and selecting ------------------------------------------------------------------------

def test_tensor_split_refuses_a_0_d_tensor_with_a_value_error():
    """torch.tensor_split needs at least one axis (ATen: "expected at least a 1-dimensional tensor")."""
    with pytest.raises(ValueError, match="tensor_split: expected a tensor with at least one axis"):
        mg.tensor_split(mg.tensor(1.0), 1)


@pytest.mark.parametrize("name, shape", [("hsplit", (2, 4)), ("vsplit", (4, 2)), ("dsplit", (1, 1, 4))])
def test_the_splits_name_themselves_on_a_non_integer_number_of_sections(name, shape):
    with pytest.raises(TypeError, match=f"{name}: expected a number of sections or a list of indices"):
        getattr(mg, name)(mg.ones(*shape), 1.5)


def test_hsplit_refuses_a_0_d_tensor_naming_itself():
    """torch.hsplit: "requires a tensor with at least 1 dimension"."""
    with pytest.raises(ValueError, match=r"hsplit: expected a tensor with at least 1 axes, got shape \(\)"):
        mg.hsplit(mg.tensor(1.0), 1)


def test_vsplit_refuses_a_vector():
    """torch.vsplit needs at least 2 axes (a vector has no rows to split)."""
    with pytest.raises(ValueError, match=r"vsplit: expected a tensor with at least 2 axes, got shape \(4,\)"):
        mg.vsplit(mg.ones(4), 2)


def test_dsplit_of_a_4_d_tensor_splits_dim_2_not_the_last():
    a = np.arange(2 * 1 * 4 * 2, dtype=np.float64).reshape(2, 1, 4, 2)
    pieces = mg.dsplit(mg.tensor(a), 2)
    expected = np.dsplit(a, 2)
    assert [p.shape for p in pieces] == [e.shape for e in expected] == [(2, 1, 2, 2)] * 2
    for piece, e in zip(pieces, expected):
        np.testing.assert_array_equal(piece.numpy(), e)


def test_select_takes_every_index_from_minus_extent_to_extent_minus_1_and_refuses_extent():
    """torch.select: index in [-size, size): -size is the first slice; size is out of range."""
    a = np.arange(12.0).reshape(3, 4)
    x = mg.tensor(a)
    np.testing.assert_array_equal(mg.select(x, 0, -3).numpy(), a[0])
    np.testing.assert_array_equal(x.select(1, -4).numpy(), a[:, 0])
    with pytest.raises(IndexError, match="select: index 3 is out of range for dim 0"):
        mg.select(x, 0, 3)
    with pytest.raises(IndexError, match="select: index -5 is out of range for dim 1"):
        x.select(1, -5)


# ---- diagonals, blocks, turns and flips ---------------------------------------------------------------

def test_diagonal_refuses_a_vector_with_a_value_error_naming_itself():
    with pytest.raises(ValueError, match=r"diagonal: expected a tensor with at least 2 axes, got shape \(3,\)"):
        mg.diagonal(mg.ones(3))


def test_diag_embed_keeps_a_float32_tensors_dtype():
    out = mg.diag_embed(mg.tensor([1.0, 2.0]), 1)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), np.diag([1.0, 2.0], 1))


def test_block_diag_refuses_a_list_of_tensors():
    """torch.block_diag takes the tensors as separate arguments (block_diag(*tensors))."""
    with pytest.raises(TypeError, match="block_diag: pass the tensors as arguments"):
        mg.block_diag([mg.ones(1, 1), mg.ones(1, 1)])


def test_rot90_by_0_turns_returns_a_copy_not_the_tensor_itself():
    """ATen's rot90 returns self.clone() for k % 4 == 0: writing into the result leaves the input as it was."""
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = mg.rot90(x, 4)
    assert out is not x
    out.add_(1.0)
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert out.tolist() == [[2.0, 3.0], [4.0, 5.0]]


def test_rot90_refuses_three_dims_and_a_vector():
    """ATen's rot90: "expected total rotation dims == 2" and "expected total dims >= 2"."""
    with pytest.raises(ValueError, match="rot90: expected an integer k and two dims"):
        mg.rot90(mg.ones(2, 2, 2), 1, [0, 1, 2])
    with pytest.raises(ValueError, match=r"rot90: expected a tensor with at least 2 axes, got shape \(3,\)"):
        mg.rot90(mg.ones(3), 1, [0, -1])


def test_flipud_of_a_matrix_reverses_the_rows_not_the_columns():
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(mg.flipud(mg.tensor(a)).numpy(), np.flipud(a))
    np.testing.assert_array_equal(mg.tensor(a).flipud().numpy(), [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]])


def test_broadcast_shapes_refuses_a_negative_size_with_a_type_error():
    with pytest.raises(TypeError, match="broadcast_shapes: expected shapes of integers >= 0"):
        mg.broadcast_shapes((2, -1), (3,))


# ---- combinatorics ----------------------------------------------------------------------------------

def test_cartesian_prod_refuses_mixed_dtypes_and_a_0_d_tensor():
    """torch.cartesian_prod is meshgrid's (one dtype for all) of 1-d tensors ("Expect a 1D vector")."""
    with pytest.raises(TypeError, match=r"cartesian_prod: expected tensors of one dtype, got \['int64', 'float32'\]"):
        mg.cartesian_prod(mg.tensor([1, 2]), mg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="cartesian_prod: expected one or more 1-d tensors"):
        mg.cartesian_prod(mg.tensor([1.0, 2.0]), mg.tensor(3.0))


def test_combinations_and_vander_refuse_a_0_d_tensor():
    with pytest.raises(ValueError, match=r"combinations: expected a 1-d tensor, got shape \(\)"):
        mg.combinations(mg.tensor(1.0))
    with pytest.raises(ValueError, match=r"vander: expected a 1-d tensor, got shape \(\)"):
        mg.vander(mg.tensor(1.0))


def test_vander_of_bools_is_int64():
    """ATen's vander: the result dtype is promote_types(x.dtype, long), int64 for bool as for any integer."""
    out = mg.vander(mg.tensor([True, False, True]))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.vander(np.array([1, 0, 1])))


# ---- products ---------------------------------------------------------------------------------------

def test_tensordot_refuses_a_negative_number_of_dims():
    """ATen's tensordot: "tensordot expects dims >= 0"."""
    with pytest.raises(ValueError, match="tensordot: dims=-1 must be from 0 to 2"):
        mg.tensordot(mg.ones(2, 3), mg.ones(3, 2), -1)


def test_tensordot_contracts_every_axis_when_dims_is_the_smaller_number_of_axes():
    a, b = rand(2, 3), rand(2, 3, 4)
    out = mg.tensordot(mg.tensor(a), mg.tensor(b), 2)
    np.testing.assert_allclose(out.numpy(), np.tensordot(a, b, 2), rtol=1e-12)
    full = mg.tensordot(mg.tensor(a), mg.tensor(b[..., 0]), 2)
    assert full.shape == ()
    np.testing.assert_allclose(full.item(), np.sum(a * b[..., 0]), rtol=1e-12)


def test_tensordot_refuses_axis_lists_of_different_lengths_and_an_axis_named_twice():
    with pytest.raises(ValueError, match=r"tensordot: expected as many axes of each, got \[0, 1\] and \[0\]"):
        mg.tensordot(mg.ones(2, 2), mg.ones(2, 2), ([0, 1], [0]))
    with pytest.raises(ValueError, match="tensordot: an axis is named twice"):
        mg.tensordot(mg.ones(2, 2), mg.ones(2, 2), ([0, 0], [0, 1]))


def test_tensordot_contracts_two_axes_by_default():
    """torch.tensordot(a, b) has dims=2: a's last two axes against b's first two."""
    a, b = rand(2, 3, 4), rand(3, 4, 5)
    np.testing.assert_allclose(mg.tensordot(mg.tensor(a), mg.tensor(b)).numpy(), np.tensordot(a, b), rtol=1e-12)


def test_tensordot_takes_dims_as_a_tensor():
    """torch.tensordot's dims may be a 0-d tensor (a number of axes) or a (2, k) tensor (two axis lists)."""
    a, b = rand(3, 4), rand(4, 3)
    np.testing.assert_allclose(mg.tensordot(mg.tensor(a), mg.tensor(b), mg.tensor(1)).numpy(),
                               np.tensordot(a, b, 1), rtol=1e-12)
    np.testing.assert_allclose(mg.tensordot(mg.tensor(a), mg.tensor(b), mg.tensor([[0, 1], [1, 0]])).item(),
                               np.tensordot(a, b, ([0, 1], [1, 0])), rtol=1e-12)


def test_vdot_of_int32_vectors_stays_int32():
    """torch.vdot keeps the vectors' dtype (a dot product, no sum promotion): 1*3 + 2*4 = 11 in int32."""
    out = mg.vdot(mg.tensor([1, 2], dtype=mg.int32), mg.tensor([3, 4], dtype=mg.int32))
    assert out.dtype == np.int32 and out.item() == 11


def test_trace_of_int32_sums_in_int64():
    """torch.trace: integer matrices sum in int64 (as torch.sum), whatever their width."""
    out = mg.trace(mg.tensor([[1, 2], [3, 4]], dtype=mg.int32))
    assert out.dtype == np.int64 and out.item() == 5


def test_tensordot_gives_a_number_operand_the_tensors_dtype():
    """A Python number beside a tensor takes the tensor's dtype (contracting.py's _operands, PyTorch's
    weak scalars): a float16 vector times 3.0 stays float16."""
    out = mg.tensordot(mg.tensor([1.0, 2.0], dtype=mg.float16), 3.0, 0)
    assert out.dtype == np.float16 and out.tolist() == [3.0, 6.0]


def test_vdot_refuses_two_dtypes():
    """torch.vdot: "expected both vectors to have same dtype"."""
    with pytest.raises(TypeError, match="vdot: expected two real tensors of the same dtype, got float32 and float64"):
        mg.vdot(mg.ones(2), mg.ones(2, dtype=mg.float64))


def test_addmv_and_addr_name_themselves_on_mismatched_shapes():
    with pytest.raises(ValueError, match=r"addmv: expected a matrix \(n, m\) and a vector \(m,\), got shapes \(2, 3\)"):
        mg.addmv(mg.zeros(2), mg.ones(2, 3), mg.ones(2))
    with pytest.raises(ValueError, match=r"addr: expected two 1-d tensors, got shapes \(2, 1\) and \(3,\)"):
        mg.addr(mg.zeros(2, 3), mg.ones(2, 1), mg.ones(3))


def test_mv_refuses_a_matrix_as_the_vector():
    """torch.mv: "vector + matrix @ vector expected" -- a (m, 1) column is not a vector (matmul would take it)."""
    with pytest.raises(ValueError, match=r"mv: expected a matrix \(n, m\) and a vector \(m,\), got shapes .* and \(3, 1\)"):
        mg.mv(mg.ones(2, 3), mg.ones(3, 1))


def test_the_fused_additions_default_to_beta_1_and_alpha_1():
    """torch.addmv, addr, baddbmm, addbmm: beta=1, alpha=1 by default, so out = input + product."""
    A, v, u = rand(3, 4), rand(4), rand(3)
    b1, b2 = rand(2, 3, 4), rand(2, 4, 2)
    i1, i2, i3, i4 = rand(3), rand(3, 4), rand(2, 3, 2), rand(3, 2)
    t = mg.tensor
    np.testing.assert_allclose(mg.addmv(t(i1), t(A), t(v)).numpy(), i1 + A @ v, rtol=1e-12)
    np.testing.assert_allclose(mg.addr(t(i2), t(u), t(v)).numpy(), i2 + np.outer(u, v), rtol=1e-12)
    np.testing.assert_allclose(mg.baddbmm(t(i3), t(b1), t(b2)).numpy(), i3 + np.einsum("bij,bjk->bik", b1, b2),
                               rtol=1e-12)
    np.testing.assert_allclose(mg.addbmm(t(i4), t(b1), t(b2)).numpy(), i4 + np.einsum("bij,bjk->ik", b1, b2),
                               rtol=1e-12)


# ---- writing into positions -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [mg.int64, mg.int32])
@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_integer_scatter_reduce_amax_and_amin_without_self_over_rows_of_different_lengths(dtype, reduce):
    """Position 0 receives three entries, position 1 one, position 2 none (keeps self's entry): the
    reduction of what is sent, as PyTorch's documented formula with include_self=False."""
    self_ = np.array([100, -100, 7])
    src = np.array([-5, 3, -9, 4])
    index = np.array([0, 0, 0, 1])
    pick = max if reduce == "amax" else min
    expected = [pick([-5, 3, -9]), 4, 7]
    out = mg.tensor(self_, dtype=dtype).scatter_reduce(0, mg.tensor(index), mg.tensor(src, dtype=dtype), reduce,
                                                       include_self=False)
    assert out.dtype == np.dtype(dtype) and out.tolist() == expected


@pytest.mark.parametrize("reduce, self_, src, expected", [
    ("amax", [True, True, True], [False, True, False, False], [True, False, True]),
    ("amin", [False, False, False], [True, False, True, True], [False, True, False])])
def test_bool_scatter_reduce_amax_and_amin_without_self_over_rows_of_different_lengths(reduce, self_, src, expected):
    """amax of bools is any, amin all (PyTorch's max and min on bool): position 0 receives three
    entries, position 1 one (its own value, not a padding's), position 2 none (self's entry stays)."""
    out = mg.tensor(self_).scatter_reduce(0, mg.tensor([0, 0, 0, 1]), mg.tensor(src), reduce, include_self=False)
    assert out.dtype == np.bool_ and out.tolist() == expected


def test_scatter_reduce_with_nothing_to_scatter_returns_a_new_tensor():
    """The out-of-place form always returns a new tensor, even when the index is empty."""
    x = mg.tensor([1.0, 2.0])
    out = x.scatter_reduce(0, mg.tensor(np.zeros(0, dtype=np.int64)), mg.ones(0), "sum")
    assert out is not x and out.tolist() == [1.0, 2.0]
    out.add_(1.0)
    assert x.tolist() == [1.0, 2.0]


def test_integer_scatter_reduce_mean_floors_negative_means():
    """ATen's scatter_reduce "mean" divides integers with rounding mode "floor": -5 / 2 is -3 (not -2)."""
    out = mg.tensor([0, 9]).scatter_reduce(0, mg.tensor([0, 0, 1]), mg.tensor([-3, -2, -10]), "mean",
                                           include_self=False)
    assert out.tolist() == [-3, -10]
    out = mg.tensor([-1, 0]).scatter_reduce(0, mg.tensor([0]), mg.tensor([-2]), "mean")
    assert out.tolist() == [-2, 0]        # (-1 + -2) / 2 = -1.5, floored


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_int32_scatter_reduce_and_scatter_add_keep_int32(reduce):
    x = mg.tensor([1, 2, 3], dtype=mg.int32)
    src = mg.tensor([4, 5, 6], dtype=mg.int32)
    index = mg.tensor([0, 0, 2])
    out = x.scatter_reduce(0, index, src, reduce)
    expected = {"sum": [10, 2, 9], "prod": [20, 2, 18], "mean": [3, 2, 4], "amax": [5, 2, 6], "amin": [1, 2, 3]}
    assert out.dtype == np.int32 and out.tolist() == expected[reduce]
    added = x.scatter_add(0, index, src)
    assert added.dtype == np.int32 and added.tolist() == [10, 2, 9]


def test_a_0_d_tensor_takes_only_dim_0_or_minus_1():
    """PyTorch's scatter and index functions on a 0-d tensor take dim 0 or -1 only."""
    x = mg.tensor(1.0)
    with pytest.raises(IndexError, match="scatter_add: dim 1 is out of range"):
        x.scatter_add(1, mg.tensor([0]), mg.tensor([1.0]))
    with pytest.raises(IndexError, match="index_add: dim -2 is out of range"):
        x.index_add(-2, mg.tensor([0]), mg.tensor([1.0]))


def test_index_copy_refuses_a_source_of_another_dtype():
    """PyTorch's index_copy_: "index_copy_(): self and source expected to have the same dtype"."""
    x = mg.zeros(3)
    with pytest.raises(TypeError, match="index_copy: expected the source in the tensor's dtype float32, got float64"):
        x.index_copy(0, mg.tensor([1]), mg.ones(1, dtype=mg.float64))


def test_scatter_refuses_a_src_shorter_than_the_index_along_any_axis():
    """PyTorch's scatter: index.size(d) <= src.size(d) for every d."""
    with pytest.raises(ValueError, match=r"scatter_add: src of shape \(2, 1\) does not cover index of shape \(2, 2\)"):
        mg.zeros(2, 2).scatter_add(1, mg.tensor([[0, 1], [1, 0]]), mg.ones(2, 1))


def test_scatter_refuses_a_src_with_another_number_of_axes_than_the_index():
    """PyTorch's scatter: index and src have the same number of dimensions."""
    with pytest.raises(ValueError, match=r"scatter_reduce: src of shape \(5,\) does not cover index of shape \(2, 1\)"):
        mg.zeros(2, 2).scatter_reduce(0, mg.tensor([[0], [1]]), mg.ones(5), "sum")


def test_in_place_index_add_uses_alpha_and_scatter_reduce_uses_include_self():
    """t.index_add_(dim, index, source, alpha=a) adds a * source, as index_add; t.scatter_reduce_(...,
    include_self=False) leaves self's entry out at the positions written to, as scatter_reduce."""
    x = mg.tensor([1.0, 2.0, 3.0])
    assert x.index_add_(0, mg.tensor([0, 2]), mg.tensor([1.0, 1.0]), alpha=-2.0) is x
    assert x.tolist() == [-1.0, 2.0, 1.0]
    y = mg.tensor([10.0, 20.0, 30.0])
    y.scatter_reduce_(0, mg.tensor([0, 0, 1]), mg.tensor([1.0, 3.0, 5.0]), "mean", include_self=False)
    assert y.tolist() == [2.0, 5.0, 30.0]
    z = mg.tensor([10.0, 20.0])
    z.scatter_reduce_(0, mg.tensor([1]), mg.tensor([-4.0]), "amax", include_self=False)
    assert z.tolist() == [10.0, -4.0]


def test_index_add_and_index_copy_refuse_a_source_of_the_right_size_but_the_wrong_shape():
    """PyTorch's index_add_: source has self's shape with len(index) along dim -- (2, 3) is not (3, 2)."""
    x = mg.zeros(3, 2)
    with pytest.raises(ValueError, match=r"index_add: expected a source of shape \(3, 2\)"):
        x.index_add(0, mg.tensor([0, 1, 2]), mg.ones(2, 3))
    with pytest.raises(ValueError, match=r"index_copy: expected a source of shape \(3, 2\)"):
        x.index_copy(0, mg.tensor([2, 1, 0]), mg.ones(2, 3))


def test_scatter_functions_on_a_0_d_tensor_take_a_0_d_index_and_src():
    """PyTorch's scatter_add and scatter_reduce on a 0-d self take a 0-d index and src (its one position)."""
    x = mg.tensor(1.0)
    assert x.scatter_add(0, mg.tensor(0), mg.tensor(5.0)).item() == 6.0
    assert x.scatter_reduce(-1, mg.tensor(0), mg.tensor(5.0), "amax").item() == 5.0
    assert x.scatter_reduce(0, mg.tensor(0), mg.tensor(5.0), "prod", include_self=False).item() == 5.0


# ---- distances --------------------------------------------------------------------------------------

def test_cdist_refuses_batch_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"cdist: the batch shapes of \(2, 3, 4\) and \(3, 2, 4\) cannot be broadcast"):
        mg.cdist(mg.ones(2, 3, 4), mg.ones(3, 2, 4))


def test_pdist_refuses_a_batch_of_matrices():
    """torch.pdist: "pdist only supports 2D tensors, got: 3D"."""
    with pytest.raises(ValueError, match=r"pdist: expected a matrix \(N, M\), got shape \(2, 3, 4\)"):
        mg.pdist(mg.ones(2, 3, 4))


def test_dist_refuses_integer_tensors():
    """torch.dist is a vector norm, of floating-point tensors only."""
    with pytest.raises(TypeError, match="dist: expected floating-point tensors, got dtypes int64 and int64"):
        mg.dist(mg.tensor([1, 2]), mg.tensor([3, 5]))


def test_renorm_refuses_p_0_and_a_negative_p():
    """ATen's renorm: "renorm: non-positive-norm not supported" (p must be > 0)."""
    with pytest.raises(ValueError, match="renorm: expected p > 0"):
        mg.renorm(mg.ones(2, 2), 0, 0, 1.0)
    with pytest.raises(ValueError, match="renorm: p must be >= 0, got -1"):
        mg.renorm(mg.ones(2, 2), -1, 0, 1.0)


def test_cdist_refuses_a_negative_p():
    """torch.cdist: "cdist only supports non-negative p values"."""
    with pytest.raises(ValueError, match="cdist: p must be >= 0, got -1"):
        mg.cdist(mg.ones(2, 2), mg.ones(2, 2), -1)


def test_renorm_leaves_a_slice_whose_norm_equals_maxnorm_unchanged():
    """torch.renorm scales only where norm > maxnorm (ATen: where(norm > maxnorm, maxnorm / (norm + 1e-7),
    1)): the slice [3, 4] of norm 5 with maxnorm 5 keeps its values exactly; [6, 8] (norm 10) is scaled."""
    a = np.array([[3.0, 4.0], [6.0, 8.0]])
    out = mg.renorm(mg.tensor(a), 2, 0, 5.0).numpy()
    np.testing.assert_array_equal(out[0], [3.0, 4.0])
    np.testing.assert_allclose(out[1], a[1] * 5.0 / (10.0 + 1e-7), rtol=1e-15)


def test_renorm_of_float32_stays_float32():
    x = mg.tensor([[3.0, 4.0], [0.3, 0.4]])
    out = x.renorm(2, 0, 1.0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)


def test_dist_cdist_and_pdist_default_to_p_2():
    """torch.dist, torch.cdist and torch.pdist: p=2 by default (the Euclidean distance)."""
    a, b = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[3.0, 4.0]])
    assert mg.dist(mg.tensor(a[0]), mg.tensor(b[0])).item() == 5.0
    np.testing.assert_allclose(mg.cdist(mg.tensor(a), mg.tensor(b)).numpy(), [[5.0], [np.sqrt(13.0)]], rtol=1e-15)
    np.testing.assert_allclose(mg.pdist(mg.tensor(np.vstack([a, b]))).numpy(), [np.sqrt(2.0), 5.0, np.sqrt(13.0)],
                               rtol=1e-15)


def test_cdist_refuses_vectors():
    """torch.cdist: "cdist only supports at least 2D tensors, X1 got: 1D"."""
    with pytest.raises(ValueError, match=r"cdist: expected x1 \(..., P, M\) and x2 .* got shapes \(3,\) and"):
        mg.cdist(mg.ones(3), mg.ones(2, 3))
    with pytest.raises(ValueError, match=r"cdist: expected x1 \(..., P, M\)"):
        mg.cdist(mg.ones(2, 3), mg.ones(3))


# ---- creation ---------------------------------------------------------------------------------------

def test_logspace_of_0_steps_is_empty():
    """torch.logspace(0, 1, 0) is an empty tensor (steps >= 0)."""
    out = mg.logspace(0, 1, 0)
    assert out.shape == (0,) and out.dtype == np.float32


@pytest.mark.parametrize("start, end, base", [(0, float("inf"), 10.0), (float("nan"), 1, 10.0), (0, 1, float("inf"))])
def test_logspace_refuses_non_finite_arguments(start, end, base):
    with pytest.raises(ValueError, match="logspace: start, end and base must be finite numbers"):
        mg.logspace(start, end, 3, base=base)


def test_logspace_takes_requires_grad():
    out = mg.logspace(0, 2, 3, base=2, dtype=mg.float64, requires_grad=True)
    assert out.requires_grad and out.is_leaf
    np.testing.assert_array_equal(out.detach().numpy(), [1.0, 2.0, 4.0])


def test_tril_and_triu_indices_refuse_a_negative_col():
    """torch.tril_indices / triu_indices: "col must be non-negative"."""
    for fn in (mg.tril_indices, mg.triu_indices):
        with pytest.raises(ValueError, match=r"_indices: expected integers row >= 0, col >= 0 .* col=-1"):
            fn(2, -1)


def test_tril_and_triu_indices_take_a_dtype():
    lower = mg.tril_indices(3, 2, dtype=mg.int32)
    upper = mg.triu_indices(2, 3, 1, dtype=mg.int32)
    assert lower.dtype == np.int32 and upper.dtype == np.int32
    np.testing.assert_array_equal(lower.numpy(), np.stack(np.tril_indices(3, 0, 2)))
    np.testing.assert_array_equal(upper.numpy(), [[0, 0, 1], [1, 2, 2]])


def test_tril_indices_refuses_a_non_integer_offset():
    with pytest.raises(ValueError, match="tril_indices: expected integers .* got row=3, col=3, offset=0.5"):
        mg.tril_indices(3, 3, 0.5)


def test_logspace_refuses_a_device_other_than_the_cpu():
    with pytest.raises(RuntimeError, match="logspace: device 'cuda' is not available"):
        mg.logspace(0, 1, 3, device="cuda")


# ---- differences from PyTorch found by the mutation check (bugs, marked until fixed) -------------------

def test_block_diag_of_no_tensors_is_an_empty_1_by_0_float_matrix():
    out = mg.block_diag()
    assert out.shape == (1, 0) and out.dtype == np.float32


def test_block_diag_promotes_dtypes_as_pytorchs_result_type_with_0_d_tensors_a_lower_tier():
    """ATen: output_scalar_type = native::result_type(tensors): dimensioned tensors first, 0-d tensors only
    when of a higher category (the rule of mg.result_type)."""
    out = mg.block_diag(mg.ones(2, 2), mg.tensor(3.0, dtype=mg.float64))
    assert out.dtype == np.float32 == mg.result_type(mg.ones(2, 2), mg.tensor(3.0, dtype=mg.float64))
    np.testing.assert_array_equal(out.numpy(), [[1, 1, 0], [1, 1, 0], [0, 0, 3]])


def test_renorm_refuses_a_vector():
    with pytest.raises(ValueError, match="renorm"):
        mg.renorm(mg.tensor([3.0, -4.0]), 2, 0, 1.0)


def test_index_add_refuses_a_source_of_another_dtype_whatever_alpha():
    """ATen (index_func_meta_impl): "index_add_(): self (Float) and source (Double) must have the same scalar type"."""
    x = mg.zeros(3)
    for alpha in (1, 2.0):
        with pytest.raises(TypeError, match="index_add: expected the source in the tensor's dtype float32"):
            x.index_add(0, mg.tensor([1]), mg.ones(1, dtype=mg.float64), alpha=alpha)


def test_index_add_and_index_copy_on_a_0_d_tensor_take_a_0_d_source():
    """ATen (index_func_meta_impl): a 0-d source counts as one entry, and a 0-d self's shape matches a 0-d
    source's, so x.index_add(0, tensor(0), tensor(5.)) on x = tensor(1.) is tensor(6.)."""
    x = mg.tensor(1.0)
    assert x.index_add(0, mg.tensor(0), mg.tensor(5.0)).item() == 6.0
    assert x.index_copy(0, mg.tensor([0]), mg.tensor(5.0)).item() == 5.0
