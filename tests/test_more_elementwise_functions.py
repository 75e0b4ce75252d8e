"""More of PyTorch's elementwise functions (ops/more_elementwise.py, logaddexp2, mg.special): atan2, hypot,
copysign, logit, xlogy, xlog1py, trunc, frac, fmod, sinc, exp2, erfc, entr, ndtr, fmax, fmin, heaviside,
signbit, sgn, float_power, true_divide.

The references are independent of the library: numpy's functions of the same names (arctan2, hypot,
copysign, fmod, sinc, exp2, logaddexp2, fmax, trunc, signbit, heaviside), the formulas of PyTorch's
documentation written in numpy (xlogy, logit, entr, ndtr) or Python's math.erfc and math.erf; gradients
and tangents against central differences of those in float64, with broadcast operands; the special
points (zeros, -0.0, NaN, the ends of logit's range) against closed forms.
"""

import math

import numpy as np
import pytest
from test_forward_mode import directional_difference
from test_op_gradients import assert_gradients_match

import microgradseq as mg

RNG = np.random.default_rng(26)
PAIRS = [((3,), (2, 3)), ((2, 1, 4), (3, 1)), ((), (2, 2)), ((2, 3), (2, 3)), ((2, 2), ())]
np_erfc = np.vectorize(math.erfc, otypes=[np.float64])
np_erf = np.vectorize(math.erf, otypes=[np.float64])


def uniform(shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape)


def signed(shape, low, high):
    """Entries of magnitude in [low, high], either sign."""
    return uniform(shape, low, high) * RNG.choice([-1.0, 1.0], size=shape)


def assert_tangent_matches(mg_fn, np_fn, arrays):
    """mg.jvp's J v (all operands moving at once, then each alone) equals the central difference of np_fn."""
    directions = [RNG.standard_normal(np.shape(a)) for a in arrays]
    for moving in [None, *range(len(arrays))]:
        chosen = [v if moving in (None, i) else np.zeros_like(v) for i, v in enumerate(directions)]
        _, tangent = mg.jvp(mg_fn, [mg.tensor(a, dtype=np.float64) for a in arrays], chosen)
        np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, chosen), rtol=1e-5, atol=1e-6)


def check_both_modes(mg_fn, np_fn, *arrays):
    assert_gradients_match(mg_fn, np_fn, *arrays)
    assert_tangent_matches(mg_fn, np_fn, [np.asarray(a, dtype=np.float64) for a in arrays])


# ---- gradients and tangents against central differences -----------------------------------

def fmod_operands(left, right):
    """|other| in [1, 1.1] and |input| in [0.35, 0.6], [1.35, 1.6] or [2.35, 2.6]: input / other stays at
    least 0.13 from an integer, where fmod jumps."""
    magnitude = RNG.choice([0.35, 1.35, 2.35], size=left) + uniform(left, 0.0, 0.25)
    return magnitude * RNG.choice([-1.0, 1.0], size=left), signed(right, 1.0, 1.1)


BINARY = {
    "atan2": (mg.atan2, np.arctan2, lambda l, r: (signed(l, 0.2, 2), signed(r, 0.3, 2))),    # (off the cut y = 0)
    "arctan2 (method)": (lambda a, b: a.arctan2(b), np.arctan2, lambda l, r: (signed(l, 0.2, 2), signed(r, 0.3, 2))),
    "hypot": (mg.hypot, np.hypot, lambda l, r: (signed(l, 0.3, 2), uniform(r))),
    "copysign": (mg.copysign, np.copysign, lambda l, r: (signed(l, 0.2, 2), signed(r, 0.2, 2))),
    "xlogy": (mg.xlogy, lambda a, b: a * np.log(b), lambda l, r: (uniform(l), uniform(r, 0.3, 3))),
    "xlog1py": (mg.special.xlog1py, lambda a, b: a * np.log1p(b), lambda l, r: (uniform(l), uniform(r, -0.7, 3))),
    "fmod": (mg.fmod, np.fmod, fmod_operands),
    "fmax": (mg.fmax, np.fmax, lambda l, r: (uniform(l), uniform(r))),
    "fmin": (lambda a, b: a.fmin(b), np.fmin, lambda l, r: (uniform(l), uniform(r))),
    "logaddexp2": (mg.logaddexp2, np.logaddexp2, lambda l, r: (uniform(l) * 10, uniform(r) * 10)),
    "float_power": (mg.float_power, np.power, lambda l, r: (uniform(l, 0.3, 2), uniform(r))),
    "true_divide": (lambda a, b: a.true_divide(b), np.divide, lambda l, r: (uniform(l), signed(r, 0.5, 2))),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", PAIRS, ids=str)
def test_binary_gradient_and_tangent_with_broadcast_operands(name, shapes):
    mg_fn, np_fn, draw = BINARY[name]
    check_both_modes(mg_fn, np_fn, *draw(*shapes))


UNARY = {
    "trunc": (mg.trunc, np.trunc, lambda s: np.round(uniform(s, -3, 3)) + uniform(s, -0.4, 0.4)),
    "fix (method)": (lambda t: t.fix(), np.trunc, lambda s: np.round(uniform(s, -3, 3)) + uniform(s, -0.4, 0.4)),
    "frac": (mg.frac, lambda a: a - np.trunc(a), lambda s: np.round(uniform(s, -3, 3)) + uniform(s, -0.4, 0.4)),
    "sinc": (mg.sinc, np.sinc, lambda s: uniform(s, -3, 3)),
    "exp2": (mg.exp2, np.exp2, lambda s: uniform(s, -3, 3)),
    "erfc": (mg.erfc, np_erfc, lambda s: uniform(s, -3, 3)),
    "logit": (mg.logit, lambda a: np.log(a / (1 - a)), lambda s: uniform(s, 0.05, 0.95)),
    "logit(eps)": (lambda t: t.logit(eps=0.2), lambda a: np.log(np.clip(a, 0.2, 0.8) / (1 - np.clip(a, 0.2, 0.8))),
                   lambda s: uniform(s, 0.25, 0.75) + RNG.choice([-0.2, 0.0, 0.2], size=s)),
    "entr": (mg.special.entr, lambda a: -a * np.log(a), lambda s: uniform(s, 0.05, 3)),
    "ndtr": (mg.special.ndtr, lambda a: (1 + np_erf(a / math.sqrt(2))) / 2, lambda s: uniform(s, -3, 3)),
    "expit": (mg.special.expit, lambda a: 1 / (1 + np.exp(-a)), lambda s: uniform(s)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 1, 3)], ids=str)
def test_unary_gradient_and_tangent(name, shape):
    mg_fn, np_fn, draw = UNARY[name]
    check_both_modes(mg_fn, np_fn, draw(shape))


# ---- special points -----------------------------------------------------------------------

def gradients(fn, *arrays):
    """The gradients of fn(*tensors).sum() (float64 leaves)."""
    leaves = [mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    fn(*leaves).sum().backward()
    return [leaf.grad for leaf in leaves]


def test_atan2_quadrants_signed_zeros_and_the_origin():
    """atan2(y, x): 3 pi / 4 in the second quadrant, +-pi on the negative x axis by the sign of y = +-0.0;
    at the origin both gradients are 0 (PyTorch's atan2_backward masks 1 / r^2 there)."""
    y, x = np.array([1.0, 0.0, -0.0, 0.0, -1.0]), np.array([-1.0, -1.0, -1.0, 0.0, 0.0])
    np.testing.assert_array_equal(mg.atan2(mg.tensor(y), mg.tensor(x)).numpy(),
                                  [3 * np.pi / 4, np.pi, -np.pi, 0.0, -np.pi / 2])
    d_y, d_x = gradients(mg.atan2, [0.0, 1.0], [0.0, 1.0])
    np.testing.assert_array_equal(d_y, [0.0, 0.5])
    np.testing.assert_array_equal(d_x, [0.0, -0.5])


def test_copysign_takes_the_sign_of_negative_zero_and_its_gradient_is_zero_at_zero():
    out = mg.copysign(mg.tensor([1.0, 2.0, -3.0, 0.0]), mg.tensor([-0.0, 0.0, np.nan, -1.0]))
    np.testing.assert_array_equal(out.numpy(), [-1.0, 2.0, 3.0, -0.0])
    assert np.signbit(out.numpy()[3])
    d_input, d_other = gradients(mg.copysign, [2.0, -2.0, 0.0], [-1.0, -1.0, -1.0])
    np.testing.assert_array_equal(d_input, [-1.0, 1.0, 0.0])
    np.testing.assert_array_equal(d_other, [0.0, 0.0, 0.0])


def test_signbit_sees_negative_zero_and_negative_nan():
    x = np.array([-0.0, 0.0, -1.5, np.nan, -np.nan, np.inf])
    out = mg.signbit(mg.tensor(x, requires_grad=True))
    assert out.dtype == np.bool_ and out.grad_fn is None
    assert out.tolist() == np.signbit(x).tolist() == [True, False, True, False, True, False]
    assert mg.tensor([-3, 0, 2]).signbit().tolist() == [True, False, False]


def test_xlogy_documented_cases_and_its_gradient_at_zero():
    """PyTorch's examples: xlogy(0, [-1, 0, 1, inf, nan]) = [0, 0, 0, 0, nan]; xlogy([1, 2, 3], [3, 2, 1]);
    d/dx at x = 0 is log y where y > 0 and 0 where y <= 0 (PyTorch's choice)."""
    y = mg.tensor([-1.0, 0, 1, np.inf, np.nan])
    np.testing.assert_array_equal(mg.xlogy(mg.zeros(5), y).numpy(), [0, 0, 0, 0, np.nan])
    out = mg.xlogy(mg.tensor([1, 2, 3]), mg.tensor([3, 2, 1]))
    assert out.dtype == mg.get_default_dtype()
    np.testing.assert_allclose(out.numpy(), [math.log(3), 2 * math.log(2), 0.0], rtol=1e-6)
    np.testing.assert_allclose(mg.xlogy(2, mg.tensor([3.0, 2.0])).numpy(), [2 * math.log(3), 2 * math.log(2)])
    d_x, d_y = gradients(mg.xlogy, [0.0, 0.0, 0.0, 2.0], [2.0, 0.0, -1.0, 4.0])
    np.testing.assert_array_equal(d_x, [math.log(2), 0.0, 0.0, math.log(4)])
    np.testing.assert_array_equal(d_y, [0.0, np.nan, -0.0, 0.5])


def test_xlog1py_documented_cases():
    np.testing.assert_array_equal(mg.special.xlog1py(mg.zeros(5), mg.tensor([-1.0, 0, 1, np.inf, np.nan])).numpy(),
                                  [0, 0, 0, 0, np.nan])
    np.testing.assert_allclose(mg.special.xlog1py(mg.tensor([1.0, 2, 3]), 4).numpy(),
                               [math.log(5), 2 * math.log(5), 3 * math.log(5)], rtol=1e-6)
    d_x, _ = gradients(mg.special.xlog1py, [0.0, 0.0], [-1.0, 1.0])
    np.testing.assert_array_equal(d_x, [0.0, math.log(2)])


def test_sinc_is_one_at_zero_with_zero_slope():
    out = mg.sinc(mg.tensor([0.0, 0.5, 1.0, -2.0], dtype=np.float64))
    np.testing.assert_allclose(out.numpy(), [1.0, 2 / np.pi, 0.0, 0.0], atol=1e-15)
    (slope,) = gradients(mg.sinc, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(slope, [0.0, -4 / np.pi, -1.0], atol=1e-12)     # cos(pi x) / x - sin(pi x) / (pi x^2)
    assert mg.sinc(mg.tensor([0, 1])).dtype == mg.get_default_dtype()


def test_fmax_and_fmin_ignore_nan_and_give_a_tie_to_the_first():
    a, b = [np.nan, 1.0, np.nan, 2.0, 3.0], [2.0, np.nan, np.nan, 2.0, -1.0]
    np.testing.assert_array_equal(mg.fmax(mg.tensor(a), mg.tensor(b)).numpy(), np.fmax(a, b))
    np.testing.assert_array_equal(mg.fmin(mg.tensor(a), mg.tensor(b)).numpy(), np.fmin(a, b))
    d_a, d_b = gradients(mg.fmax, a, b)                     # PyTorch: self's where self >= other or other is NaN
    np.testing.assert_array_equal(d_a, [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(d_b, [1, 0, 0, 0, 0])
    d_a, d_b = gradients(mg.fmin, a, b)
    np.testing.assert_array_equal(d_a, [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(d_b, [1, 0, 0, 0, 1])
    ints = mg.fmax(mg.tensor([1, 5]), mg.tensor([3, 2]))
    assert ints.dtype == np.int64 and ints.tolist() == [3, 5]


def test_fmod_has_the_dividends_sign_and_keeps_integers():
    np.testing.assert_array_equal(mg.fmod(mg.tensor([-7.0, 7.0, -7.5]), 2).numpy(), [-1.0, 1.0, -1.5])
    ints = mg.tensor([-7, 7]).fmod(mg.tensor([2, -2]))
    assert ints.dtype == np.int64 and ints.tolist() == [-1, 1]
    assert np.isnan(mg.fmod(mg.tensor([1.0]), 0.0).numpy()).all()
    with pytest.raises(ZeroDivisionError, match="fmod: integer division by zero"):
        mg.fmod(mg.tensor([3, 4]), mg.tensor([1, 0]))
    _, d_other = gradients(mg.fmod, [7.5, -7.5], [2.0, 2.0])
    np.testing.assert_array_equal(d_other, [-3.0, 3.0])     # -trunc(input / other)


def test_trunc_fix_and_frac():
    x = mg.tensor([-2.7, -0.5, 0.5, 2.7, np.inf, -np.inf])
    np.testing.assert_array_equal(x.trunc().numpy(), np.trunc(x.numpy()))
    np.testing.assert_array_equal(mg.fix(x).numpy(), np.trunc(x.numpy()))
    np.testing.assert_allclose(x.frac().numpy()[:4], [-0.7, -0.5, 0.5, 0.7], rtol=1e-6)
    assert np.isnan(x.frac().numpy()[4:]).all()
    ints = mg.tensor([-3, 4])
    assert mg.trunc(ints).dtype == np.int64 and mg.trunc(ints).tolist() == [-3, 4]
    with pytest.raises(TypeError, match="frac: expected a floating-point tensor, got dtype int64"):
        ints.frac()


def test_exp2_is_exact_on_integers_and_promotes_them():
    out = mg.exp2(mg.tensor([0, 1, 3, 4]))
    assert out.dtype == mg.get_default_dtype() and out.tolist() == [1.0, 2.0, 8.0, 16.0]
    assert mg.special.exp2 is mg.exp2


def test_erfc_keeps_the_tail_erf_would_lose():
    """erfc(10) = 2.088e-45, where 1 - erf(10) is 0; erfc(0) = 1; torch.special's example values."""
    out = mg.erfc(mg.tensor([0.0, -1.0, 10.0], dtype=np.float64)).numpy()
    assert out[0] == 1.0 and out[1] == pytest.approx(1.8427007929497148)
    assert out[2] == pytest.approx(2.088487583762545e-45)
    with pytest.raises(TypeError, match="erfc: expected a real tensor, got dtype complex"):
        mg.erfc(mg.tensor([1j]))


def test_logit_with_and_without_eps_at_and_outside_the_ends():
    """Without eps: -inf and inf at 0 and 1, NaN outside, the gradient inf at the ends and NaN outside; with eps
    the input is clamped to [eps, 1 - eps] and the gradient is 0 outside (PyTorch's logit_backward)."""
    x = [-0.5, 0.0, 0.5, 1.0, 1.5]
    out = mg.logit(mg.tensor(x, dtype=np.float64)).numpy()
    np.testing.assert_array_equal(out, [np.nan, -np.inf, 0.0, np.inf, np.nan])
    (slope,) = gradients(mg.logit, x)
    np.testing.assert_array_equal(slope, [np.nan, np.inf, 4.0, np.inf, np.nan])
    eps = 1e-6
    out = mg.tensor(x, dtype=np.float64).logit(eps).numpy()
    ends = math.log(eps / (1 - eps))
    np.testing.assert_allclose(out, [ends, ends, 0.0, -ends, -ends])
    (slope,) = gradients(lambda t: mg.logit(t, eps=0.25), [0.1, 0.25, 0.5, 0.75, 0.9])
    np.testing.assert_allclose(slope, [0.0, 1 / (0.25 * 0.75), 4.0, 1 / (0.25 * 0.75), 0.0])
    with pytest.raises(TypeError, match="logit: eps must be a number or None, got str '0.1'"):
        mg.logit(mg.tensor([0.5]), "0.1")


def test_entr_ndtr_and_the_special_namespace():
    """torch.special's documented values: entr([-0.5, 0, 0.5]) = [-inf, 0, 0.3466], d entr = -(1 + log x)
    (+inf at 0); ndtr at -3 .. 3; expit is sigmoid; the other names are the library's functions."""
    np.testing.assert_allclose(mg.special.entr(mg.tensor([-0.5, 0.0, 0.5])).numpy(), [-np.inf, 0, 0.5 * math.log(2)],
                               rtol=1e-6)
    assert np.isnan(mg.special.entr(mg.tensor([np.nan])).numpy()).all()
    (slope,) = gradients(mg.special.entr, [0.0, 1.0, 2.0])
    np.testing.assert_allclose(slope, [np.inf, -1.0, -(1 + math.log(2))])
    cdf = mg.special.ndtr(mg.tensor([-3.0, -1, 0, 1, 3], dtype=np.float64)).numpy()
    np.testing.assert_allclose(cdf, [0.0013498980316301, 0.15865525393145707, 0.5, 0.8413447460685429,
                                     0.9986501019683699], rtol=1e-12)
    x = mg.tensor([[1.0, 2.0], [0.5, -1.0]])
    np.testing.assert_array_equal(mg.special.expit(x).numpy(), mg.sigmoid(x).numpy())
    np.testing.assert_allclose(mg.special.softmax(x, 0).numpy(), np.exp(x.numpy()) / np.exp(x.numpy()).sum(0),
                               rtol=1e-6)
    np.testing.assert_allclose(mg.special.log_softmax(x, 1, dtype=mg.float64).numpy(),
                               x.numpy() - np.log(np.exp(x.numpy()).sum(1, keepdims=True)), rtol=1e-6)
    np.testing.assert_allclose(mg.special.logsumexp(x, 1).numpy(), np.log(np.exp(x.numpy()).sum(1)), rtol=1e-6)
    assert mg.special.round(mg.tensor([1.2345]), decimals=2).tolist() == [pytest.approx(1.23)]
    assert mg.special.logit is mg.logit and mg.special.xlogy is mg.xlogy and mg.special.erfc is mg.erfc
    assert sorted(mg.special.__all__) == sorted(["entr", "erf", "erfc", "exp2", "expit", "expm1", "log1p",
                                                 "log_softmax", "logit", "logsumexp", "ndtr", "round", "sinc",
                                                 "softmax", "xlog1py", "xlogy",
                                                 "digamma", "erfcx", "erfinv", "gammaln", "i0", "i0e", "i1", "i1e",
                                                 "log_ndtr", "multigammaln", "ndtri", "polygamma", "psi"])


def test_logaddexp2_far_apart_at_a_tie_at_infinities_and_refusing_integers():
    out = mg.logaddexp2(mg.tensor([0.0, 1000.0, np.inf, -np.inf]), mg.tensor([0.0, 0.0, np.inf, -np.inf]))
    np.testing.assert_array_equal(out.numpy(), [1.0, 1000.0, np.inf, -np.inf])
    d_a, d_b = gradients(mg.logaddexp2, [1.0, 3.0], [1.0, 2.0])
    np.testing.assert_allclose(d_a, [0.5, 1 / (1 + 2 ** -1)])
    np.testing.assert_allclose(d_b, [0.5, 1 / (1 + 2 ** 1)])
    with pytest.raises(TypeError, match="logaddexp2: expected floating-point tensors, got dtypes int64 and int64"):
        mg.logaddexp2(mg.tensor([1]), mg.tensor([2]))


def test_heaviside_steps_and_has_no_gradient():
    x = mg.tensor([-1.5, 0.0, -0.0, 2.0, np.nan], requires_grad=True)
    out = mg.heaviside(x, mg.tensor([0.5]))
    assert out.grad_fn is None and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.5, 0.5, 1.0, 0.0])
    np.testing.assert_array_equal(x.heaviside(mg.tensor([[7.0], [8.0]])).numpy(),
                                  np.heaviside(np.nan_to_num(x.numpy(), nan=-1.0), [[7.0], [8.0]]))   # (NaN: 0)
    assert mg.heaviside(mg.tensor([-2, 0, 3]), mg.tensor(5)).tolist() == [0, 5, 1]
    with pytest.raises(TypeError, match="heaviside: expected input and values of one real dtype .* float32 and int64"):
        mg.heaviside(mg.tensor([1.0]), mg.tensor([1]))


def test_sgn_is_sign_for_reals_and_z_over_abs_z_for_complex():
    x = mg.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    assert x.sgn().tolist() == [-1.0, 0.0, 1.0]
    np.testing.assert_allclose(mg.sgn(mg.tensor([3 + 4j, 0j, -2j])).numpy(), [0.6 + 0.8j, 0, -1j])


def test_float_power_computes_in_double_and_sends_gradients_back_in_each_dtype():
    base = mg.tensor([1.5, 2.0], requires_grad=True)            # float32
    out = mg.float_power(base, 2.1)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), np.power([1.5, 2.0], 2.1), rtol=1e-15)     # (2.1 itself, not float32's)
    out.sum().backward()
    assert base.grad.dtype == np.float32
    np.testing.assert_allclose(base.grad, 2.1 * np.array([1.5, 2.0]) ** 1.1, rtol=1e-6)
    assert mg.float_power(mg.tensor([2, 3]), 2).dtype == np.float64
    assert mg.tensor([2, 3]).float_power(mg.tensor([1j])).dtype == np.complex128


def test_true_divide_is_div_and_the_aliases():
    out = mg.true_divide(mg.tensor([1, 3]), mg.tensor([2, 2]))
    assert out.dtype == mg.get_default_dtype() and out.tolist() == [0.5, 1.5]
    assert mg.arctan2 is mg.atan2 and mg.Tensor.arctan2 is mg.Tensor.atan2 and mg.Tensor.fix is mg.Tensor.trunc


def test_integer_inputs_promote_as_pytorch_does():
    ints = mg.tensor([1, 2])
    for fn in (mg.atan2, mg.copysign, mg.xlogy):
        assert fn(ints, ints).dtype == mg.get_default_dtype(), fn
    for fn in (mg.sinc, mg.exp2, mg.erfc, mg.logit, mg.special.entr, mg.special.ndtr):
        assert fn(ints).dtype == mg.get_default_dtype(), fn
    half = mg.tensor([1.0, 2.0], dtype=mg.float16)
    assert mg.atan2(half, ints).dtype == np.float16 and mg.hypot(half, 2).dtype == np.float16
    with pytest.raises(TypeError, match="hypot: expected floating-point tensors, got dtypes int64 and int64"):
        mg.hypot(ints, ints)


# ---- in place and errors --------------------------------------------------------------

def test_in_place_forms_take_the_result():
    t = mg.tensor([1.0, -1.0])
    assert t.atan2_(mg.tensor([1.0, 1.0])) is t
    np.testing.assert_allclose(t.numpy(), [np.pi / 4, -np.pi / 4])
    for name, args, expected in [("hypot_", (mg.tensor([3.0]),), [5.0]), ("copysign_", (-1.0,), [-4.0]),
                                 ("fmod_", (3.0,), [1.0]), ("xlogy_", (1.0,), [0.0]), ("exp2_", (), [16.0]),
                                 ("trunc_", (), [4.0]), ("fix_", (), [4.0]), ("frac_", (), [0.0]),
                                 ("sgn_", (), [1.0]), ("true_divide_", (8.0,), [0.5]), ("heaviside_", (2.0,), [1.0])]:
        u = mg.tensor([4.0])
        getattr(u, name)(*args)
        np.testing.assert_allclose(u.numpy(), expected, err_msg=name)
    d = mg.tensor([2.0], dtype=np.float64)
    d.float_power_(3)
    assert d.tolist() == [8.0]


def test_in_place_refusals_leave_the_tensor_unchanged():
    ints = mg.tensor([1, 2])
    with pytest.raises(TypeError, match="atan2_: the result's dtype float32 cannot be cast to the tensor's dtype"):
        ints.atan2_(ints)
    single = mg.tensor([2.0, 3.0])
    with pytest.raises(TypeError, match="float_power_: the base has dtype float32"):
        single.float_power_(2)
    with pytest.raises(ValueError, match=r"fmod: shapes \(2,\) and \(3,\) cannot be broadcast together"):
        single.fmod_(mg.tensor([1.0, 2.0, 3.0]))
    assert ints.tolist() == [1, 2] and single.tolist() == [2.0, 3.0]


@pytest.mark.parametrize("fn", [mg.atan2, mg.hypot, mg.copysign, mg.xlogy, mg.fmod, mg.fmax, mg.fmin,
                                mg.logaddexp2, mg.heaviside], ids=lambda f: f.__name__)
def test_shape_mismatches_name_the_function(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: shapes \(2,\) and \(3,\) cannot be broadcast together"):
        fn(mg.ones(2), mg.ones(3))


def test_complex_inputs_are_refused_where_pytorch_refuses_them():
    z = mg.tensor([1j])
    for fn in (mg.atan2, mg.fmax, mg.copysign):
        with pytest.raises(TypeError, match=f"{fn.__name__}: expected real tensors"):
            fn(z, z)
    for fn in (mg.signbit, mg.logit):
        with pytest.raises(TypeError, match=f"{fn.__name__}: expected a real tensor, got dtype complex"):
            fn(z)
