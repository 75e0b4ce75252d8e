"""PyTorch's spellings of tensors and functions (docs/api.md, "PyTorch spellings"), each checked against
its numpy meaning or a closed form; no PyTorch needed."""

import inspect

import pickle

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F

RNG = np.random.default_rng(21)
X = RNG.standard_normal((3, 4, 5))


def tensor(array=X, requires_grad=False):
    return mg.tensor(array, requires_grad=requires_grad)


# ---- dim= and keepdim= beside axis= and keepdims= ---------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("dim", [0, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_and_mean_take_dim_and_keepdim_as_numpy_takes_axis_and_keepdims(name, dim, keepdim):
    got = getattr(tensor(), name)(dim=dim, keepdim=keepdim)
    np.testing.assert_allclose(got.data, getattr(np, name)(X, axis=dim, keepdims=keepdim), rtol=1e-12)


def test_a_positional_axis_is_pytorchs_dim_too():
    np.testing.assert_allclose(tensor().sum(1, keepdim=True).data, X.sum(axis=1, keepdims=True), rtol=1e-12)


def test_keepdim_goes_with_axis_and_keepdims_with_dim():
    np.testing.assert_allclose(tensor().mean(axis=2, keepdim=True).data, X.mean(axis=2, keepdims=True))
    np.testing.assert_allclose(tensor().sum(dim=2, keepdims=True).data, X.sum(axis=2, keepdims=True))


def test_max_with_dim_returns_pytorchs_pair_of_values_and_indices():
    values, indices = tensor().max(dim=1)
    np.testing.assert_array_equal(values.data, X.max(axis=1))
    np.testing.assert_array_equal(indices.data, X.argmax(axis=1))
    assert indices.dtype == np.int64 and not indices.requires_grad


def test_max_with_dim_and_keepdim_keeps_the_axis_in_both():
    result = tensor().max(dim=-1, keepdim=True)
    assert result.values.shape == result.indices.shape == (3, 4, 1)


def test_max_with_axis_returns_a_tensor_as_numpy_does():
    np.testing.assert_array_equal(tensor().max(axis=1).data, X.max(axis=1))


def test_max_with_dim_passes_the_gradient_to_the_maxima():
    x = tensor(requires_grad=True)
    x.max(dim=2).values.sum().backward()
    np.testing.assert_array_equal(x.grad, (X == X.max(axis=2, keepdims=True)).astype(float))


def test_max_with_a_tuple_dim_raises_naming_max():
    with pytest.raises(TypeError, match="max: dim= takes one axis"):
        tensor().max(dim=(0, 1))


@pytest.mark.parametrize("call, name", [
    (lambda t: t.sum(axis=0, dim=0), "sum"),
    (lambda t: t.mean(keepdims=True, keepdim=True), "mean"),
    (lambda t: t.max(axis=0, dim=0), "max"),
    (lambda t: F.softmax(t, axis=0, dim=0), "softmax"),
    (lambda t: F.log_softmax(t, axis=0, dim=0), "log_softmax"),
    (lambda t: t.softmax(0, axis=0), "softmax"),
    (lambda t: mg.concat([t, t], axis=0, dim=0), "concat"),
    (lambda t: mg.stack([t, t], axis=0, dim=0), "stack"),
    (lambda t: t.argmax(0, axis=0), "argmax"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_both_spellings_at_once_raise_a_type_error_naming_the_function(call, name):
    with pytest.raises(TypeError, match=f"^{name}: got both"):
        call(tensor())


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax_take_dim(dim):
    expected = np.exp(X) / np.exp(X).sum(axis=dim, keepdims=True)
    np.testing.assert_allclose(F.softmax(tensor(), dim=dim).data, expected, rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(tensor(), dim=dim).data, np.log(expected), rtol=1e-12, atol=1e-12)


def test_cat_is_concat_and_both_take_dim():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4))
    assert mg.cat is mg.concat
    np.testing.assert_array_equal(mg.cat([a, b], dim=1).data, np.concatenate([a, b], axis=1))
    np.testing.assert_array_equal(mg.cat([a, a], 0).data, np.concatenate([a, a], axis=0))


def test_stack_takes_dim():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    np.testing.assert_array_equal(mg.stack([a, b], dim=-1).data, np.stack([a, b], axis=-1))


# ---- shape methods ------------------------------------------------------------------------------

def test_view_is_reshape():
    np.testing.assert_array_equal(tensor().view(-1, 5).data, X.reshape(-1, 5))
    np.testing.assert_array_equal(tensor().view((4, 15)).data, X.reshape(4, 15))


def test_view_passes_the_gradient_back_in_the_original_shape():
    x = tensor(requires_grad=True)
    (x.view(60) * np.arange(60)).sum().backward()
    np.testing.assert_array_equal(x.grad, np.arange(60).reshape(X.shape))


def test_squeeze_removes_every_axis_of_size_one():
    y = RNG.standard_normal((1, 3, 1, 2))
    np.testing.assert_array_equal(tensor(y).squeeze().data, np.squeeze(y))


def test_squeeze_with_dim_removes_that_axis_only_if_its_size_is_one():
    y = RNG.standard_normal((1, 3, 1, 2))
    assert tensor(y).squeeze(2).shape == (1, 3, 2)
    assert tensor(y).squeeze(1).shape == (1, 3, 1, 2)        # size 3: unchanged, as in PyTorch
    assert tensor(y).squeeze((0, 2)).shape == (3, 2)


@pytest.mark.parametrize("dim", [0, 1, 3, -1, -4])
def test_unsqueeze_inserts_an_axis_as_expand_dims(dim):
    assert tensor().unsqueeze(dim).shape == np.expand_dims(X, dim).shape


def test_unsqueeze_out_of_range_raises_index_error_naming_it():
    with pytest.raises(IndexError, match="unsqueeze: dim 4"):
        tensor().unsqueeze(4)


def test_flatten_is_ravel_and_takes_start_and_end_dim():
    np.testing.assert_array_equal(tensor().flatten().data, X.ravel())
    assert tensor().flatten(1).shape == (3, 20)
    assert tensor().flatten(0, 1).shape == (12, 5)


def test_t_transposes_a_matrix_and_leaves_a_vector():
    m = RNG.standard_normal((2, 3))
    np.testing.assert_array_equal(tensor(m).t().data, m.T)
    assert tensor(m[0]).t().shape == (3,)
    with pytest.raises(ValueError, match="t: expected a tensor with at most 2 axes"):
        tensor().t()


@pytest.mark.parametrize("shape, dims", [((2, 3), (0, 1)), ((2, 3), (1, 0)), ((4, 2, 3), (0, 1)),
                                         ((4, 2, 3), (-1, 0)), ((4, 2, 3), (1, 1))])
def test_transpose_of_two_dims_swaps_them_as_pytorch(shape, dims):
    """transpose(d0, d1) exchanges two axes (torch.transpose), also for a matrix, where numpy's
    transpose(0, 1) would be the identity; the gradient of sum(w * y) is w with the axes swapped back."""
    x_np = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    x = mg.tensor(x_np, requires_grad=True)
    y = x.transpose(*dims)
    np.testing.assert_array_equal(y.data, np.swapaxes(x_np, *dims))
    w = np.random.default_rng(0).standard_normal(y.shape)
    (y * w).sum().backward()
    np.testing.assert_array_equal(x.grad, np.swapaxes(w, *dims))


def test_transpose_of_every_axis_or_a_tuple_is_numpys_permutation():
    x_np = np.arange(24.0).reshape(2, 3, 4)
    x = mg.tensor(x_np)
    np.testing.assert_array_equal(x.transpose(2, 0, 1).data, x_np.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.transpose((1, 0, 2)).data, x_np.transpose(1, 0, 2))
    np.testing.assert_array_equal(mg.tensor(x_np[0]).transpose((0, 1)).data, x_np[0])
    np.testing.assert_array_equal(x.transpose().data, x_np.T)
    with pytest.raises(ValueError, match="transpose: axes"):
        x.transpose(0, 3)


def test_permute_orders_every_axis_as_pytorch():
    x_np = np.arange(24.0).reshape(2, 3, 4)
    x = mg.tensor(x_np, requires_grad=True)
    y = x.permute(2, 0, 1)
    np.testing.assert_array_equal(y.data, x_np.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.permute((1, 0, 2)).data, x_np.transpose(1, 0, 2))
    np.testing.assert_array_equal(mg.tensor(x_np[0]).permute(0, 1).data, x_np[0])     # the identity
    w = np.arange(24.0).reshape(y.shape)
    (y * w).sum().backward()
    np.testing.assert_array_equal(x.grad, w.transpose(1, 2, 0))


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reductions_take_a_list_of_dims_as_pytorch(name):
    x_np = np.random.default_rng(1).standard_normal((2, 3, 4))
    x = mg.tensor(x_np)
    expected = getattr(np, name if name != "max" else "amax")(x_np, axis=(0, 2))
    np.testing.assert_allclose(getattr(x, name)(axis=[0, 2]).data, expected)
    if name != "max":                   # (max with dim= is PyTorch's one-axis pair)
        np.testing.assert_allclose(getattr(x, name)(dim=[0, 2]).data, expected)


def test_max_over_a_non_empty_axis_of_an_empty_tensor_is_empty_as_pytorch():
    x = mg.tensor(np.zeros((0, 3)), requires_grad=True)
    y = x.max(axis=1)
    assert y.shape == (0,)
    y.sum().backward()
    assert x.grad.shape == (0, 3)
    with pytest.raises(ValueError, match="max: no maximum over an empty axis"):
        x.max(axis=0)


def test_size_numel_and_dim():
    t = tensor()
    assert t.size() == (3, 4, 5) and t.size(0) == 3 and t.size(-1) == 5
    assert t.numel() == 60 and t.dim() == 3


def test_narrow_is_a_slice_along_dim():
    np.testing.assert_array_equal(tensor().narrow(1, 1, 2).data, X[:, 1:3])
    np.testing.assert_array_equal(tensor().narrow(0, -2, 2).data, X[1:3])
    with pytest.raises(IndexError, match="narrow"):
        tensor().narrow(1, 3, 2)


def test_contiguous_and_cpu_return_the_tensor_itself():
    t = tensor()
    assert t.contiguous() is t and t.cpu() is t


# ---- argmax, argmin, softmax methods -------------------------------------------------------------

@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_and_argmin_are_numpys_as_integer_tensors_without_gradient(name):
    x = tensor(requires_grad=True)
    for kwargs, expected in [({}, getattr(np, name)(X)), ({"dim": 1}, getattr(np, name)(X, axis=1)),
                             ({"dim": -1, "keepdim": True}, getattr(np, name)(X, axis=-1, keepdims=True))]:
        got = getattr(x, name)(**kwargs)
        np.testing.assert_array_equal(got.data, expected)
        assert got.dtype == np.int64 and not got.requires_grad


def test_softmax_method_is_the_closed_form_and_its_gradient_checks():
    x = tensor(X[0], requires_grad=True)
    np.testing.assert_allclose(x.softmax(1).data, np.exp(X[0]) / np.exp(X[0]).sum(1, keepdims=True), rtol=1e-12)
    weights = RNG.standard_normal(X[0].shape)
    assert mg.gradcheck(lambda a: (a.softmax(dim=0) * weights).sum(), [x])


def test_log_softmax_method_takes_dim():
    expected = X - np.log(np.exp(X).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(tensor().log_softmax(dim=1).data, expected, rtol=1e-12, atol=1e-12)


def test_a_one_element_integer_tensor_is_an_index():
    words = ["a", "b", "c", "d"]
    assert words[mg.tensor([0.1, 0.2, 0.9, 0.3]).argmax()] == "c"
    with pytest.raises(TypeError, match="index"):
        words[mg.tensor(1.0)]


# ---- dtypes and devices -----------------------------------------------------------------------------

def test_to_a_dtype_converts_and_the_gradient_comes_back_in_the_original_dtype():
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to(mg.float64)
    assert x.dtype == np.float32 and y.dtype == np.float64
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, np.array([2.0, -4.0, 6.0], dtype=np.float32))
    assert x.grad.dtype == np.float32


def test_float_double_and_long_are_pytorchs_dtypes():
    x = mg.tensor([1.5, -2.5])
    assert x.double().dtype == np.float64 and x.double().float().dtype == np.float32
    assert x.long().dtype == np.int64
    np.testing.assert_array_equal(x.long().data, np.array([1.5, -2.5]).astype(np.int64))


def test_to_an_integer_dtype_has_no_gradient():
    assert not mg.tensor([1.0, 2.0], requires_grad=True).to(mg.long).requires_grad


def test_to_the_same_dtype_or_the_cpu_returns_the_tensor_itself():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert x.to(np.float32) is x and x.to("cpu") is x and x.to(device="cpu") is x and x.float() is x


def test_to_takes_a_device_and_a_dtype_or_another_tensors_dtype():
    x = mg.tensor([1.0, 2.0])
    assert x.to("cpu", mg.float64).dtype == np.float64
    assert x.to(device="cpu", dtype=mg.double).dtype == np.float64
    assert x.to(mg.tensor([1], dtype=np.int32)).dtype == np.int32


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps", 0])
def test_any_device_but_the_cpu_raises_a_clear_error(device):
    with pytest.raises(RuntimeError, match="to: device .* is not available.*CPU only"):
        mg.tensor([1.0]).to(device)


def test_the_conversion_carries_a_tangent_in_forward_mode():
    _, tangent = mg.jvp(lambda a: a.double() * 3, (mg.tensor([1.0, 2.0]),), (np.array([1.0, -1.0], np.float32),))
    np.testing.assert_array_equal(tangent, [3.0, -3.0])
    assert tangent.dtype == np.float64


def test_dtype_names_are_pytorchs():
    assert (mg.float32, mg.float, mg.float64, mg.double, mg.int64, mg.long, mg.int32, mg.int) == (
        np.float32, np.float32, np.float64, np.float64, np.int64, np.int64, np.int32, np.int32)
    assert mg.tensor([1, 2], dtype=mg.long).dtype == np.int64


def test_star_import_leaves_the_builtins_alone():
    namespace = {}
    exec("from microgradseq import *", namespace)
    assert not {"float", "int", "bool"} & set(namespace)


def test_new_zeros_ones_and_full_take_the_tensors_dtype():
    w = mg.tensor([1.0], dtype=np.float64)
    assert w.new_zeros(2, 3).dtype == np.float64
    np.testing.assert_array_equal(w.new_zeros((2, 3)).data, np.zeros((2, 3)))
    np.testing.assert_array_equal(w.new_ones(4).data, np.ones(4))
    np.testing.assert_array_equal(w.new_full((2,), 7).data, [7.0, 7.0])
    assert w.new_zeros(2, dtype=np.int64).dtype == np.int64


def test_float_and_int_of_a_one_element_tensor():
    assert float(mg.tensor([2.5])) == 2.5 and int(mg.tensor(3)) == 3
    with pytest.raises(TypeError):
        float(mg.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mg.tensor([1.0, 2.0]))


# ---- creation functions ----------------------------------------------------------------------------

def test_arange_is_numpys_with_pytorchs_dtypes():
    assert mg.arange(5).dtype == np.int64
    np.testing.assert_array_equal(mg.arange(5).data, np.arange(5))
    np.testing.assert_array_equal(mg.arange(2, 11, 3).data, np.arange(2, 11, 3))
    floats = mg.arange(0, 1, 0.25)
    assert floats.dtype == mg.get_default_dtype()
    np.testing.assert_array_equal(floats.data, [0.0, 0.25, 0.5, 0.75])


def test_full_infers_the_dtype_of_its_value_as_pytorch():
    assert mg.full((2, 3), 7).dtype == np.int64
    assert mg.full((2,), 1.5).dtype == mg.get_default_dtype()
    assert mg.full((2,), True).dtype == np.bool_
    np.testing.assert_array_equal(mg.full((2, 2), 1.5).data, np.full((2, 2), 1.5))


def test_zeros_like_and_ones_like_take_shape_and_dtype():
    like = mg.tensor(np.ones((2, 3), dtype=np.float64))
    assert mg.zeros_like(like).dtype == np.float64 and mg.ones_like(like).shape == (2, 3)
    np.testing.assert_array_equal(mg.zeros_like(like).data, np.zeros((2, 3)))
    np.testing.assert_array_equal(mg.ones_like(np.arange(3)).data, np.ones(3, dtype=np.int64))


def test_rand_draws_uniform_0_1_from_the_librarys_generator():
    mg.manual_seed(4)
    got = mg.rand(2, 3)
    np.testing.assert_array_equal(got.data, np.random.default_rng(4).random((2, 3)).astype(np.float32))
    big = mg.rand(100_000).data
    assert big.min() >= 0 and big.max() < 1 and abs(big.mean() - 0.5) < 4 * np.sqrt(1 / 12 / 100_000)


def test_multinomial_with_replacement_draws_each_category_at_its_probability():
    probs = np.array([0.1, 0.0, 0.6, 0.3])
    draws = mg.multinomial(mg.tensor(probs * 5), 20_000, replacement=True, rng=np.random.default_rng(0)).data
    assert draws.dtype == np.int64 and draws.shape == (20_000,)
    frequencies = np.bincount(draws, minlength=4) / 20_000
    np.testing.assert_allclose(frequencies, probs, atol=4 * np.sqrt(0.25 / 20_000))


def test_multinomial_without_replacement_draws_distinct_categories_of_nonzero_weight():
    for seed in range(20):
        draws = mg.multinomial([0.2, 0.0, 0.5, 0.3], 3, rng=np.random.default_rng(seed)).data
        assert sorted(draws) == [0, 2, 3]


def test_multinomial_takes_one_row_per_draw():
    rows = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(mg.multinomial(rows, 2, replacement=True).data, [[1, 1], [2, 2]])


def test_multinomial_draws_from_the_librarys_generator():
    mg.manual_seed(7)
    first = mg.multinomial(np.ones(10), 4).data
    mg.manual_seed(7)
    np.testing.assert_array_equal(mg.multinomial(np.ones(10), 4).data, first)


@pytest.mark.parametrize("probs, count, message", [
    ([0.5, -0.1], 1, "non-negative"),
    ([0.0, 0.0], 1, "positive sum"),
    ([0.5, 0.0], 2, "without replacement"),
    ([[[1.0]]], 1, "shape"),
])
def test_multinomial_refuses_bad_weights(probs, count, message):
    with pytest.raises(ValueError, match=message):
        mg.multinomial(probs, count)


def test_softmax_and_log_softmax_over_an_empty_axis_are_empty_as_pytorch():
    x = mg.tensor(np.zeros((3, 0)), requires_grad=True)
    for fn in (F.softmax, F.log_softmax):
        y = fn(x, dim=1)
        assert y.shape == (3, 0)
        y.sum().backward()
        assert x.grad.shape == (3, 0)


@pytest.mark.parametrize("call, message", [
    (lambda: F.softmax(mg.tensor(np.zeros((2, 3))), dim=5), r"softmax: axis 5 is not an axis of shape \(2, 3\)"),
    (lambda: F.softmax(mg.tensor(1.0), dim=1), r"softmax: axis 1 is not an axis of shape \(\)"),
    (lambda: F.cross_entropy(mg.tensor(np.array(1.0)), np.array(0)), "cross_entropy: expected scores with a class axis"),
    (lambda: mg.tensor([1, 2]) ** -1, "pow: Integers to negative integer powers are not allowed"),
], ids=["softmax axis", "softmax 0-d", "cross_entropy 0-d", "int pow"])
def test_errors_name_the_function_and_the_reason(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_iterating_gives_the_rows_and_a_0_d_tensor_cannot_be_iterated_as_pytorch():
    rows = list(mg.tensor(np.arange(6.0).reshape(3, 2)))
    assert [r.data.tolist() for r in rows] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(mg.tensor(1.0))
    with pytest.raises(RuntimeError, match="no elements"):
        bool(mg.tensor(np.ones(0)))


def test_permute_and_transpose_name_themselves_when_the_axes_do_not_fit():
    x = mg.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"permute: dims \(0, 1\) are not an order of the 3 axes"):
        x.permute(0, 1)
    with pytest.raises(ValueError, match="transpose: axes .* are neither two axes to swap nor a permutation"):
        x.transpose(0, 3)


# ---- uniform_ and normal_: old code's in-place random fills ---------------------------------------

def test_uniform_and_normal_fill_in_place_from_their_distribution():
    """100,000 draws: uniform(-0.1, 0.1) stays inside its bounds with mean 0 (standard error 1.8e-4);
    N(2, 0.5^2) has mean 2 and std 0.5 (standard errors 1.6e-3 and 1.1e-3): bounds at 6 of them."""
    t = mg.FloatTensor(100, 1000)
    assert t.uniform_(-0.1, 0.1) is t and t.dtype == np.float32
    assert t.data.min() >= -0.1 and t.data.max() <= 0.1 and abs(t.data.mean()) < 6 * 1.8e-4
    n = mg.zeros(100, 1000, dtype=np.float64).normal_(2.0, 0.5)
    assert abs(n.data.mean() - 2.0) < 6 * 1.6e-3 and abs(n.data.std() - 0.5) < 6 * 1.1e-3


def test_uniform_and_normal_follow_the_generator_and_the_rules_of_in_place_changes():
    draws = [mg.zeros(5).normal_(generator=mg.Generator().manual_seed(3)).tolist() for _ in range(2)]
    assert draws[0] == draws[1]
    w = mg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="uniform_: a leaf tensor that requires grad"):
        w.uniform_()
    with mg.no_grad():
        w.uniform_(1.0, 2.0)
    assert w.is_leaf and (w.data >= 1.0).all()
    rows = mg.zeros(2, 3)
    rows[0].uniform_(1.0, 2.0)                          # a part: the write goes into rows
    assert (rows.data[0] >= 1.0).all() and not rows.data[1].any()


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.zeros(2, dtype=np.int64).uniform_(), TypeError, "uniform_: expected a floating-point tensor"),
    (lambda: mg.zeros(2).uniform_(1.0, 0.0), ValueError, r"uniform_: expected a <= b, got a=1.0, b=0.0"),
    (lambda: mg.zeros(2).normal_(0.0, -1.0), ValueError, r"normal_: std must be >= 0, got -1.0"),
    (lambda: mg.zeros(2).normal_(float("nan")), ValueError, "normal_: mean must be a finite number"),
])
def test_uniform_and_normal_refuse_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_legacy_typed_constructors_are_also_types():
    """Old code's `isinstance(x, torch.LongTensor)` (a tensor of that dtype) and `x.type(torch.LongTensor)`
    (a conversion, fractions cut toward zero as PyTorch's)."""
    x = mg.tensor([1.5, -2.5])
    assert isinstance(x, mg.FloatTensor) and not isinstance(x, mg.LongTensor)
    assert isinstance(x.long(), mg.LongTensor) and not isinstance(x.data, mg.FloatTensor)
    converted = x.type(mg.LongTensor)
    assert converted.dtype == np.int64 and converted.tolist() == [1, -2]
    assert x.type(mg.DoubleTensor).dtype == np.float64


# ---- the generator's state: a checkpoint that resumes a run saves it ------------------------------

def test_set_rng_state_puts_the_generator_back_where_get_rng_state_found_it_through_a_saved_file(tmp_path):
    mg.manual_seed(11)
    mg.randn(4)
    state = mg.get_rng_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    expected = np.random.default_rng(11)
    expected.standard_normal(4)                 # (randn draws numpy's standard normals)
    following = expected.standard_normal(5)
    mg.save({"rng_state": state}, tmp_path / "checkpoint.pt")
    mg.randn(100)                               # the run goes on, then resumes from the checkpoint
    mg.set_rng_state(mg.load(tmp_path / "checkpoint.pt")["rng_state"])
    np.testing.assert_allclose(mg.randn(5, dtype=np.float64).data, following)


def test_initial_seed_is_the_last_seed_and_seed_sets_a_fresh_one():
    mg.manual_seed(2024)
    assert mg.initial_seed() == 2024
    fresh = mg.seed()
    assert mg.initial_seed() == fresh and 0 <= fresh < 2 ** 63
    np.testing.assert_allclose(mg.randn(3, dtype=np.float64).data, np.random.default_rng(fresh).standard_normal(3))


@pytest.mark.parametrize("state, error, words", [
    (np.zeros(3, np.float32), TypeError, "set_rng_state: expected the uint8 tensor get_rng_state"),
    (np.frombuffer(b"not a state", np.uint8), ValueError, "set_rng_state: these 11 bytes are not a state"),
])
def test_set_rng_state_refuses_what_get_rng_state_did_not_give_and_changes_nothing(state, error, words):
    mg.manual_seed(5)
    with pytest.raises(error, match=words):
        mg.set_rng_state(state)
    np.testing.assert_allclose(mg.randn(2, dtype=np.float64).data, np.random.default_rng(5).standard_normal(2))


# ---- torch.linalg's norms, histc, use_deterministic_algorithms, transpose(dim0=, dim1=) (porting round 19) ----

@pytest.mark.parametrize("call, closed_form", [
    (lambda t: mg.linalg.norm(t), lambda a: np.sqrt(np.sum(a * a))),
    (lambda t: mg.linalg.norm(t, dim=-1), lambda a: np.sqrt(np.sum(a * a, axis=-1))),
    (lambda t: mg.linalg.norm(t, ord=1, dim=0, keepdim=True), lambda a: np.sum(np.abs(a), axis=0, keepdims=True)),
    (lambda t: mg.linalg.norm(t, ord=float("inf"), dim=1), lambda a: np.max(np.abs(a), axis=1)),
    (lambda t: mg.linalg.norm(t, dim=(0, 1)), lambda a: np.sqrt(np.sum(a * a, axis=(0, 1)))),
    (lambda t: mg.linalg.norm(t[0], "fro"), lambda a: np.sqrt(np.sum(a[0] * a[0]))),
    (lambda t: mg.linalg.norm(t[0, 0], 1), lambda a: np.sum(np.abs(a[0, 0]))),
    (lambda t: mg.linalg.vector_norm(t), lambda a: np.sqrt(np.sum(a * a))),
    (lambda t: mg.linalg.vector_norm(t, 1, dim=(0, 2)), lambda a: np.sum(np.abs(a), axis=(0, 2))),
    (lambda t: mg.linalg.vector_norm(t, float("inf")), lambda a: np.max(np.abs(a))),
])
def test_linalg_norm_and_vector_norm_give_the_closed_form_and_its_gradient(call, closed_form):
    from test_op_gradients import central_differences
    x = tensor(requires_grad=True)
    out = call(x)
    np.testing.assert_allclose(out.data, closed_form(X), rtol=1e-12)
    weights = np.random.default_rng(3).standard_normal(out.shape)
    (out * weights).sum().backward()
    np.testing.assert_allclose(x.grad, central_differences(lambda a: np.sum(closed_form(a) * weights), X.copy()),
                               rtol=1e-6, atol=1e-8)


def test_linalg_norms_it_does_not_have_are_errors_naming_the_function():
    with pytest.raises(ValueError, match=r"linalg.norm: ord=3 is not a matrix norm"):
        mg.linalg.norm(tensor()[0], 3)
    with pytest.raises(ValueError, match=r"linalg.vector_norm: ord=3 is not supported"):
        mg.linalg.vector_norm(tensor(), 3)
    with pytest.raises(ValueError, match=r"linalg.norm: with ord=1 and no dim the input must be 1-d or 2-d"):
        mg.linalg.norm(tensor(), 1)
    for dim in [(0, 1, 2), ()]:             # (PyTorch: "If dim is specified, it must be of length 1 or 2")
        with pytest.raises(ValueError, match=r"linalg.norm: dim must be an int or a tuple of 1 or 2 axes"):
            mg.linalg.norm(mg.ones(2, 2, 2), dim=dim)
    np.testing.assert_allclose(mg.linalg.vector_norm(mg.ones(2, 2, 2), dim=(0, 1, 2)).item(), np.sqrt(8))


def test_histc_counts_in_equal_bins_over_min_max_or_the_entries_range():
    """torch.histc's bins: [0, 0.75), [0.75, 1.5), [1.5, 2.25), [2.25, 3] over (0, 3); entries outside and
    NaN not counted; min = max = 0 takes the entries' range, one value v widened to [v - 1, v + 1]."""
    x = tensor(np.array([1.0, 2.0, 1.0, 3.0, 5.0, -1.0, np.nan]))
    np.testing.assert_array_equal(mg.histc(x, bins=4, min=0, max=3).data, [0.0, 2.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.histc(4, 0, 3).data, [0.0, 2.0, 1.0, 1.0])
    np.testing.assert_array_equal(mg.histc(tensor(np.array([0.0, 1.0, 2.0, 3.0])), bins=3).data, [1.0, 1.0, 2.0])
    np.testing.assert_array_equal(mg.histc(tensor(np.array([2.0, 2.0])), bins=4).data, [0.0, 0.0, 2.0, 0.0])
    assert mg.histc(mg.tensor(np.ones(3, dtype=np.float32))).dtype == np.float32
    with pytest.raises(ValueError, match="histc: max must be larger than min"):
        mg.histc(x, bins=2, min=3, max=1)
    with pytest.raises(TypeError, match="histc: expected a floating-point tensor"):
        mg.histc(mg.tensor(np.array([1, 2])))


def test_use_deterministic_algorithms_is_kept_and_read_back():
    try:
        mg.use_deterministic_algorithms(True)
        assert mg.are_deterministic_algorithms_enabled() and not mg.is_deterministic_algorithms_warn_only_enabled()
        mg.use_deterministic_algorithms(False, warn_only=True)
        assert not mg.are_deterministic_algorithms_enabled() and mg.is_deterministic_algorithms_warn_only_enabled()
        with pytest.raises(ValueError, match="use_deterministic_algorithms: mode must be True or False, got 1"):
            mg.use_deterministic_algorithms(1)
        assert not mg.are_deterministic_algorithms_enabled()
    finally:
        mg.use_deterministic_algorithms(False)


def test_transpose_takes_pytorchs_keywords_dim0_and_dim1():
    x = tensor(requires_grad=True)
    for got in (mg.transpose(x, dim0=-1, dim1=-2), x.transpose(dim0=2, dim1=1), x.transpose(2, dim1=1)):
        np.testing.assert_array_equal(got.data, np.swapaxes(X, 1, 2))
    weights = RNG.standard_normal((3, 5, 4))
    (x.transpose(dim0=1, dim1=2) * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, np.swapaxes(weights, 1, 2))
    with pytest.raises(TypeError, match=r"transpose: expected two axes, transpose\(dim0, dim1\)"):
        x.transpose(dim0=1)
    with pytest.raises(TypeError, match=r"transpose: expected two axes"):
        x.transpose(0, dim0=1)


def test_module_hook_tables_are_pytorchs_dicts_and_backward_hooks_say_what_to_use_instead():
    layer = mg.nn.Linear(2, 2)
    layer._forward_hooks.clear()            # (fast.ai's and others' scripts reach into these)
    layer.register_forward_hook(lambda m, args, out: None)
    assert len(layer._forward_hooks) == 1 and len(layer._forward_pre_hooks) == 0
    for name in ("register_full_backward_hook", "register_backward_hook", "register_full_backward_pre_hook"):
        with pytest.raises(NotImplementedError, match=rf"Linear.{name}: .*output.register_hook"):
            getattr(layer, name)(lambda *args: None)


def test_sum_and_mean_take_pytorchs_dtype_converting_the_input_first():
    """torch.sum(input, dim, keepdim=False, *, dtype=None): "the input tensor is casted to dtype before the
    operation"; so is torch.mean's, which must be floating-point. The gradient comes back in the input's dtype."""
    x = mg.tensor(np.array([[1.5, 2.25], [-0.5, 4.0]], dtype=np.float32), requires_grad=True)
    total = x.sum(dtype=mg.float64)
    assert total.dtype == np.float64 and total.item() == 7.25
    total.backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    rows = mg.mean(x, 1, dtype=mg.float64)
    assert rows.dtype == np.float64 and rows.tolist() == [1.875, 1.75]
    assert mg.sum(x, dtype=mg.int64).tolist() == 1 + 2 + 0 + 4          # each entry cast (truncated) first
    assert mg.tensor([1, 2, 4]).mean(dtype=mg.float32).item() == pytest.approx(7 / 3)
    with pytest.raises(TypeError, match="^mean: dtype must be a floating-point dtype"):
        x.mean(dtype=mg.int64)


# PyTorch's signatures of the loss modules (torch.nn docs), argument by argument, in order
TORCH_LOSS_ARGUMENTS = {
    "MSELoss": ["size_average", "reduce", "reduction"],
    "L1Loss": ["size_average", "reduce", "reduction"],
    "KLDivLoss": ["size_average", "reduce", "reduction", "log_target"],
    "SmoothL1Loss": ["size_average", "reduce", "reduction", "beta"],
    "HuberLoss": ["reduction", "delta"],
    "BCELoss": ["weight", "size_average", "reduce", "reduction"],
    "BCEWithLogitsLoss": ["weight", "size_average", "reduce", "reduction", "pos_weight"],
    "CrossEntropyLoss": ["weight", "size_average", "ignore_index", "reduce", "reduction", "label_smoothing"],
    "NLLLoss": ["weight", "size_average", "ignore_index", "reduce", "reduction"],
}


@pytest.mark.parametrize("name", sorted(TORCH_LOSS_ARGUMENTS))
def test_loss_modules_take_pytorchs_arguments_in_pytorchs_order(name):
    """The loss modules' arguments come in PyTorch's order (the losses' deprecated size_average and reduce
    first), so a call that passes them by position ports; MSELoss, L1Loss, KLDivLoss, SmoothL1Loss, BCELoss
    and BCEWithLogitsLoss once took reduction first."""
    parameters = [p.name for p in inspect.signature(getattr(mg.nn, name)).parameters.values()
                  if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert parameters == TORCH_LOSS_ARGUMENTS[name]


def test_loss_modules_by_position_reduce_as_pytorch_and_a_reduction_string_first_still_works():
    """MSELoss(None, None, "sum") and BCELoss(None, None, None, "sum") sum, as PyTorch's; the library's own
    older order, a reduction string where size_average stands (MSELoss("sum")), means that reduction, which
    no size_average can mean; MSELoss(False) is PyTorch's size_average=False, a sum, with its warning."""
    pred, target = mg.tensor([1.0, -2.0], dtype=np.float64), mg.tensor([0.0, 0.0], dtype=np.float64)
    assert mg.nn.MSELoss(None, None, "sum")(pred, target).item() == 5.0          # 1 + 4
    assert mg.nn.MSELoss("sum")(pred, target).item() == 5.0
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert mg.nn.MSELoss(False)(pred, target).item() == 5.0
    p, y = mg.tensor([0.5, 0.25], dtype=np.float64), mg.tensor([1.0, 0.0], dtype=np.float64)
    expected = -np.log(0.5) - np.log(0.75)
    np.testing.assert_allclose(mg.nn.BCELoss(None, None, None, "sum")(p, y).item(), expected, rtol=1e-12)
    logits = mg.tensor([0.0, 0.0], dtype=np.float64)
    with_pos = mg.nn.BCEWithLogitsLoss(None, None, None, "none", mg.tensor([3.0, 3.0], dtype=np.float64))
    np.testing.assert_allclose(with_pos(logits, y).numpy(), [3 * np.log(2), np.log(2)], rtol=1e-12)
    assert mg.nn.SmoothL1Loss(None, None, "sum", 0.5)(pred, target).item() == 0.75 + 1.75   # |d| - beta / 2
    assert mg.nn.KLDivLoss(None, None, "batchmean", True).log_target is True


def test_size_is_a_tuple_of_sizes_equal_to_a_shape():
    """torch.Size([2, 3]): a tuple subclass (PyTorch's docs), so `x.shape == torch.Size([2, 3])` holds, it
    indexes and unpacks as a tuple, and numel() is the product of the sizes (1 for the empty shape)."""
    size = mg.Size([2, 3])
    assert isinstance(size, tuple) and size == (2, 3) and mg.zeros(2, 3).shape == size
    assert size[1] == 3 and size.numel() == 6 and mg.Size([]).numel() == 1 and mg.Size([4, 0]).numel() == 0
    assert mg.zeros(size).shape == (2, 3) and repr(size) == "Size([2, 3])"
    assert type(mg.Size([2, 3, 4])[1:]) is mg.Size and mg.Size([2, 3, 4])[1:].numel() == 12   # torch.Size's slice
    assert pickle.loads(pickle.dumps(size)) == size and type(pickle.loads(pickle.dumps(size))) is mg.Size
    with pytest.raises(TypeError):
        mg.Size([2.5])                                  # torch.Size([2.5]): TypeError


def test_random_fills_with_integers_from_from_to_to_minus_one_in_the_tensors_dtype():
    """Tensor.random_(from=0, to=None): "numbers sampled from the discrete uniform distribution over
    [from, to - 1]"; random_(to) draws from 0; with no bound, [0, 2^mantissa] for floats (2^24 for float32).
    The tensor keeps its dtype; manual_seed repeats the draws; from >= to is refused."""
    mg.manual_seed(3)
    classes = mg.empty(4000, dtype=mg.long).random_(5)
    assert classes.dtype == np.int64 and set(classes.tolist()) == {0, 1, 2, 3, 4}
    mg.manual_seed(3)
    assert mg.empty(4000, dtype=mg.long).random_(5).tolist() == classes.tolist()
    shifted = mg.zeros(2000).random_(10, 13)
    assert shifted.dtype == np.float32 and set(shifted.tolist()) == {10.0, 11.0, 12.0}
    wide = mg.zeros(2000).random_().numpy()
    assert wide.min() >= 0 and wide.max() <= 2 ** 24 and np.all(wide == np.round(wide)) and wide.max() > 2 ** 23
    with pytest.raises(ValueError, match="random_: expected from < to"):
        mg.zeros(2).random_(5, 5)
    with pytest.raises(TypeError, match="random_: expected random_"):
        mg.zeros(2).random_(1.5)


@pytest.mark.parametrize("dtype, bounds, name", [(mg.uint8, (-1, 5), "from"), (mg.uint8, (300,), "to - 1"),
                                                  (mg.bool, (5,), "to - 1"), (mg.int8, (-200, 0), "from"),
                                                  (mg.float16, (70000,), "to - 1")])
def test_random_refuses_bounds_its_dtype_cannot_hold(dtype, bounds, name):
    """PyTorch's check_from_to_in_range: "from is out of bounds for unsigned char" (and "to - 1 is out of
    bounds"), where a cast would wrap uint8's -1 to 255 and make bool's 4 True; complex is not supported."""
    with pytest.raises(ValueError, match=f"random_: {name} = .* is out of bounds for {np.dtype(dtype)}"):
        mg.empty(3, dtype=dtype).random_(*bounds)
    assert set(mg.empty(500, dtype=mg.bool).random_(0, 2).tolist()) == {False, True}
    assert mg.empty(2, dtype=mg.int8).random_(-128, 128).dtype == np.int8
    with pytest.raises(TypeError, match="random_: expected a real or bool tensor"):
        mg.tensor(np.zeros(2, np.complex64)).random_(3)


# PyTorch's first argument of each torch.nn.functional function, where it is not `input`
# (torch/nn/functional.py): a script that passes it by keyword (`F.softmax(input=e, dim=1)`) ports unchanged.
_FIRST_ARGUMENT_NOT_INPUT = {
    "bilinear": "input1", "cosine_embedding_loss": "input1", "margin_ranking_loss": "input1",
    "cosine_similarity": "x1", "pairwise_distance": "x1", "ctc_loss": "log_probs", "gumbel_softmax": "logits",
    "multi_head_attention_forward": "query", "scaled_dot_product_attention": "query", "one_hot": "tensor",
    "triplet_margin_loss": "anchor", "triplet_margin_with_distance_loss": "anchor"}


def test_every_functional_function_names_its_first_argument_as_pytorch_does():
    import inspect
    functional = mg.nn.functional
    wrong = {}
    for name in functional.__all__:
        function = getattr(functional, name)
        if inspect.isclass(function) or not callable(function):
            continue
        first = next(iter(inspect.signature(function).parameters))
        if first != _FIRST_ARGUMENT_NOT_INPUT.get(name, "input"):
            wrong[name] = first
    assert wrong == {}


def test_functional_calls_by_pytorchs_keywords_give_the_positional_results():
    """F.relu(x, inplace=True) (a new tensor all the same), F.linear(input=...), F.mse_loss(input=...),
    F.cross_entropy(input=...), against hand-written numpy."""
    F = mg.nn.functional
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    w, b = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 3.0]]), np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(F.relu(mg.tensor(x), inplace=True).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(F.relu(input=mg.tensor(x)).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(F.tanh(input=mg.tensor(x)).numpy(), np.tanh(x))
    np.testing.assert_allclose(F.sigmoid(input=mg.tensor(x)).numpy(), 1 / (1 + np.exp(-x)))
    logits = F.linear(input=mg.tensor(x), weight=mg.tensor(w), bias=mg.tensor(b))
    np.testing.assert_allclose(logits.numpy(), x @ w.T + b)
    np.testing.assert_allclose(F.mse_loss(input=mg.tensor(x), target=mg.zeros(2, 2)).item(), (x ** 2).mean())
    z = x @ w.T + b
    log_p = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    np.testing.assert_allclose(F.cross_entropy(input=logits, target=np.array([2, 0])).item(),
                               -(log_p[0, 2] + log_p[1, 0]) / 2)
    np.testing.assert_allclose(F.softmax(input=mg.tensor(x), dim=1).numpy(),
                               np.exp(x) / np.exp(x).sum(1, keepdims=True))
    with pytest.raises(ValueError, match="relu: inplace must be True or False"):
        F.relu(mg.tensor(x), inplace="yes")


def test_clip_is_clamp_under_pytorchs_other_name():
    """torch.clip / Tensor.clip are aliases of clamp: `min=` and `max=` (the error sweep met
    `t.clip(min=0)` refused as an unexpected keyword)."""
    values = np.array([-1.0, 0.5, 2.0])
    x = mg.tensor(values, requires_grad=True)
    np.testing.assert_array_equal(x.clip(min=0).detach().numpy(), np.maximum(values, 0))
    np.testing.assert_array_equal(mg.clip(x, max=1.0).detach().numpy(), np.minimum(values, 1))
    x.clip(0, 1).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])          # 1 inside [0, 1], else 0
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        x.clip()


def test_in_asks_whether_any_entry_equals_the_element_as_pytorchs_contains():
    """PyTorch's Tensor.__contains__: (element == self).any() for a number or a tensor (broadcast); another
    type is a RuntimeError. Python's fallback compared the element with each row (an error for a matrix)."""
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert 2.0 in t and 4 in t and 5.0 not in t
    assert mg.tensor([3.0, 4.0]) in t and mg.tensor([4.0, 3.0]) not in t      # rows compared with broadcasting
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar, but you passed in a str"):
        "abc" in t


def test_the_contracts_argument_names_hold_beside_pytorchs():
    """The contract's names, `softmax(x, axis)`, `log_softmax(x, axis)`, `cross_entropy(logits, target)`,
    `mse_loss(pred, target)` and the method `clip(lo, hi)`, are keywords too, beside PyTorch's `input=`,
    `min=` and `max=`; both names at once is a TypeError naming the function. Values by hand-written numpy."""
    F = mg.nn.functional
    z = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    log_p = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    np.testing.assert_allclose(F.softmax(x=mg.tensor(z), axis=1).numpy(), np.exp(log_p))
    np.testing.assert_allclose(F.log_softmax(x=mg.tensor(z), axis=1).numpy(), log_p)
    np.testing.assert_allclose(F.cross_entropy(logits=mg.tensor(z), target=np.array([2, 0])).item(),
                               -(log_p[0, 2] + log_p[1, 0]) / 2)
    np.testing.assert_allclose(F.mse_loss(pred=mg.tensor(z), target=mg.zeros(2, 3)).item(), (z ** 2).mean())
    x = mg.tensor([-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(x.clip(lo=0.0, hi=1.0).numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(x.clip(hi=1.0).numpy(), [-1.0, 0.5, 1.0])
    with pytest.raises(TypeError, match=r"^softmax: got both x= and input=; pass one"):
        F.softmax(x=mg.tensor(z), input=mg.tensor(z), dim=1)
    with pytest.raises(TypeError, match=r"^clamp: got both lo= and min=; pass one"):
        x.clip(lo=0.0, min=0.0)
