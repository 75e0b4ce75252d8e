"""`kl_divergence(p, q)` and `register_kl`, PyTorch's `torch.distributions.kl` (torch/distributions/kl.py):
KL(p || q) = E_p[log p(X) - log q(X)] in closed form, one per batch entry, built from differentiable
ops (a VAE's KL term sends gradients to the encoder's loc and scale)."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..functional.activations import softplus
from ..linalg import solve
from ..ops.elementwise import where
from ..tensor import Tensor
from .bernoulli import Bernoulli
from .categorical import Categorical
from .compound import Independent
from .discrete import Geometric, OneHotCategorical
from .distribution import Distribution, sum_rightmost
from .exponential import Cauchy, Exponential, Laplace
from .multivariate_normal import MultivariateNormal, half_log_det, mahalanobis
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transformed_families import HalfNormal, Pareto
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
    (pairs of one family here: Normal, Categorical, Bernoulli, Uniform, Exponential, Laplace, Cauchy, Pareto,
    Geometric, HalfNormal, OneHotCategorical, MultivariateNormal, Independent, and TransformedDistributions
    with equal transforms, such as two LogNormals; not Gumbel-Gumbel, which needs an lgamma);
    `NotImplementedError` for a pair with none, as PyTorch's."""
    for type_p in type(p).__mro__:
        for type_q in type(q).__mro__:
            if (type_p, type_q) in _KL:
                return _KL[type_p, type_q](p, q)
    raise NotImplementedError(f"kl_divergence: no KL(p || q) is implemented for p type {type(p).__name__} and "
                              f"q type {type(q).__name__}")


def _set(where_true: Any, value: float, t: Tensor) -> Tensor:
    """t with `value` where the (broadcast) mask is True: PyTorch's `t[mask] = value`."""
    return where(np.broadcast_to(np.asarray(where_true), t.shape), value, t)


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
    t = _set(q.probs._data == 0, math.inf, t)
    return _set(p.probs._data == 0, 0.0, t).sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    """p log(p / q) + (1 - p) log((1 - p) / (1 - q)), from the logits (log sigmoid(x) = -softplus(-x))."""
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = _set(p.probs._data == 0, 0.0, _set(q.probs._data == 0, math.inf, t1))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = _set(p.probs._data == 1, 0.0, _set(q.probs._data == 1, math.inf, t2))
    return t1 + t2


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    """log((high_q - low_q) / (high_p - low_p)), inf where p's interval is not inside q's."""
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _set((q.low._data > p.low._data) | (q.high._data < p.high._data), math.inf, result)


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
    return _set(p.scale._data < q.scale._data, math.inf, result)


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
    tr(S_q^-1 S_p) = |L_q^-1 L_p|_F^2 (L_q X = L_p solved with mg.linalg.solve)."""
    if p.event_shape != q.event_shape:
        raise ValueError("kl_divergence: KL-divergence between two Multivariate Normals with different event shapes "
                         f"cannot be computed, got {tuple(p.event_shape)} and {tuple(q.event_shape)}")
    p_tril, q_tril = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = half_log_det(q_tril) - half_log_det(p_tril)
    term2 = solve(q_tril, p_tril).pow(2).sum((-2, -1))
    term3 = mahalanobis(q_tril, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - p.event_shape[0])


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
