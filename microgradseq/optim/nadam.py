"""NAdam, as `torch.optim.NAdam`."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer
from .adam import moments
from .state_dict import non_negative_entries


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat, 2016): the step looks ahead along the momentum, whose
    coefficient mu_t warms up with the parameter's step count t, as `torch.optim.NAdam` computes it:

        g          = -grad if maximize else grad
        p          = p * (1 - lr * weight_decay)             (decoupled_weight_decay: NAdamW)
        g          = g + weight_decay * p                    (otherwise)
        mu_t       = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        mu_product = mu_product * mu_t                       (mu_1 mu_2 ... mu_t; 1 before the first step)
        m          = beta1 * m + (1 - beta1) * g             (m = 0 before the first step)
        v          = beta2 * v + (1 - beta2) * g^2           (v = 0 before the first step)
        denom      = sqrt(v / (1 - beta2^t)) + eps
        p          = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
                       - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom

    Options (per param group): lr, betas, eps, weight_decay, momentum_decay, decoupled_weight_decay,
    maximize, and PyTorch's foreach, capturable, differentiable (kept as given; the update is the same).
    State: step, mu_product (a number), exp_avg (m), exp_avg_sq (v).
    """

    option_checks = {"lr": check.non_negative, "betas": check.betas, "eps": check.non_negative,
                     "weight_decay": check.non_negative, "momentum_decay": check.non_negative,
                     "decoupled_weight_decay": check.boolean, "maximize": check.boolean,
                     **check.switches("foreach", "capturable", "differentiable")}
    state_names = ("step", "mu_product", "exp_avg", "exp_avg_sq")
    number_state = ("mu_product",)

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def kept_state(self, group: dict) -> tuple[str, ...]:
        return self.state_names

    def checked_state(self, where: str, index: int, entry: Any, group: dict) -> dict:
        """The base class's checks, a mu_product in [0, 1] (a product of coefficients in [0, 1)) and an
        exp_avg_sq with no negative entry."""
        state = super().checked_state(where, index, entry, group)
        mu_product = state.get("mu_product", 1.0)
        if not 0.0 <= mu_product <= 1.0:
            raise ValueError(f"{where}: parameter {index}'s mu_product must be in [0, 1] (a product of momentum "
                             f"coefficients), got {mu_product!r}; nothing was changed")
        non_negative_entries(where, index, state, "exp_avg_sq", "an average of squared gradients")
        return state

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        lr, (beta1, beta2), psi = group["lr"], group["betas"], group["momentum_decay"]
        data, grad, t, m, v = moments(data, grad, state, group)     # (adam.py: the moving averages m, v)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product = state["mu_product"] = state.get("mu_product", 1.0) * mu
        denom = np.sqrt(v / (1.0 - beta2 ** t)) + group["eps"]
        data = data - lr * (1.0 - mu) / (1.0 - mu_product) * grad / denom
        return data - lr * mu_next / (1.0 - mu_product * mu_next) * m / denom
