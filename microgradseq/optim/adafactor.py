"""Adafactor, as `torch.optim.Adafactor` (read from its torch/optim/_adafactor.py, `_single_tensor_adafactor`)."""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from . import options as check
from .optimizer import Optimizer
from .state_dict import non_negative_entries

FACTORED = ("row_var", "col_var")


def factored_shape(shape: tuple, name: str) -> tuple:
    """The shape of a row factor (the last axis made 1) or a column factor (the one before it made 1)."""
    axis = -1 if name == "row_var" else -2
    shape = list(shape)
    shape[axis] = 1
    return tuple(shape)


def check_factor(where: str, index: int, p: Any, name: str, value: Any, consequence: str) -> None:
    """ValueError naming `where` unless `value` is a floating-point array of `factored_shape(p.shape, name)`."""
    expected = factored_shape(p.shape, name)
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f" or value.shape != expected:
        got = getattr(value, "shape", type(value).__name__)
        raise ValueError(f"{where}: parameter {index}'s {name} must be a floating-point array of shape "
                         f"{expected}, got {got}; {consequence}")


def lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """start + weight (end - start), arranged as PyTorch's lerp is for weight >= 0.5 (so weight 1 gives end)."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern), with PyTorch's use of lr and eps1, as `torch.optim.Adafactor`. At a
    parameter's t-th update, with eps1 the dtype's machine epsilon when None:

        g       = -grad if maximize else grad
        w       = t^beta2_decay                                (1 - beta2_t, 1 at the first step)
        rho     = min(lr, 1 / sqrt(t))
        alpha   = max(eps2, RMS(p)) * rho                      (RMS(p) = ||p|| / sqrt(numel), before the decay)
        p       = p * (1 - lr * weight_decay)
        for p of 2 axes or more, factored over the last two (row factor R, column factor C, zeros at first):
            R   = lerp(R, mean(g^2, last axis), w),    C = lerp(C, mean(g^2, axis -2), w)
            V   = R C / max(mean(R, axis -2), eps1)            (R C an outer product per matrix)
        else:
            V   = lerp(V, g^2, w)                              (V zeros at first)
        U       = g / sqrt(max(V, eps1^2))
        p       = p - alpha / max(1, RMS(U) / d) * U

    Options (per param group): lr, beta2_decay, eps (eps1, eps2), d, weight_decay, maximize, and PyTorch's
    foreach (kept as given; the update is the same). State: step, and row_var (shape with the last axis 1)
    and col_var (the axis before it 1) for a parameter of 2 axes or more, else variance.
    """

    option_checks = {"lr": check.non_negative, "beta2_decay": check.non_positive, "eps": check.epsilons,
                     "d": check.at_least_one, "weight_decay": check.non_negative, "maximize": check.boolean,
                     **check.switches("foreach")}
    state_names = ("step", "row_var", "col_var", "variance")

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize))

    def kept_state(self, group: dict) -> tuple[str, ...]:
        return ("step",)            # (and the second moments, which depend on the parameter: checked_state)

    def _check(self, where: str, index: int, p: Any, grad: np.ndarray, state: dict) -> None:
        """The base class's checks, the factors' shapes those of `factored_shape`."""
        super()._check(where, index, p, grad, {name: value for name, value in state.items() if name not in FACTORED})
        for name in FACTORED:
            if state.get(name) is not None:
                check_factor(where, index, p, name, state[name], "no parameter was changed")

    def checked_state(self, where: str, index: int, entry: Any, group: dict) -> dict:
        """The base class's checks, a parameter of 2 axes or more with row_var and col_var of their shapes, one
        of fewer with variance, none of them negative."""
        p = self.params[index]
        factors = {name: entry[name] for name in FACTORED if isinstance(entry, dict) and name in entry}
        rest = ({name: value for name, value in entry.items() if name not in factors} if isinstance(entry, dict)
                else entry)
        state = super().checked_state(where, index, rest, group)
        kept = FACTORED if p.ndim > 1 else ("variance",)
        present = set(factors) | ({"variance"} & set(state))
        if entry and present != set(kept):
            raise ValueError(f"{where}: the state of parameter {index} (of shape {p.shape}) must hold "
                             f"{' and '.join(kept)}, got {sorted(present)}; nothing was changed")
        for name, value in factors.items():
            check_factor(where, index, p, name, value, "nothing was changed")
            state[name] = value.astype(p.dtype)
        for name in kept:
            non_negative_entries(where, index, state, name, "an average of squared gradients")
        return state

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        lr, weight_decay, (eps1, eps2) = group["lr"], group["weight_decay"], group["eps"]
        eps1 = np.finfo(data.dtype).eps if eps1 is None else eps1
        g = -grad if group["maximize"] else grad
        t = state["step"] = state.get("step", 0) + 1
        weight = t ** group["beta2_decay"]
        rho = min(lr, 1.0 / math.sqrt(t))
        alpha = max(eps2, float(np.linalg.norm(data)) / math.sqrt(data.size)) * rho
        if weight_decay != 0:
            data = data * (1.0 - lr * weight_decay)
        squared = g * g
        if data.ndim > 1:
            row, col = (lerp(state.get(name, np.zeros(factored_shape(data.shape, name), data.dtype)),
                             squared.mean(axis=axis, keepdims=True), weight) for name, axis in zip(FACTORED, (-1, -2)))
            state["row_var"], state["col_var"] = row, col
            variance = (row @ col) / np.maximum(row.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = lerp(state.get("variance", np.zeros(data.shape, data.dtype)), squared, weight)
            state["variance"] = variance
        update = 1.0 / np.sqrt(np.maximum(variance, eps1 * eps1)) * g
        denom = max(1.0, float(np.linalg.norm(update)) / (math.sqrt(update.size) * group["d"]))
        return data - (alpha / denom) * update
