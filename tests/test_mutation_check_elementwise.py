"""Tests written from a mutation check of the elementwise ops' rules (ops/elementwise.py and
ops/arithmetic.py): each pins a forward value, a VJP or JVP rule, a dtype or an argument check that a
hand-made wrong implementation changed without any other test noticing. Expected values come from
closed forms, numpy written by hand, or PyTorch's documented behaviour (said in each test), never
from the library's own output. (The dtype promotion of `operands`/`promoted` is pinned in
test_mutation_check_promotion.py and not repeated here.) One test pins a bug found on the way and
fixed: tanh of an integer tensor took numpy's dtype."""

import math

import numpy as np
import pytest

import microgradseq as mg


# ---- pow, floor division and remainder: the integer checks --------------------------------------

def test_a_bool_tensor_to_a_negative_python_integer_is_a_value_error():
    """PyTorch's pow checks isIntegralType(base, includeBool=true): a bool base to a negative integer
    power is refused as an integer one is ("Integers to negative integer powers are not allowed")."""
    with pytest.raises(ValueError, match="pow"):
        mg.tensor([True, False]) ** -1


def test_an_integer_tensor_floor_divided_by_a_bool_tensor_with_false_raises_zero_division():
    """PyTorch promotes int64 // bool to int64 and raises ZeroDivisionError for an integer division
    by zero; numpy would give 0 with a warning. Same for remainder."""
    with pytest.raises(ZeroDivisionError, match="floor_divide"):
        mg.tensor([4, 6]) // mg.tensor([True, False])
    with pytest.raises(ZeroDivisionError, match="remainder"):
        mg.tensor([4, 6]) % mg.tensor([True, False])


# ---- relu, round, sign: values, dtypes and gradients at the special points ----------------------

def test_relu_of_minus_inf_is_zero_and_of_negatives_a_positive_zero():
    """relu(x) = max(x, 0) (PyTorch's definition): relu(-inf) = 0 (not NaN, as -inf * 0 would be)
    and relu(-3) = +0.0; relu(+inf) = inf, relu(NaN) = NaN."""
    y = mg.relu(mg.tensor([-np.inf, -3.0, np.inf, np.nan], dtype=np.float64)).data
    np.testing.assert_array_equal(y[:3], [0.0, 0.0, np.inf])
    assert not np.signbit(y[1]) and np.isnan(y[3])


def test_relu_of_an_integer_tensor_stays_integer():
    """torch.relu keeps an integer tensor's dtype (max(x, 0) of int64 is int64)."""
    y = mg.relu(mg.tensor([-2, 0, 5]))
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.data, [0, 0, 5])


@pytest.mark.parametrize("decimals", [1.0, "2", True, None])
def test_round_refuses_decimals_that_are_not_an_integer(decimals):
    with pytest.raises(TypeError, match="round: decimals"):
        mg.round(mg.tensor([1.5]), decimals)


def test_round_and_sign_gradients_are_zeros_even_for_an_infinite_incoming_gradient():
    """PyTorch's derivatives.yaml: round and sign give `zeros_like(grad)`, so an inf (or NaN) coming
    from above still gives 0, not inf * 0 = NaN."""
    for fn in (mg.round, mg.sign):
        x = mg.tensor([1.3, -1.7], dtype=np.float64, requires_grad=True)
        (fn(x) * mg.tensor([np.inf, -np.inf], dtype=np.float64)).sum().backward()
        np.testing.assert_array_equal(x.grad, [0.0, 0.0])


# ---- functions of integer and bool tensors: the default float dtype -----------------------------

@pytest.mark.parametrize("fn, np_fn", [(mg.sqrt, np.sqrt), (mg.exp, np.exp), (mg.log, np.log), (mg.erf, None)])
def test_functions_of_an_integer_tensor_are_the_default_float_dtype(fn, np_fn, float64_default):
    """PyTorch: sqrt, exp, log, erf of an integer tensor give the default float dtype."""
    for default in (np.float32, np.float64):
        mg.set_default_dtype(default)
        y = fn(mg.tensor([1, 4, 9], dtype=np.int16))
        assert y.dtype == default
        if np_fn is not None:
            np.testing.assert_allclose(y.data, np_fn(np.array([1.0, 4.0, 9.0])), rtol=1e-6)


def test_sigmoid_of_bool_and_unsigned_tensors_reads_their_values_as_floats():
    """PyTorch: sigmoid of a bool or uint8 tensor is the default float dtype of 1 / (1 + e^-x), with
    the values as numbers (no wrap of -x for unsigned integers: s(200) is about 1, not s(56))."""
    y = mg.sigmoid(mg.tensor([True, False]))
    assert y.dtype == mg.get_default_dtype()
    np.testing.assert_allclose(y.data, [1 / (1 + math.exp(-1.0)), 0.5], rtol=1e-7)
    z = mg.sigmoid(mg.tensor([200, 3], dtype=np.uint8))
    np.testing.assert_allclose(z.data, [1 / (1 + math.exp(-200.0)), 1 / (1 + math.exp(-3.0))], rtol=1e-7)


def test_tanh_of_an_integer_tensor_is_the_default_float_dtype():
    """PyTorch (and `floats`' own docstring: numpy would give float16 for 8-bit integers): tanh of an
    integer or bool tensor is the default float dtype, as exp, sin, sigmoid, ... of one are here."""
    for dtype in (np.int8, np.uint8, np.int64, np.bool_):
        y = mg.tanh(mg.tensor([1, 0], dtype=dtype))
        assert y.dtype == mg.get_default_dtype()
        np.testing.assert_allclose(y.data, [math.tanh(1.0), 0.0], rtol=1e-7)


# ---- clip / clamp -------------------------------------------------------------------------------

@pytest.mark.parametrize("default", [np.float32, np.float64])
def test_clamp_of_an_integer_tensor_with_a_float_max_is_the_default_float_dtype(default, float64_default):
    """PyTorch: clamp(int tensor, max=2.5) promotes to the default float dtype (a float bound is a
    float scalar next to an integer tensor), whichever bound is the float one (numpy would give
    float64 whatever the default)."""
    mg.set_default_dtype(default)
    x = mg.tensor([1, 2, 3, 4])
    for y in (x.clamp(max=2.5), x.clamp(min=1, max=2.5), mg.clip(x, None, 2.5), x.clamp(min=1.5)):
        assert y.dtype == default
    np.testing.assert_array_equal(x.clamp(max=2.5).data, [1.0, 2.0, 2.5, 2.5])
    np.testing.assert_array_equal(x.clamp(min=1.5).data, [1.5, 2.0, 3.0, 4.0])


def test_clamp_of_an_integer_tensor_with_integer_bounds_stays_integer():
    """PyTorch: clamp(int64 tensor, 0, 3) is int64; one bound alone too."""
    x = mg.tensor([-2, 1, 5])
    for y, expected in ((x.clamp(0, 3), [0, 1, 3]), (x.clamp(min=0), [0, 1, 5]), (x.clamp(max=3), [-2, 1, 3])):
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y.data, expected)


def test_clamp_of_a_bool_tensor_between_bool_bounds_raises_before_writing_as_pytorch():
    """aten/src/ATen/native/TensorCompare.cpp (recent): clamp.Tensor with both bounds runs clamp_stub, whose
    CPU kernel (TensorCompareKernel.cpp clamp_kernel_impl) has no Bool; one bound alone runs maximum_stub or
    minimum_stub, which have; number bounds promote a bool tensor as result_type does (int64 for ints)."""
    x, lo, hi = mg.tensor([True, False, True]), mg.tensor([False, True, False]), mg.tensor([False, True, True])
    for name, call in (("clamp", lambda: mg.clamp(x, lo, hi)), ("Tensor.clamp", lambda: x.clamp(lo, hi)),
                       ("clip", lambda: mg.clip(x, lo, hi)), ("Tensor.clamp_", lambda: x.clamp_(lo, hi)),
                       ("Tensor.clamp_", lambda: x.clip_(min=lo, max=hi))):
        with pytest.raises(TypeError, match=rf"^{name}: expected bounds that are not both bool for a bool tensor"):
            call()
    assert x.tolist() == [True, False, True]                    # clamp_ wrote nothing
    y = x.clamp(min=lo)
    assert y.dtype == np.bool_ and y.tolist() == [True, True, True]
    y = x.clamp(max=lo)
    assert y.dtype == np.bool_ and y.tolist() == [False, False, False]
    y = x.clamp(0, 1)
    assert y.dtype == np.int64 and y.tolist() == [1, 0, 1]


# ---- where, astype, clone -----------------------------------------------------------------------

@pytest.mark.parametrize("condition", [np.array([1, 0]), mg.tensor([1.0, 0.0]), 1])
def test_where_refuses_a_condition_that_is_not_boolean(condition):
    """torch.where needs a bool condition ("where expected condition to be a boolean tensor")."""
    with pytest.raises(TypeError, match="where: the condition must be a boolean"):
        mg.where(condition, mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0]))


def test_astype_to_bool_or_integer_has_no_history():
    """Converting to bool or an integer dtype has no gradient (PyTorch: such a tensor cannot require
    grad), so the result is detached."""
    x = mg.tensor([0.0, 1.5], requires_grad=True)
    for dtype in (np.bool_, np.int32):
        y = mg.ops.astype(x, dtype)
        assert not y.requires_grad and y.grad_fn is None


def test_clone_owns_its_memory():
    """torch.clone (and the docstring: "a copy of x in its own memory", so that a node saving a clone
    of a slice lets the larger array go): no memory shared with x, even for a view of a larger array."""
    big = mg.tensor(np.arange(12.0).reshape(3, 4))
    x = big[1]
    for y in (x.clone(), mg.ops.clone(big)):
        assert not np.shares_memory(big.data, y.data)
    np.testing.assert_array_equal(x.clone().data, [4.0, 5.0, 6.0, 7.0])
