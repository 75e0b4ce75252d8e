"""The gamma family of mg.distributions (Gamma, Chi2, StudentT, FisherSnedecor, Beta, Dirichlet, Kumaraswamy,
ContinuousBernoulli, Poisson, Binomial, NegativeBinomial, Multinomial, VonMises, LowRankMultivariateNormal,
LogisticNormal), their KL pairs, the implicit reparameterisation gradient of the Gamma's draws, and
Normal.icdf: expected values from math.lgamma / math.gamma closed forms, sums over the support, numerical
quadrature, bisection and central differences in float64, never from the library itself."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.distributions import (Beta, Binomial, Chi2, ContinuousBernoulli, Dirichlet, Exponential,
                                        FisherSnedecor, Gamma, Gumbel, HalfNormal, Kumaraswamy, LogisticNormal,
                                        LowRankMultivariateNormal, Multinomial, NegativeBinomial, Normal, Poisson,
                                        StudentT, Uniform, VonMises, kl_divergence)
from microgradseq.distributions.transforms import StickBreakingTransform

lgamma = np.vectorize(math.lgamma)


def f64(array, requires_grad=False):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def close(tensor, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(tensor.data, dtype=np.float64), expected, rtol=rtol, atol=atol)


def digamma(x, h=1e-5):
    """psi by a central difference of math.lgamma (about 1e-10 accurate)."""
    return (lgamma(np.asarray(x) + h) - lgamma(np.asarray(x) - h)) / (2 * h)


def integrate(fn, low, high, n=200_001):
    """The trapezoid rule on n points (fn vectorised)."""
    x = np.linspace(low, high, n)
    y = fn(x)
    return float(np.sum((y[1:] + y[:-1]) / 2) * (x[1] - x[0]))


def gamma_cdf(a, x):
    """The regularised lower incomplete gamma P(a, x) = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1)...(a + n))."""
    terms, term, n = [1.0], 1.0, 0
    while term > 1e-17 * sum(terms):
        n += 1
        term *= x / (a + n)
        terms.append(term)
    return math.exp(a * math.log(x) - x - math.lgamma(a + 1)) * math.fsum(terms)


def gamma_icdf(a, u):
    """x with P(a, x) = u, by bisection."""
    low, high = 0.0, max(10.0, 10 * a)
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if gamma_cdf(a, middle) < u else (low, middle)
    return (low + high) / 2


# ---- the Gamma family: closed forms ---------------------------------------------------------------------

def test_gamma_log_prob_entropy_and_moments_are_the_closed_forms():
    a, r, x = np.array([0.5, 2.0, 7.5]), np.array([1.5, 0.3, 2.0]), np.array([0.2, 4.0, 3.1])
    d = Gamma(f64(a), f64(r))
    close(d.log_prob(f64(x)), a * np.log(r) + (a - 1) * np.log(x) - r * x - lgamma(a))
    close(d.entropy(), a - np.log(r) + lgamma(a) + (1 - a) * digamma(a), rtol=1e-8)
    close(d.mean, a / r)
    close(d.variance, a / r ** 2)
    close(d.mode, np.maximum((a - 1) / r, 0))


def test_gamma_log_prob_gradient_matches_central_differences():
    a, r, x = np.array([0.7, 3.0]), np.array([1.2, 0.4]), np.array([0.5, 6.0])
    ta, tr = f64(a, requires_grad=True), f64(r, requires_grad=True)
    Gamma(ta, tr).log_prob(f64(x)).sum().backward()

    def value(a, r):
        return float(np.sum(a * np.log(r) + (a - 1) * np.log(x) - r * x - lgamma(a)))
    h = 1e-6
    for tensor, which in ((ta, 0), (tr, 1)):
        expected = []
        for i in range(2):
            args = [a.copy(), r.copy()]
            args[which][i] += h
            up = value(*args)
            args[which][i] -= 2 * h
            expected.append((up - value(*args)) / (2 * h))
        np.testing.assert_allclose(tensor.grad.data, expected, rtol=1e-6)


def test_chi2_is_gamma_of_half_df():
    df, x = np.array([1.0, 4.0, 9.0]), np.array([0.5, 3.0, 12.0])
    d = Chi2(f64(df))
    k = df / 2
    close(d.log_prob(f64(x)), -k * np.log(2) + (k - 1) * np.log(x) - x / 2 - lgamma(k))
    close(d.df, df)
    close(d.mean, df)
    close(d.variance, 2 * df)


def test_student_t_matches_its_density_entropy_and_moments():
    df, loc, s = np.array([0.8, 1.5, 5.0]), np.array([0.0, 1.0, -2.0]), np.array([1.0, 2.0, 0.5])
    d = StudentT(f64(df), f64(loc), f64(s))
    x = np.array([0.3, -1.0, -1.5])
    y = (x - loc) / s
    expected = (lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * np.log(df * np.pi) - np.log(s)
                - (df + 1) / 2 * np.log1p(y ** 2 / df))
    close(d.log_prob(f64(x)), expected)
    close(d.mean, [np.nan, 1.0, -2.0])
    close(d.variance, [np.nan, np.inf, 0.25 * 5 / 3])
    five = StudentT(f64(5.0), f64(0.0), f64(1.0))
    logp = lambda t: five.log_prob(f64(t)).data                     # noqa: E731
    close(five.entropy(), -integrate(lambda t: np.exp(logp(t)) * logp(t), -400, 400, 800_001), rtol=1e-6)


def test_fisher_snedecor_matches_its_density_and_moments():
    d1, d2 = np.array([1.5, 5.0, 10.0]), np.array([3.0, 6.0, 20.0])
    x = np.array([0.4, 1.2, 2.5])
    d = FisherSnedecor(f64(d1), f64(d2))
    expected = (lgamma((d1 + d2) / 2) - lgamma(d1 / 2) - lgamma(d2 / 2) + d1 / 2 * np.log(d1 / d2)
                + (d1 / 2 - 1) * np.log(x) - (d1 + d2) / 2 * np.log1p(d1 * x / d2))
    close(d.log_prob(f64(x)), expected)
    close(d.mean, d2 / (d2 - 2))
    close(d.mode, [np.nan, 3 / 5 * 6 / 8, 8 / 10 * 20 / 22])
    close(d.variance, [np.nan, 2 * 36 * 9 / (5 * 16 * 2), 2 * 400 * 28 / (10 * 324 * 16)])


# ---- the unit interval and the simplex ------------------------------------------------------------------

def test_beta_matches_its_density_entropy_and_moments():
    a, b, x = np.array([0.5, 2.0, 5.0]), np.array([0.7, 3.0, 1.5]), np.array([0.1, 0.4, 0.95])
    d = Beta(f64(a), f64(b))
    log_beta = lgamma(a) + lgamma(b) - lgamma(a + b)
    close(d.log_prob(f64(x)), (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - log_beta)
    close(d.mean, a / (a + b))
    close(d.variance, a * b / ((a + b) ** 2 * (a + b + 1)))
    close(d.mode[1:], ((a - 1) / (a + b - 2))[1:])
    close(d.entropy(), log_beta - (a - 1) * digamma(a) - (b - 1) * digamma(b) + (a + b - 2) * digamma(a + b),
          rtol=1e-7)


def test_dirichlet_matches_its_density_entropy_and_moments():
    c = np.array([[0.5, 2.0, 3.0], [0.3, 0.6, 0.9]])
    x = np.array([0.2, 0.3, 0.5])
    d = Dirichlet(f64(c))
    c0 = c.sum(-1)
    close(d.log_prob(f64(x)), ((c - 1) * np.log(x)).sum(-1) + lgamma(c0) - lgamma(c).sum(-1))
    close(d.mean, c / c0[:, None])
    close(d.variance, c * (c0[:, None] - c) / (c0[:, None] ** 2 * (c0[:, None] + 1)))
    close(d.mode, [[0.0, 1 / 3, 2 / 3], [0.0, 0.0, 1.0]])
    entropy = lgamma(c).sum(-1) - lgamma(c0) - (3 - c0) * digamma(c0) - ((c - 1) * digamma(c)).sum(-1)
    close(d.entropy(), entropy, rtol=1e-7)
    assert d.batch_shape == (2,) and d.event_shape == (3,)


def test_kumaraswamy_matches_its_density_moments_mode_and_entropy():
    a, b = 2.0, 3.0
    d = Kumaraswamy(f64(a), f64(b))
    pdf = lambda x: a * b * x ** (a - 1) * (1 - x ** a) ** (b - 1)  # noqa: E731
    x = np.array([0.1, 0.5, 0.9])
    close(d.log_prob(f64(x)), np.log(pdf(x)), rtol=1e-9)
    close(d.mean, integrate(lambda t: t * pdf(t), 0, 1), rtol=1e-8)
    close(d.variance, integrate(lambda t: t * t * pdf(t), 0, 1) - integrate(lambda t: t * pdf(t), 0, 1) ** 2,
          rtol=1e-7)
    grid = np.linspace(0, 1, 1_000_001)
    close(d.mode, grid[np.argmax(pdf(grid))], rtol=1e-5)
    close(d.entropy(), -integrate(lambda t: pdf(t) * np.log(np.maximum(pdf(t), 1e-300)), 0, 1), rtol=1e-6)
    assert np.isnan(Kumaraswamy(f64(0.5), f64(3.0)).mode.data)


@pytest.mark.parametrize("p", [0.2, 0.4995, 0.8])
def test_continuous_bernoulli_is_normalised_with_its_mean_variance_and_icdf(p):
    d = ContinuousBernoulli(f64(p))
    pdf = lambda x: np.exp(d.log_prob(f64(x)).data)  # noqa: E731
    close(f64(integrate(pdf, 0, 1, 20_001)), 1.0, rtol=1e-6)
    mean = integrate(lambda x: x * pdf(x), 0, 1, 20_001)
    close(d.mean, mean, rtol=1e-6)
    close(d.variance, integrate(lambda x: x * x * pdf(x), 0, 1, 20_001) - mean ** 2, rtol=1e-5)
    u = np.array([0.1, 0.5, 0.9])
    close(d.cdf(d.icdf(f64(u))), u, rtol=1e-9)
    close(d.entropy(), -integrate(lambda x: pdf(x) * np.log(pdf(x)), 0, 1, 20_001), rtol=1e-5, atol=1e-9)


# ---- counts -----------------------------------------------------------------------------------------------

def test_poisson_sums_to_one_with_its_mean_and_variance():
    rate = np.array([0.5, 4.0])
    d = Poisson(f64(rate))
    k = np.arange(60.0)[:, None]
    log_p = k * np.log(rate) - rate - lgamma(k + 1)
    close(d.log_prob(f64(k)), log_p)
    probs = np.exp(log_p)
    close(f64(probs.sum(0)), [1.0, 1.0])
    close(d.mean, (k * probs).sum(0))
    close(d.mode, [0.0, 4.0])
    close(Poisson(f64(0.0)).log_prob(f64(0.0)), 0.0)


def test_binomial_matches_comb_with_its_entropy_mode_and_support():
    n, p = 7, np.array([0.2, 0.65])
    d = Binomial(n, f64(p))
    k = np.arange(n + 1.0)[:, None]
    probs = np.array([[math.comb(n, int(i)) * q ** i * (1 - q) ** (n - i) for q in p] for i in k[:, 0]])
    close(d.log_prob(f64(k)), np.log(probs), rtol=1e-9)
    close(d.entropy(), -(probs * np.log(probs)).sum(0), rtol=1e-9)
    close(d.mean, n * p)
    close(d.variance, n * p * (1 - p))
    close(d.mode, np.floor((n + 1) * p))
    close(d.enumerate_support(), np.broadcast_to(k, (8, 2)))
    close(Binomial(f64(5.0), logits=f64(30.0)).log_prob(f64(5.0)), 5 * -np.log1p(np.exp(-30.0)), atol=1e-12)


def test_negative_binomial_matches_its_pmf_and_moments():
    n, p = np.array([2.5, 4.0]), np.array([0.3, 0.6])
    d = NegativeBinomial(f64(n), f64(p))
    k = np.arange(200.0)[:, None]
    log_p = lgamma(k + n) - lgamma(k + 1) - lgamma(n) + k * np.log(p) + n * np.log1p(-p)
    close(d.log_prob(f64(k)), log_p, rtol=1e-9)
    probs = np.exp(log_p)
    close(d.mean, (k * probs).sum(0), rtol=1e-9)
    close(d.variance, (k * k * probs).sum(0) - ((k * probs).sum(0)) ** 2, rtol=1e-8)
    close(d.mode, np.floor(np.maximum((n - 1) * p / (1 - p), 0)))


def test_multinomial_matches_its_pmf_and_entropy_by_enumeration():
    n, p = 4, np.array([0.2, 0.3, 0.5])
    d = Multinomial(n, f64(p))
    outcomes = [c for c in itertools.product(range(n + 1), repeat=3) if sum(c) == n]
    probs = np.array([math.factorial(n) / np.prod([math.factorial(i) for i in c]) * np.prod(p ** np.array(c))
                      for c in outcomes])
    close(d.log_prob(f64(np.array(outcomes, dtype=float))), np.log(probs), rtol=1e-9)
    close(f64(probs.sum()), 1.0)
    close(d.entropy(), -(probs * np.log(probs)).sum(), rtol=1e-9)
    close(d.mean, n * p)
    close(d.variance, n * p * (1 - p))


# ---- VonMises, LowRankMultivariateNormal, LogisticNormal ------------------------------------------------

def test_von_mises_is_normalised_with_its_circular_variance():
    d = VonMises(f64([0.5, -2.0]), f64([0.3, 4.0]))
    theta = np.linspace(-np.pi, np.pi, 200_001)[:, None]
    pdf = np.exp(d.log_prob(f64(theta)).data)
    weights = np.full(theta.shape, theta[1, 0] - theta[0, 0])
    weights[[0, -1]] /= 2
    close(f64((pdf * weights).sum(0)), [1.0, 1.0], rtol=1e-9)
    circular = 1 - (pdf * np.cos(theta - np.array([0.5, -2.0])) * weights).sum(0)
    close(d.variance, circular, rtol=1e-9)


def test_low_rank_multivariate_normal_matches_the_full_covariance():
    rng = np.random.default_rng(0)
    loc, W, D = rng.normal(size=(2, 4)), rng.normal(size=(4, 2)), rng.uniform(0.5, 2, size=4)
    d = LowRankMultivariateNormal(f64(loc), f64(W), f64(D))
    cov = W @ W.T + np.diag(D)
    x = rng.normal(size=(3, 2, 4))
    diff = x - loc
    maha = np.einsum("...i,ij,...j->...", diff, np.linalg.inv(cov), diff)
    logdet = np.linalg.slogdet(cov)[1]
    close(d.log_prob(f64(x)), -0.5 * (4 * np.log(2 * np.pi) + logdet + maha), rtol=1e-9)
    close(d.entropy(), np.full(2, 0.5 * (4 * (1 + np.log(2 * np.pi)) + logdet)))
    close(d.covariance_matrix[0], cov)
    close(d.precision_matrix[1], np.linalg.inv(cov), rtol=1e-9)
    close(d.scale_tril[0], np.linalg.cholesky(cov), rtol=1e-9)
    close(d.variance[0], np.diag(cov))


def _stick_breaking(x):
    k = x.shape[-1]
    z = 1 / (1 + np.exp(-(x - np.log(np.arange(k, 0, -1)))))
    left = np.concatenate([[1.0], np.cumprod(1 - z)])
    return np.concatenate([z, [1.0]]) * left


def test_logistic_normal_log_prob_is_the_change_of_variables_of_stick_breaking():
    loc, scale, x = np.array([0.2, -0.5, 1.0]), np.array([1.0, 0.5, 2.0]), np.array([0.3, 0.1, -0.4])
    y = _stick_breaking(x)
    h = 1e-6
    jacobian = np.stack([(_stick_breaking(x + h * e)[:3] - _stick_breaking(x - h * e)[:3]) / (2 * h)
                         for e in np.eye(3)], axis=1)
    normal = -0.5 * ((x - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi)
    d = LogisticNormal(f64(loc), f64(scale))
    assert d.event_shape == (4,) and d.batch_shape == ()
    close(d.log_prob(f64(y)), normal.sum() - np.log(abs(np.linalg.det(jacobian))), rtol=1e-7)
    t = StickBreakingTransform()
    close(t(f64(x)), y)
    close(t.inv(f64(y)), x, rtol=1e-9)


# ---- draws: moments and the implicit reparameterisation gradient ----------------------------------------

@pytest.mark.parametrize("make, mean, variance", [
    (lambda: Gamma(f64([0.4, 3.0]), f64([2.0, 0.5])), [0.2, 6.0], [0.1, 12.0]),
    (lambda: Beta(f64([2.0, 0.5]), f64([3.0, 0.5])), [0.4, 0.5], [0.04, 0.125]),
    (lambda: StudentT(f64(6.0), f64(1.0), f64(2.0)), 1.0, 4 * 6 / 4),
    (lambda: FisherSnedecor(f64(6.0), f64(12.0)), 1.2, 2 * 144 * 16 / (6 * 100 * 8)),
    (lambda: Poisson(f64([0.7, 9.0])), [0.7, 9.0], [0.7, 9.0]),
    (lambda: Binomial(f64(12.0), f64(0.3)), 3.6, 2.52),
    (lambda: NegativeBinomial(f64(3.0), f64(0.4)), 2.0, 2.0 / 0.6),
    (lambda: Kumaraswamy(f64(2.0), f64(2.0)), 8 / 15, 1 / 3 - 64 / 225),
    (lambda: ContinuousBernoulli(f64(0.8)), None, None),
])
def test_draws_have_the_distributions_mean_and_variance(make, mean, variance):
    mg.manual_seed(11)
    d = make()
    x = d.sample((40_000,)).data
    mean = d.mean.data if mean is None else mean
    variance = d.variance.data if variance is None else variance
    np.testing.assert_allclose(x.mean(0), mean, rtol=0.05, atol=0.01)
    np.testing.assert_allclose(x.var(0), variance, rtol=0.08, atol=0.005)


def test_dirichlet_multinomial_von_mises_and_low_rank_draws():
    mg.manual_seed(5)
    c = np.array([1.0, 2.0, 5.0])
    x = Dirichlet(f64(c)).sample((40_000,)).data
    np.testing.assert_allclose(x.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(x.mean(0), c / 8, rtol=0.03)
    counts = Multinomial(6, f64([0.1, 0.3, 0.6])).sample((20_000,)).data
    assert np.all(counts.sum(-1) == 6)
    np.testing.assert_allclose(counts.mean(0), [0.6, 1.8, 3.6], rtol=0.03)
    angles = VonMises(f64(3.0), f64(2.0)).sample((40_000,)).data
    assert np.all((angles >= -np.pi) & (angles < np.pi))
    np.testing.assert_allclose(np.angle(np.exp(1j * angles).mean()), 3.0, atol=0.02)
    W, D = np.array([[1.0], [2.0]]), np.array([0.5, 0.1])
    y = LowRankMultivariateNormal(f64([1.0, -1.0]), f64(W), f64(D)).rsample((40_000,)).data
    np.testing.assert_allclose(np.cov(y.T), W @ W.T + np.diag(D), rtol=0.05, atol=0.03)


@pytest.mark.parametrize("alpha", [0.3, 1.5, 4.0, 20.0])
def test_gamma_draws_carry_the_implicit_gradient_of_the_inverse_cdf(alpha):
    mg.manual_seed(2)
    a = f64(np.full(6, alpha), requires_grad=True)
    x = Gamma(a, f64(1.0)).rsample()
    x.sum().backward()
    h = 1e-5 * alpha
    for xi, gi in zip(x.data, a.grad.data):
        u = gamma_cdf(alpha, xi)
        expected = (gamma_icdf(alpha + h, u) - gamma_icdf(alpha - h, u)) / (2 * h)
        np.testing.assert_allclose(gi, expected, rtol=2e-3, atol=1e-6)


def test_gamma_implicit_gradient_also_runs_in_forward_mode():
    import microgradseq.forward_ad as fwAD
    mg.manual_seed(4)
    with fwAD.dual_level():
        a = fwAD.make_dual(f64([0.5, 2.0, 9.0]), f64([1.0, 1.0, 1.0]))
        x = Gamma(a, f64(1.0)).rsample()
        tangent = fwAD.unpack_dual(x).tangent.data
    mg.manual_seed(4)
    a = f64([0.5, 2.0, 9.0], requires_grad=True)
    Gamma(a, f64(1.0)).rsample().sum().backward()
    close(f64(tangent), a.grad.data)


def test_beta_dirichlet_student_rsample_gradients_match_the_mean_on_average():
    mg.manual_seed(9)
    c1 = f64(2.0, requires_grad=True)
    Beta(c1, f64(3.0)).rsample((40_000,)).mean().backward()
    np.testing.assert_allclose(c1.grad.data, 3 / 25, rtol=0.05)
    c = f64([1.0, 2.0, 3.0], requires_grad=True)
    Dirichlet(c).rsample((40_000,))[:, 0].mean().backward()
    np.testing.assert_allclose(c.grad.data, [5 / 36, -1 / 36, -1 / 36], rtol=0.1, atol=0.004)
    s = f64(2.0, requires_grad=True)
    StudentT(f64(5.0), f64(0.0), s).rsample((40_000,)).abs().mean().backward()
    mean_abs = 2 * math.sqrt(5) * math.exp(math.lgamma(3) - math.lgamma(2.5)) / (math.sqrt(math.pi) * 4)
    np.testing.assert_allclose(s.grad.data, mean_abs, rtol=0.05)     # (E|scale T| = scale E|T|)


# ---- KL, icdf -------------------------------------------------------------------------------------------

def _kl_quadrature(p, q, low, high, n=400_001):
    """E_p[log p - log q] by the trapezoid rule; on (0, high) in t = log x (dx = x dt), so a log x at 0 is no
    trouble."""
    def integrand(x):
        lp = p.log_prob(f64(x)).data
        return np.exp(lp) * (lp - q.log_prob(f64(x)).data)
    if low == 0:
        return integrate(lambda t: integrand(np.exp(t)) * np.exp(t), -40.0, math.log(high), n)
    return integrate(integrand, low, high, n)


@pytest.mark.parametrize("p, q, low, high", [
    (lambda: Gamma(f64(2.0), f64(1.5)), lambda: Gamma(f64(3.5), f64(0.7)), 0, 60.0),
    (lambda: Beta(f64(2.0), f64(3.0)), lambda: Beta(f64(1.5), f64(4.0)), 1e-9, 1 - 1e-9),
    (lambda: Gumbel(f64(0.5), f64(1.5)), lambda: Gumbel(f64(-1.0), f64(2.0)), -15.0, 60.0),
    (lambda: Exponential(f64(1.3)), lambda: Gamma(f64(2.5), f64(0.8)), 0, 60.0),
    (lambda: Gamma(f64(2.0), f64(1.5)), lambda: Exponential(f64(0.4)), 0, 60.0),
    (lambda: Gamma(f64(2.0), f64(1.5)), lambda: Normal(f64(1.0), f64(2.0)), 0, 60.0),
    (lambda: Beta(f64(2.0), f64(3.0)), lambda: Gamma(f64(2.0), f64(3.0)), 1e-9, 1 - 1e-9),
    (lambda: Beta(f64(2.0), f64(3.0)), lambda: Exponential(f64(2.0)), 1e-9, 1 - 1e-9),
])
def test_kl_closed_forms_match_quadrature(p, q, low, high):
    p, q = p(), q()
    close(kl_divergence(p, q), _kl_quadrature(p, q, low, high), rtol=1e-5, atol=1e-7)


def test_kl_of_counts_matches_sums_and_dirichlet_matches_monte_carlo():
    p, q = Poisson(f64([0.5, 3.0])), Poisson(f64([1.5, 2.0]))
    k = np.arange(80.0)[:, None]
    lp = p.log_prob(f64(k)).data
    close(kl_divergence(p, q), (np.exp(lp) * (lp - q.log_prob(f64(k)).data)).sum(0), rtol=1e-9)
    p, q = Binomial(6, f64(0.3)), Binomial(6, f64(0.55))
    k = np.arange(7.0)
    lp = p.log_prob(f64(k)).data
    close(kl_divergence(p, q), (np.exp(lp) * (lp - q.log_prob(f64(k)).data)).sum(), rtol=1e-9)
    close(kl_divergence(Binomial(7, f64(0.3)), Binomial(6, f64(0.3))), np.inf)
    with pytest.raises(NotImplementedError, match="total_count"):
        kl_divergence(Binomial(5, f64(0.3)), Binomial(6, f64(0.3)))
    mg.manual_seed(1)
    p, q = Dirichlet(f64([1.0, 2.0, 3.0])), Dirichlet(f64([2.0, 2.0, 1.0]))
    x = p.sample((100_000,))
    np.testing.assert_allclose(kl_divergence(p, q).data, (p.log_prob(x).data - q.log_prob(x).data).mean(),
                               rtol=0.03)


def test_kl_is_infinite_where_p_leaves_qs_support():
    close(kl_divergence(Gamma(f64([1.0, 2.0]), f64(1.0)), Uniform(f64(0.0), f64(5.0))), [np.inf, np.inf])
    close(kl_divergence(Normal(f64(0.0), f64(1.0)), Beta(f64(1.0), f64(1.0))), np.inf)
    close(kl_divergence(Beta(f64(2.0), f64(2.0)), Uniform(f64(0.1), f64(1.0))), np.inf)
    close(kl_divergence(Beta(f64(2.0), f64(2.0)), Uniform(f64(0.0), f64(2.0))),
          -Beta(f64(2.0), f64(2.0)).entropy().data + np.log(2.0))


def _normal_quantile(p):
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if 0.5 * math.erfc(-middle / math.sqrt(2)) < p else (low, middle)
    return (low + high) / 2


def test_normal_and_half_normal_icdf_match_bisection_on_erf():
    p = np.array([1e-6, 0.025, 0.5, 0.8, 0.999])
    close(Normal(f64(1.0), f64(2.0)).icdf(f64(p)), [1 + 2 * _normal_quantile(v) for v in p], rtol=1e-12, atol=1e-12)
    q = np.array([0.1, 0.5, 0.95])
    close(HalfNormal(f64(1.5)).icdf(f64(q)), [1.5 * _normal_quantile((v + 1) / 2) for v in q], rtol=1e-12)


# ---- errors -----------------------------------------------------------------------------------------------

def test_bad_parameters_name_the_distribution_and_what_came():
    with pytest.raises(ValueError, match=r"Gamma: expected parameter concentration .*GreaterThan"):
        Gamma(f64([1.0, -1.0]), f64(1.0))
    with pytest.raises(ValueError, match=r"Beta: expected parameter concentration0"):
        Beta(f64(1.0), f64(0.0))
    with pytest.raises(ValueError, match=r"Dirichlet: expected concentration .* at least one dimension"):
        Dirichlet(f64(1.0))
    with pytest.raises(ValueError, match=r"Binomial: expected parameter total_count"):
        Binomial(f64(2.5), f64(0.3))
    with pytest.raises(ValueError, match=r"Multinomial: total_count must be a non-negative int.*-1"):
        Multinomial(-1, f64([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"LowRankMultivariateNormal: cov_diag .* got shape \(2,\)"):
        LowRankMultivariateNormal(f64(np.zeros(3)), f64(np.ones((3, 1))), f64(np.ones(2)))
    with pytest.raises(ValueError, match=r"Poisson: expected value argument .* support"):
        Poisson(f64(1.0)).log_prob(f64(1.5))
    with pytest.raises(NotImplementedError, match="Binomial.entropy: inhomogeneous total_count"):
        Binomial(f64([2.0, 3.0]), f64(0.5)).entropy()
    with pytest.raises(ValueError, match="ContinuousBernoulli: either `probs` or `logits`"):
        ContinuousBernoulli()
    with pytest.raises(NotImplementedError, match="VonMises: has no reparameterised sample"):
        VonMises(f64(0.0), f64(1.0)).rsample()
