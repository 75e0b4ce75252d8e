"""Cosine annealing, as PyTorch's: CosineAnnealingLR (half a cosine from the starting rate down to
`eta_min`, chainable) and CosineAnnealingWarmRestarts (SGDR: the cosine again from the top after each
restart, every period `T_mult` times the one before).
"""

from __future__ import annotations

import math

from .. import options as check
from ..optimizer import Optimizer
from .base import LRScheduler


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from the starting rate down to `eta_min` over `T_max` epochs (then back
    up over the next T_max, and so on), as PyTorch's:

        lr(epoch) = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2

    `step()` computes it, as PyTorch does, from the current rate (so a rate changed by hand
    carries on), by the ratio of consecutive epochs' values:

        lr(e) = eta_min + (lr(e - 1) - eta_min) (1 + cos(pi e / T_max)) / (1 + cos(pi (e - 1) / T_max))

    and where that ratio is 0 / 0 (e - 1 = T_max, 3 T_max, ...: the bottom of the cosine) by the
    difference, lr(e) = lr(e - 1) + (base_lr - eta_min) (1 - cos(pi / T_max)) / 2.
    """

    def __init__(self, optimizer: Optimizer, T_max: float, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        check.positive("CosineAnnealingLR", "T_max", T_max)   # epochs (a float too, as PyTorch takes it)
        self.T_max = T_max
        check.non_negative("CosineAnnealingLR", "eta_min", eta_min)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        epoch, period, low = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:                    # (resuming at last_epoch=k: the rates stay as they are)
            return self._rates()
        if self._step_count == 1 and epoch > 0:  # (get_lr() called after the constructor, as PyTorch's)
            return self.closed_form_lr()
        if _at_the_bottom(epoch - 1, period):
            return [rate + (base - low) * (1 - math.cos(math.pi / period)) / 2
                    for rate, base in zip(self._rates(), self._bases())]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) / period))
        return [ratio * (rate - low) + low for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self._bases()]


def _at_the_bottom(epoch: int, period: float) -> bool:
    """Whether epoch / period is an odd integer, where 1 + cos(pi epoch / period) is 0: PyTorch's test
    (epoch - period) % (2 period) == 0, but within rounding, which a T_max such as 0.4 or 2 / 3 needs (2 /
    0.4 is 5 to within rounding, and the modulo misses it, then the ratio divides by 0)."""
    turns = epoch / period
    return abs(turns - round(turns)) < 1e-9 and round(turns) % 2 == 1


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR, as PyTorch's: half a cosine from the starting rate down to `eta_min` over `T_0` epochs, then a
    restart at the top, each period `T_mult` times the one before (T_i = T_0 T_mult^i):

        lr = eta_min + (base_lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2

    with T_cur the epochs since the last restart. `step()` counts one epoch; `step(epoch)` goes to
    `epoch`, which may be a fraction (`step(epoch + i / batches)` after each batch), and `step()` goes on
    from there. Not chainable: the rate comes from `base_lrs` alone.
    """

    _state_checks = {"T_0": check.positive_integer, "T_i": check.positive_integer,
                     "T_mult": check.positive_integer, "eta_min": check.non_negative,
                     "T_cur": check.non_negative}

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        where = "CosineAnnealingWarmRestarts"
        check.positive_integer(where, "T_0", T_0)
        check.positive_integer(where, "T_mult", T_mult)
        check.non_negative(where, "eta_min", eta_min)
        self.T_0 = self.T_i = T_0
        self.T_mult, self.eta_min = T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self._bases()]

    def step(self, epoch: float | None = None) -> None:
        """Go to the next epoch (or to `epoch`, a number >= 0) and set every group's lr, all or none.
        (As PyTorch's, this step does not count in `_step_count`.)"""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch, T_cur, T_i = self.last_epoch + 1, self.T_cur + 1, self.T_i
            if T_cur >= T_i:
                T_cur, T_i = T_cur % T_i, T_i * self.T_mult
        else:
            check.non_negative(f"{type(self).__name__}.step", "epoch", epoch)
            T_cur, T_i = self._position(epoch)
        kept = self.T_cur, self.T_i
        self.T_cur, self.T_i = T_cur, T_i
        try:
            rates = self.get_lr()
        except BaseException:
            self.T_cur, self.T_i = kept
            raise
        self.last_epoch = math.floor(epoch)
        for group, rate in zip(self.optimizer.param_groups, rates):
            group["lr"] = rate
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _position(self, epoch: float) -> tuple[float, int]:
        """(T_cur, T_i) at `epoch`. PyTorch finds the period with a logarithm, n = int(log_T_mult(epoch / T_0
        (T_mult - 1) + 1)), which rounding can put one period short (log_3 243 = 4.999...); the periods are
        counted here instead, which is exact."""
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        start, period = 0, self.T_0
        while epoch >= start + period:
            start, period = start + period, period * self.T_mult
        return epoch - start, period
