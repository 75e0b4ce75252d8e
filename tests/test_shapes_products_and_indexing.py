"""PyTorch's shape, indexing and product functions (ops/combining.py, contracting.py, scattering.py, the
distances of functional/distances.py, and creation.py's logspace, tril_indices, triu_indices).

Values against numpy's own functions (np.kron, np.tensordot, np.trace, np.add.at, np.rot90, np.vander,
np.logspace, np.array_split, ...) or hand-written numpy of PyTorch's documented formula; gradients
against central differences and tangents against directional differences, in float64, on several
shapes; errors name the function, and a refused in-place call changes nothing.
"""

import itertools

import numpy as np
import pytest
from test_forward_mode import as_tensors, directional_difference
from test_op_gradients import assert_gradients_match

import microgradseq as mg
import microgradseq.functional as F

RNG = np.random.default_rng(2026)


def rand(*shape):
    return RNG.standard_normal(shape)


def check_both_modes(mg_fn, np_fn, *arrays):
    """The value and the gradient of every operand (central differences), and the tangent along a random
    direction on all operands at once (directional difference)."""
    assert_gradients_match(mg_fn, np_fn, *arrays)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    directions = [rand(*a.shape) for a in arrays]
    _, tangent = mg.jvp(mg_fn, as_tensors(arrays), directions)
    np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, directions), rtol=1e-6, atol=1e-7)


def joined(pieces):
    """Several tensors (or arrays) as one vector, each flattened."""
    if isinstance(pieces[0], mg.Tensor):
        return mg.cat([p.reshape(-1) for p in pieces])
    return np.concatenate([np.reshape(p, -1) for p in pieces])


# ---- products ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 1)])
def test_trace_is_numpys_and_its_gradient_the_identity(shape):
    check_both_modes(mg.trace, np.trace, rand(*shape))
    x = mg.tensor(rand(*shape), requires_grad=True)
    x.trace().backward()
    np.testing.assert_array_equal(x.grad, np.eye(*shape))
    assert mg.trace(mg.tensor([[1, 2], [3, 4]])).item() == 5


@pytest.mark.parametrize("shapes", [((2, 3), (3, 2)), ((3,), (2, 2)), ((2, 1, 2), (2, 3)), ((), (2,))])
def test_kron_is_numpys(shapes):
    check_both_modes(mg.kron, np.kron, *(rand(*s) for s in shapes))
    a, b = (rand(*s) for s in shapes)
    np.testing.assert_allclose(mg.tensor(a).kron(mg.tensor(b)).numpy(), np.kron(a, b), rtol=1e-14)


@pytest.mark.parametrize("shapes, dims", [(((2, 3, 4), (3, 4, 5)), 2), (((2, 3), (3, 2)), 1), (((2,), (3,)), 0),
                                          (((2, 3, 4), (4, 2, 5)), ([0, 2], [1, 0])), (((3, 4), (4, 3)), ([1], [0])),
                                          (((2, 3), (3, 4)), (1, 0))])
def test_tensordot_is_numpys(shapes, dims):
    numpy_dims = dims if isinstance(dims, int) else tuple(dims)
    check_both_modes(lambda a, b: mg.tensordot(a, b, dims), lambda a, b: np.tensordot(a, b, numpy_dims),
                     *(rand(*s) for s in shapes))


def test_mv_vdot_and_the_fused_additions_match_their_formulas():
    A, v, u = rand(3, 4), rand(4), rand(3)
    check_both_modes(mg.mv, lambda a, b: a @ b, A, v)
    check_both_modes(mg.vdot, np.vdot, v, rand(4))
    check_both_modes(lambda i, a, b: mg.addmv(i, a, b, beta=0.5, alpha=2), lambda i, a, b: 0.5 * i + 2 * (a @ b),
                     u, A, v)
    check_both_modes(lambda i, a, b: mg.addr(i, a, b, beta=-1, alpha=3), lambda i, a, b: -i + 3 * np.outer(a, b),
                     rand(1, 4), u, v)
    check_both_modes(lambda i, a, b: mg.baddbmm(i, a, b, beta=2, alpha=0.5),
                     lambda i, a, b: 2 * i + 0.5 * np.einsum("bij,bjk->bik", a, b), rand(4, 1), rand(2, 4, 3),
                     rand(2, 3, 3))
    check_both_modes(lambda i, a, b: i.addbmm(a, b, alpha=-2), lambda i, a, b: i - 2 * np.einsum("bij,bjk->ik", a, b),
                     rand(4, 2), rand(3, 4, 5), rand(3, 5, 2))


def test_fused_additions_with_beta_0_ignore_the_inputs_nan():
    out = mg.addmv(mg.tensor([np.nan, 1.0]), mg.ones(2, 2), mg.ones(2), beta=0)
    np.testing.assert_array_equal(out.numpy(), [2.0, 2.0])
    assert mg.addr(mg.tensor([[np.inf]]), mg.ones(1), mg.ones(1), beta=0).item() == 1.0


def test_products_name_themselves_on_bad_shapes():
    with pytest.raises(ValueError, match=r"tensordot: shapes \(2, 3\) and \(2, 3\) do not line up"):
        mg.tensordot(mg.ones(2, 3), mg.ones(2, 3), 1)
    with pytest.raises(ValueError, match="tensordot: dims=3"):
        mg.tensordot(mg.ones(2, 3), mg.ones(3, 2), 3)
    with pytest.raises(ValueError, match=r"mv: expected a matrix \(n, m\) and a vector \(m,\), got shapes"):
        mg.mv(mg.ones(2, 3), mg.ones(2))
    with pytest.raises(ValueError, match=r"trace: expected a matrix \(2 axes\), got shape \(2, 2, 2\)"):
        mg.trace(mg.ones(2, 2, 2))
    with pytest.raises(ValueError, match="vdot: expected two 1-d tensors"):
        mg.vdot(mg.ones(2), mg.ones(3))
    with pytest.raises(ValueError, match=r"addbmm: expected two 3-d tensors"):
        mg.addbmm(mg.zeros(2, 2), mg.ones(3, 2, 4), mg.ones(2, 4, 2))
    with pytest.raises(ValueError, match=r"baddbmm: input of shape \(3, 3\) does not broadcast"):
        mg.baddbmm(mg.zeros(3, 3), mg.ones(2, 2, 4), mg.ones(2, 4, 2))
    with pytest.raises(TypeError, match="addr: beta must be a number"):
        mg.addr(mg.zeros(2, 2), mg.ones(2), mg.ones(2), beta="1")


# ---- joining, splitting, selecting ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack", "row_stack"])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (2, 3)), ((), ()), ((2, 3, 1), (2, 3, 1))])
def test_stacking_functions_are_numpys(name, shapes):
    if name == "column_stack" and len(shapes[0]) == 3:
        shapes = ((2, 3), (2, 1))
    numpy_name = "vstack" if name == "row_stack" else name
    check_both_modes(lambda a, b: getattr(mg, name)([a, b]), lambda a, b: getattr(np, numpy_name)([a, b]),
                     *(rand(*s) for s in shapes))


def test_concatenate_and_moveaxis_are_cat_and_movedim():
    a, b = rand(2, 3), rand(1, 3)
    np.testing.assert_array_equal(mg.concatenate([mg.tensor(a), mg.tensor(b)], axis=0).numpy(),
                                  np.concatenate([a, b]))
    np.testing.assert_array_equal(mg.moveaxis(mg.tensor(rand(2, 3, 4)), 0, -1).shape, (3, 4, 2))
    check_both_modes(lambda x: mg.moveaxis(x, (0, 1), (2, 0)), lambda x: np.moveaxis(x, (0, 1), (2, 0)), rand(2, 3, 4))


@pytest.mark.parametrize("given", [3, 4, 7, 1, [1, 3], [2, 2, 5], [4, 1], [-2], [0, 10]])
@pytest.mark.parametrize("shape, dim", [((6,), 0), ((2, 5), 1), ((5, 3), -2)])
def test_tensor_split_is_numpys_array_split(given, shape, dim):
    check_both_modes(lambda x: joined(mg.tensor_split(x, given, dim)),
                     lambda a: joined(np.array_split(a, given, axis=dim)), rand(*shape))
    pieces = rand(*shape)
    assert [p.shape for p in mg.tensor(pieces).tensor_split(given, dim=dim)] == [
        p.shape for p in np.array_split(pieces, given, axis=dim)]


def test_tensor_split_takes_a_tensor_of_sections_or_indices():
    x = mg.arange(7)
    assert [p.tolist() for p in x.tensor_split(mg.tensor(3))] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [p.tolist() for p in x.tensor_split(mg.tensor([1, 5]))] == [[0], [1, 2, 3, 4], [5, 6]]


@pytest.mark.parametrize("name, shape, given", [("hsplit", (2, 6), 3), ("hsplit", (6,), [2, 5]), ("vsplit", (4, 2), 2),
                                                ("vsplit", (4, 2), [1]), ("dsplit", (2, 2, 4), 2),
                                                ("dsplit", (2, 1, 5), [3, 4])])
def test_hsplit_vsplit_dsplit_are_numpys(name, shape, given):
    check_both_modes(lambda x: joined(getattr(mg, name)(x, given)), lambda a: joined(getattr(np, name)(a, given)),
                     rand(*shape))


def test_the_splits_refuse_uneven_sections_and_too_few_axes():
    with pytest.raises(ValueError, match=r"hsplit: 4 sections do not divide dim 1 of shape \(2, 6\) evenly"):
        mg.ones(2, 6).hsplit(4)
    with pytest.raises(ValueError, match=r"dsplit: expected a tensor with at least 3 axes, got shape \(2, 2\)"):
        mg.dsplit(mg.ones(2, 2), 2)
    with pytest.raises(ValueError, match="tensor_split: the number of sections must be at least 1, got 0"):
        mg.tensor_split(mg.ones(3), 0)
    with pytest.raises(TypeError, match="tensor_split: expected a number of sections or a list of indices"):
        mg.tensor_split(mg.ones(3), 1.5)


@pytest.mark.parametrize("shape, dim, index", [((3, 4), 0, 1), ((3, 4), 1, -1), ((2, 3, 4), -2, 2), ((5,), 0, 0)])
def test_select_is_numpys_take(shape, dim, index):
    check_both_modes(lambda x: x.select(dim, index), lambda a: np.take(a, index, axis=dim), rand(*shape))
    with pytest.raises(IndexError, match=r"select: index 9 is out of range for dim"):
        mg.select(mg.ones(*shape), dim, 9)


@pytest.mark.parametrize("shape, offset, dim1, dim2", [((3, 3), 0, 0, 1), ((3, 4), 1, 0, 1), ((4, 3), -2, 0, 1),
                                                       ((2, 3, 4), 0, 2, 0), ((2, 3, 4), 1, -1, 1), ((3, 2), 5, 0, 1)])
def test_diagonal_is_numpys(shape, offset, dim1, dim2):
    check_both_modes(lambda x: mg.diagonal(x, offset, dim1, dim2),
                     lambda a: np.diagonal(a, offset, dim1, dim2), rand(*shape))


def np_diag_embed(a, offset, dim1, dim2):
    """Each vector of the last axis on the offset-th diagonal (np.diag), the matrices' axes then moved."""
    n = a.shape[-1] + abs(offset)
    out = np.zeros(a.shape[:-1] + (n, n))
    for index in np.ndindex(a.shape[:-1]):
        out[index] = np.diag(a[index], offset)
    return np.moveaxis(out, (-2, -1), (dim1, dim2))


@pytest.mark.parametrize("shape, offset, dim1, dim2", [((3,), 0, -2, -1), ((2, 3), 1, -2, -1), ((2, 3), -1, 0, 2),
                                                       ((2, 2, 3), 2, 3, 1), ((4,), -2, 1, 0)])
def test_diag_embed_lays_each_vector_on_a_diagonal(shape, offset, dim1, dim2):
    check_both_modes(lambda x: x.diag_embed(offset, dim1, dim2), lambda a: np_diag_embed(a, offset, dim1, dim2),
                     rand(*shape))


def test_diagonal_and_diag_embed_refuse_one_dim_twice():
    with pytest.raises(ValueError, match="diagonal: expected two different dims"):
        mg.ones(2, 2).diagonal(0, 1, 1)
    with pytest.raises(ValueError, match="diag_embed: expected a tensor with at least one axis"):
        mg.diag_embed(mg.tensor(1.0))
    with pytest.raises(IndexError, match="diag_embed: dim 3 is out of range"):
        mg.diag_embed(mg.ones(2), 0, 0, 3)


def np_block_diag(*arrays):
    blocks = [np.atleast_2d(a) for a in arrays]
    out = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)))
    row = column = 0
    for b in blocks:
        out[row:row + b.shape[0], column:column + b.shape[1]] = b
        row, column = row + b.shape[0], column + b.shape[1]
    return out


def test_block_diag_puts_the_blocks_on_the_diagonal():
    check_both_modes(mg.block_diag, np_block_diag, rand(2, 3), rand(), rand(3), rand(1, 2))
    assert mg.block_diag(mg.tensor([[1, 2]]), mg.tensor(3.0)).dtype == np.float32
    with pytest.raises(ValueError, match="block_diag: expected tensors with at most 2 axes"):
        mg.block_diag(mg.ones(1, 1, 1))


@pytest.mark.parametrize("k", [-3, -1, 0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("shape, dims", [((2, 3), [0, 1]), ((2, 3, 4), [2, 0]), ((3, 2, 2), [-1, 1])])
def test_rot90_is_numpys(k, shape, dims):
    check_both_modes(lambda x: mg.rot90(x, k, dims), lambda a: np.rot90(a, k, dims), rand(*shape))


def test_fliplr_and_flipud_are_numpys():
    check_both_modes(mg.fliplr, np.fliplr, rand(2, 3, 2))
    check_both_modes(lambda x: x.flipud(), np.flipud, rand(3))
    with pytest.raises(ValueError, match=r"fliplr: expected a tensor with at least 2 axes, got shape \(3,\)"):
        mg.fliplr(mg.ones(3))
    with pytest.raises(ValueError, match="rot90: expected two different dims"):
        mg.rot90(mg.ones(2, 2), 1, [1, 1])


def test_broadcast_shapes_and_tensors_are_numpys():
    assert mg.broadcast_shapes((2, 1), (3,), 1) == mg.Size([2, 3]) == np.broadcast_shapes((2, 1), (3,), (1,))
    check_both_modes(lambda a, b: joined(mg.broadcast_tensors(a, b)), lambda a, b: joined(np.broadcast_arrays(a, b)),
                     rand(2, 1), rand(3))
    with pytest.raises(ValueError, match=r"broadcast_shapes: shapes \(2,\), \(3,\) cannot be broadcast together"):
        mg.broadcast_shapes((2,), 3)
    with pytest.raises(ValueError, match="broadcast_tensors: shapes"):
        mg.broadcast_tensors(mg.ones(2), mg.ones(3))


# ---- combinatorics and creation ------------------------------------------------------------------

@pytest.mark.parametrize("lengths", [(3,), (2, 3), (2, 1, 3)])
def test_cartesian_prod_is_itertools_product(lengths):
    arrays = [rand(n) for n in lengths]
    expected = np.array(list(itertools.product(*arrays)))
    check_both_modes(mg.cartesian_prod, lambda *a: np.array(list(itertools.product(*a))).reshape(expected.shape)
                     if len(a) > 1 else a[0], *arrays)


@pytest.mark.parametrize("r, with_replacement", [(2, False), (3, False), (1, True), (2, True), (5, False)])
def test_combinations_are_itertools(r, with_replacement):
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations

    def np_fn(a):
        return np.array(list(pick(a, r))).reshape(-1, r)
    check_both_modes(lambda x: mg.combinations(x, r, with_replacement), np_fn, rand(4))
    assert mg.combinations(mg.ones(3), 0).shape == (0,)


@pytest.mark.parametrize("N", [None, 0, 1, 4])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander_is_numpys_with_an_exact_gradient_at_zero(N, increasing):
    x = np.array([0.5, -1.2, 0.0, 2.0])
    check_both_modes(lambda t: mg.vander(t, N, increasing), lambda a: np.vander(a, N, increasing), x)
    assert mg.vander(mg.tensor([1, 2, 3]), 3).dtype == np.int64
    np.testing.assert_array_equal(mg.vander(mg.tensor([1, 2, 3])).numpy(), np.vander([1, 2, 3]))


def test_tril_and_triu_indices_are_numpys_stacked():
    for row, col, offset in [(3, 3, 0), (4, 3, 1), (3, 5, -1), (0, 2, 0)]:
        lower, upper = mg.tril_indices(row, col, offset), mg.triu_indices(row, col, offset)
        assert lower.dtype == np.int64 and lower.shape[0] == 2
        np.testing.assert_array_equal(lower.numpy(), np.stack(np.tril_indices(row, offset, col)))
        np.testing.assert_array_equal(upper.numpy(), np.stack(np.triu_indices(row, offset, col)))
    with pytest.raises(ValueError, match="tril_indices: expected integers row >= 0"):
        mg.tril_indices(-1, 2)


def test_logspace_is_numpys():
    np.testing.assert_allclose(mg.logspace(-2, 3, 6, dtype=mg.float64).numpy(), np.logspace(-2, 3, 6), rtol=1e-15)
    np.testing.assert_allclose(mg.logspace(0, 4, 5, base=2).numpy(), [1, 2, 4, 8, 16])
    assert mg.logspace(0, 1, 3).dtype == np.float32
    with pytest.raises(ValueError, match="logspace: steps must be a non-negative integer"):
        mg.logspace(0, 1, -1)


# ---- writing into positions ----------------------------------------------------------------------

def np_index_add(a, dim, index, source, alpha=1.0):
    out = np.moveaxis(a.copy(), dim, 0)
    np.add.at(out, index, alpha * np.moveaxis(source, dim, 0))
    return np.moveaxis(out, 0, dim)


@pytest.mark.parametrize("shape, dim, index", [((5,), 0, [0, 0, 4]), ((3, 4), 1, [3, 1, 3, 3, 0]),
                                               ((4, 2, 3), 0, [2]), ((2, 3, 2), -1, [1, 0, 1])])
def test_index_add_is_numpys_add_at(shape, dim, index):
    index = np.array(index)
    source_shape = list(shape)
    source_shape[dim] = len(index)
    check_both_modes(lambda x, s: x.index_add(dim, index, s, alpha=-1.5),
                     lambda a, s: np_index_add(a, dim, index, s, -1.5), rand(*shape), rand(*source_shape))


def test_index_copy_writes_the_source_rows():
    def np_fn(a, s):
        out = a.copy()
        out[:, [2, 0]] = s
        return out
    check_both_modes(lambda x, s: mg.index_copy(x, 1, mg.tensor([2, 0]), s), np_fn, rand(3, 4), rand(3, 2))
    with pytest.raises(ValueError, match="index_copy: the index names a position twice"):
        mg.zeros(3).index_copy(0, mg.tensor([1, 1]), mg.tensor([1.0, 2.0]))


def scatter_positions(a_shape, dim, index):
    positions = list(np.indices(index.shape))
    positions[dim] = index
    return tuple(positions)


def np_scatter_add(a, dim, index, src):
    out = a.copy()
    np.add.at(out, scatter_positions(a.shape, dim, index), src[tuple(slice(0, n) for n in index.shape)])
    return out


@pytest.mark.parametrize("shape, dim, index, src_shape", [((4,), 0, [[0, 3, 0, 0]][0], (5,)),
                                                          ((3, 4), 1, [[0, 0], [3, 1], [2, 2]], (3, 3)),
                                                          ((3, 2), 0, [[2, 0], [2, 2]], (2, 2))])
def test_scatter_add_is_numpys_add_at(shape, dim, index, src_shape):
    index = np.array(index, dtype=np.int64)
    check_both_modes(lambda x, s: x.scatter_add(dim, index, s), lambda a, s: np_scatter_add(a, dim, index, s),
                     rand(*shape), rand(*src_shape))


UFUNCS = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def np_scatter_reduce(a, dim, index, src, reduce, include_self):
    """PyTorch's documented scatter_reduce: at each position written to, the reduction of what is sent there
    (and of self's entry with include_self); elsewhere self."""
    positions = scatter_positions(a.shape, dim, index)
    values = src[tuple(slice(0, n) for n in index.shape)]
    written = np.zeros(a.shape, dtype=bool)
    written[positions] = True
    if reduce == "mean":
        total = np.where(written & ~include_self, 0.0, a)
        count = np.where(written & ~include_self, 0.0, 1.0)
        np.add.at(total, positions, values)
        np.add.at(count, positions, 1.0)
        return total / count
    identity = {"sum": 0.0, "prod": 1.0, "amax": -np.inf, "amin": np.inf}[reduce]
    out = np.where(written & ~include_self, identity, a)
    UFUNCS[reduce].at(out, positions, values)
    return out


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("shape, dim, index, src_shape", [((5,), 0, [0, 3, 0, 0, 1], (6,)),
                                                          ((3, 4), 1, [[0, 0, 2], [3, 1, 3], [2, 2, 2]], (3, 3)),
                                                          ((2, 3), -2, [[1, 0, 1]], (1, 3))])
def test_scatter_reduce_matches_pytorchs_formula(reduce, include_self, shape, dim, index, src_shape):
    """Distinct values (no ties), so every reduction is differentiable and central differences apply."""
    index = np.array(index, dtype=np.int64)
    a, src = rand(*shape), rand(*src_shape)
    check_both_modes(lambda x, s: mg.scatter_reduce(x, dim, index, s, reduce, include_self=include_self),
                     lambda x, s: np_scatter_reduce(x, dim, index, s, reduce, include_self), a, src)


def test_scatter_reduce_amax_splits_the_gradient_evenly_among_ties():
    """out[0] = max(self[0] = 2, src 2, 2, 1) = 2: a three-way tie, each gets 1/3 (PyTorch's rule); without
    include_self only the two src entries tie and each gets 1/2, self's entry 0."""
    for include_self, expected_self, expected_src in [(True, [1 / 3, 1], [1 / 3, 1 / 3, 0]),
                                                      (False, [0, 1], [1 / 2, 1 / 2, 0])]:
        x = mg.tensor([2.0, 5.0], requires_grad=True, dtype=mg.float64)
        s = mg.tensor([2.0, 2.0, 1.0], requires_grad=True, dtype=mg.float64)
        out = x.scatter_reduce(0, mg.tensor([0, 0, 0]), s, "amax", include_self=include_self)
        assert out.tolist() == [2.0, 5.0]
        out.sum().backward()
        np.testing.assert_allclose(x.grad, expected_self)
        np.testing.assert_allclose(s.grad, expected_src)


def test_scatter_reduce_prod_gradient_is_exact_at_zeros():
    """out[0] = self[0] src[0] src[1] = 3 * 0 * 0: each factor's gradient is the product of the others."""
    x = mg.tensor([3.0, 1.0], requires_grad=True, dtype=mg.float64)
    s = mg.tensor([0.0, 0.0, 2.0], requires_grad=True, dtype=mg.float64)
    x.scatter_reduce(0, mg.tensor([0, 0, 1]), s, "prod").sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0])
    np.testing.assert_array_equal(s.grad, [0.0, 0.0, 1.0])
    s2 = mg.tensor([0.0, 4.0, 2.0], requires_grad=True, dtype=mg.float64)
    mg.tensor([3.0, 1.0], dtype=mg.float64).scatter_reduce(0, mg.tensor([0, 0, 1]), s2, "prod").sum().backward()
    np.testing.assert_array_equal(s2.grad, [12.0, 0.0, 1.0])


def test_a_0_d_tensor_takes_writes_at_its_one_position_and_the_function_forms_take_arrays():
    x = mg.tensor(1.0, requires_grad=True, dtype=mg.float64)
    out = x.index_add(0, mg.tensor([0, 0]), mg.tensor([2.0, 3.0], dtype=mg.float64))
    out = out.scatter_add(-1, mg.tensor([0]), mg.tensor([5.0], dtype=mg.float64))
    assert out.shape == () and out.item() == 11.0
    out.backward()
    assert x.grad == 1.0
    np.testing.assert_array_equal(mg.index_add(np.zeros(3, np.float32), 0, [1, 1], mg.tensor([1.0, 2.0])).numpy(),
                                  [0.0, 3.0, 0.0])
    assert mg.scatter_reduce(mg.tensor([True, False]), 0, mg.tensor([1]), mg.tensor([True]), "amax").tolist() == [
        True, True]


def test_integer_scatter_reduce_mean_floors_as_pytorch():
    out = mg.tensor([1, 7]).scatter_reduce(0, mg.tensor([0, 0, 1]), mg.tensor([2, 4, -2]), "mean")
    assert out.dtype == np.int64 and out.tolist() == [2, 2]


def test_in_place_forms_write_into_the_tensor_and_record():
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, requires_grad=True)
    y = x * 1
    y.index_add_(0, mg.tensor([0, 0]), mg.tensor([1.0, 2.0], dtype=mg.float64))
    y.scatter_add_(0, mg.tensor([2]), mg.tensor([5.0], dtype=mg.float64))
    y.scatter_reduce_(0, mg.tensor([1]), mg.tensor([-1.0], dtype=mg.float64), "amin")
    y.index_copy_(0, mg.tensor([2]), mg.tensor([0.5], dtype=mg.float64))
    assert y.tolist() == [4.0, -1.0, 0.5]
    (y * mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 0.0])


def test_writing_functions_refuse_bad_input_naming_themselves_and_change_nothing():
    t = mg.zeros(3)
    cases = [
        (lambda: t.index_add_(0, mg.tensor([0, 3]), mg.ones(2)), IndexError, "index_add_?: indices from 0 to 3"),
        (lambda: t.index_add_(0, mg.tensor([0]), mg.ones(2)), ValueError,
         r"index_add: expected a source of shape \(1,\)"),
        (lambda: t.scatter_add_(0, mg.tensor([0], dtype=mg.int32), mg.ones(1)), TypeError,
         "scatter_add: expected an int64 index"),
        (lambda: t.scatter_reduce_(0, mg.tensor([0]), mg.ones(1), "max"), ValueError,
         "scatter_reduce: reduce must be one of sum, prod, mean, amax, amin, got 'max'"),
        (lambda: t.scatter_reduce_(0, mg.tensor([0]), mg.ones(1, dtype=mg.float64), "sum"), TypeError,
         "scatter_reduce: expected the source in the tensor's dtype float32, got float64"),
        (lambda: t.index_copy_(0, mg.tensor([[0]]), mg.ones(1)), ValueError, "index_copy: expected a 0-d or 1-d index"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
        assert t.tolist() == [0.0, 0.0, 0.0]


# ---- distances -----------------------------------------------------------------------------------

def np_norm(d, p, axis):
    if p == np.inf:
        return np.abs(d).max(axis=axis)
    if p == 0:
        return (d != 0).sum(axis=axis).astype(np.float64)
    return (np.abs(d) ** p).sum(axis=axis) ** (1 / p)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 0.5, np.inf])
@pytest.mark.parametrize("shapes", [((3, 2), (4, 2)), ((2, 3, 4), (1, 2, 4)), ((2, 1, 2, 3), (3, 4, 3))])
def test_cdist_is_the_p_norm_of_each_pair_of_rows(p, shapes):
    def np_fn(a, b):
        return np_norm(a[..., :, None, :] - b[..., None, :, :], p, -1)
    check_both_modes(lambda a, b: mg.cdist(a, b, p), np_fn, *(rand(*s) for s in shapes))


def test_cdist_of_equal_rows_has_distance_0_and_gradient_0():
    x = mg.tensor([[1.0, 2.0], [1.0, 2.0]], dtype=mg.float64, requires_grad=True)
    distances = mg.cdist(x, x)
    assert distances.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    distances.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 2)))
    assert mg.cdist(mg.tensor([[0.0, 1.0]]), mg.tensor([[0.0, 3.0]]), p=0).item() == 1.0


@pytest.mark.parametrize("p", [1.0, 2.0, 1.5, np.inf])
@pytest.mark.parametrize("rows", [2, 4])
def test_pdist_is_the_upper_triangle_of_cdist_row_by_row(p, rows):
    def np_fn(a):
        return np.array([np_norm(a[i] - a[j], p, -1) for i, j in itertools.combinations(range(len(a)), 2)])
    check_both_modes(lambda x: mg.pdist(x, p), np_fn, rand(rows, 3))
    assert F.pdist is mg.pdist and mg.pdist(mg.ones(1, 3)).shape == (0,)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, np.inf])
def test_dist_is_the_p_norm_of_the_difference(p):
    check_both_modes(lambda a, b: mg.dist(a, b, p), lambda a, b: np_norm((a - b).reshape(-1), p, 0),
                     rand(2, 3), rand(3))
    check_both_modes(lambda a, b: a.dist(b, p), lambda a, b: np_norm(np.reshape(a - b, -1), p, 0), rand(), rand())


@pytest.mark.parametrize("p, dim, maxnorm", [(2.0, 0, 1.0), (1.0, 1, 2.0), (3.0, -1, 0.7), (2.0, 1, 100.0)])
def test_renorm_caps_each_slices_norm_with_pytorchs_gradient(p, dim, maxnorm):
    def np_fn(a):
        others = tuple(axis for axis in range(a.ndim) if axis != dim % a.ndim)
        norms = np_norm(a, p, others)
        norms = np.expand_dims(norms, others)
        return a * np.where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    check_both_modes(lambda x: x.renorm(p, dim, maxnorm), np_fn, rand(3, 2, 2) * 2)


def test_distances_refuse_bad_input_naming_themselves():
    with pytest.raises(ValueError, match=r"cdist: expected x1 \(..., P, M\) and x2 \(..., R, M\) with the same M"):
        mg.cdist(mg.ones(2, 3), mg.ones(2, 4))
    with pytest.raises(ValueError, match="pdist: p must be >= 0, got -1"):
        mg.pdist(mg.ones(2, 2), -1)
    with pytest.raises(TypeError, match="pdist: expected a floating-point tensor, got dtype int64"):
        F.pdist(mg.tensor([[1, 2]]))
    with pytest.raises(ValueError, match=r"dist: shapes \(2,\) and \(3,\) cannot be broadcast together"):
        mg.dist(mg.ones(2), mg.ones(3))
    with pytest.raises(ValueError, match="renorm: maxnorm must be >= 0"):
        mg.ones(2, 2).renorm(2, 0, -1.0)
