"""Tests added by a mutation check of Tensor's methods and operators (ops/methods.py, ops/attributes.py),
PyTorch's spellings (spellings.py) and the Tensor class (tensor.py). Each pins one behaviour that a
hand-made mutant changed without any other test noticing. Expected values come from PyTorch's documented
definitions, worked out by hand or with plain numpy."""

import numpy as np
import pytest

import microgradseq as mg


# ---- reflected operators: number OP tensor is number OP each entry, not the other way round ----------

def test_reflected_sub_is_number_minus_tensor():
    """2 - t is [2 - t_i] (torch.rsub), not t - 2."""
    t = mg.tensor([1.0, 5.0])
    np.testing.assert_allclose((2 - t).data, [1.0, -3.0])


def test_reflected_truediv_is_number_over_tensor():
    """2 / t is [2 / t_i], not t / 2."""
    t = mg.tensor([1.0, 4.0])
    np.testing.assert_allclose((2 / t).data, [2.0, 0.5])


def test_reflected_floordiv_is_number_floordiv_tensor():
    """7 // t is floor(7 / t_i): 7 // 2 = 3, 7 // 4 = 1 (not t // 7 = 0, 0)."""
    t = mg.tensor([2.0, 4.0])
    np.testing.assert_allclose((7 // t).data, [3.0, 1.0])


def test_reflected_mod_is_number_mod_tensor():
    """7 % t is 7 mod t_i (sign of the divisor, as torch.remainder): 7 % 3 = 1, 7 % 5 = 2."""
    t = mg.tensor([3.0, 5.0])
    np.testing.assert_allclose((7 % t).data, [1.0, 2.0])


def test_reflected_matmul_is_array_at_tensor():
    """A @ t with A a numpy array (deferring to Tensor.__rmatmul__) is A times t, not t times A."""
    a = np.array([[1.0, 2.0], [0.0, 1.0]], dtype=np.float32)
    b = mg.tensor([[1.0, 0.0], [3.0, 1.0]])
    np.testing.assert_allclose((a @ b).data, [[7.0, 2.0], [3.0, 1.0]])     # a @ b by hand (b @ a differs)


# ---- shapes: flatten, movedim, swapaxes --------------------------------------------------------------

def test_flatten_of_a_0d_tensor_is_1d():
    """torch.flatten of a 0-d tensor returns a 1-d tensor of one element (shape (1,))."""
    out = mg.tensor(3.0).flatten()
    assert out.shape == (1,)
    np.testing.assert_allclose(out.data, [3.0])


def test_movedim_swapping_two_axes_matches_numpy_moveaxis():
    """movedim((0, 1), (1, 0)) swaps the first two axes: as numpy's moveaxis, shape (3, 2, 4)."""
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out = mg.tensor(x).movedim((0, 1), (1, 0))
    assert out.shape == (3, 2, 4)
    np.testing.assert_array_equal(out.data, np.moveaxis(x, (0, 1), (1, 0)))


def test_swapaxes_and_swapdims_swap_the_axes():
    """swapaxes(0, 1) and swapdims(0, 1) are transpose(0, 1): shape (3, 2), entry [j, i] = x[i, j]."""
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for out in (mg.tensor(x).swapaxes(0, 1), mg.tensor(x).swapdims(0, 1)):
        assert out.shape == (3, 2)
        np.testing.assert_array_equal(out.data, x.T)


def test_dim_of_a_0d_tensor_is_0():
    """t.dim() is the number of axes: 0 for a scalar tensor, 2 for a matrix."""
    assert mg.tensor(1.0).dim() == 0
    assert mg.zeros(2, 3).dim() == 2


# ---- softmax's default dim -------------------------------------------------------------------------

def test_softmax_method_without_dim_is_over_the_last_axis():
    """docs/api.md: softmax without an axis takes the last one: each row of a 2-d input sums to 1."""
    x = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]])
    out = mg.tensor(x).softmax().data
    expected = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


# ---- new_*: this tensor's dtype, PyTorch's shapes ---------------------------------------------------

def test_new_zeros_and_new_ones_keep_the_tensors_dtype():
    """t.new_zeros / new_ones: 'the returned Tensor has the same torch.dtype ... as this tensor'."""
    t = mg.tensor([1.0], dtype=np.float32)
    assert t.new_zeros(2, 3).dtype == np.float32
    assert t.new_ones(2).dtype == np.float32
    assert mg.tensor([1], dtype=np.int32).new_zeros(2).dtype == np.int32


def test_new_zeros_takes_a_list_as_the_size():
    """t.new_zeros([2, 3]) (size as a list, as PyTorch allows) has shape (2, 3)."""
    assert mg.tensor([1.0]).new_zeros([2, 3]).shape == (2, 3)


def test_new_full_keeps_the_tensors_dtype():
    """t.new_full((2,), 7) of a float32 tensor is float32 sevens (not int64 from the fill value)."""
    out = mg.tensor([1.0], dtype=np.float32).new_full((2,), 7)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [7.0, 7.0])


def test_new_without_sizes_is_empty_1d():
    """PyTorch's legacy t.new() is an empty tensor of shape (0,), not a 0-d scalar."""
    assert mg.tensor([1.0]).new().shape == (0,)


def test_dot_of_two_dtypes_is_a_type_error():
    """torch.dot requires both tensors of one dtype: float32 with float64 is an error (TypeError here)."""
    with pytest.raises(TypeError):
        mg.tensor([1.0, 2.0], dtype=np.float32).dot(mg.tensor([1.0, 2.0], dtype=np.float64))


# ---- in-place shape changes ------------------------------------------------------------------------

def test_squeeze_in_place_on_a_leaf_that_requires_grad_is_refused():
    """t.squeeze_(0) on a leaf that requires grad raises RuntimeError (its gradient has the old shape)."""
    w = mg.zeros(1, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        w.squeeze_(0)
    assert w.shape == (1, 3)


# ---- attributes: type conversions, is_floating_point, cuda -------------------------------------------

def test_type_as_takes_the_other_tensors_dtype():
    """t.type_as(u) is t.to(u.dtype): int64 entries become float64 ones."""
    out = mg.tensor([1, 2]).type_as(mg.tensor([0.5], dtype=np.float64))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.data, [1.0, 2.0])


def test_is_floating_point_is_false_for_integers():
    """is_floating_point is True only for floating dtypes: int64 is False, float32 True."""
    assert mg.tensor([1, 2]).is_floating_point() is False
    assert mg.tensor([1.0]).is_floating_point() is True


def test_half_is_float16():
    """t.half() is t.to(torch.float16)."""
    assert mg.tensor([1.0, 2.0]).half().dtype == np.float16


def test_cuda_raises_naming_cuda():
    """docs/api.md: cuda() raises RuntimeError naming cuda (there is no GPU)."""
    with pytest.raises(RuntimeError, match="cuda"):
        mg.tensor([1.0]).cuda()


# ---- spellings: to(...) arguments, device -----------------------------------------------------------

def test_to_with_an_unknown_keyword_is_a_type_error():
    """t.to(foo=1): PyTorch rejects an unexpected keyword argument with a TypeError."""
    with pytest.raises(TypeError, match="foo"):
        mg.tensor([1.0]).to(foo=1)


def test_device_with_an_index_differs_from_one_without():
    """torch.device('cpu:0') != torch.device('cpu'): the index is part of the device."""
    assert mg.device("cpu:0") != mg.device("cpu")
    assert mg.device("cpu:0") == "cpu:0"
    assert mg.device("cpu", 1) != "cpu:0"


def test_device_index_must_be_an_integer_not_a_bool():
    """device(type, index): the index is a non-negative integer; a bool is refused (ValueError)."""
    with pytest.raises(ValueError):
        mg.device("cpu", True)


# ---- Tensor: data assignment, __array__, grad setter, requires_grad ----------------------------------

def test_data_assignment_of_another_shape_with_the_same_size_is_refused():
    """t.data = array of shape (3, 2) for a (2, 3) tensor: same shape is required (ValueError)."""
    t = mg.zeros(2, 3)
    with pytest.raises(ValueError):
        t.data = np.zeros((3, 2), dtype=t.dtype)
    assert t.shape == (2, 3)


def test_array_with_copy_true_is_a_writeable_copy():
    """np.array(t, copy=True) is a copy of its own: writing into it leaves t unchanged."""
    t = mg.tensor([1.0, 2.0])
    a = np.array(t, copy=True)
    a[0] = 9.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


def test_array_with_a_dtype_converts():
    """t.__array__(np.float64) gives the entries in float64."""
    a = mg.tensor([1.5, 2.0], dtype=np.float32).__array__(np.float64)
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, [1.5, 2.0])


def test_grad_of_another_shape_with_the_same_size_is_refused():
    """t.grad = array of shape (3, 2) for a (2, 3) tensor: ValueError (the grad has t's shape)."""
    t = mg.zeros(2, 3, requires_grad=True)
    with pytest.raises(ValueError):
        t.grad = np.zeros((3, 2), dtype=t.dtype)


def test_setting_grad_on_a_tensor_that_does_not_require_grad_raises():
    """tensor.py's promise: .grad (not None) on a tensor without requires_grad is a RuntimeError."""
    t = mg.zeros(2)
    with pytest.raises(RuntimeError):
        t.grad = np.ones(2, dtype=t.dtype)
    assert t.grad is None


def test_requires_grad_cannot_be_switched_off_on_a_non_leaf():
    """PyTorch: 'you can only change requires_grad flags of leaf variables' (RuntimeError)."""
    y = mg.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError):
        y.requires_grad = False
    assert y.requires_grad


def test_requires_grad_underscore_defaults_to_true_and_returns_self():
    """t.requires_grad_() sets requires_grad=True (the default) and returns t itself."""
    t = mg.zeros(2)
    out = t.requires_grad_()
    assert out is t
    assert t.requires_grad is True and t.is_leaf


def test_len_of_a_0d_tensor_is_a_type_error():
    """len() of a 0-d tensor raises TypeError, as PyTorch's; len of shape (3, 2) is 3."""
    with pytest.raises(TypeError):
        len(mg.tensor(1.0))
    assert len(mg.zeros(3, 2)) == 3


def test_item_of_a_many_element_tensor_raises():
    """item() needs exactly one element; two elements is an error."""
    with pytest.raises((ValueError, RuntimeError)):
        mg.tensor([1.0, 2.0]).item()


def test_detach_in_place_drops_the_history():
    """y.detach_() on an op's result: y no longer requires grad, is a leaf, and has no grad_fn (PyTorch's)."""
    y = mg.ones(2, requires_grad=True) * 2
    assert y.detach_() is y
    assert y.requires_grad is False and y.is_leaf and y.grad_fn is None
    np.testing.assert_array_equal(y.data, [2.0, 2.0])


def test_a_truncated_state_is_a_leaf_without_grad_fn():
    """bptt.truncate(h): the same values with no history (a cut), so h is a leaf (is_leaf True,
    grad_fn None, requires_grad False), as PyTorch's h.detach() is."""
    from microgradseq.bptt import truncate
    h = mg.ones(2, requires_grad=True) * 3
    cut = truncate(h)
    assert cut.is_leaf and cut.grad_fn is None and cut.requires_grad is False
    np.testing.assert_array_equal(cut.data, [3.0, 3.0])


# ---- a bug found on the way (not fixed here) ---------------------------------------------------------

def test_embedding_accepts_norm_type_given_as_the_int_2():
    """nn.Embedding(10, 3, norm_type=2) works, as PyTorch's (norm_type is a float defaulting to 2.,
    and the int 2 is the same value); it raised "TypeError: Embedding: norm_type=2 is not supported
    (only the default, norm_type=2.0)", because the check of unsupported options compared types
    exactly. A value of another kind is still refused (proj_size=0.0 for the int 0)."""
    emb = mg.nn.Embedding(10, 3, norm_type=2)
    assert emb.weight.shape == (10, 3)
    with pytest.raises(TypeError, match="proj_size"):
        mg.nn.LSTM(2, 3, proj_size=0.0)


# ---- Tensor class: in-place floor division, format, default dtype, legacy constructor, int() ----------

def test_in_place_floordiv_floors_the_quotient():
    """t //= 2 is t = floor(t / 2): [7, 8] becomes [3, 4] (not the true quotient [3.5, 4])."""
    t = mg.tensor([7.0, 8.0])
    t //= 2
    np.testing.assert_array_equal(t.data, [3.0, 4.0])


def test_format_spec_applies_to_0d_tensors_only():
    """PyTorch's Tensor.__format__ formats the number only for a 0-d tensor; a 1-d one-element
    tensor goes to object.__format__, which refuses a non-empty spec (TypeError)."""
    assert f"{mg.tensor(1.5):.2f}" == "1.50"
    with pytest.raises(TypeError):
        format(mg.tensor([1.5]), ".2f")


def test_set_default_dtype_refuses_an_integer_dtype():
    """torch.set_default_dtype takes floating-point dtypes only: int64 is a TypeError, the default kept."""
    before = mg.get_default_dtype()
    try:
        with pytest.raises(TypeError):
            mg.set_default_dtype(np.int64)
        assert mg.get_default_dtype() == before
    finally:
        mg.set_default_dtype(before)


def test_legacy_tensor_constructor_makes_python_ints_the_default_float_dtype():
    """PyTorch's legacy torch.Tensor([1, 2]) is always the default float dtype (float32), unlike
    tensor([1, 2]), which infers int64."""
    assert mg.Tensor([1, 2]).dtype == mg.get_default_dtype() == np.float32
    assert mg.tensor([1, 2]).dtype == np.int64


def test_int_of_a_tensor_truncates_toward_zero():
    """int(t) of a one-element tensor is Python's int() of its number: truncation toward zero."""
    assert int(mg.tensor(2.7)) == 2
    assert int(mg.tensor(-2.7)) == -2
