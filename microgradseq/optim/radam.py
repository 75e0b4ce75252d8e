"""RAdam, as `torch.optim.RAdam`."""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer
from .adam import moments
from .state_dict import non_negative_entries


class RAdam(Optimizer):
    """Rectified Adam (Liu et al., 2019): while too few squared gradients have been averaged for their
    average to be trusted (rho_t <= 5), a step of momentum SGD; after that Adam's step, scaled by a
    rectification r_t that tends to 1, as `torch.optim.RAdam` computes it. At the parameter's t-th update:

        g       = -grad if maximize else grad
        p       = p * (1 - lr * weight_decay)             (decoupled_weight_decay: RAdamW)
        g       = g + weight_decay * p                    (otherwise)
        m       = beta1 * m + (1 - beta1) * g             (m = 0 before the first step)
        v       = beta2 * v + (1 - beta2) * g^2           (v = 0 before the first step)
        m_hat   = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t   = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            l_t = sqrt(1 - beta2^t) / (sqrt(v) + eps)
            r_t = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
            p   = p - lr * m_hat * l_t * r_t
        else:
            p   = p - lr * m_hat

    Options (per param group): lr, betas, eps, weight_decay, decoupled_weight_decay, maximize, and
    PyTorch's foreach, capturable, differentiable (kept as given; the update is the same).
    State: step, exp_avg (m), exp_avg_sq (v).
    """

    option_checks = {"lr": check.non_negative, "betas": check.betas, "eps": check.non_negative,
                     "weight_decay": check.non_negative, "maximize": check.boolean,
                     **check.switches("foreach", "capturable"), "decoupled_weight_decay": check.boolean,
                     **check.switches("differentiable")}
    state_names = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def kept_state(self, group: dict) -> tuple[str, ...]:
        return self.state_names

    def checked_state(self, where: str, index: int, entry: Any, group: dict) -> dict:
        """The base class's checks, and an exp_avg_sq with no negative entry."""
        state = super().checked_state(where, index, entry, group)
        non_negative_entries(where, index, state, "exp_avg_sq", "an average of squared gradients")
        return state

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        data, _, t, m, v = moments(data, grad, state, group)        # (adam.py: the moving averages m, v)
        m_hat = m / (1.0 - beta1 ** t)
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * t * beta2 ** t / (1.0 - beta2 ** t)
        if rho_t <= 5.0:              # too few squares averaged: no adaptive scaling yet
            return data - m_hat * lr
        adaptive = math.sqrt(1.0 - beta2 ** t) / (np.sqrt(v) + group["eps"])
        rectification = math.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
        return data - m_hat * lr * adaptive * rectification
