"""The order statistics and searches PyTorch has: cummax / cummin, median / nanmedian, kthvalue, mode,
quantile / nanquantile, aminmax, var_mean / std_mean, searchsorted / bucketize, argwhere and
unique_consecutive.

The references are independent of the library:

- values and indices: closed forms written here from PyTorch's documented definitions and its CPU
  kernels (the lower median, not numpy's mean of the two middle values; cummax's later index on a
  tie; mode's smallest most frequent value at its last occurrence; the quantile's rank q (n - 1)),
  as hand-written loops or numpy sorts;
- gradients and tangents: central differences in float64 of those numpy forms (`assert_gradients_match`
  from test_op_gradients.py, `directional_difference` from test_forward_mode.py), on inputs without
  ties, for every dim (negative too) and keepdim;
- closed forms where finite differences are not defined (ties: which entry the gradient goes to).
"""

import numpy as np
import pytest
from test_forward_mode import directional_difference
from test_op_gradients import assert_gradients_match

import microgradseq as mg

SHAPES = [(5,), (3, 4), (2, 3, 4)]


def distinct(shape, seed=0):
    """float64 entries at least 0.05 apart (a shuffled grid plus small noise): no ties."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.1 + rng.uniform(-0.02, 0.02, size) - 0.05 * size).reshape(shape)


def every_dim(shapes=SHAPES):
    return [(shape, dim, keepdim) for shape in shapes for dim in range(-len(shape), len(shape))
            for keepdim in (False, True)]


def assert_both_modes(mg_fn, np_fn, a):
    """The gradient and the tangent along a random direction both match central differences."""
    assert_gradients_match(mg_fn, np_fn, a)
    direction = np.random.default_rng(1).standard_normal(a.shape)
    _, tangent = mg.jvp(mg_fn, [mg.tensor(a)], [direction])
    np.testing.assert_allclose(tangent, directional_difference(np_fn, [a], [direction]), rtol=1e-5, atol=1e-6)


def lower_median(a, axis, keepdims=False):
    """The lower of the two middle values along axis: the ((n - 1) // 2)-th of the sorted entries."""
    middle = np.take(np.sort(a, axis=axis), (a.shape[axis] - 1) // 2, axis=axis)
    return np.expand_dims(middle, axis) if keepdims else middle


def quantile_by_formula(a, q, method):
    """PyTorch's documented quantile of a 1-d array: rank = q (n - 1) between the sorted entries."""
    ordered, rank = np.sort(a), q * (len(a) - 1)
    low, high = int(np.floor(rank)), int(np.ceil(rank))
    nearest = int(np.round(rank))                 # (half to even, as torch.round)
    weight = {"linear": rank - low, "midpoint": 0.5}.get(method)
    if weight is not None:
        return ordered[low] + weight * (ordered[high] - ordered[low])
    return ordered[{"lower": low, "higher": high, "nearest": nearest}[method]]


# ---- cummax and cummin ------------------------------------------------------------------------------

def running_extreme(a, larger):
    """PyTorch's CPU loop along the last axis: a later entry equal to the extreme takes over, a NaN too."""
    values, indices = np.empty_like(a), np.empty(a.shape, dtype=np.int64)
    for row in np.ndindex(a.shape[:-1]):
        best, where = a[row + (0,)], 0
        for i, entry in enumerate(a[row]):
            if np.isnan(entry) or (not np.isnan(best) and (entry >= best if larger else entry <= best)):
                best, where = entry, i
            values[row + (i,)], indices[row + (i,)] = best, where
    return values, indices


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_and_cummin_give_running_extremes_and_the_later_index_on_ties(name):
    a = np.array([[1.0, 3.0, 3.0, 2.0, 4.0, 4.0], [2.0, 2.0, np.nan, 5.0, np.nan, 0.0]])
    expected_values, expected_indices = running_extreme(a, name == "cummax")
    for found in (getattr(mg.tensor(a), name)(1), getattr(mg, name)(a, dim=-1)):
        np.testing.assert_array_equal(found.values.data, expected_values)
        assert found.indices.dtype == np.int64 and found.indices.tolist() == expected_indices.tolist()
    columns = getattr(mg.tensor(a.T.copy()), name)(0)
    np.testing.assert_array_equal(columns.indices.data.T, expected_indices)


def test_cummax_of_integers_and_a_0_d_tensor():
    values, indices = mg.tensor([2, 1, 5, 5, 3]).cummax(0)
    assert values.dtype == np.int64 and values.tolist() == [2, 2, 5, 5, 5] and indices.tolist() == [0, 0, 2, 3, 3]
    values, indices = mg.tensor(1.5).cummin(-1)
    assert values.shape == () and values.item() == 1.5 and indices.item() == 0


def test_cummax_sends_each_gradient_to_the_index_kept_at_its_position():
    """cummaxmin_backward: dL/dx_j = the sum of the g_i whose index is j (ties go to the later entry)."""
    x = mg.tensor([1.0, 3.0, 3.0, 2.0, 0.5], requires_grad=True)
    weights = np.array([1.0, 10.0, 100.0, 1000.0, 10000.0])
    (x.cummax(0).values * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 10.0, 11100.0, 0.0, 0.0])


@pytest.mark.parametrize("shape, dim, keepdim", every_dim())
def test_cummax_and_cummin_gradients_match_central_differences(shape, dim, keepdim):
    a = distinct(shape)
    assert_both_modes(lambda t: t.cummax(dim).values, lambda a: np.maximum.accumulate(a, axis=dim), a)
    assert_both_modes(lambda t: mg.cummin(t, dim).values, lambda a: np.minimum.accumulate(a, axis=dim), a)


# ---- median and nanmedian ---------------------------------------------------------------------------

def test_median_of_all_entries_is_the_lower_middle_value_not_numpy_s_mean():
    assert mg.tensor([4.0, 1.0, 3.0, 2.0]).median().item() == 2.0          # (np.median: 2.5)
    assert mg.median(np.array([[5.0, 1.0], [3.0, 9.0], [7.0, 2.0]])).item() == 3.0
    assert mg.tensor([7, 1, 4]).median().item() == 4 and mg.tensor([7, 1, 4]).median().dtype == np.int64
    assert np.isnan(mg.tensor([1.0, np.nan, 2.0]).median().item())
    assert mg.tensor([1.0, np.nan, 2.0, 3.0]).nanmedian().item() == 2.0
    assert np.isnan(mg.tensor([np.nan, np.nan]).nanmedian().item())


def test_median_of_all_entries_shares_its_gradient_between_ties():
    """PyTorch's evenly_distribute_backward: g / (number of entries equal to the median) to each."""
    x = mg.tensor([[2.0, 1.0, 2.0], [3.0, 2.0, 5.0]], requires_grad=True)
    x.median().backward()
    np.testing.assert_allclose(x.grad, [[1 / 3, 0, 1 / 3], [0, 1 / 3, 0]])
    y = mg.tensor([np.nan, 1.0, np.nan], requires_grad=True)
    (y.median() * 4.0).backward()
    np.testing.assert_array_equal(y.grad, [2.0, 0.0, 2.0])


@pytest.mark.parametrize("shape, dim, keepdim", every_dim([(4,), (3, 4), (2, 3, 5)]))
def test_median_along_dim_gives_the_lower_median_and_its_index(shape, dim, keepdim):
    a = np.round(distinct(shape) * 3) / 3           # (a few ties: the index is the stable order's)
    values, indices = mg.tensor(a).median(dim, keepdim=keepdim)
    np.testing.assert_array_equal(values.data, lower_median(a, dim, keepdim))
    expected = np.take(np.argsort(a, axis=dim, kind="stable"), (a.shape[dim] - 1) // 2, axis=dim)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices.data, np.expand_dims(expected, dim) if keepdim else expected)


def test_median_along_dim_with_a_nan_gives_the_first_nan_and_nanmedian_skips_them():
    a = np.array([[1.0, np.nan, 3.0, np.nan], [4.0, 2.0, 8.0, 6.0], [np.nan] * 4])
    values, indices = mg.tensor(a).median(1)
    assert np.isnan(values.data[[0, 2]]).all() and values.data[1] == 4.0 and indices.tolist() == [1, 0, 0]
    values, indices = mg.tensor(a).nanmedian(-1, keepdim=True)
    assert values.shape == (3, 1) and values.data[0, 0] == 1.0 and values.data[1, 0] == 4.0
    assert np.isnan(values.data[2, 0]) and indices.tolist() == [[0], [0], [0]]


def test_median_along_dim_sends_the_whole_gradient_to_its_index():
    x = mg.tensor([[3.0, 1.0, 2.0, 2.0]], requires_grad=True)
    (x.median(1).values * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 5.0, 0.0]])     # (the first 2: the stable order's)


@pytest.mark.parametrize("shape, dim, keepdim", every_dim())
def test_median_and_nanmedian_gradients_match_central_differences(shape, dim, keepdim):
    a = distinct(shape)
    assert_both_modes(lambda t: t.median(dim, keepdim).values, lambda a: lower_median(a, dim, keepdim), a)
    assert_both_modes(lambda t: mg.nanmedian(t, dim=dim, keepdim=keepdim).values,
                      lambda a: lower_median(a, dim, keepdim), a)


def test_median_of_all_entries_gradient_matches_central_differences():
    a = distinct((3, 4))
    assert_both_modes(lambda t: t.median(), lambda a: np.sort(a, axis=None)[(a.size - 1) // 2], a)


# ---- kthvalue and mode ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, dim, keepdim", every_dim())
def test_kthvalue_is_the_kth_smallest_with_its_index_and_its_gradient(shape, dim, keepdim):
    a = distinct(shape)
    for k in range(1, a.shape[dim] + 1):
        values, indices = mg.tensor(a).kthvalue(k, dim, keepdim)
        expected = np.take(np.sort(a, axis=dim), k - 1, axis=dim)
        np.testing.assert_array_equal(values.data, np.expand_dims(expected, dim) if keepdim else expected)
        np.testing.assert_array_equal(np.take_along_axis(a, indices.data if keepdim else
                                                         np.expand_dims(indices.data, dim), axis=dim).squeeze(dim),
                                      expected)
    k = (a.shape[dim] + 1) // 2
    assert_both_modes(lambda t: mg.kthvalue(t, k, dim, keepdim).values,
                      lambda a: np.take(np.sort(a, axis=dim), [k - 1] if keepdim else k - 1, axis=dim), a)


@pytest.mark.parametrize("name, call", [("kthvalue", lambda t: t.kthvalue(1)),
                                        ("kthvalue", lambda t: mg.kthvalue(t, 2, 0)),
                                        ("median", lambda t: t.median()), ("median", lambda t: mg.median(t, 0)),
                                        ("nanmedian", lambda t: t.nanmedian()),
                                        ("nanmedian", lambda t: t.nanmedian(0))])
def test_kthvalue_median_and_nanmedian_of_a_bool_tensor_raise_as_pytorch(name, call):
    """aten/src/ATen/native/Sorting.cpp: kthvalue_out_impl_cpu, median_with_indices_impl and median_impl
    dispatch AT_DISPATCH_ALL_TYPES (no Bool); mode's kernel has Bool, so mode of one still works."""
    mask = mg.tensor([True, False, True])
    with pytest.raises(TypeError, match=rf"^{name}: expected a tensor of numbers, got dtype bool"):
        call(mask)
    ints = mask.long()
    assert ints.kthvalue(1).values.item() == 0 and ints.median().item() == 1
    assert ints.nanmedian(0).values.item() == 1
    values, indices = mask.mode()
    assert values.item() is True and indices.item() == 2


def test_kthvalue_counts_nan_as_the_largest_and_ties_in_their_order():
    values, indices = mg.tensor([[np.nan, 2.0, 1.0, 2.0]]).kthvalue(3)
    assert values.tolist() == [2.0] and indices.tolist() == [3]
    values, indices = mg.tensor([np.nan, 2.0, 1.0]).kthvalue(3, 0)
    assert np.isnan(values.item()) and indices.item() == 0


def test_mode_is_the_smallest_most_frequent_value_at_its_last_occurrence():
    values, indices = mg.tensor([[1, 2, 2, 3, 3, 0], [5, 5, 1, 1, 7, 1]]).mode()
    assert values.tolist() == [2, 1] and indices.tolist() == [2, 5]
    values, indices = mg.mode(np.array([[4.0, 9.0], [4.0, 2.0], [1.0, 2.0]]), 0, keepdim=True)
    assert values.shape == (1, 2) and values.tolist() == [[4.0, 2.0]] and indices.tolist() == [[1, 2]]
    values, indices = mg.tensor([3.0, 1.0, 2.0]).mode(-1)          # (all once: the smallest)
    assert values.item() == 1.0 and indices.item() == 1


def test_mode_sends_the_whole_gradient_to_its_index():
    x = mg.tensor([[2.0, 1.0, 2.0, 1.0, 3.0]], requires_grad=True)
    x.mode(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 0.0, 1.0, 0.0]])
    a = distinct((3, 4))
    assert_both_modes(lambda t: t.mode(0).values, lambda a: np.min(a, axis=0), a)     # (all distinct: the min)


# ---- quantile and nanquantile -----------------------------------------------------------------------

@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_follows_the_documented_interpolation(method):
    a = distinct((7,))
    for q in (0.0, 0.1, 0.25, 0.5, 0.75, 11 / 12, 1.0):        # (11/12: rank 5.5, nearest rounds to even)
        found = mg.tensor(a).quantile(q, interpolation=method)
        assert found.shape == () and found.dtype == np.float64
        np.testing.assert_allclose(found.item(), quantile_by_formula(a, q, method), rtol=1e-14, atol=1e-14)
    assert mg.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).quantile(0.5, interpolation="nearest").item() == 3.0


def test_quantile_shapes_with_levels_dim_and_keepdim():
    a = distinct((2, 3, 4))
    levels = np.array([0.2, 0.5, 0.9])
    assert mg.tensor(a).quantile(0.5).shape == ()
    assert mg.tensor(a).quantile(0.5, keepdim=True).shape == (1, 1, 1)
    assert mg.tensor(a).quantile(mg.tensor(levels), dim=1).shape == (3, 2, 4)
    found = mg.quantile(a, levels, dim=-1, keepdim=True)
    assert found.shape == (3, 2, 3, 1)
    for i, q in enumerate(levels):
        expected = np.apply_along_axis(quantile_by_formula, -1, a, q, "linear")[..., None]
        np.testing.assert_allclose(found.data[i], expected, rtol=1e-13)
    assert mg.tensor(2.5).quantile(0.3, dim=0).item() == 2.5


def test_quantile_with_a_nan_is_nan_and_nanquantile_skips_them():
    a = np.array([[np.nan, 1.0, 3.0, 2.0], [4.0, 0.0, 8.0, 6.0], [np.nan] * 4])
    found = mg.tensor(a).quantile(0.5, dim=1)
    assert np.isnan(found.data[[0, 2]]).all() and found.data[1] == 5.0
    found = mg.tensor(a).nanquantile(mg.tensor([0.25, 1.0], dtype=mg.float64), dim=1)
    np.testing.assert_allclose(found.data[:, :2], [[1.5, 3.0], [3.0, 8.0]])
    assert np.isnan(found.data[:, 2]).all()
    assert np.isnan(mg.tensor(a).quantile(0.5).item()) and mg.tensor(a).nanquantile(0.0).item() == 0.0


def test_quantile_gradient_is_the_interpolation_s():
    """rank 0.4 * 3 = 1.2 between the sorted [1, 2, 3, 4]: 0.8 to the 2 and 0.2 to the 3."""
    x = mg.tensor([3.0, 1.0, 2.0, 4.0], dtype=mg.float64, requires_grad=True)
    x.quantile(0.4).backward()
    np.testing.assert_allclose(x.grad, [0.2, 0.0, 0.8, 0.0])


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("shape, dim, keepdim", every_dim([(5,), (3, 4), (2, 3, 4)]) + [((3, 4), None, True)])
def test_quantile_gradients_match_central_differences(shape, dim, keepdim, method):
    a = distinct(shape)
    levels = np.array([0.1, 0.5, 0.7])

    def np_fn(a):
        return np.quantile(a, levels, axis=dim, keepdims=keepdim, method=method)
    assert_both_modes(lambda t: t.quantile(mg.tensor(levels), dim, keepdim, interpolation=method), np_fn, a)


@pytest.mark.parametrize("shape, dim, keepdim", every_dim([(5,), (3, 4)]))
def test_nanquantile_and_nanmedian_gradients_skip_the_nans(shape, dim, keepdim):
    a = distinct(shape)
    missing = np.zeros(shape, dtype=bool)
    missing.flat[1::3] = True                    # (NaNs in some rows and columns, never all of one)
    assert_both_modes(lambda t: mg.where(missing, np.nan, t).nanquantile(0.3, dim, keepdim),
                      lambda a: np.nanquantile(np.where(missing, np.nan, a), 0.3, axis=dim, keepdims=keepdim), a)

    def np_nanmedian(a):
        filled = np.where(missing, np.inf, a)    # (the NaNs sort last: the lower median of those left)
        ordered = np.sort(filled, axis=dim)
        counts = (~missing).sum(axis=dim, keepdims=True)
        return np.take_along_axis(ordered, (counts - 1) // 2, axis=dim) if keepdim else np.squeeze(
            np.take_along_axis(ordered, (counts - 1) // 2, axis=dim), dim)
    assert_both_modes(lambda t: mg.where(missing, np.nan, t).nanmedian(dim, keepdim).values, np_nanmedian, a)


# ---- aminmax, var_mean, std_mean --------------------------------------------------------------------

def test_aminmax_is_the_named_pair_of_min_and_max():
    a = np.array([[3.0, -1.0, 7.0], [2.0, 9.0, -4.0]])
    found = mg.tensor(a).aminmax()
    assert found.min.item() == -4.0 and found.max.item() == 9.0 and found == (found.min, found.max)
    low, high = mg.aminmax(a, dim=-1, keepdim=True)
    assert low.tolist() == [[-1.0], [-4.0]] and high.tolist() == [[7.0], [9.0]]
    low, high = mg.tensor([2, 7, 1]).aminmax(dim=0)
    assert low.item() == 1 and high.item() == 7 and low.dtype == np.int64


def test_aminmax_shares_the_gradient_between_ties_as_amin_and_amax():
    x = mg.tensor([[1.0, 5.0, 1.0, 5.0]], requires_grad=True)
    low, high = x.aminmax(dim=1)
    (low * 2.0 + high * 4.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 2.0, 1.0, 2.0]])


@pytest.mark.parametrize("shape, dim, keepdim", every_dim() + [((3, 4), None, False), ((3, 4), None, True)])
def test_aminmax_gradients_match_central_differences(shape, dim, keepdim):
    a = distinct(shape)
    axis = dim

    def mg_fn(t):
        low, high = t.aminmax(dim=dim, keepdim=keepdim)
        return mg.stack([low, high])

    def np_fn(a):
        return np.stack([np.min(a, axis=axis, keepdims=keepdim), np.max(a, axis=axis, keepdims=keepdim)])
    assert_both_modes(mg_fn, np_fn, a)


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
@pytest.mark.parametrize("shape, dim, keepdim", every_dim([(5,), (3, 4)]) + [((3, 4), None, False)])
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_mean_and_std_mean_give_the_pair_and_its_gradients(name, shape, dim, keepdim, correction):
    a = distinct(shape)
    spread = np.var if name == "var_mean" else np.std

    def mg_fn(t):
        first, second = getattr(mg, name)(t, dim, keepdim=keepdim, correction=correction)
        return mg.stack([first, second])

    def np_fn(a):
        return np.stack([spread(a, axis=dim, ddof=correction, keepdims=keepdim),
                         np.mean(a, axis=dim, keepdims=keepdim)])
    assert_both_modes(mg_fn, np_fn, a)


def test_var_mean_takes_unbiased_as_pytorch_s_older_spelling():
    a = distinct((3, 4))
    biased, mean = mg.var_mean(mg.tensor(a), 1, unbiased=False)
    np.testing.assert_allclose(biased.data, np.var(a, axis=1), rtol=1e-13)
    np.testing.assert_allclose(mean.data, np.mean(a, axis=1), rtol=1e-13)
    std, _ = mg.std_mean(mg.tensor(a), False)
    np.testing.assert_allclose(std.item(), np.std(a), rtol=1e-13)
    assert isinstance(mg.var_mean(mg.tensor(a)), tuple)


# ---- searchsorted, bucketize, argwhere, unique_consecutive ------------------------------------------

def insertion_places(sequence, points, right):
    """The count of entries < v (left) or <= v (right) in an ascending row: the documented place."""
    return np.array([np.sum(sequence <= v) if right else np.sum(sequence < v) for v in np.ravel(points)],
                    dtype=np.int64).reshape(np.shape(points))


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_of_a_1_d_sequence_and_of_rows(right):
    sequence = np.array([1.0, 3.0, 3.0, 5.0, 7.0])
    points = np.array([[0.0, 3.0, 4.0], [7.0, 8.0, 1.0]])
    found = mg.searchsorted(mg.tensor(sequence), mg.tensor(points), right=right)
    assert found.dtype == np.int64 and found.grad_fn is None
    np.testing.assert_array_equal(found.data, insertion_places(sequence, points, right))
    side = mg.searchsorted(sequence, points, side="right" if right else "left", out_int32=True)
    assert side.dtype == np.int32 and side.tolist() == found.tolist()
    rows = np.array([[1, 3, 5, 7, 9], [2, 4, 6, 8, 10]])
    values = np.array([[3, 6, 9], [3, 6, 9]])
    found = mg.searchsorted(rows, values, right=right)
    expected = np.stack([insertion_places(r, v, right) for r, v in zip(rows, values)])
    np.testing.assert_array_equal(found.data, expected)
    assert mg.searchsorted(sequence, 4.0, right=right).shape == ()
    assert mg.searchsorted(mg.tensor([0.1, 0.2], dtype=mg.float64), 0.1, right=right).item() == int(right)


def test_searchsorted_with_a_sorter():
    sequence = np.array([5.0, 1.0, 3.0])
    found = mg.searchsorted(sequence, np.array([2.0, 6.0, 0.0]), sorter=np.argsort(sequence))
    assert found.tolist() == [1, 3, 0]


@pytest.mark.parametrize("right", [False, True])
def test_bucketize_puts_each_entry_in_its_documented_bucket(right):
    boundaries = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
    x = np.array([[3.0, 6.0, 9.0], [0.5, 1.0, 10.0]])
    found = mg.bucketize(mg.tensor(x), mg.tensor(boundaries), right=right)
    assert found.dtype == np.int64
    for place, entry in zip(found.data.ravel(), x.ravel()):
        below = boundaries[place - 1] if place > 0 else -np.inf
        above = boundaries[place] if place < len(boundaries) else np.inf
        assert (below <= entry < above) if right else (below < entry <= above)
    assert mg.bucketize(x, boundaries, out_int32=True).dtype == np.int32


def test_argwhere_gives_one_row_per_nonzero_entry():
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    for found in (mg.tensor(a).argwhere(), mg.argwhere(a)):
        assert found.dtype == np.int64 and found.tolist() == [[0, 1], [1, 0], [1, 2]]
    assert mg.argwhere(np.zeros((2, 3))).shape == (0, 2)


def test_unique_consecutive_keeps_each_run_once_with_its_inverse_and_counts():
    x = mg.tensor([1, 1, 2, 2, 3, 1, 1, 2])
    assert mg.unique_consecutive(x).tolist() == [1, 2, 3, 1, 2]
    values, inverse, counts = x.unique_consecutive(return_inverse=True, return_counts=True)
    assert inverse.tolist() == [0, 0, 1, 1, 2, 3, 3, 4] and counts.tolist() == [2, 2, 1, 2, 1]
    assert inverse.dtype == counts.dtype == np.int64
    grid = mg.tensor([[1, 1, 2, 1], [3, 3, 4, 3]])
    values, inverse = grid.unique_consecutive(return_inverse=True, dim=1)
    assert values.tolist() == [[1, 2, 1], [3, 4, 3]] and inverse.tolist() == [0, 0, 1, 2]
    values, counts = mg.unique_consecutive(np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 2.0]]), return_counts=True, dim=0)
    assert values.tolist() == [[1.0, 2.0], [0.0, 2.0]] and counts.tolist() == [2, 1]
    values, inverse = mg.tensor([[4, 4], [5, 4]]).unique_consecutive(return_inverse=True)
    assert values.tolist() == [4, 5, 4] and inverse.tolist() == [[0, 0], [1, 2]]


# ---- errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda t: t.kthvalue(0), ValueError, r"kthvalue: k must be from 1 to 4 \(dim -1 of shape \(3, 4\)\), got 0"),
    (lambda t: t.kthvalue(5, 1), ValueError, r"kthvalue: k must be from 1 to 4 .* got 5"),
    (lambda t: t.kthvalue(2, 2), IndexError, r"kthvalue: dim 2 is out of range"),
    (lambda t: t.quantile(1.5), ValueError, r"quantile: q must be in \[0, 1\], got 1.5"),
    (lambda t: t.nanquantile([0.5, -0.1]), ValueError, r"nanquantile: q must be in \[0, 1\], got \[0.5, -0.1\]"),
    (lambda t: t.quantile(0.5, interpolation="cubic"), ValueError,
     r"quantile: interpolation must be one of linear, lower, higher, midpoint, nearest, got 'cubic'"),
    (lambda t: t.quantile(np.ones((2, 2)) / 2), ValueError, r"quantile: q must be a number or a 0-d or 1-d"),
    (lambda t: t.quantile(mg.tensor([0.5], dtype=mg.float32)), TypeError,
     r"quantile: a tensor q must have the input's dtype float64, got float32"),
    (lambda t: t.median(3), IndexError, r"median: dim 3 is out of range"),
    (lambda t: t.cummax(2), IndexError, r"cummax: dim 2 is out of range"),
    (lambda t: t.mode(keepdim=1), ValueError, r"mode: keepdim must be True or False, got 1"),
    (lambda t: t.aminmax(dim=-3), IndexError, r"aminmax: dim -3 is out of range"),
    (lambda t: t[0, 0].aminmax(dim=1), IndexError, r"aminmax: dim 1 is out of range"),
    (lambda t: mg.var_mean(t, 1, unbiased=True, correction=0), TypeError, r"var_mean: got both unbiased= and"),
    (lambda t: t.unique_consecutive(dim=2), IndexError, r"unique_consecutive: dim 2 is out of range"),
    (lambda t: mg.searchsorted(t, t[:2]), ValueError,
     r"searchsorted: sorted_sequence must be 1-d, or have the leading axes of values, got shapes \(3, 4\) and "
     r"\(2, 4\)"),
    (lambda t: mg.searchsorted(t[0], 1.0, right=True, side="left"), ValueError,
     r"searchsorted: side must be 'left' or 'right' \(and not 'left' with right=True\)"),
    (lambda t: mg.searchsorted(t[0], 1.0, sorter=[0, 1]), ValueError, r"searchsorted: sorter must be integer"),
    (lambda t: mg.bucketize(1.0, t), ValueError, r"bucketize: boundaries must be 1-d, got shape \(3, 4\)"),
])
def test_bad_arguments_raise_naming_the_function_and_change_nothing(call, error, message):
    a = distinct((3, 4))
    x = mg.tensor(a, requires_grad=True)
    with pytest.raises(error, match=message):
        call(x)
    np.testing.assert_array_equal(x.data, a)
    assert x.grad is None


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.tensor([1, 2, 3]).quantile(0.5), TypeError,
     r"quantile: expected a float32 or float64 tensor, got int64"),
    (lambda: mg.zeros(0).quantile(0.5), ValueError, r"quantile: expected a non-empty tensor, got shape \(0,\)"),
    (lambda: mg.zeros(0).median(), ValueError, r"median: expected a non-empty tensor"),
    (lambda: mg.zeros((2, 0)).kthvalue(1, 0), ValueError, r"kthvalue: expected a non-empty tensor"),
    (lambda: mg.zeros((0, 3)).aminmax(), ValueError, r"aminmax: no minimum or maximum over an empty axis"),
    (lambda: mg.var_mean(mg.tensor([1, 2])), TypeError, r"var_mean: expected a real floating-point tensor, got int64"),
    (lambda: mg.tensor([1j, 2j]).cummax(0), TypeError, r"cummax: expected a real tensor, got dtype complex"),
])
def test_inputs_the_functions_cannot_take_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()
