"""RMSprop, as `torch.optim.RMSprop`."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer
from .sgd import with_decay


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), as `torch.optim.RMSprop`:

        g   = -grad if maximize else grad
        g   = g + weight_decay * p
        v   = alpha * v + (1 - alpha) * g^2                     (v = 0 before the first step)
        avg = sqrt(v) + eps
            = sqrt(v - a^2) + eps, a = alpha * a + (1 - alpha) * g    (centered; a = 0 at first)
        buf = momentum * buf + g / avg                          (buf = 0 before the first step)
        p   = p - lr * buf            (p - lr * g / avg when momentum == 0)

    Options (per param group): lr, alpha, eps, weight_decay, momentum, centered, maximize, and
    PyTorch's capturable, foreach, differentiable (kept as given; the update is the same).
    State: step (the parameter's update count, as PyTorch keeps it; the update does not use it),
    square_avg (v), grad_avg (a, centered only), momentum_buffer (buf, with momentum).
    """

    option_checks = {"lr": check.non_negative, "alpha": check.closed_fraction, "eps": check.non_negative,
                     "weight_decay": check.non_negative, "momentum": check.non_negative,
                     "centered": check.boolean, "maximize": check.boolean,
                     **check.switches("capturable", "foreach", "differentiable")}
    state_names = ("step", "square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def kept_state(self, group: dict) -> tuple[str, ...]:
        # (not `step`: the update does not read it, so a state saved without it still loads)
        return (("square_avg",) + (("grad_avg",) if group["centered"] else ())
                + (("momentum_buffer",) if group["momentum"] > 0.0 else ()))

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
        g = with_decay(data, -grad if group["maximize"] else grad, group["weight_decay"])
        state["step"] = state.get("step", 0) + 1
        square_avg = state["square_avg"] = alpha * state.get("square_avg", 0.0) + (1.0 - alpha) * g * g
        if group["centered"]:
            grad_avg = state["grad_avg"] = alpha * state.get("grad_avg", 0.0) + (1.0 - alpha) * g
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
        else:
            avg = np.sqrt(square_avg) + eps
        if momentum > 0.0:
            buf = state["momentum_buffer"] = momentum * state.get("momentum_buffer", 0.0) + g / avg
            return data - group["lr"] * buf
        return data - group["lr"] * g / avg
