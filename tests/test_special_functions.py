"""The gamma, error-function and Bessel families (ops/gamma_functions.py, ops/error_functions.py, ops/bessel.py):
mg.lgamma, digamma, polygamma, mvlgamma, erfinv, i0 and torch.special's gammaln, psi, multigammaln, ndtri,
log_ndtr, i0e, i1, i1e, erfcx.

The references are independent of the library: Python's math.lgamma, math.erf and math.erfc; closed forms
(psi(1) = -Euler's gamma, psi'(1) = pi^2 / 6, ...) and identities (the recurrences, the reflection formula);
the power series of I0 and I1 summed with math.fsum; the Hurwitz series of polygamma with its Euler-Maclaurin
tail; inverses by bisection of math.erf and of the normal CDF 0.5 erfc(-x / sqrt 2); asymptotic expansions far
out; gradients and tangents against central differences of those in float64.
"""

import math

import numpy as np
import pytest
from test_op_gradients import assert_gradients_match

import microgradseq as mg

RNG = np.random.default_rng(27)
EULER_GAMMA = 0.5772156649015329
SHAPES = [(), (4,), (2, 3), (2, 1, 3)]


# ---- references written here --------------------------------------------------------------

np_lgamma = np.vectorize(math.lgamma, otypes=[np.float64])
np_erf = np.vectorize(math.erf, otypes=[np.float64])
np_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def np_digamma(x):
    """psi(x) = psi(x + 20) - sum_{k<20} 1 / (x + k), psi(z) ~ log z - 1/(2z) - sum_k B_2k / (2k z^2k) at
    z >= 20; the reflection psi(x) = psi(1 - x) - pi / tan(pi x) for x < 1/2."""
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    z = np.where(reflect, 1 - x, x)
    shifts = sum(1 / (z + k) for k in range(20))
    z = z + 20
    series = (1 / 12 - (1 / 120 - (1 / 252 - (1 / 240 - (1 / 132 - 691 / 32760 / z ** 2) / z ** 2) / z ** 2)
                        / z ** 2) / z ** 2) / z ** 2
    psi = np.log(z) - 0.5 / z - series - shifts
    return np.where(reflect, psi - np.pi / np.tan(np.pi * x), psi)


def np_polygamma(n, x):
    """psi^(n)(x) = (-1)^(n+1) n! sum_k (x + k)^-(n+1) for x > 0, n >= 1: twenty terms, then Euler-Maclaurin's
    tail at a = x + 20: a^-n / n + a^-(n+1) / 2 + sum_j B_2j / (2j)! (n + 1) ... (n + 2j - 1) a^-(n+2j)."""
    if n == 0:
        return np_digamma(x)
    x = np.asarray(x, dtype=np.float64)
    a = x + 20
    total = sum((x + k) ** -(n + 1.0) for k in range(20)) + a ** -float(n) / n + a ** -(n + 1.0) / 2
    for j, bernoulli in enumerate((1 / 6, -1 / 30, 1 / 42, -1 / 30), start=1):
        rising = math.prod(range(n + 1, n + 2 * j))
        total = total + bernoulli / math.factorial(2 * j) * rising * a ** -(n + 2.0 * j)
    return (-1) ** (n + 1) * math.factorial(n) * total


def bisection(increasing, targets, low, high, steps=200):
    """The x in [low, high] with increasing(x) = target, entry by entry."""
    targets = np.asarray(targets, dtype=np.float64)
    low, high = np.full_like(targets, low), np.full_like(targets, high)
    for _ in range(steps):
        middle = (low + high) / 2
        below = increasing(middle) < targets
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    return (low + high) / 2


def np_erfinv(y):
    return bisection(np_erf, y, -6.0, 6.0)


def np_ndtr(x):
    return 0.5 * np_erfc(-np.asarray(x, dtype=np.float64) / math.sqrt(2))


def np_ndtri(p):
    return bisection(np_ndtr, p, -40.0, 40.0)


def np_log_ndtr(x):
    """log(0.5 erfc(-x / sqrt 2)), as log1p(-0.5 erfc(x / sqrt 2)) for x > 0 (ndtr near 1: no rounding to 1)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x < 0, np.log(np_ndtr(np.minimum(x, 0))), np.log1p(-0.5 * np_erfc(np.maximum(x, 0) / math.sqrt(2))))


def np_erfcx(x):
    x = np.asarray(x, dtype=np.float64)
    return np.exp(x * x) * np_erfc(x)


def _bessel_series(x, order):
    """I_order(x) = (x/2)^order sum_k (x^2/4)^k / (k! (k + order)!), summed exactly rounded with math.fsum."""
    term, terms = (x / 2) ** order / math.factorial(order), []
    for k in range(1, 400):
        terms.append(term)
        term *= x * x / 4 / (k * (k + order))
    return math.fsum(terms)


np_i0 = np.vectorize(lambda x: _bessel_series(x, 0), otypes=[np.float64])
np_i1 = np.vectorize(lambda x: _bessel_series(x, 1), otypes=[np.float64])


def np_i0e(x):
    return np.exp(-np.abs(x)) * np_i0(x)


def np_i1e(x):
    return np.exp(-np.abs(x)) * np_i1(x)


def np_mvlgamma(x, p):
    return p * (p - 1) / 4 * math.log(math.pi) + sum(np_lgamma(x - i / 2) for i in range(p))


def t64(values):
    """A float64 tensor (whatever the default dtype)."""
    return mg.tensor(values, dtype=np.float64)


# ---- values ----------------------------------------------------------------------------

def test_lgamma_matches_math_lgamma_on_a_wide_grid():
    """Positive and negative non-integers, tiny and huge x: within a few ulps of math.lgamma (absolute
    1e-15 near lgamma's zeros at 1 and 2)."""
    x = np.concatenate([np.linspace(0.01, 30, 997), -np.linspace(0.01, 30, 997) - 0.003, [1e-300, 5e-324, -1e-300],
                        [1e5, 123456.7, 1e10, 1e300, -170.5, -1e10 - 0.5]])
    np.testing.assert_allclose(mg.lgamma(t64(x)).numpy(), np_lgamma(x), rtol=2e-15, atol=2e-15)


def test_lgamma_is_exactly_zero_at_1_and_2_and_relatively_accurate_next_to_them():
    """C's lgamma (PyTorch's CPU kernel) gives exactly 0 at 1 and 2, and a small relative error beside
    them: lgamma(1 + z) = -euler z + zeta(2) z^2 / 2 - ..., lgamma(2 + z) = (1 - euler) z + ... for tiny z."""
    assert mg.lgamma(t64([1.0, 2.0])).tolist() == [0.0, 0.0]
    assert mg.lgamma(mg.tensor([1.0, 2.0])).tolist() == [0.0, 0.0]
    assert not np.signbit(mg.lgamma(t64([1.0, 2.0])).numpy()).any()      # +0, as C's lgamma(1)
    steps = np.array([1e-12, -1e-12, 1e-8, -1e-8, 1e-5])
    z1, z2 = (1 + steps) - 1, (2 + steps) - 2            # (the steps as the float64 x's hold them)
    taylor_1 = -EULER_GAMMA * z1 + math.pi ** 2 / 12 * z1 ** 2
    taylor_2 = (1 - EULER_GAMMA) * z2 + (math.pi ** 2 / 6 - 1) / 2 * z2 ** 2
    np.testing.assert_allclose(mg.lgamma(t64(1 + z1)).numpy(), taylor_1, rtol=1e-10)
    np.testing.assert_allclose(mg.lgamma(t64(2 + z2)).numpy(), taylor_2, rtol=1e-10)


def test_lgamma_is_inf_at_its_poles_and_at_both_infinities_as_pytorchs():
    out = mg.lgamma(t64([0.0, -0.0, -1.0, -7.0, np.inf, -np.inf, np.nan])).numpy()
    np.testing.assert_array_equal(out, [np.inf] * 6 + [np.nan])


def test_digamma_closed_forms():
    """psi(n) = -gamma + H_(n-1) (psi(1) = -gamma), psi(1/2) = -gamma - 2 ln 2."""
    n = np.arange(1, 12)
    harmonic = np.array([math.fsum(1 / k for k in range(1, m)) for m in n])
    np.testing.assert_allclose(mg.digamma(t64(n * 1.0)).numpy(), harmonic - EULER_GAMMA, rtol=1e-15, atol=1e-15)
    assert mg.digamma(t64(0.5)).item() == pytest.approx(-EULER_GAMMA - 2 * math.log(2), rel=1e-15)


def test_digamma_reflection_and_the_slope_of_lgamma():
    """psi(1 - x) - psi(x) = pi cot(pi x) at negative and positive non-integers, and psi = d lgamma/dx (a
    central difference of math.lgamma, step 1e-5)."""
    x = np.array([-3.7, -1.2, -0.3, 0.3, 0.9, 2.6])
    psi = mg.digamma(t64(x)).numpy()
    np.testing.assert_allclose(mg.digamma(t64(1 - x)).numpy() - psi, np.pi / np.tan(np.pi * x), rtol=1e-12)
    step = 1e-5
    slope = (np_lgamma(x + step) - np_lgamma(x - step)) / (2 * step)
    np.testing.assert_allclose(psi, slope, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(psi, np_digamma(x), rtol=1e-13, atol=1e-14)


def test_digamma_edges_as_pytorchs_calc_digamma():
    """-inf at +0, +inf at -0 (copysign(inf, -x)), NaN at the negative integers and -inf, +inf at +inf."""
    out = mg.digamma(t64([0.0, -0.0, -1.0, -4.0, -np.inf, np.inf, np.nan])).numpy()
    np.testing.assert_array_equal(out, [-np.inf, np.inf, np.nan, np.nan, np.nan, np.inf, np.nan])


def test_polygamma_closed_forms():
    """psi'(1) = pi^2 / 6, psi'(1/2) = pi^2 / 2, psi''(1) = -2 zeta(3); polygamma(0, x) is digamma."""
    np.testing.assert_allclose(mg.polygamma(1, t64([1.0, 0.5])).numpy(), [math.pi ** 2 / 6, math.pi ** 2 / 2],
                               rtol=1e-15)
    assert mg.polygamma(2, t64(1.0)).item() == pytest.approx(-2 * 1.2020569031595942, rel=1e-15)
    x = t64([0.3, 2.5, -1.5])
    np.testing.assert_array_equal(mg.polygamma(0, x).numpy(), mg.digamma(x).numpy())


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_polygamma_recurrence_at_positive_and_negative_x(n):
    """psi^(n)(x + 1) = psi^(n)(x) + (-1)^n n! / x^(n+1) (the n-th derivative of psi(x + 1) = psi(x) + 1/x)."""
    x = np.array([-2.4, -0.6, 0.3, 1.7, 4.2, 11.5])
    step = (-1) ** n * math.factorial(n) / x ** (n + 1)
    difference = mg.polygamma(n, t64(x + 1)).numpy() - mg.polygamma(n, t64(x)).numpy()
    np.testing.assert_allclose(difference / step, 1.0, rtol=1e-11)      # (relative to the step: the sum cancels)


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_polygamma_matches_the_hurwitz_series(n):
    x = np.array([0.05, 0.5, 1.0, 3.3, 9.9, 27.0])
    np.testing.assert_allclose(mg.polygamma(n, t64(x)).numpy(), np_polygamma(n, x), rtol=1e-13)


def test_polygamma_poles():
    """+inf at 0 for odd n (psi' and the zeta sum), as PyTorch's trigamma and zeta; -inf for even n >= 2."""
    np.testing.assert_array_equal(mg.polygamma(1, t64([0.0])).numpy(), [np.inf])
    np.testing.assert_array_equal(mg.polygamma(2, t64([0.0, -3.0])).numpy(), [-np.inf, -np.inf])
    np.testing.assert_array_equal(mg.polygamma(3, t64([0.0, -3.0])).numpy(), [np.inf, np.inf])


@pytest.mark.parametrize("p", [1, 2, 4])
def test_mvlgamma_is_pytorchs_sum_of_lgammas(p):
    """mvlgamma(x, p) = p (p - 1) / 4 log pi + sum_{i<p} lgamma(x - i/2), as the method, in place and
    torch.special.multigammaln; shape kept."""
    x = RNG.uniform(2.0, 6.0, size=(2, 3))
    expected = np_mvlgamma(x, p)
    np.testing.assert_allclose(mg.mvlgamma(t64(x), p).numpy(), expected, rtol=1e-14)
    np.testing.assert_allclose(t64(x).mvlgamma(p).numpy(), expected, rtol=1e-14)
    np.testing.assert_allclose(mg.special.multigammaln(t64(x), p).numpy(), expected, rtol=1e-14)
    t = t64(x)
    assert t.mvlgamma_(p) is t
    np.testing.assert_allclose(t.numpy(), expected, rtol=1e-14)


def test_erfinv_inverts_math_erf_to_the_last_bits():
    """erf(erfinv(y)) = y within 2 ulps of 1 up to |y| = 1 - 2^-52; erfinv within 1e-14 of the bisection of
    math.erf for |y| <= 0.99 (beyond, erf is too flat for the bisection to settle x), 2 y / sqrt(pi) near 0."""
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 2001), [1e-300, -1e-10, 0.7, -0.7, 1 - 2 ** -52]])
    x = mg.erfinv(t64(y)).numpy()
    np.testing.assert_allclose(np_erf(x), y, rtol=0, atol=2.3e-16)
    inside = np.abs(y) <= 0.99
    np.testing.assert_allclose(x[inside], np_erfinv(y[inside]), rtol=1e-14, atol=1e-16)
    assert mg.erfinv(t64(1e-300)).item() == pytest.approx(math.sqrt(math.pi) / 2 * 1e-300, rel=1e-15)


def test_erfinv_edges_as_pytorchs():
    out = mg.erfinv(t64([1.0, -1.0, 1.5, -2.0, np.nan, 0.0])).numpy()
    np.testing.assert_array_equal(out, [np.inf, -np.inf, np.nan, np.nan, np.nan, 0.0])


def test_bessel_functions_match_their_power_series():
    """i0, i1 and the scaled i0e = e^-|x| I0, i1e = e^-|x| I1 on both sides of Cephes' switch at 8."""
    x = np.array([-30.0, -8.5, -8.0, -3.0, -0.1, 0.0, 1e-5, 0.7, 2.0, 7.9, 8.0, 8.1, 15.0, 30.0])
    t = t64(x)
    np.testing.assert_allclose(mg.i0(t).numpy(), np_i0(x), rtol=2e-15)
    np.testing.assert_allclose(mg.special.i1(t).numpy(), np_i1(x), rtol=2e-15)
    np.testing.assert_allclose(mg.special.i0e(t).numpy(), np_i0e(x), rtol=2e-15)
    np.testing.assert_allclose(mg.special.i1e(t).numpy(), np_i1e(x), rtol=2e-15)
    np.testing.assert_array_equal(mg.special.i0(t).numpy(), t.i0().numpy())


def test_ndtri_inverts_the_normal_cdf():
    """ndtri(p) against the bisection of 0.5 erfc(-x / sqrt 2), from p = 1e-300 to 0.999 (across Cephes'
    switches at e^-2 and 1 - e^-2); -inf at 0, +inf at 1, NaN outside [0, 1] (PyTorch's calc_ndtri)."""
    p = np.concatenate([np.linspace(0.001, 0.999, 999), [1e-300, 1e-20, 1e-10, 0.1353, 0.1354, 0.8646, 0.8647]])
    np.testing.assert_allclose(mg.special.ndtri(t64(p)).numpy(), np_ndtri(p), rtol=1e-13, atol=1e-14)
    out = mg.special.ndtri(t64([0.0, 1.0, -0.1, 1.1, np.nan, 0.5])).numpy()
    np.testing.assert_array_equal(out, [-np.inf, np.inf, np.nan, np.nan, np.nan, 0.0])


def test_log_ndtr_moderate_and_far_left():
    """log of 0.5 erfc(-x / sqrt 2) for moderate x; at x = -40 (ndtr about 1e-350, below float64) the
    asymptotic -x^2/2 - log(-x sqrt(2 pi)) + log(1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8)."""
    x = np.linspace(-20.0, 8.0, 561)
    np.testing.assert_allclose(mg.special.log_ndtr(t64(x)).numpy(), np_log_ndtr(x), rtol=1e-13)
    far = -40.0
    series = 1 - 1 / far ** 2 + 3 / far ** 4 - 15 / far ** 6 + 105 / far ** 8
    expected = -far * far / 2 - math.log(-far * math.sqrt(2 * math.pi)) + math.log(series)
    assert mg.special.log_ndtr(t64(far)).item() == pytest.approx(expected, rel=1e-15)


def test_erfcx_against_its_product_form_and_its_asymptotic_series():
    """e^(x^2) erfc(x) for |x| <= 5 (math.exp and math.erfc), 1 / (x sqrt pi) sum_k (-1)^k (2k - 1)!! / (2x^2)^k
    for x >= 20; +inf where e^(x^2) overflows (x < -26.7), 0 at +inf, as PyTorch's."""
    x = np.linspace(-5.0, 5.0, 201)
    np.testing.assert_allclose(mg.special.erfcx(t64(x)).numpy(), np_erfcx(x), rtol=5e-14)
    far = np.array([20.0, 35.5, 300.0, 1e8])
    series = sum((-1) ** k * math.prod(range(1, 2 * k, 2)) / (2 * far * far) ** k for k in range(12))
    np.testing.assert_allclose(mg.special.erfcx(t64(far)).numpy(), series / (far * math.sqrt(math.pi)),
                               rtol=3e-16)
    out = mg.special.erfcx(t64([-27.0, -1e10, np.inf, np.nan])).numpy()
    np.testing.assert_array_equal(out, [np.inf, np.inf, 0.0, np.nan])


# ---- gradients and tangents ------------------------------------------------------------------

def off_the_poles(shape):
    """Non-integers k + u, k in -3..3, u in [0.2, 0.8]: both sides of lgamma's and digamma's poles."""
    return RNG.integers(-3, 4, size=shape) + RNG.uniform(0.2, 0.8, size=shape)


def uniform(low, high):
    return lambda shape: RNG.uniform(low, high, size=shape)


def signed(low, high):
    """Magnitudes in [low, high], either sign (off i0e's and i1e's kink at 0)."""
    return lambda shape: RNG.uniform(low, high, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


ROWS = {
    "lgamma": (mg.lgamma, np_lgamma, off_the_poles),
    "gammaln": (mg.special.gammaln, np_lgamma, uniform(0.2, 20.0)),
    "digamma": (mg.digamma, np_digamma, off_the_poles),
    "psi (method)": (lambda t: t.digamma(), np_digamma, uniform(0.2, 20.0)),
    "polygamma(1)": (lambda t: mg.polygamma(1, t), lambda a: np_polygamma(1, a), uniform(0.3, 6.0)),
    "polygamma(3) (method)": (lambda t: t.polygamma(3), lambda a: np_polygamma(3, a), uniform(0.5, 6.0)),
    "mvlgamma(p=3)": (lambda t: mg.mvlgamma(t, 3), lambda a: np_mvlgamma(a, 3), uniform(1.2, 6.0)),
    "erfinv": (mg.erfinv, np_erfinv, uniform(-0.95, 0.95)),
    "i0": (mg.i0, np_i0, uniform(-12.0, 12.0)),
    "i0e": (mg.special.i0e, np_i0e, signed(0.1, 12.0)),
    "i1": (mg.special.i1, np_i1, uniform(-12.0, 12.0)),
    "i1e": (mg.special.i1e, np_i1e, signed(0.1, 12.0)),
    "ndtri": (mg.special.ndtri, np_ndtri, uniform(0.02, 0.98)),
    "log_ndtr": (mg.special.log_ndtr, np_log_ndtr, uniform(-8.0, 5.0)),
    "erfcx": (mg.special.erfcx, np_erfcx, uniform(-3.0, 12.0)),
}


def directional_difference(np_fn, x, v, eps=1e-6):
    return (np_fn(x + eps * v) - np_fn(x - eps * v)) / (2 * eps)


@pytest.mark.parametrize("name", sorted(ROWS))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_gradient_and_tangent_match_central_differences(name, shape):
    """The gradient of sum(R * f(x)) and mg.jvp's J v both equal central differences of the reference."""
    mg_fn, np_fn, draw = ROWS[name]
    x = draw(shape)
    assert_gradients_match(mg_fn, np_fn, x)
    v = RNG.standard_normal(shape)
    _, tangent = mg.jvp(mg_fn, (t64(x),), (v,))
    np.testing.assert_allclose(tangent, directional_difference(np_fn, x, v), rtol=1e-5, atol=1e-6)


def gradient(fn, values):
    x = mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True, dtype=np.float64)
    fn(x).sum().backward()
    return x.grad


def test_each_derivative_is_the_next_function_of_the_family():
    """lgamma' = digamma, digamma' = polygamma(1), polygamma(n)' = polygamma(n + 1), i0' = i1, in both modes
    (derivatives.yaml's rules, to the last bit)."""
    x = np.array([-2.5, 0.3, 1.0, 4.7])
    t = t64(x)
    pairs = [(mg.lgamma, mg.digamma(t)), (mg.digamma, mg.polygamma(1, t)),
             (lambda u: mg.polygamma(2, u), mg.polygamma(3, t)), (mg.i0, mg.special.i1(t))]
    for fn, derivative in pairs:
        np.testing.assert_array_equal(gradient(fn, x), derivative.numpy())
        _, tangent = mg.jvp(fn, (t,), (np.ones(4),))
        np.testing.assert_array_equal(np.asarray(tangent), derivative.numpy())


def test_the_slope_of_i1_and_i1e_at_zero_is_one_half():
    """I1(x) ~ x/2: PyTorch's i1_backward and i1e_backward give 1/2 where |x| <= eps (I0 - I1/x is 0/0)."""
    np.testing.assert_array_equal(gradient(mg.special.i1, [0.0, -0.0]), [0.5, 0.5])
    np.testing.assert_array_equal(gradient(mg.special.i1e, [0.0]), [0.5])


def test_log_ndtr_gradient_far_left_is_the_mills_ratio():
    """d log Phi/dx = phi(x) / Phi(x) ~ -x / (1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8) at x = -40, where phi and
    Phi both underflow: PyTorch's e^(-(log_ndtr(x) + x^2/2)) / sqrt(2 pi) keeps it finite."""
    far = -40.0
    series = 1 - 1 / far ** 2 + 3 / far ** 4 - 15 / far ** 6 + 105 / far ** 8
    assert gradient(mg.special.log_ndtr, [far])[0] == pytest.approx(-far / series, rel=1e-12)


# ---- dtypes, names, methods ------------------------------------------------------------

FUNCTIONS = [mg.lgamma, mg.digamma, lambda t: mg.polygamma(2, t), mg.erfinv, mg.i0, mg.special.i0e, mg.special.i1,
             mg.special.i1e, mg.special.ndtri, mg.special.log_ndtr, mg.special.erfcx, lambda t: mg.mvlgamma(t, 2)]


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_float32_stays_float32_and_integers_give_the_default_float_dtype(fn):
    x = np.array([0.6, 0.7, 0.8])
    out32 = fn(mg.tensor(x, dtype=np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.numpy(), fn(t64(x)).numpy(), rtol=1e-6)
    assert fn(mg.tensor([1, 2])).dtype == mg.get_default_dtype()


def test_special_names_and_methods_are_the_functions():
    assert mg.special.gammaln is mg.lgamma and mg.special.psi is mg.special.digamma is mg.digamma
    assert mg.special.polygamma is mg.polygamma and mg.special.erfinv is mg.erfinv
    x = t64([0.3, 1.7])
    for method, fn in [("lgamma", mg.lgamma), ("digamma", mg.digamma), ("erfinv", mg.erfinv), ("i0", mg.i0)]:
        np.testing.assert_array_equal(getattr(x, method)().numpy(), fn(x).numpy())
        t = t64([0.3, 1.7])
        assert getattr(t, method + "_")() is t
        np.testing.assert_array_equal(t.numpy(), fn(x).numpy())
    t = t64([0.3, 1.7])
    t.polygamma_(2)
    np.testing.assert_array_equal(t.numpy(), mg.polygamma(2, x).numpy())


# ---- errors -----------------------------------------------------------------------------

def test_polygamma_refuses_a_negative_or_fractional_order_and_changes_nothing():
    t = t64([0.5, 1.5])
    with pytest.raises(ValueError, match=r"polygamma: n must be >= 0 .*got -1"):
        t.polygamma_(-1)
    with pytest.raises(TypeError, match=r"polygamma: n must be an integer, got float 1.5"):
        mg.polygamma(1.5, t)
    with pytest.raises(TypeError, match=r"polygamma: n must be an integer, got bool True"):
        t.polygamma(True)
    np.testing.assert_array_equal(t.numpy(), [0.5, 1.5])


def test_mvlgamma_checks_its_domain_and_p_as_pytorch_and_changes_nothing():
    t = t64([0.9, 3.0])
    with pytest.raises(ValueError, match=r"mvlgamma: all elements must be greater than \(p - 1\) / 2 = 1.0, got "
                                         r"0.9"):
        t.mvlgamma_(3)
    with pytest.raises(ValueError, match=r"mvlgamma: p has to be greater than or equal to 1, got 0"):
        mg.mvlgamma(t, 0)
    with pytest.raises(TypeError, match=r"mvlgamma: p must be an integer, got float 2.0"):
        mg.special.multigammaln(t, 2.0)
    with pytest.raises(TypeError, match=r"mvlgamma: the input tensor may not be a boolean tensor"):
        mg.mvlgamma(mg.tensor([True]), 1)
    np.testing.assert_array_equal(t.numpy(), [0.9, 3.0])


@pytest.mark.parametrize("fn, name", [(mg.lgamma, "lgamma"), (mg.erfinv, "erfinv"), (mg.special.i1e, "i1e"),
                                      (mg.special.log_ndtr, "log_ndtr")])
def test_complex_input_is_a_type_error_naming_the_function(fn, name):
    with pytest.raises(TypeError, match=rf"{name}: expected a real tensor, got dtype complex128"):
        fn(mg.tensor([1 + 1j], dtype=np.complex128))
