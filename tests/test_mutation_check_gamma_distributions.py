"""Tests written from a mutation check of the gamma-family distributions (ops/gamma_sampling.py: standard_gamma
and its implicit gradient; distributions/gamma.py, beta.py, counts.py, von_mises.py,
low_rank_multivariate_normal.py, LogisticNormal and StickBreakingTransform, the gamma family's KL pairs,
Normal.icdf, Weibull's moments): each pins a behaviour that a hand-made wrong implementation changed without
any other test noticing. Expected values come from closed forms, hand-written numpy / math, sums and
quadrature, or PyTorch's definitions (torch/distributions/*.py, aten/src/ATen/native/Distributions.h),
never from the library's own output."""

from __future__ import annotations

import math
import signal

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.distributions import (Beta, Binomial, Chi2, ContinuousBernoulli, Dirichlet, Exponential,
                                        FisherSnedecor, Gamma, Gumbel, Kumaraswamy, Laplace, LogisticNormal,
                                        LowRankMultivariateNormal, Multinomial, NegativeBinomial, Normal, Pareto,
                                        Poisson, StudentT, Uniform, VonMises, kl_divergence)
from microgradseq.distributions.transforms import StickBreakingTransform
from microgradseq.ops.gamma_sampling import standard_gamma


def f64(array, requires_grad=False):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def f32(array):
    return mg.tensor(np.asarray(array, dtype=np.float32))


def close(tensor, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(tensor.data, dtype=np.float64), expected, rtol=rtol, atol=atol)


def integrate(fn, low, high, n=200_001):
    """The trapezoid rule on n points (fn vectorised)."""
    x = np.linspace(low, high, n)
    y = fn(x)
    return float(np.sum((y[1:] + y[:-1]) / 2) * (x[1] - x[0]))


# ---- standard_gamma's implicit gradient, region by region ---------------------------------------------

class _FixedDraws:
    """A stand-in generator whose standard_gamma returns chosen draws, so dx/dalpha is read at known (alpha, x)."""

    def __init__(self, x):
        self.x = np.asarray(x, dtype=np.float64)

    def standard_gamma(self, alpha):
        return np.broadcast_to(self.x, np.shape(alpha)).copy()


def _grad_at(alpha, x):
    a = f64(alpha, requires_grad=True)
    standard_gamma(a, _FixedDraws(x)).sum().backward()
    return a.grad.data


_COEF_UV = [[0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084],
            [0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915,
             -0.00058392623],
            [0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326,
             0.00085092367, -1.5247877e-07]]


def _digamma(a):
    """psi(a): the recurrence psi(a) = psi(a + 1) - 1 / a up to a >= 10, then the asymptotic series."""
    result = 0.0
    while a < 10:
        result -= 1 / a
        a += 1
    z = 1 / (a * a)
    return result + math.log(a) - 0.5 / a - z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z / 132))))


def _pytorch_standard_gamma_grad_one(alpha, x):
    """aten/src/ATen/native/Distributions.h standard_gamma_grad_one, transcribed line by line in float64."""
    if x < 0.8:
        numer, denom = 1.0, alpha
        series1, series2 = numer / denom, numer / (denom * denom)
        for i in range(1, 6):
            numer *= -x / i
            denom += 1
            series1 += numer / denom
            series2 += numer / (denom * denom)
        pow_x_alpha = x ** alpha
        gamma_pdf = x ** (alpha - 1) * math.exp(-x)
        gamma_cdf = pow_x_alpha * series1
        gamma_cdf_alpha = (math.log(x) - _digamma(alpha)) * gamma_cdf - pow_x_alpha * series2
        result = -gamma_cdf_alpha / gamma_pdf
        return 0.0 if math.isnan(result) else result
    if alpha > 8.0:
        if 0.9 * alpha <= x <= 1.1 * alpha:
            numer_1 = 1 + 24 * alpha * (1 + 12 * alpha)
            numer_2 = 1440 * (alpha * alpha) + 6 * x * (53 - 120 * x) - 65 * x * x / alpha + alpha * (107 + 3600 * x)
            return numer_1 * numer_2 / (1244160 * (alpha * alpha) * (alpha * alpha))
        denom = math.sqrt(8 * alpha)
        term2 = denom / (alpha - x)
        term3 = (x - alpha - alpha * math.log(x / alpha)) ** -1.5
        term23 = term2 - term3 if x < alpha else term2 + term3
        term1 = math.log(x / alpha) * term23 - math.sqrt(2 / alpha) * (alpha + x) / ((alpha - x) * (alpha - x))
        stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
        return -stirling * x * term1 / denom
    u, v = math.log(x / alpha), math.log(alpha)
    c = [_COEF_UV[0][i] + u * (_COEF_UV[1][i] + u * _COEF_UV[2][i]) for i in range(8)]
    p = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
    q = c[4] + v * (c[5] + v * (c[6] + v * c[7]))
    return math.exp(p / q)


# (alpha, x) in every region: the small-x series (x < 0.8), Rice's expansion far from and near alpha (alpha > 8,
# including 0.8 alpha and 1.15 alpha, just outside the near band), the rational approximation elsewhere
_GRID = [(0.3, 0.05), (0.3, 0.79), (2.5, 0.6), (12.0, 0.7), (9.0, 7.5), (20.0, 17.0), (20.0, 16.5), (20.0, 23.0),
         (20.0, 19.0), (20.0, 21.5), (12.0, 26.0), (30.0, 20.0), (1.5, 0.9), (1.5, 3.0), (5.0, 2.0), (7.0, 12.0),
         (0.5, 4.0), (15.0, 0.85), (3.0, 0.8)]


@pytest.mark.parametrize("alpha, x", _GRID)
def test_standard_gamma_gradient_is_pytorchs_standard_gamma_grad_one(alpha, x):
    """Each region's formula and boundary, with every coefficient, as Distributions.h's."""
    np.testing.assert_allclose(_grad_at([alpha], [x]), [_pytorch_standard_gamma_grad_one(alpha, x)],
                               rtol=1e-9, atol=0)


def test_standard_gamma_gradient_where_the_series_is_nan_is_zero():
    """Distributions.h: `isnan(result) ? 0`; x^alpha and x^(alpha - 1) both underflow for x = 1e-200, alpha = 3."""
    g = _grad_at([3.0, 0.5], [1e-200, 1e-200])
    assert np.all(np.isfinite(g)) and g[0] == 0.0


def test_standard_gamma_draws_keep_a_float32_concentrations_dtype():
    """torch._standard_gamma: the draws have alpha's dtype (here float32, though numpy draws in float64)."""
    mg.manual_seed(0)
    assert Gamma(f32([0.5, 2.0]), f32(1.0)).rsample((3,)).dtype == mg.float32
    assert standard_gamma(f32([0.5, 2.0]), np.random.default_rng(0)).data.dtype == np.float32


def test_standard_gamma_draws_are_clamped_to_the_dtypes_tiny():
    """PyTorch's CPU sampler returns max(finfo.tiny, draw): Gamma(0.01) draws underflow float32, never to 0."""
    mg.manual_seed(3)
    x = Gamma(f32(np.full(2000, 0.01)), f32(1.0)).sample().data
    tiny = np.finfo(np.float32).tiny
    assert x.min() == tiny and np.all(x >= tiny)
    assert standard_gamma(f64([2.0]), _FixedDraws([0.0])).data[0] == np.finfo(np.float64).tiny



def test_gamma_rsample_clamps_the_scaled_draw_to_tiny():
    """torch/distributions/gamma.py rsample: value = _standard_gamma(a) / rate, then
    value.detach().clamp_(min=finfo.tiny): no draw is 0 (the support's log-density stays finite)."""
    mg.manual_seed(0)
    x = Gamma(f32(np.full(1000, 0.01)), f32(1e10)).rsample().data
    assert x.min() >= np.finfo(np.float32).tiny
    y = Gamma(f64(np.full(200, 0.01)), f64(1e300)).rsample().data
    assert y.min() >= np.finfo(np.float64).tiny

# ---- Gamma, Chi2, StudentT, FisherSnedecor ------------------------------------------------------------

def test_gamma_log_prob_at_zero_uses_xlogy():
    """torch/distributions/gamma.py: xlogy(a - 1, x), so Gamma(1, r) (an Exponential) has log_prob(0) = log r."""
    close(Gamma(f64([1.0, 1.0]), f64([2.0, 0.5])).log_prob(f64([0.0, 0.0])), np.log([2.0, 0.5]))


def test_chi2_bad_df_names_df():
    """Chi2's only parameter is df (arg_constraints {'df': positive}): the message names df, not concentration."""
    with pytest.raises(ValueError, match=r"expected parameter df\b"):
        Chi2(f64([2.0, -1.0]))


def test_chi2_repr_shows_df():
    text = repr(Chi2(f64(3.0)))
    assert text.startswith("Chi2(df: ") and "3." in text and "1.5" not in text


def test_student_t_moments_at_the_df_boundaries():
    """studentT.py: mean NaN for df <= 1; variance inf for 1 < df <= 2 (df = 2 included), NaN for df <= 1."""
    d = StudentT(f64([1.0, 2.0, 3.0]), f64(0.5), f64(2.0))
    close(d.mean, [np.nan, 0.5, 0.5])
    close(d.variance, [np.nan, np.inf, 4.0 * 3.0])


def test_student_t_expand_then_rsample():
    mg.manual_seed(1)
    d = StudentT(f64(5.0), f64(1.0), f64(2.0)).expand((3,))
    x = d.rsample((4,))
    assert x.shape == (4, 3) and np.all(np.isfinite(x.data))


def test_fisher_snedecor_moments_at_the_df_boundaries():
    """fishersnedecor.py: mean NaN for df2 <= 2, mode NaN for df1 <= 2, variance NaN for df2 <= 4."""
    d = FisherSnedecor(f64([2.0, 5.0]), f64([2.0, 4.0]))
    close(d.mean, [np.nan, 2.0])
    close(d.mode, [np.nan, 3 / 5 * 4 / 6])
    close(d.variance, [np.nan, np.nan])


def test_fisher_snedecor_expand_then_rsample():
    mg.manual_seed(1)
    x = FisherSnedecor(f64(5.0), f64(8.0)).expand((3,)).rsample((4,))
    assert x.shape == (4, 3) and np.all(x.data > 0)


def test_fisher_snedecor_draws_are_at_least_tiny():
    """fishersnedecor.py rsample: Y = X1 / X2 clamped to min=finfo.tiny (float32 draws of tiny df underflow)."""
    mg.manual_seed(0)
    y = FisherSnedecor(f32(0.05), f32(0.05)).rsample((100_000,)).data
    tiny = np.finfo(np.float32).tiny
    assert y.min() == tiny


# ---- Dirichlet, Beta, Kumaraswamy, ContinuousBernoulli ------------------------------------------------

def test_dirichlet_log_prob_at_a_vertex_uses_xlogy():
    """dirichlet.py: torch.xlogy(c - 1, x), so a zero entry where c = 1 adds 0: Dirichlet([1, 2]) at [0, 1] is
    lgamma(3) - lgamma(1) - lgamma(2) = log 2."""
    close(Dirichlet(f64([1.0, 2.0])).log_prob(f64([0.0, 1.0])), math.log(2.0))


def test_beta_expand_expands_every_moment():
    d = Beta(f64(2.0), f64(3.0)).expand((3,))
    assert d.mode.shape == (3,) and d.entropy().shape == (3,) and d.mean.shape == (3,)
    close(d.mode, np.full(3, 1 / 3))


def test_kumaraswamy_mode_is_nan_when_either_concentration_is_below_one():
    """kumaraswamy.py: log_mode[(c0 < 1) | (c1 < 1)] = nan."""
    assert np.isnan(Kumaraswamy(f64(3.0), f64(0.5)).mode.data)
    assert np.isnan(Kumaraswamy(f64(0.5), f64(3.0)).mode.data)


def _cb_closed_forms(p):
    """ContinuousBernoulli in closed form: with L = log((1 - p) / p) = 2 atanh(1 - 2p),
    C = L / (1 - 2p), mean p / (2p - 1) + 1 / L, variance p (p - 1) / (1 - 2p)^2 + 1 / L^2."""
    L = 2 * np.arctanh(1 - 2 * p)
    return np.log(L / (1 - 2 * p)), p / (2 * p - 1) + 1 / L, p * (p - 1) / (1 - 2 * p) ** 2 + 1 / L ** 2


def test_continuous_bernoulli_taylor_forms_near_one_half_match_the_closed_forms():
    """Inside lims = (0.499, 0.501] the Taylor forms of log C, the mean and the variance are used; they equal the
    closed forms there (to the series' O((p - 1/2)^4) error)."""
    p = np.array([0.4991, 0.5009])
    log_norm, mean, variance = _cb_closed_forms(p)
    d = ContinuousBernoulli(f64(p))
    close(d.log_prob(f64([0.0, 0.0])), np.log1p(-p) + log_norm, rtol=1e-10)
    close(d.mean, mean, rtol=1e-10)
    close(d.variance, variance, rtol=1e-8)


def test_continuous_bernoulli_cdf_is_zero_below_and_one_above_the_interval():
    """continuous_bernoulli.py cdf: where(value <= 0, 0, where(value >= 1, 1, unbounded))."""
    d = ContinuousBernoulli(f64([0.2, 0.5]), validate_args=False)
    close(d.cdf(f64([[-0.5, -0.5], [1.5, 1.5]])), [[0.0, 0.0], [1.0, 1.0]])


def test_continuous_bernoulli_icdf_near_one_half_is_the_identity():
    """continuous_bernoulli.py icdf: `value` itself where p is inside the unstable region (the uniform)."""
    close(ContinuousBernoulli(f64(0.5005)).icdf(f64([0.2, 0.7])), [0.2, 0.7])


def test_continuous_bernoulli_clamps_probs_of_zero_and_one():
    """clamp_probs: p in [eps, 1 - eps], so p = 0 has the finite moments of p = eps."""
    eps = np.finfo(np.float64).eps
    _, mean, _ = _cb_closed_forms(np.array(eps))
    close(ContinuousBernoulli(f64(0.0)).mean, mean, rtol=1e-9)
    assert np.isfinite(ContinuousBernoulli(f64(1.0)).log_prob(f64(0.5)).data)


def test_continuous_bernoulli_probs_from_huge_logits_are_clamped():
    """probs = clamp_probs(sigmoid(logits)) = 1 - eps for logits = 50: log_prob(1/2) = -BCE(50, 1/2) + log C."""
    eps = np.finfo(np.float64).eps
    p = 1 - eps
    expected = -(50.0 + math.log1p(math.exp(-50.0)) - 25.0) + math.log(-(math.log(eps) - math.log(p)) / (2 * p - 1))
    close(ContinuousBernoulli(logits=f64(50.0)).log_prob(f64(0.5)), expected, rtol=1e-12)


def test_continuous_bernoulli_validates_probs_before_clamping():
    with pytest.raises(ValueError, match="probs"):
        ContinuousBernoulli(f64(1.5), validate_args=True)


# ---- Poisson, Binomial, NegativeBinomial, Multinomial -------------------------------------------------

def test_poisson_mode_is_the_floor_of_the_rate():
    close(Poisson(f64([2.7, 0.5, 3.0])).mode, [2.0, 0.0, 3.0])


def test_count_draws_keep_the_parameters_float_dtype():
    """PyTorch's Poisson, Binomial and NegativeBinomial samples are float tensors of the parameter's dtype."""
    mg.manual_seed(0)
    assert Poisson(f64([1.0, 2.0])).sample((3,)).dtype == mg.float64
    assert Poisson(f32([1.0, 2.0])).sample((3,)).dtype == mg.float32
    assert NegativeBinomial(f64(3.0), f64(0.4)).sample((3,)).dtype == mg.float64
    assert NegativeBinomial(f32(3.0), f32(0.4)).sample((3,)).dtype == mg.float32
    assert Binomial(f32(5.0), f32(0.4)).sample((3,)).dtype == mg.float32
    assert Binomial(f64(5.0), f64(0.4)).sample((3,)).dtype == mg.float64


def test_binomial_total_count_takes_the_probs_dtype():
    """binomial.py: total_count = total_count.type_as(probs)."""
    d = Binomial(mg.tensor(np.array([5, 6])), f64(0.3))
    assert d.total_count.dtype == mg.float64 and d.mean.dtype == mg.float64
    close(d.mean, [1.5, 1.8])


def test_negative_binomial_probs_must_be_below_one():
    """NegativeBinomial's probs constraint is half_open_interval(0, 1): p = 1 is rejected."""
    with pytest.raises(ValueError, match="probs"):
        NegativeBinomial(f64(3.0), f64(1.0), validate_args=True)
    NegativeBinomial(f64(3.0), f64(0.0), validate_args=True)


def test_multinomial_support_rejects_negative_counts():
    """constraints.multinomial: every count >= 0 and their sum <= total_count."""
    d = Multinomial(2, f64([0.5, 0.5]), validate_args=True)
    with pytest.raises(ValueError, match="support"):
        d.log_prob(f64([-1.0, 3.0]))
    assert d.support.check(f64([[-1.0, 3.0], [1.0, 1.0], [2.0, 1.0]])).tolist() == [False, True, False]


def test_binomial_with_probs_zero_or_one_has_a_finite_log_prob():
    """probs_to_logits(is_binary=True) clamps p to [eps, 1 - eps]: P(0) = 1 for p = 0, P(n) = 1 for p = 1."""
    close(Binomial(f64(4.0), f64(0.0)).log_prob(f64(0.0)), 0.0, atol=1e-13)
    close(Binomial(f64(4.0), f64(1.0)).log_prob(f64(4.0)), 0.0, atol=1e-13)


def test_binomial_mode_is_at_most_total_count():
    """binomial.py mode: ((n + 1) p).floor().clamp(max=n)."""
    close(Binomial(f64(5.0), f64(1.0)).mode, 5.0)


def test_binomial_log_prob_gradient_at_logits_zero():
    """d/dlogit [k logit - n log(1 + e^logit)] = k - n sigmoid(logit) = k - n / 2 at 0 (PyTorch's _clamp_by_zero
    has gradient 1/2 there)."""
    logits = f64([0.0, 0.0], requires_grad=True)
    Binomial(f64(4.0), logits=logits).log_prob(f64([1.0, 3.0])).sum().backward()
    close(logits.grad, [1.0 - 2.0, 3.0 - 2.0])


def test_binomial_support_ends_at_total_count():
    with pytest.raises(ValueError, match="support"):
        Binomial(f64(3.0), f64(0.5), validate_args=True).log_prob(f64(4.0))
    assert Binomial(f64(3.0), f64(0.5)).support.check(f64([0.0, 3.0, 4.0])).tolist() == [True, True, False]


def test_negative_binomial_mode_is_at_least_zero():
    """negative_binomial.py: ((n - 1) e^logits).floor().clamp(min=0)."""
    close(NegativeBinomial(f64([0.5, 3.0]), f64([0.5, 0.5])).mode, [0.0, 2.0])


def test_negative_binomial_with_zero_total_count_is_a_point_mass_at_zero():
    """log_normalization.masked_fill_(n + k == 0, 0): log_prob(0) = 0 for n = 0; the draws are all 0."""
    d = NegativeBinomial(f64(0.0), f64(0.5))
    close(d.log_prob(f64(0.0)), 0.0)
    mg.manual_seed(0)
    assert np.all(d.sample((200,)).data == 0)


def test_multinomial_accepts_zero_total_count():
    d = Multinomial(0, f64([0.3, 0.7]))
    close(d.log_prob(f64([0.0, 0.0])), 0.0)
    close(d.mean, [0.0, 0.0])


def test_multinomial_log_prob_with_a_zero_probability_class():
    """multinomial.py: logits[(value == 0) & (logits == -inf)] = 0; P([0, 1, 1]) = 2! / (1! 1!) (1/2)(1/2) = 1/2
    (a logit of -inf; probs of 0 are clamped to eps by probs_to_logits, so give no -inf)."""
    close(Multinomial(2, logits=f64([-np.inf, 0.0, 0.0])).log_prob(f64([0.0, 1.0, 1.0])), math.log(0.5))
    close(Multinomial(2, f64([0.0, 0.5, 0.5])).log_prob(f64([0.0, 1.0, 1.0])), math.log(0.5))


def test_multinomial_expand_has_the_new_batch_shape():
    d = Multinomial(3, f64([0.2, 0.8])).expand((4,))
    assert d.batch_shape == (4,) and d.event_shape == (2,)
    assert d.mean.shape == (4, 2)
    mg.manual_seed(0)
    assert d.sample((2,)).shape == (2, 4, 2)


# ---- VonMises ---------------------------------------------------------------------------------------------

def _mean_cos(kappa):
    """E[cos(X - loc)] = I1(kappa) / I0(kappa) by quadrature of exp(kappa cos t) over [-pi, pi]."""
    weight = lambda t: np.exp(kappa * (np.cos(t) - 1))     # noqa: E731
    return integrate(lambda t: np.cos(t) * weight(t), -np.pi, np.pi) / integrate(weight, -np.pi, np.pi)


def _within_seconds(seconds, fn):
    """fn() or a failure after `seconds` (a rejection sampler whose proposal is NaN would loop for ever)."""
    if not hasattr(signal, "SIGALRM"):
        return fn()

    def expire(signum, frame):
        raise TimeoutError(f"no result within {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        return fn()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("kappa", [0.5, 2.0, 8.0])
def test_von_mises_draws_have_the_circular_variance(kappa):
    """Best and Fisher's sampler gives the exact law: the draws' mean of cos(x - loc) is I1 / I0."""
    mg.manual_seed(7)
    x = VonMises(f64(1.0), f64(kappa)).sample((40_000,)).data
    np.testing.assert_allclose(np.cos(x - 1.0).mean(), _mean_cos(kappa), atol=0.012)
    np.testing.assert_allclose(np.sin(x - 1.0).mean(), 0.0, atol=0.012)


def test_von_mises_with_a_tiny_concentration_draws_near_uniform_angles():
    """von_mises.py: r = 1 / kappa + kappa for kappa < 1e-5 (the general form is 0 / 0 there)."""
    mg.manual_seed(2)
    x = _within_seconds(10, lambda: VonMises(f64(0.0), f64(1e-8)).sample((20_000,)).data)
    assert np.all(np.isfinite(x)) and np.all((x >= -np.pi) & (x < np.pi))
    np.testing.assert_allclose([np.cos(x).mean(), np.sin(x).mean()], [0.0, 0.0], atol=0.03)


def test_von_mises_draws_keep_locs_float32_dtype():
    mg.manual_seed(0)
    assert VonMises(f32(0.5), f32(2.0)).sample((3,)).dtype == mg.float32


# ---- LowRankMultivariateNormal --------------------------------------------------------------------------

def test_low_rank_expand_broadcasts_loc_and_log_prob():
    loc, W, D = np.array([1.0, -1.0]), np.array([[1.0], [2.0]]), np.array([0.5, 0.1])
    d = LowRankMultivariateNormal(f64(loc), f64(W), f64(D)).expand((3,))
    assert d.loc.shape == (3, 2) and d.cov_diag.shape == (3, 2) and d.cov_factor.shape == (3, 2, 1)
    cov = W @ W.T + np.diag(D)
    diff = np.array([0.5, 0.2]) - loc
    expected = -0.5 * (2 * np.log(2 * np.pi) + np.linalg.slogdet(cov)[1] + diff @ np.linalg.solve(cov, diff))
    close(d.log_prob(f64([0.5, 0.2])), np.full(3, expected), rtol=1e-12)


def test_low_rank_entropy_has_the_batch_shape():
    """The batch can come from loc alone (W and D unbatched): entropy is still of batch_shape."""
    d = LowRankMultivariateNormal(f64(np.zeros((3, 2))), f64([[1.0], [0.5]]), f64([1.0, 2.0]))
    assert d.entropy().shape == (3,)


def test_low_rank_cov_factor_rows_must_match_the_event():
    with pytest.raises(ValueError, match=r"cov_factor must be a batch of matrices with shape 3 x m"):
        LowRankMultivariateNormal(f64(np.zeros(3)), f64(np.ones((2, 1))), f64(np.ones(3)))


def test_low_rank_rsample_keeps_float32():
    mg.manual_seed(0)
    d = LowRankMultivariateNormal(f32([0.0, 1.0]), f32([[1.0], [0.5]]), f32([1.0, 2.0]))
    assert d.rsample((4,)).dtype == mg.float32


# ---- StickBreakingTransform, LogisticNormal -------------------------------------------------------------

def test_stick_breaking_clamps_the_sigmoid_to_tiny_and_one_minus_eps():
    """transforms.py StickBreakingTransform: z = _clipped_sigmoid(...) in [tiny, 1 - eps]."""
    t = StickBreakingTransform()
    tiny, eps = np.finfo(np.float64).tiny, np.finfo(np.float64).eps
    assert t(f64([-800.0])).data[0] == tiny
    close(t(f64([800.0])), [1 - eps, eps], rtol=0, atol=0)


def test_stick_breaking_inverse_clamps_the_stick_left_to_tiny():
    """_inverse: sf = clamp(1 - cumsum(y[:-1]), min=tiny): y = [1, 0] maps to -log(tiny), not inf."""
    close(StickBreakingTransform().inv(f64([1.0, 0.0])), [-math.log(np.finfo(np.float64).tiny)])


def test_stick_breaking_inverse_transform_shapes():
    inverse = StickBreakingTransform().inv
    assert inverse.forward_shape((3, 4)) == (3, 3)
    assert inverse.inverse_shape((3, 3)) == (3, 4)


def test_logistic_normal_of_scalars_is_on_the_2_simplex():
    """A scalar loc is one entry (K = 2): y = [z, 1 - z], z = sigmoid(x), log_prob N(x) - log(z (1 - z))."""
    d = LogisticNormal(f64(0.5), f64(2.0))
    assert d.event_shape == (2,) and d.batch_shape == ()
    z = 0.3
    x = math.log(z / (1 - z))
    expected = -0.5 * ((x - 0.5) / 2.0) ** 2 - math.log(2.0) - 0.5 * math.log(2 * math.pi) - math.log(z * (1 - z))
    close(d.log_prob(f64([z, 1 - z])), expected, rtol=1e-12)


def test_logistic_normal_expand():
    d = LogisticNormal(f64([0.2, -0.5, 1.0]), f64([1.0, 0.5, 2.0]))
    e = d.expand((2,))
    assert e.batch_shape == (2,) and e.event_shape == (4,)
    mg.manual_seed(0)
    y = e.rsample((5,))
    assert y.shape == (5, 2, 4)
    np.testing.assert_allclose(y.data.sum(-1), 1.0, rtol=1e-12)
    close(e.log_prob(y), np.broadcast_to(d.log_prob(y).data, (5, 2)))


def test_logistic_normal_loc_and_scale():
    d = LogisticNormal(f64([0.2, -0.5]), f64([1.0, 3.0]))
    close(d.loc, [0.2, -0.5])
    close(d.scale, [1.0, 3.0])


# ---- KL pairs ---------------------------------------------------------------------------------------------

def test_kl_uniform_gamma_matches_quadrature():
    """KL(U(l, h) || Gamma(a, r)) = -log(h - l) - E_p[a log r + (a - 1) log x - r x - lgamma(a)], by the trapezoid
    rule in numpy."""
    low, high, a, r = 0.5, 2.0, 2.5, 1.5
    log_q = lambda x: a * np.log(r) + (a - 1) * np.log(x) - r * x - math.lgamma(a)     # noqa: E731
    expected = -math.log(high - low) - integrate(log_q, low, high) / (high - low)
    close(kl_divergence(Uniform(f64(low), f64(high)), Gamma(f64(a), f64(r))), expected, rtol=1e-9)


def test_kl_uniform_gamma_is_infinite_below_zero():
    """kl.py _kl_uniform_gamma: result[p.low < q.support.lower_bound] = inf."""
    kl = kl_divergence(Uniform(f64([-1.0, 0.5]), f64([2.0, 2.0])), Gamma(f64(2.0), f64(1.0)))
    assert kl.data[0] == np.inf and np.isfinite(kl.data[1])


def test_kl_beta_uniform_is_infinite_when_high_is_below_one():
    """kl.py _kl_beta_uniform: inf where q.low > 0 or q.high < 1."""
    kl = kl_divergence(Beta(f64(2.0), f64(2.0)), Uniform(f64([0.0, 0.0]), f64([0.9, 1.0])))
    assert kl.data[0] == np.inf and np.isfinite(kl.data[1])


@pytest.mark.parametrize("p, q", [
    (lambda: Gamma(f64([1.0, 2.0]), f64(1.0)), lambda: Beta(f64(1.0), f64(1.0))),
    (lambda: Gamma(f64([1.0, 2.0]), f64(1.0)), lambda: Pareto(f64(1.0), f64(2.0))),
    (lambda: Gamma(f64([1.0, 2.0]), f64(1.0)), lambda: Uniform(f64(0.0), f64(9.0))),
    (lambda: Beta(f64([1.0, 2.0]), f64(1.0)), lambda: Pareto(f64(1.0), f64(2.0))),
    (lambda: Exponential(f64([1.0, 2.0])), lambda: Beta(f64(1.0), f64(1.0))),
    (lambda: Normal(f64([0.5, 0.2]), f64(1.0)), lambda: Beta(f64(1.0), f64(1.0))),
    (lambda: Normal(f64([1.0, 2.0]), f64(1.0)), lambda: Gamma(f64(1.0), f64(1.0))),
    (lambda: Laplace(f64([0.5, 0.2]), f64(1.0)), lambda: Beta(f64(1.0), f64(1.0))),
    (lambda: Laplace(f64([1.0, 2.0]), f64(1.0)), lambda: Gamma(f64(1.0), f64(1.0))),
    (lambda: Gumbel(f64([0.5, 0.2]), f64(1.0)), lambda: Beta(f64(1.0), f64(1.0))),
    (lambda: Gumbel(f64([1.0, 2.0]), f64(1.0)), lambda: Gamma(f64(1.0), f64(1.0))),
    (lambda: Pareto(f64([0.5, 0.2]), f64(1.0)), lambda: Beta(f64(1.0), f64(1.0))),
])
def test_kl_is_infinite_for_pytorchs_support_mismatch_pairs(p, q):
    """torch/distributions/kl.py registers these pairs as inf (p puts mass where q has none), of p's shape."""
    close(kl_divergence(p(), q()), [np.inf, np.inf])



def test_low_rank_batch_shape_can_come_from_cov_factor_alone():
    d = LowRankMultivariateNormal(f64([0.0, 1.0]), f64(np.ones((3, 2, 1))), f64([1.0, 2.0]))
    assert d.batch_shape == (3,) and d.loc.shape == (3, 2)
    close(d.variance, np.broadcast_to([2.0, 3.0], (3, 2)))


def test_beta_log_prob_gradient_reaches_the_value():
    """d/dx log Beta(x; a, b) = (a - 1) / x - (b - 1) / (1 - x)."""
    x = f64([0.2, 0.7], requires_grad=True)
    Beta(f64(2.5), f64(4.0)).log_prob(x).sum().backward()
    close(x.grad, 1.5 / np.array([0.2, 0.7]) - 3.0 / (1 - np.array([0.2, 0.7])))


def test_continuous_bernoulli_rsample_keeps_float32():
    mg.manual_seed(0)
    assert ContinuousBernoulli(f32([0.2, 0.7])).rsample((3,)).dtype == mg.float32


def test_kl_gamma_normal_matches_quadrature_away_from_lgamma_zeros():
    """KL(Gamma(a, r) || N(m, s)) = E_p[log p - log q] by the trapezoid rule, with a = 3.5 (lgamma(a) != 0, unlike
    the a = 1 and a = 2 where a wrong sign on lgamma(a) goes unseen)."""
    a, r, m, s = 3.5, 1.5, 1.0, 2.0
    log_p = lambda x: a * np.log(r) + (a - 1) * np.log(x) - r * x - math.lgamma(a)             # noqa: E731
    log_q = lambda x: -0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)           # noqa: E731
    expected = integrate(lambda x: np.exp(log_p(x)) * (log_p(x) - log_q(x)), 1e-12, 60.0, 400_001)
    close(kl_divergence(Gamma(f64(a), f64(r)), Normal(f64(m), f64(s))), expected, rtol=1e-8)


def test_binomial_enumerate_support_has_the_parameters_float_dtype():
    """binomial.py enumerate_support: torch.arange(1 + n, dtype=self._param.dtype)."""
    values = Binomial(f32(3.0), f32([0.2, 0.5])).enumerate_support()
    assert values.dtype == mg.float32 and values.shape == (4, 2)


def test_student_t_rsample_keeps_float32():
    """studentT.py rsample: X = _standard_normal(shape, dtype=self.df.dtype)."""
    mg.manual_seed(0)
    assert StudentT(f32(4.0), f32(0.0), f32(1.0)).rsample((3,)).dtype == mg.float32
