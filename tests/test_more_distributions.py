"""mg.distributions beyond the first four: Exponential, Laplace, Cauchy, LogNormal, HalfNormal, HalfCauchy,
Gumbel, Pareto, Weibull, Geometric, OneHotCategorical, RelaxedBernoulli, RelaxedOneHotCategorical,
MultivariateNormal, Independent, MixtureSameFamily, TransformedDistribution with its transforms, and the
kl_divergence pairs among them. Expected values are the closed forms of PyTorch's documented formulas
(torch/distributions/*.py) written here in numpy and math, numpy's slogdet/solve, sums written by hand,
central differences in float64 and Monte Carlo estimates with loose tolerances."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.distributions import (Categorical, Cauchy, Exponential, Geometric, Gumbel, HalfCauchy, HalfNormal,
                                        Independent, Laplace, LogNormal, MixtureSameFamily, MultivariateNormal, Normal,
                                        OneHotCategorical, Pareto, RelaxedBernoulli, RelaxedOneHotCategorical,
                                        TransformedDistribution, Uniform, Weibull, constraints, kl_divergence)
from microgradseq.distributions.transforms import (AbsTransform, AffineTransform, ComposeTransform, ExpTransform,
                                                   PowerTransform, SigmoidTransform, TanhTransform)

EULER = 0.57721566490153286060
erf = np.vectorize(math.erf)


def f64(array, requires_grad=False):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def close(tensor, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(tensor.data, dtype=np.float64), expected, rtol=rtol, atol=atol)


def numeric_grads(fn, arrays, eps=1e-6):
    """Central differences of the scalar fn(*tensors) in each entry of each array."""
    grads = []
    for i, array in enumerate(arrays):
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            values = []
            for sign in (1, -1):
                moved = [a.copy() for a in arrays]
                moved[i][index] += sign * eps
                values.append(float(fn(*[f64(a) for a in moved]).data))
            grad[index] = (values[0] - values[1]) / (2 * eps)
        grads.append(grad)
    return grads


def check_gradients(fn, *arrays, rtol=1e-5, atol=1e-7):
    tensors = [f64(a, requires_grad=True) for a in arrays]
    fn(*tensors).backward()
    for tensor, expected in zip(tensors, numeric_grads(fn, [np.asarray(a, dtype=np.float64) for a in arrays])):
        np.testing.assert_allclose(tensor.grad.data, expected, rtol=rtol, atol=atol)


def seeded(fn, seed=3):
    """fn with the generator reseeded first, so every evaluation draws the same noise."""
    def run(*tensors):
        mg.manual_seed(seed)
        return fn(*tensors)
    return run


# ---- closed forms: log_prob, cdf, icdf, entropy, moments ---------------------------------------------

X = np.array([0.3, 1.7, 4.0])


def test_exponential_matches_its_closed_forms():
    rate = np.array([0.5, 2.0, 3.0])
    d = Exponential(f64(rate))
    close(d.log_prob(f64(X)), np.log(rate) - rate * X)
    close(d.cdf(f64(X)), 1 - np.exp(-rate * X))
    close(d.icdf(f64([0.1, 0.5, 0.9])), -np.log1p(-np.array([0.1, 0.5, 0.9])) / rate)
    close(d.entropy(), 1 - np.log(rate))
    close(d.mean, 1 / rate), close(d.variance, rate ** -2.0), close(d.stddev, 1 / rate), close(d.mode, 0 * rate)


def test_laplace_matches_its_closed_forms():
    loc, b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 2.0])
    d = Laplace(f64(loc), f64(b))
    close(d.log_prob(f64(X)), -np.log(2 * b) - np.abs(X - loc) / b)
    expected_cdf = np.where(X < loc, 0.5 * np.exp((X - loc) / b), 1 - 0.5 * np.exp(-(X - loc) / b))
    close(d.cdf(f64(X)), expected_cdf)
    close(d.icdf(f64(expected_cdf)), X, rtol=1e-9)
    close(d.entropy(), 1 + np.log(2 * b))
    close(d.mean, loc), close(d.mode, loc), close(d.variance, 2 * b ** 2), close(d.stddev, np.sqrt(2) * b)


def test_cauchy_matches_its_closed_forms_and_has_no_mean():
    loc, s = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 2.0])
    d = Cauchy(f64(loc), f64(s))
    close(d.log_prob(f64(X)), -np.log(np.pi * s * (1 + ((X - loc) / s) ** 2)))
    close(d.cdf(f64(X)), np.arctan((X - loc) / s) / np.pi + 0.5)
    close(d.icdf(f64([0.1, 0.5, 0.8])), loc + s * np.tan(np.pi * (np.array([0.1, 0.5, 0.8]) - 0.5)))
    close(d.entropy(), np.log(4 * np.pi * s))
    assert np.all(np.isnan(d.mean.data)) and np.all(np.isinf(d.variance.data))


def test_lognormal_matches_its_closed_forms():
    mu, sigma = np.array([0.0, 0.5, -1.0]), np.array([1.0, 0.3, 0.7])
    d = LogNormal(f64(mu), f64(sigma))
    close(d.log_prob(f64(X)), -np.log(X * sigma * np.sqrt(2 * np.pi)) - (np.log(X) - mu) ** 2 / (2 * sigma ** 2))
    close(d.cdf(f64(X)), 0.5 * (1 + erf((np.log(X) - mu) / (sigma * np.sqrt(2)))))
    close(d.mean, np.exp(mu + sigma ** 2 / 2)), close(d.mode, np.exp(mu - sigma ** 2))
    close(d.variance, (np.exp(sigma ** 2) - 1) * np.exp(2 * mu + sigma ** 2))
    close(d.entropy(), mu + 0.5 + 0.5 * np.log(2 * np.pi * sigma ** 2))


def test_transformed_normal_through_exp_is_the_lognormal():
    mu, sigma = f64([0.0, 0.5, -1.0]), f64([1.0, 0.3, 0.7])
    flow = TransformedDistribution(Normal(mu, sigma), ExpTransform())
    expected = -np.log(X * sigma.data * np.sqrt(2 * np.pi)) - (np.log(X) - mu.data) ** 2 / (2 * sigma.data ** 2)
    close(flow.log_prob(f64(X)), expected)
    close(flow.log_prob(f64(X)), LogNormal(mu, sigma).log_prob(f64(X)).data)
    assert flow.support is constraints.positive and flow.has_rsample


def test_halfnormal_matches_its_closed_forms():
    s = np.array([1.0, 0.5, 2.0])
    d = HalfNormal(f64(s))
    close(d.log_prob(f64(X)), 0.5 * np.log(2 / np.pi) - np.log(s) - X ** 2 / (2 * s ** 2))
    close(d.cdf(f64(X)), erf(X / (s * np.sqrt(2))))
    close(d.entropy(), 0.5 * np.log(np.pi * s ** 2 / 2) + 0.5)
    close(d.mean, s * np.sqrt(2 / np.pi)), close(d.variance, s ** 2 * (1 - 2 / np.pi)), close(d.mode, 0 * s)


def test_halfcauchy_matches_its_closed_forms():
    s = np.array([1.0, 0.5, 2.0])
    d = HalfCauchy(f64(s))
    close(d.log_prob(f64(X)), np.log(2 / (np.pi * s * (1 + (X / s) ** 2))))
    close(d.cdf(f64(X)), 2 / np.pi * np.arctan(X / s))
    close(d.icdf(f64([0.2, 0.5, 0.9])), s * np.tan(np.pi / 2 * np.array([0.2, 0.5, 0.9])))
    close(d.entropy(), np.log(2 * np.pi * s))
    assert np.all(np.isinf(d.mean.data)) and np.all(np.isinf(d.variance.data))


def test_gumbel_matches_its_closed_forms():
    loc, beta = np.array([0.0, 1.0, -1.0]), np.array([1.0, 0.5, 2.0])
    d = Gumbel(f64(loc), f64(beta))
    z = (X - loc) / beta
    close(d.log_prob(f64(X)), -np.log(beta) - (z + np.exp(-z)))
    close(d.cdf(f64(X)), np.exp(-np.exp(-z)), rtol=1e-9)
    p = np.array([0.1, 0.5, 0.9])
    close(d.icdf(f64(p)), loc - beta * np.log(-np.log(p)), rtol=1e-9)
    close(d.mean, loc + beta * EULER), close(d.variance, np.pi ** 2 * beta ** 2 / 6), close(d.mode, loc)
    close(d.entropy(), np.log(beta) + EULER + 1)


def test_pareto_matches_its_closed_forms_with_infinite_moments_for_small_alpha():
    xm, alpha = np.array([1.0, 0.5, 2.0]), np.array([3.0, 0.8, 2.5])
    d = Pareto(f64(xm), f64(alpha))
    x = np.array([1.5, 0.7, 4.0])
    close(d.log_prob(f64(x)), np.log(alpha) + alpha * np.log(xm) - (alpha + 1) * np.log(x))
    close(d.cdf(f64(x)), 1 - (xm / x) ** alpha)
    close(d.icdf(f64([0.1, 0.5, 0.9])), xm * (1 - np.array([0.1, 0.5, 0.9])) ** (-1 / alpha))
    close(d.entropy(), np.log(xm / alpha) + 1 / alpha + 1)
    close(d.mean, [3 * 1 / 2, np.inf, 2.5 * 2 / 1.5]), close(d.mode, xm)
    close(d.variance, [1 * 3 / (4 * 1), np.inf, 4 * 2.5 / (1.5 ** 2 * 0.5)])


def test_weibull_matches_its_closed_forms():
    lam, k = np.array([1.0, 2.0, 0.5]), np.array([1.5, 3.0, 2.0])
    d = Weibull(f64(lam), f64(k))
    close(d.log_prob(f64(X)), np.log(k / lam) + (k - 1) * np.log(X / lam) - (X / lam) ** k, rtol=1e-9)
    close(d.cdf(f64(X)), 1 - np.exp(-(X / lam) ** k), rtol=1e-9)
    close(d.icdf(f64([0.1, 0.5, 0.9])), lam * (-np.log1p(-np.array([0.1, 0.5, 0.9]))) ** (1 / k), rtol=1e-9)
    close(d.mode, lam * ((k - 1) / k) ** (1 / k))
    close(d.entropy(), EULER * (1 - 1 / k) + np.log(lam / k) + 1)
    g1, g2 = (np.array([math.gamma(1 + n / kk) for kk in k]) for n in (1, 2))
    close(d.mean, lam * g1, rtol=1e-12)
    close(d.variance, lam ** 2 * (g2 - g1 ** 2), rtol=1e-10)


def test_geometric_matches_its_closed_forms():
    p = np.array([0.2, 0.5, 0.9])
    d = Geometric(f64(p))
    k = np.array([0.0, 3.0, 1.0])
    close(d.log_prob(f64(k)), k * np.log1p(-p) + np.log(p))
    close(d.mean, 1 / p - 1), close(d.variance, (1 - p) / p ** 2), close(d.mode, 0 * p)
    close(d.entropy(), -((1 - p) * np.log1p(-p) + p * np.log(p)) / p)
    close(Geometric(f64(1.0)).log_prob(f64(0.0)), 0.0)


def test_geometric_from_logits_is_the_same_distribution():
    p = np.array([0.2, 0.5, 0.9])
    close(Geometric(logits=f64(np.log(p / (1 - p)))).log_prob(f64([2.0, 0.0, 5.0])),
          np.array([2.0, 0.0, 5.0]) * np.log1p(-p) + np.log(p), rtol=1e-9)


def test_onehot_categorical_scores_the_class_of_the_one():
    probs = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    d = OneHotCategorical(f64(probs))
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    close(d.log_prob(f64([[0, 0, 1], [0, 1, 0]])), np.log([0.5, 0.3]))
    close(d.entropy(), -(probs * np.log(probs)).sum(-1))
    close(d.mean, probs), close(d.variance, probs * (1 - probs)), close(d.mode, [[0, 0, 1], [1, 0, 0]])
    support = d.enumerate_support()
    assert support.shape == (3, 2, 3)
    close(support[:, 0], np.eye(3))
    draws = d.sample((500,)).data
    assert draws.shape == (500, 2, 3) and np.all(draws.sum(-1) == 1)


def test_relaxed_bernoulli_log_prob_is_the_binary_concrete_density():
    T, p = 0.7, np.array([0.3, 0.8])
    alpha = p / (1 - p)
    y = np.array([0.2, 0.9])
    density = T * alpha * y ** (-T - 1) * (1 - y) ** (-T - 1) / (alpha * y ** (-T) + (1 - y) ** (-T)) ** 2
    close(RelaxedBernoulli(f64(T), probs=f64(p)).log_prob(f64(y)), np.log(density), rtol=1e-9)


def test_relaxed_onehot_categorical_log_prob_is_the_concrete_density():
    T, probs = 0.5, np.array([0.2, 0.3, 0.5])
    x = np.array([[0.1, 0.6, 0.3], [0.25, 0.25, 0.5]])
    K = 3
    log_density = (math.log(math.factorial(K - 1)) + (K - 1) * math.log(T) + np.log(probs).sum()
                   - (T + 1) * np.log(x).sum(-1) - K * np.log((probs * x ** -T).sum(-1)))
    d = RelaxedOneHotCategorical(f64(T), probs=f64(probs))
    assert d.batch_shape == () and d.event_shape == (3,)
    close(d.log_prob(f64(x)), log_density, rtol=1e-9)
    draws = d.sample((100,)).data
    np.testing.assert_allclose(draws.sum(-1), 1, rtol=1e-12)


# ---- MultivariateNormal --------------------------------------------------------------------------------

SIGMA = np.array([[2.0, 0.6, 0.2], [0.6, 1.0, -0.3], [0.2, -0.3, 1.5]])
MU = np.array([0.5, -1.0, 2.0])


def mvn_log_prob(x, mu, sigma):
    sign, logdet = np.linalg.slogdet(sigma)
    diff = x - mu
    maha = np.einsum("...i,...i->...", diff, np.linalg.solve(sigma, diff[..., None])[..., 0])
    return -0.5 * (len(mu) * np.log(2 * np.pi) + logdet + maha)


@pytest.mark.parametrize("form", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_log_prob_matches_numpy_in_each_parameterisation(form):
    given = {"covariance_matrix": SIGMA, "precision_matrix": np.linalg.inv(SIGMA),
             "scale_tril": np.linalg.cholesky(SIGMA)}[form]
    d = MultivariateNormal(f64(MU), **{form: f64(given)})
    x = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 3.0]])
    close(d.log_prob(f64(x)), mvn_log_prob(x, MU, SIGMA), rtol=1e-9)
    close(d.covariance_matrix, SIGMA, rtol=1e-9)
    close(d.precision_matrix, np.linalg.inv(SIGMA), rtol=1e-9)
    close(d.scale_tril, np.linalg.cholesky(SIGMA), rtol=1e-9)
    close(d.entropy(), 0.5 * np.linalg.slogdet(2 * np.pi * np.e * SIGMA)[1], rtol=1e-9)
    close(d.variance, np.diag(SIGMA), rtol=1e-9), close(d.mean, MU), close(d.mode, MU)


def test_multivariate_normal_broadcasts_loc_batches_against_one_matrix():
    locs = np.array([MU, -MU])
    d = MultivariateNormal(f64(locs), scale_tril=f64(np.linalg.cholesky(SIGMA)))
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    x = np.array([1.0, 0.0, -1.0])
    close(d.log_prob(f64(x)), [mvn_log_prob(x, MU, SIGMA), mvn_log_prob(x, -MU, SIGMA)], rtol=1e-9)
    assert d.sample((4,)).shape == (4, 2, 3) and d.expand((5, 2)).sample().shape == (5, 2, 3)


def test_multivariate_normal_log_prob_gradient_matches_central_differences():
    x = np.array([[0.3, -0.2, 1.0], [1.0, 1.0, 1.0]])
    # (the covariance enters symmetrised, as the Cholesky factor reads only its lower triangle)
    check_gradients(lambda loc, cov: MultivariateNormal(loc, covariance_matrix=(cov + cov.transpose(0, 1)) / 2)
                    .log_prob(f64(x)).sum(), MU, SIGMA)


def test_multivariate_normal_samples_have_its_mean_and_covariance():
    mg.manual_seed(0)
    draws = MultivariateNormal(f64(MU), f64(SIGMA)).sample((20000,)).data
    np.testing.assert_allclose(draws.mean(0), MU, atol=0.05)
    np.testing.assert_allclose(np.cov(draws.T), SIGMA, atol=0.08)


# ---- Independent and MixtureSameFamily ------------------------------------------------------------------

def test_independent_sums_log_prob_and_entropy_over_the_reinterpreted_axes():
    loc, scale = np.array([[0.0, 1.0, 2.0], [1.0, -1.0, 0.5]]), np.array([[1.0, 2.0, 0.5], [0.3, 1.0, 1.0]])
    d = Independent(Normal(f64(loc), f64(scale)), 1)
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    x = np.array([0.5, 0.5, 0.5])
    per_entry = -np.log(scale * np.sqrt(2 * np.pi)) - (x - loc) ** 2 / (2 * scale ** 2)
    close(d.log_prob(f64(x)), per_entry.sum(-1))
    close(d.entropy(), (0.5 + 0.5 * np.log(2 * np.pi * scale ** 2)).sum(-1))
    whole = Independent(Normal(f64(loc), f64(scale)), 2)
    assert whole.batch_shape == () and whole.event_shape == (2, 3)
    close(whole.log_prob(f64(x)), per_entry.sum())
    close(d.mean, loc), close(d.variance, scale ** 2)
    assert d.expand((4, 2)).batch_shape == (4, 2) and d.sample((5,)).shape == (5, 2, 3)


def test_mixture_log_prob_is_the_logsumexp_of_the_weighted_components():
    weights, mu, sigma = np.array([0.2, 0.5, 0.3]), np.array([-1.0, 0.0, 2.0]), np.array([0.5, 1.0, 0.7])
    d = MixtureSameFamily(Categorical(f64(weights)), Normal(f64(mu), f64(sigma)))
    x = np.array([-1.2, 0.4, 3.0])
    log_components = -np.log(sigma * np.sqrt(2 * np.pi)) - (x[:, None] - mu) ** 2 / (2 * sigma ** 2)
    terms = np.log(weights) + log_components
    top = terms.max(-1)
    close(d.log_prob(f64(x)), top + np.log(np.exp(terms - top[:, None]).sum(-1)))
    mean = (weights * mu).sum()
    close(d.mean, mean), close(d.variance, (weights * (sigma ** 2 + (mu - mean) ** 2)).sum())
    close(d.cdf(f64(x)), (weights * 0.5 * (1 + erf((x[:, None] - mu) / (sigma * np.sqrt(2))))).sum(-1))


def test_mixture_of_vector_components_with_a_batch():
    mix = Categorical(logits=f64(np.log([[0.3, 0.7], [0.9, 0.1]])))
    comp = Independent(Normal(f64(np.arange(8.0).reshape(2, 2, 2)), f64(np.ones((2, 2, 2)))), 1)
    d = MixtureSameFamily(mix, comp)
    assert d.batch_shape == (2,) and d.event_shape == (2,)
    x = np.array([1.0, 1.0])
    logs = (-np.log(2 * np.pi) / 2 - (x - np.arange(8.0).reshape(2, 2, 2)) ** 2 / 2).sum(-1)
    close(d.log_prob(f64(x)), np.log((np.array([[0.3, 0.7], [0.9, 0.1]]) * np.exp(logs)).sum(-1)))
    assert d.sample((6,)).shape == (6, 2, 2)


def test_mixture_samples_have_its_mean_and_variance():
    mg.manual_seed(1)
    d = MixtureSameFamily(Categorical(f64([0.3, 0.7])), Normal(f64([-2.0, 1.0]), f64([0.5, 1.0])))
    draws = d.sample((20000,)).data
    assert abs(draws.mean() - (0.3 * -2 + 0.7 * 1)) < 0.05
    assert abs(draws.var() - (0.3 * 0.25 + 0.7 * 1 + 0.3 * 2.1 ** 2 + 0.7 * 0.9 ** 2)) < 0.1


# ---- transforms -------------------------------------------------------------------------------------------

def numeric_log_slope(f, x, eps=1e-6):
    return np.log(np.abs((f(x + eps) - f(x - eps)) / (2 * eps)))


@pytest.mark.parametrize("transform, forward", [
    (ExpTransform(), np.exp),
    (AffineTransform(1.5, -2.0), lambda x: 1.5 - 2.0 * x),
    (SigmoidTransform(), lambda x: 1 / (1 + np.exp(-x))),
    (TanhTransform(), np.tanh),
])
def test_each_transform_inverts_and_has_the_log_slope_of_its_map(transform, forward):
    x = np.array([-1.3, 0.2, 0.9])
    y = transform(f64(x))
    close(y, forward(x))
    close(transform.inv(y), x, rtol=1e-9)
    close(transform.log_abs_det_jacobian(f64(x), y), numeric_log_slope(forward, x), rtol=1e-7)
    close(transform.inv.log_abs_det_jacobian(y, f64(x)), -numeric_log_slope(forward, x), rtol=1e-7)


def test_power_transform_on_positive_numbers():
    t, x = PowerTransform(f64(2.5)), np.array([0.5, 1.0, 3.0])
    close(t(f64(x)), x ** 2.5)
    close(t.log_abs_det_jacobian(f64(x), t(f64(x))), np.log(2.5 * x ** 1.5))


def test_compose_transform_chains_the_maps_and_adds_their_log_slopes():
    chain = ComposeTransform([AffineTransform(0.5, 2.0), TanhTransform(), AffineTransform(0.0, 3.0)])
    x = np.array([-0.4, 0.1, 0.3])

    def forward(v):
        return 3.0 * np.tanh(0.5 + 2.0 * v)
    y = chain(f64(x))
    close(y, forward(x))
    close(chain.inv(y), x, rtol=1e-9)
    close(chain.log_abs_det_jacobian(f64(x), y), numeric_log_slope(forward, x), rtol=1e-7)


def test_affine_transform_on_events_sums_its_log_scale():
    t = AffineTransform(f64([0.0, 1.0]), f64([2.0, -3.0]), event_dim=1)
    x = f64([[1.0, 1.0], [2.0, 0.0]])
    close(t.log_abs_det_jacobian(x, t(x)), [np.log(6.0)] * 2)


def test_cached_tanh_inverts_a_saturated_value_exactly():
    t = TanhTransform(cache_size=1)
    x = f64([30.0])
    assert t.inv(t(x)) is x
    assert np.isinf(TanhTransform().inv(TanhTransform()(x)).data).all()


def test_abs_transform_folds_and_flipped_cdfs_stay_increasing():
    close(AbsTransform()(f64([-2.0, 3.0])), [2.0, 3.0])
    flipped = TransformedDistribution(Uniform(f64(0.0), f64(1.0)), AffineTransform(0.0, -1.0))
    close(flipped.cdf(f64([-0.75, -0.25])), [0.25, 0.75])


# ---- sampling: moments, reproducibility, reparameterised gradients ------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: Exponential(f64([0.5, 2.0])),
    lambda: Laplace(f64([0.0, 1.0]), f64([1.0, 0.5])),
    lambda: LogNormal(f64([0.0, 0.3]), f64([0.4, 0.6])),
    lambda: HalfNormal(f64([1.0, 2.0])),
    lambda: Gumbel(f64([0.0, 1.0]), f64([1.0, 0.5])),
    lambda: Pareto(f64([1.0, 2.0]), f64([5.0, 6.0])),
    lambda: Geometric(f64([0.3, 0.7])),
    lambda: RelaxedBernoulli(f64(0.5), f64([0.3, 0.8])),
])
def test_sample_moments_match_mean_and_variance(make):
    mg.manual_seed(2)
    d = make()
    draws = d.sample((40000,)).data
    if isinstance(d, RelaxedBernoulli):
        assert np.all((draws > 0) & (draws < 1))
        return
    np.testing.assert_allclose(draws.mean(0), d.mean.data, rtol=0.03, atol=0.02)
    np.testing.assert_allclose(draws.var(0), d.variance.data, rtol=0.1, atol=0.02)


def test_weibull_and_cauchy_samples_follow_their_cdfs():
    mg.manual_seed(4)
    for d in (Weibull(f64(2.0), f64(1.5)), Cauchy(f64(1.0), f64(0.5))):
        draws = np.sort(d.sample((20000,)).data)
        empirical = np.arange(1, len(draws) + 1) / len(draws)
        assert np.max(np.abs(d.cdf(f64(draws)).data - empirical)) < 0.02


def test_manual_seed_reproduces_the_draws():
    d = MultivariateNormal(f64(MU), f64(SIGMA))
    mg.manual_seed(7)
    first = d.sample((3,)).data
    mg.manual_seed(7)
    np.testing.assert_array_equal(d.sample((3,)).data, first)


@pytest.mark.parametrize("draw, params", [
    (lambda rate: Exponential(rate).rsample((3,)), ([0.5, 2.0],)),
    (lambda loc, scale: Laplace(loc, scale).rsample((3,)), ([0.0, 1.0], [1.0, 0.5])),
    (lambda loc, scale: Cauchy(loc, scale).rsample((3,)), ([0.0, 1.0], [1.0, 0.5])),
    (lambda loc, scale: LogNormal(loc, scale).rsample((3,)), ([0.0, 0.3], [0.4, 0.6])),
    (lambda scale: HalfNormal(scale).rsample((3,)), ([1.0, 2.0],)),
    (lambda loc, scale: Gumbel(loc, scale).rsample((3,)), ([0.0, 1.0], [1.0, 0.5])),
    (lambda scale, alpha: Pareto(scale, alpha).rsample((3,)), ([1.0, 2.0], [3.0, 4.0])),
    (lambda scale, k: Weibull(scale, k).rsample((3,)), ([1.0, 2.0], [1.5, 3.0])),
    (lambda logits: RelaxedBernoulli(f64(0.5), logits=logits).rsample((3,)), ([0.3, -1.0],)),
    (lambda logits: RelaxedOneHotCategorical(f64(0.5), logits=logits).rsample((3,)), ([[0.3, -1.0, 0.5]],)),
    (lambda loc, tril: MultivariateNormal(loc, scale_tril=tril, validate_args=False).rsample((3,)),
     (MU, np.linalg.cholesky(SIGMA))),
])
def test_rsample_gradient_matches_central_differences(draw, params):
    def loss(*tensors):
        sample = draw(*tensors)
        return (sample * f64(np.linspace(-1.0, 1.5, sample.numel()).reshape(sample.shape))).sum()
    check_gradients(seeded(loss), *[np.asarray(p, dtype=np.float64) for p in params], rtol=1e-4, atol=1e-6)


# ---- kl_divergence ---------------------------------------------------------------------------------------

def test_kl_closed_forms_of_the_scalar_families():
    a, b = np.array([0.5, 2.0]), np.array([1.5, 0.7])
    la, lb = np.array([0.0, 1.0]), np.array([0.5, -1.0])
    close(kl_divergence(Exponential(f64(a)), Exponential(f64(b))), np.log(a / b) + b / a - 1)
    close(kl_divergence(Laplace(f64(la), f64(a)), Laplace(f64(lb), f64(b))),
          np.log(b / a) + np.abs(la - lb) / b + a / b * np.exp(-np.abs(la - lb) / a) - 1)
    close(kl_divergence(Cauchy(f64(la), f64(a)), Cauchy(f64(lb), f64(b))),
          np.log(((a + b) ** 2 + (la - lb) ** 2) / (4 * a * b)))
    close(kl_divergence(HalfNormal(f64(a)), HalfNormal(f64(b))), np.log(b / a) + a ** 2 / (2 * b ** 2) - 0.5)
    close(kl_divergence(LogNormal(f64(la), f64(a)), LogNormal(f64(lb), f64(b))),
          np.log(b / a) + (a ** 2 + (la - lb) ** 2) / (2 * b ** 2) - 0.5)
    p, q = np.array([0.3, 0.6]), np.array([0.5, 0.2])
    k = np.arange(400)[:, None]
    pk, qk = (1 - p) ** k * p, (1 - q) ** k * q
    close(kl_divergence(Geometric(f64(p)), Geometric(f64(q))), (pk * np.log(pk / qk)).sum(0), rtol=1e-9)


def test_kl_pareto_is_infinite_where_p_reaches_below_q():
    result = kl_divergence(Pareto(f64([2.0, 1.0]), f64([3.0, 3.0])), Pareto(f64([1.0, 2.0]), f64([2.0, 2.0]))).data
    assert np.isinf(result[1])
    np.testing.assert_allclose(result[0], 2 * np.log(2.0) - np.log(2 / 3) + 2 / 3 - 1, rtol=1e-12)


def test_kl_multivariate_normal_matches_the_closed_form():
    sigma_q = np.array([[1.0, 0.2, 0.0], [0.2, 2.0, 0.4], [0.0, 0.4, 0.8]])
    mu_q = np.array([0.0, 1.0, -1.0])
    inv_q = np.linalg.inv(sigma_q)
    expected = 0.5 * (np.trace(inv_q @ SIGMA) + (mu_q - MU) @ inv_q @ (mu_q - MU) - 3
                      + np.linalg.slogdet(sigma_q)[1] - np.linalg.slogdet(SIGMA)[1])
    close(kl_divergence(MultivariateNormal(f64(MU), f64(SIGMA)), MultivariateNormal(f64(mu_q), f64(sigma_q))),
          expected, rtol=1e-9)


def test_kl_independent_and_onehot_reduce_to_their_parts():
    loc_p, loc_q = np.array([[0.0, 1.0], [2.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 0.5]])
    per_entry = (loc_p - loc_q) ** 2 / 2
    close(kl_divergence(Independent(Normal(f64(loc_p), 1.0), 1), Independent(Normal(f64(loc_q), 1.0), 1)),
          per_entry.sum(-1))
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.4, 0.4, 0.2])
    close(kl_divergence(OneHotCategorical(f64(p)), OneHotCategorical(f64(q))), (p * np.log(p / q)).sum())


@pytest.mark.parametrize("p, q", [
    (Laplace(f64(0.3), f64(1.2)), Laplace(f64(-0.5), f64(0.8))),
    (Gumbel(f64(0.0), f64(1.0)), Gumbel(f64(0.0), f64(1.0))),
    (Pareto(f64(2.0), f64(3.0)), Pareto(f64(1.0), f64(2.0))),
    (MultivariateNormal(f64(MU), f64(SIGMA)), MultivariateNormal(f64(MU * 0), f64(np.eye(3)))),
])
def test_kl_agrees_with_a_monte_carlo_estimate(p, q):
    mg.manual_seed(5)
    x = p.sample((40000,))
    estimate = (p.log_prob(x) - q.log_prob(x)).data.mean()
    np.testing.assert_allclose(kl_divergence(p, q).data, estimate, atol=0.04, rtol=0.03)


def test_kl_of_transformed_distributions_needs_equal_transforms():
    with pytest.raises(NotImplementedError, match="transforms"):
        kl_divergence(Weibull(f64(1.0), f64(2.0)), Weibull(f64(1.0), f64(3.0)))
    with pytest.raises(NotImplementedError, match="reinterpreted_batch_ndims"):
        kl_divergence(Independent(Normal(f64([[0.0]]), 1.0), 1), Independent(Normal(f64([[0.0]]), 1.0), 2))


def test_kl_gradient_reaches_the_parameters():
    check_gradients(lambda loc, tril: kl_divergence(MultivariateNormal(loc, scale_tril=tril, validate_args=False),
                                                    MultivariateNormal(f64(MU * 0), f64(SIGMA))),
                    MU, np.linalg.cholesky(SIGMA))


# ---- errors -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, name", [
    (lambda: Exponential(f64([1.0, 0.0])), "Exponential: expected parameter rate"),
    (lambda: Laplace(0.0, -1.0), "Laplace: expected parameter scale"),
    (lambda: Cauchy(0.0, 0.0), "Cauchy: expected parameter scale"),
    (lambda: LogNormal(0.0, -2.0), "LogNormal: expected parameter scale"),
    (lambda: HalfNormal(-1.0), "HalfNormal: expected parameter scale"),
    (lambda: HalfCauchy(0.0), "HalfCauchy: expected parameter scale"),
    (lambda: Gumbel(0.0, -1.0), "Gumbel: expected parameter scale"),
    (lambda: Pareto(1.0, -1.0), "Pareto: expected parameter alpha"),
    (lambda: Weibull(1.0, 0.0), "Weibull: expected parameter concentration"),
    (lambda: Geometric(f64(0.0)), "Geometric: expected parameter probs"),
    (lambda: OneHotCategorical(f64([-0.5, 1.5])), "OneHotCategorical: expected parameter probs"),
    (lambda: RelaxedBernoulli(f64(0.5), f64(1.5)), "RelaxedBernoulli: expected parameter probs"),
    (lambda: MultivariateNormal(f64([0.0, 0.0]), f64([[1.0, 2.0], [2.0, 1.0]])),
     "MultivariateNormal: expected parameter covariance_matrix"),
    (lambda: MultivariateNormal(f64([0.0, 0.0]), scale_tril=f64([[1.0, 1.0], [0.0, 1.0]])),
     "MultivariateNormal: expected parameter scale_tril"),
])
def test_parameters_outside_their_constraint_raise_naming_the_class(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_values_outside_the_support_raise_and_checks_can_be_switched_off():
    with pytest.raises(ValueError, match="Exponential: expected value argument"):
        Exponential(f64(1.0)).log_prob(f64(-1.0))
    with pytest.raises(ValueError, match="Pareto: expected value argument"):
        Pareto(f64(2.0), f64(1.0)).log_prob(f64(1.0))
    with pytest.raises(ValueError, match="OneHotCategorical: expected value argument"):
        OneHotCategorical(f64([0.5, 0.5])).log_prob(f64([1.0, 1.0]))
    assert np.isneginf(HalfNormal(f64(1.0), validate_args=False).log_prob(f64(-1.0)).data)


def test_bad_shapes_and_arguments_raise_naming_the_class():
    with pytest.raises(ValueError, match="MultivariateNormal: exactly one of"):
        MultivariateNormal(f64([0.0]), f64([[1.0]]), scale_tril=f64([[1.0]]))
    with pytest.raises(ValueError, match=r"MultivariateNormal: covariance_matrix must .* got shape \(3, 3\)"):
        MultivariateNormal(f64([0.0, 0.0]), f64(np.eye(3)))
    with pytest.raises(ValueError, match="MultivariateNormal: incompatible batch shapes"):
        MultivariateNormal(f64(np.zeros((3, 2))), f64(np.stack([np.eye(2)] * 2)))
    with pytest.raises(TypeError, match="MultivariateNormal: expected loc to be a tensor, got list"):
        MultivariateNormal([0.0], f64([[1.0]]))
    with pytest.raises(ValueError, match=r"Independent: .* actual 2 vs 1"):
        Independent(Normal(f64([0.0]), 1.0), 2)
    with pytest.raises(ValueError, match=r"MixtureSameFamily: mixture_distribution component \(3\)"):
        MixtureSameFamily(Categorical(f64([0.2, 0.3, 0.5])), Normal(f64([0.0, 1.0]), 1.0))
    with pytest.raises(ValueError, match="MixtureSameFamily: the mixture distribution needs to be a Categorical, "
                                         "got Normal"):
        MixtureSameFamily(Normal(0.0, 1.0), Normal(f64([0.0, 1.0]), 1.0))
    with pytest.raises(ValueError, match="TransformedDistribution: transforms must be"):
        TransformedDistribution(Normal(0.0, 1.0), "exp")
    with pytest.raises(ValueError, match="Geometric: either `probs` or `logits`"):
        Geometric()
    with pytest.raises(ValueError, match="ExpTransform: cache_size must be 0 or 1, got 2"):
        ExpTransform(cache_size=2)


def test_a_refused_distribution_leaves_its_parameters_unchanged():
    scale = f64([1.0, -1.0])
    with pytest.raises(ValueError, match="HalfCauchy"):
        HalfCauchy(scale)
    np.testing.assert_array_equal(scale.data, [1.0, -1.0])


def test_expand_keeps_the_distribution_over_a_larger_batch():
    for d, x in ((LogNormal(f64(0.2), f64(0.5)), 1.3), (Gumbel(f64(0.0), f64(2.0)), 0.4),
                 (Geometric(f64(0.3)), 2.0), (OneHotCategorical(f64([0.2, 0.8])), [0.0, 1.0]),
                 (MultivariateNormal(f64(MU), f64(SIGMA)), [0.0, 1.0, 0.5])):
        expanded = d.expand((3,))
        assert expanded.batch_shape == (3,) and expanded.sample((2,)).shape == (2, 3) + tuple(d.event_shape)
        close(expanded.log_prob(f64(x)), np.broadcast_to(d.log_prob(f64(x)).data, (3,)))
