"""Adam and AdamW, as `torch.optim.Adam` and `torch.optim.AdamW`."""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer
from .sgd import with_decay


class Adam(Optimizer):
    """Adam (Kingma & Ba) with L2 weight decay added to the gradient, as `torch.optim.Adam`.

    At a parameter's t-th update (t counts only steps where it had a gradient):

        g     = -grad if maximize else grad
        g     = g + weight_decay * p
        m     = beta1 * m + (1 - beta1) * g          (m = 0 before the first step)
        v     = beta2 * v + (1 - beta2) * g^2        (v = 0 before the first step)
        v     = max(v_max, v), kept as v_max         (amsgrad only; v_max = 0 at first)
        m_hat = m / (1 - beta1^t)
        v_hat = v / (1 - beta2^t)
        p     = p - lr * m_hat / (sqrt(v_hat) + eps)

    With `decoupled_weight_decay=True` it is AdamW, as with PyTorch's Adam.

    Options (per param group): lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay,
    and PyTorch's foreach, capturable, differentiable, fused (kept as given; the update is the same).
    State: step, exp_avg (m), exp_avg_sq (v), max_exp_avg_sq (v_max, with amsgrad).
    """

    option_checks = {"lr": check.non_negative, "betas": check.betas, "eps": check.non_negative,
                     "weight_decay": check.non_negative, "amsgrad": check.boolean, "maximize": check.boolean,
                     **check.switches("foreach", "capturable", "differentiable", "fused"),
                     "decoupled_weight_decay": check.boolean}
    state_names = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def kept_state(self, group: dict) -> tuple[str, ...]:
        return ("step", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        data, grad, t, m, v = moments(data, grad, state, group)
        if group["amsgrad"]:
            v = state["max_exp_avg_sq"] = np.maximum(state.get("max_exp_avg_sq", 0.0), v)
        # PyTorch's arrangement of the same formula: fold the corrections into
        # the step size and the denominator
        step_size = lr / (1.0 - beta1 ** t)
        denom = np.sqrt(v) / math.sqrt(1.0 - beta2 ** t) + group["eps"]
        return data - step_size * m / denom


def moments(data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> tuple:
    """The first half of a step of Adam and its kin (NAdam, RAdam): the gradient's sign (maximize), the
    weight decay, the step count t and the two moving averages, kept in `state`:

        g = -grad if maximize else grad
        p = p * (1 - lr * weight_decay)       (decoupled_weight_decay)     else   g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g,      v = beta2 * v + (1 - beta2) * g^2

    Returns (p, g, t, m, v)."""
    lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
    if group["maximize"]:
        grad = -grad
    if group["decoupled_weight_decay"]:
        data = data * (1.0 - lr * weight_decay)
    else:
        grad = with_decay(data, grad, weight_decay)
    t = state["step"] = state.get("step", 0) + 1
    m = state["exp_avg"] = beta1 * state.get("exp_avg", 0.0) + (1.0 - beta1) * grad
    v = state["exp_avg_sq"] = beta2 * state.get("exp_avg_sq", 0.0) + (1.0 - beta2) * grad * grad
    return data, grad, t, m, v


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as `torch.optim.AdamW`: the
    decay shrinks the parameter directly instead of entering the gradient and the moments.

        p     = p * (1 - lr * weight_decay)
        m, v, m_hat, v_hat as Adam's, from g = grad (-grad if maximize)
        p     = p - lr * m_hat / (sqrt(v_hat) + eps)

    It is `Adam(..., decoupled_weight_decay=True)`, and stays so when it loads a state dict, as PyTorch's.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         foreach=foreach, maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused, decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
