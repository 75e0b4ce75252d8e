"""SGD, as `torch.optim.SGD`."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer


def with_decay(data: np.ndarray, grad: np.ndarray, weight_decay: float) -> np.ndarray:
    """grad + weight_decay * p: the gradient of loss + weight_decay / 2 * |p|^2 (grad itself when 0)."""
    return grad if weight_decay == 0.0 else grad + weight_decay * data


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (heavy-ball or Nesterov) and L2 weight
    decay, as `torch.optim.SGD` computes it:

        g   = -grad if maximize else grad
        g   = g + weight_decay * p
        buf = g                                      (first step)
        buf = momentum * buf + (1 - dampening) * g   (later steps)
        g   = g + momentum * buf   if nesterov,   else   g = buf
        p   = p - lr * g           (g as it came when momentum == 0)

    Options (per param group): lr, momentum, dampening, weight_decay, nesterov, maximize, and
    PyTorch's foreach, differentiable, fused (kept as given; the update is the same).
    Nesterov momentum needs momentum > 0 and dampening = 0, as in PyTorch.
    """

    option_checks = {"lr": check.non_negative, "momentum": check.non_negative,
                     "dampening": check.closed_fraction, "weight_decay": check.non_negative,
                     "nesterov": check.boolean, "maximize": check.boolean,
                     **check.switches("foreach", "differentiable", "fused")}
    state_names = ("momentum_buffer",)

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def check_together(self, where: str, group: dict, label: str) -> None:
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{where}: {label}nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")

    def kept_state(self, group: dict) -> tuple[str, ...]:
        return ("momentum_buffer",) if group["momentum"] != 0.0 else ()

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        momentum = group["momentum"]
        g = with_decay(data, -grad if group["maximize"] else grad, group["weight_decay"])
        if momentum != 0.0:
            buf = state.get("momentum_buffer")
            # (a copy at first: g may be p.grad itself, which zero_grad could change)
            buf = g.copy() if buf is None else momentum * buf + (1.0 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + momentum * buf if group["nesterov"] else buf
        return data - group["lr"] * g
