"""Tests written from a mutation check of the shape and indexing ops (ops/shape.py, ops/selecting.py,
ops/assign.py, ops/sorting.py, and the shape methods of ops/methods.py): each pins a behaviour that a
hand-made wrong implementation changed without any other test noticing. Expected values are written
by hand or in plain numpy from PyTorch's documented semantics (gradients of these linear ops as their
numpy adjoints: the upstream gradient put back where each entry came from), never taken from the
library's own output."""

import numpy as np
import pytest

import microgradseq as mg


def leaf(array):
    """A float64 leaf that requires grad."""
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# ---- shape.py: reshape, transpose ---------------------------------------------------------------------

def test_reshape_and_view_take_the_shape_as_one_list():
    """PyTorch's reshape/view take the sizes as separate ints or as one list/tuple: x.reshape([3, -1])
    is x.reshape(3, -1)."""
    x = mg.arange(6.0)
    assert x.reshape([3, -1]).shape == (3, 2)
    assert x.view([2, 3]).shape == (2, 3)
    np.testing.assert_array_equal(x.reshape([3, 2]).data, np.arange(6.0).reshape(3, 2))


def test_transpose_refuses_an_axis_given_by_position_and_as_dim0():
    """transpose(0, dim0=1, dim1=2) names dim0 twice (PyTorch: 'got multiple values for argument
    dim0'): an error, not a silent transpose(0, 2)."""
    with pytest.raises(TypeError, match="transpose"):
        mg.ones(2, 3, 4).transpose(0, dim0=1, dim1=2)


# ---- shape.py: getitem ------------------------------------------------------------------------------

def test_a_uint8_index_tensor_is_a_mask_with_pytorchs_deprecation_warning():
    """PyTorch reads a uint8 index tensor as a (deprecated) mask and warns: x[[1, 0, 1] as uint8] is
    [x0, x2], not positions [x1, x0, x1]; a 0-d one is x[True] or x[False]; the gradient and a write
    go to the masked entries; the result is a copy (advanced indexing), so a write into it leaves x."""
    x = leaf([10.0, 20.0, 30.0])
    mask = mg.tensor([1, 0, 1], dtype=mg.uint8)
    with pytest.warns(UserWarning, match="indexing with dtype uint8 is deprecated"):
        y = x[mask]
    assert y.tolist() == [10.0, 30.0]
    y.backward(mg.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 2.0])
    with pytest.warns(UserWarning):
        assert x[mg.tensor(1, dtype=mg.uint8)].shape == (1, 3) and x[mg.tensor(0, dtype=mg.uint8)].shape == (0, 3)
    z = mg.tensor([10.0, 20.0, 30.0])
    with pytest.warns(UserWarning) as caught:
        z[mask] = 0.0
        copy = z[mg.tensor(1, dtype=mg.uint8)]
    assert [w.filename for w in caught] == [__file__] * 2      # the user's line, reading or writing
    assert z.tolist() == [0.0, 20.0, 0.0]
    copy[...] = 5.0
    assert z.tolist() == [0.0, 20.0, 0.0]


# ---- shape.py: mg.ops.gather, the last-axis pick cross-entropy uses ---------------------------------

def test_ops_gather_reads_negative_indices_from_the_end_as_x_index_does():
    """mg.ops.gather(x, index) is documented as x[..., index[...]] (one entry of the last axis per row):
    as with any index, -1 is the last entry and -n the first; -n - 1 is out of range."""
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y = mg.ops.gather(x, np.array([-1, -3]))
    assert y.tolist() == [3.0, 4.0]
    y.backward(mg.tensor([10.0, 20.0]))
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0, 10.0], [20.0, 0.0, 0.0]])
    with pytest.raises(IndexError):
        mg.ops.gather(x, np.array([0, -4]))


def test_ops_gather_refuses_a_bool_index():
    """A bool index is not positions (PyTorch's gather takes int64 only): ValueError naming gather."""
    with pytest.raises(ValueError, match="gather"):
        mg.ops.gather(mg.ones(2, 3), np.array([True, False]))


# ---- selecting.py: split, chunk, unbind -------------------------------------------------------------

def test_split_takes_zero_length_sections():
    """torch.split with sections [0, 3] along a dim of 3 gives an empty piece then the whole (a section
    may be 0 long)."""
    pieces = mg.arange(6.0).reshape(2, 3).split([0, 3], dim=1)
    assert [p.shape for p in pieces] == [(2, 0), (2, 3)]


def test_split_refuses_sections_that_do_not_add_up_and_a_size_of_zero():
    """Sections must add up to the dim's size ('split_with_sizes expects split_sizes to sum exactly to
    3'); a split size must be positive."""
    x = mg.arange(6.0).reshape(2, 3)
    with pytest.raises(ValueError, match="split"):
        x.split([1, 1], dim=1)
    with pytest.raises(ValueError, match="split"):
        x.split(0, dim=1)


def test_chunk_refuses_zero_chunks():
    """torch.chunk: 'chunk expects `chunks` to be greater than 0'."""
    with pytest.raises(ValueError, match="chunk"):
        mg.arange(4.0).chunk(0)


def test_unbind_removes_the_axis():
    """t.unbind(1) of a (2, 3) tensor is three tensors of shape (2,): the columns, that axis gone."""
    pieces = mg.arange(6.0).reshape(2, 3).unbind(1)
    assert [p.shape for p in pieces] == [(2,)] * 3
    assert pieces[2].tolist() == [2.0, 5.0]


# ---- selecting.py: index_select, gather, masked_select ----------------------------------------------

def test_index_select_and_gather_refuse_negative_indices():
    """PyTorch's index_select and gather take no negative index ('index out of range in self'), even
    one that would count from the end."""
    x = mg.arange(6.0).reshape(2, 3)
    with pytest.raises(IndexError):
        x.index_select(1, mg.tensor([0, -1]))
    with pytest.raises(IndexError):
        x.gather(1, mg.tensor([[0], [-1]]))


def test_index_select_takes_a_0_d_index_as_one_position():
    """PyTorch's index_select checks `index.dim() <= 1` ('Index is supposed to be a vector') and sizes
    the result's dim as index.numel(): x.index_select(1, tensor(2)) of a (2, 3) x is x[:, [2]], (2, 1)."""
    x = mg.arange(6.0).reshape(2, 3)
    out = x.index_select(1, mg.tensor(2))
    assert out.shape == (2, 1) and out.tolist() == [[2.0], [5.0]]

def test_gather_index_may_be_longer_than_self_along_dim():
    """torch.gather needs index.size(d) <= input.size(d) only for d != dim: along dim an index may
    repeat positions as often as it likes. out[i][j] = x[i][index[i][j]] for dim 1."""
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    out = x.gather(1, mg.tensor([[0, 0, 1]]))
    assert out.tolist() == [[1.0, 1.0, 2.0]]
    out.backward(mg.tensor([[1.0, 2.0, 4.0]]))
    np.testing.assert_array_equal(x.grad.data, [[3.0, 4.0], [0.0, 0.0]])     # repeats add up


def test_gather_along_dim_1_reads_each_rows_positions():
    """out[i][j] = x[i][index[i][j]] for dim 1 (not x[index[i][j]][j])."""
    x = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    assert x.gather(1, mg.tensor([[2, 0], [1, 1], [0, 2]])).tolist() == [[3.0, 1.0], [5.0, 5.0], [7.0, 9.0]]


def test_masked_select_broadcasts_self_against_a_larger_mask():
    """masked_select broadcasts self and mask together: a (3,) tensor against a (2, 3) mask reads the
    broadcast (2, 3) tensor in row-major order; the gradient sums over the copies."""
    x = leaf([1.0, 2.0, 3.0])
    mask = np.array([[True, False, True], [False, True, True]])
    y = x.masked_select(mask)
    assert y.tolist() == [1.0, 3.0, 2.0, 3.0]
    y.backward(mg.tensor([1.0, 10.0, 100.0, 1000.0]))
    np.testing.assert_array_equal(x.grad.data, [1.0, 100.0, 1010.0])


def test_masked_select_broadcasts_a_mask_with_fewer_axes():
    """A (2,) mask against a (3, 2) tensor is each row's mask: the first column's entries."""
    x = mg.arange(6.0).reshape(3, 2)
    assert x.masked_select(np.array([True, False])).tolist() == [0.0, 2.0, 4.0]


# ---- selecting.py: repeat_interleave, unfold -------------------------------------------------------

def test_repeat_interleave_repeats_each_entry_in_place_along_dim():
    """[[1, 2], [3, 4]].repeat_interleave(2, dim=1) is [[1, 1, 2, 2], [3, 3, 4, 4]] (not a tile);
    without dim it is the flattened [1, 1, 2, 2, 3, 3, 4, 4]."""
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.repeat_interleave(2, dim=1).tolist() == [[1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0]]
    assert x.repeat_interleave(2).tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]


def test_repeat_interleave_refuses_counts_of_the_wrong_length():
    """Counts are one number or one per entry along dim ('repeats must have the same size as input
    along dim')."""
    with pytest.raises(ValueError, match="repeat_interleave"):
        mg.arange(3.0).repeat_interleave(mg.tensor([1, 2]), dim=0)


def test_repeat_interleave_of_counts_alone_is_int64_positions():
    """tensor([2, 1]).repeat_interleave() is tensor([0, 0, 1]), an int64 tensor."""
    out = mg.tensor([2, 1]).repeat_interleave()
    assert out.tolist() == [0, 0, 1] and out.dtype == np.int64


def test_unfold_takes_a_window_as_long_as_the_dim():
    """size may equal the dim's length: one window, the whole axis (shape (1, n))."""
    out = mg.tensor([1.0, 2.0, 3.0]).unfold(0, 3, 1)
    assert out.tolist() == [[1.0, 2.0, 3.0]]


def test_unfold_puts_the_window_entries_on_a_new_last_axis():
    """x of shape (4, 2) unfolded along 0 with size 2, step 2 is (2, 2, 2): [k, j, i] = x[2k + i, j]."""
    data = np.arange(8.0).reshape(4, 2)
    out = mg.tensor(data).unfold(0, 2, 2)
    expected = np.array([[[data[2 * k + i, j] for i in range(2)] for j in range(2)] for k in range(2)])
    np.testing.assert_array_equal(out.data, expected)


# ---- selecting.py: flip, roll, tril, triu -----------------------------------------------------------

def test_flip_copies_so_a_write_into_the_result_leaves_self():
    """torch.flip makes a copy (its documentation: 'torch.flip makes a copy of input's data')."""
    x = mg.tensor([1.0, 2.0, 3.0])
    y = x.flip(0)
    y[0] = 10.0
    assert x.tolist() == [1.0, 2.0, 3.0] and y.tolist() == [10.0, 2.0, 1.0]


def test_flip_takes_negative_dims_and_refuses_one_out_of_range():
    """dims count from the end as everywhere in PyTorch: flip(-1) reverses the last axis; dim 2 of a
    2-d tensor is out of range; (0, -2) names one dim twice ('dim 0 appears multiple times')."""
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.flip(-1).tolist() == [[2.0, 1.0], [4.0, 3.0]]
    with pytest.raises(IndexError):
        x.flip(2)
    with pytest.raises(ValueError, match="flip"):       # 0 and -2 are one dim of a 2-d tensor, named twice
        x.flip((0, -2))


def test_roll_over_two_dims_rolls_each():
    """torch.roll(x, (1, 1), (0, 1)) rolls the rows down one and the columns right one:
    out[i][j] = x[i - 1][j - 1] (indices mod the sizes)."""
    data = np.arange(6.0).reshape(2, 3)
    out = mg.tensor(data).roll((1, 1), (0, 1))
    np.testing.assert_array_equal(out.data, np.roll(np.roll(data, 1, 0), 1, 1))


def test_roll_without_dims_rolls_the_flattened_tensor():
    """Without dims the tensor is flattened, rolled and put back in its shape (torch.roll's docs)."""
    data = np.arange(6.0).reshape(2, 3)
    out = mg.tensor(data).roll(1)
    np.testing.assert_array_equal(out.data, [[5.0, 0.0, 1.0], [2.0, 3.0, 4.0]])


def test_roll_refuses_shifts_and_dims_of_different_lengths():
    """'shifts and dimensions must align': two shifts for one dim is an error."""
    with pytest.raises(ValueError, match="roll"):
        mg.arange(6.0).reshape(2, 3).roll((1, 2), (0,))


def test_tril_and_triu_with_a_nonzero_diagonal():
    """tril(1) keeps j <= i + 1; triu(-1) keeps j >= i - 1 (torch.tril/triu's diagonal argument)."""
    ones = mg.ones(3, 3)
    rows, cols = np.indices((3, 3))
    np.testing.assert_array_equal(ones.tril(1).data, (cols <= rows + 1).astype(float))
    np.testing.assert_array_equal(ones.triu(-1).data, (cols >= rows - 1).astype(float))
    np.testing.assert_array_equal(ones.triu(1).data, (cols >= rows + 1).astype(float))


def test_tril_refuses_a_1_d_tensor_and_a_float_diagonal():
    """tril/triu need a matrix ('tril: input tensor must have at least 2 dimensions') and an int diagonal."""
    with pytest.raises(ValueError, match="tril"):
        mg.ones(3).tril()
    with pytest.raises(TypeError, match="triu"):
        mg.ones(3, 3).triu(0.5)


# ---- assign.py: t[index] = value --------------------------------------------------------------------

def test_writing_a_tensor_with_history_into_an_integer_tensor_leaves_it_without_history():
    """Integer tensors have no gradient: after x[0] = v (v float, requiring grad) an int64 x holds
    int(v) and does not require grad."""
    x = mg.tensor([1, 2, 3])
    v = leaf(5.0) * 1.0
    x[0] = v
    assert x.tolist() == [5, 2, 3] and x.dtype == np.int64
    assert not x.requires_grad and x.grad_fn is None


def test_one_value_written_at_a_repeated_position_counts_once():
    """x[[0, 0]] = v writes v into x[0]: y = x with y[0] = v, so dy[0]/dv = 1 (not 2) and x[0]'s old
    value gets no gradient."""
    x = leaf([1.0, 2.0, 3.0])
    v = leaf(7.0)
    y = x * 1.0
    y[[0, 0]] = v
    assert y.tolist() == [7.0, 2.0, 3.0]
    (y * mg.tensor([10.0, 20.0, 30.0])).sum().backward()
    assert v.grad.tolist() == 10.0
    np.testing.assert_array_equal(x.grad.data, [0.0, 20.0, 30.0])


def test_a_value_with_a_leading_axis_of_one_gets_its_own_shape_of_gradient():
    """y[0] = v with v of shape (1, 3) broadcast into a row of 3: v's gradient has v's shape (1, 3),
    g's entries at row 0."""
    x = leaf(np.zeros((2, 3)))
    v = leaf([[1.0, 2.0, 3.0]])
    y = x * 1.0
    y[0] = v
    w = np.arange(6.0).reshape(2, 3)
    (y * mg.tensor(w)).sum().backward()
    assert v.grad.shape == (1, 3)
    np.testing.assert_array_equal(v.grad.data, w[:1])
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0, 0.0], w[1]])


def test_negative_numbers_wrap_into_uint8_only_down_to_minus_255():
    """PyTorch writes -1 into uint8 as 255 and -255 as 1, but -256 overflows ('value cannot be converted
    to type uint8_t without overflow': c10's check allows negatives down to -max)."""
    x = mg.tensor(np.array([0, 0], dtype=np.uint8))
    x[0] = -255
    assert x.tolist() == [1, 0]
    with pytest.raises(ValueError):
        x[1] = -256


def test_writing_an_out_of_range_float_or_a_complex_is_refused():
    """1e39 overflows float32 ('value cannot be converted to type float without overflow'); a complex
    number with an imaginary part cannot go into a real tensor."""
    x = mg.zeros(2, dtype=mg.float32)
    with pytest.raises(ValueError):
        x[0] = 1e39
    with pytest.raises(TypeError):
        x[0] = 1 + 2j
    x[1] = 3 + 0j
    assert x.tolist() == [0.0, 3.0]


def test_writing_a_float_into_integers_cuts_toward_zero():
    """A float written into an int tensor is truncated toward zero, as a C cast: 2.7 -> 2, -2.7 -> -2."""
    x = mg.tensor([0, 0])
    x[0] = 2.7
    x[1] = -2.7
    assert x.tolist() == [2, -2]


def test_writing_differing_values_at_a_repeated_position_is_refused():
    """x[[0, 0]] = [1, 2]: which value lands is undefined (PyTorch leaves it undefined): ValueError."""
    x = mg.zeros(3)
    with pytest.raises(ValueError):
        x[[0, 0]] = mg.tensor([1.0, 2.0])


def test_forward_mode_of_an_item_write_carries_each_direction():
    """J v of y = x with y[1] = s, for the directions (dx, ds): dx with dx[1] replaced by ds."""
    def write(x, s):
        y = x * 1.0
        y[1] = s
        return y
    x, s = mg.tensor([1.0, 2.0, 3.0]), mg.tensor(5.0)
    _, tangent = mg.jvp(write, (x, s), (mg.tensor([0.1, 0.2, 0.3]), mg.tensor(4.0)))
    np.testing.assert_allclose(tangent.data, [0.1, 4.0, 0.3])
    # two directions in one pass (a leading axis of directions): each carries its own ds
    _, tangents = mg.jvp(write, (x, s), [np.array([[0.1, 0.2, 0.3], [1.0, 2.0, 3.0]]), np.array([4.0, 6.0])])
    np.testing.assert_allclose(np.asarray(tangents), [[0.1, 4.0, 0.3], [1.0, 6.0, 3.0]])


# ---- sorting.py: sort, argsort, topk, unique, bincount ----------------------------------------------

def test_topk_takes_k_equal_to_the_dims_size_and_defaults_to_the_last_dim():
    """k may be the whole dim (k = n: every entry, largest first); without dim topk works along the
    last axis."""
    x = mg.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    values, indices = x.topk(3)
    assert values.tolist() == [[3.0, 2.0, 1.0], [5.0, 4.0, 0.0]]
    assert indices.tolist() == [[0, 2, 1], [1, 2, 0]]


def test_topk_smallest_starts_with_the_minimum():
    """largest=False gives the k smallest, smallest first."""
    values, indices = mg.tensor([4.0, 1.0, 3.0, 2.0]).topk(2, largest=False)
    assert values.tolist() == [1.0, 2.0] and indices.tolist() == [1, 3]


def test_sort_descending_stable_keeps_equal_entries_in_their_order():
    """sort(descending=True, stable=True) keeps ties in their original order (torch.sort's docs: stable
    'preserves the order of equivalent elements'): [1, 3, 2, 3] -> indices [1, 3, 2, 0]."""
    values, indices = mg.tensor([1.0, 3.0, 2.0, 3.0]).sort(descending=True, stable=True)
    assert values.tolist() == [3.0, 3.0, 2.0, 1.0] and indices.tolist() == [1, 3, 2, 0]
    assert mg.tensor([1.0, 3.0, 2.0, 3.0]).argsort(descending=True, stable=True).tolist() == [1, 3, 2, 0]


def test_sort_and_argsort_default_to_the_last_dim_ascending():
    """sort(dim=-1, descending=False) and argsort likewise, for a 2-d tensor: each row on its own."""
    x = mg.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    values, indices = x.sort()
    assert values.tolist() == [[1.0, 2.0, 3.0], [0.0, 4.0, 5.0]]
    assert indices.tolist() == [[1, 2, 0], [0, 2, 1]]
    assert x.argsort().tolist() == [[1, 2, 0], [0, 2, 1]]


def test_sort_gradient_goes_back_to_where_each_value_came_from():
    """values = x[indices], so x.grad[indices[j]] = g[j]."""
    x = leaf([3.0, 1.0, 2.0])
    values, _ = x.sort(descending=True)
    values.backward(mg.tensor([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(x.grad.data, [1.0, 100.0, 10.0])


def test_sort_of_a_0_d_tensor_gives_a_copy_and_a_0_d_index():
    """A 0-d tensor sorts to itself, with a 0-d index 0; sort's values are a new tensor, not a view:
    a write into them leaves x."""
    x = mg.tensor(5.0)
    values, indices = x.sort()
    assert indices.shape == () and indices.tolist() == 0
    values[...] = 1.0
    assert x.tolist() == 5.0


def test_sort_refuses_non_bool_descending_and_stable():
    """descending and stable are bools in PyTorch's signature (sort(dim, descending=1) is a TypeError
    there); a string is not a bool."""
    with pytest.raises(ValueError, match="sort"):
        mg.tensor([2.0, 1.0]).sort(descending="yes")
    with pytest.raises(ValueError, match="sort"):
        mg.tensor([2.0, 1.0]).sort(stable="yes")


def test_bincount_keeps_float32_weights_and_takes_minlength():
    """torch.bincount with float32 weights gives float32 (double otherwise); minlength pads with
    zeros: bincount([0, 2], w, minlength=5) is [w0, 0, w1, 0, 0]."""
    counts = mg.tensor([0, 2]).bincount(mg.tensor(np.array([0.5, 1.5], dtype=np.float32)), minlength=5)
    assert counts.dtype == np.float32
    assert counts.tolist() == [0.5, 0.0, 1.5, 0.0, 0.0]


def test_bincount_refuses_negative_values_and_mismatched_weights():
    """'bincount only supports 1-d non-negative integral inputs'; weights must match the input's shape."""
    with pytest.raises(ValueError, match="bincount"):
        mg.tensor([0, -1]).bincount()
    with pytest.raises(ValueError, match="bincount"):
        mg.tensor([0, 1]).bincount(mg.tensor([1.0, 2.0, 3.0]))


def test_unique_returns_values_inverse_counts_in_that_order():
    """torch.unique(x, return_inverse=True, return_counts=True) is (values, inverse, counts)."""
    values, inverse, counts = mg.tensor([[2, 1], [2, 3]]).unique(return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3]
    assert inverse.tolist() == [[1, 0], [1, 2]]
    assert counts.tolist() == [1, 2, 1]


def test_unique_along_a_dim_refuses_zero_sized_other_axes():
    """unique(dim=0) of a (2, 0) tensor has no slices to compare: an error (PyTorch: 'Number of zero
    sized dimensions is more than one, so unique cannot be applied')."""
    with pytest.raises(ValueError, match="unique"):
        mg.zeros(2, 0).unique(dim=0)


# ---- methods.py: squeeze, unsqueeze, flatten, narrow, movedim, t ------------------------------------

def test_squeeze_of_a_dim_longer_than_one_leaves_it():
    """squeeze(dim) removes that axis only when its size is 1 (PyTorch: otherwise the tensor is returned
    as it is)."""
    x = mg.ones(2, 1, 3)
    assert x.squeeze(0).shape == (2, 1, 3)
    assert x.squeeze((0, 1)).shape == (2, 3)


def test_unsqueeze_takes_dims_of_the_result():
    """unsqueeze's dim ranges over the result's ndim + 1 positions: unsqueeze(2) of a (2, 3) tensor
    appends an axis, unsqueeze(-3) prepends one."""
    x = mg.ones(2, 3)
    assert x.unsqueeze(2).shape == (2, 3, 1)
    assert x.unsqueeze(-3).shape == (1, 2, 3)
    with pytest.raises(IndexError):
        x.unsqueeze(3)


def test_flatten_merges_start_dim_through_end_dim_and_refuses_start_after_end():
    """flatten(1, 2) of (2, 3, 4, 5) is (2, 12, 5); flatten(1, 0) is an error ('flatten() has invalid
    args: start_dim cannot come after end_dim')."""
    x = mg.ones(2, 3, 4, 5)
    assert x.flatten(1, 2).shape == (2, 12, 5)
    with pytest.raises(IndexError):
        x.flatten(1, 0)


def test_narrow_counts_a_negative_start_from_the_end_and_refuses_an_overrun():
    """narrow(0, -2, 2) of [0, 1, 2, 3, 4] is [3, 4]; narrow(0, 3, 3) runs past the end: an error."""
    x = mg.arange(5.0)
    assert x.narrow(0, -2, 2).tolist() == [3.0, 4.0]
    with pytest.raises(IndexError):
        x.narrow(0, 3, 3)


def test_movedim_of_two_axes_matches_numpy_moveaxis():
    """movedim((0, 1), (1, 0)) of a (2, 3, 4) tensor swaps the first two axes: numpy's moveaxis."""
    data = np.arange(24.0).reshape(2, 3, 4)
    out = mg.tensor(data).movedim((0, 1), (1, 0))
    np.testing.assert_array_equal(out.data, np.moveaxis(data, (0, 1), (1, 0)))
    out = mg.tensor(data).movedim((0, 2), (2, 1))
    np.testing.assert_array_equal(out.data, np.moveaxis(data, (0, 2), (2, 1)))


def test_movedim_refuses_a_repeated_axis():
    """'movedim: repeated dim in source'."""
    with pytest.raises(ValueError, match="movedim"):
        mg.ones(2, 3, 4).movedim((0, 0), (1, 2))


def test_t_refuses_more_than_two_axes():
    """t() 'expects a tensor with <= 2 dimensions, but self is 3D'."""
    with pytest.raises(ValueError):
        mg.ones(2, 3, 4).t()
