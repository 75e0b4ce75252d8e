"""Tests written from a mutation check of the activations and the softmax family
(functional/activations.py, ops/softmax.py): each pins a behaviour that a hand-made wrong
implementation changed without any other test noticing -- the implicit-dim warnings, the argument
checks, PyTorch's defaults (softplus's threshold, mish's lack of one), the dtypes (integers, float16
computed in float32), and a few gradients at edges (NaN, zero distances; and a bug the check found,
the NaN gradient of ||x||_p for p < 1 at a zero entry).
Expected values are written in numpy (or as closed forms) from PyTorch's documented definitions,
never taken from the library's own output. (The nn.Module wrappers and the losses have their own mutation-check files.)"""

import math
import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F

# PyTorch's SELU constants (the SELU paper's), written out to 32 digits
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def caught_warnings(fn):
    """fn() with every warning recorded: (its result, the list of warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, caught


# ---- softmax and log_softmax without a dim: the last axis, and a warning from 3-d on ------------------

@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
def test_softmax_with_a_dim_given_does_not_warn(fn):
    """Pins that the implicit-dim warning is only for calls without a dim: F.softmax(x, dim=2) and
    F.softmax(x, 2) on a 3-d input say nothing (PyTorch warns only when dim is None)."""
    x = mg.tensor(np.zeros((2, 3, 4)))
    _, caught = caught_warnings(lambda: (fn(x, dim=2), fn(x, 2), fn(x, axis=-1)))
    assert not caught


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, pytorch_dim", [((2, 3, 4), 0), ((2, 3, 4, 5), 1)])
def test_softmax_without_dim_on_3d_and_more_warns_naming_pytorchs_implicit_dim(name, shape, pytorch_dim):
    """Pins the warning for an input of 3 or more axes called without a dim: the last axis is used
    (values as np softmax along -1), and the message names the function and the dim PyTorch's
    deprecated `_get_softmax_dim` would have picked (0 for 3-d, 1 otherwise), at the caller's line."""
    x = np.random.default_rng(0).normal(size=shape)
    y, caught = caught_warnings(lambda: getattr(F, name)(mg.tensor(x)))
    assert len(caught) == 1 and issubclass(caught[0].category, UserWarning)
    message = str(caught[0].message)
    assert message.startswith(f"{name}:") and f"would be dim {pytorch_dim}." in message
    assert caught[0].filename == __file__
    expected = np_softmax(x, -1)
    np.testing.assert_allclose(y.numpy(), expected if name == "softmax" else np.log(expected), rtol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_the_implicit_dim_warning_points_at_the_users_line_through_jvp_and_grad(name):
    """Called by the library (mg.jvp, mg.func.grad) rather than directly, the no-dim warning still names
    this file (the user's line), not a frame inside microgradseq."""
    x = np.random.default_rng(4).normal(size=(2, 3, 4))
    fn = getattr(F, name)
    _, caught = caught_warnings(lambda: mg.jvp(fn, [mg.tensor(x)], [np.ones_like(x)]))
    assert caught and all(w.filename == __file__ for w in caught)
    _, caught = caught_warnings(lambda: mg.func.grad(lambda t: fn(t).sum())(mg.tensor(x)))
    assert caught and all(w.filename == __file__ for w in caught)


# ---- the log_softmax op: an empty axis of integers --------------------------------------------


def test_log_softmax_of_empty_integers_is_floating_as_of_non_empty_ones():
    """log_softmax of integer logits is floating (log of a sum of exponentials); an empty input has the
    same dtype as a non-empty one (the default float dtype), not int64."""
    assert F.log_softmax(mg.tensor(np.array([[1, 2, 3]])), dim=1).dtype == np.float32
    assert F.log_softmax(mg.tensor(np.zeros((2, 0), np.int64)), dim=1).dtype == np.float32


# ---- the argument checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [lambda x: F.elu(x, True), lambda x: F.leaky_relu(x, True),
                                  lambda x: F.softplus(x, beta=True), lambda x: F.hardtanh(x, False, 1.0),
                                  lambda x: F.softshrink(x, True), lambda x: F.celu(x, np.bool_(True))])
def test_a_bool_is_not_a_number_for_the_settings(call):
    """A bool setting is a TypeError (a mistyped flag passed where a number goes), not 1 or 0."""
    with pytest.raises(TypeError, match="must be a number"):
        call(mg.tensor(np.array([-1.0, 1.0])))


@pytest.mark.parametrize("call, where", [(lambda x: F.leaky_relu(x, "0.2"), "leaky_relu"),
                                         (lambda x: F.elu(x, None), "elu"),
                                         (lambda x: F.threshold(x, "0", 1.0), "threshold")])
def test_a_setting_that_is_not_a_number_is_a_type_error_naming_the_function(call, where):
    with pytest.raises(TypeError, match=f"^{where}: "):
        call(mg.tensor(np.array([-1.0, 1.0])))


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "silu", "mish", "leaky_relu", "hardtanh", "relu6",
                                  "hardsigmoid", "hardswish"])
def test_inplace_must_be_a_bool(name):
    """inplace= is PyTorch's flag (changing nothing here): 1 or "yes" is a ValueError naming it."""
    with pytest.raises(ValueError, match="inplace must be True or False"):
        getattr(F, name)(mg.tensor(np.array([-1.0, 1.0])), inplace=1)


def test_threshold_inplace_must_be_a_bool():
    with pytest.raises(ValueError, match="threshold: inplace must be True or False"):
        F.threshold(mg.tensor(np.array([-1.0, 1.0])), 0.0, 2.0, inplace="no")


# ---- dtypes: integers, float16 computed in float32 -------------------------------------------------------

@pytest.mark.parametrize("name, closed_form", [("tanhshrink", lambda a: a - np.tanh(a)),
                                               ("softsign", lambda a: a / (1 + np.abs(a)))])
def test_tanhshrink_and_softsign_of_integers_are_in_the_default_float_dtype(name, closed_form):
    """PyTorch's tanhshrink and softsign of an integer tensor give the default float dtype (float32)."""
    x = np.array([-3, 0, 2])
    y = getattr(F, name)(mg.tensor(x))
    assert y.dtype == mg.get_default_dtype() == np.float32
    np.testing.assert_allclose(y.numpy(), closed_form(x.astype(np.float64)), rtol=1e-6)


HALF = {"elu": (F.elu, lambda a: np.where(a > 0, a, np.expm1(a))),
        "selu": (F.selu, lambda a: SELU_SCALE * np.where(a > 0, a, SELU_ALPHA * np.expm1(a))),
        "silu": (F.silu, lambda a: a / (1 + np.exp(-a))),
        "mish": (F.mish, lambda a: a * np.tanh(np.log1p(np.exp(a)))),
        "logsigmoid": (F.logsigmoid, lambda a: -np.logaddexp(0, -a)),
        "hardsigmoid": (F.hardsigmoid, lambda a: np.clip(a / 6 + 0.5, 0, 1)),
        "hardswish": (F.hardswish, lambda a: a * np.clip(a + 3, 0, 6) / 6),
        "glu": (lambda t: F.glu(t, 0), lambda a: a[:len(a) // 2] / (1 + np.exp(-a[len(a) // 2:]))),
        "softmin": (lambda t: F.softmin(t, 0), lambda a: np.exp(-a) / np.exp(-a).sum()),
        "normalize": (lambda t: F.normalize(t, dim=0), lambda a: a / np.sqrt(np.sum(a * a)))}


@pytest.mark.parametrize("name", list(HALF))
def test_float16_is_computed_in_float32_and_rounded_once(name):
    """PyTorch's CPU kernels compute half in float32 and round once: each entry is the float64 closed
    form rounded to float16 (float32 is far more precise than half's 11 bits here), in float16."""
    x = np.linspace(-4.3, 3.7, 64).astype(np.float16)
    function, closed_form = HALF[name]
    y = function(mg.tensor(x))
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.numpy(), closed_form(x.astype(np.float64)).astype(np.float16))


def test_a_float16_numpy_array_is_computed_in_float32_as_a_float16_tensor_is():
    """An array input is the tensor of it: softplus(12) in float16 is 12 (e^12 overflows half, so the
    work is in float32 and rounded once), not inf, whether 12 comes as a tensor or a numpy array."""
    for x in (np.array([12.0, -1.0], np.float16), mg.tensor(np.array([12.0, -1.0], np.float16))):
        y = F.softplus(x)
        assert y.dtype == np.float16
        np.testing.assert_array_equal(y.numpy(), np.log1p(np.exp([12.0, -1.0])).astype(np.float16))


# ---- softmin's dim and dtype -----------------------------------------------------------------------


def test_softmin_dim_must_be_an_integer_in_range():
    """dim 1.0 is a TypeError and dim 2 of a 2-d input an IndexError, as PyTorch's ("Dimension out of
    range")."""
    x = mg.tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="softmin: dim must be an integer"):
        F.softmin(x, 1.0)
    with pytest.raises(IndexError, match="softmin: dim 2 is out of range"):
        F.softmin(x, 2)


def test_softmin_dtype_converts_integers_before_the_floating_check():
    """PyTorch: "dtype: the input is cast to dtype before the operation", so integer input with
    dtype=float64 works; without a dtype, integers are a TypeError (softmin is for floating tensors)."""
    x = np.array([[1, 2, 4]])
    y = F.softmin(mg.tensor(x), 1, dtype=np.float64)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), np_softmax(-x.astype(np.float64), 1), rtol=1e-14)
    with pytest.raises(TypeError, match="softmin"):
        F.softmin(mg.tensor(x), 1)


# ---- softplus and mish -----------------------------------------------------------------------------


@pytest.mark.parametrize("x", [15.0, 19.5, 21.0, 25.0])
def test_softplus_default_threshold_is_twenty(x):
    """PyTorch's default threshold=20: log(1 + e^x) up to beta x = 20 (softplus(15) = 15 + 3.06e-7, slope
    sigmoid(15) = 1 - 3.06e-7), x itself past it (softplus(21) = 21, slope 1)."""
    t = mg.tensor(np.array([x]), requires_grad=True)
    y = F.softplus(t)
    y.sum().backward()
    if x <= 20:
        np.testing.assert_allclose(y.numpy(), [np.log1p(np.exp(x))], rtol=1e-15)
        np.testing.assert_allclose(t.grad, [1 / (1 + np.exp(-x))], rtol=1e-15)
        assert y.numpy()[0] != x and t.grad[0] != 1.0
    else:
        assert y.numpy()[0] == x and t.grad[0] == 1.0


def test_softplus_threshold_compares_beta_times_x():
    """PyTorch: "reverts to the linear function when input x beta > threshold": with beta = 2 and the
    default threshold 20, x = 9.9 (beta x = 19.8) is log(1 + e^(2x)) / 2, x = 10.1 is x."""
    y = F.softplus(mg.tensor(np.array([9.9, 10.1])), beta=2.0)
    np.testing.assert_allclose(y.numpy(), [np.log1p(np.exp(19.8)) / 2, 10.1], rtol=1e-15)
    assert y.numpy()[0] != 9.9


def test_mish_is_x_tanh_of_the_unthresholded_softplus():
    """PyTorch's mish kernel is x tanh(log1p(e^x)), with no linear cut-off below where tanh rounds to 1:
    at x = 10.5 and 15 tanh(log1p(e^x)) differs from tanh(x) in the last digits of float64."""
    x = np.array([10.5, 12.0, 15.0])
    t = mg.tensor(x, requires_grad=True)
    y = F.mish(t)
    np.testing.assert_allclose(y.numpy(), x * np.tanh(np.log1p(np.exp(x))), rtol=2e-16, atol=0)
    sp, s = np.log1p(np.exp(x)), 1 / (1 + np.exp(-x))
    y.sum().backward()
    np.testing.assert_allclose(t.grad, np.tanh(sp) + x * s * (1 - np.tanh(sp) ** 2), rtol=1e-15)


# ---- prelu ----------------------------------------------------------------------------------------------


def test_prelu_of_a_0d_input_with_a_one_element_weight_is_0d():
    """A 0-d input has one channel: prelu(-2, [0.25]) = -0.5 of shape (), as the input's (PyTorch's),
    and the weight's gradient is x = -2, of the weight's shape (1,)."""
    x = mg.tensor(np.float64(-2.0))
    w = mg.tensor(np.array([0.25]), requires_grad=True)
    y = F.prelu(x, w)
    assert y.shape == () and y.item() == -0.5
    y.backward()
    assert w.grad.shape == (1,) and w.grad[0] == -2.0


# ---- hardtanh and the clamps -----------------------------------------------------------------------------

def test_hardtanh_passes_nan_through_with_slope_one():
    """NaN is not at or beyond a bound: it stays NaN, and its slope is 1 (PyTorch's backward uses
    (x <= min) | (x >= max) for its zero, false for NaN); the same for relu6."""
    for fn in (F.hardtanh, F.relu6):
        x = mg.tensor(np.array([np.nan, 0.5]), requires_grad=True)
        y = fn(x)
        assert np.isnan(y.numpy()[0])
        y.sum().backward()
        np.testing.assert_array_equal(x.grad, [1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8])
def test_hardtanh_and_relu6_keep_integers_integers(dtype):
    """PyTorch's hardtanh is a clamp: an integer tensor stays integer, in its dtype."""
    x = np.array([-7, -1, 0, 3, 9], dtype)
    y = F.hardtanh(mg.tensor(x), -2.0, 4.0)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.numpy(), [-2, -1, 0, 3, 4])
    y6 = F.relu6(mg.tensor(x))
    assert y6.dtype == dtype
    np.testing.assert_array_equal(y6.numpy(), [0, 0, 0, 3, 6])


@pytest.mark.parametrize("name, call", [("relu", F.relu), ("relu", mg.relu), ("ReLU", lambda t: mg.nn.ReLU()(t)),
                                        ("hardtanh", F.hardtanh), ("relu6", F.relu6),
                                        ("Hardtanh", lambda t: mg.nn.Hardtanh()(t))])
def test_relu_hardtanh_and_relu6_of_a_bool_tensor_raise_as_pytorch(name, call):
    """aten/src/ATen/native/Activation.cpp: relu checks "Boolean inputs not supported for relu", hardtanh_out
    "Bool inputs not supported for hardtanh", and relu6 is hardtanh(0, 6)."""
    with pytest.raises(TypeError, match=rf"^{name}: expected a tensor of numbers, got dtype bool"):
        call(mg.tensor([True, False]))
    y = call(mg.tensor([-2, 0, 3, 8]))
    expected = {"relu": [0, 0, 3, 8], "ReLU": [0, 0, 3, 8], "relu6": [0, 0, 3, 6]}.get(name, [-1, 0, 1, 1])
    assert y.dtype == np.int64 and y.tolist() == expected


def test_hardtanh_with_equal_bounds_is_constant_and_min_above_max_is_an_error():
    """PyTorch checks only min_val > max_val ("min_val cannot be greater than max_val"): equal bounds
    give that constant everywhere, slope 0."""
    x = mg.tensor(np.array([-3.0, 0.5, 2.0]), requires_grad=True)
    y = F.hardtanh(x, 0.5, 0.5)
    np.testing.assert_array_equal(y.numpy(), [0.5, 0.5, 0.5])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="hardtanh: min_val cannot be greater than max_val"):
        F.hardtanh(x, 1.0, 0.5)


# ---- softshrink ------------------------------------------------------------------------------------

def test_softshrink_with_lambd_zero_is_the_identity_and_an_infinite_lambd_is_refused():
    """PyTorch's softshrink takes lambd >= 0 ("lambda must be greater or equal to 0"): 0 gives x itself;
    this library also refuses an infinite lambd (its docstring: a finite number >= 0)."""
    x = np.array([-1.5, -0.25, 0.0, 0.75])
    np.testing.assert_array_equal(F.softshrink(mg.tensor(x), 0.0).numpy(), x)
    with pytest.raises(ValueError, match="softshrink: lambd must be a finite number >= 0"):
        F.softshrink(mg.tensor(x), math.inf)


# ---- the norms of normalize and pairwise_distance ---------------------------------------------------------

def test_p_zero_norm_counts_negative_entries_too_and_has_a_zero_gradient():
    """torch.norm's p = 0 is the number of non-zero entries, negative ones included; its gradient is 0
    (a count), and it still reaches the inputs (a zero gradient, not a missing one)."""
    x1 = mg.tensor(np.array([[1.0, -3.0, 0.0, -0.5]]), requires_grad=True)
    d = F.pairwise_distance(x1, np.zeros((1, 4)), p=0, eps=0.0)
    np.testing.assert_array_equal(d.numpy(), [3.0])
    d.sum().backward()
    np.testing.assert_array_equal(x1.grad, np.zeros((1, 4)))


def np_norm_grad_row(diff, p):
    """d||d||_p / dd for a row d with no zero entry: sign(d) |d|^(p-1) ||d||^(1-p)."""
    norm = np.sum(np.abs(diff) ** p) ** (1 / p)
    return np.sign(diff) * np.abs(diff) ** (p - 1) * norm ** (1 - p)


def test_a_zero_difference_has_a_zero_gradient_for_p_above_one():
    """||0||_3 = 0 with slope 0 where the sum of |x|^p is 0 (PyTorch's norm backward masks norm == 0),
    not the NaN of 0^(1/p - 1) * 0 from the chain rule; a row away from 0 keeps its usual gradient."""
    x1 = mg.tensor(np.array([[0.5, -1.0], [2.0, 1.0]]), requires_grad=True)
    d = F.pairwise_distance(x1, np.array([[0.5, -1.0], [1.0, 3.0]]), p=3.0, eps=0.0)
    diff = np.array([1.0, -2.0])
    np.testing.assert_allclose(d.numpy(), [0.0, np.sum(np.abs(diff) ** 3) ** (1 / 3)], rtol=1e-15)
    d.sum().backward()
    np.testing.assert_allclose(x1.grad, [[0.0, 0.0], np_norm_grad_row(diff, 3.0)], rtol=1e-14)


@pytest.mark.parametrize("p", [0.5, -1.0])
def test_a_zero_entry_has_a_zero_gradient_for_p_below_one(p):
    """PyTorch's norm_backward for p < 1: sgn(x) |x|^(p-1) with the x == 0 entries masked to 0, times
    grad * norm^(1-p). So a zero row has a zero gradient, and a zero entry of a non-zero row too (for
    p = 0.5 the row (0, 1) has norm 1 and gradient (0, 1)); for p = -1 a zero entry makes the norm 0
    and the whole row's gradient 0 (norm^2 = 0)."""
    x1 = mg.tensor(np.array([[0.5, -1.0], [0.0, 1.0], [2.0, 1.0]]), requires_grad=True)
    d = F.pairwise_distance(x1, np.array([[0.5, -1.0], [0.0, 0.0], [1.0, 3.0]]), p=p, eps=0.0)
    diff = np.array([1.0, -2.0])
    d.sum().backward()
    middle = [0.0, 1.0] if p > 0 else [0.0, 0.0]
    np.testing.assert_allclose(x1.grad, [[0.0, 0.0], middle, np_norm_grad_row(diff, p)], rtol=1e-14)


def test_a_nan_p_is_a_value_error():
    with pytest.raises(ValueError, match="pairwise_distance: p"):
        F.pairwise_distance(np.zeros((1, 2)), np.ones((1, 2)), p=math.nan)
    with pytest.raises(ValueError, match="normalize: p"):
        F.normalize(mg.tensor(np.ones((1, 2))), p=math.nan)


# ---- normalize ----------------------------------------------------------------------------------------------


def test_normalize_divides_by_the_norm_not_norm_plus_eps():
    """x / max(||x||, eps): a vector of norm 5e-12 (above eps = 1e-12) becomes a unit vector exactly,
    (0.6, 0.8), not x / (||x|| + eps) = (0.5, 0.667)."""
    y = F.normalize(mg.tensor(np.array([[3e-12, 4e-12]])))
    np.testing.assert_allclose(y.numpy(), [[0.6, 0.8]], rtol=1e-14)


# ---- cosine_similarity ---------------------------------------------------------------------------------


def test_cosine_similarity_of_an_integer_and_a_float32_tensor_is_float32():
    """An integer input takes the other's float dtype (float32 here, not numpy's float64 promotion);
    two integer inputs are refused (PyTorch's cosine_similarity needs a floating tensor)."""
    y = F.cosine_similarity(mg.tensor(np.array([[3, 4]])), mg.tensor(np.array([[1.0, 0.0]], np.float32)))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), [0.6], rtol=1e-6)
    with pytest.raises(TypeError, match="cosine_similarity: expected a floating-point tensor"):
        F.cosine_similarity(mg.tensor(np.array([[3, 4]])), mg.tensor(np.array([[1, 0]])))


def test_cosine_similarity_of_float16_is_computed_in_float32():
    """Half inputs: the norms and the sum in float32 (PyTorch's CPU kernel), the result rounded once to
    float16; |x|^2 = 90000 for 300 would overflow half (inf / inf = NaN)."""
    a = np.array([[300.0, 400.0], [0.5, -1.25]], np.float16)
    b = np.array([[400.0, 300.0], [2.0, 1.0]], np.float16)
    y = F.cosine_similarity(mg.tensor(a), mg.tensor(b))
    assert y.dtype == np.float16
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    expected = np.sum(a64 * b64, 1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1))
    np.testing.assert_array_equal(y.numpy(), expected.astype(np.float16))


# ---- pairwise_distance ---------------------------------------------------------------------------------

def test_pairwise_distance_keepdim_must_be_a_bool():
    with pytest.raises(ValueError, match="pairwise_distance: keepdim must be True or False"):
        F.pairwise_distance(np.zeros((1, 2)), np.ones((1, 2)), keepdim=1)


def test_pairwise_distance_of_float16_is_computed_in_float32_over_the_last_axis():
    """||x1 - x2 + eps|| of half inputs over the last axis: the squares in float32 (300^2 overflows
    half), the result rounded once to float16; (2, 2, 2) inputs give (2, 2)."""
    a = np.array([[[300.0, -400.0], [3.0, 4.0]], [[0.5, 0.0], [-6.0, 8.0]]], np.float16)
    y = F.pairwise_distance(mg.tensor(a), mg.tensor(np.zeros((2, 2, 2), np.float16)))
    assert y.dtype == np.float16 and y.shape == (2, 2)
    expected = np.sqrt(np.sum((a.astype(np.float64) + 1e-6) ** 2, axis=-1)).astype(np.float16)
    np.testing.assert_array_equal(y.numpy(), expected)


# ---- logcumsumexp (ops/softmax.py) ----------------------------------------------------------------------


def test_logcumsumexp_refuses_integers_and_keeps_a_0d_tensor():
    """PyTorch's logcumsumexp is not implemented for integer tensors; a 0-d tensor is its own running
    logsumexp (dim 0 or -1)."""
    with pytest.raises(TypeError, match="logcumsumexp: expected a floating-point tensor"):
        mg.logcumsumexp(mg.tensor(np.array([1, 2])), 0)
    for dim in (0, -1):
        y = mg.logcumsumexp(mg.tensor(np.float64(2.5)), dim)
        assert y.shape == () and y.item() == 2.5


@pytest.mark.parametrize("dim", [-1, -2, 0, 1])
def test_logcumsumexp_along_a_negative_dim_is_along_that_axis(dim):
    """torch.logcumsumexp(x, dim) with dim counted from the end: the running log(sum e^x) along that
    axis (numpy's logaddexp.accumulate), the same as along the positive dim."""
    x = np.random.default_rng(10).normal(size=(3, 4))
    y = mg.logcumsumexp(mg.tensor(x), dim)
    np.testing.assert_allclose(y.numpy(), np.logaddexp.accumulate(x, axis=dim), rtol=1e-14)
