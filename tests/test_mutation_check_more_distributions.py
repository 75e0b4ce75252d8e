"""Tests written from a mutation check of commit adde251's distributions: Exponential, Laplace, Cauchy,
the TransformedDistribution families (LogNormal, HalfNormal, HalfCauchy, Gumbel, Pareto, Weibull),
Geometric, OneHotCategorical, the relaxed ones, MultivariateNormal, Independent, MixtureSameFamily,
the transforms, the new constraints and the new kl_divergence pairs. Each pins a behaviour that a
hand-made wrong implementation changed without any other test noticing. Expected values come from closed
forms written in numpy, from PyTorch's documented definitions (torch/distributions/*.py) or from
Monte Carlo checks against known laws with loose tolerances, never from the library's output."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.distributions import (Categorical, Cauchy, Exponential, ExpRelaxedCategorical, Geometric,
                                        HalfCauchy, Independent, LogitRelaxedBernoulli, LogNormal,
                                        MixtureSameFamily, MultivariateNormal, Normal, OneHotCategorical, Pareto,
                                        RelaxedBernoulli, RelaxedOneHotCategorical, TransformedDistribution,
                                        Uniform, Weibull, constraints, kl_divergence)
from microgradseq.distributions.transforms import (AbsTransform, AffineTransform, ComposeTransform, ExpTransform,
                                                   PowerTransform, SigmoidTransform, TanhTransform)


def f64(array, requires_grad=False):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def f32(array):
    return mg.tensor(np.asarray(array, dtype=np.float32), dtype=mg.float32)


def close(tensor, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(tensor.data, dtype=np.float64), expected, rtol=rtol, atol=atol)


def logistic_ks(samples):
    """The Kolmogorov-Smirnov distance between the samples and the standard logistic law (cdf sigmoid)."""
    draws = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    empirical = np.arange(1, len(draws) + 1) / len(draws)
    return np.max(np.abs(1 / (1 + np.exp(-draws)) - empirical))


# ---- Exponential and Cauchy -------------------------------------------------------------------------------

def test_exponential_cdf_validates_its_value():
    """torch/distributions/exponential.py cdf: `if self._validate_args: self._validate_sample(value)`."""
    with pytest.raises(ValueError, match="Exponential: expected value argument"):
        Exponential(f64(1.0)).cdf(f64(-1.0))


def test_exponential_rsample_is_in_the_rates_dtype():
    """PyTorch's rsample draws exponential_() into a tensor of rate's dtype: float32 stays float32."""
    assert Exponential(f32([0.5, 2.0])).rsample((3,)).dtype == np.float32


def test_cauchy_mean_and_variance_are_in_locs_dtype():
    """torch/distributions/cauchy.py: torch.full(shape, nan / inf, dtype=self.loc.dtype)."""
    d = Cauchy(f32([0.0, 1.0]), f32([1.0, 2.0]))
    assert d.mean.dtype == np.float32 and d.variance.dtype == np.float32
    assert HalfCauchy(f32([1.0, 2.0])).mean.dtype == np.float32


# ---- transforms: the inverse of a transform ----------------------------------------------------------------

def test_an_inverse_call_is_cached_so_the_forward_map_gives_the_same_y_back():
    """PyTorch's Transform._inv_call keeps (x, y) when cache_size=1: t(t.inv(y)) is y."""
    t = ExpTransform(cache_size=1)
    y = f64([0.5, 2.0])
    assert t(t.inv(y)) is y


def test_the_inverse_of_an_increasing_map_is_increasing():
    """_InverseTransform.sign is the transform's own sign; log U for U ~ Uniform(1, 2) has cdf
    P(log U <= v) = e^v - 1."""
    assert ExpTransform().inv.sign == 1
    d = TransformedDistribution(Uniform(f64(1.0), f64(2.0)), ExpTransform().inv)
    v = np.array([0.1, 0.4, 0.6])
    close(d.cdf(f64(v)), np.exp(v) - 1, rtol=1e-12)


def test_the_inverse_swaps_domain_and_codomain():
    """_InverseTransform: domain = the transform's codomain, codomain = its domain."""
    inverse = ExpTransform().inv
    assert inverse.domain is constraints.positive and inverse.codomain is constraints.real
    assert TransformedDistribution(Exponential(f64(1.0)), ExpTransform().inv).support is constraints.real


def test_inverses_are_equal_only_when_the_transforms_are():
    """_InverseTransform.__eq__: an inverse and `self._inv == other._inv`."""
    assert ExpTransform().inv == ExpTransform().inv
    assert not ExpTransform().inv == SigmoidTransform().inv
    p = TransformedDistribution(Exponential(f64(1.0)), ExpTransform().inv)
    q = TransformedDistribution(Exponential(f64(2.0)), SigmoidTransform().inv)
    with pytest.raises(NotImplementedError, match="transforms"):
        kl_divergence(p, q)


# ---- Geometric and OneHotCategorical -----------------------------------------------------------------------

def test_geometric_log_prob_with_p_one_is_minus_infinity_past_zero():
    """torch/distributions/geometric.py: probs set to 0 only where probs == 1 AND value == 0, so
    P(X = 2) for p = 1 is 2 log(0) + log 1 = -inf."""
    with np.errstate(divide="ignore"):
        result = Geometric(f64([1.0, 1.0])).log_prob(f64([0.0, 2.0])).data
    assert result[0] == 0.0 and np.isneginf(result[1])


@pytest.mark.parametrize("value", [1.5, -1.0])
def test_geometric_log_prob_refuses_a_value_outside_the_nonnegative_integers(value):
    """support = constraints.nonnegative_integer, checked in log_prob with validate_args."""
    with pytest.raises(ValueError, match="Geometric: expected value argument"):
        Geometric(f64(0.3)).log_prob(f64(value))


def test_geometric_sample_is_in_the_probabilities_dtype():
    """PyTorch draws u in probs' dtype and returns floor(log u / log1p(-p)): float32 stays float32."""
    assert Geometric(f32([0.3, 0.7])).sample((4,)).dtype == np.float32


def test_onehot_sample_is_in_the_probabilities_dtype():
    """torch/distributions/one_hot_categorical.py sample: one_hot(indices).to(probs)."""
    assert OneHotCategorical(f64([0.2, 0.8])).sample((5,)).dtype == np.float64
    assert OneHotCategorical(f32([0.2, 0.8])).sample((5,)).dtype == np.float32


def test_onehot_enumerate_support_without_expand_has_singleton_batch_axes():
    """enumerate_support(expand=False): eye(n).view((n,) + (1,) * len(batch_shape) + (n,))."""
    d = OneHotCategorical(f64([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]))
    values = d.enumerate_support(expand=False)
    assert values.shape == (3, 1, 3)
    close(values[:, 0], np.eye(3))


def test_onehot_expand_keeps_the_validate_args_setting():
    """OneHotCategorical.expand: new._validate_args = self._validate_args."""
    expanded = OneHotCategorical(f64([0.5, 0.5]), validate_args=True).expand((3,))
    with pytest.raises(ValueError, match="OneHotCategorical: expected value argument"):
        expanded.log_prob(f64([1.0, 1.0]))


# ---- the relaxed distributions -----------------------------------------------------------------------------

def test_temperature_must_be_a_number_or_a_tensor():
    with pytest.raises(TypeError, match="RelaxedBernoulli: expected temperature to be a number or a tensor, got str"):
        RelaxedBernoulli("hot", probs=f64([0.3]))


def test_a_number_temperature_takes_the_parameters_dtype():
    """A float temperature next to float32 probabilities: the log-density stays float32."""
    d = RelaxedBernoulli(0.5, probs=f32([0.3, 0.8]))
    assert d.temperature.dtype == np.float32
    assert d.log_prob(f32([0.2, 0.9])).dtype == np.float32


def test_logit_relaxed_bernoulli_draws_are_logistic_around_the_logit():
    """(logit p + log u - log(1 - u)) / T: T x - logit p is standard logistic (cdf sigmoid)."""
    mg.manual_seed(11)
    T, p = 0.5, np.array([0.3, 0.8])
    draws = LogitRelaxedBernoulli(f64(T), probs=f64(p)).rsample((20000,)).data
    assert logistic_ks(T * draws - np.log(p / (1 - p))) < 0.015


def test_logit_relaxed_bernoulli_clamps_probabilities_zero_and_one():
    """PyTorch's rsample uses clamp_probs(probs) (to [eps, 1 - eps]), so the draws stay finite."""
    mg.manual_seed(0)
    with np.errstate(divide="ignore"):
        draws = LogitRelaxedBernoulli(f64(0.5), probs=f64([0.0, 1.0])).rsample((50,)).data
    assert np.all(np.isfinite(draws))


def test_exp_relaxed_categorical_draws_have_logistic_differences():
    """K = 2: x1 - x0 = (l1 - l0 + g1 - g0) / T and g1 - g0 of two Gumbels is standard logistic."""
    mg.manual_seed(12)
    T, probs = 0.5, np.array([0.3, 0.7])
    draws = ExpRelaxedCategorical(f64(T), probs=f64(probs)).rsample((20000,)).data
    assert logistic_ks(T * (draws[:, 1] - draws[:, 0]) - np.log(probs[1] / probs[0])) < 0.015


def test_relaxed_onehot_argmax_is_categorical_by_the_gumbel_max_trick():
    """argmax_k (logits_k + g_k) with g_k Gumbel(0, 1) is Categorical(softmax(logits)), at any T."""
    mg.manual_seed(13)
    probs = np.array([0.1, 0.3, 0.6])
    draws = RelaxedOneHotCategorical(f64(2.0), probs=f64(probs)).sample((20000,)).data
    frequencies = np.bincount(draws.argmax(-1), minlength=3) / len(draws)
    np.testing.assert_allclose(frequencies, probs, atol=0.015)


def test_exp_relaxed_categorical_expand_keeps_the_validate_args_setting():
    expanded = ExpRelaxedCategorical(f64(0.5), probs=f64([0.5, 0.5]), validate_args=True).expand((3,))
    with pytest.raises(ValueError, match="ExpRelaxedCategorical: expected value argument"):
        expanded.log_prob(f64([math.nan, 0.0]))


# ---- transforms: sigmoid's clamps, Abs, Affine, Power, Compose ---------------------------------------------

def test_sigmoid_transform_clamps_its_output_inside_the_open_interval():
    """PyTorch's _clipped_sigmoid: sigmoid(x) clamped to [finfo.tiny, 1 - finfo.eps]."""
    finfo = np.finfo(np.float64)
    y = SigmoidTransform()(f64([40.0, -800.0])).data
    assert y[0] == 1 - finfo.eps and y[1] == finfo.tiny


def test_sigmoid_transform_inverse_of_zero_and_one_is_finite():
    """SigmoidTransform._inverse clamps y to [tiny, 1 - eps] first: logit(tiny), logit(1 - eps)."""
    finfo = np.finfo(np.float64)
    x = SigmoidTransform().inv(f64([0.0, 1.0]))
    close(x, [np.log(finfo.tiny) - np.log1p(-finfo.tiny), np.log1p(-finfo.eps) - np.log(finfo.eps)])


def test_abs_transform_is_not_bijective():
    """PyTorch's AbsTransform keeps Transform.bijective = False (|x| folds the line)."""
    from microgradseq.distributions.transforms import AbsTransform
    assert AbsTransform().bijective is False
    assert ComposeTransform([ExpTransform(), AbsTransform()]).bijective is False


def test_affine_transform_refuses_a_loc_that_is_not_a_number_or_a_tensor():
    with pytest.raises(TypeError, match="AffineTransform: expected loc to be a number or a tensor, got str"):
        AffineTransform("0", 1.0)


def test_affine_transform_refuses_a_negative_event_dim():
    with pytest.raises(ValueError, match="AffineTransform: event_dim must be a non-negative int, got -1"):
        AffineTransform(0.0, 1.0, event_dim=-1)


def test_affine_transform_with_a_tensor_scale_flips_only_where_it_is_negative():
    """sign = scale.sign(); Y = s U, U ~ Uniform(0, 1): P(2U <= 0.5) = 0.25, P(-3U <= -0.75) = 0.75."""
    t = AffineTransform(0.0, f64([2.0, -3.0]))
    np.testing.assert_array_equal(t.sign.data, [1.0, -1.0])
    d = TransformedDistribution(Uniform(f64([0.0, 0.0]), f64([1.0, 1.0])), t)
    close(d.cdf(f64([0.5, -0.75])), [0.25, 0.75])
    close(d.icdf(f64([0.25, 0.75])), [0.5, -0.75])


def test_affine_log_abs_det_jacobian_has_the_shape_of_x():
    """PyTorch: abs(scale).log() expanded to x's shape (its event axes summed away)."""
    x = f64(np.ones((4, 2)))
    ladj = AffineTransform(0.0, f64([2.0, -3.0])).log_abs_det_jacobian(x, x)
    assert ladj.shape == (4, 2)
    close(ladj, np.broadcast_to(np.log([2.0, 3.0]), (4, 2)))
    ladj_events = AffineTransform(0.0, f64([2.0, -3.0]), event_dim=1).log_abs_det_jacobian(x, x)
    assert ladj_events.shape == (4,)
    close(ladj_events, np.full(4, np.log(6.0)))


def test_affine_transforms_with_different_scales_are_not_equal():
    """AffineTransform.__eq__ compares loc and scale."""
    assert AffineTransform(0.0, 2.0) == AffineTransform(0.0, 2.0)
    assert not AffineTransform(0.0, 2.0) == AffineTransform(0.0, 3.0)
    p = TransformedDistribution(Normal(f64(0.0), f64(1.0)), AffineTransform(0.0, 2.0))
    q = TransformedDistribution(Normal(f64(0.0), f64(1.0)), AffineTransform(0.0, 3.0))
    with pytest.raises(NotImplementedError, match="transforms"):
        kl_divergence(p, q)


def test_power_transform_with_a_negative_exponent_decreases():
    """PowerTransform.sign = exponent.sign(); Y = 1 / E, E ~ Exp(1): P(Y <= y) = P(E >= 1/y) = exp(-1/y)."""
    t = PowerTransform(f64(-1.0))
    assert float(np.asarray(getattr(t.sign, "data", t.sign))) == -1.0
    d = TransformedDistribution(Exponential(f64(1.0)), t)
    y = np.array([0.5, 1.0, 3.0])
    close(d.cdf(f64(y)), np.exp(-1 / y), rtol=1e-12)


def test_power_transforms_with_different_exponents_are_not_equal():
    """PowerTransform.__eq__: exponent.eq(other.exponent).all(); so Weibulls of different k have no KL pair."""
    assert PowerTransform(f64(2.0)) == PowerTransform(f64(2.0))
    assert not PowerTransform(f64(2.0)) == PowerTransform(f64(3.0))
    with pytest.raises(NotImplementedError):
        kl_divergence(Weibull(f64(1.0), f64(2.0)), Weibull(f64(1.0), f64(3.0)))


def test_compose_transform_event_dim_is_the_largest_of_its_parts():
    chain = ComposeTransform([ExpTransform(), AffineTransform(0.0, f64([2.0, 3.0]), event_dim=1)])
    assert chain.event_dim == 1


def test_compose_log_abs_det_jacobian_sums_each_part_to_the_composite_event():
    """exp then a scale on whole vectors: log|det J| = sum_i x_i + log(2 * 3), one per row."""
    chain = ComposeTransform([ExpTransform(), AffineTransform(0.0, f64([2.0, 3.0]), event_dim=1)])
    x = np.array([[0.1, -0.4], [1.0, 0.3], [0.0, 0.0]])
    ladj = chain.log_abs_det_jacobian(f64(x), chain(f64(x)))
    assert ladj.shape == (3,)
    close(ladj, x.sum(-1) + np.log(6.0))


def test_compose_transform_goes_from_the_first_domain_to_the_last_codomain():
    chain = ComposeTransform([AffineTransform(0.0, 2.0), ExpTransform()])
    assert chain.domain is constraints.real and chain.codomain is constraints.positive


# ---- TransformedDistribution -----------------------------------------------------------------------------

def test_a_transform_on_whole_vectors_makes_the_batch_axis_an_event():
    """Normal over (2, 3) through y = 2 x with event_dim 1: batch (2,), event (3,) and
    log p(y) = sum_i [log N(y_i / 2; 0, 1) - log 2], one per row."""
    d = TransformedDistribution(Normal(f64(np.zeros((2, 3))), f64(np.ones((2, 3)))), AffineTransform(0.0, 2.0, event_dim=1))
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    y = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, 3.0]])
    expected = (-0.5 * np.log(2 * np.pi) - (y / 2) ** 2 / 2 - np.log(2.0)).sum(-1)
    log_prob = d.log_prob(f64(y))
    assert log_prob.shape == (2,)
    close(log_prob, expected)


def test_transformed_distribution_has_rsample_only_if_its_base_has():
    """TransformedDistribution.has_rsample is the base's: a Geometric has none."""
    assert not TransformedDistribution(Geometric(f64(0.3)), AffineTransform(1.0, 2.0)).has_rsample
    assert not Independent(Geometric(f64([0.3, 0.6])), 1).has_rsample


def test_transformed_distribution_support_is_the_last_transforms_codomain():
    """exp then a shift: the support is the shift's codomain (the real line), not exp's."""
    d = TransformedDistribution(Normal(f64(0.0), f64(1.0)), [ExpTransform(), AffineTransform(-1.0, 1.0)])
    assert d.support is constraints.real


def test_transformed_distribution_sample_has_no_history():
    """PyTorch's TransformedDistribution.sample runs under torch.no_grad()."""
    loc = f64(0.3, requires_grad=True)
    assert not TransformedDistribution(Normal(loc, f64(1.0)), ExpTransform()).sample((3,)).requires_grad


# ---- the new constraints ---------------------------------------------------------------------------------

def test_one_hot_needs_entries_zero_or_one():
    """constraints.one_hot: every entry 0 or 1 and the row sums to 1; [2, -1] sums to 1 but is not one."""
    assert not constraints.one_hot.check(np.array([2.0, -1.0]))
    with pytest.raises(ValueError, match="OneHotCategorical: expected value argument"):
        OneHotCategorical(f64([0.5, 0.5])).log_prob(f64([2.0, -1.0]))


def test_zero_is_inside_the_nonnegative_support():
    """Exponential's support is GreaterThanEq(0): log p(0) = log rate."""
    close(Exponential(f64(2.0)).log_prob(f64(0.0)), np.log(2.0))


def test_the_pareto_scale_itself_is_inside_its_support():
    """greater_than_eq(scale): log p(scale) = log alpha + alpha log scale - (alpha + 1) log scale."""
    close(Pareto(f64(2.0), f64(3.0)).log_prob(f64(2.0)), np.log(3.0) - np.log(2.0), rtol=1e-12)


def test_independent_constraint_gives_one_answer_per_event():
    """PyTorch's constraints.independent: the base's check, all() over the reinterpreted axes; event_dim
    is the base's plus those."""
    support = Independent(Exponential(f64(np.ones((2, 3)))), 1).support
    np.testing.assert_array_equal(support.check(np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 2.0]])), [True, False])
    assert support.event_dim == 1
    assert constraints.independent(constraints.real_vector, 2).event_dim == 3


def test_integer_and_one_hot_constraints_are_discrete():
    assert constraints.nonnegative_integer.is_discrete and constraints.one_hot.is_discrete


def test_lower_cholesky_needs_a_positive_diagonal():
    """PyTorch's lower_cholesky: lower triangular with diagonal > 0 (a zero is refused)."""
    assert not constraints.lower_cholesky.check(np.array([[1.0, 0.0], [0.5, 0.0]]))
    with pytest.raises(ValueError, match="MultivariateNormal: expected parameter scale_tril"):
        MultivariateNormal(f64([0.0, 0.0]), scale_tril=f64([[1.0, 0.0], [0.5, 0.0]]))


def test_positive_definite_needs_a_symmetric_matrix():
    """PyTorch's positive_definite checks symmetry first: [[2, 1], [0, 2]] (eigvalsh of its lower triangle
    are positive) is refused."""
    assert not constraints.positive_definite.check(np.array([[2.0, 1.0], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="MultivariateNormal: expected parameter covariance_matrix"):
        MultivariateNormal(f64([0.0, 0.0]), f64([[2.0, 1.0], [0.0, 2.0]]))


# ---- Independent and MixtureSameFamily -------------------------------------------------------------------

def test_independent_refuses_a_negative_number_of_axes():
    with pytest.raises(ValueError, match=r"Independent: .* actual -1 vs 1"):
        Independent(Normal(f64([0.0]), 1.0), -1)


def test_independent_of_vector_events_expands_over_a_new_batch():
    """Independent(MVN batch (2,), 1): event (2, 3); expand((4,)) gives batch (4,) with the same log p."""
    sigma = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 1.5]])
    locs = np.array([[0.0, 1.0, -1.0], [0.5, 0.5, 0.5]])
    d = Independent(MultivariateNormal(f64(locs), f64(sigma)), 1)
    assert d.batch_shape == () and d.event_shape == (2, 3)
    expanded = d.expand((4,))
    assert expanded.batch_shape == (4,) and expanded.event_shape == (2, 3)
    x = np.array([[0.2, 0.4, -0.5], [1.0, 0.0, 0.3]])
    diff = x - locs
    maha = np.einsum("ki,ij,kj->k", diff, np.linalg.inv(sigma), diff)
    expected = (-0.5 * (3 * np.log(2 * np.pi) + np.linalg.slogdet(sigma)[1] + maha)).sum()
    close(expanded.log_prob(f64(x)), np.full(4, expected), rtol=1e-9)


def test_mixture_refuses_batch_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match="MixtureSameFamily: mixture_distribution.batch_shape"):
        MixtureSameFamily(Categorical(f64(np.full((3, 2), 0.5))), Normal(f64(np.zeros((4, 2))), 1.0))


def test_mixture_of_vectors_has_the_weighted_mean_and_total_variance_per_coordinate():
    """mean = sum_k pi_k mu_k, variance = sum_k pi_k (sigma_k^2 + (mu_k - mean)^2), each per coordinate."""
    pi, mu, sigma = np.array([0.3, 0.7]), np.array([[0.0, 2.0], [1.0, -1.0]]), np.array([[1.0, 0.5], [2.0, 1.0]])
    d = MixtureSameFamily(Categorical(f64(pi)), Independent(Normal(f64(mu), f64(sigma)), 1))
    mean = (pi[:, None] * mu).sum(0)
    close(d.mean, mean)
    close(d.variance, (pi[:, None] * (sigma ** 2 + (mu - mean) ** 2)).sum(0))


def test_mixture_expand_keeps_the_components_axis():
    """expand(batch) expands the components to batch + (K,) and the mixture to batch."""
    pi, mu, sigma = np.array([0.2, 0.8]), np.array([-1.0, 1.0]), np.array([0.5, 2.0])
    d = MixtureSameFamily(Categorical(f64(pi)), Normal(f64(mu), f64(sigma))).expand((3,))
    assert d.batch_shape == (3,) and d.component_distribution.batch_shape == (3, 2)
    x = 0.4
    density = (pi * np.exp(-(x - mu) ** 2 / (2 * sigma ** 2)) / (sigma * np.sqrt(2 * np.pi))).sum()
    close(d.log_prob(f64(x)), np.full(3, np.log(density)))


def test_mixture_sample_draws_whole_vectors_of_the_picked_component():
    """One mixture over a batch of 2 sets of K = 2 components of vectors (tiny scales): each draw is one
    component's mean vector, picked with the mixture's weights."""
    mg.manual_seed(21)
    pi = np.array([0.25, 0.75])
    mu = np.array([[[0.0, 10.0], [20.0, 30.0]], [[40.0, 50.0], [60.0, 70.0]]])     # (batch 2, K 2, event 2)
    d = MixtureSameFamily(Categorical(f64(pi)), Independent(Normal(f64(mu), f64(np.full(mu.shape, 1e-6))), 1))
    assert d.batch_shape == (2,) and d.event_shape == (2,)
    draws = d.sample((4000,)).data
    assert draws.shape == (4000, 2, 2)
    for b in range(2):
        picked_second = np.abs(draws[:, b] - mu[b, 1]).max(-1) < 1e-3
        picked_first = np.abs(draws[:, b] - mu[b, 0]).max(-1) < 1e-3
        assert np.all(picked_first | picked_second)
        assert abs(picked_second.mean() - 0.75) < 0.03


def test_independent_expand_keeps_the_base_distribution_batch():
    d = Independent(Normal(f64(np.zeros(3)), 1.0), 1).expand((2,))
    assert d.base_dist.batch_shape == (2, 3) and d.event_shape == (3,)


# ---- MultivariateNormal ----------------------------------------------------------------------------------

def test_multivariate_normal_needs_one_matrix():
    with pytest.raises(ValueError, match="MultivariateNormal: exactly one of"):
        MultivariateNormal(f64([0.0, 0.0]))


def test_multivariate_normal_refuses_a_matrix_that_is_not_square():
    with pytest.raises(ValueError, match="MultivariateNormal: covariance_matrix must be at least two-dimensional"):
        MultivariateNormal(f64([0.0, 0.0]), f64(np.ones((3, 2))), validate_args=False)


def test_multivariate_normal_entropy_has_one_value_per_batch_entry():
    """loc of batch (2,) with one covariance: entropy = log det(2 pi e Sigma) / 2 for each."""
    sigma = np.array([[2.0, 0.5], [0.5, 1.0]])
    entropy = MultivariateNormal(f64([[0.0, 0.0], [1.0, 2.0]]), f64(sigma)).entropy()
    assert entropy.shape == (2,)
    close(entropy, np.full(2, 0.5 * np.linalg.slogdet(2 * np.pi * np.e * sigma)[1]), rtol=1e-12)


def test_multivariate_normal_expand_keeps_the_validate_args_setting():
    d = MultivariateNormal(f64([0.0, 0.0]), f64(np.eye(2)), validate_args=True).expand((3,))
    with pytest.raises(ValueError, match="MultivariateNormal: expected value argument"):
        d.log_prob(f64([math.nan, 0.0]))


def test_multivariate_normal_rsample_is_in_locs_dtype():
    assert MultivariateNormal(f32([0.0, 1.0]), f32(np.eye(2))).rsample((3,)).dtype == np.float32


def test_kl_of_multivariate_normals_of_different_sizes_raises():
    with pytest.raises(ValueError, match="different event shapes"):
        kl_divergence(MultivariateNormal(f64([0.0, 0.0]), f64(np.eye(2))),
                      MultivariateNormal(f64([0.0, 0.0, 0.0]), f64(np.eye(3))))


def test_kl_of_paretos_with_equal_scales_is_finite():
    """PyTorch sets inf only where p's lower bound is strictly below q's: equal scales give
    alpha_q log 1 - log(alpha_q / alpha_p) + alpha_q / alpha_p - 1."""
    result = kl_divergence(Pareto(f64(1.0), f64(3.0)), Pareto(f64(1.0), f64(2.0)))
    close(result, -np.log(2 / 3) + 2 / 3 - 1, rtol=1e-12)


# ---- TransformedDistribution: icdf, cdf checks, expand, arguments; the folded families --------------------

def test_transformed_cdf_validates_its_value():
    """PyTorch's TransformedDistribution.cdf: `if self._validate_args: self._validate_sample(value)`."""
    with pytest.raises(ValueError, match="LogNormal: expected value argument"):
        LogNormal(f64(0.0), f64(1.0)).cdf(f64(-1.0))


def test_transformed_expand_of_vector_events_expands_the_base_over_the_event():
    base = Normal(f64(np.zeros((2, 3))), f64(np.ones((2, 3))))
    d = TransformedDistribution(base, AffineTransform(0.0, 2.0, event_dim=1)).expand((4, 2))
    assert d.batch_shape == (4, 2) and d.event_shape == (3,) and d.base_dist.batch_shape == (4, 2, 3)
    assert d.sample().shape == (4, 2, 3)


def test_transformed_distribution_refuses_a_base_that_is_not_a_distribution():
    with pytest.raises(TypeError, match="TransformedDistribution: expected base_distribution to be a Distribution"):
        TransformedDistribution("normal", ExpTransform())


def test_halfnormal_log_prob_at_zero_is_twice_the_normals():
    """torch/distributions/half_normal.py: torch.where(value >= 0, log p_X(value) + log 2, -inf)."""
    from microgradseq.distributions import HalfNormal
    close(HalfNormal(f64(2.0)).log_prob(f64(0.0)), np.log(2.0) - np.log(2.0 * np.sqrt(2 * np.pi)), rtol=1e-12)


# ---- the wrapped parameter's check and Uniform.icdf ---------------------------------------------------------

def test_a_bad_logits_parameter_is_named_as_logits():
    """With logits given, the check of the wrapping distribution names logits (PyTorch's arg_constraints)."""
    with np.errstate(invalid="ignore"):
        with pytest.raises(ValueError, match="RelaxedBernoulli: expected parameter logits"):
            RelaxedBernoulli(0.5, logits=f64([math.nan]))
        with pytest.raises(ValueError, match="OneHotCategorical: expected parameter logits"):
            OneHotCategorical(logits=f64([math.nan, 0.0]))


def test_uniform_icdf_starts_at_low():
    """torch/distributions/uniform.py icdf: value * (high - low) + low."""
    close(Uniform(f64(2.0), f64(5.0)).icdf(f64([0.0, 0.5, 1.0])), [2.0, 3.5, 5.0])


# ---- second round: folded checks, MultivariateNormal's broadcast parameters, codomains -------------------

def test_halfnormal_log_prob_and_cdf_validate_their_value():
    """torch/distributions/half_normal.py log_prob and cdf call self._validate_sample(value) first."""
    from microgradseq.distributions import HalfNormal
    with pytest.raises(ValueError, match="HalfNormal: expected value argument"):
        HalfNormal(f64(1.0)).log_prob(f64(-1.0))
    with pytest.raises(ValueError, match="HalfNormal: expected value argument"):
        HalfNormal(f64(1.0)).cdf(f64(-1.0))


def test_multivariate_normal_parameters_are_expanded_to_the_batch():
    """PyTorch: loc expanded to batch_shape + (n,); scale_tril / covariance read expanded to
    batch_shape + (n, n); variance (the diagonal of Sigma) per batch entry."""
    sigma = np.array([[2.0, 0.5], [0.5, 1.0]])
    d = MultivariateNormal(f64([0.0, 1.0]), f64(np.stack([sigma] * 3)))
    assert d.loc.shape == (3, 2) and d.mean.shape == (3, 2)
    close(d.mean, np.broadcast_to([0.0, 1.0], (3, 2)))
    batched_loc = MultivariateNormal(f64([[0.0, 1.0], [2.0, 3.0]]), f64(sigma))
    assert batched_loc.scale_tril.shape == (2, 2, 2)
    close(batched_loc.scale_tril, np.broadcast_to(np.linalg.cholesky(sigma), (2, 2, 2)), rtol=1e-12)
    assert batched_loc.variance.shape == (2, 2)
    close(batched_loc.variance, np.broadcast_to(np.diag(sigma), (2, 2)), rtol=1e-12)


def test_an_empty_compose_transform_has_zero_log_abs_det_jacobian():
    """PyTorch: `if not self.parts: return torch.zeros_like(x)` (the identity map)."""
    x = f64([0.5, -2.0])
    close(ComposeTransform([]).log_abs_det_jacobian(x, x), [0.0, 0.0])


def test_tanh_and_sigmoid_codomains_are_bounded():
    """TanhTransform.codomain = interval(-1, 1); SigmoidTransform.codomain = unit_interval."""
    np.testing.assert_array_equal(TanhTransform().codomain.check(np.array([0.5, 1.5])), [True, False])
    assert SigmoidTransform().codomain is constraints.unit_interval
    assert not np.any(TransformedDistribution(Normal(f64(0.0), f64(1.0)), SigmoidTransform()).support.check(1.5))


def test_the_inverse_of_a_transform_on_vectors_acts_on_vectors():
    """_InverseTransform keeps the transform's event_dim: y = x / 2 over whole rows."""
    inverse = AffineTransform(0.0, 2.0, event_dim=1).inv
    assert inverse.event_dim == 1
    d = TransformedDistribution(Normal(f64(np.zeros((2, 3))), f64(np.ones((2, 3)))), inverse)
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    y = np.array([[0.1, 0.2, -0.3], [0.0, 0.5, 1.0]])
    close(d.log_prob(f64(y)), (-0.5 * np.log(2 * np.pi) - (2 * y) ** 2 / 2 + np.log(2.0)).sum(-1))


def test_mixture_refuses_components_without_a_batch_axis():
    with pytest.raises(ValueError, match="MixtureSameFamily: the component distribution needs to be a Distribution "
                                         "with at least one batch axis"):
        MixtureSameFamily(Categorical(f64([1.0])), Normal(f64(0.0), f64(1.0)))


def test_multivariate_normal_refuses_a_0d_loc_as_pytorch():
    # PyTorch's MultivariateNormal: "loc must be at least one-dimensional."
    with pytest.raises(ValueError, match="MultivariateNormal: loc must be at least one-dimensional"):
        MultivariateNormal(mg.tensor(np.float64(0.5)), mg.tensor(np.array([[2.0]])))


def test_a_zero_scale_or_exponent_has_sign_zero_and_abs_maps_onto_the_positive_reals():
    # PyTorch: AffineTransform.sign and PowerTransform.sign are scale.sign() / exponent.sign() (0 at 0);
    # AbsTransform.codomain is constraints.positive.
    assert AffineTransform(0.0, 0.0).sign == 0 and AffineTransform(0.0, -2.0).sign == -1
    assert PowerTransform(0.0).sign == 0 and PowerTransform(3.0).sign == 1
    assert AbsTransform.codomain is constraints.positive
