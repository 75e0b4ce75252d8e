"""Tests written from a mutation check of the special functions (ops/gamma_functions.py, ops/error_functions.py,
ops/bessel.py and mg.special's names for them): each pins a behaviour that a hand-made wrong implementation
changed without any other test noticing. Expected values come from closed forms (Gamma(-1/2) = -2 sqrt(pi),
psi(1 + h) = -gamma + zeta(2) h - zeta(3) h^2 + ...), Python's math.lgamma / math.exp / math.erfc with x^2
carried exactly by fractions.Fraction, and PyTorch's documented checks and derivative rules, never from the
library's own output."""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

import microgradseq as mg

EULER_GAMMA = 0.5772156649015329
ZETA_2, ZETA_3 = math.pi ** 2 / 6, 1.2020569031595942


def t64(values):
    return mg.tensor(np.asarray(values, dtype=np.float64), dtype=np.float64)


def exact_erfcx(x):
    """e^(x^2) erfc(x) with x^2 = high + low exactly (fractions), e^(x^2) = e^high (1 + low): a few ulps."""
    square = Fraction(x) ** 2
    high = float(square)
    low = float(square - Fraction(high))
    return math.exp(high) * (1 + low) * math.erfc(x)


# ---- lgamma ----------------------------------------------------------------------------------

def test_lgamma_at_the_half_integers_on_the_boundary_of_the_reflection():
    """Gamma(-1/2) = -2 sqrt(pi), Gamma(-3/2) = 4/3 sqrt(pi), Gamma(1/2) = sqrt(pi): x = -1/2 exactly is on the
    edge between the shifted (|x| < 1/2) and the reflected (x <= -1/2) forms."""
    x = t64([-0.5, -1.5, 0.5, -2.5])
    expected = [math.log(2 * math.sqrt(math.pi)), math.log(4 / 3 * math.sqrt(math.pi)),
                0.5 * math.log(math.pi), math.log(8 / 15 * math.sqrt(math.pi))]
    np.testing.assert_allclose(mg.lgamma(x).numpy(), expected, rtol=2e-15, atol=1e-15)


# ---- digamma ---------------------------------------------------------------------------------

def psi_near_one(h):
    """psi(1 + h) = -gamma + zeta(2) h - zeta(3) h^2 + zeta(4) h^3 (|h| <= 2^-30: the rest below 1e-36)."""
    return -EULER_GAMMA + ZETA_2 * h - ZETA_3 * h * h + math.pi ** 4 / 90 * h ** 3


@pytest.mark.parametrize("x, shift", [(-1 + 2.0 ** -30, 2), (-3 + 2.0 ** -30, 4), (-2 - 2.0 ** -30, 3),
                                      (-5 - 2.0 ** -40, 6)])
def test_digamma_a_hair_from_a_negative_pole_keeps_its_digits(x, shift):
    """psi(x) = psi(x + m) - sum_{k<m} 1 / (x + k) with x + m = 1 +- h (every x + k exact): the reflection's
    tangent taken of x's distance to the nearest integer, not of pi x (which loses ~1e-7 relative here)."""
    h = x + shift - 1
    expected = psi_near_one(h) - math.fsum(1 / (x + k) for k in range(shift))
    assert mg.digamma(t64(x)).item() == pytest.approx(expected, rel=1e-14)


# ---- polygamma and mvlgamma: their integer arguments ------------------------------------------

def test_polygamma_and_mvlgamma_take_numpy_integers_as_pytorch_takes_them():
    """PyTorch's int arguments accept numpy integers (not bools): psi''(1) = -2 zeta(3), and
    mvlgamma(x, 2) = log(pi) / 2 + lgamma(x) + lgamma(x - 1/2)."""
    assert mg.polygamma(np.int64(2), t64(1.0)).item() == pytest.approx(-2 * ZETA_3, rel=1e-15)
    assert t64(1.0).polygamma(np.int32(1)).item() == pytest.approx(ZETA_2, rel=1e-15)
    expected = math.log(math.pi) / 2 + math.lgamma(3.2) + math.lgamma(2.7)
    assert mg.mvlgamma(t64(3.2), np.int64(2)).item() == pytest.approx(expected, rel=1e-15)


def test_mvlgamma_refuses_a_bool_p():
    with pytest.raises(TypeError, match=r"mvlgamma: p must be an integer, got bool True"):
        mg.mvlgamma(t64([2.0]), True)


def test_mvlgamma_domain_is_strictly_above_p_minus_one_over_two():
    """PyTorch's check is (x > (p - 1) / 2).all(): x = (p - 1) / 2 itself and NaN fail it, just above passes."""
    with pytest.raises(ValueError, match=r"mvlgamma: all elements must be greater than \(p - 1\) / 2 = 1.5"):
        mg.mvlgamma(t64([1.5, 4.0]), 4)
    with pytest.raises(ValueError, match=r"mvlgamma: all elements must be greater than"):
        mg.mvlgamma(t64([np.nan, 4.0]), 2)
    x = 0.5 + 2.0 ** -20
    expected = math.log(math.pi) / 2 + math.lgamma(x) + math.lgamma(x - 0.5)
    assert mg.mvlgamma(t64([x]), 2).item() == pytest.approx(expected, rel=1e-14)


# ---- gradients keep float32 ------------------------------------------------------------------

@pytest.mark.parametrize("fn", [mg.lgamma, mg.digamma, lambda t: mg.polygamma(2, t), mg.i0, mg.erfinv])
def test_float32_gradients_stay_float32(fn):
    """A float32 leaf gets a float32 .grad, as PyTorch's."""
    x = mg.tensor(np.array([0.3, 0.6], dtype=np.float32), requires_grad=True)
    fn(x).sum().backward()
    assert x.grad.dtype == np.float32


# ---- erfcx ---------------------------------------------------------------------------------

def test_erfcx_far_left_carries_the_rounding_error_of_x_squared():
    """For -26.6 <= x <= -5, e^(x^2) magnifies x^2's rounding error (up to 700 * 2^-53); against e^(x^2) erfc x
    with x^2 exact, within a few ulps."""
    x = np.random.default_rng(5).uniform(-26.6, -5.0, 200)
    expected = np.array([exact_erfcx(v) for v in x])
    np.testing.assert_allclose(mg.special.erfcx(t64(x)).numpy(), expected, rtol=1.5e-15)


def test_erfcx_is_finite_until_e_to_the_x_squared_overflows():
    """2 e^(x^2) is below float64's max down to x of about -26.63: erfcx(-26.5) = 2 e^702.25 erfc-ish finite."""
    for x in (-26.5, -26.62):
        assert mg.special.erfcx(t64(x)).item() == pytest.approx(exact_erfcx(x), rel=1.5e-15)


def test_erfcx_between_ten_and_twenty_five():
    """From 10 on the library takes a continued fraction: against e^(x^2) erfc x (erfc x still above 1e-300)."""
    x = np.linspace(10.0, 25.0, 61) + 0.013
    expected = np.array([exact_erfcx(v) for v in x])
    np.testing.assert_allclose(mg.special.erfcx(t64(x)).numpy(), expected, rtol=1.5e-15)


# ---- ndtri -----------------------------------------------------------------------------------

def np_ndtri(p):
    """The x with 0.5 erfc(-x / sqrt 2) = p, by 200 bisection steps on [-40, 40]."""
    def ndtr(x):
        return 0.5 * math.erfc(-x / math.sqrt(2))
    out = []
    for target in p:
        low, high = -40.0, 40.0
        for _ in range(200):
            middle = (low + high) / 2
            low, high = (middle, high) if ndtr(middle) < target else (low, middle)
        out.append((low + high) / 2)
    return np.array(out)


def test_ndtri_in_the_near_tail_before_cephes_second_tail_fit():
    """p from 1e-6 to 3e-4 (sqrt(-2 log p) from 4 to about 5.3, in Cephes' first tail fit up to 8): to a few ulps."""
    p = np.geomspace(1e-6, 3e-4, 40)
    np.testing.assert_allclose(mg.special.ndtri(t64(p)).numpy(), np_ndtri(p), rtol=3e-15)


def test_ndtri_just_outside_the_central_fit():
    """p in [0.136, 0.2] (and its mirror 1 - p) is in Cephes' centre (p - 1/2 fit) from e^-2 = 0.1353 on."""
    p = np.linspace(0.136, 0.2, 30)
    np.testing.assert_allclose(mg.special.ndtri(t64(p)).numpy(), np_ndtri(p), rtol=3e-15)
    np.testing.assert_allclose(mg.special.ndtri(t64(1 - p)).numpy(), -np_ndtri(p), rtol=3e-15)


# ---- names in errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("fn, name", [(mg.digamma, "digamma"), (lambda t: mg.polygamma(1, t), "polygamma"),
                                      (lambda t: mg.mvlgamma(t, 2), "mvlgamma"), (mg.i0, "i0"),
                                      (mg.special.i0e, "i0e"), (mg.special.i1, "i1"), (mg.special.ndtri, "ndtri"),
                                      (mg.special.erfcx, "erfcx")])
def test_complex_input_names_each_function(fn, name):
    with pytest.raises(TypeError, match=rf"^{name}: expected a real tensor, got dtype complex128"):
        fn(mg.tensor([1 + 1j], dtype=np.complex128))


# ---- polygamma(1, x) and digamma far right (bugs) ---------------------------------------------------

def test_polygamma_one_far_right_is_one_over_x_as_pytorchs_trigamma():
    """psi'(x) = 1/x + 1/(2x^2) + ... : 1e-160 at 1e160 and 1e-200 at 1e200 (PyTorch's calc_trigamma's
    (1 + 1/(2x) + ...) / x), 0 at +inf; so digamma's gradient there too (derivatives.yaml: polygamma(1, x))."""
    x = t64([1e160, 1e200, np.inf])
    np.testing.assert_allclose(mg.polygamma(1, x).numpy(), [1e-160, 1e-200, 0.0], rtol=1e-14)
    leaf = mg.tensor(np.array([1e200]), requires_grad=True, dtype=np.float64)
    mg.digamma(leaf).sum().backward()
    np.testing.assert_allclose(leaf.grad, [1e-200], rtol=1e-14)


def test_digamma_of_a_huge_x_gives_log_x_without_a_warning():
    """psi(x) = log x - 1/(2x) - ... : log(1e200) at 1e200, quietly (as PyTorch's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mg.digamma(t64([1e200])).numpy()
    np.testing.assert_allclose(out, [200 * math.log(10)], rtol=1e-15)


# ---- i1 and i1e: the sign of zero and PyTorch's 1/2 slope where |x| <= eps ---------------------------

def test_i1_and_i1e_keep_a_positive_zero_at_minus_zero():
    """Math.h's calc_i1 / calc_i1e: out from |x| (+0 at -0), negated only where x < 0: i1(-0.0) is +0.0."""
    for fn in (mg.special.i1, mg.special.i1e):
        out = fn(t64([-0.0, 0.0])).numpy()
        np.testing.assert_array_equal(out, [0.0, 0.0])
        assert not np.signbit(out).any()


def test_i1_and_i1e_slope_is_exactly_one_half_on_subnormals():
    """PyTorch's i1_backward / i1e_backward: 1/2 wherever |x| <= eps, subnormals included (there I0 - I1/x
    would lose the digits of I1(x) = x/2)."""
    x = [3e-310, -3e-310, 1e-17]
    for fn in (mg.special.i1, mg.special.i1e):
        leaf = mg.tensor(np.array(x), requires_grad=True, dtype=np.float64)
        fn(leaf).sum().backward()
        np.testing.assert_array_equal(leaf.grad, [0.5, 0.5, 0.5])


def test_i1e_slope_uses_float32_eps_for_float32_input():
    """In float32, |x| <= 2^-23 (about 1.19e-7) gives exactly 1/2, as PyTorch's i1e_backward with the dtype's
    eps (the formula i0e - i1e (sign + 1/x) would give 1/2 - x there)."""
    leaf = mg.tensor(np.array([1e-7, -1.1e-7], dtype=np.float32), requires_grad=True)
    mg.special.i1e(leaf).sum().backward()
    np.testing.assert_array_equal(leaf.grad, np.float32([0.5, 0.5]))


def test_i0_and_i1_overflow_to_infinity_quietly():
    """I0(x) ~ e^|x| / sqrt(2 pi |x|) passes float64's max near |x| = 713: +inf (I1: odd, -inf on the left),
    with no numpy RuntimeWarning, as PyTorch's."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        i0 = mg.i0(t64([800.0, -800.0])).numpy()
        i1 = mg.special.i1(t64([800.0, -800.0])).numpy()
    np.testing.assert_array_equal(i0, [np.inf, np.inf])
    np.testing.assert_array_equal(i1, [np.inf, -np.inf])


@pytest.mark.parametrize("fn", [mg.lgamma, mg.digamma, lambda t: mg.polygamma(1, t), mg.erfinv, mg.i0,
                                mg.special.i1e, mg.special.ndtri, mg.special.log_ndtr, mg.special.erfcx])
def test_float16_stays_float16(fn):
    """The value is computed in float64 and rounded once to float16 (the module docstrings; PyTorch's Half)."""
    out = fn(mg.tensor(np.array([0.25, 0.5], dtype=np.float16)))
    assert out.dtype == np.float16 and out.numpy().dtype == np.float16


def test_float16_values_are_the_float64_values_rounded_once():
    """lgamma(1/2) = log(pi) / 2 and erfinv(1/2) (by math.erf's bisection), each rounded to float16."""
    half = mg.tensor(np.array([0.5], dtype=np.float16))
    assert mg.lgamma(half).numpy()[0] == np.float16(0.5 * math.log(math.pi))
    low, high = 0.0, 1.0
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if math.erf(middle) < 0.5 else (low, middle)
    assert mg.erfinv(half).numpy()[0] == np.float16(low)
