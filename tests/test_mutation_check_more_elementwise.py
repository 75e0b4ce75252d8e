"""Tests written from a mutation check of the elementwise functions added in session 26
(ops/more_elementwise.py, microgradseq/special.py, and ops/softmax.py's logaddexp / logaddexp2): each pins a
behaviour that a hand-made wrong implementation changed without any other test noticing. Expected values
come from closed forms, hand-written numpy, or PyTorch's documented definitions (derivatives.yaml's
formulas, the kernels' checks), never from the library's own output."""

import math
import warnings

import numpy as np
import pytest

import microgradseq as mg


def gradients(fn, *arrays, weights=None):
    """The gradients of (fn(*tensors) * weights).sum() (float64 leaves; weights 1 when None)."""
    leaves = [mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    with np.errstate(invalid="ignore"):         # (the sum of a -inf and an inf, 0 * NaN: NaN, quietly)
        out = fn(*leaves)
        (out if weights is None else out * mg.tensor(np.asarray(weights, dtype=np.float64))).sum().backward()
    return [leaf.grad for leaf in leaves]


def f64(values):
    return mg.tensor(np.asarray(values, dtype=np.float64))


# ---- refusals: complex on either side, bool where PyTorch has floating point only -----------------

@pytest.mark.parametrize("fn", [mg.atan2, mg.copysign, mg.hypot, mg.xlogy, mg.special.xlog1py],
                         ids=lambda f: f.__name__)
def test_a_complex_operand_on_either_side_is_refused_by_name(fn):
    """PyTorch's kernels of these functions have no complex form; the check must look at both operands, not
    only refuse when both are complex (one complex operand is not promoted away from float)."""
    for a, b in ((mg.tensor([1j]), mg.tensor([1.0])), (mg.tensor([1.0]), mg.tensor([1j]))):
        with pytest.raises(TypeError, match=f"{fn.__name__}: expected real tensors"):
            fn(a, b)


@pytest.mark.parametrize("fn", [mg.fmax, mg.fmin], ids=lambda f: f.__name__)
def test_fmax_and_fmin_refuse_a_complex_other(fn):
    with pytest.raises(TypeError, match=f"{fn.__name__}: expected real tensors"):
        fn(mg.tensor([1.0, 3.0]), mg.tensor([2j, 1 + 1j]))


def test_bool_tensors_are_refused_where_pytorch_has_floating_point_only():
    """hypot and frac are floating point only, trunc real numbers and integers (not bool), and
    logaddexp / logaddexp2 refuse integer and bool tensors (the library's documented TypeErrors)."""
    flags = mg.tensor([True, False])
    with pytest.raises(TypeError, match="hypot: expected floating-point tensors, got dtypes bool and bool"):
        mg.hypot(flags, flags)
    with pytest.raises(TypeError, match="frac: expected a floating-point tensor, got dtype bool"):
        mg.frac(flags)
    with pytest.raises(TypeError, match="trunc: expected a real number or integer tensor, got dtype bool"):
        mg.trunc(flags)
    for fn in (mg.logaddexp, mg.logaddexp2):
        with pytest.raises(TypeError, match=f"{fn.__name__}: expected floating-point tensors, got dtypes bool"):
            fn(flags, flags)


# ---- hypot ------------------------------------------------------------------------------------------

def test_hypot_does_not_overflow_where_the_squares_would():
    """sqrt(a^2 + b^2) with a^2 past float64's range: hypot(3e300, 4e300) = 5e300 (3-4-5 triangle),
    hypot(1e200, 1e200) = sqrt(2) 1e200; in float32, hypot(3e30, 4e30) = 5e30."""
    out = mg.hypot(f64([3e300, 1e200]), f64([4e300, 1e200])).numpy()
    np.testing.assert_allclose(out, [5e300, math.sqrt(2) * 1e200], rtol=1e-15)
    single = mg.hypot(mg.tensor([3e30], dtype=np.float32), mg.tensor([4e30], dtype=np.float32)).numpy()
    np.testing.assert_allclose(single, [5e30], rtol=1e-6)


def test_hypot_gradient_at_the_origin_is_nan_as_pytorchs():
    """derivatives.yaml: d/dinput = grad * input / result, d/dother = grad * other / result, so 0 / 0 = NaN at
    (0, 0); elsewhere input / r and other / r (3-4-5: 0.6 and 0.8)."""
    d_a, d_b = gradients(mg.hypot, [0.0, 3.0], [0.0, 4.0])
    assert np.isnan(d_a[0]) and np.isnan(d_b[0])
    np.testing.assert_allclose([d_a[1], d_b[1]], [0.6, 0.8], rtol=1e-15)


# ---- copysign ----------------------------------------------------------------------------------------

def test_copysign_gradient_follows_the_sign_bit_of_negative_zero_and_nan():
    """PyTorch's copysign_tensor_self_backward: grad * result / input (0 where input = 0). result takes
    other's sign bit, so other = -0.0 or -NaN flips it (slope -1) and +0.0 or +NaN does not (slope +1),
    which sign(input) sign(other) would get wrong (sign(-0.0) = 0, sign(NaN) = NaN)."""
    other = np.array([-0.0, 0.0, np.nan, -np.nan, -0.0])
    d_input, d_other = gradients(mg.copysign, [2.0, 2.0, 2.0, 2.0, -3.0], other)
    np.testing.assert_array_equal(d_input, [-1.0, 1.0, 1.0, -1.0, 1.0])
    np.testing.assert_array_equal(d_other, np.zeros(5))


# ---- logit ------------------------------------------------------------------------------------------

def test_logit_refuses_a_bool_eps():
    with pytest.raises(TypeError, match="logit: eps must be a number or None, got bool True"):
        mg.logit(mg.tensor([0.5]), True)


def test_logit_with_eps_zero_clamps_to_the_unit_interval():
    """eps = 0 clamps to [0, 1] (PyTorch clamps for any eps >= 0): below 0 the value is log(0) = -inf, above 1
    it is +inf, and the gradient there is 0 (logit_backward: x < lo or x > hi gives 0), not NaN."""
    x = [-0.5, 0.5, 1.5]
    out = mg.logit(f64(x), eps=0.0).numpy()
    np.testing.assert_array_equal(out, [-np.inf, 0.0, np.inf])
    (slope,) = gradients(lambda t: mg.logit(t, eps=0.0), x)
    np.testing.assert_array_equal(slope, [0.0, 4.0, 0.0])


def test_logit_with_a_negative_eps_is_logit_without_eps():
    """A negative eps means no clamping (PyTorch's logit and logit_backward test eps < 0): outside [0, 1] the
    value and the gradient are NaN, inside 1 / (x (1 - x)) -- not a clamp to [eps, 1 - eps]."""
    x = [-0.5, -0.05, 0.5, 1.05, 1.5]
    out = mg.logit(f64(x), eps=-0.1).numpy()
    assert np.isnan(out[[0, 1, 3, 4]]).all() and out[2] == 0.0
    (slope,) = gradients(lambda t: mg.logit(t, eps=-0.1), x)
    assert np.isnan(slope[[0, 1, 3, 4]]).all() and slope[2] == 4.0


def test_logit_takes_an_integer_eps():
    """eps is any real number (PyTorch's float argument takes a Python int): eps = 0 clamps to [0, 1]."""
    out = mg.logit(f64([-1.0, 0.5, 2.0]), 0).numpy()
    np.testing.assert_array_equal(out, [-np.inf, 0.0, np.inf])


# ---- xlogy / xlog1py --------------------------------------------------------------------------------

def test_xlogy_gradient_for_input_is_nan_where_input_is_nonzero_and_other_negative():
    """derivatives.yaml: d/dinput = xlogy(grad, other).masked_fill((input == 0) & (other <= 0), 0): only
    input = 0 is masked; at input = 2, other = -1 it is log(-1) = NaN; at input = 0, other = -1 it is 0."""
    d_x, _ = gradients(mg.xlogy, [2.0, 0.0, 2.0], [-1.0, -1.0, 3.0])
    assert np.isnan(d_x[0])
    np.testing.assert_array_equal(d_x[1:], [0.0, math.log(3.0)])


def test_xlogy_gradient_for_input_is_xlogy_of_the_incoming_gradient():
    """d/dinput = xlogy(grad, other): where grad = 0 it is 0 (even where log(other) = -inf, other = 0 with
    input != 0), unless other is NaN (xlogy(0, NaN) = NaN)."""
    d_x, _ = gradients(mg.xlogy, [1.0, 1.0, 1.0], [0.0, np.nan, 2.0], weights=[0.0, 0.0, 3.0])
    assert d_x[0] == 0.0 and np.isnan(d_x[1])
    assert d_x[2] == pytest.approx(3 * math.log(2.0), rel=1e-15)


def test_xlog1py_gradient_for_input_is_masked_only_at_other_minus_one_or_below():
    """derivatives.yaml: d/dinput = xlog1py(grad, other).masked_fill((input == 0) & (other <= -1), 0): at
    input = 0 and other = -0.5 it is log1p(-0.5) = -log 2, not 0."""
    d_x, _ = gradients(mg.special.xlog1py, [0.0, 0.0, 0.0], [-0.5, -1.0, -2.0])
    np.testing.assert_allclose(d_x, [-math.log(2.0), 0.0, 0.0], rtol=1e-15)


def test_xlog1py_errors_name_xlog1py():
    with pytest.raises(ValueError, match=r"xlog1py: shapes \(2,\) and \(3,\) cannot be broadcast together"):
        mg.special.xlog1py(mg.ones(2), mg.ones(3))


# ---- erfc, frac ------------------------------------------------------------------------------------

def test_erfc_keeps_full_relative_precision_in_the_tail():
    """erfc(x) for large x from Python's math.erfc (an independent implementation), compared relatively:
    1 - erf(x) is 0 or off by whole orders of magnitude there (erfc(10) = 2.088e-45)."""
    x = np.array([4.0, 6.0, 10.0, 20.0])
    expected = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(mg.erfc(f64(x)).numpy(), expected, rtol=1e-14, atol=0)


def test_frac_of_infinities_is_nan_quietly():
    """torch.frac(+-inf) is NaN with no warning (inf - trunc(inf) = inf - inf)."""
    x = mg.tensor([np.inf, -np.inf, -2.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.frac().numpy()
    assert np.isnan(out[:2]).all() and out[2] == -0.5


# ---- heaviside ----------------------------------------------------------------------------------------

def test_heaviside_refuses_complex_tensors_even_of_one_dtype():
    """torch.heaviside has no complex kernel ("heaviside is not yet implemented for complex tensors")."""
    z = mg.tensor([1j, 0j])
    with pytest.raises(TypeError, match="heaviside: expected input and values of one real dtype"):
        mg.heaviside(z, z)


def test_heaviside_takes_a_python_number_for_values_in_inputs_dtype():
    """A number for `values` takes input's dtype (float64 here, int64 for integers), so float64 and integer
    inputs step as numpy's heaviside does, in their own dtype."""
    x = f64([-2.0, 0.0, 3.0])
    out = mg.heaviside(x, 0.25)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.numpy(), np.heaviside([-2.0, 0.0, 3.0], 0.25))
    assert x.heaviside(0.75).tolist() == [0.0, 0.75, 1.0]
    ints = mg.tensor([-2, 0, 3]).heaviside(7)
    assert ints.dtype == np.int64 and ints.tolist() == [0, 7, 1]


def test_heaviside_refuses_two_floating_dtypes():
    """torch.heaviside: "heaviside is not yet implemented for tensors with different dtypes" -- float32 input
    with float64 values too, not only across kinds."""
    message = "heaviside: expected input and values of one real dtype .* float32 and float64"
    with pytest.raises(TypeError, match=message):
        mg.heaviside(mg.tensor([1.0, 0.0], dtype=np.float32), mg.tensor([0.5], dtype=np.float64))


# ---- in-place forms ---------------------------------------------------------------------------------------

def test_the_other_in_place_forms_exist_and_take_the_result():
    """PyTorch has t.logit_, t.sinc_, t.erfc_ and t.arctan2_ too; each leaves t holding the function's value
    (closed forms: logit(0.25) = -log 3, sinc(0.5) = 2 / pi, erfc(0) = 1, arctan2(1, -1) = 3 pi / 4)."""
    for name, args, start, expected in [("logit_", (), 0.25, -math.log(3.0)), ("sinc_", (), 0.5, 2 / math.pi),
                                        ("erfc_", (), 0.0, 1.0), ("arctan2_", (f64([-1.0]),), 1.0, 3 * math.pi / 4)]:
        t = f64([start])
        assert getattr(t, name)(*args) is t, name
        np.testing.assert_allclose(t.numpy(), [expected], rtol=1e-15, err_msg=name)


def test_in_place_forms_pass_keyword_arguments_on():
    """t.logit_(eps=0.25) clamps as logit(t, eps=0.25) does: 0.1 -> log(0.25 / 0.75) = -log 3."""
    t = f64([0.1, 0.5])
    t.logit_(eps=0.25)
    np.testing.assert_allclose(t.numpy(), [-math.log(3.0), 0.0], rtol=1e-15)


def test_in_place_refusals_name_the_in_place_method():
    """A float result into an integer tensor is refused under the method's own name (xlogy_, sinc_, ...)."""
    for name, args in [("xlogy_", (2,)), ("sinc_", ()), ("copysign_", (-1,)), ("exp2_", ())]:
        ints = mg.tensor([1, 2])
        with pytest.raises(TypeError, match=f"{name}: the result's dtype .* cannot be cast"):
            getattr(ints, name)(*args)
        assert ints.tolist() == [1, 2]


def test_float_power_in_place_accepts_a_complex128_tensor():
    """float_power_ needs the result's dtype: complex128 is one (PyTorch's check allows float64 and complex128);
    (1 + 1j)^2 = 2j."""
    z = mg.tensor([1 + 1j, 2 + 0j], dtype=np.complex128)
    z.float_power_(2)
    np.testing.assert_allclose(z.numpy(), [2j, 4 + 0j], atol=1e-15)
    assert z.dtype == np.complex128


# ---- quiet where PyTorch is -----------------------------------------------------------------------------

def test_atan2_at_the_origin_is_quiet():
    """atan2(0, 0) = 0 with gradients 0 (PyTorch's masked 1 / r^2) and no numpy warning about 1 / 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d_y, d_x = gradients(mg.atan2, [0.0, -0.0], [0.0, 0.0])
    np.testing.assert_array_equal(d_y, [0.0, 0.0])
    np.testing.assert_array_equal(d_x, [0.0, 0.0])


# ---- logaddexp / logaddexp2 -------------------------------------------------------------------------------

def test_logaddexp_at_a_tie_near_the_largest_float_does_not_overflow():
    """log(e^x + e^x) = x + log 2 and log2(2^x + 2^x) = x + 1: finite for x = 1e308 (max + log1p(1) form);
    halving the sum x + x first would give inf."""
    big = f64([1e308, -1e308])
    np.testing.assert_array_equal(mg.logaddexp(big, big).numpy(), [1e308 + math.log(2.0), -1e308 + math.log(2.0)])
    np.testing.assert_array_equal(mg.logaddexp2(big, big).numpy(), [1e308 + 1.0, -1e308 + 1.0])


# ---- torch.special ------------------------------------------------------------------------------------------

def test_special_softmax_and_log_softmax_use_dim_and_dtype():
    """torch.special.softmax(input, dim, dtype) and log_softmax: along the given dim (here dim 1 of a 2-d
    float32 input, and dim 0 for log_softmax), in the dtype asked for; numpy's formulas in float64."""
    x = np.array([[1.0, 2.0, 0.5], [0.5, -1.0, 3.0]])
    t = mg.tensor(x.astype(np.float32))
    out = mg.special.softmax(t, 1, dtype=mg.float64)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), np.exp(x) / np.exp(x).sum(1, keepdims=True), rtol=1e-6)
    log_out = mg.special.log_softmax(t, 0, dtype=mg.float64)
    assert log_out.dtype == np.float64
    np.testing.assert_allclose(log_out.numpy(), x - np.log(np.exp(x).sum(0, keepdims=True)), rtol=1e-6)


def test_special_expit_is_sigmoid_and_quiet_far_out():
    """torch.special.expit is torch.sigmoid (the same op here, mg.ops.sigmoid); far out on either side it is 0 or 1
    to float32's precision with no overflow warning (1 / (1 + e^1000) written naively overflows e^1000)."""
    assert mg.special.expit is mg.ops.sigmoid
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mg.special.expit(mg.tensor([-1000.0, -100.0, 1000.0], dtype=np.float32)).numpy()
    assert 0.0 <= out[0] < 1e-30 and 0.0 <= out[1] < 1e-30 and out[2] == 1.0
