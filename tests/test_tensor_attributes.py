"""PyTorch's small tensor attributes and methods (t.mT, t.stride(), t.is_contiguous(), t.storage_offset(),
t.nbytes, t.unflatten, t.apply_, t.map_, t.new_tensor, t.byte(), ...), mg.vmap, and mg.testing.

The references are independent of the library: numpy's own strides, itemsize and nbytes; hand-counted
offsets and mismatch statistics; central differences in float64 of numpy functions; Python loops for
apply_ and map_. (test_composite_gradients.py checks mT, unflatten and contiguous on random shapes.)
"""

import re
import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn

EPS = 1e-6


def central_differences(np_fn, x, weights):
    """d/dx of sum(weights * f(x)), entry by entry, by central differences."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = EPS
        grad[i] = (np.sum(weights * np_fn(x + step)) - np.sum(weights * np_fn(x - step))) / (2 * EPS)
    return grad


def assert_gradient_and_tangent(mg_fn, np_fn, x):
    """The reverse-mode gradient of sum(R * f(x)) and the forward-mode J v against central differences."""
    rng = np.random.default_rng(0)
    weights = rng.standard_normal(np_fn(x).shape)
    t = mg.tensor(x, requires_grad=True)
    (mg_fn(t) * mg.tensor(weights)).sum().backward()
    np.testing.assert_allclose(t.grad, central_differences(np_fn, x, weights), rtol=1e-6, atol=1e-8)
    v = rng.standard_normal(x.shape)
    _, tangent = mg.jvp(mg_fn, (mg.tensor(x),), (v,))
    np.testing.assert_allclose(tangent, (np_fn(x + EPS * v) - np_fn(x - EPS * v)) / (2 * EPS), rtol=1e-6, atol=1e-8)


# ---- layout: strides, contiguity, offsets, sizes ---------------------------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, np.int8, np.uint8, np.bool_])
def test_strides_itemsize_and_nbytes_are_numpys_in_elements(dtype):
    array = np.arange(24).reshape(2, 3, 4).astype(dtype)
    t = mg.tensor(array)
    assert t.stride() == (12, 4, 1) == tuple(s // array.itemsize for s in array.strides)
    assert [t.stride(d) for d in (0, 1, 2, -1)] == [12, 4, 1, 1]
    assert t.element_size() == t.itemsize == array.itemsize
    assert t.nbytes == array.nbytes == 24 * array.itemsize


def test_strides_of_views_are_those_of_pytorch_s_views():
    """A transpose, a permutation and a basic-index slice are numpy views with the strides PyTorch's views
    have (counted by hand for a (3, 4) and a (2, 3, 4) tensor)."""
    x = mg.arange(12.0).reshape(3, 4)
    assert x.t().stride() == (1, 4) and x.T.stride() == (1, 4) and x.mT.stride() == (1, 4)
    y = mg.zeros((2, 3, 4))
    assert y.permute(2, 0, 1).stride() == (1, 12, 4) and y.transpose(0, 1).stride() == (4, 12, 1)
    assert x[:, ::2].stride() == (4, 2) and x[1].stride() == (1,) and x[:, 1].stride() == (4,)
    assert mg.tensor(3.0).stride() == ()


def test_is_contiguous_and_contiguous():
    """C order is contiguous, a transpose is not; contiguous() returns a C-ordered tensor (itself when
    already one), equal in value, and passes the gradient back."""
    x = mg.arange(12.0).reshape(3, 4)
    assert x.is_contiguous() and x.contiguous() is x
    transposed = x.t()
    assert not transposed.is_contiguous() and not x[:, ::2].is_contiguous()
    copy = transposed.contiguous()
    assert copy.is_contiguous() and copy.stride() == (3, 1)
    assert copy.tolist() == np.arange(12.0).reshape(3, 4).T.tolist()
    assert mg.zeros((3, 1)).is_contiguous() and mg.zeros((1, 4)).t().is_contiguous()   # (size-1 axes: any stride)
    assert_gradient_and_tangent(lambda t: t.t().contiguous() ** 2, lambda a: a.T ** 2,
                                np.random.default_rng(1).standard_normal((2, 3)))


def test_storage_offset_counts_elements_into_the_array_viewed():
    """0 for a tensor of its own; for a basic-index view, the element where it starts in the array it
    views (row 1 of a (3, 4) tensor: 4; column 2: 2; x[1:, 1:][1:]: 4 + 1 + 4), as PyTorch's views."""
    x = mg.arange(12.0).reshape(3, 4)
    assert x.storage_offset() == 0 and (x + 1).storage_offset() == 0
    assert x[1:].storage_offset() == 4 and x[:, 2].storage_offset() == 2 and x[2, 1:].storage_offset() == 9
    assert x[1:, 1:][1:].storage_offset() == 9 and x[1:].t().storage_offset() == 4
    assert [piece.storage_offset() for piece in mg.arange(6.0).chunk(3)] == [0, 2, 4]


def test_stride_of_a_dim_out_of_range_is_an_index_error_naming_stride():
    with pytest.raises(IndexError, match=r"stride: dim 2 is out of range for a tensor with 2 axes"):
        mg.zeros((2, 3)).stride(2)


# ---- mT, mH, H ---------------------------------------------------------------------------------

def test_matrix_transposes_swap_the_last_two_axes_and_their_gradients_swap_back():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2, 3, 4))
    assert mg.tensor(a).mT.tolist() == np.swapaxes(a, -1, -2).tolist() == mg.tensor(a).mH.tolist()
    m = rng.standard_normal((3, 4))
    assert mg.tensor(m).H.tolist() == m.T.tolist()
    assert_gradient_and_tangent(lambda t: t.mT * t.mT, lambda x: np.swapaxes(x, -1, -2) ** 2, a)
    assert_gradient_and_tangent(lambda t: t.H.exp(), lambda x: np.exp(x.T), m)
    scalar = mg.tensor(2.0)
    assert scalar.mT is scalar and scalar.mH is scalar and scalar.H is scalar


@pytest.mark.parametrize("name", ["mT", "mH"])
def test_matrix_transpose_of_a_vector_is_refused_as_pytorch(name):
    with pytest.raises(RuntimeError, match=rf"Tensor.{name}: expected a matrix or a batch of matrices .* got a "
                                           r"1-d tensor of shape \(3,\)"):
        getattr(mg.zeros(3), name)


@pytest.mark.parametrize("shape, hint", [((3,), ""), ((2, 3, 4), "; for a batch of matrices use t.mH")])
def test_h_takes_only_a_matrix_or_a_scalar(shape, hint):
    with pytest.raises(RuntimeError, match=re.escape(f"Tensor.H: expected a matrix (2 axes) or a 0-d tensor, got "
                                                     f"shape {shape}{hint}")):
        mg.zeros(shape).H


# ---- unflatten -----------------------------------------------------------------------------------

def test_unflatten_splits_an_axis_with_minus_one_inferred():
    a = np.arange(24.0).reshape(2, 12)
    x = mg.tensor(a)
    assert x.unflatten(1, (3, 4)).tolist() == a.reshape(2, 3, 4).tolist()
    assert x.unflatten(-1, [2, -1, 3]).shape == (2, 2, 2, 3) and mg.unflatten(x, 0, (1, 2)).shape == (1, 2, 12)
    assert mg.zeros((3, 0)).unflatten(1, (2, 0)).shape == (3, 2, 0)
    assert nn.Unflatten(1, (4, -1))(x).shape == (2, 4, 3)
    assert_gradient_and_tangent(lambda t: t.unflatten(1, (3, -1)).sum(1) ** 2, lambda b: b.reshape(2, 3, 4).sum(1) ** 2,
                                np.random.default_rng(3).standard_normal(a.shape))


@pytest.mark.parametrize("dim, sizes, error, message", [
    (1, (5, 3), ValueError, r"unflatten: sizes \[5, 3\] don't multiply up to the size of dim 1 \(12\) of the input "
                            r"of shape \(2, 12\)"),
    (1, (-1, 5), ValueError, r"unflatten: sizes \[-1, 5\] don't multiply up to the size of dim 1 \(12\)"),
    (1, (-1, -1), ValueError, r"unflatten: sizes may hold one -1 and sizes >= 0, got \[-1, -1\]"),
    (1, (), ValueError, r"unflatten: sizes must be non-empty"),
    (1, (2.0, 6), TypeError, r"unflatten: expected sizes as a tuple or list of ints, got tuple \(2.0, 6\)"),
    (2, (1, 2), IndexError, r"unflatten: dim 2 is out of range for a tensor with 2 axes"),
])
def test_unflatten_errors_name_unflatten_and_what_came(dim, sizes, error, message):
    with pytest.raises(error, match=message):
        mg.zeros((2, 12)).unflatten(dim, sizes)


# ---- apply_ and map_ -----------------------------------------------------------------------------

def test_apply_replaces_each_entry_by_the_function_of_it():
    a = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -0.25]])
    t = mg.tensor(a)
    assert t.apply_(lambda v: v * v + 1) is t
    assert t.tolist() == [[v * v + 1 for v in row] for row in a.tolist()] and t.dtype == np.float64
    counts = mg.tensor([1, 2, 3], dtype=mg.int32).apply_(lambda n: n * 10)
    assert counts.tolist() == [10, 20, 30] and counts.dtype == np.int32


def test_map_combines_each_entry_with_the_broadcast_other():
    a, b = np.arange(6.0).reshape(2, 3), np.array([10.0, 20.0, 30.0])
    t = mg.tensor(a)
    t.map_(mg.tensor(b), lambda x, y: x * y - 1)
    assert t.tolist() == [[x * y - 1 for x, y in zip(row, b.tolist())] for row in a.tolist()]


def test_apply_on_a_part_writes_into_the_tensor_it_is_part_of():
    """apply_ follows the in-place rules of `t += u`: on u[0], a part of u, u takes the write too."""
    u = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    u[0].apply_(lambda v: -v)
    assert u.tolist() == [[-1.0, -2.0], [3.0, 4.0]]


def test_apply_and_map_refuse_tensors_that_require_grad_and_change_nothing():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"apply_: cannot call apply_\(\) on a tensor that requires grad"):
        w.apply_(lambda v: v + 1)
    with pytest.raises(RuntimeError, match=r"apply_: cannot call apply_\(\) on a tensor that requires grad"):
        (w * 2).apply_(lambda v: v + 1)
    t = mg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"map_: cannot call map_\(\) on a tensor that requires grad"):
        t.map_(w, lambda x, y: x + y)
    with pytest.raises(RuntimeError, match=r"map_: cannot call map_\(\) on a tensor that requires grad"):
        w.map_(t, lambda x, y: x + y)
    assert w.tolist() == [1.0, 2.0] and t.tolist() == [1.0, 2.0]


def test_apply_and_map_errors_name_the_method_and_what_came():
    t = mg.tensor([1, 2], dtype=mg.int64)
    with pytest.raises(TypeError, match=r"apply_: expected a callable, got int"):
        t.apply_(3)
    with pytest.raises(TypeError, match=r"apply_: the result's dtype float64 cannot be cast to the tensor's dtype "
                                        r"int64"):
        t.apply_(lambda n: n / 2)
    with pytest.raises(TypeError, match=r"apply_: expected the callable to return a number for each entry, got str"):
        t.apply_(lambda n: "a")
    with pytest.raises(ValueError, match=r"map_: the tensor of shape \(3,\) does not broadcast to t's shape \(2,\)"):
        t.map_(mg.tensor([1, 2, 3]), lambda x, y: x)
    assert t.tolist() == [1, 2]


# ---- new tensors, conversions, complex parts, memory no-ops, vmap --------------------------------

def test_new_tensor_copies_data_in_this_tensor_s_dtype_without_history():
    source = np.array([1.5, 2.5])
    x = mg.zeros(2, dtype=mg.float32)
    made = x.new_tensor(source)
    source[0] = 9.0
    assert made.dtype == np.float32 and made.tolist() == [1.5, 2.5] and not made.requires_grad
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    assert not x.new_tensor(w).requires_grad and x.new_tensor([1, 2], dtype=mg.int64).dtype == np.int64
    assert x.new_tensor([1.0], requires_grad=True).requires_grad
    empty = x.new_empty(2, 3)
    assert empty.shape == (2, 3) and empty.dtype == np.float32 and x.new_empty((4,), dtype=mg.int16).dtype == np.int16


def test_byte_char_and_short_convert_as_numpy_s_astype():
    x = mg.tensor([1.7, 2.0, 100.9])
    assert x.byte().dtype == np.uint8 and x.char().dtype == np.int8 and x.short().dtype == np.int16
    assert x.short().tolist() == [1, 2, 100]


def test_real_and_complex_parts():
    x = mg.tensor([1.0, -2.0], requires_grad=True)
    assert not x.is_complex() and x.real is x
    with pytest.raises(RuntimeError, match=r"Tensor.imag: only a complex tensor has an imaginary part, got dtype "
                                           r"float32"):
        x.imag
    z = mg.tensor(np.array([1 + 2j, 3 - 4j]))
    assert z.is_complex() and z.real.tolist() == [1.0, 3.0] and z.imag.tolist() == [2.0, -4.0]


def test_memory_placement_methods_change_nothing_on_the_cpu():
    x = mg.ones(3)
    assert x.pin_memory() is x and not x.is_pinned() and x.share_memory_() is x and not x.is_shared()


def test_vmap_is_func_vmap():
    assert mg.vmap is mg.func.vmap


# ---- mg.testing.assert_close -------------------------------------------------------------------

def test_assert_close_passes_within_the_dtype_s_tolerances():
    """float64: |a - e| <= 1e-7 + 1e-7 |e|; float32: 1e-5 + 1.3e-6 |e| (PyTorch's table)."""
    expected = np.array([1.0, 100.0])
    mg.testing.assert_close(mg.tensor(expected + [1.9e-7, 1.0e-5]), mg.tensor(expected))
    mg.testing.assert_close(mg.tensor(np.float32(1.0) + np.float32(1e-5)), mg.tensor(np.float32(1.0)))
    mg.testing.assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7]))
    mg.testing.assert_close(1.0, 1.0 + 1e-8)
    mg.testing.assert_close(mg.tensor([np.inf, -np.inf]), mg.tensor([np.inf, -np.inf]))


def test_assert_close_fails_just_outside_with_pytorch_s_message():
    """[1, 2.002, 3, 40.003] against [1, 2, 3, 40]: two mismatches of four; the greatest absolute
    difference 0.003 at (3,), the greatest relative one 0.002 / 2 = 0.001 at (1,)."""
    with pytest.raises(AssertionError) as caught:
        mg.testing.assert_close(mg.tensor(np.array([1.0, 2.002, 3.0, 40.003])),
                                mg.tensor(np.array([1.0, 2.0, 3.0, 40.0])))
    lines = str(caught.value).split("\n")
    assert lines[:3] == ["Tensor-likes are not close!", "", "Mismatched elements: 2 / 4 (50.0%)"]
    absolute = re.fullmatch(r"Greatest absolute difference: (\S+) at index \(3,\) \(up to 1e-07 allowed\)", lines[3])
    relative = re.fullmatch(r"Greatest relative difference: (\S+) at index \(1,\) \(up to 1e-07 allowed\)", lines[4])
    assert absolute and relative and len(lines) == 5
    assert float(absolute.group(1)) == pytest.approx(0.003) and float(relative.group(1)) == pytest.approx(0.001)
    with pytest.raises(AssertionError, match=r"Mismatched elements: 1 / 1 \(100.0%\)"):
        mg.testing.assert_close(mg.tensor(np.array([1.0 + 2.1e-7])), mg.tensor(np.array([1.0])))


def test_assert_close_of_matrices_names_a_two_d_index_and_of_scalars_the_values():
    with pytest.raises(AssertionError, match=r"Greatest absolute difference: 1.0 at index \(1, 0\)"):
        mg.testing.assert_close(mg.tensor([[1.0, 2.0], [4.0, 4.0]]), mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(AssertionError) as caught:
        mg.testing.assert_close(mg.tensor(1.5), mg.tensor(2.0))
    assert str(caught.value) == ("Scalars are not close!\n\nExpected 2.0 but got 1.5.\nAbsolute difference: 0.5 (up "
                                 "to 1e-05 allowed)\nRelative difference: 0.25 (up to 1.3e-06 allowed)")


def test_assert_close_of_integers_is_exact():
    with pytest.raises(AssertionError) as caught:
        mg.testing.assert_close(mg.tensor([1, 2, 7]), mg.tensor([1, 3, 5]))
    assert str(caught.value) == ("Tensor-likes are not equal!\n\nMismatched elements: 2 / 3 (66.7%)\n"
                                 "Greatest absolute difference: 2 at index (2,)\n"
                                 "Greatest relative difference: 0.4 at index (2,)")


def test_assert_close_checks_dtype_shape_and_on_request_stride():
    with pytest.raises(AssertionError, match=r"The values for attribute 'dtype' do not match: float32 != float64."):
        mg.testing.assert_close(mg.tensor([1.0], dtype=mg.float32), mg.tensor([1.0], dtype=mg.float64))
    mg.testing.assert_close(mg.tensor([1.0 + 5e-6], dtype=mg.float32), mg.tensor([1.0], dtype=mg.float64),
                            check_dtype=False)         # (the looser tolerance, float32's)
    with pytest.raises(AssertionError, match=r"The values for attribute 'shape' do not match: \(2,\) != \(1, 2\)."):
        mg.testing.assert_close(mg.zeros(2), mg.zeros((1, 2)))
    x = mg.arange(6.0).reshape(2, 3).t()
    mg.testing.assert_close(x, x.contiguous())
    with pytest.raises(AssertionError, match=r"The values for attribute 'stride\(\)' do not match: \(1, 3\) != "
                                             r"\(2, 1\)."):
        mg.testing.assert_close(x, x.contiguous(), check_stride=True)


def test_assert_close_equal_nan():
    nan = mg.tensor([1.0, np.nan])
    with pytest.raises(AssertionError, match=r"Greatest absolute difference: nan at index \(1,\)"):
        mg.testing.assert_close(nan, mg.tensor([1.0, np.nan]))
    mg.testing.assert_close(nan, mg.tensor([1.0, np.nan]), equal_nan=True)
    with pytest.raises(AssertionError, match=r"Greatest absolute difference: inf at index \(0,\)"):
        mg.testing.assert_close(mg.tensor([np.inf]), mg.tensor([-np.inf]))


def test_assert_close_walks_sequences_and_mappings_and_names_the_item():
    a, b = mg.tensor([1.0]), mg.tensor([2.0])
    mg.testing.assert_close([a, (2.0, {"w": a})], ((a, [2.0, {"w": a}])))
    with pytest.raises(AssertionError, match=r"(?s)Tensor-likes are not close!.*The failure occurred for item "
                                             r"\[1\]\['w'\]$"):
        mg.testing.assert_close([a, {"w": a}], [a, {"w": b}])
    with pytest.raises(AssertionError, match=r"The length of the sequences mismatch: 1 != 2"):
        mg.testing.assert_close([a], [a, a])
    with pytest.raises(AssertionError, match=r"The keys of the mappings do not match:\nMissing keys in the actual "
                                             r"mapping: \['b'\]\nAdditional keys in the actual mapping: \['c'\]"):
        mg.testing.assert_close({"a": a, "c": a}, {"a": a, "b": a})


def test_assert_close_of_numbers_bools_and_none():
    with pytest.raises(AssertionError, match=r"The \(d\)types do not match: <class 'int'> != <class 'float'>."):
        mg.testing.assert_close(1, 1.0)
    mg.testing.assert_close(1, 1.0, check_dtype=False)
    with pytest.raises(AssertionError, match=r"Booleans mismatch: True is not False"):
        mg.testing.assert_close(True, np.bool_(False))
    with pytest.raises(AssertionError, match=r"None mismatch: None is not"):
        mg.testing.assert_close(None, mg.zeros(1))


def test_assert_close_refuses_unrelated_types_and_half_given_tolerances_naming_itself():
    with pytest.raises(TypeError, match=r"assert_close: no comparison pair was able to handle inputs of type <class "
                                        r"'microgradseq.tensor.Tensor'> and <class 'numpy.ndarray'>"):
        mg.testing.assert_close(mg.zeros(1), np.zeros(1))
    with pytest.raises(TypeError, match=r"<class 'float'> and <class 'microgradseq.tensor.Tensor'>"):
        mg.testing.assert_close(1.0, mg.tensor(1.0))
    with pytest.raises(ValueError, match=r"assert_close: both 'rtol' and 'atol' must be either specified or "
                                         r"omitted, but got no atol"):
        mg.testing.assert_close(mg.zeros(1), mg.zeros(1), rtol=1e-3)


def test_assert_close_msg_replaces_the_message():
    with pytest.raises(AssertionError, match=r"^the tensors differ$"):
        mg.testing.assert_close(mg.zeros(1), mg.ones(1), msg="the tensors differ")
    with pytest.raises(AssertionError, match=r"^Tensor-likes are not close!.*\(extra\)$") as caught:
        mg.testing.assert_close(mg.zeros(1), mg.ones(1), msg=lambda text: text.replace("\n", " ") + " (extra)")
    assert "\n" not in str(caught.value)


def test_assert_allclose_is_deprecated_with_looser_float32_tolerances_and_nans_equal():
    with pytest.warns(FutureWarning, match=r"assert_allclose: deprecated"):
        mg.testing.assert_allclose(mg.tensor([1.0 + 5e-5, np.nan], dtype=mg.float32), [1.0, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(AssertionError, match=r"Tensor-likes are not close!"):
            mg.testing.assert_allclose(mg.tensor([1.0 + 5e-4], dtype=mg.float32), [1.0])


# ---- mg.testing.make_tensor ----------------------------------------------------------------------

def test_make_tensor_draws_in_the_dtype_s_default_range():
    mg.manual_seed(0)
    floats = mg.testing.make_tensor((50, 4), dtype=mg.float32)
    assert floats.shape == (50, 4) and floats.dtype == np.float32 and -9 <= floats.data.min() < floats.data.max() < 9
    integers = mg.testing.make_tensor(200, dtype=mg.int64).data
    assert integers.dtype == np.int64 and integers.min() == -9 and integers.max() == 9
    assert mg.testing.make_tensor(200, dtype=mg.uint8).data.min() == 0
    assert set(mg.testing.make_tensor(50, dtype=mg.bool).tolist()) == {False, True}
    narrow = mg.testing.make_tensor(2, 3, dtype=mg.float64, low=-1, high=1, requires_grad=True)
    assert narrow.requires_grad and narrow.shape == (2, 3) and np.abs(narrow.data).max() <= 1


def test_make_tensor_refuses_what_pytorch_s_refuses():
    with pytest.raises(ValueError, match=r"make_tensor: low must be weakly less than high, got low=2, high=1"):
        mg.testing.make_tensor(3, dtype=mg.float32, low=2, high=1)
    with pytest.raises(ValueError, match=r"make_tensor: requires_grad must be False for dtype int64"):
        mg.testing.make_tensor(3, dtype=mg.int64, requires_grad=True)
