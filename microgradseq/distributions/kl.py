"""`kl_divergence(p, q)` and `register_kl`, PyTorch's `torch.distributions.kl` (torch/distributions/kl.py):
KL(p || q) = E_p[log p(X) - log q(X)] in closed form, one per batch entry, built from differentiable
ops (a VAE's KL term sends gradients to the encoder's loc and scale)."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..creation import full_like
from ..functional.activations import softplus
from ..ops.solvers import solve_triangular
from ..ops.gamma_functions import digamma, lgamma
from ..tensor import Tensor
from .bernoulli import Bernoulli
from .beta import Beta, Dirichlet
from .categorical import Categorical
from .compound import Independent
from .counts import Binomial, Poisson
from .discrete import Geometric, OneHotCategorical
from .distribution import Distribution, sum_rightmost
from .exponential import Cauchy, Exponential, Laplace
from .gamma import Gamma
from .low_rank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal, half_log_det, mahalanobis
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transformed_families import EULER_GAMMA, Gumbel, HalfNormal, Pareto
from .uniform import Uniform

_KL: dict = {}


def register_kl(type_p: type, type_q: type) -> Callable:
    """A decorator that makes `fn(p, q)` the KL divergence of a `type_p` from a `type_q` (and of their
    subclasses, unless a closer pair is registered)."""
    if not (isinstance(type_p, type) and issubclass(type_p, Distribution)
            and isinstance(type_q, type) and issubclass(type_q, Distribution)):
        raise TypeError(f"register_kl: expected subclasses of Distribution, got {type_p!r} and {type_q!r}")

    def decorator(fn: Callable) -> Callable:
        _KL[type_p, type_q] = fn
        return fn
    return decorator


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q), batched over the batch shape: the closest registered pair of p's and q's classes
    (pairs of one family: Normal, Categorical, Bernoulli, Uniform, Exponential, Laplace, Cauchy, Pareto,
    Geometric, HalfNormal, OneHotCategorical, MultivariateNormal, Gamma, Beta, Dirichlet, Poisson, Binomial,
    Gumbel, Independent, LowRankMultivariateNormal with itself or a MultivariateNormal, and
    TransformedDistributions with equal transforms, such as two LogNormals; and
    PyTorch's mixed pairs with Gamma, Beta, Uniform and Exponential, inf where p's support leaves q's);
    `NotImplementedError` for a pair with none, as PyTorch's."""
    for type_p in type(p).__mro__:
        for type_q in type(q).__mro__:
            if (type_p, type_q) in _KL:
                return _KL[type_p, type_q](p, q)
    raise NotImplementedError(f"kl_divergence: no KL(p || q) is implemented for p type {type(p).__name__} and "
                              f"q type {type(q).__name__}")


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    """(r + ((mu_p - mu_q) / sigma_q)^2 - 1 - log r) / 2 with r = (sigma_p / sigma_q)^2."""
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    """sum_k p_k (log p_k - log q_k): inf where q_k = 0 < p_k, and a class with p_k = 0 adds 0."""
    t = p.probs * (p.logits - q.logits)
    t = t.masked_fill(q.probs._data == 0, math.inf)
    return t.masked_fill(p.probs._data == 0, 0.0).sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    """p log(p / q) + (1 - p) log((1 - p) / (1 - q)), from the logits (log sigmoid(x) = -softplus(-x))."""
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = t1.masked_fill(q.probs._data == 0, math.inf).masked_fill(p.probs._data == 0, 0.0)
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = t2.masked_fill(q.probs._data == 1, math.inf).masked_fill(p.probs._data == 1, 0.0)
    return t1 + t2


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    """log((high_q - low_q) / (high_p - low_p)), inf where p's interval is not inside q's."""
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return result.masked_fill((q.low._data > p.low._data) | (q.high._data < p.high._data), math.inf)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p: OneHotCategorical, q: OneHotCategorical) -> Tensor:
    """The Categoricals' KL."""
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p: Exponential, q: Exponential) -> Tensor:
    """r - log r - 1 with r = rate_q / rate_p."""
    rate_ratio = q.rate / p.rate
    return -rate_ratio.log() + rate_ratio - 1


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p: Laplace, q: Laplace) -> Tensor:
    """-log s + |loc_p - loc_q| / b_q + s exp(-|loc_p - loc_q| / b_p) - 1, s = b_p / b_q."""
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    return -scale_ratio.log() + loc_abs_diff / q.scale + scale_ratio * (-loc_abs_diff / p.scale).exp() - 1


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p: Cauchy, q: Cauchy) -> Tensor:
    """log(((s_p + s_q)^2 + (loc_p - loc_q)^2) / (4 s_p s_q)) (arXiv:1905.10965)."""
    return ((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2).log() - (4 * p.scale * q.scale).log()


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p: Pareto, q: Pareto) -> Tensor:
    """alpha_q log(scale_p / scale_q) - log r + r - 1, r = alpha_q / alpha_p; inf where scale_p < scale_q
    (p puts mass where q has none)."""
    alpha_ratio = q.alpha / p.alpha
    result = q.alpha * (p.scale / q.scale).log() - alpha_ratio.log() + alpha_ratio - 1
    return result.masked_fill(p.scale._data < q.scale._data, math.inf)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p: Geometric, q: Geometric) -> Tensor:
    """-H(p) - log(1 - q) / p - logit(q)."""
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p: HalfNormal, q: HalfNormal) -> Tensor:
    """The unfolded Normals' KL (both symmetric about 0)."""
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariatenormal_multivariatenormal(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    """(log det S_q - log det S_p + tr(S_q^-1 S_p) + (mu_q - mu_p)^T S_q^-1 (mu_q - mu_p) - n) / 2, with
    tr(S_q^-1 S_p) = |L_q^-1 L_p|_F^2 (L_q X = L_p solved with mg.linalg.solve_triangular)."""
    if p.event_shape != q.event_shape:
        raise ValueError("kl_divergence: KL-divergence between two Multivariate Normals with different event shapes "
                         f"cannot be computed, got {tuple(p.event_shape)} and {tuple(q.event_shape)}")
    p_tril, q_tril = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = half_log_det(q_tril) - half_log_det(p_tril)
    term2 = solve_triangular(q_tril, p_tril, upper=False).pow(2).sum((-2, -1))
    term3 = mahalanobis(q_tril, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - p.event_shape[0])


def _as_multivariate_normal(d: Distribution) -> MultivariateNormal:
    """A LowRankMultivariateNormal as the MultivariateNormal of its scale_tril (the same N(loc, W W^T + D))."""
    if isinstance(d, MultivariateNormal):
        return d
    return MultivariateNormal(d.loc, scale_tril=d.scale_tril, validate_args=False)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
@register_kl(LowRankMultivariateNormal, MultivariateNormal)
@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_multivariatenormal(p: Distribution, q: Distribution) -> Tensor:
    """PyTorch's three pairs with a LowRankMultivariateNormal: the MultivariateNormals' KL above, each low-rank side
    read through its Cholesky factor (PyTorch's Woodbury form gives the same value)."""
    return _kl_multivariatenormal_multivariatenormal(_as_multivariate_normal(p), _as_multivariate_normal(q))


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Tensor:
    """The bases' KL summed over the reinterpreted axes (which must be as many in both)."""
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError(f"kl_divergence: Independent distributions with reinterpreted_batch_ndims "
                                  f"{p.reinterpreted_batch_ndims} and {q.reinterpreted_batch_ndims}")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p: TransformedDistribution, q: TransformedDistribution) -> Tensor:
    """The bases' KL when both push them through equal transforms (a bijection keeps KL)."""
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        raise NotImplementedError(f"kl_divergence: no KL(p || q) is implemented for {type(p).__name__} and "
                                  f"{type(q).__name__} with different transforms or event shapes")
    return kl_divergence(p.base_dist, q.base_dist)


# ---- the gamma family's pairs (lgamma and digamma of the parameters) --------------------------------------

def _x_log_x(t: Tensor) -> Tensor:
    return t * t.log()


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Tensor:
    """a_q log(r_p / r_q) + lgamma(a_q) - lgamma(a_p) + (a_p - a_q) digamma(a_p) + (r_q - r_p) a_p / r_p."""
    t1 = q.concentration * (p.rate / q.rate).log()
    t2 = lgamma(q.concentration) - lgamma(p.concentration)
    t3 = (p.concentration - q.concentration) * digamma(p.concentration)
    return t1 + t2 + t3 + (q.rate - p.rate) * (p.concentration / p.rate)


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Beta, q: Beta) -> Tensor:
    """log B(a_q, b_q) - log B(a_p, b_p) + (a_p - a_q) psi(a_p) + (b_p - b_q) psi(b_p) + (s_q - s_p) psi(s_p),
    s = a + b."""
    sum_p, sum_q = p.concentration1 + p.concentration0, q.concentration1 + q.concentration0
    t1 = lgamma(q.concentration1) + lgamma(q.concentration0) + lgamma(sum_p)
    t2 = lgamma(p.concentration1) + lgamma(p.concentration0) + lgamma(sum_q)
    t3 = (p.concentration1 - q.concentration1) * digamma(p.concentration1)
    t4 = (p.concentration0 - q.concentration0) * digamma(p.concentration0)
    return t1 - t2 + t3 + t4 + (sum_q - sum_p) * digamma(sum_p)


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    """lgamma(s_p) - lgamma(s_q) - sum (lgamma(c_p) - lgamma(c_q)) + sum (c_p - c_q) (psi(c_p) - psi(s_p))."""
    sum_p, sum_q = p.concentration.sum(-1), q.concentration.sum(-1)
    t1 = lgamma(sum_p) - lgamma(sum_q)
    t2 = (lgamma(p.concentration) - lgamma(q.concentration)).sum(-1)
    t4 = digamma(p.concentration) - digamma(sum_p).unsqueeze(-1)
    return t1 - t2 + ((p.concentration - q.concentration) * t4).sum(-1)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p: Poisson, q: Poisson) -> Tensor:
    """rate_p (log rate_p - log rate_q) - (rate_p - rate_q)."""
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p: Binomial, q: Binomial) -> Tensor:
    """n_p (p_p (logit p_p - logit q_p) + log(1 - p_p) - log(1 - q_p)); inf where n_p > n_q, and
    NotImplementedError where n_p < n_q, as PyTorch's."""
    if np.any(p.total_count._data < q.total_count._data):
        raise NotImplementedError("kl_divergence: KL between Binomials where q.total_count > p.total_count is not "
                                  "implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return kl.masked_fill(p.total_count._data > q.total_count._data, math.inf)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p: Gumbel, q: Gumbel) -> Tensor:
    """-log(s_p / s_q) - (loc_q - loc_p) / s_q + gamma s_p / s_q + exp((loc_q - loc_p) / s_q + lgamma(1 + s_p / s_q))
    - (1 + gamma)."""
    ct1, ct2, ct3 = p.scale / q.scale, q.loc / q.scale, p.loc / q.scale
    t3 = (ct2 + lgamma(1 + ct1) - ct3).exp()
    return -ct1.log() - ct2 + ct3 + ct1 * EULER_GAMMA + t3 - (1 + EULER_GAMMA)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p: Exponential, q: Gamma) -> Tensor:
    """-a_q log(r_q / r_p) + r_q / r_p + lgamma(a_q) + a_q gamma - (1 + gamma)."""
    ratio = q.rate / p.rate
    return -q.concentration * ratio.log() + ratio + lgamma(q.concentration) + q.concentration * EULER_GAMMA - (
        1 + EULER_GAMMA)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p: Gamma, q: Exponential) -> Tensor:
    """-H(p) - log r_q + r_q a_p / r_p."""
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p: Gamma, q: Normal) -> Tensor:
    """E_p[-log q] - H(p), E_p[X^2] = (a^2 + a) / r^2."""
    var_normal, beta_sqr, alpha = q.scale ** 2, p.rate ** 2, p.concentration
    t1 = 0.5 * (beta_sqr * var_normal * 2 * math.pi).log() - alpha - lgamma(alpha)
    t2 = 0.5 * (alpha ** 2 + alpha) / beta_sqr
    t3 = q.loc * alpha / p.rate
    return t1 + (alpha - 1) * digamma(alpha) + (t2 - t3 + 0.5 * q.loc ** 2) / var_normal


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p: Beta, q: Exponential) -> Tensor:
    """-H(p) - log rate + rate E_p[X]."""
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p: Beta, q: Gamma) -> Tensor:
    """-H(p) + lgamma(a_q) - a_q log r_q - (a_q - 1) E_p[log X] + r_q E_p[X]."""
    t2 = lgamma(q.concentration) - q.concentration * q.rate.log()
    t3 = (q.concentration - 1) * (digamma(p.concentration1) - digamma(p.concentration1 + p.concentration0))
    return -p.entropy() + t2 - t3 + q.rate * p.mean


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p: Beta, q: Uniform) -> Tensor:
    """-H(p) + log(high - low); inf where [0, 1] is not inside [low, high]."""
    result = -p.entropy() + (q.high - q.low).log()
    return result.masked_fill((q.low._data > 0) | (q.high._data < 1), math.inf)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p: Uniform, q: Gamma) -> Tensor:
    """-log(h - l) + lgamma(a) - a log r + (1 - a) E_p[log X] + r (h + l) / 2; inf where l < 0."""
    common = p.high - p.low
    t2 = lgamma(q.concentration) - q.concentration * q.rate.log()
    t3 = (1 - q.concentration) * (_x_log_x(p.high) - _x_log_x(p.low) - common) / common
    result = -common.log() + t2 + t3 + q.rate * (p.high + p.low) / 2
    return result.masked_fill(p.low._data < 0, math.inf)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p: Uniform, q: Beta) -> Tensor:
    """-log(h - l) - (a - 1) E_p[log X] - (b - 1) E_p[log(1 - X)] + log B(a, b), as PyTorch's; inf where
    [l, h] is not inside [0, 1]."""
    common = p.high - p.low
    t2 = (q.concentration1 - 1) * (_x_log_x(p.high) - _x_log_x(p.low) - common) / common
    t3 = (q.concentration0 - 1) * (_x_log_x(1 - p.high) - _x_log_x(1 - p.low) + common) / common
    t4 = lgamma(q.concentration1) + lgamma(q.concentration0) - lgamma(q.concentration1 + q.concentration0)
    result = t3 + t4 - common.log() - t2
    return result.masked_fill((p.high._data > 1) | (p.low._data < 0), math.inf)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p: Uniform, q: Exponential) -> Tensor:
    """r (h + l) / 2 - log((h - l) r), as PyTorch's; inf where l < 0."""
    result = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return result.masked_fill(p.low._data < 0, math.inf)


def _kl_infinity(p: Distribution, q: Distribution) -> Tensor:
    """inf: p's support is not inside q's."""
    return full_like(p.mean, math.inf)       # p puts mass where q has none


for _pair in ((Gamma, Beta), (Gamma, Pareto), (Gamma, Uniform), (Beta, Pareto), (Exponential, Beta), (Normal, Beta),
              (Normal, Gamma), (Normal, Exponential), (Normal, Uniform), (Exponential, Uniform), (Laplace, Beta),
              (Laplace, Gamma), (Gumbel, Beta), (Gumbel, Gamma), (Pareto, Beta)):
    register_kl(*_pair)(_kl_infinity)
