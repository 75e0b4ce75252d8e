"""Rprop, as `torch.optim.Rprop`."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer
from .state_dict import non_negative_entries


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun, 1993): each entry moves by its own step size against
    the sign of its gradient, the size growing while the sign holds and shrinking when it flips, as
    `torch.optim.Rprop` computes it:

        g         = -grad if maximize else grad
        factor    = etaplus where g * prev > 0, etaminus where g * prev < 0, 1 where it is 0
        step_size = clamp(step_size * factor, min, max)      (step_size = lr before the first step)
        g         = 0 where the sign flipped (factor = etaminus)
        p         = p - sign(g) * step_size
        prev      = g                                        (prev = 0 before the first step)

    Options (per param group): lr, etas = (etaminus, etaplus), step_sizes = (min, max), maximize, and
    PyTorch's foreach, differentiable, capturable (kept as given; the update is the same).
    State: step, prev, step_size.
    """

    option_checks = {"lr": check.non_negative, "etas": check.etas, "step_sizes": check.step_sizes,
                     "maximize": check.boolean, **check.switches("foreach", "differentiable", "capturable")}
    state_names = ("step", "prev", "step_size")

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def kept_state(self, group: dict) -> tuple[str, ...]:
        return self.state_names

    def checked_state(self, where: str, index: int, entry: Any, group: dict) -> dict:
        """The base class's checks, and step sizes with no negative entry."""
        state = super().checked_state(where, index, entry, group)
        non_negative_entries(where, index, state, "step_size", "a step size")
        return state

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        etaminus, etaplus = group["etas"]
        g = -grad if group["maximize"] else grad
        state["step"] = state.get("step", 0) + 1
        step_size = state.get("step_size")
        if step_size is None:
            step_size = np.full(data.shape, group["lr"], dtype=data.dtype)
        agreement = np.sign(g * state.get("prev", 0.0))
        # the factor in the parameter's dtype, as PyTorch writes it into its sign tensor (float32(1.2) for
        # float32 parameters); 1 where a gradient is 0 (agreement 0), and NaN after a NaN gradient (its
        # agreement), so the step size becomes NaN, as PyTorch's
        factor = np.where(agreement > 0, etaplus, np.where(agreement < 0, etaminus, agreement + 1.0)).astype(data.dtype)
        step_size = state["step_size"] = np.clip(step_size * factor, *group["step_sizes"])
        g = state["prev"] = np.where(agreement < 0, 0.0, g)       # a sign change: no step now, as PyTorch's
        return data - np.sign(g) * step_size
