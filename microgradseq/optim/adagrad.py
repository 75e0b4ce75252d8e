"""Adagrad, as `torch.optim.Adagrad`."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer
from .sgd import with_decay
from .state_dict import non_negative_entries


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer): each entry's step shrinks with the sum of its squared
    gradients so far, as `torch.optim.Adagrad` computes it. At a parameter's t-th update:

        g   = -grad if maximize else grad
        g   = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g^2                    (sum = initial_accumulator_value before the first step)
        p   = p - clr * g / (sqrt(sum) + eps)

    Options (per param group): lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize, and
    PyTorch's foreach, differentiable, fused (kept as given; the update is the same).
    State: step, sum.
    """

    option_checks = {"lr": check.non_negative, "lr_decay": check.non_negative, "weight_decay": check.non_negative,
                     "initial_accumulator_value": check.non_negative, "eps": check.non_negative,
                     "maximize": check.boolean,
                     **check.switches("foreach", "differentiable", "fused")}
    state_names = ("step", "sum")

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))

    def kept_state(self, group: dict) -> tuple[str, ...]:
        return self.state_names             # both, whatever the options

    def checked_state(self, where: str, index: int, entry: Any, group: dict) -> dict:
        """The base class's checks, and a `sum` of squares with no negative entry (its square root would
        be NaN; a NaN entry, which a NaN gradient leaves, still loads)."""
        state = super().checked_state(where, index, entry, group)
        non_negative_entries(where, index, state, "sum", "a sum of squared gradients")
        return state

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        g = with_decay(data, -grad if group["maximize"] else grad, group["weight_decay"])
        t = state["step"] = state.get("step", 0) + 1
        clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        total = state.get("sum")
        if total is None:
            total = np.full(data.shape, group["initial_accumulator_value"], dtype=data.dtype)
        total = state["sum"] = total + g * g
        return data - clr * g / (np.sqrt(total) + group["eps"])
