"""Tests written from a mutation check of dtype handling and arithmetic (dtypes.py, the default dtype and
scalar dtypes in tensor.py, the promotion in ops/elementwise.py's `operands`/`promoted` and the ops built
on it, ops/arithmetic.py, ops/reduce.py, and logsumexp): each pins a behaviour that a hand-made wrong
implementation changed without any other test noticing. Expected dtypes are PyTorch's documented type
promotion (tensor vs Python scalar categories, the default float dtype); expected values are closed
forms or hand-written numpy, and gradients PyTorch's documented derivative formulas (checked against
central differences in float64 where they are smooth), never the library's own output."""

import pickle
import warnings

import numpy as np
import pytest

import microgradseq as mg


def grad_of(fn, *arrays):
    """The gradients of fn(*tensors).sum() for float64 tensors made from `arrays`."""
    tensors = [mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    fn(*tensors).sum().backward()
    return [t.grad for t in tensors]


def central_differences(fn, x, eps=1e-6):
    """d sum(fn(x)) / dx by central differences, entry by entry, in numpy float64."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        out[i] = (np.sum(fn(up)) - np.sum(fn(down))) / (2 * eps)
    return out


# ---- tensors from Python data (dtypes.float_dtype_of) and the default dtype -------------------------

def test_a_python_float_next_to_a_narrower_numpy_float_takes_the_default(float64_default):
    # PyTorch: a Python float in the data is the default dtype, promoted with a numpy float32 scalar
    assert mg.tensor([np.float32(1.5), 2.0]).dtype == np.float64


def test_numpy_floats_inside_a_tuple_inside_a_list_keep_their_dtype():
    # the nesting is walked through tuples as through lists: float64 scalars stay float64
    t = mg.tensor([(np.float64(1.5), 2.0), (3.0, 4.0)])
    assert t.dtype == np.float64 and t.shape == (2, 2)


def test_an_empty_nested_list_is_the_default_float_dtype():
    # torch.tensor([[]]) is float32 of shape (1, 0)
    t = mg.tensor([[]])
    assert t.dtype == np.float32 and t.shape == (1, 0)


def test_set_default_dtype_refuses_a_complex_dtype_and_changes_nothing():
    # torch.set_default_dtype takes floating types only (TypeError otherwise)
    before = mg.get_default_dtype()
    try:
        with pytest.raises(TypeError, match="set_default_dtype"):
            mg.set_default_dtype(np.complex128)
        assert mg.get_default_dtype() == before
    finally:
        mg.set_default_dtype(before)


def test_a_bool_tensor_times_a_python_float_is_the_default_float_dtype():
    # PyTorch: bool tensor with a float scalar -> the default float dtype (numpy would say float64)
    y = mg.tensor([True, False]) * 2.5
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), np.array([2.5, 0.0], dtype=np.float32))


@pytest.mark.parametrize("make", [lambda: mg.tensor(np.array([1.0, 2.0], dtype=np.float16)) + 1e5,
                                  lambda: mg.tensor([1, 2]) * 1e40,
                                  lambda: mg.tensor(np.array([1.0, 2.0], dtype=np.float16)).clamp(min=1e5),
                                  lambda: -mg.tensor(np.array([1.0, 2.0], dtype=np.float16)).clamp(max=-1e5)],
                         ids=["float16 + 1e5", "int64 * 1e40", "float16 clamp min 1e5", "float16 clamp max -1e5"])
def test_a_python_float_out_of_range_becomes_inf_quietly(make):
    # PyTorch: the scalar takes the result's dtype (float16; the default float32 for an int tensor):
    # inf, with no warning (the library's own _cast/promoted do this quietly for tensors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = make()
    assert np.isinf(y.numpy()).all()


# ---- pow: PyTorch's derivative formulas at 0, and half precision -----------------------------------

def test_pow_to_the_zero_has_a_zero_base_gradient_at_zero():
    # PyTorch's pow_backward: exponent == 0 gives a zero gradient (not 0 * 0^-1 = NaN)
    x = mg.tensor(np.array([0.0, 2.0]), requires_grad=True)
    (x ** mg.tensor(np.array(0.0))).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_pow_exponent_gradient_at_a_zero_base_and_zero_exponent_is_zero():
    # PyTorch's pow_backward_exponent: 0 where base == 0 and exponent >= 0
    e = mg.tensor(np.array([0.0, 2.0]), requires_grad=True)
    (mg.tensor(np.array([0.0, 0.0])) ** e).sum().backward()
    np.testing.assert_array_equal(e.grad, [0.0, 0.0])


def test_pow_exponent_gradient_at_a_zero_base_and_negative_exponent_is_minus_inf():
    # PyTorch's pow_backward_exponent: result * log(base) = inf * -inf = -inf where exponent < 0
    e = mg.tensor(np.array([-1.0]), requires_grad=True)
    with np.errstate(all="ignore"):
        (mg.tensor(np.array([0.0])) ** e).sum().backward()
    assert e.grad[0] == -np.inf


def test_half_precision_to_the_minus_two_keeps_a_small_value():
    # 300^-2 = 1/90000 is representable in float16 (a subnormal); 1 / (x * x) would overflow to 1 / inf = 0
    y = mg.tensor(np.array([300.0], dtype=np.float16)) ** -2
    assert y.dtype == np.float16
    assert y.numpy()[0] == np.float16(1 / 90000)


# ---- clip / clamp ---------------------------------------------------------------------------------------

def test_clip_refuses_a_bool_bound():
    with pytest.raises(TypeError, match="clip: lo must be a number or None"):
        mg.ops.clip(mg.tensor([0.5, 2.0]), True, None)


def test_clamp_gradient_is_one_at_the_bounds():
    # PyTorch's clamp_backward: grad * ((x >= min) & (x <= max)): 1 at each bound, 0 outside
    (g,) = grad_of(lambda x: x.clamp(-1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_an_integer_tensor_clipped_below_by_a_float_is_the_default_float_dtype():
    # PyTorch: clamp(int64 tensor, min=0.5) promotes with the float scalar: the default float dtype
    y = mg.tensor([0, 1, 2]).clip(0.5, None)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), np.array([0.5, 1.0, 2.0], dtype=np.float32))


def test_clamp_min_tensor_gives_a_tie_to_the_input():
    # PyTorch's clamp_min(Tensor) backward: self gets grad where self >= min, min where self < min
    x = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    lo = mg.tensor(np.array([2.0, 2.0, 2.0]), requires_grad=True)
    x.clamp(min=lo).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(lo.grad, [1.0, 0.0, 0.0])


def test_clamp_max_tensor_gives_a_tie_to_the_input():
    # PyTorch's clamp_max(Tensor) backward: self gets grad where self <= max, max where self > max
    x = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    hi = mg.tensor(np.array([2.0, 2.0, 2.0]), requires_grad=True)
    x.clamp(max=hi).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(hi.grad, [0.0, 0.0, 1.0])


def test_clamp_with_tensor_bounds_min_above_max_gives_max():
    # PyTorch's docs: if min is greater than max, clamp sets every element to max
    x = mg.tensor(np.array([0.0, 5.0, 10.0]))
    y = x.clamp(min=mg.tensor(np.array(7.0)), max=mg.tensor(np.array(3.0)))
    np.testing.assert_array_equal(y.numpy(), [3.0, 3.0, 3.0])


def test_float_to_the_minus_two_is_one_over_the_square():
    x = np.array([0.5, 2.0, -4.0], dtype=np.float32)
    y = mg.tensor(x) ** -2
    np.testing.assert_allclose(y.numpy(), 1 / (x.astype(np.float64) ** 2), rtol=1e-6)


# ---- min / max / amin / amax ------------------------------------------------------------------------

def test_min_of_an_integer_tensor_is_its_smallest_entry():
    t = mg.tensor([[5, -3, 7], [2, 9, 1]])
    assert t.min().item() == -3
    np.testing.assert_array_equal(t.min(axis=1).numpy(), [-3, 1])


def test_min_with_dim_of_an_integer_tensor_gives_the_argmin_indices():
    values, indices = mg.tensor([[5, -3, 7], [2, 9, 1]]).min(dim=1)
    np.testing.assert_array_equal(values.numpy(), [-3, 1])
    np.testing.assert_array_equal(indices.numpy(), [1, 2])
    assert indices.dtype == np.int64


def test_positional_max_with_keepdim_keeps_the_axis_in_its_indices():
    # as PyTorch's t.max(1, keepdim=True): values and indices both (n, 1)
    out = mg.tensor(np.array([[1.0, 4.0, 2.0], [7.0, 0.0, 3.0]])).max(1, keepdim=True)
    assert out.shape == (2, 1)
    assert out.indices.shape == (2, 1)
    np.testing.assert_array_equal(out.indices.numpy(), [[1], [0]])


def test_amin_drops_the_reduced_axis_by_default():
    # torch.amin(input, dim, keepdim=False)
    y = mg.tensor(np.array([[1.0, 4.0], [7.0, 0.0]])).amin(1)
    assert y.shape == (2,)
    np.testing.assert_array_equal(y.numpy(), [1.0, 0.0])


def test_min_with_dim_and_keepdim_of_an_integer_tensor_keeps_the_axis_in_both():
    values, indices = mg.tensor([[5, -3, 7], [2, 9, 1]]).min(dim=1, keepdim=True)
    assert values.shape == (2, 1) and indices.shape == (2, 1)
    np.testing.assert_array_equal(indices.numpy(), [[1], [2]])


def test_amax_without_dim_reduces_every_axis():
    # torch.amax(input, dim=()) is the largest entry of all
    y = mg.tensor(np.array([[1.0, 4.0], [7.0, 0.0]])).amax()
    assert y.shape == ()
    assert y.item() == 7.0


# ---- div with rounding_mode, mm, copy_ -----------------------------------------------------------------

def test_div_refuses_an_unknown_rounding_mode():
    # torch.div takes rounding_mode None, "trunc" or "floor" only
    with pytest.raises(ValueError, match="div: rounding_mode must be None, 'floor' or 'trunc'"):
        mg.tensor([7.0]).div(mg.tensor([2.0]), rounding_mode="round")


def test_mm_names_itself_when_the_inner_sizes_differ():
    with pytest.raises(ValueError, match=r"mm: expected two 2-d tensors .* shapes \(2, 3\) and \(2, 3\)"):
        mg.zeros(2, 3).mm(mg.zeros(2, 3))


@pytest.mark.parametrize("shape", [(2,), (3, 1)])
def test_copy_refuses_a_source_that_does_not_broadcast_to_the_tensor(shape):
    # torch's copy_ broadcasts src to self's shape; (3, 1) would broadcast *with* (3,) to (3, 3), not to it
    t = mg.zeros(3)
    with pytest.raises(ValueError, match=r"copy_: the source's shape"):
        t.copy_(mg.tensor(np.ones(shape, dtype=np.float32)))


def test_copy_casts_the_source_to_the_tensors_dtype():
    # torch's copy_ keeps self's dtype: float64 values into a float32 tensor stay float32
    t = mg.zeros(3)
    t.copy_(mg.tensor(np.array([1.0, 2.0, 3.0])))
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.array([1.0, 2.0, 3.0], dtype=np.float32))


def test_copy_broadcasts_a_one_entry_source_over_the_tensor():
    t = mg.zeros(3)
    t.copy_(mg.tensor([5.0]))
    assert t.shape == (3,)
    np.testing.assert_array_equal(t.numpy(), [5.0, 5.0, 5.0])


def test_min_of_unsigned_and_bool_tensors():
    # no negation trick for these: -x wraps for uint8 (and is refused for bool)
    assert mg.tensor(np.array([0, 5], dtype=np.uint8)).min().item() == 0
    assert mg.tensor([True, False]).min().item() is False


# ---- sum / mean ---------------------------------------------------------------------------------------

def test_sum_of_uint8_is_int64():
    # PyTorch sums integral and bool tensors in int64 (numpy would keep uint8 as uint64)
    y = mg.tensor(np.array([200, 100], dtype=np.uint8)).sum()
    assert y.dtype == np.int64 and y.item() == 300


def test_sum_of_a_0d_tensor_refuses_dim_1():
    # a 0-d tensor takes dim 0 or -1 only (PyTorch: IndexError; here ValueError naming sum)
    with pytest.raises(ValueError, match=r"sum: axis 1 is not an axis"):
        mg.tensor(2.0).sum(1)


def test_copy_of_floats_into_an_integer_tensor_truncates_toward_zero():
    # torch's copy_ casts src to self's dtype (float -> int64 rounds toward zero, as a C cast)
    t = mg.tensor([0, 0, 0])
    t.copy_(mg.tensor(np.array([1.7, -2.7, 3.0])))
    assert t.dtype == np.int64
    np.testing.assert_array_equal(t.numpy(), [1, -2, 3])


# ---- max / amax gradients: ties and NaN ---------------------------------------------------------------

def test_max_of_all_entries_sends_the_gradient_to_a_nan_maximum():
    # PyTorch's max() backward (evenly_distribute_backward): a NaN maximum's gradient goes to the NaNs
    x = mg.tensor(np.array([1.0, np.nan, 3.0]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])


def test_amax_shares_the_gradient_evenly_between_ties():
    # PyTorch's amax backward: grad / (number of ties) at each maximum
    (g,) = grad_of(lambda x: x.amax(1), [[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    np.testing.assert_allclose(g, [[0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)


def test_max_of_all_entries_shares_the_gradient_between_ties():
    (g,) = grad_of(lambda x: x.max(), [1.0, 3.0, 3.0, -2.0])
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5, 0.0])


# ---- norm ----------------------------------------------------------------------------------------------

def test_frobenius_norm_is_the_two_norm_of_the_entries():
    # torch.norm(x, p="fro") = sqrt(sum x^2): 3-4-12-84 gives sqrt(9 + 16 + 144 + 7056) = 85
    y = mg.tensor(np.array([[3.0, 4.0], [12.0, 84.0]])).norm(p="fro")
    assert y.item() == 85.0


def test_two_norm_gradient_at_zero_is_zero():
    # PyTorch's norm backward: the subgradient 0 where the norm is 0 (not 0 / 0)
    (g,) = grad_of(lambda x: x.norm(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])


def test_inf_norm_shares_the_gradient_between_tied_magnitudes_with_their_signs():
    # PyTorch's linalg_vector_norm_backward for p=inf: sgn(x) * grad / (number of |x| == norm)
    (g,) = grad_of(lambda x: x.norm(p=float("inf")), [-3.0, 3.0, 1.0])
    np.testing.assert_array_equal(g, [-0.5, 0.5, 0.0])


def test_norm_of_integers_is_computed_in_float64():
    # the library's documented choice (ops/reduce.py: integer input gives float64; PyTorch refuses it):
    # sqrt(1 + 2^50) differs from 2^25 in float64 (not in float32)
    y = mg.tensor([1, 2 ** 25]).norm()
    assert y.dtype == np.float64
    assert y.item() == np.sqrt(np.float64(1 + 2 ** 50))


def test_inf_norm_of_an_empty_tensor_names_norm():
    # the largest |x| of nothing is undefined (PyTorch: an error too)
    with pytest.raises(ValueError, match=r"norm: no largest \|x\| over an empty axis for p=inf"):
        mg.zeros(0, 3).norm(p=float("inf"))


# ---- var / std -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("correction", [float("inf"), float("nan")])
def test_var_refuses_a_correction_that_is_not_a_finite_number(correction):
    with pytest.raises(ValueError, match="var: correction must be a number >= 0"):
        mg.tensor(np.array([1.0, 2.0, 4.0])).var(correction=correction)


def test_std_over_a_dim_tuple_matches_numpy_and_central_differences():
    # std over dims (0, 2), correction 2: sqrt(sum (x - mean)^2 / (N - 2)), N = 2 * 4
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4))

    def np_std(a):
        centred = a - a.mean(axis=(0, 2), keepdims=True)
        return np.sqrt((centred ** 2).sum(axis=(0, 2)) / (8 - 2))

    t = mg.tensor(x, requires_grad=True)
    y = t.std(dim=(0, 2), correction=2)
    np.testing.assert_allclose(y.numpy(), np_std(x), rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(t.grad, central_differences(np_std, x), rtol=1e-6, atol=1e-8)


def test_add_with_alpha_broadcasts_and_scales_the_gradient_of_other():
    # torch.add(x, y, alpha=a) = x + a y; dL/dy = a * (g summed over the broadcast rows)
    gx, gy = grad_of(lambda x, y: x.add(y, alpha=-2.5), np.ones((4, 3)), [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(gx, np.ones((4, 3)))
    np.testing.assert_array_equal(gy, [[-10.0, -10.0, -10.0]])


def test_var_with_a_correction_past_the_count_divides_by_zero():
    # PyTorch divides by max(0, N - correction): 2 / 0 = inf here (not 2 / -1), with its warning
    x = mg.tensor(np.array([1.0, 3.0]))
    with pytest.warns(UserWarning, match="no degrees of freedom"):
        y = x.var(correction=3)
    assert y.item() == np.inf


def test_max_along_an_empty_dim_names_max():
    with pytest.raises(ValueError, match=r"max: no maximum over an empty axis"):
        mg.zeros(0, 3).max(dim=0)


def test_indexing_a_positional_max_with_an_int_warns_naming_the_pair():
    out = mg.tensor(np.array([[1.0, 4.0], [7.0, 0.0]])).max(1)
    with pytest.warns(UserWarning, match=r"t\.max\(dim=d\)"):
        out[0]


# ---- comparisons ---------------------------------------------------------------------------------------

def test_comparisons_at_equality_and_their_dtype():
    # an int tensor against a float scalar compares in floats (PyTorch promotes first): 1 < 1.5
    x, y = mg.tensor([1, 2, 3]), mg.tensor([2, 2, 2])
    np.testing.assert_array_equal((x <= y).numpy(), [True, True, False])
    np.testing.assert_array_equal(x.le(y).numpy(), [True, True, False])
    np.testing.assert_array_equal((x >= y).numpy(), [False, True, True])
    np.testing.assert_array_equal(x.ge(y).numpy(), [False, True, True])
    np.testing.assert_array_equal((x != y).numpy(), [True, False, True])
    np.testing.assert_array_equal(x.ne(y).numpy(), [True, False, True])
    np.testing.assert_array_equal((x < 1.5).numpy(), [True, False, False])
    assert (x <= y).dtype == np.bool_


def test_comparing_with_none_is_false_and_with_text_a_type_error():
    # PyTorch: t == None is False, t != None True; t.lt("a") a TypeError
    t = mg.tensor([1.0, 2.0])
    assert (t == None) is False  # noqa: E711
    assert (t != None) is True  # noqa: E711
    with pytest.raises(TypeError, match="lt: expected a tensor, an array or a number"):
        t.lt("a")


def test_max_with_dim_and_keepdim_puts_the_kept_axis_of_the_indices_in_place():
    # torch.max(x, dim=1, keepdim=True): values and indices of shape (2, 1, 4)
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4) % 5
    values, indices = mg.tensor(x).max(dim=1, keepdim=True)
    assert values.shape == (2, 1, 4) and indices.shape == (2, 1, 4)
    np.testing.assert_array_equal(indices.numpy(), np.argmax(x, axis=1)[:, None, :])


def test_a_pickled_positional_min_still_knows_it_is_a_min():
    out = pickle.loads(pickle.dumps(mg.tensor(np.array([[1.0, 0.0], [2.0, 5.0]])).min(1)))
    np.testing.assert_array_equal(out.numpy(), [0.0, 2.0])
    np.testing.assert_array_equal(out.indices.numpy(), [1, 0])
    with pytest.warns(UserWarning, match=r"t\.min\(dim=d\)"):
        out[0]


def test_mean_of_a_0d_tensor_over_dim_0_has_gradient_one():
    # a 0-d tensor's dim 0 reduces nothing: the mean is x itself, d/dx = 1
    x = mg.tensor(np.array(3.0), requires_grad=True)
    y = x.mean(0)
    y.backward()
    assert y.item() == 3.0 and x.grad == 1.0


def test_trunc_division_of_integers_by_zero_names_div():
    with pytest.raises(ZeroDivisionError, match="^div: integer division by zero"):
        mg.tensor([7, -7]).div(mg.tensor([0, 2]), rounding_mode="trunc")


def test_logsumexp_of_a_bool_tensor_reads_it_as_floats():
    # logsumexp's docstring: integers and bools are read as floats (the default dtype): log(e^1 + e^0)
    y = mg.tensor([True, False]).logsumexp(0)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.item(), np.log(np.e + 1.0), rtol=1e-6)


def test_norm_refuses_a_complex_tensor():
    # the library's norm takes real tensors only (its documented TypeError)
    with pytest.raises(TypeError, match="norm: expected a real tensor, got dtype complex128"):
        mg.tensor(np.array([3 + 4j])).norm()


# ---- cumsum --------------------------------------------------------------------------------------------

def test_cumsum_of_a_0d_int32_tensor_is_int64():
    # torch.cumsum of an integral tensor (0-d too) accumulates in int64
    y = mg.tensor(np.array(5, dtype=np.int32)).cumsum(0)
    assert y.dtype == np.int64 and y.shape == () and y.item() == 5


def test_cumsum_names_a_dtype_that_is_not_one():
    with pytest.raises(TypeError, match=r"cumsum: dtype must be a dtype"):
        mg.tensor([1, 2]).cumsum(0, dtype="notadtype")


# ---- the promotion's own edges: messages and quiet overflow -------------------------------------------

def test_a_python_integer_out_of_an_int32_tensors_range_names_the_op():
    # PyTorch refuses it too (the value cannot be converted to int32 without overflow)
    with pytest.raises(OverflowError, match=r"^add: "):
        mg.tensor(np.array([1], dtype=np.int32)) + 2 ** 40


def test_a_0d_float32_tensor_next_to_a_float16_one_becomes_inf_quietly():
    # the dimensioned float16 tensor sets the dtype (PyTorch): 1e5 as float16 is inf, with no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mg.tensor(np.array([1.0, 2.0], dtype=np.float16)) * mg.tensor(np.array(1e5, dtype=np.float32))
    assert y.dtype == np.float16 and np.isinf(y.numpy()).all()


def test_integers_past_float16s_range_become_inf_quietly_next_to_a_float16_tensor():
    # an int64 tensor next to a float16 one takes float16 (PyTorch): 100000 is inf there, quietly
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mg.tensor(np.array([1.0, 1.0], dtype=np.float16)) + mg.tensor([100000, 1])
    assert y.dtype == np.float16
    assert np.isinf(y.numpy()[0]) and y.numpy()[1] == 2.0


def test_logsumexp_of_an_integer_tensor_is_the_default_float_dtype():
    # PyTorch: integers are read as the default float dtype; log(e^1 + e^2) = 2 + log(1 + e^-1)
    y = mg.tensor([1, 2]).logsumexp(0)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.item(), 2 + np.log1p(np.exp(-1.0)), rtol=1e-6)


def test_div_in_place_divides():
    t = mg.tensor(np.array([3.0, -4.0]))
    t.div_(2.0)
    np.testing.assert_array_equal(t.numpy(), [1.5, -2.0])
