"""ASGD, as `torch.optim.ASGD`."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer
from .sgd import with_decay


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky, 1992): SGD with a slowly decaying rate eta, which also keeps
    `ax`, the running average of the parameter over the steps after t0, as `torch.optim.ASGD` computes
    it. At the parameter's t-th update:

        g   = -grad if maximize else grad
        g   = g + weight_decay * p
        p   = p * (1 - lambd * eta) - eta * g             (eta = lr before the first step)
        ax  = ax + mu * (p - ax)    (ax = p while mu = 1)  (mu = 1 before the first step)
        eta = lr / (1 + lambd * lr * t)^alpha             (the rate of the next step)
        mu  = 1 / max(1, t - t0)

    Options (per param group): lr, lambd, alpha, t0, weight_decay, maximize, and PyTorch's foreach,
    differentiable, capturable (kept as given; the update is the same).
    State: step, eta and mu (numbers), ax.
    """

    option_checks = {"lr": check.non_negative, "lambd": check.non_negative, "alpha": check.non_negative,
                     "t0": check.non_negative_or_inf, "weight_decay": check.non_negative,
                     **check.switches("foreach"), "maximize": check.boolean,
                     **check.switches("differentiable", "capturable")}
    state_names = ("step", "eta", "mu", "ax")
    number_state = ("eta", "mu")

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def kept_state(self, group: dict) -> tuple[str, ...]:
        return self.state_names

    def checked_state(self, where: str, index: int, entry: Any, group: dict) -> dict:
        """The base class's checks, an eta >= 0 (a rate) and a mu in (0, 1] (an averaging weight)."""
        state = super().checked_state(where, index, entry, group)
        if state.get("eta", 0.0) < 0.0:
            raise ValueError(f"{where}: parameter {index}'s eta must be >= 0 (a learning rate), got "
                             f"{state['eta']!r}; nothing was changed")
        if not 0.0 < state.get("mu", 1.0) <= 1.0:
            raise ValueError(f"{where}: parameter {index}'s mu must be in (0, 1] (an averaging weight), got "
                             f"{state['mu']!r}; nothing was changed")
        return state

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        lr, lambd = group["lr"], group["lambd"]
        g = with_decay(data, -grad if group["maximize"] else grad, group["weight_decay"])
        t = state["step"] = state.get("step", 0) + 1
        eta, mu = state.get("eta", lr), state.get("mu", 1.0)
        data = data * (1.0 - lambd * eta) - eta * g
        state["ax"] = data.copy() if mu == 1.0 else state.get("ax", 0.0) + mu * (data - state.get("ax", 0.0))
        state["eta"] = lr / (1.0 + lambd * lr * t) ** group["alpha"]
        state["mu"] = 1.0 / max(1.0, t - group["t0"])
        return data
