"""Adamax, as `torch.optim.Adamax`."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer
from .sgd import with_decay
from .state_dict import non_negative_entries


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, section 7.1): Adam with the average of squared gradients replaced by a
    decaying infinity norm, the largest recent |g|, as `torch.optim.Adamax` computes it. At the
    parameter's t-th update:

        g = -grad if maximize else grad
        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g             (m = 0 before the first step)
        u = max(beta2 * u, |g| + eps)               (u = 0 before the first step)
        p = p - lr / (1 - beta1^t) * m / u

    Options (per param group): lr, betas, eps, weight_decay, maximize, and PyTorch's foreach,
    differentiable, capturable (kept as given; the update is the same).
    State: step, exp_avg (m), exp_inf (u).
    """

    option_checks = {"lr": check.non_negative, "betas": check.betas, "eps": check.non_negative,
                     "weight_decay": check.non_negative, "maximize": check.boolean,
                     **check.switches("foreach", "differentiable", "capturable")}
    state_names = ("step", "exp_avg", "exp_inf")

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def kept_state(self, group: dict) -> tuple[str, ...]:
        return self.state_names

    def checked_state(self, where: str, index: int, entry: Any, group: dict) -> dict:
        """The base class's checks, and an exp_inf with no negative entry (a norm)."""
        state = super().checked_state(where, index, entry, group)
        non_negative_entries(where, index, state, "exp_inf", "a decaying largest |gradient|")
        return state

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        beta1, beta2 = group["betas"]
        g = with_decay(data, -grad if group["maximize"] else grad, group["weight_decay"])
        t = state["step"] = state.get("step", 0) + 1
        m = state["exp_avg"] = beta1 * state.get("exp_avg", 0.0) + (1.0 - beta1) * g
        u = state["exp_inf"] = np.maximum(beta2 * state.get("exp_inf", 0.0), np.abs(g) + group["eps"])
        return data - group["lr"] / (1.0 - beta1 ** t) * m / u
