"""The decay schedules with a closed form in the epoch, as PyTorch's: StepLR, MultiStepLR, ExponentialLR,
the warm-ups ConstantLR and LinearLR, and PolynomialLR. `step()` is chainable (it computes the next rate
from the group's current one, so a rate changed by hand carries on); `step(epoch)` sets the closed form.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from typing import Any, Iterable

from ...checks import is_finite_number, positive_int
from .. import options as check
from ..optimizer import Optimizer
from .base import LRScheduler, _non_negative_int


class StepLR(LRScheduler):
    """Multiply the rate by `gamma` every `step_size` epochs:

        lr(epoch) = base_lr * gamma ^ floor(epoch / step_size)
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        if isinstance(step_size, float) and step_size.is_integer():
            step_size = int(step_size)       # PyTorch's text classification tutorial passes 1.0
        self.step_size = positive_int(step_size, "step_size", "StepLR")
        check.non_negative("StepLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._rates()
        return [rate * self.gamma for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self._bases()]


class MultiStepLR(LRScheduler):
    """Multiply the rate by `gamma` at each epoch in `milestones`:

        lr(epoch) = base_lr * gamma ^ (number of milestones <= epoch)
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        try:
            given = list(milestones)
        except TypeError:
            raise TypeError(f"MultiStepLR: milestones must be a list of epochs, got "
                            f"{type(milestones).__name__}") from None
        self.milestones = Counter(_non_negative_int(m, "each milestone", "MultiStepLR") for m in given)
        check.non_negative("MultiStepLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._rates()
        return [rate * self.gamma ** self.milestones[self.last_epoch] for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base * self.gamma ** passed for base in self._bases()]


class ExponentialLR(LRScheduler):
    """Multiply the rate by `gamma` every epoch:

        lr(epoch) = base_lr * gamma ^ epoch
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check.non_negative("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:                    # (resuming at last_epoch=k: the rates stay as they are)
            return self._rates()
        return [rate * self.gamma for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** self.last_epoch for base in self._bases()]


def _factor_of_warmup(where: str, name: str, value: Any) -> None:
    """A factor of the rate in (0, 1] (ConstantLR's `factor`, LinearLR's `start_factor`: 0 would leave
    the schedule nothing to divide by when it restores the rate)."""
    if not is_finite_number(value) or not 0 < value <= 1:
        raise ValueError(f"{where}: {name} must be in (0, 1], got {value!r}")


class ConstantLR(LRScheduler):
    """Multiply the rate by `factor` for the first `total_iters` epochs, then give it back, as PyTorch's
    (a warm-up):

        lr(epoch) = base_lr * factor   for epoch < total_iters,   base_lr after
    """

    _state_checks = {"factor": _factor_of_warmup, "total_iters": check.positive_integer}

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        _factor_of_warmup("ConstantLR", "factor", factor)
        self.factor, self.total_iters = factor, positive_int(total_iters, "total_iters", "ConstantLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:                        # the warm-up starts: scale the rate down
            return [rate * self.factor for rate in self._rates()]
        if self.last_epoch != self.total_iters:         # (resuming at last_epoch=k too: epoch k + 1's rate)
            return self._rates()
        return [rate / self.factor for rate in self._rates()]   # the warm-up ends: give the rate back

    def closed_form_lr(self) -> list[float]:
        factor = 1.0 if self.last_epoch >= self.total_iters else self.factor
        return [base * factor for base in self._bases()]


class LinearLR(LRScheduler):
    """Multiply the rate by a factor going in a straight line from `start_factor` to `end_factor` over
    `total_iters` epochs, then by `end_factor`, as PyTorch's (a warm-up, or a linear decay):

        lr(epoch) = base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters)

    `step()` takes each epoch's ratio of consecutive factors from the group's current rate (chainable).
    """

    _state_checks = {"start_factor": _factor_of_warmup, "end_factor": check.closed_fraction,
                     "total_iters": check.positive_integer}

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        _factor_of_warmup("LinearLR", "start_factor", start_factor)
        check.closed_fraction("LinearLR", "end_factor", end_factor)
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = positive_int(total_iters, "total_iters", "LinearLR")
        super().__init__(optimizer, last_epoch)

    def _factor(self, epoch: int) -> float:
        progress = min(epoch, self.total_iters) / self.total_iters
        return self.start_factor + (self.end_factor - self.start_factor) * progress

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [rate * self.start_factor for rate in self._rates()]
        if self._is_initial or self.last_epoch > self.total_iters:  # (resuming, as PyTorch's: rates kept)
            return self._rates()
        ratio = self._factor(self.last_epoch) / self._factor(self.last_epoch - 1)
        return [rate * ratio for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        return [base * self._factor(self.last_epoch) for base in self._bases()]


class PolynomialLR(LRScheduler):
    """Decay the rate to 0 over `total_iters` epochs along a polynomial, then keep it there, as PyTorch's:

        lr(epoch) = base_lr * (1 - min(epoch, total_iters) / total_iters) ^ power

    `step()` multiplies the current rate by the ratio of consecutive epochs' values,
    ((1 - e / total_iters) / (1 - (e - 1) / total_iters)) ^ power, up to e = total_iters (chainable).
    With a fractional total_iters (2.5, say) the steps stop at its last whole epoch, base (1 - 2 / 2.5)^power,
    and never reach 0, as PyTorch's; `step(epoch)`'s closed form is 0 from total_iters on.
    """

    _state_checks = {"total_iters": check.positive, "power": check.non_negative}

    def __init__(self, optimizer: Optimizer, total_iters: float = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        check.positive("PolynomialLR", "total_iters", total_iters)     # (a float too, as PyTorch takes it)
        check.non_negative("PolynomialLR", "power", power)             # (a negative one would divide by 0)
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        epoch, total = self.last_epoch, self.total_iters
        if self._is_initial or epoch > total:        # (resuming, as PyTorch's: the rates kept)
            return self._rates()
        ratio = ((1.0 - epoch / total) / (1.0 - (epoch - 1) / total)) ** self.power
        return [rate * ratio for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        remaining = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * remaining ** self.power for base in self._bases()]
