"""Tests written from a mutation check of the tensor functions of ops/scattering.py (select_scatter,
slice_scatter, diagonal_scatter, take, put, index_put, masked_scatter and their in-place forms),
ops/combining.py (diagflat, narrow_copy), ops/reduce.py (nanmean), ops/covariance.py (cov, corrcoef),
ops/integration.py (trapezoid, cumulative_trapezoid) and ops/more_elementwise.py (frexp, ldexp,
nextafter, gcd, lcm): each pins a behaviour that a hand-made wrong implementation changed without any
other test noticing. Expected values are closed forms or hand-written numpy from PyTorch's documented
definitions (torch/_torch_docs.py, aten/src/ATen/native/Correlation.cpp and Integration.cpp), never
taken from the library's own output."""

import numpy as np
import pytest

import microgradseq as mg

RNG = np.random.default_rng(2027)


def rand(*shape):
    return RNG.standard_normal(shape)


# ---- select_scatter, slice_scatter, diagonal_scatter --------------------------------------------------

def test_select_scatter_refuses_an_index_equal_to_the_size_naming_itself():
    """Valid indices along a dim of size n are -n .. n - 1 (PyTorch's select): n itself is out of range."""
    with pytest.raises(IndexError, match=r"select_scatter: index 4 is out of range for dim 1 of shape \(3, 4\)"):
        mg.select_scatter(mg.zeros(3, 4), mg.zeros(3), 1, 4)


def test_select_scatter_refuses_a_float_index_naming_itself():
    with pytest.raises((IndexError, TypeError), match="select_scatter: index 1.0"):
        mg.select_scatter(mg.zeros(3, 4), mg.zeros(3), 1, 1.0)


def test_slice_scatter_defaults_to_dim_0():
    """torch.slice_scatter(input, src, dim=0, start=None, end=None, step=1): start alone slices rows."""
    a, src = rand(3, 4), rand(2, 4)
    expected = a.copy()
    expected[1:] = src
    np.testing.assert_array_equal(mg.slice_scatter(a, src, start=1).numpy(), expected)


def test_slice_scatter_defaults_to_step_1():
    a, src = rand(6), rand(3)
    expected = a.copy()
    expected[1:4] = src
    np.testing.assert_array_equal(mg.slice_scatter(a, src, 0, 1, 4).numpy(), expected)


def test_slice_scatter_refuses_a_float_bound_naming_itself():
    with pytest.raises(ValueError, match=r"slice_scatter: expected integer start and end .*start=0.5"):
        mg.slice_scatter(mg.zeros(4), mg.zeros(3), 0, 0.5)


def test_diagonal_scatter_defaults_to_offset_0_and_dims_0_and_1():
    """torch.diagonal_scatter(input, src, offset=0, dim1=0, dim2=1): on a (2, 3, 4) input the diagonal
    runs over dims 0 and 1 (length 2), laid last in src, shape (4, 2)."""
    a, src = rand(2, 3, 4), rand(4, 2)
    expected = a.copy()
    for i in range(2):
        expected[i, i, :] = src[:, i]
    np.testing.assert_array_equal(mg.diagonal_scatter(a, src).numpy(), expected)
    a, src = rand(3, 3), rand(3)
    np.testing.assert_array_equal(mg.diagonal_scatter(a, src).numpy(), np.where(np.eye(3, dtype=bool), np.diag(src), a))


def test_diagonal_scatter_refuses_the_same_dim_twice_naming_itself():
    with pytest.raises(ValueError, match="diagonal_scatter: expected two different dims .*dim1=1, dim2=-1"):
        mg.diagonal_scatter(mg.zeros(3, 3), mg.zeros(3), 0, 1, -1)


# ---- take, put -------------------------------------------------------------------------------------

def test_take_refuses_a_bool_index():
    """torch.take's index is a LongTensor: a bool index is a TypeError, not a selection of 0s and 1s."""
    with pytest.raises(TypeError, match="take: expected an integer index .*got dtype bool"):
        mg.take(mg.zeros(3), np.array([True, False]))


def test_put_defaults_to_writing_not_adding():
    """torch.put(input, index, source, accumulate=False)."""
    out = mg.put(mg.tensor([1.0, 2.0, 3.0]), mg.tensor([1]), mg.tensor([10.0]))
    assert out.tolist() == [1.0, 10.0, 3.0]
    t = mg.tensor([1.0, 2.0, 3.0])
    t.put_(mg.tensor([2]), mg.tensor([5.0]))
    assert t.tolist() == [1.0, 2.0, 5.0]


def test_put_refuses_a_source_longer_than_index():
    with pytest.raises(ValueError, match=r"put: expected a source with as many entries as index \(1\), got 2"):
        mg.put(mg.zeros(3), mg.tensor([0]), mg.zeros(2))


def test_put_refuses_a_source_of_another_float_dtype():
    with pytest.raises(TypeError, match="put: expected the source in the tensor's dtype float64, got float32"):
        mg.put(mg.zeros(3, dtype=mg.float64), mg.tensor([0]), mg.zeros(1, dtype=mg.float32))


# ---- index_put, masked_scatter ----------------------------------------------------------------------

def test_index_put_takes_a_list_of_index_tensors():
    """PyTorch's indices are a sequence (Tensor?[]): a list serves as a tuple does."""
    a, values = rand(2, 3), rand(2)
    expected = a.copy()
    expected[[0, 1], [2, 0]] = values
    np.testing.assert_array_equal(mg.index_put(a, [mg.tensor([0, 1]), mg.tensor([2, 0])], values).numpy(), expected)


def test_index_put_defaults_to_writing_not_adding():
    out = mg.tensor([1.0, 2.0]).index_put((mg.tensor([0]),), mg.tensor([5.0]))
    assert out.tolist() == [5.0, 2.0]


def test_index_put_refuses_values_of_another_float_dtype():
    with pytest.raises(TypeError, match="index_put: expected values in the tensor's dtype float64, got float32"):
        mg.index_put(mg.zeros(3, dtype=mg.float64), (mg.tensor([0]),), mg.zeros(1, dtype=mg.float32))


def test_index_put_refuses_values_that_do_not_broadcast_without_accumulate():
    with pytest.raises(ValueError, match=r"index_put: .*values of shape \(2,\)"):
        mg.index_put(mg.zeros(2, 3), (mg.tensor([0]),), mg.ones(2))


def test_masked_scatter_takes_a_source_of_exactly_the_true_count():
    """source needs at least as many entries as mask has True ones: exactly that many is enough."""
    out = mg.masked_scatter(mg.zeros(2, 2), mg.tensor([[True, False], [True, True]]), mg.tensor([1.0, 2.0, 3.0]))
    assert out.tolist() == [[1.0, 0.0], [2.0, 3.0]]


def test_masked_scatter_refuses_an_integer_mask():
    with pytest.raises(TypeError, match="masked_scatter: expected a bool mask, got dtype int64"):
        mg.masked_scatter(mg.zeros(2), np.array([1, 0]), mg.ones(2))


def test_masked_scatter_refuses_a_source_of_another_float_dtype():
    with pytest.raises(TypeError, match="masked_scatter: expected the source in the tensor's dtype float64"):
        mg.masked_scatter(mg.zeros(2, dtype=mg.float64), mg.tensor([True, False]), mg.ones(2, dtype=mg.float32))


def test_masked_scatter_in_place_writes_in_order():
    t = mg.tensor([0.0, 0.0, 0.0])
    assert t.masked_scatter_(mg.tensor([True, False, True]), mg.tensor([4.0, 5.0, 6.0])) is t
    assert t.tolist() == [4.0, 0.0, 5.0]


# ---- diagflat, narrow_copy --------------------------------------------------------------------------

def test_diagflat_defaults_to_the_main_diagonal():
    """torch.diagflat(input, offset=0)."""
    np.testing.assert_array_equal(mg.diagflat(mg.tensor([[1.0, 2.0], [3.0, 4.0]])).numpy(), np.diag([1.0, 2.0, 3.0, 4.0]))


def test_diagflat_takes_a_numpy_integer_offset():
    np.testing.assert_array_equal(mg.diagflat(mg.tensor([1.0, 2.0]), np.int64(1)).numpy(),
                                  [[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]])


def test_narrow_copy_out_of_range_names_narrow_copy():
    with pytest.raises(IndexError, match="narrow_copy: "):
        mg.narrow_copy(mg.zeros(5), 0, 4, 2)


# ---- nanmean -----------------------------------------------------------------------------------------

def test_nanmean_counts_infinities_and_its_gradient_is_one_over_the_count_of_non_nan():
    """PyTorch's nanmean is nansum(x) / (number of entries not NaN): an inf entry counts, so each
    finite entry's gradient is 1 / 3 here."""
    x = mg.tensor([1.0, np.inf, np.nan, 2.0], dtype=mg.float64, requires_grad=True)
    mg.nanmean(x).backward()
    np.testing.assert_array_equal(x.grad[[0, 3]], [1 / 3, 1 / 3])
    assert x.grad[2] == 0.0


def test_nanmean_refuses_integers_even_with_a_float_dtype():
    """PyTorch checks the input's own dtype (floating point) before taking `dtype`."""
    with pytest.raises(TypeError, match="nanmean: expected a floating-point tensor .*got dtype int64"):
        mg.nanmean(mg.tensor([1, 2]), dtype=mg.float64)


def test_nanmean_keeps_float32():
    out = mg.nanmean(mg.tensor([1.0, np.nan, 2.0], dtype=mg.float32))
    assert out.dtype == np.float32 and out.item() == 1.5


def test_nanmean_of_all_nan_over_every_axis_is_nan():
    assert np.isnan(mg.nanmean(mg.tensor([np.nan, np.nan])).item())


# ---- cov, corrcoef -----------------------------------------------------------------------------------

def test_cov_refuses_two_dimensional_weights():
    """cov(): expected fweights/aweights to have one or fewer dimensions (Correlation.cpp)."""
    with pytest.raises(ValueError, match=r"cov: expected fweights .*got dtype int64 and shape \(1, 3\)"):
        mg.cov(mg.zeros(2, 3), fweights=np.ones((1, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"cov: expected aweights .*got dtype float64 and shape \(3, 1\)"):
        mg.cov(mg.zeros(2, 3), aweights=np.ones((3, 1)))


def test_cov_refuses_integer_aweights():
    """cov(): expected aweights to have floating point dtype (Correlation.cpp)."""
    with pytest.raises(ValueError, match="cov: expected aweights of a floating-point dtype .*got dtype int64"):
        mg.cov(mg.zeros(2, 3), aweights=np.ones(3, dtype=np.int64))


def test_cov_refuses_negative_aweights():
    with pytest.raises(ValueError, match="cov: aweights cannot be negative, got a minimum of -0.5"):
        mg.cov(mg.zeros(2, 3), aweights=np.array([1.0, -0.5, 2.0]))


def test_cov_refuses_a_float_correction():
    with pytest.raises(TypeError, match="cov: correction must be an integer, got 0.5"):
        mg.cov(mg.zeros(2, 3), correction=0.5)


def test_cov_with_a_negative_divisor_zeroes_it_as_pytorch():
    """Correlation.cpp: a norm factor <= 0 warns and is set to 0, so a positive sum over it is inf
    (not the negative number sum / (N - correction) would give)."""
    x = np.array([[1.0, 3.0]])          # sum of squared deviations 2, N - correction = 2 - 3 = -1
    with pytest.warns(UserWarning, match="cov: the degrees of freedom are <= 0"):
        out = mg.cov(x, correction=3)
    assert out.item() == np.inf


def test_cov_of_one_observation_with_fweights_is_exactly_zero():
    """One observation weighted 3 (Correlation.cpp's corner case, and the closed form: the variance of a
    constant is 0): x - mean is taken as 0, not 0.1 - 0.1 * 3 / 3 with its rounding."""
    out = mg.cov(np.array([[0.1], [0.7]]), fweights=np.array([3]))
    np.testing.assert_array_equal(out.numpy(), np.zeros((2, 2)))


def test_cov_of_one_observation_with_aweights_has_no_degrees_of_freedom():
    """One observation, aweights alone and correction 1: PyTorch sets the norm factor to 0 (its corner
    case; a - a a / a is 1.1e-16 in float64 for a = 0.84), so it warns and the 0 / 0 is NaN."""
    with pytest.warns(UserWarning, match="cov: the degrees of freedom are <= 0"):
        out = mg.cov(np.array([[1.0], [2.0]]), aweights=np.array([0.84]))
    assert np.isnan(out.numpy()).all()


def test_cov_with_aweights_and_fweights_and_correction_2():
    """norm = w_sum - correction sum(w a) / w_sum with w = f a (Correlation.cpp), hand-written."""
    x = rand(2, 5)
    f, a = np.array([1, 2, 1, 3, 2]), np.array([0.5, 1.5, 2.0, 0.25, 1.0])
    w = f * a
    mean = (x * w).sum(1, keepdims=True) / w.sum()
    norm = w.sum() - 2 * (w * a).sum() / w.sum()
    expected = (x - mean) @ ((x - mean) * w).T / norm
    np.testing.assert_allclose(mg.cov(x, correction=2, fweights=f, aweights=a).numpy(), expected, rtol=1e-12)


def test_cov_aweights_alone_with_correction():
    """Without fweights w = a: norm = sum a - correction sum(a^2) / sum a."""
    x = rand(2, 4)
    a = np.array([0.5, 1.5, 2.0, 0.25])
    mean = (x * a).sum(1, keepdims=True) / a.sum()
    norm = a.sum() - (a * a).sum() / a.sum()
    expected = (x - mean) @ ((x - mean) * a).T / norm
    np.testing.assert_allclose(mg.cov(x, aweights=a).numpy(), expected, rtol=1e-12)


def test_corrcoef_is_clipped_to_one():
    """PyTorch (and numpy) clip corrcoef to [-1, 1]; rows that are exact multiples of each other have a
    correlation of exactly 1 or -1, never more in magnitude."""
    for seed in range(20):
        x = np.random.default_rng(seed).standard_normal(7)
        out = mg.corrcoef(np.stack([x, 3.0 * x, -0.7 * x])).numpy()
        assert np.abs(out).max() <= 1.0
        np.testing.assert_allclose(out, [[1, 1, -1], [1, 1, -1], [-1, -1, 1]], rtol=1e-12)


def test_corrcoef_of_one_variable_gives_a_gradient_of_zero():
    """c / c is 1 for every nonzero variance, so its derivative is 0 (the chain rule through cov)."""
    x = mg.tensor([1.0, 2.0, 4.0], dtype=mg.float64, requires_grad=True)
    mg.corrcoef(x).backward()
    np.testing.assert_allclose(x.grad, np.zeros(3), atol=1e-15)


def test_corrcoef_refuses_three_axes():
    with pytest.raises(ValueError, match=r"corrcoef: expected a tensor with at most 2 axes .*\(1, 1, 2\)"):
        mg.corrcoef(mg.zeros(1, 1, 2))


# ---- trapezoid, cumulative_trapezoid ------------------------------------------------------------------

def test_trapezoid_of_no_samples_is_zeros_in_ys_dtype_without_dim():
    """Integration.cpp: zeros_like_except(y, dim), y's options (so int64 y gives int64 zeros)."""
    out = mg.trapezoid(mg.zeros(0, 3, dtype=mg.int64), dim=0)
    assert out.shape == (3,) and out.dtype == np.int64 and out.tolist() == [0, 0, 0]


def test_trapezoid_refuses_a_dx_that_is_not_a_real_number():
    with pytest.raises(TypeError, match="trapezoid: dx must be a real number, got '0.5'"):
        mg.trapezoid(rand(3), dx="0.5")
    with pytest.raises(TypeError, match="cumulative_trapezoid: dx must be a real number"):
        mg.cumulative_trapezoid(rand(3), dx=np.bool_(True))


def test_trapezoid_refuses_a_bool_x():
    """Integration.cpp: bool is not supported for x or y."""
    with pytest.raises(TypeError, match="trapezoid: expected a real .* x, got dtype bool"):
        mg.trapezoid(rand(3), np.array([True, False, True]))


def test_trapezoid_refuses_an_x_longer_than_ys_dim():
    """There must be one x value for each sample point: more is refused as fewer is."""
    with pytest.raises(ValueError, match=r"cumulative_trapezoid: expected one x per sample point \(3 .*got 4"):
        mg.cumulative_trapezoid(rand(3), rand(4))


def test_cumulative_trapezoid_defaults_to_the_last_dim():
    """dim=-1 by default: the running trapezoid along each row, hand-written."""
    y = rand(3, 4)
    expected = np.cumsum((y[:, 1:] + y[:, :-1]) / 2, axis=1)
    np.testing.assert_allclose(mg.cumulative_trapezoid(y).numpy(), expected, rtol=1e-12)


def test_cumulative_trapezoid_with_an_x_along_a_leading_dim():
    y, x = rand(4, 3), np.array([0.0, 0.5, 2.0, 2.25])
    expected = np.cumsum(np.diff(x)[:, None] * (y[1:] + y[:-1]) / 2, axis=0)
    np.testing.assert_allclose(mg.cumulative_trapezoid(y, x, dim=0).numpy(), expected, rtol=1e-12)


def test_trapezoid_defaults_to_the_last_dim():
    y = rand(3, 4)
    np.testing.assert_allclose(mg.trapezoid(y).numpy(), ((y[:, 1:] + y[:, :-1]) / 2).sum(1), rtol=1e-12)


# ---- frexp, ldexp, nextafter, gcd, lcm ------------------------------------------------------------------

def test_frexp_refuses_integers_of_any_width():
    with pytest.raises(TypeError, match="frexp: expected a floating-point tensor .*got dtype int32"):
        mg.frexp(mg.tensor([1, 2], dtype=mg.int32))


def test_nextafter_refuses_integer_operands():
    with pytest.raises(TypeError, match="nextafter: expected floating-point tensors"):
        mg.nextafter(mg.tensor([1], dtype=mg.int32), mg.tensor([2], dtype=mg.int32))


def test_nextafter_in_place():
    t = mg.tensor([1.0, 1.0], dtype=mg.float64)
    assert t.nextafter_(mg.tensor([2.0, 0.0], dtype=mg.float64)) is t
    np.testing.assert_array_equal(t.numpy(), [1.0 + 2.0 ** -52, 1.0 - 2.0 ** -53])


def test_gcd_and_lcm_refuse_a_float_second_operand():
    for name in ("gcd", "lcm"):
        with pytest.raises(TypeError, match=f"{name}: expected integer tensors .*int64 and float32"):
            getattr(mg, name)(mg.tensor([4]), mg.tensor([2.0]))


def test_gcd_with_a_python_int_keeps_the_tensors_dtype():
    """A number operand takes the tensor's dtype (PyTorch's type promotion: a Python int does not
    widen an int32 tensor)."""
    out = mg.tensor([12, 18], dtype=mg.int32).gcd(8)
    assert out.dtype == np.int32 and out.tolist() == [4, 2]


def test_gcd_and_lcm_refuse_bools():
    """PyTorch's gcd and lcm are for integer dtypes; bool is not one of them."""
    for name in ("gcd", "lcm"):
        with pytest.raises(TypeError, match=f"{name}: expected integer tensors .*got dtypes bool and int64"):
            getattr(mg, name)(mg.tensor([True, False]), mg.tensor([2, 3]))
