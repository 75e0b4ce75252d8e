"""Tests written from a mutation check of the tensor attributes and mg.testing (ops/attributes.py: stride,
storage_offset, nbytes, real/imag, pin_memory; ops/methods.py: mT/mH/H, unflatten, new_tensor, new_empty,
contiguous; ops/in_place.py: apply_, map_; nn.Unflatten; testing.py: assert_close, assert_allclose,
make_tensor): each pins a behaviour that a hand-made wrong implementation changed without any other test
noticing. Expected values come from PyTorch's documented behaviour (torch/testing/_comparison.py,
_creation.py, _deprecated.py, torch/_tensor_docs.py), from the library's own docstrings, or are counted by
hand / written in numpy, never taken from the library's own output."""

import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn


# ---- attributes: real, nbytes of views, memory placement ----------------------------------------

@pytest.mark.parametrize("values, dtype", [([1, -2], mg.int64), ([True, False], mg.bool), ([1.5], mg.float64)])
def test_real_of_any_real_tensor_is_the_tensor_itself(values, dtype):
    """PyTorch's t.real of a non-complex tensor returns self (at::real), whatever the real dtype."""
    t = mg.tensor(values, dtype=dtype)
    assert t.real is t


def test_nbytes_of_a_view_counts_only_its_own_entries():
    """PyTorch's nbytes is numel() * element_size(), also for a view: not the bytes of the array viewed."""
    x = mg.zeros((4, 6), dtype=mg.float64)
    assert x[1:3].nbytes == 2 * 6 * 8 and x[:, ::2].nbytes == 4 * 3 * 8 and x[0, 1:].nbytes == 5 * 8


def test_pin_memory_and_is_pinned_take_pytorch_s_device_argument():
    """Tensor.pin_memory(device=None) and is_pinned(device=None), as PyTorch's signatures."""
    x = mg.ones(2)
    assert x.pin_memory(None) is x and x.is_pinned(None) is False


# ---- unflatten and nn.Unflatten -------------------------------------------------------------------

def test_unflatten_refuses_sizes_below_minus_one_even_when_their_product_fits():
    """(-2) * (-2) * 3 = 12 is the axis's length, but only -1 (inferred) and sizes >= 0 are sizes."""
    with pytest.raises(ValueError, match=r"unflatten: sizes may hold one -1 and sizes >= 0, got \[-2, -2, 3\]"):
        mg.zeros((2, 12)).unflatten(1, (-2, -2, 3))


def test_unflatten_of_an_empty_axis_with_zero_and_minus_one_is_refused_cleanly():
    """-1 next to a 0 can't be inferred (any size fits): the ValueError of sizes that don't fit, not a
    ZeroDivisionError."""
    with pytest.raises(ValueError, match=r"unflatten: sizes \[0, -1\] don't multiply up to the size of dim 1 \(0\)"):
        mg.zeros((3, 0)).unflatten(1, (0, -1))


def test_nn_unflatten_errors_name_unflatten_the_module():
    with pytest.raises(ValueError, match=r"^Unflatten: sizes \[5, 3\] don't multiply up to the size of dim 1 \(12\)"):
        nn.Unflatten(1, (5, 3))(mg.zeros((2, 12)))


# ---- mT, mH, H of complex tensors ------------------------------------------------------------------

def test_mt_of_a_complex_matrix_transposes_without_conjugating():
    z = np.array([[1 + 2j, 3j], [1.0, 2 - 1j]])
    assert mg.tensor(z).mT.tolist() == z.T.tolist()


@pytest.mark.parametrize("name", ["mH", "H"])
def test_conjugate_transposes_of_a_complex_tensor_are_refused_not_left_unconjugated(name):
    """mH and H conjugate (PyTorch's); the library refuses a complex tensor (its docstring) rather than
    answering the plain transpose."""
    z = mg.tensor(np.array([[1 + 2j, 3j], [1.0, 2 - 1j]]))
    with pytest.raises(NotImplementedError, match=rf"Tensor.{name}: the conjugate of a complex tensor is not "
                                                  r"supported here"):
        getattr(z, name)


def test_h_of_a_vector_gives_no_batch_hint():
    with pytest.raises(RuntimeError) as caught:
        mg.zeros(3).H
    assert str(caught.value) == "Tensor.H: expected a matrix (2 axes) or a 0-d tensor, got shape (3,)"


# ---- new_tensor, new_empty -------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda x: x.new_tensor([1.0], device="cuda"), lambda x: x.new_empty(2, device="cuda")])
def test_new_tensor_and_new_empty_refuse_a_gpu_device(make):
    with pytest.raises(RuntimeError, match=r"device 'cuda' is not available"):
        make(mg.zeros(1))


def test_new_empty_is_zeros_and_takes_requires_grad():
    """Its docstring: zeros (PyTorch's are uninitialised); requires_grad as PyTorch's keyword."""
    made = mg.zeros(1, dtype=mg.float64).new_empty((2, 3), requires_grad=True)
    assert made.requires_grad and made.tolist() == [[0.0] * 3] * 2


# ---- apply_ and map_ -------------------------------------------------------------------------------

def test_apply_of_an_empty_integer_tensor_keeps_its_dtype():
    t = mg.tensor([], dtype=mg.int64)
    assert t.apply_(lambda v: v + 1) is t and t.dtype == np.int64 and t.shape == (0,)


def test_apply_takes_a_bool_result_as_a_number():
    """A Python bool is a number (PyTorch stores fn(x) in the tensor's dtype): True -> 1.0, False -> 0.0."""
    t = mg.tensor([1.0, -2.0], dtype=mg.float64)
    t.apply_(lambda v: v > 0)
    assert t.tolist() == [1.0, 0.0] and t.dtype == np.float64


def test_apply_refuses_a_function_returning_a_sequence():
    t = mg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"apply_: expected the callable to return a number for each entry, got list"):
        t.apply_(lambda v: [v, v])
    assert t.tolist() == [1.0, 2.0]


def test_map_calls_the_function_with_this_tensor_s_entry_first():
    """t.map_(u, fn): fn(x, y), x from t, y from u (PyTorch's docs), checked with fn = y - x."""
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=mg.float64)
    t.map_(mg.tensor([10.0, 100.0], dtype=mg.float64), lambda x, y: y - 2 * x)
    assert t.tolist() == [[8.0, 96.0], [4.0, 92.0]]


def test_map_refuses_an_other_that_broadcasts_to_a_larger_shape():
    """u must broadcast to t's shape; (2, 3) and (3,) broadcast together, but to (2, 3), not t's (3,)."""
    t = mg.zeros(3)
    with pytest.raises(ValueError, match=r"map_: the tensor of shape \(2, 3\) does not broadcast to t's shape \(3,\)"):
        t.map_(mg.zeros((2, 3)), lambda x, y: x)


def test_apply_and_map_pair_entries_by_position_on_transposed_tensors():
    """A transposed operand is laid out in F order; entry (i, j) still meets entry (i, j)."""
    a = np.arange(6.0).reshape(3, 2)
    b = np.arange(6.0).reshape(2, 3).T * 10
    t = mg.tensor(a)
    t.map_(mg.tensor(np.ascontiguousarray(b.T)).t(), lambda x, y: y - x)
    assert t.tolist() == (b - a).tolist()
    u = mg.tensor(np.arange(6.0).reshape(2, 3)).t()
    u.apply_(lambda v: v * 10 + 1)
    assert u.tolist() == (np.arange(6.0).reshape(2, 3).T * 10 + 1).tolist()


# ---- mg.testing.assert_close: tolerances by dtype --------------------------------------------------

def test_assert_close_float16_tolerances_are_rtol_1e_3_and_atol_1e_5():
    """PyTorch's _DTYPE_PRECISIONS[float16] = (0.001, 1e-5): 1000.5 against 1000 is within 1e-5 + 1e-3 * 1000;
    5e-4 against 0 is not (the atol is 1e-5, not 1e-3)."""
    half = lambda v: mg.tensor(np.array([v], dtype=np.float16))
    mg.testing.assert_close(half(1000.5), half(1000.0))
    with pytest.raises(AssertionError, match=r"\(up to 1e-05 allowed\)\nGreatest relative difference: inf at index "
                                             r"\(0,\) \(up to 0.001 allowed\)"):
        mg.testing.assert_close(half(5e-4), half(0.0))


def test_assert_close_complex_tolerances_are_pytorch_s():
    """complex64: (rtol 1.3e-6, atol 1e-5), so an imaginary part 1e-6 off is close; complex128: (1e-7, 1e-7),
    so it is not, and the difference is the modulus of the complex difference."""
    def c(v, dtype):
        return mg.tensor(np.array([v], dtype=dtype))
    mg.testing.assert_close(c(1 + 1e-6j, np.complex64), c(1 + 0j, np.complex64))
    with pytest.raises(AssertionError, match=r"Greatest absolute difference: (1e-06|9.99\d*e-07) at index \(0,\) "
                                             r"\(up to 1e-07 allowed\)"):
        mg.testing.assert_close(c(1 + 1e-6j, np.complex128), c(1 + 0j, np.complex128))


def test_assert_close_with_only_atol_is_refused_naming_the_missing_rtol():
    with pytest.raises(ValueError, match=r"assert_close: both 'rtol' and 'atol' must be either specified or omitted, "
                                         r"but got no rtol"):
        mg.testing.assert_close(mg.zeros(1), mg.zeros(1), atol=1e-3)


# ---- mg.testing.assert_close: what is compared and how it is reported ------------------------------

def test_assert_close_walks_any_sequence_not_only_lists_and_tuples():
    """PyTorch's originate_pairs walks any collections.abc.Sequence (not a str): a range against a list."""
    mg.testing.assert_close(range(3), [0, 1, 2])
    with pytest.raises(AssertionError, match=r"(?s)Scalars are not equal!.*The failure occurred for item \[2\]$"):
        mg.testing.assert_close(range(3), [0, 1, 3])


def test_scalar_mismatch_against_zero_has_an_infinite_relative_difference():
    """make_scalar_mismatch_msg: rel_diff = inf when expected == 0."""
    with pytest.raises(AssertionError) as caught:
        mg.testing.assert_close(2.0, 0.0)
    assert str(caught.value) == ("Scalars are not close!\n\nExpected 0.0 but got 2.0.\nAbsolute difference: 2.0 (up "
                                 "to 1e-07 allowed)\nRelative difference: inf (up to 1e-07 allowed)")


def test_numpy_numbers_compare_as_the_python_numbers_of_their_item():
    """NumberPair._to_number: a numpy number is number_like.item(), so np.int64(3) is an int (its type matches
    3's under check_dtype) and np.complex128 a complex."""
    mg.testing.assert_close(np.int64(3), 3)
    mg.testing.assert_close(np.complex128(1 + 1j), 1 + 1j)
    with pytest.raises(AssertionError, match=r"The \(d\)types do not match: <class 'int'> != <class 'float'>."):
        mg.testing.assert_close(np.int64(3), np.float64(3.0))
    with pytest.raises(AssertionError, match=r"Scalars are not close!"):      # (float64's tolerances, not float32's)
        mg.testing.assert_close(np.float32(1.0 + 1e-6), np.float32(1.0))


def test_nan_numbers_are_equal_only_with_equal_nan():
    nan = float("nan")
    with pytest.raises(AssertionError, match=r"Scalars are not close!"):
        mg.testing.assert_close(nan, nan)
    mg.testing.assert_close(nan, nan, equal_nan=True)
    mg.testing.assert_close(np.float64(nan), nan, equal_nan=True)


@pytest.mark.parametrize("actual, expected", [(float("-inf"), float("inf")), (1.0, float("inf"))])
def test_a_number_against_infinity_is_not_close_although_rtol_times_inf_is_inf(actual, expected):
    """NumberPair.compare: close only where abs_diff is finite and <= atol + rtol |expected|."""
    with pytest.raises(AssertionError, match=r"Scalars are not close!"):
        mg.testing.assert_close(actual, expected)


@pytest.mark.parametrize("wrap", [lambda v: v, lambda v: mg.tensor([v], dtype=mg.float64)])
def test_closeness_is_inclusive_and_relative_to_expected(wrap):
    """|actual - expected| <= atol + rtol |expected| (PyTorch's NumberPair and torch.isclose), exact in binary:
    1.5 against 1 with atol 0.5 is close (the bound itself); with rtol 0.5, 1 against 2 is close (0.5 * 2) but
    2 against 1 is not (0.5 * 1)."""
    mg.testing.assert_close(wrap(1.5), wrap(1.0), rtol=0.0, atol=0.5)
    mg.testing.assert_close(wrap(1.0), wrap(2.0), rtol=0.5, atol=0.0)
    with pytest.raises(AssertionError, match=r"not close!"):
        mg.testing.assert_close(wrap(2.0), wrap(1.0), rtol=0.5, atol=0.0)


def test_int64_tensors_are_compared_in_full_width():
    """2**32 + 1 and 1 agree in their low 32 bits only; int64s are compared as int64s (exactly)."""
    with pytest.raises(AssertionError, match=r"Greatest absolute difference: 4294967296 at index \(0,\)"):
        mg.testing.assert_close(mg.tensor([2 ** 32 + 1, 5], dtype=mg.int64), mg.tensor([1, 5], dtype=mg.int64))


def test_int64_tensors_beyond_2_53_are_compared_exactly():
    """torch.isclose with rtol = atol = 0 (the integer defaults) is `self == other`, exact in int64."""
    with pytest.raises(AssertionError, match=r"Tensor-likes are not equal!"):
        mg.testing.assert_close(mg.tensor([2 ** 53 + 1], dtype=mg.int64), mg.tensor([2 ** 53], dtype=mg.int64))


def test_allow_subclasses_false_refuses_a_parameter_against_a_tensor():
    """TensorLikePair: with allow_subclasses=False, types that differ are unsupported: no pair, a TypeError."""
    p = nn.Parameter(mg.zeros(2))
    mg.testing.assert_close(p, mg.zeros(2))
    with pytest.raises(TypeError, match=r"no comparison pair was able to handle inputs of type <class "
                                        r"'microgradseq.parameter.Parameter'> and <class 'microgradseq.tensor.Tensor'>"):
        mg.testing.assert_close(p, mg.zeros(2), allow_subclasses=False)


def test_inputs_that_make_no_tensor_are_a_value_error():
    """TensorLikePair._to_tensor: a failed construction is ValueError("Constructing a tensor from ... failed")."""
    with pytest.raises(ValueError, match=r"assert_close: constructing a tensor from <class 'str'> failed with"):
        mg.testing.assert_close("a", "b")


def test_msg_replaces_only_the_message_of_a_mismatch_not_of_a_type_or_value_error():
    """PyTorch's Pair._make_error_meta puts msg in place of AssertionError messages only."""
    with pytest.raises(TypeError, match=r"no comparison pair was able to handle"):
        mg.testing.assert_close(mg.zeros(1), np.zeros(1), msg="custom")
    with pytest.raises(ValueError, match=r"both 'rtol' and 'atol' must be either specified or omitted"):
        mg.testing.assert_close(mg.zeros(1), mg.zeros(1), rtol=1e-3, msg=lambda text: "custom")


def test_the_failing_item_is_named_after_a_blank_line():
    """ErrorMeta.to_error: msg + "\\n\\nThe failure occurred for item [1]"."""
    with pytest.raises(AssertionError) as caught:
        mg.testing.assert_close([1, 2], [1, 3])
    assert str(caught.value).endswith("Relative difference: 0.3333333333333333\n\nThe failure occurred for item [1]")


# ---- mg.testing.assert_allclose (deprecated) ----------------------------------------------------------

def _allclose(actual, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        mg.testing.assert_allclose(actual, expected)


def test_assert_allclose_float64_tolerances_are_rtol_1e_5_and_atol_1e_8():
    """torch/testing/_deprecated.py: float64 (1e-5, 1e-8); the expected list is made in actual's dtype, float64."""
    f64 = lambda v: mg.tensor(np.array(v), dtype=mg.float64)
    _allclose(f64([1.0 + 5e-6, 5e-9]), [1.0, 0.0])
    for actual in ([1.0 + 5e-5, 0.0], [1.0, 2e-8]):
        with pytest.raises(AssertionError, match=r"Tensor-likes are not close!"):
            _allclose(f64(actual), [1.0, 0.0])


def test_assert_allclose_float16_atol_is_1e_3():
    """_deprecated.py: float16 (1e-3, 1e-3), looser than assert_close's float16 atol of 1e-5."""
    _allclose(mg.tensor(np.array([5e-4], dtype=np.float16)), [0.0])


def test_assert_allclose_with_only_atol_is_refused_as_assert_close_refuses_it():
    """assert_allclose fills in defaults only when both are None, then calls assert_close (ValueError)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(ValueError, match=r"both 'rtol' and 'atol' must be either specified or omitted"):
            mg.testing.assert_allclose(mg.tensor([1.0]), [1.0], atol=1e-3)


def test_assert_allclose_of_integer_lists_is_exact():
    """torch.tensor([1000001]) is int64, whose default tolerances are 0: one off in a million is a mismatch."""
    with pytest.raises(AssertionError, match=r"Tensor-likes are not equal!"):
        _allclose([1000001], [1000000])


# ---- mg.testing.make_tensor ----------------------------------------------------------------------

def test_make_tensor_uint8_default_low_is_zero_against_a_negative_high():
    """_creation.py: uint8's default low is 0, so high=-3 is below it: ValueError (low > high)."""
    with pytest.raises(ValueError, match=r"make_tensor: low must be weakly less than high, got low=0, high=-3"):
        mg.testing.make_tensor(3, dtype=mg.uint8, high=-3)


@pytest.mark.parametrize("bounds", [{"low": float("nan")}, {"high": float("nan")}])
def test_make_tensor_refuses_a_nan_bound(bounds):
    with pytest.raises(ValueError, match=r"make_tensor: one of low or high was NaN"):
        mg.testing.make_tensor(3, dtype=mg.float64, **bounds)


def test_make_tensor_with_low_equal_to_high_is_that_constant():
    """"weakly less": low == high is allowed; high * r + low * (1 - r) is then low itself."""
    mg.manual_seed(0)
    assert mg.testing.make_tensor(4, dtype=mg.float64, low=2.5, high=2.5).tolist() == [2.5] * 4


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_make_tensor_clamps_bounds_to_the_dtype_s_range():
    """low=-5 for uint8 is clamped to 0 (no wrap-around to 251..255); float16's high=1e6 to its max 65504."""
    mg.manual_seed(1)
    values = mg.testing.make_tensor(500, dtype=mg.uint8, low=-5).data
    assert values.min() == 0 and values.max() == 9
    halves = mg.testing.make_tensor(500, dtype=mg.float16, low=6e4, high=1e6).data
    assert np.isfinite(halves).all() and halves.min() >= 6e4


def test_make_tensor_integer_bounds_are_floor_of_low_and_ceil_of_high():
    """_creation.py: integral dtypes draw from [floor(low), ceil(high)): low=-1.5, high=2.5 is [-2, 3)."""
    mg.manual_seed(2)
    values = mg.testing.make_tensor(300, dtype=mg.int64, low=-1.5, high=2.5).data
    assert values.min() == -2 and values.max() == 2


def test_make_tensor_complex_parts_are_drawn_independently():
    """_creation.py draws the real and the imaginary parts with two torch.rand calls, each in [low, high)."""
    mg.manual_seed(3)
    z = mg.testing.make_tensor(200, dtype=np.complex128).data
    assert z.dtype == np.complex128 and not np.allclose(z.real, z.imag)
    assert -9 <= z.real.min() and z.real.max() < 9 and -9 <= z.imag.min() and z.imag.max() < 9
    assert abs(np.corrcoef(z.real, z.imag)[0, 1]) < 0.3


def test_make_tensor_refuses_requires_grad_for_bool_a_gpu_and_a_non_number_dtype():
    """_creation.py: requires_grad only for floating and complex dtypes (bool is neither); a dtype it can't
    draw is a TypeError; the device is checked as every creation function's (the CPU only)."""
    with pytest.raises(ValueError, match=r"make_tensor: requires_grad must be False for dtype bool"):
        mg.testing.make_tensor(3, dtype=mg.bool, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"make_tensor: device 'cuda' is not available"):
        mg.testing.make_tensor(3, dtype=mg.float32, device="cuda")
    with pytest.raises(TypeError, match=r"make_tensor: expected a number dtype, got <U1"):
        mg.testing.make_tensor(3, dtype=np.dtype("U1"))


def test_make_tensor_takes_the_shape_as_a_list():
    """_creation.py: one argument that is a Sequence (a list as well as a tuple) is the shape."""
    assert mg.testing.make_tensor([2, 3], dtype=mg.float64).shape == (2, 3)


def test_a_bool_against_an_int_is_compared_as_an_int_exactly():
    """testing.py's own rule: True against a number counts as an int (int64: tolerances 0, "equal")."""
    mg.testing.assert_close(True, 1, check_dtype=False)
    with pytest.raises(AssertionError, match=r"^Scalars are not equal!\n\nExpected 2 but got True."):
        mg.testing.assert_close(True, 2, check_dtype=False)


def test_a_mapping_missing_a_key_is_a_mismatch():
    with pytest.raises(AssertionError, match=r"Missing keys in the actual mapping: \['b'\]\nAdditional keys in the "
                                             r"actual mapping: \[\]"):
        mg.testing.assert_close({"a": 1}, {"a": 1, "b": 2})


def test_check_dtype_of_numbers_compares_their_python_types():
    """NumberPair.compare: type(actual) is not type(expected); a bool is not an int there."""
    with pytest.raises(AssertionError, match=r"The \(d\)types do not match: <class 'bool'> != <class 'int'>."):
        mg.testing.assert_close(True, 1)
