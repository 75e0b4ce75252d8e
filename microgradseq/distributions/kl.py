"""`kl_divergence(p, q)` and `register_kl`, PyTorch's `torch.distributions.kl` (torch/distributions/kl.py):
KL(p || q) = E_p[log p(X) - log q(X)] in closed form, one per batch entry, built from differentiable
ops (a VAE's KL term sends gradients to the encoder's loc and scale)."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..functional.activations import softplus
from ..ops.elementwise import where
from ..tensor import Tensor
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .normal import Normal
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
    (Normal-Normal, Categorical-Categorical, Bernoulli-Bernoulli, Uniform-Uniform here);
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
