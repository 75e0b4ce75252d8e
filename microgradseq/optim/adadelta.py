"""Adadelta, as `torch.optim.Adadelta`."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer
from .sgd import with_decay
from .state_dict import non_negative_entries


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): a step scaled by the ratio of two leaky averages, of the squared
    updates so far and of the squared gradients, so it needs no learning rate of its own (PyTorch
    keeps `lr` as a factor, 1.0 by default), as `torch.optim.Adadelta` computes it:

        g          = -grad if maximize else grad
        g          = g + weight_decay * p
        square_avg = rho * square_avg + (1 - rho) * g^2                          (0 before the first step)
        delta      = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta  = rho * acc_delta + (1 - rho) * delta^2                       (0 before the first step)
        p          = p - lr * delta

    Options (per param group): lr, rho, eps, weight_decay, maximize, and PyTorch's capturable, foreach,
    differentiable (kept as given; the update is the same). State: step, square_avg, acc_delta.
    """

    option_checks = {"lr": check.non_negative, "rho": check.closed_fraction, "eps": check.non_negative,
                     "weight_decay": check.non_negative, "maximize": check.boolean,
                     **check.switches("capturable", "foreach", "differentiable")}
    state_names = ("step", "square_avg", "acc_delta")

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

    def kept_state(self, group: dict) -> tuple[str, ...]:
        return self.state_names

    def checked_state(self, where: str, index: int, entry: Any, group: dict) -> dict:
        """The base class's checks, and averages of squares with no negative entry (their square roots
        would be NaN)."""
        state = super().checked_state(where, index, entry, group)
        for name in ("square_avg", "acc_delta"):
            non_negative_entries(where, index, state, name, "an average of squares")
        return state

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        rho, eps = group["rho"], group["eps"]
        g = with_decay(data, -grad if group["maximize"] else grad, group["weight_decay"])
        state["step"] = state.get("step", 0) + 1
        square_avg = state["square_avg"] = rho * state.get("square_avg", 0.0) + (1.0 - rho) * g * g
        delta = np.sqrt(state.get("acc_delta", 0.0) + eps) / np.sqrt(square_avg + eps) * g
        state["acc_delta"] = rho * state.get("acc_delta", 0.0) + (1.0 - rho) * delta * delta
        return data - group["lr"] * delta
