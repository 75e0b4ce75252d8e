"""Mutation check of the forward semantics and argument checks of the less-used ops (sorting.py,
selecting.py, logical.py, filling.py, assign.py, reduce.py, expanding.py): each test pins one
behaviour PyTorch documents that the rest of the suite let a hand-made mutant change. Expected
values are worked out by hand from PyTorch's definitions (or plain numpy), never from the library."""

import numpy as np
import pytest

import microgradseq as mg


# ---- sorting --------------------------------------------------------------------------------------

def test_topk_refuses_a_negative_k():
    """topk's k must be in [0, n] (PyTorch: 'selected index k out of range'): k = -1 is an error,
    not an empty result."""
    with pytest.raises(ValueError, match="topk"):
        mg.tensor([3.0, 1.0, 2.0]).topk(-1)


def test_topk_indices_are_int64():
    """topk's indices are a LongTensor (int64), as torch.topk's."""
    values, indices = mg.tensor([[3.0, 1.0, 2.0]]).topk(2, dim=1)
    assert indices.dtype == np.int64
    assert indices.tolist() == [[0, 2]] and values.tolist() == [[3.0, 2.0]]


def test_sort_of_a_0_d_tensor_refuses_a_dim_other_than_0_or_minus_1():
    """A 0-d tensor takes dim 0 or -1 only (PyTorch: 'Dimension out of range (expected to be in
    range of [-1, 0], but got 1)'); dim 0 gives itself and index 0."""
    values, indices = mg.tensor(5.0).sort(dim=0)
    assert values.tolist() == 5.0 and indices.tolist() == 0
    with pytest.raises(IndexError):
        mg.tensor(5.0).sort(dim=1)
    with pytest.raises(IndexError):
        mg.tensor(5.0).argsort(dim=-2)


# ---- expanding ------------------------------------------------------------------------------------

def test_expand_refuses_fewer_sizes_than_axes():
    """expand takes at least as many sizes as the tensor has axes (PyTorch: 'the number of sizes
    provided (1) must be greater or equal to the number of dimensions in the tensor (2)')."""
    with pytest.raises(ValueError, match="expand"):
        mg.ones(2, 3).expand(3)


def test_expand_refuses_minus_1_for_a_new_leading_axis():
    """-1 keeps an existing axis's size; for a new leading axis there is none to keep (PyTorch:
    'The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0')."""
    with pytest.raises(ValueError, match="expand"):
        mg.ones(3).expand(-1, 3)
    assert mg.ones(2, 1).expand(-1, 4).shape == (2, 4)          # -1 on an existing axis keeps 2


def test_expand_refuses_a_size_smaller_than_a_non_singleton_axis():
    """PyTorch's expand only stretches axes of size 1: `torch.ones(3).expand(1)` raises 'The expanded
    size of the tensor (1) must match the existing size (3) at non-singleton dimension 0'. expand
    used to check only that self and the target broadcast together, and returned the broadcast shape
    (3,) for (1,), and (2, 3) for ones(2, 3).expand(2, 1), with no error."""
    with pytest.raises(ValueError, match=r"expand: .*\(1\) must match the existing size \(3\)"):
        mg.ones(3).expand(1)
    with pytest.raises(ValueError, match="expand"):
        mg.ones(2, 3).expand(2, 1)
    assert mg.ones(2, 1).expand(2, 3).shape == (2, 3) and mg.ones(3).expand(2, 3).shape == (2, 3)


def test_repeat_refuses_fewer_counts_than_axes():
    """repeat needs a count per axis at least (PyTorch: 'Number of dimensions of repeat dims can not
    be smaller than number of dimensions of tensor')."""
    with pytest.raises(ValueError, match="repeat"):
        mg.ones(2, 3).repeat(2)


def test_repeat_takes_a_count_of_zero():
    """A repeat count of 0 is allowed and empties that axis (torch.ones(2, 3).repeat(0, 2) has
    shape (0, 6)); a negative count is refused."""
    assert mg.ones(2, 3).repeat(0, 2).shape == (0, 6)
    assert mg.tensor([1.0, 2.0]).repeat(2, 0).shape == (2, 0)
    with pytest.raises(ValueError, match="repeat"):
        mg.ones(2).repeat(-1)


# ---- selecting ------------------------------------------------------------------------------------

def test_gather_and_index_select_refuse_a_float_index():
    """gather and index_select take integer (PyTorch: int64) indices; float ones are refused with
    the error naming the op (PyTorch: 'gather(): Expected dtype int64 for index')."""
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="gather: expected integer"):
        x.gather(1, np.array([[0.0], [1.0]]))
    with pytest.raises(ValueError, match="index_select: expected integer"):
        x.index_select(0, np.array([1.0]))


def test_index_select_refuses_a_2_d_index():
    """index_select's index is 1-d (PyTorch: 'index_select(): Index is supposed to be a vector')."""
    with pytest.raises(ValueError, match="index_select"):
        mg.tensor([[1.0, 2.0], [3.0, 4.0]]).index_select(0, np.array([[0, 1]]))


def test_gather_index_sizes_are_checked_on_the_other_axes_only():
    """gather needs index.size(d) <= input.size(d) for every d != dim; along dim it may be longer:
    out[i][j] = x[index[i][j]][j] for dim 0."""
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = x.gather(0, np.array([[1, 0], [0, 0], [1, 1]]))
    assert out.tolist() == [[3.0, 2.0], [1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(ValueError, match="gather"):
        x.gather(0, np.array([[0, 0, 0]]))


def test_gather_refuses_an_index_with_fewer_axes():
    """gather's index has as many axes as the input (PyTorch: 'Index tensor must have the same
    number of dimensions as input tensor')."""
    with pytest.raises(ValueError, match="gather"):
        mg.tensor([[1.0, 2.0], [3.0, 4.0]]).gather(1, np.array([0, 1]))


def test_masked_select_picks_where_true_refuses_a_non_bool_mask_and_gives_1_d_for_0_d():
    """masked_select returns the entries where the (bool) mask is True, row-major, 1-d; an integer
    mask is refused (PyTorch: 'masked_select: expected BoolTensor for mask'); 0-d in, 1-d out."""
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.masked_select(np.array([[True, False], [False, True]])).tolist() == [1.0, 4.0]
    assert x.masked_select(np.array([False, True])).tolist() == [2.0, 4.0]      # broadcast over rows
    with pytest.raises(TypeError, match="masked_select"):
        x.masked_select(np.array([[1, 0], [0, 1]]))
    out = mg.tensor(7.0).masked_select(np.array(True))
    assert out.shape == (1,) and out.tolist() == [7.0]


def test_roll_moves_entries_towards_higher_indices():
    """torch.roll([1, 2, 3, 4], 1) is [4, 1, 2, 3]; a negative shift the other way."""
    t = mg.tensor([1.0, 2.0, 3.0, 4.0])
    assert t.roll(1, 0).tolist() == [4.0, 1.0, 2.0, 3.0]
    assert t.roll(-1, 0).tolist() == [2.0, 3.0, 4.0, 1.0]


def test_flip_refuses_a_repeated_dim():
    """torch.flip(x, (0, 0)) is an error ('dim 0 appears multiple times in the list of dims')."""
    with pytest.raises(ValueError, match="flip"):
        mg.ones(2, 2).flip((0, 0))


def test_triu_keeps_the_main_diagonal():
    """triu(diagonal=0) keeps the main diagonal and above; tril keeps it and below."""
    a = mg.ones(3, 3)
    assert a.triu().tolist() == [[1, 1, 1], [0, 1, 1], [0, 0, 1]]
    assert a.triu(1).tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert a.tril().tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]


def test_split_and_chunk_piece_sizes():
    """split(2) of 4 entries is two pieces (no empty third); of 5 it is [2, 2, 1]. chunk(2) of 5
    entries is pieces of ceil(5 / 2) = 3: [3, 2]."""
    assert [p.shape[0] for p in mg.arange(4).split(2)] == [2, 2]
    assert [p.shape[0] for p in mg.arange(5).split(2)] == [2, 2, 1]
    assert [p.tolist() for p in mg.arange(5).chunk(2)] == [[0, 1, 2], [3, 4]]


def test_unfold_windows_start_every_step_entries():
    """arange(6).unfold(0, 2, 2) is [[0, 1], [2, 3], [4, 5]]: windows start at 0, step, 2 step, ..."""
    assert mg.arange(6).unfold(0, 2, 2).tolist() == [[0, 1], [2, 3], [4, 5]]
    assert mg.arange(5).unfold(0, 3, 1).tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]


# ---- logical --------------------------------------------------------------------------------------

def test_logical_ops_count_any_nonzero_as_true():
    """logical_not/and/or/xor read nonzero (negative too) as True, zero as False: truth tables."""
    a = mg.tensor([-1.0, 0.0, 2.0, 0.0])
    b = mg.tensor([3.0, -4.0, 0.0, 0.0])
    assert a.logical_not().tolist() == [False, True, False, True]
    assert a.logical_and(b).tolist() == [True, False, False, False]
    assert a.logical_or(b).tolist() == [True, True, True, False]
    assert a.logical_xor(b).tolist() == [False, True, True, False]
    assert mg.tensor([True, True]).logical_xor(mg.tensor([True, False])).tolist() == [False, True]


def test_bitwise_operators_refuse_floating_point_tensors():
    """&, |, ^ and ~ are for bool and integer tensors (PyTorch: '"bitwise_and_cpu" not implemented
    for \'Float\''): a TypeError here."""
    x = mg.tensor([1.0, 0.0])
    with pytest.raises(TypeError):
        x & mg.tensor([True, False])
    with pytest.raises(TypeError):
        mg.tensor([True, False]) | x
    with pytest.raises(TypeError):
        ~x
    assert (~mg.tensor([True, False])).tolist() == [False, True]
    assert (~mg.tensor([0, 5])).tolist() == [-1, -6]


def test_all_and_any_keep_uint8_and_keepdim():
    """all/any give bool, but uint8 for uint8 input (PyTorch's rule); keepdim keeps the axis."""
    u = mg.tensor(np.array([[1, 0], [1, 1]], dtype=np.uint8))
    assert u.all().dtype == np.uint8 and u.any(dim=1).dtype == np.uint8
    b = mg.tensor([[True, False], [True, True]])
    assert b.all(dim=1, keepdim=True).shape == (2, 1)
    assert b.all(dim=1, keepdim=True).tolist() == [[False], [True]]
    assert b.any(dim=0).tolist() == [True, True]


def test_equal_needs_the_same_shape():
    """torch.equal is True only for the same size and elements: [1, 1] vs [1] is False (no broadcast)."""
    assert mg.tensor([1.0, 1.0]).equal(mg.tensor([1.0])) is False
    assert mg.tensor([1.0, 2.0]).equal(mg.tensor([1.0, 2.0])) is True


def test_isinf_isnan_isfinite_tell_nan_and_inf_apart():
    """isinf is True at +-inf only, isnan at NaN only, isfinite at neither."""
    t = mg.tensor([1.0, float("inf"), float("nan"), -float("inf")])
    assert t.isinf().tolist() == [False, True, False, True]
    assert t.isnan().tolist() == [False, False, True, False]
    assert t.isfinite().tolist() == [True, False, False, False]


# ---- filling --------------------------------------------------------------------------------------

def test_masked_fill_writes_where_true_in_self_dtype():
    """masked_fill puts value where mask is True, self elsewhere; the result keeps self's dtype
    (an int64 tensor filled with 2.7 holds 2)."""
    x = mg.tensor([1.0, 2.0, 3.0])
    assert x.masked_fill(np.array([True, False, True]), -1.0).tolist() == [-1.0, 2.0, -1.0]
    i = mg.tensor([1, 2, 3])
    out = i.masked_fill(np.array([False, True, False]), 2.7)
    assert out.dtype == np.int64 and out.tolist() == [1, 2, 3]
    f32 = mg.tensor(np.array([1.0, 2.0], dtype=np.float32)).masked_fill(np.array([True, False]), 5.0)
    assert f32.dtype == np.float32


def test_index_fill_negative_index_axis_and_checks():
    """index_fill(dim, index, v): negative indices count from the end; dim 1 of a 3-d tensor fills
    those columns of every slice; an index == size is out of range; value must be 0-d."""
    x = mg.zeros(3)
    assert x.index_fill(0, mg.tensor([-1]), 7.0).tolist() == [0.0, 0.0, 7.0]
    assert x.index_fill(0, mg.tensor([-3]), 7.0).tolist() == [7.0, 0.0, 0.0]
    y = mg.zeros(2, 3, 2).index_fill(1, mg.tensor([1]), 1.0)
    expected = np.zeros((2, 3, 2)); expected[:, 1, :] = 1.0
    assert y.tolist() == expected.tolist()
    with pytest.raises(IndexError, match="index_fill"):
        x.index_fill(0, mg.tensor([3]), 1.0)
    with pytest.raises(IndexError, match="index_fill"):
        x.index_fill(0, mg.tensor([-4]), 1.0)
    with pytest.raises(ValueError, match="index_fill"):
        x.index_fill(0, mg.tensor([0]), mg.tensor([1.0]))


def test_scatter_argument_checks():
    """scatter takes src or value, not both; an int64 index only (PyTorch: 'scatter(): Expected
    dtype int64 for index'); src must cover the index."""
    x = mg.zeros(3)
    with pytest.raises(TypeError, match="scatter"):
        x.scatter(0, mg.tensor([1]), mg.tensor([5.0]), value=2.0)
    with pytest.raises(TypeError, match="scatter"):
        x.scatter(0, np.array([1], dtype=np.int32), mg.tensor([5.0]))
    with pytest.raises(ValueError, match="scatter"):
        mg.zeros(2, 3).scatter(1, mg.tensor([[0, 1], [1, 2]]), mg.tensor([[1.0], [2.0]]))
    assert x.scatter(0, mg.tensor([2, 0]), mg.tensor([5.0, 6.0, 9.0])).tolist() == [6.0, 0.0, 5.0]


def test_fill_keeps_the_dtype_and_nonzero_is_int64():
    """fill_ writes value cast to the tensor's dtype (int64 filled with 2.5 holds 2); nonzero's
    positions are int64, one row per nonzero entry."""
    t = mg.tensor([1, 2, 3])
    t.fill_(2.5)
    assert t.dtype == np.int64 and t.tolist() == [2, 2, 2]
    nz = mg.tensor([[0.0, 1.0], [2.0, 0.0]]).nonzero()
    assert nz.dtype == np.int64 and nz.tolist() == [[0, 1], [1, 0]]


# ---- item assignment ------------------------------------------------------------------------------

def test_item_assignment_casts_numbers_as_pytorch():
    """t[i] = v into integers cuts a float toward zero (2.7 -> 2, -2.7 -> -2), wraps a negative into
    uint8 (-1 -> 255), refuses a value out of range (200 into int8) and a finite float that would
    overflow float32 (1e39); a position named twice with differing values is refused."""
    t = mg.tensor([0, 0, 0])
    t[0] = 2.7
    t[1] = -2.7
    assert t.tolist() == [2, -2, 0]
    u = mg.tensor(np.zeros(2, dtype=np.uint8))
    u[0] = -1
    assert u.tolist() == [255, 0]
    with pytest.raises(ValueError):
        s = mg.tensor(np.zeros(2, dtype=np.int8)); s[0] = 200
    with pytest.raises(ValueError):
        f = mg.tensor(np.zeros(2, dtype=np.float32)); f[0] = 1e39
    with pytest.raises(ValueError):
        g = mg.zeros(3); g[np.array([0, 0])] = mg.tensor([1.0, 2.0])


# ---- reductions -----------------------------------------------------------------------------------

def test_var_and_std_correction_as_pytorch():
    """var divides sum (x - mean)^2 by N - correction, correction 1 by default (Bessel);
    unbiased=False or correction=0 divide by N; x.var(False) is the old var(unbiased); a fractional
    correction is used as given; unbiased= and correction= together are an error. For [1, 2, 3, 4]
    the squared deviations sum to 5."""
    x = mg.tensor([1.0, 2.0, 3.0, 4.0])
    assert x.var().item() == pytest.approx(5 / 3)
    assert x.std().item() == pytest.approx((5 / 3) ** 0.5)
    assert x.var(unbiased=False).item() == pytest.approx(1.25)
    assert x.var(unbiased=True).item() == pytest.approx(5 / 3)
    assert x.var(False).item() == pytest.approx(1.25)
    assert x.var(correction=0).item() == pytest.approx(1.25)
    assert x.var(correction=0.5).item() == pytest.approx(5 / 3.5)
    with pytest.raises(TypeError):
        x.var(unbiased=True, correction=1)


def test_var_keepdim_and_empty_dim_tuple():
    """var(dim, keepdim=True) keeps the reduced axis as size 1; dim=() reduces every axis, as
    PyTorch's var reads an empty dim list."""
    m = mg.tensor([[1.0, 3.0], [5.0, 7.0]])
    kept = m.var(1, keepdim=True)
    assert kept.shape == (2, 1) and kept.tolist() == [[2.0], [2.0]]
    assert m.var(dim=()).item() == pytest.approx(np.var([1, 3, 5, 7], ddof=1))


def test_sum_of_integers_is_int64():
    """Summing an int32, uint8 or bool tensor gives int64, as PyTorch's (uint8 200 + 100 is 300,
    not numpy's uint64)."""
    assert mg.tensor(np.array([1, 2], dtype=np.int32)).sum().dtype == np.int64
    total = mg.tensor(np.array([200, 100], dtype=np.uint8)).sum()
    assert total.dtype == np.int64 and total.item() == 300
    assert mg.tensor([True, True, False]).sum().dtype == np.int64


def test_reductions_refuse_a_repeated_dim():
    """A dim named twice (as 1 and -1 of a 2-d tensor) is an error (PyTorch: 'dim 1 appears
    multiple times in the list of dims')."""
    with pytest.raises(ValueError):
        mg.ones(2, 3).sum(dim=(1, -1))
    with pytest.raises(ValueError):
        mg.ones(2, 3).mean(dim=(0, 0))


def test_max_and_min_with_dim_values_indices_keepdim_and_first_tie():
    """max/min(dim=d) give (values, indices); with ties the index of the first extreme (PyTorch's
    documented rule); keepdim keeps axis d as size 1; an empty axis is an error."""
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 0.0]])
    v, i = x.max(dim=1)
    assert v.tolist() == [3.0, 2.0] and i.tolist() == [1, 0]
    v, i = x.min(dim=1)
    assert v.tolist() == [1.0, 0.0] and i.tolist() == [0, 1]
    v, i = x.min(dim=0, keepdim=True)
    assert v.shape == (1, 3) and i.shape == (1, 3) and i.tolist() == [[0, 1, 1]]
    with pytest.raises(ValueError, match="^max: "):              # (the op's own check, naming it)
        mg.zeros(2, 0).max(dim=1)


def test_max_with_dim_refuses_a_bool_dim():
    """dim= is one integer axis; a bool is not one (PyTorch's argument parser refuses bools for int
    arguments: TypeError)."""
    with pytest.raises(TypeError):
        mg.ones(2, 3).max(dim=True)


def test_unique_inverse_has_the_input_shape_and_bincount_options():
    """unique(return_inverse=True)'s inverse has the input's shape; bincount's result is at least
    minlength long, and float32 weights give float32 sums."""
    _, inverse = mg.tensor([[2, 1], [1, 3]]).unique(return_inverse=True)
    assert inverse.shape == (2, 2) and inverse.tolist() == [[1, 0], [0, 2]]
    assert mg.tensor([0, 1, 1]).bincount(minlength=4).tolist() == [1, 2, 0, 0]
    w = mg.tensor(np.array([0.5, 1.0, 2.0], dtype=np.float32))
    out = mg.tensor([0, 1, 1]).bincount(w)
    assert out.dtype == np.float32 and out.tolist() == [0.5, 3.0]
