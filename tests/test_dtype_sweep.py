"""Result dtypes against PyTorch's documented type promotion, from a systematic dtype sweep of the public ops.

Each expected dtype (or error) below is PyTorch's rule, stated with its source, never the library's output:
- docs/source/tensor_attributes.rst "Type promotion" and torch/_prims_common `elementwise_dtypes`: across
  categories (bool < integer < floating < complex) the higher category's dtype; a 0-d tensor counts only
  when its category is higher than the dimensioned operands', and then a complex 0-d tensor beside a
  float one gives "the complex dtype corresponding to the highest corresponding complex dtype among"
  the tensors with dimensions (float32 -> complex64); c10 `combine_categories` likewise.
- torch.cat / torch.stack promote their inputs with `result_type` (aten `cat`'s `compute_output_dtype`).
- aten `mm`/`bmm`/`addmm`/`mv`/`dot` require equal dtypes ("expected m1 and m2 to have the same dtype"),
  and have no bool kernel (here only `dot` refuses two dtypes; the others promote, a documented difference).
- aten/src/ATen/native/cpu/BinaryOpsKernel.cpp: `div_floor_kernel`, `remainder_kernel` and `fmod_kernel`
  dispatch integers without bool and floats otherwise, so two bool tensors raise ("not implemented for
  'Bool'"); complex ones raise too.
- torch/_refs `pow`: ELEMENTWISE_TYPE_PROMOTION_KIND.BOOL_TO_LONG (bool ** bool is int64).
- `torch.maximum`/`minimum`: DEFAULT promotion, "not implemented for complex tensors".
- torch/_refs `xlogy`: INT_TO_FLOAT promotion of both operands (float32 and float64: float64).
"""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F


# ---- a float tensor beside a complex 0-d tensor: the dimensioned tensor's width -----------------------

@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: a / b,
                                lambda a, b: a ** b, lambda a, b: mg.where(mg.ones(2) > 0, a, b)])
def test_float32_tensor_and_complex128_zero_dim_tensor_give_complex64(op):
    x = mg.ones(2)                                              # float32, with a dimension
    z = mg.tensor(np.complex128(1 + 2j))                        # 0-d complex128
    assert op(x, z).dtype == np.complex64
    assert op(mg.ones(2, dtype=mg.float64), z).dtype == np.complex128      # float64 -> complex128


def test_complex64_tensor_and_float64_zero_dim_tensor_stay_complex64():
    z = mg.tensor(np.array([1 + 1j, 2j], np.complex64))
    assert (z * mg.tensor(2.0, dtype=mg.float64)).dtype == np.complex64    # the 0-d tensor's category is lower


def test_float32_leaf_times_complex128_zero_dim_leaf_gradients_keep_each_leafs_dtype():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor(np.float64(3.0), requires_grad=True)
    y = x * mg.tensor(np.complex128(1.0))
    assert y.dtype == np.complex64
    (x * w).sum().backward()                                    # float32 and 0-d float64: float32
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64


# ---- joins: PyTorch's promotion, not numpy's ------------------------------------------------------------

@pytest.mark.parametrize("join", [mg.cat, mg.stack, mg.hstack, mg.vstack])
@pytest.mark.parametrize("first, second, expected", [
    (mg.int64, mg.float32, np.float32),       # integer beside floating: the floating dtype (numpy: float64)
    (mg.int32, mg.float16, np.float16),       # (numpy: float32)
    (mg.bool, mg.float32, np.float32),
    (mg.float32, mg.float64, np.float64),     # within a category: the wider
    (mg.uint8, mg.int8, np.int16),
    (mg.bool, mg.int64, np.int64),
])
def test_joins_of_two_dtypes_promote_as_pytorch(join, first, second, expected):
    a = mg.tensor([[1, 0]], dtype=first)
    b = mg.tensor([[1, 2]], dtype=second)
    assert join([a, b]).dtype == expected


def test_cat_of_int_and_float32_leaf_keeps_values_and_the_leafs_gradient_dtype():
    x = mg.tensor([0.5, 1.5], requires_grad=True)
    y = mg.cat([mg.tensor([1, 2]), x])
    assert y.dtype == np.float32 and y.tolist() == [1.0, 2.0, 0.5, 1.5]
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 1.0]


# ---- products: one dtype, not bool ------------------------------------------------------------------------

@pytest.mark.parametrize("first, second, promoted", [(mg.float32, mg.float64, mg.float64),
                                                     (mg.int64, mg.float32, mg.float64)])
def test_products_of_two_dtypes_promote_as_numpy_does_a_documented_difference(first, second, promoted):
    """PyTorch refuses them ("expected m1 and m2 to have the same dtype"); here numpy's promotion holds
    (docs/pytorch.md, "numpy underneath"), as mg.tensor(array) is float64 and mg.ones float32. `dot` alone
    refuses, as PyTorch's."""
    a, b = mg.ones(2, 3, dtype=first), mg.ones(2, 3, dtype=second)
    assert (a @ b.t()).dtype == promoted and F.linear(a, b).dtype == promoted
    with pytest.raises(TypeError, match=r"^dot: expected two tensors of the same dtype"):
        mg.dot(a[0], b[0])


@pytest.mark.parametrize("product, name", [(lambda a, b: a @ b.t(), "matmul"), (lambda a, b: mg.mm(a, b.t()), "mm"),
                                           (lambda a, b: F.linear(a, b), "linear"), (lambda a, b: mg.dot(a[0], b[0]), "dot")])
def test_products_of_bool_tensors_raise(product, name):
    a = mg.ones(2, 3, dtype=mg.bool)
    with pytest.raises(TypeError, match=rf"^{name}: bool tensors have no matrix product"):
        product(a, a)


@pytest.mark.parametrize("dtype", [mg.float16, mg.float32, mg.float64, mg.int64, mg.int32])
def test_products_of_one_dtype_keep_it(dtype):
    a = mg.ones(2, 3, dtype=dtype)
    assert (a @ a.t()).dtype == dtype and mg.mm(a, a.t()).dtype == dtype and mg.dot(a[0], a[0]).dtype == dtype


# ---- floor division, remainder, fmod, pow of bools; complex floor division -------------------------------

@pytest.mark.parametrize("op, name", [(lambda a, b: a // b, "floor_divide"), (mg.floor_divide, "floor_divide"),
                                      (lambda a, b: a % b, "remainder"), (mg.remainder, "remainder"),
                                      (mg.fmod, "fmod")])
@pytest.mark.parametrize("other", [True, "tensor"])
def test_floor_division_remainder_and_fmod_of_two_bools_raise(op, name, other):
    mask = mg.tensor([True, True])
    with pytest.raises(TypeError, match=rf"^{name}: two bool tensors are not supported"):
        op(mask, mask if other == "tensor" else other)


def test_floor_division_of_bool_by_an_integer_is_integer():
    assert (mg.tensor([True, False]) // 2).dtype == np.int64            # bool and an int: int64
    assert (mg.tensor([4, 5], dtype=mg.uint8) // mg.tensor([True, True])).dtype == np.uint8


@pytest.mark.parametrize("op, name", [(lambda a, b: a // b, "floor_divide"), (lambda a, b: a % b, "remainder"),
                                      (mg.fmod, "fmod")])
def test_floor_division_and_remainder_of_complex_name_the_op(op, name):
    z = mg.tensor(np.array([1 + 1j, 2j], np.complex64))
    with pytest.raises(TypeError, match=rf"^{name}: not supported for dtypes complex64 and complex64"):
        op(z, z)
    with pytest.raises(TypeError, match=rf"^{name}: not supported for dtypes .*complex64"):
        op(mg.ones(2), 1j)


def test_bool_to_a_bool_power_is_int64():
    mask = mg.tensor([True, False])
    assert (mask ** mask).dtype == np.int64 and (mask ** mask).tolist() == [1, 1]
    assert mg.pow(mask, True).dtype == np.int64 and (mask ** True).tolist() == [1, 0]
    assert (mask ** 2).dtype == np.int64                          # bool and an int: int64 (was already)


# ---- maximum / minimum and xlogy ---------------------------------------------------------------------------

@pytest.mark.parametrize("function", [mg.maximum, mg.minimum, mg.max, mg.min])
def test_maximum_of_float16_and_int64_is_float16(function):
    x = mg.tensor([1.0, 2.0], dtype=mg.float16, requires_grad=True)
    y = function(x, mg.tensor([3, 0]))
    assert y.dtype == np.float16
    y.sum().backward()
    assert x.grad.dtype == np.float16


@pytest.mark.parametrize("first, second, expected", [(mg.float32, mg.float64, np.float64),
                                                     (mg.float64, mg.float32, np.float64),
                                                     (mg.int64, mg.float32, np.float32),
                                                     (mg.int32, mg.int64, np.int64)])
def test_maximum_of_two_dtypes_promotes(first, second, expected):
    assert mg.maximum(mg.ones(2, dtype=first), mg.zeros(2, dtype=second)).dtype == expected
    assert mg.minimum(mg.ones(2, dtype=first), mg.zeros(2, dtype=second)).dtype == expected


@pytest.mark.parametrize("function, name", [(mg.maximum, "maximum"), (mg.minimum, "minimum")])
def test_maximum_of_complex_raises(function, name):
    z = mg.tensor(np.array([1 + 1j, 2j], np.complex64))
    with pytest.raises(TypeError, match=rf"^{name}: not implemented for complex tensors"):
        function(z, z)
    with pytest.raises(TypeError, match=rf"^{name}: not implemented for complex tensors"):
        function(mg.ones(2), z)


@pytest.mark.parametrize("first, second, expected", [(mg.float32, mg.float64, np.float64),
                                                     (mg.float16, mg.float32, np.float32),
                                                     (mg.float64, mg.float32, np.float64),
                                                     (mg.int64, mg.int64, np.float32)])
def test_xlogy_promotes_both_operands(first, second, expected):
    x = mg.tensor([0.0, 2.0], dtype=first)
    y = mg.tensor([1.0, 3.0], dtype=second)
    out = mg.xlogy(x, y)
    assert out.dtype == expected
    assert out.tolist()[0] == 0.0 and out.tolist()[1] == pytest.approx(2 * np.log(3.0), rel=1e-3)


# ---- softmax of integers: one dtype, the default float, whichever spelling --------------------------------

@pytest.mark.parametrize("dtype", [mg.int8, mg.uint8, mg.int16, mg.int32, mg.int64])
@pytest.mark.parametrize("function", [lambda t: t.softmax(1), lambda t: t.log_softmax(1), lambda t: mg.softmax(t, 1),
                                      lambda t: mg.log_softmax(t, 1), lambda t: F.softmax(t, dim=1),
                                      lambda t: F.log_softmax(t, dim=1)])
def test_softmax_of_integers_is_the_default_float_dtype(dtype, function):
    """PyTorch raises here (no integer kernel); the library accepts integers (documented) and gives the
    default float dtype, as `exp` of integers does (numpy's exp would give float16 for int8, float64 for int32)."""
    t = mg.tensor([[1, 2, 3]], dtype=dtype)
    assert function(t).dtype == np.float32
    expected = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()     # (uint8's x - max must not wrap)
    values = np.asarray(function(t).data, np.float64)[0]
    np.testing.assert_allclose(values if values.max() <= 1 and values.min() >= 0 else np.exp(values), expected, rtol=1e-6)
    mg.set_default_dtype(mg.float64)
    try:
        assert function(t).dtype == np.float64
    finally:
        mg.set_default_dtype(mg.float32)
